"""arXiv identifiers.

Accepted forms (surrounding whitespace ignored, the ``arXiv:`` prefix case-insensitive):

- new style ``YYMM.NNNNN`` (``YYMM.NNNN`` from 0704 to 1412) with an optional ``vN``;
- old style ``archive(.SUBJ)/YYMMNNN`` (9108 to 0703) with an optional ``vN``, e.g. ``hep-th/9901001``,
  ``math.GT/0309136v2``;
- ``https://arxiv.org/abs/…``, ``…/pdf/…(.pdf)``, ``…/html/…`` (http or https, optional ``www.`` or
  ``export.``), with a trailing slash, query or fragment tolerated.

The canonical id is version-less; the version is kept separately.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .errors import InvalidArxivId

_NEW = r"(?P<new>(?P<yymm>\d{4})\.(?P<num>\d{4,5}))"
_OLD = r"(?P<old>(?P<archive>[a-z]+(?:-[a-z]+)*)(?:\.(?P<subj>[A-Z]{2}))?/(?P<oldnum>\d{7}))"
_ID = rf"(?:{_NEW}|{_OLD})(?:v(?P<version>\d{{1,3}}))?"

# re.ASCII: without it ``\d`` accepts any Unicode digit ("２４０３.１９２４３") and IGNORECASE lets ``[a-z]``
# match the Kelvin sign and the long s, producing non-ASCII "canonical" ids.
_BARE = re.compile(rf"(?:arxiv:)?{_ID}", re.IGNORECASE | re.ASCII)
_URL = re.compile(
    rf"https?://(?:www\.|export\.)?arxiv\.org/(?:abs|pdf|html)/{_ID}(?:\.pdf)?/?(?:[?#].*)?",
    re.IGNORECASE | re.ASCII,
)
MAX_INPUT = 300


@dataclass(frozen=True, slots=True)
class ArxivId:
    id: str  # canonical, version-less
    version: int | None = None

    @property
    def versioned(self) -> str:
        return f"{self.id}v{self.version}" if self.version else self.id

    @property
    def abs_url(self) -> str:
        return f"https://arxiv.org/abs/{self.id}"

    @property
    def is_old_style(self) -> bool:
        return "/" in self.id

    def __str__(self) -> str:
        return self.versioned


def _from_match(m: re.Match[str], text: str) -> ArxivId:
    version = int(m.group("version")) if m.group("version") else None
    if version == 0:
        raise InvalidArxivId(text)
    if m.group("new"):
        yymm, num = m.group("yymm"), m.group("num")
        month = int(yymm[2:])
        # The YYMM.NNNN scheme began in April 2007 (0704); earlier papers have old-style ids.
        if not 1 <= month <= 12 or int(yymm) < 704:
            raise InvalidArxivId(text)
        # Five-digit sequence numbers began with 1501; four-digit ones ended with 1412.
        if (int(yymm) >= 1501) != (len(num) == 5):
            raise InvalidArxivId(text)
        return ArxivId(f"{yymm}.{num}", version)
    archive = m.group("archive").lower()
    subj = m.group("subj")
    oldnum = m.group("oldnum")
    yymm = int(oldnum[:4])
    # Old-style ids ran from August 1991 (9108) to March 2007 (0703).
    if not 1 <= yymm % 100 <= 12 or not (yymm >= 9108 or yymm <= 703):
        raise InvalidArxivId(text)
    name = f"{archive}.{subj.upper()}" if subj else archive
    return ArxivId(f"{name}/{oldnum}", version)


def parse_arxiv_id(text: str) -> ArxivId:
    """Parse any accepted form into an ArxivId; raise InvalidArxivId otherwise."""
    s = text.strip()
    if not s or len(s) > MAX_INPUT:
        raise InvalidArxivId(text)
    m = _URL.fullmatch(s) or _BARE.fullmatch(s)
    if m is None:
        raise InvalidArxivId(text)
    return _from_match(m, text)


def is_valid_arxiv_id(text: str) -> bool:
    try:
        parse_arxiv_id(text)
    except InvalidArxivId:
        return False
    return True


def split_versioned(text: str) -> tuple[str, int | None]:
    """``2403.19243v2`` -> ("2403.19243", 2). Raises InvalidArxivId."""
    parsed = parse_arxiv_id(text)
    return parsed.id, parsed.version
