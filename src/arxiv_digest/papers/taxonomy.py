"""The arXiv category taxonomy: groups, archives, categories and their aliases.

The data is ``papers/data/taxonomy.json``, derived from arXiv/arxiv-base (MIT; its ``"source"`` entry names
the commit). Vocabulary:

- a **group** (``grp_cs``) is a top-level heading only; nothing is subscribed to a group;
- an **archive** (``cs``, ``math``, ``astro-ph``) can be subscribed to as a whole: it matches every category
  in it;
- a **category** (``cs.LG``) is what papers are filed under. Physics subjects such as ``hep-th``, ``gr-qc`` or
  ``quant-ph`` are both an archive and its only category;
- an **alias** is a second name for a category (``cs.NA`` = ``math.NA``, ``math.MP`` = ``math-ph``); the data
  says which side is canonical. Defunct archives (``cmp-lg``, ``chao-dyn``) are treated as aliases of the
  category that subsumed them.

Everything here is pure: the packaged JSON is read once, by :func:`load_taxonomy`, on first call.
"""

from __future__ import annotations

import difflib
import functools
import json
import logging
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from typing import Any

from .errors import UnknownCategory

logger = logging.getLogger(__name__)

MAX_CODE_LENGTH = 60
"""Longer inputs are rejected before any lookup or fuzzy matching."""

MAX_SUGGESTIONS = 3

# Well-known confusions, keyed by the compact form of the input (lower case, letters and digits only, so
# "cs.ML", "cs_ml" and "CS ML" share one key). Values must be valid codes; a test checks that they resolve.
_CONFUSIONS: Mapping[str, tuple[str, ...]] = {
    # machine learning and AI
    "csml": ("cs.LG", "stat.ML"),
    "statlg": ("stat.ML", "cs.LG"),
    "mathml": ("stat.ML", "cs.LG"),
    "ml": ("cs.LG", "stat.ML"),
    "machinelearning": ("cs.LG", "stat.ML"),
    "deeplearning": ("cs.LG", "cs.CV", "cs.CL"),
    "csdeeplearning": ("cs.LG",),
    "csrl": ("cs.LG",),
    "rl": ("cs.LG",),
    "reinforcementlearning": ("cs.LG",),
    "csnn": ("cs.NE", "cs.LG"),
    "nn": ("cs.NE", "cs.LG"),
    "neuralnetworks": ("cs.NE", "cs.LG"),
    "ai": ("cs.AI",),
    "llm": ("cs.CL", "cs.AI", "cs.LG"),
    "llms": ("cs.CL", "cs.AI", "cs.LG"),
    "csllm": ("cs.CL", "cs.AI", "cs.LG"),
    # language, vision, speech
    "csnlp": ("cs.CL",),
    "nlp": ("cs.CL",),
    "cscvpr": ("cs.CV",),
    "cvpr": ("cs.CV",),
    "cv": ("cs.CV",),
    "csvision": ("cs.CV",),
    "vision": ("cs.CV",),
    "csspeech": ("eess.AS", "cs.SD", "cs.CL"),
    "speech": ("eess.AS", "cs.SD", "cs.CL"),
    "cssp": ("eess.SP",),
    "csiv": ("eess.IV",),
    "csas": ("eess.AS",),
    # other cs confusions
    "cscrypto": ("cs.CR",),
    "cssec": ("cs.CR",),
    "cssecurity": ("cs.CR",),
    "security": ("cs.CR",),
    "cshci": ("cs.HC",),
    "hci": ("cs.HC",),
    "csrob": ("cs.RO",),
    "csgame": ("cs.GT",),
    "csopt": ("math.OC",),
    "csqc": ("quant-ph",),
    "csquant": ("quant-ph",),
    "csee": ("eess",),
    # statistics and mathematics
    "statst": ("math.ST", "stat.TH"),
    "statcm": ("stat.CO",),
    "statcomp": ("stat.CO",),
    "stats": ("stat",),
    "mathstat": ("math.ST",),
    "mathprob": ("math.PR",),
    "mathopt": ("math.OC",),
    "optimization": ("math.OC",),
    "maths": ("math",),
    # physics and others
    "hep": ("hep-th", "hep-ph", "hep-ex"),
    "astro": ("astro-ph",),
    "quantum": ("quant-ph",),
    "physicsquantph": ("quant-ph",),
    "qc": ("quant-ph",),
    "bio": ("q-bio",),
    "biology": ("q-bio",),
    "fin": ("q-fin",),
    "finance": ("q-fin",),
    "econec": ("econ.GN",),
    "compsci": ("cs",),
}

_ARCHIVE_WILDCARDS = ("*", "all", "any")


@dataclass(frozen=True, slots=True)
class Group:
    id: str  # e.g. "grp_cs"
    name: str


@dataclass(frozen=True, slots=True)
class Archive:
    id: str  # e.g. "cs", "hep-th"
    name: str
    group: str
    active: bool = True


@dataclass(frozen=True, slots=True)
class Category:
    id: str  # e.g. "cs.LG", "hep-th"
    name: str
    archive: str
    group: str
    active: bool = True
    canonical: str | None = None  # set on aliases (cs.NA -> math.NA) and defunct archives (cmp-lg -> cs.CL)

    @property
    def is_alias(self) -> bool:
        return self.canonical is not None


def _compact(text: str) -> str:
    return "".join(ch for ch in text.lower() if ch.isalnum())


def _words(text: str) -> str:
    return " ".join("".join(ch if ch.isalnum() else " " for ch in text.lower()).split())


def _clean(code: str) -> str:
    return unicodedata.normalize("NFKC", code).strip()


class Taxonomy:
    """Lookups over one taxonomy. :func:`load_taxonomy` builds the packaged one; tests may build their own."""

    def __init__(
        self,
        *,
        groups: Sequence[Group],
        archives: Sequence[Archive],
        categories: Sequence[Category],
        source: Mapping[str, str] | None = None,
    ) -> None:
        self.source: Mapping[str, str] = dict(source or {})
        self._groups = tuple(groups)
        self._archives = {a.id: a for a in archives}
        self._categories = {c.id: c for c in categories}
        group_ids = {g.id for g in self._groups}
        for a in archives:
            if a.group not in group_ids:
                raise ValueError(f"archive {a.id} is in unknown group {a.group}")
        for c in categories:
            if c.archive not in self._archives:
                raise ValueError(f"category {c.id} is in unknown archive {c.archive}")
            if c.canonical is not None:
                target = self._categories.get(c.canonical)
                if target is None or target.canonical is not None or not target.active:
                    raise ValueError(f"alias {c.id} -> {c.canonical} does not point at a canonical category")

        self._active_archives = frozenset(a.id for a in archives if a.active)
        self._canonical_categories = frozenset(c.id for c in categories if c.active and not c.is_alias)
        # lower-case code -> canonical id (category or archive)
        self._resolve: dict[str, str] = {}
        # lower-case code -> the code as arXiv spells it
        self._display: dict[str, str] = {}
        for a in archives:
            if a.active:
                self._add_key(a.id, a.id)
        for c in categories:
            if c.canonical is not None:
                self._add_key(c.id, c.canonical)
            elif c.active:
                self._add_key(c.id, c.id)
            # Inactive, non-alias categories (the bare legacy "astro-ph", "cond-mat", "q-bio") resolve as the
            # archive of the same name, added above.

        # canonical id -> archives of every code that stands for it (cs.NA and math.NA are one category)
        archives_of: dict[str, set[str]] = {}
        for a_id in self._active_archives:
            archives_of.setdefault(a_id, set()).add(a_id)
        for c in categories:
            canon = self._resolve.get(c.id.lower())
            if canon is not None:
                archives_of.setdefault(canon, set()).add(c.archive)
        self._archives_of = {k: frozenset(v) for k, v in archives_of.items()}

        self._compact_index: dict[str, list[str]] = {}
        for key, shown in self._display.items():
            self._compact_index.setdefault(_compact(key), []).append(shown)
        # (lower-case words of the name, code) for canonical active categories and active archives
        self._names: list[tuple[str, str]] = [
            (_words(c.name), c.id)
            for c in sorted(categories, key=lambda c: c.id)
            if c.active and not c.is_alias
        ]
        self._names += [(_words(a.name), a.id) for a in archives if a.active]

    def _add_key(self, code: str, canonical: str) -> None:
        key = code.lower()
        known = self._resolve.get(key)
        if known is not None and known != canonical:
            raise ValueError(f"{code} resolves to both {known} and {canonical}")
        self._resolve[key] = canonical
        self._display.setdefault(key, code)

    @classmethod
    def from_json_data(cls, data: Mapping[str, Any]) -> Taxonomy:
        """Build from the structure of ``papers/data/taxonomy.json``, checking its alias maps."""
        categories = [
            Category(
                id=c["id"],
                name=c["name"],
                archive=c["archive"],
                group=c["group"],
                active=bool(c["active"]),
                canonical=c.get("canonical"),
            )
            for c in data["categories"]
        ]
        declared = {**data.get("aliases", {}), **data.get("subsumed_archives", {})}
        from_rows = {c.id: c.canonical for c in categories if c.canonical is not None}
        if declared != from_rows:
            raise ValueError("alias maps disagree with the categories' canonical fields")
        return cls(
            groups=[Group(id=g["id"], name=g["name"]) for g in data["groups"]],
            archives=[
                Archive(id=a["id"], name=a["name"], group=a["group"], active=bool(a["active"]))
                for a in data["archives"]
            ],
            categories=categories,
            source=data.get("source"),
        )

    # -- lookups ---------------------------------------------------------------------------------------------

    def _lookup(self, code: str) -> str | None:
        if len(code) > MAX_CODE_LENGTH:
            return None
        return self._resolve.get(_clean(code).lower())

    def resolve(self, code: str) -> str:
        """The canonical category or archive id for ``code``.

        Case-insensitive; aliases map to their canonical category (``cs.NA`` -> ``math.NA``); whole archives
        are accepted (``cs``). Raises :class:`UnknownCategory` with up to three suggestions otherwise.
        """
        if len(code) > MAX_CODE_LENGTH:
            raise UnknownCategory(code[:MAX_CODE_LENGTH])
        canonical = self._lookup(code)
        if canonical is None:
            raise UnknownCategory(code.strip(), self.suggest(code))
        return canonical

    def resolve_many(self, codes: Iterable[str]) -> tuple[str, ...]:
        """Resolve every token of ``codes``; tokens may also be separated by commas or whitespace inside one
        string. Order is kept and duplicates (after resolution) dropped. The first unknown token raises, so a
        caller saves all or nothing."""
        resolved: dict[str, None] = {}
        for chunk in codes:
            for token in chunk.replace(",", " ").replace(";", " ").split():
                resolved.setdefault(self.resolve(token), None)
        return tuple(resolved)

    def is_category(self, code: str) -> bool:
        canonical = self._lookup(code)
        return canonical is not None and canonical in self._canonical_categories

    def is_archive(self, code: str) -> bool:
        canonical = self._lookup(code)
        return canonical is not None and canonical in self._active_archives

    def archive_of(self, code: str) -> str:
        """The archive a category belongs to (an archive is its own). Raises UnknownCategory."""
        canonical = self.resolve(code)
        found = self._categories.get(canonical)
        return found.archive if found is not None else canonical

    def name(self, code: str) -> str:
        """The English name of a category or archive (of its canonical target for an alias)."""
        canonical = self.resolve(code)
        if canonical in self._canonical_categories:
            return self._categories[canonical].name
        return self._archives[canonical].name

    def _archive_set(self, paper_category: str) -> frozenset[str]:
        canonical = self._lookup(paper_category)
        if canonical is not None:
            return self._archives_of[canonical]
        # A category newer than our data: its archive is the part before the dot.
        return frozenset({paper_category.strip().split(".", 1)[0]})

    def matches(self, subscribed: str, paper_categories: Iterable[str]) -> bool:
        """Whether a paper filed under ``paper_categories`` belongs to the subscription ``subscribed``.

        An archive matches every category in it; a category matches itself and its aliases. Alias pairs are
        one category, whichever name the feed uses: ``cs`` matches a paper listed only as ``math.NA`` (which
        is ``cs.NA``), and ``math`` one listed only as ``cs.NA``. Codes unknown to the data compare exactly
        (and by the part before the dot for archives), so a category added by arXiv later still matches.
        """
        sub = self._lookup(subscribed) or subscribed.strip()
        if sub in self._active_archives:
            return any(sub in self._archive_set(pc) for pc in paper_categories)
        return any((self._lookup(pc) or pc.strip()) == sub for pc in paper_categories)

    # -- listings for pickers and help -----------------------------------------------------------------------

    def groups(self) -> list[Group]:
        return list(self._groups)

    def archives(self) -> list[Archive]:
        """Active archives, in group order, then in the data's order within a group."""
        order = {g.id: i for i, g in enumerate(self._groups)}
        active = [a for a in self._archives.values() if a.active]
        return sorted(active, key=lambda a: order[a.group])  # stable: keeps the data's order within a group

    def categories_in(self, archive_id: str) -> list[Category]:
        """Active categories of an archive, sorted by id. Aliases are included (``cs.NA`` under ``cs``, with
        ``canonical`` set) so a picker shows what arXiv's own listing shows."""
        canonical = self._lookup(archive_id)
        if canonical is None or canonical not in self._active_archives:
            if canonical is not None and canonical in self._canonical_categories:
                raise UnknownCategory(archive_id.strip(), (self._categories[canonical].archive,))
            raise UnknownCategory(archive_id.strip()[:MAX_CODE_LENGTH], self.suggest(archive_id))
        found = [c for c in self._categories.values() if c.archive == canonical and c.active]
        return sorted(found, key=lambda c: c.id)

    # -- suggestions -----------------------------------------------------------------------------------------

    def suggest(self, code: str, *, limit: int = MAX_SUGGESTIONS) -> tuple[str, ...]:
        """Up to ``limit`` valid codes the user may have meant. Tiers, the first non-empty one wins: the table
        of well-known confusions, ``archive.*`` and group ids; the same letters with other separators
        (``cs_lg``, ``hepth``); category or archive names (``machine learning``); close spellings of ids, then
        of names (difflib). Input is never turned into a regular expression."""
        if len(code) > MAX_CODE_LENGTH:
            return ()
        text = _clean(code)
        key = text.lower()
        compact = _compact(key)
        if not compact:
            return ()

        tiers: list[list[str]] = []
        # 1. confusions and wildcards
        tier = list(_CONFUSIONS.get(compact, ()))
        for sep in (".", "/", "-", "_", " "):
            prefix, found, rest = key.partition(sep)
            if found and rest.strip() in _ARCHIVE_WILDCARDS and prefix in self._active_archives:
                tier.append(prefix)
        if key.endswith("*") and key.rstrip("*").rstrip("./-_ ") in self._active_archives:
            tier.append(key.rstrip("*").rstrip("./-_ "))
        tier += [a.id for a in self.archives() if a.group.lower() == key]  # a group id such as grp_cs
        tiers.append(tier)
        # 2. same letters, other separators
        tiers.append(list(self._compact_index.get(compact, ())))
        # 3. names: exact, then containing the words typed
        words = _words(key)
        exact = [code_ for name, code_ in self._names if name == words]
        contains = (
            sorted(
                (code_ for name, code_ in self._names if words in name and name != words),
                key=lambda c: -difflib.SequenceMatcher(None, words, self._name_of(c)).ratio(),
            )
            if len(words) >= 4
            else []
        )
        tiers.append(exact + contains)
        # 4. close spellings: of ids (same archive first), then of names
        close: list[str] = []
        prefix = key.split(".", 1)[0]
        if "." in key and prefix in self._active_archives:
            same_archive = [k for k in self._display if k.startswith(prefix + ".")]
            close += difflib.get_close_matches(key, same_archive, n=limit, cutoff=0.5)
        close += difflib.get_close_matches(key, list(self._display), n=limit, cutoff=0.7)
        close = [self._display[k] for k in close]
        if len(words) >= 4:
            names = [name for name, _ in self._names]
            for name in difflib.get_close_matches(words, names, n=limit, cutoff=0.75):
                close += [code_ for n, code_ in self._names if n == name]
        tiers.append(close)

        for tier in tiers:
            picked = self._dedupe(tier, limit)
            if picked:
                return picked
        return ()

    def _name_of(self, code: str) -> str:
        return _words(self.name(code))

    def _dedupe(self, candidates: Iterable[str], limit: int) -> tuple[str, ...]:
        seen: set[str] = set()
        out: list[str] = []
        for candidate in candidates:
            canonical = self._lookup(candidate)
            if canonical is None or canonical in seen:
                continue
            seen.add(canonical)
            out.append(candidate)
            if len(out) == limit:
                break
        return tuple(out)


@functools.cache
def load_taxonomy() -> Taxonomy:
    """The packaged taxonomy, read on first call and shared afterwards."""
    resource = resources.files("arxiv_digest.papers").joinpath("data").joinpath("taxonomy.json")
    taxonomy = Taxonomy.from_json_data(json.loads(resource.read_text(encoding="utf-8")))
    logger.debug("loaded the arXiv taxonomy (%d active archives)", len(taxonomy.archives()))
    return taxonomy
