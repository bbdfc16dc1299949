"""The `arxiv-digest` command line end to end: the real ``arxiv`` and ``deepl`` clients against the fake arXiv
and the fake DeepL on 127.0.0.1, a SQLite database in a temporary directory."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from arxiv_digest.bot.cli import run
from arxiv_digest.papers.models import AnnouncementBatch
from arxiv_digest.papers.rss import parse_feed
from tests.fakes.arxiv_server import FakeArxiv, fixtures_dir
from tests.fakes.deepl_server import FakeDeepL

KEY = "e2e-secret-auth-key-0000:fx"
FEED = "rss_cs.LG+cs.AI+cs.CL+stat.ML_2026-09-24_trimmed4.xml"
FEED_CATEGORIES = ["cs.LG", "cs.AI", "cs.CL", "stat.ML"]


def fixture_batch() -> AnnouncementBatch:
    path = fixtures_dir() / "arxiv-rss" / "new-format" / FEED
    return parse_feed(path.read_bytes(), categories=FEED_CATEGORIES)


@pytest.fixture
def arxiv() -> Iterator[FakeArxiv]:
    with FakeArxiv() as fake:
        yield fake


@pytest.fixture
def deepl() -> Iterator[FakeDeepL]:
    with FakeDeepL(auth_key=KEY) as fake:
        yield fake


@pytest.fixture
def env(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, arxiv: FakeArxiv, deepl: FakeDeepL
) -> dict[str, str]:
    monkeypatch.chdir(tmp_path)  # no stray .env
    values = {
        "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'db' / 'digest.db'}",
        "ARXIV_RSS_BASE_URL": arxiv.rss_base_url,
        "ARXIV_API_URL": arxiv.api_url,
        "ARXIV_MIN_INTERVAL": "0",
        "ARXIV_TIMEOUT": "5",
        "DEEPL_AUTH_KEY": KEY,
        "DEEPL_SERVER_URL": deepl.url,
        "DEFAULT_LANGUAGE": "ZH-HANS",
    }
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    return values


def cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = run(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def table_rows(markdown: str) -> list[str]:
    return [line for line in markdown.splitlines() if line.startswith("| [^")]


def footnotes(markdown: str) -> list[str]:
    return re.findall(r"^\[\^\d+\]:", markdown, flags=re.MULTILINE)


# -- the digest ---------------------------------------------------------------------------------------------


def test_digest_of_the_fixture_feed_billed_title_plus_abstract(
    env: dict[str, str], capsys: pytest.CaptureFixture[str], deepl: FakeDeepL, arxiv: FakeArxiv
) -> None:
    code, out, err = cli(capsys, "digest", *FEED_CATEGORIES, "--lang", "ZH-HANS")
    batch = fixture_batch()

    assert code == 0, err
    assert out.startswith("# 摘要\n")
    assert "# 详细" in out
    assert len(table_rows(out)) == len(batch.announcements) == 4
    assert len(footnotes(out)) == 4
    assert "Announce Type" not in out
    for ann in batch.announcements:
        paper = ann.paper
        assert out.count(f"({paper.abs_url})") >= 2  # table row and footnote
        # the full English abstract, nothing truncated, and its translation
        assert " ".join(paper.abstract.split()) in " ".join(out.split())
        assert f"[ZH-HANS] {paper.title.upper()}"[:40] in out
    assert "cross-list" in out or "交叉" in out
    # one feed request for the four categories, the metadata in one batched API call
    assert len(arxiv.feed_requests) == 1
    assert len(arxiv.api_requests) <= 1
    # the summary is marked inside the abstract: billed = titles + abstracts, nothing more
    expected = sum(len(a.paper.title) + len(a.paper.abstract) for a in batch.announcements)
    assert deepl.billed_characters == expected
    assert f"{expected} characters billed" in err


def test_second_run_bills_nothing(
    env: dict[str, str], capsys: pytest.CaptureFixture[str], deepl: FakeDeepL
) -> None:
    code, first, _ = cli(capsys, "digest", *FEED_CATEGORIES)
    assert code == 0
    billed = deepl.billed_characters
    requests = len(deepl.translate_requests)
    assert billed > 0

    code, second, err = cli(capsys, "digest", *FEED_CATEGORIES)

    assert code == 0
    assert second == first
    assert deepl.billed_characters == billed
    assert len(deepl.translate_requests) == requests
    assert "0 characters billed" in err


def test_a_paper_in_several_subscribed_categories_is_listed_and_translated_once(
    env: dict[str, str], capsys: pytest.CaptureFixture[str], deepl: FakeDeepL
) -> None:
    code, out, _ = cli(capsys, "digest", *FEED_CATEGORIES)
    assert code == 0
    # 2609.26820 is in cs.LG and cs.AI; 2009.13987 in cs.LG and stat.ML
    for arxiv_id in ("2609.26820", "2009.13987"):
        assert sum(f"abs/{arxiv_id})" in row for row in table_rows(out)) == 1
    sent = [text for request in deepl.translate_requests for text in request.texts]
    assert len(sent) == len(set(sent)) == 8  # 4 titles + 4 abstracts


def test_limit_and_filters(env: dict[str, str], capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = cli(capsys, "digest", *FEED_CATEGORIES, "--limit", "2")
    assert code == 0
    assert len(table_rows(out)) == 2
    assert "2" in out.split("# 详细")[0].splitlines()[-2] or "还有 2" in out or "2 more" in out

    code, out, _ = cli(capsys, "digest", *FEED_CATEGORIES, "--date", "2026-09-24", "--no-replacements")
    assert code == 0
    assert "abs/2009.13987" not in out
    assert len(table_rows(out)) == 3

    code, out, _ = cli(capsys, "digest", *FEED_CATEGORIES, "--date", "2026-09-24", "--keyword", "polytope")
    assert code == 0
    assert [("2009.13987" in row) for row in table_rows(out)] == [True]


def test_archive_subscription_matches_stored_papers(
    env: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli(capsys, "digest", *FEED_CATEGORIES)[0] == 0
    code, out, err = cli(capsys, "digest", "cs", "--date", "2026-09-24", "--lang", "EN-US")
    assert code == 0, err
    rows = table_rows(out)
    # the stat.ME/stat.AP/stat.ML cross-list is not in any cs category
    assert len(rows) == 3
    assert not any("2205.06398" in row for row in rows)
    assert out.startswith("# Summary\n")


def test_date_that_was_not_harvested(env: dict[str, str], capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = cli(capsys, "digest", "cs.LG", "--date", "2026-09-20")
    assert code == 2
    assert out == ""
    assert err.count("\n") == 1
    assert "no announcements stored for 2026-09-20" in err


def test_empty_weekend_feed(
    env: dict[str, str], capsys: pytest.CaptureFixture[str], deepl: FakeDeepL
) -> None:
    code, out, err = cli(capsys, "digest", "hep-th")
    assert code == 0
    assert out == ""
    assert "announced nothing today" in err
    assert deepl.translate_requests == []


# -- DeepL failures -----------------------------------------------------------------------------------------


def test_quota_exhausted_gives_english_with_a_notice(
    env: dict[str, str], capsys: pytest.CaptureFixture[str], deepl: FakeDeepL
) -> None:
    deepl.fail("/v2/translate", 456)
    code, out, err = cli(capsys, "digest", *FEED_CATEGORIES)
    assert code == 0
    assert "DeepL 额度已用尽" in out.splitlines()[0]
    assert "DeepL 额度已用尽" in err
    assert "[ZH-HANS]" not in out
    assert len(table_rows(out)) == 4
    assert "Random Polytope Descriptors" in out


def test_rejected_key_gives_english_with_a_notice(
    env: dict[str, str], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DEEPL_AUTH_KEY", "wrong-key:fx")
    code, out, err = cli(capsys, "digest", *FEED_CATEGORIES)
    assert code == 0
    assert "DeepL 密钥被拒绝" in out
    assert "[ZH-HANS]" not in out
    assert len(footnotes(out)) == 4
    assert "wrong-key" not in out + err


def test_no_key_is_english_said_once(
    env: dict[str, str], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, deepl: FakeDeepL
) -> None:
    monkeypatch.setenv("DEEPL_AUTH_KEY", "")
    code, out, err = cli(capsys, "digest", *FEED_CATEGORIES)
    assert code == 0
    assert out.startswith("# Summary\n")
    assert err.count("no DeepL API key") == 1
    assert deepl.requests == []


# -- one paper ----------------------------------------------------------------------------------------------


def test_paper_footnote(env: dict[str, str], capsys: pytest.CaptureFixture[str], arxiv: FakeArxiv) -> None:
    code, out, err = cli(capsys, "paper", "https://arxiv.org/abs/1605.08386", "--lang", "JA")
    assert code == 0, err
    assert "https://arxiv.org/abs/1605.08386" in out
    assert "[JA] " in out
    assert len(arxiv.api_requests) == 1


def test_unknown_paper(env: dict[str, str], capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = cli(capsys, "paper", "2609.99999")
    assert code == 1
    assert out == ""
    assert err.count("\n") == 1


# -- bad input: one line, a hint, nothing fetched -----------------------------------------------------------


@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        (["digest", "cs.XX"], "cs."),
        (["digest", "cs.ML"], "cs.LG"),
        (["digest", "cs.LG", "--lang", "XX"], "XX"),
        (["digest", "cs.LG", "--limit", "0"], "at least 1"),
        (["digest", "cs.LG", "--date", "2026-13-01"], "YYYY-MM-DD"),
        (["digest", "cs.LG", "--keyword", "x" * 500], "too long"),
        (["paper", "abc"], "abc"),
        (["paper", "2403.19243", "--lang", "Klingon"], "Klingon"),
        (["digest"], "CATEGORY"),
        (["digest", ""], "no category given"),
        (["digest", " "], "no category given"),
        (["digest", ","], "no category given"),
        (["digest", "cs.LG", "-v", "--limit", "0"], "--limit"),
        (["bench", "summary"], "tldr_en"),
        (["bench", "summary", "no-such-corpus.jsonl"], "no such file"),
        (["bench", "fanout"], "invalid choice"),
    ],
)
def test_bad_input(
    env: dict[str, str],
    capsys: pytest.CaptureFixture[str],
    arxiv: FakeArxiv,
    argv: list[str],
    needle: str,
) -> None:
    code, out, err = cli(capsys, *argv)
    assert code == 2
    assert out == ""
    assert err.count("\n") == 1, err
    assert needle in err
    assert "Traceback" not in err
    assert arxiv.requests == []


def test_case_is_forgiven(env: dict[str, str], capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = cli(capsys, "digest", "CS.lg", "cs.ai", "cs.cl", "STAT.ML")
    assert code == 0
    assert len(table_rows(out)) == 4


def test_arxiv_unreachable(
    env: dict[str, str], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ARXIV_RSS_BASE_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("ARXIV_API_URL", "http://127.0.0.1:9/api/query")
    monkeypatch.setenv("ARXIV_RETRIES", "1")
    code, out, err = cli(capsys, "digest", "cs.LG")
    assert code == 1
    assert out == ""
    assert "arXiv is unreachable" in err
    assert err.strip().count("\n") <= 1
    assert "Traceback" not in err


def test_invalid_setting(
    env: dict[str, str], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DEFAULT_LANGUAGE", "Elvish")
    code, _, err = cli(capsys, "digest", "cs.LG")
    assert code == 2
    assert "DEFAULT_LANGUAGE" in err
    assert err.count("\n") == 1


@pytest.mark.parametrize("zone", ["Europe", "America", "localtime", "Mars/Olympus"])
def test_a_default_timezone_that_is_no_zone_is_one_line(
    env: dict[str, str], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, zone: str
) -> None:
    monkeypatch.setenv("DEFAULT_TIMEZONE", zone)
    code, out, err = cli(capsys, "db", "upgrade")
    assert code == 2
    assert out == ""
    assert err.count("\n") == 1
    assert "DEFAULT_TIMEZONE" in err
    assert "Traceback" not in err


def test_db_upgrade_from_empty(
    env: dict[str, str], capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, _, err = cli(capsys, "db", "upgrade")
    assert code == 0
    assert "revision" in err
    assert (tmp_path / "db" / "digest.db").is_file()
    code, _, err2 = cli(capsys, "db", "upgrade")
    assert code == 0
    assert err2 == err


def test_verbose_after_the_subcommand(
    env: dict[str, str], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ARXIV_RSS_BASE_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("ARXIV_API_URL", "http://127.0.0.1:9/api/query")
    monkeypatch.setenv("ARXIV_RETRIES", "0")
    for argv in (["digest", "cs.LG", "-v"], ["-v", "digest", "cs.LG"]):
        code, out, err = cli(capsys, *argv)
        assert code == 1
        assert out == ""
        assert err.splitlines()[-1] == "arxiv-digest: arXiv is unreachable. Try again later (-v shows why)."
        assert "arXiv failure: feed:" in err  # -v shows why, wherever it is given
    code, _, err = cli(capsys, "digest", "cs.LG")
    assert code == 1
    assert "arXiv failure" not in err  # without -v: the progress line and the one-line error only
    assert err.count("\n") == 2


@pytest.mark.parametrize("url", ["", "   "])
def test_empty_database_url_means_the_default(
    env: dict[str, str],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    url: str,
) -> None:
    monkeypatch.setenv("DATABASE_URL", url)
    code, _, err = cli(capsys, "db", "upgrade")
    assert code == 0, err
    assert (tmp_path / "data" / "arxiv-digest.db").is_file()


@pytest.mark.parametrize("path", ["./data/other.db", "other.sqlite3", "{tmp}/abs/other.db"])
def test_a_plain_file_path_is_a_sqlite_database(
    env: dict[str, str],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    path: str,
) -> None:
    path = path.format(tmp=tmp_path)
    monkeypatch.setenv("DATABASE_URL", path)
    code, _, err = cli(capsys, "db", "upgrade")
    assert code == 0, err
    assert (tmp_path / path).is_file()
    code, out, err = cli(capsys, "digest", "cs.LG", "cs.AI", "cs.CL", "stat.ML")
    assert code == 0, err
    assert len(table_rows(out)) == 4


def test_one_paper_is_not_papers(env: dict[str, str], capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = cli(capsys, "digest", "cs.LG", "cs.AI", "cs.CL", "stat.ML", "--limit", "1")
    assert code == 0
    assert len(table_rows(out)) == 1
    assert "\n1 paper (2026-09-24), " in "\n" + err.splitlines()[-1]
    assert " papers " not in err.splitlines()[-1]


# -- the installed console script ---------------------------------------------------------------------------


def test_console_script_bad_category_has_no_traceback(tmp_path: Path) -> None:
    exe = Path(sys.executable).with_name("arxiv-digest")
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("ARXIV_", "DEEPL_", "DATABASE_"))}
    environ["DATABASE_URL"] = f"sqlite+aiosqlite:///{tmp_path / 'x.db'}"
    proc = subprocess.run(
        [str(exe), "digest", "cs.LGG"], capture_output=True, text=True, cwd=tmp_path, env=environ, timeout=60
    )
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert proc.stderr.count("\n") == 1
    assert "cs.LG" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_postgresql_without_its_driver_is_one_line(tmp_path: Path) -> None:
    # As a user who installed without the postgres extra: asyncpg cannot be imported.
    code = "import sys; sys.modules['asyncpg'] = None; from arxiv_digest.bot.cli import main; main()"
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("ARXIV_", "DEEPL_", "DATABASE_"))}
    environ["DATABASE_URL"] = "postgresql://user@127.0.0.1:5432/db"
    proc = subprocess.run(
        [sys.executable, "-c", code, "db", "upgrade"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=environ,
        timeout=60,
    )
    assert proc.returncode == 1
    assert proc.stderr.count("\n") == 1, proc.stderr
    assert "asyncpg is not installed" in proc.stderr
    assert "pip install 'arxiv-digest[postgres]'" in proc.stderr
    assert "Traceback" not in proc.stderr
