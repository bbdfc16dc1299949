from datetime import date

from arxiv_digest.papers.digest import assemble, effective_type, keyword_matches, select, tokens
from arxiv_digest.papers.models import Announcement, AnnounceType, DigestOptions, Paper, PaperTranslation

DAY = date(2026, 9, 24)


def ann(pid: str, cats: tuple[str, ...], kind: AnnounceType = AnnounceType.NEW, **kw: object) -> Announcement:
    paper = Paper(
        arxiv_id=pid,
        title=str(kw.get("title", f"Title {pid}")),
        abstract=str(kw.get("abstract", "We propose a method.")),
        categories=cats,
        version=int(kw.get("version", 1)),  # type: ignore[call-overload]
    )
    return Announcement(paper=paper, announce_type=kind, announced_on=DAY)


def test_dedup_across_categories_keeps_all_matched() -> None:
    a = ann("2409.00001", ("cs.LG", "stat.ML", "cs.AI"))
    pairs = [("cs.LG", a), ("stat.ML", a), ("cs.AI", a)]
    sel = select(pairs, DigestOptions(categories=("cs.AI", "cs.LG", "stat.ML")))
    assert len(sel.items) == 1
    _, kind, matched = sel.items[0]
    assert matched == ("cs.AI", "cs.LG", "stat.ML")
    assert kind is AnnounceType.NEW


def test_cross_is_relative_to_the_subscription() -> None:
    a = ann("2409.00002", ("math.OC", "cs.LG"))
    assert effective_type(a, ["cs.LG"]) is AnnounceType.CROSS
    assert effective_type(a, ["math.OC"]) is AnnounceType.NEW
    r = ann("2409.00003", ("math.OC", "cs.LG"), AnnounceType.REPLACE)
    assert effective_type(r, ["cs.LG"]) is AnnounceType.REPLACE_CROSS


def test_filters_cross_and_replacements_and_orders_by_type() -> None:
    items = [
        ann("2409.00010", ("cs.LG",), AnnounceType.REPLACE, version=3),
        ann("2409.00011", ("math.OC", "cs.LG"), AnnounceType.CROSS),
        ann("2409.00012", ("cs.LG",)),
    ]
    default = select(items, DigestOptions(categories=("cs.LG",)))
    assert [a.paper.arxiv_id for a, _, _ in default.items] == ["2409.00012", "2409.00011"]
    everything = select(items, DigestOptions(categories=("cs.LG",), include_replacements=True))
    assert [k for _, k, _ in everything.items] == [AnnounceType.NEW, AnnounceType.CROSS, AnnounceType.REPLACE]
    no_cross = select(items, DigestOptions(categories=("cs.LG",), include_cross=False))
    assert [a.paper.arxiv_id for a, _, _ in no_cross.items] == ["2409.00012"]


def test_papers_outside_the_subscription_are_left_out() -> None:
    items = [ann("2409.00020", ("hep-th",)), ann("2409.00021", ("cs.LG",))]
    sel = select(items, DigestOptions(categories=("cs.LG",)))
    assert [a.paper.arxiv_id for a, _, _ in sel.items] == ["2409.00021"]


def test_cap_counts_the_rest() -> None:
    items = [ann(f"2409.{i:05d}", ("cs.LG",)) for i in range(1, 8)]
    sel = select(items, DigestOptions(categories=("cs.LG",), max_papers=5))
    assert len(sel.items) == 5
    assert sel.omitted == 2


def test_keywords_are_words_not_patterns() -> None:
    text = tokens("Diffusion models for (graph) learning: a.*b survey")
    assert keyword_matches("diffusion MODELS", text)
    assert keyword_matches("GRAPH", text)
    assert not keyword_matches("graph learning model", text)
    assert not keyword_matches("diff", text)  # whole words only
    assert not keyword_matches(".*", text)  # no regular expression semantics
    assert not keyword_matches("   ", text)


def test_keyword_filter_on_title_and_abstract() -> None:
    items = [
        ann("2409.00030", ("cs.LG",), title="Graph transformers"),
        ann("2409.00031", ("cs.LG",), abstract="We study diffusion models."),
        ann("2409.00032", ("cs.LG",)),
    ]
    sel = select(items, DigestOptions(categories=("cs.LG",), keywords=("graph", "Diffusion Models")))
    assert [a.paper.arxiv_id for a, _, _ in sel.items] == ["2409.00030", "2409.00031"]


def test_newest_version_wins_on_duplicates() -> None:
    old = ann("2409.00040", ("cs.LG",), version=1)
    new = ann("2409.00040", ("cs.LG",), AnnounceType.REPLACE, version=2)
    sel = select(
        [("cs.LG", old), ("cs.LG", new)], DigestOptions(categories=("cs.LG",), include_replacements=True)
    )
    assert sel.items[0][0].paper.version == 2


def test_assemble_attaches_summaries_and_translations() -> None:
    items = [ann("2409.00050", ("cs.LG",)), ann("2409.00051", ("cs.LG",))]
    sel = select(items, DigestOptions(categories=("cs.LG",)))
    tr = PaperTranslation("JA", "タイトル", "要旨", "要約")
    digest = assemble(
        sel,
        categories=("cs.LG",),
        language="JA",
        summaries_en={"2409.00050": "We propose a method.", "2409.00051": "Other."},
        translations={"2409.00050": tr},
        notices=["DeepL quota exhausted: showing English."],
    )
    assert digest.entries[0].translation == tr
    assert digest.entries[1].translation is None
    assert digest.entries[1].summary_en == "Other."
    assert digest.announced_on == DAY
    assert digest.counts == {"new": 2, "cross": 0, "replace": 0}
    assert digest.notices == ("DeepL quota exhausted: showing English.",)
