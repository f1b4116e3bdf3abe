"""Readers: every input format, metadata mapping, dates, cleaning and bad input (no index needed)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from assistant.dates import parse_date
from assistant.errors import InputError
from assistant.ingest.clean import clean_text
from assistant.ingest.files import read_file
from assistant.ingest.sources import read_sources
from assistant.settings import Settings
from assistant.types import Article, article_id
from tests.conftest import SEED

COMMENT_FORM = ["评论", "发表回复", "您的邮箱地址不会被公开。 必填项已用 * 标注"]


def _read(*paths: Path | str) -> tuple[list[Article], list[InputError]]:
    results = list(read_sources([str(p) for p in paths]))
    return [r for r in results if isinstance(r, Article)], [r for r in results if isinstance(r, InputError)]


def test_seed_article_title_body_and_comment_form_removed() -> None:
    articles, failures = _read(SEED)
    assert failures == []
    [article] = articles
    assert article.title == "Putin Praises Talks with Trump"
    assert "one lasting approximately 50 minutes" in article.body
    for line in COMMENT_FORM:
        assert line not in article.body
    assert article.published_at is None


def test_text_with_key_value_headers(tmp_path: Path) -> None:
    path = tmp_path / "a.txt"
    path.write_text(
        "Title: Council approves bridge\nDate: 2024-03-05 10:30 +01:00\nSource: The Daily\n"
        "URL: https://daily.example/bridge\nAuthor: Jane Roe\n\nThe council voted 7 to 2 for the bridge.\n",
        encoding="utf-8",
    )
    [article], _ = _read(path)
    assert article.title == "Council approves bridge"
    assert article.published_at == datetime(2024, 3, 5, 9, 30, tzinfo=UTC)
    assert (article.source, article.url, article.author) == (
        "The Daily",
        "https://daily.example/bridge",
        "Jane Roe",
    )
    assert article.body == "The council voted 7 to 2 for the bridge."


def test_markdown_with_yaml_front_matter(tmp_path: Path) -> None:
    path = tmp_path / "b.md"
    path.write_text(
        "---\ntitle: Storm hits coast\ndate: 2023-10-14\nsource: Coastal Times\n---\n"
        "# ignored heading? no: body starts here\n\nWinds reached 120 km/h overnight.\n",
        encoding="utf-8",
    )
    [article], _ = _read(path)
    assert article.title == "Storm hits coast"
    assert article.source == "Coastal Times"
    assert article.published_at == datetime(2023, 10, 14, tzinfo=UTC)
    assert "Winds reached 120 km/h overnight." in article.body


def test_markdown_heading_is_title(tmp_path: Path) -> None:
    path = tmp_path / "c.md"
    path.write_text("# Markets rally\n\nStocks rose 3% on Friday.\n", encoding="utf-8")
    [article], _ = _read(path)
    assert article.title == "Markets rally"


def test_html_main_text_and_metadata_without_furniture(tmp_path: Path) -> None:
    path = tmp_path / "page.html"
    path.write_text(
        """<html><head><title>Bridge vote - The Daily</title>
        <link rel="canonical" href="https://daily.example/news/bridge">
        <meta property="og:site_name" content="The Daily"><meta name="author" content="Jane Roe">
        <meta property="article:published_time" content="2024-03-05T10:30:00+01:00"></head>
        <body><nav><a href="/">Home</a> <a href="/world">World</a> <a href="/sport">Sport</a></nav>
        <div class="cookie-banner"><p>We use cookies to improve your experience.</p><button>Accept all</button></div>
        <article><h1>Council approves the new bridge</h1>
        <p>The council voted 7 to 2 on Tuesday to approve the new bridge, which will cost 40 million euros.</p>
        <p>Construction starts in May and should finish by 2027, officials said on Tuesday evening.</p>
        <div class="share">Share on Facebook</div></article>
        <div id="comments"><h3>Leave a Reply</h3><p>Your email address will not be published.
        Required fields are marked *</p><form><textarea></textarea></form></div>
        <footer>All rights reserved</footer></body></html>""",
        encoding="utf-8",
    )
    [article], failures = _read(path)
    assert failures == []
    assert article.title == "Council approves the new bridge"
    assert article.url == "https://daily.example/news/bridge"
    assert article.source == "The Daily"
    assert article.author == "Jane Roe"
    assert article.published_at == datetime(2024, 3, 5, 9, 30, tzinfo=UTC)
    assert "40 million euros" in article.body
    for furniture in ("Home", "cookies", "Share on Facebook", "Leave a Reply", "email address", "rights"):
        assert furniture not in article.body


def test_json_list_jsonl_and_csv_field_names(tmp_path: Path) -> None:
    (tmp_path / "list.json").write_text(
        json.dumps(
            [
                {
                    "headline": "A",
                    "Content": "Alpha body text.",
                    "pubDate": "Tue, 03 Oct 2023 10:00:00 GMT",
                    "Outlet": "Wire",
                    "link": "https://w.example/a",
                    "byline": "X",
                    "section": "tech",
                },
                {"title": "B", "text": "Beta body text.", "published": "2023-10-04"},
            ]
        ),
        encoding="utf-8",
    )
    (tmp_path / "one.json").write_text(json.dumps({"title": "C", "article": "Gamma body."}), encoding="utf-8")
    (tmp_path / "lines.jsonl").write_text(
        '{"title": "D", "body": "Delta body."}\n{"title": "E", "body": "Epsilon body."}\n', encoding="utf-8"
    )
    (tmp_path / "table.csv").write_text(
        "Title,Body,Date,Source,URL,Authors,Category\n"
        'F,"Foxtrot body, with a comma.",2023-10-05T08:00:00Z,Paper,https://p.example/f,"Y, Z",world\n',
        encoding="utf-8",
    )
    articles, failures = _read(tmp_path)
    assert failures == []
    by_title = {a.title: a for a in articles}
    assert sorted(by_title) == ["A", "B", "C", "D", "E", "F"]
    a = by_title["A"]
    assert (a.body, a.source, a.url, a.author, a.category) == (
        "Alpha body text.",
        "Wire",
        "https://w.example/a",
        "X",
        "tech",
    )
    assert a.published_at == datetime(2023, 10, 3, 10, 0, tzinfo=UTC)
    f = by_title["F"]
    assert f.body == "Foxtrot body, with a comma."
    assert (f.source, f.author, f.category) == ("Paper", "Y, Z", "world")
    assert f.published_at == datetime(2023, 10, 5, 8, 0, tzinfo=UTC)


def test_multihop_corpus_ingests_as_it_is(corpus_path: Path) -> None:
    articles, failures = _read(corpus_path)
    raw = json.loads(corpus_path.read_text(encoding="utf-8"))
    assert failures == []
    assert len(articles) == len(raw) == 609
    first = articles[0]
    assert first.title == raw[0]["title"]
    assert first.source == raw[0]["source"]
    assert first.url == raw[0]["url"]
    assert first.category == raw[0]["category"]
    assert first.published_at == parse_date(raw[0]["published_at"])
    assert len({a.id for a in articles}) == len({a["url"] for a in raw})


def test_bad_inputs_are_reported_with_file_and_reason(tmp_path: Path) -> None:
    (tmp_path / "empty.txt").write_text("", encoding="utf-8")
    (tmp_path / "binary.txt").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00IHDR")
    (tmp_path / "latin1.txt").write_bytes("Caf\xe9 news\n\nBody.".encode("latin-1"))
    (tmp_path / "broken.json").write_text('[{"title": "ok", "body": "fine"},\n {"title": ', encoding="utf-8")
    (tmp_path / "nobody.json").write_text(json.dumps([{"title": "No body here"}]), encoding="utf-8")
    (tmp_path / "mixed.jsonl").write_text('{"title": "G", "body": "Good."}\nnot json\n', encoding="utf-8")
    (tmp_path / "good.txt").write_text("Good title\n\nGood body.", encoding="utf-8")
    articles, failures = _read(tmp_path, tmp_path / "missing.txt")
    assert sorted(a.title for a in articles) == ["G", "Good title"]
    reasons = {Path(f.origin.split(" ")[0]).name: f.reason for f in failures}
    assert "empty" in reasons["empty.txt"]
    assert "binary" in reasons["binary.txt"]
    assert "UTF-8" in reasons["latin1.txt"]
    assert "malformed JSON at line 2" in reasons["broken.json"]
    assert "no body" in reasons["nobody.json"]
    assert "malformed JSON" in reasons["mixed.jsonl"] and "line 2" in str(
        next(f for f in failures if "mixed.jsonl" in f.origin)
    )
    assert "no such file" in reasons["missing.txt"]


def test_dates_parse_to_utc() -> None:
    assert parse_date("2023-11-27T08:45:59+02:00") == datetime(2023, 11, 27, 6, 45, 59, tzinfo=UTC)
    assert parse_date("27 Nov 2023") == datetime(2023, 11, 27, tzinfo=UTC)
    assert parse_date(1700000000) == datetime(2023, 11, 14, 22, 13, 20, tzinfo=UTC)
    assert parse_date("not a date") is None
    assert parse_date("") is None


def test_ids_are_stable_from_url_else_text() -> None:
    assert article_id("https://www.Example.com/a/?utm_source=x#top", "T", "B") == article_id(
        "https://example.com/a", "Other", "Text"
    )
    assert article_id(None, "Title", "Body  text") == article_id(None, "Title", "Body text")
    assert article_id(None, "Title", "Body") != article_id(None, "Title", "Body changed")


def test_cleaning_drops_furniture_in_many_languages_but_keeps_prose() -> None:
    text = "\n".join(
        [
            "The minister said the talks were useful and would continue next week.",
            "Share this article",
            "Subscribe to our newsletter for daily updates",
            "We use cookies to give you the best experience. Accept all",
            "Leave a Reply",
            "Your email address will not be published. Required fields are marked *",
            "Kommentare",
            "Votre adresse e-mail ne sera pas publiée.",
            "评论",
            "Readers left 200 comments on the original report, many of them critical of the plan.",
        ]
    )
    cleaned = clean_text(text)
    assert cleaned.splitlines() == [
        "The minister said the talks were useful and would continue next week.",
        "Readers left 200 comments on the original report, many of them critical of the plan.",
    ]


def test_cleaning_drops_sign_up_forms_run_into_long_lines_and_unrendered_templates() -> None:
    form = (
        "Stay ahead of the trend with our free weekly Lifestyle Edit newsletter Please enter a valid email "
        "address SIGN UP I would like to be emailed about offers, events and updates from The Independent. "
        "Read our privacy notice Thanks for signing up to the"
    )
    promo = (
        "skip past newsletter promotion Sign up to Football Daily Free daily newsletter Kick off your "
        "evenings with our take on the world of football Privacy Notice: Newsletters may contain info about "
        "charities, online ads, and content funded by outside parties. after newsletter promotion"
    )
    prose = (
        "It was her newsletter The Profile that led Polina Pompliano to become an author, she said, after "
        "years of profiling hundreds of people and asking what distinguishes the great from the good."
    )
    text = "\n\n".join(
        [
            form,
            "Lifestyle Edit email {{ #verifyErrors }} {{ message }} {{ /verifyErrors }} {{ ^verifyErrors }} "
            "Something went wrong. Please try again later {{ /verifyErrors }}",
            "Jada Pinkett Smith has revealed that she and Will Smith have been separated for seven years.",
            promo,
            "Verge Deals / Sign up for Verge Deals. Email (required) Sign up By submitting your email, you "
            "agree to our Terms and Privacy Notice .",
            "CLICK HERE TO SIGN UP FOR OUR ENTERTAINMENT NEWSLETTER",
            prose,
            "Use {{ name }} in the template to print the reader's name.",  # a placeholder, not a form
        ]
    )
    assert clean_text(text).split("\n\n") == [
        "Jada Pinkett Smith has revealed that she and Will Smith have been separated for seven years.",
        prose,
        "Use {{ name }} in the template to print the reader's name.",
    ]


def test_hostile_files_fail_alone_and_good_rows_still_go_in(tmp_path: Path) -> None:
    """A deep JSON nest, absurd dates, a standard CSV with "" escapes and an unterminated quote, a UTF-16
    file: each bad one is a named failure with a reason, and the good articles beside them all read."""
    body = "The council approved the harbour budget on Monday after a long debate."
    (tmp_path / "deep.json").write_text("[" * 10000 + "]" * 10000, encoding="utf-8")
    for name, date in (("late", "9999-12-31T23:00:00-05:00"), ("early", "0001-01-01T00:00:00+05:00")):
        (tmp_path / f"{name}.json").write_text(
            json.dumps({"title": name, "body": body, "published_at": date})
        )
    (tmp_path / "huge.json").write_text(json.dumps({"title": "huge", "body": body, "published_at": 1e20}))
    quoted = 'He said ""we will build it"", and the vote passed, 7 to 2, to cheers; ""finally"", one said.'
    (tmp_path / "news.csv").write_text(
        f'title,body\n"Vote passes","{quoted}"\n"Broken","unterminated quote\n', encoding="utf-8"
    )
    (tmp_path / "wide.txt").write_bytes(f"Harbour budget\n\n{body}".encode("utf-16"))
    results = list(read_sources([str(tmp_path)]))
    articles = {r.title: r for r in results if isinstance(r, Article)}
    failures = [r for r in results if isinstance(r, InputError)]
    assert set(articles) == {"late", "early", "huge", "Vote passes", "Harbour budget"}
    assert all(articles[t].published_at is None for t in ("late", "early", "huge"))  # stored as undated
    assert articles["Vote passes"].body == quoted.replace('""', '"')  # one article, not four fragments
    assert articles["Harbour budget"].body == body
    reasons = {Path(f.origin.split(" row ")[0]).name: f.reason for f in failures}
    assert set(reasons) == {"deep.json", "news.csv"}
    assert "nested too deeply" in reasons["deep.json"] and "malformed CSV" in reasons["news.csv"]


def test_dates_outside_1900_2100_or_unreadable_are_unknown() -> None:
    assert parse_date("9999-12-31T23:00:00-05:00") is None
    assert parse_date(1e20) is None and parse_date("1850-01-01") is None
    assert parse_date("2100-06-01") == datetime(2100, 6, 1, tzinfo=UTC)


def test_files_and_articles_over_the_limits_are_named_failures(tmp_path: Path) -> None:
    body = "The harbour board met on Monday. " * 40  # ~1,300 characters
    (tmp_path / "long.txt").write_text("A long report\n\n" + body * 2, encoding="utf-8")
    (tmp_path / "fine.txt").write_text("A short report\n\n" + body, encoding="utf-8")
    (tmp_path / "big.jsonl").write_text(json.dumps({"title": "x", "body": body}) + "\n" * 2_000_000)
    settings = Settings.load(env={}, max_article_chars=2_000, max_file_mb=1)
    results = list(read_sources([str(tmp_path)], settings))
    assert [r.title for r in results if isinstance(r, Article)] == ["A short report"]
    reasons = {Path(r.origin).name: r.reason for r in results if isinstance(r, InputError)}
    assert "over the limit of 2,000 (setting max_article_chars)" in reasons["long.txt"]
    assert "over the limit of 1 MB per file (setting max_file_mb)" in reasons["big.jsonl"]


def test_a_stray_nul_byte_does_not_reject_the_good_rows(tmp_path: Path) -> None:
    rows = "".join(f'"Report {i}","The council met on day {i} and agreed the plan."\n' for i in range(20))
    path = tmp_path / "dump.csv"
    path.write_bytes(("title,body\n" + rows).replace("day 3 ", "day\x00 3 ").encode())
    results = list(read_sources([str(path)]))
    assert len([r for r in results if isinstance(r, Article)]) == 20
    (tmp_path / "dump.csv").write_bytes(b"\x00\x01" * 100)
    assert "binary file" in next(iter(read_sources([str(path)]))).reason  # type: ignore[union-attr]


def test_big_jsonl_and_csv_are_streamed_with_the_same_results(tmp_path: Path) -> None:
    records = [
        {"title": f"Report {i}", "body": f"The council met on day {i} and agreed plan {i}.", "source": "Post"}
        for i in range(50)
    ]
    jsonl = tmp_path / "dump.jsonl"
    jsonl.write_text("\n".join(json.dumps(r) for r in records) + "\n{broken\n", encoding="utf-8")
    rows = "".join(f'"{r["title"]}","{r["body"]}","{r["source"]}"\n' for r in records)
    csv_path = tmp_path / "dump.csv"
    csv_path.write_bytes(("title,body,source\n" + rows).encode("utf-16"))
    for path in (jsonl, csv_path):
        whole = list(read_file(path))
        streamed = list(read_file(path, stream_bytes=0))
        assert [getattr(r, "title", None) for r in streamed] == [getattr(r, "title", None) for r in whole]
        assert len([r for r in streamed if isinstance(r, Article)]) == 50
    assert isinstance(list(read_file(jsonl, stream_bytes=0))[-1], InputError)  # the broken line, named


def test_text_with_key_value_lines_right_after_the_title(tmp_path: Path) -> None:
    path = tmp_path / "b.txt"
    path.write_text(
        "Council approves bridge\nSource: The Daily\nDate: 2024-03-05\n\nThe council voted 7 to 2 for it.\n",
        encoding="utf-8",
    )
    [article], _ = _read(path)
    assert (article.title, article.source) == ("Council approves bridge", "The Daily")
    assert article.published_at == datetime(2024, 3, 5, tzinfo=UTC)
    assert article.body == "The council voted 7 to 2 for it."


def test_one_nul_byte_in_a_short_csv_is_dropped_not_called_binary(tmp_path: Path) -> None:
    path = tmp_path / "short.csv"
    path.write_bytes(
        b'title,body\n"A","The tram line opens\x00 in May."\n"B","The library extends its hours."\n'
    )
    assert [r.title for r in read_sources([str(path)]) if isinstance(r, Article)] == ["A", "B"]
