"""Our own exception hierarchy. Vendor exceptions are translated into these at the adapter boundary.

ArxivDigestError
├── InvalidInput                    bad user input: one short line + a hint, never a traceback
│   ├── InvalidArxivId
│   ├── UnknownCategory             carries "did you mean" suggestions
│   └── UnsupportedLanguage
├── PaperNotFound                   a well-formed id arXiv does not know
├── SourceUnavailable               arXiv (feed and API) unreachable or failing
└── TranslationUnavailable          DeepL quota exhausted, bad key, or down (reason says which)
"""

from __future__ import annotations

from collections.abc import Sequence
from enum import StrEnum


class ArxivDigestError(Exception):
    """Base class of every error this project raises on purpose."""


class InvalidInput(ArxivDigestError):
    """Something a user typed is not acceptable. ``hint`` says what would be."""

    def __init__(self, message: str, *, hint: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message} {self.hint}".strip()


class InvalidArxivId(InvalidInput):
    def __init__(self, text: str) -> None:
        shown = text if len(text) <= 60 else text[:57] + "..."
        super().__init__(
            f"Not an arXiv id: {shown!r}.",
            hint="Use e.g. 2403.19243, 2403.19243v2, arXiv:2403.19243, an arxiv.org abs/pdf/html URL, "
            "or hep-th/9901001.",
        )
        self.text = text


class UnknownCategory(InvalidInput):
    def __init__(self, code: str, suggestions: Sequence[str] = ()) -> None:
        shown = code if len(code) <= 40 else code[:37] + "..."
        self.code = code
        self.suggestions = tuple(suggestions)
        hint = (
            "Did you mean " + " / ".join(self.suggestions) + "?"
            if self.suggestions
            else "See the list of categories at https://arxiv.org/category_taxonomy."
        )
        super().__init__(f"Unknown arXiv category {shown!r}.", hint=hint)


class UnsupportedLanguage(InvalidInput):
    def __init__(self, code: str, supported: Sequence[str]) -> None:
        shown = code if len(code) <= 20 else code[:17] + "..."
        self.code = code
        super().__init__(f"Unsupported language {shown!r}.", hint="Supported: " + ", ".join(supported) + ".")


class PaperNotFound(ArxivDigestError):
    def __init__(self, arxiv_id: str) -> None:
        super().__init__(f"{arxiv_id} was not found on arXiv.")
        self.arxiv_id = arxiv_id


class SourceUnavailable(ArxivDigestError):
    """arXiv could not be reached or kept failing after retries."""


class TranslationFailure(StrEnum):
    QUOTA_EXCEEDED = "quota"  # DeepL 456
    AUTH_FAILED = "auth"  # DeepL 403
    UNAVAILABLE = "down"  # 5xx / connection errors after retries
    BUDGET_EXHAUSTED = "budget"  # our own daily character budget


class TranslationUnavailable(ArxivDigestError):
    def __init__(self, reason: TranslationFailure, detail: str = "") -> None:
        super().__init__(detail or reason.value)
        self.reason = reason
