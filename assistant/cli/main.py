"""The `newsqa` command line: ingest, ask, stats, remove. Renders results; holds no retrieval logic."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime
from typing import Any, TypeVar

import click

from assistant import flags
from assistant.assistant import Assistant, build_assistant
from assistant.cli.admin import eval_command, reindex_keywords, watch
from assistant.cli.plain import answer_text
from assistant.cli.util import (
    allow_private,
    allow_private_option,
    as_of_option,
    date_option,
    domain_errors,
    json_option,
    quiet_option,
)
from assistant.types import Answer, Filters, ReadResult

F = TypeVar("F", bound=Callable[..., Any])

EPILOG = """\b
Examples:
  newsqa ingest examples/                 # a folder (recursive), a file, or a glob
  newsqa ingest dump.json news.csv 'pages/*.html'
  newsqa ingest https://example.com/story urls.txt subscriptions.opml
  newsqa ingest --feed https://example.com/rss.xml
  newsqa watch --every 30m https://example.com/rss.xml   # or the `feeds` setting
  newsqa ask "How long did one of the Putin-Trump calls last?"
  newsqa ask --source Reuters --since 2023-10-01 "What did the Fed decide?"
  newsqa ask --json "..."                 # one JSON object, for scripts
  newsqa stats
  newsqa remove https://example.com/story  # or an article id

Options of newsqa itself (--index, --llm, ...) go before or after the command.
Settings come from defaults < newsqa.toml (or --config) < NEWSQA_* variables < flags.
"""


@click.group(epilog=EPILOG, context_settings={"help_option_names": ["-h", "--help"]})
@flags.click_options("global")
@click.version_option(package_name="newsqa")
@click.pass_context
@domain_errors
def cli(ctx: click.Context, **values: Any) -> None:
    """Ask questions of your news articles and get answers with numbered citations.

    Index articles with `ingest`, then `ask`. Everything runs locally: no server, no API key.
    """
    settings = flags.load(values)  # the same resolution as `python ui.py`'s flags
    ctx.obj = build_assistant(settings)


@cli.command()
@click.argument("sources", nargs=-1)
@click.option("--feed", "feeds", multiple=True, help="An RSS/Atom feed url (repeat for several).")
@allow_private_option
@click.option(
    "--reembed",
    is_flag=True,
    help="Embed unchanged articles again too (gives an index built by an older newsqa its sentence "
    "vectors); they count as updated.",
)
@quiet_option
@click.pass_obj
@domain_errors
def ingest(
    assistant: Assistant,
    sources: tuple[str, ...],
    feeds: tuple[str, ...],
    allow_private_urls: bool,
    reembed: bool,
    quiet: bool,
) -> None:
    """Index articles from SOURCES: files, folders (recursive), globs, article or feed urls,
    text files of urls (one per line) and .opml feed lists.

    Formats: .txt/.md (title line, then body; optional `Key: value` or YAML headers), .html, .json
    (an article or a list), .jsonl and .csv. Re-running is safe: unchanged articles are skipped,
    changed ones replaced. Exits 1 when any input failed (each failure is listed with its reason).
    """
    from tqdm import tqdm

    if not sources and not feeds:
        raise click.UsageError("Name something to ingest: a file, folder, url, or --feed URL.")
    allow_private(assistant, allow_private_urls)
    assistant.warm_up()  # load the model first: chunks/s then measures indexing only
    bar = tqdm(total=0, unit="article", disable=quiet, file=sys.stderr, dynamic_ncols=True)
    chunks = 0

    def items() -> Iterator[ReadResult]:
        """Sources read as ingest takes them (in its reading thread, while the model runs); the bar's
        total grows as they are found."""
        for item in assistant.read_iter(sources, feeds):
            bar.total += 1
            yield item

    def progress(articles: int, new_chunks: int) -> None:
        nonlocal chunks
        chunks += new_chunks
        rate = chunks / bar.format_dict["elapsed"] if bar.format_dict["elapsed"] else 0.0
        bar.set_postfix(chunks=chunks, chunks_per_s=f"{rate:.1f}", refresh=False)
        bar.update(articles)

    try:
        report = assistant.ingest(items(), progress, reembed=reembed)
    finally:
        bar.close()
    for failure in report.failed:
        click.echo(f"failed: {failure}", err=True)
    click.echo(report.summary())
    for warning in report.warnings():
        click.echo(f"warning: {warning}", err=True)
    if report.failed:
        sys.exit(1)


@cli.command()
@click.argument("question")
@click.option("--k", type=click.IntRange(1, 50), help="Passages to retrieve [default: 5].")
@click.option("--since", callback=date_option, help="Only articles published on or after this date.")
@click.option("--until", callback=date_option, help="Only articles published on or before this date.")
@click.option("--source", "sources", multiple=True, help="Only these outlets (repeat for several).")
@click.option(
    "--as-of",
    callback=as_of_option,
    help="Answer as of this date (e.g. 2023-10-08): 'this week' means the week before it, and later "
    "articles are not used [default: now; env NEWSQA_AS_OF].",
)
@json_option
@click.pass_obj
@domain_errors
def ask(
    assistant: Assistant,
    question: str,
    k: int | None,
    since: datetime | None,
    until: datetime | None,
    sources: tuple[str, ...],
    as_of: datetime | None,
    as_json: bool,
) -> None:
    """Answer QUESTION from the indexed articles, citing each sentence's source as [n].

    With --llm the answer streams as it is written; its citations are checked when it completes.
    """
    if assistant.uses_llm and not as_json:
        _ask_streaming(assistant, question, k, Filters(since, until, sources, as_of))
        return
    answer = assistant.ask(question, k=k, filters=Filters(since, until, sources, as_of))
    if as_json:
        click.echo(json.dumps(answer.to_dict(), ensure_ascii=False, indent=2))
    else:
        click.echo(answer_text(answer, assistant.is_empty()))


def _ask_streaming(assistant: Assistant, question: str, k: int | None, filters: Filters) -> None:
    """Print the LLM's tokens as they arrive, then the checked answer (when it changed) and its sources."""
    shown = ""
    final: Answer | None = None
    for answer in assistant.ask_stream(question, k=k, filters=filters):
        if answer.partial and answer.text.startswith(shown):
            click.echo(answer.text[len(shown) :], nl=False)
            shown = answer.text
        elif not answer.partial:
            final = answer
    if final is None:
        return
    same = shown.strip() == final.text.strip()
    if shown:
        click.echo("\n" if same else "\n\nChecked answer (citations verified against the sources):")
    click.echo(answer_text(final, assistant.is_empty(), include_text=not same))


@cli.command()
@json_option
@click.pass_obj
@domain_errors
def stats(assistant: Assistant, as_json: bool) -> None:
    """Show articles, chunks, outlets, date range and size on disk."""
    s = assistant.stats()
    if as_json:
        click.echo(json.dumps(s.__dict__, indent=2))
        return
    click.echo(f"index:     {s.location}")
    click.echo(f"articles:  {s.articles}  (undated: {s.undated})")
    click.echo(f"chunks:    {s.chunks}")
    click.echo(f"dates:     {(s.earliest or '-')[:10]} .. {(s.latest or '-')[:10]}")
    if s.size_bytes is not None:
        click.echo(f"on disk:   {s.size_bytes / 1e6:.1f} MB")
    click.echo(f"outlets:   {len(s.outlets)}")
    for name, count in list(s.outlets.items())[:20]:
        click.echo(f"  {count:5d}  {name}")
    if len(s.outlets) > 20:
        click.echo(f"  ... and {len(s.outlets) - 20} more (use --json for all)")


@cli.command()
@click.argument("keys", nargs=-1, required=True, metavar="ID_OR_URL...")
@click.pass_obj
@domain_errors
def remove(assistant: Assistant, keys: tuple[str, ...]) -> None:
    """Remove articles, given their ids (see `ask --json`) or urls; several at once are one write."""
    if len(keys) == 1:
        removed = assistant.remove(keys[0])  # one key: its own error message when nothing matches
        click.echo(f"removed {keys[0]} ({removed} chunks)")
        return
    missing = []
    for key, chunks in assistant.remove_many(keys).items():
        if chunks is None:
            missing.append(key)
        else:
            click.echo(f"removed {key} ({chunks} chunks)")
    if missing:
        raise click.ClickException(
            f"No article with id or url {', '.join(map(repr, missing))} is indexed (the others were removed). "
            "`newsqa ask --json` shows article ids."
        )


cli.add_command(watch)
cli.add_command(eval_command)
cli.add_command(reindex_keywords)


def main(argv: Sequence[str] | None = None) -> None:
    """Console-script entry point; global options may come before or after the command."""
    cli(args=flags.globals_first(sys.argv[1:] if argv is None else argv), prog_name="newsqa")


@cli.command()
@flags.click_options("serve")
@click.pass_obj
@domain_errors
def serve(assistant: Assistant, **values: Any) -> None:
    """Open the chat window (the same app as `python ui.py`) on http://127.0.0.1:7860."""
    from assistant.web.app import serve as serve_app

    # an absent --allow-private-urls is unset: the setting (default off) decides
    serve_app(assistant.settings.replace(**flags.overrides(values)))
