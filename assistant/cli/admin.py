"""The `newsqa` commands that look after an index: watch feeds, evaluate retrieval, rebuild keywords."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from assistant.assistant import Assistant
from assistant.cli.util import (
    allow_private,
    allow_private_option,
    domain_errors,
    json_option,
    quiet_option,
)
from assistant.types import Filters, Passage


@click.command()
@click.argument("feeds", nargs=-1)
@click.option("--every", default="30m", show_default=True, help="Time between polls, e.g. 90s, 30m, 1h.")
@click.option("--once", is_flag=True, help="Poll once, then exit.")
@allow_private_option
@click.pass_obj
@domain_errors
def watch(
    assistant: Assistant, feeds: tuple[str, ...], every: str, once: bool, allow_private_urls: bool
) -> None:
    """Poll FEEDS (urls or .opml files; default: the `feeds` setting) and index new or changed articles.

    ETag / Last-Modified are honoured and what was indexed is remembered in feeds.json beside the
    index, so stopping (Ctrl-C) and restarting loses and duplicates nothing.
    """
    allow_private(assistant, allow_private_urls)
    assistant.watch(
        feeds or assistant.settings.feeds,
        every,
        once,
        click.echo,
        lambda m: click.echo(m, err=True),
    )


@click.command("eval")
@click.argument("queries", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--limit", type=click.IntRange(1), help="Only the first N questions.")
@json_option
@quiet_option
@click.option(
    "--answers",
    is_flag=True,
    help="Also answer every question with the configured backend (--llm; default extractive) and score "
    "answer accuracy, null-question refusals, citation precision and verified sentences.",
)
@click.pass_obj
@domain_errors
def eval_command(
    assistant: Assistant, queries: Path, limit: int | None, as_json: bool, quiet: bool, answers: bool
) -> None:
    """Score retrieval on a MultiHop-RAG-format QUERIES file against the current index.

    Prints Hits@4/10, MRR@10, MAP@10, evidence recall@10 and all-evidence@10 (the benchmark's rule: a
    chunk is relevant when a gold fact is a substring of it, whitespace removed), overall and per question
    type; the abstention rates; and the median and p95 retrieval latency.
    """
    from tqdm import tqdm

    from assistant.evaluation.common import Query, load_queries
    from assistant.evaluation.retrieval import TOP, evaluate
    from assistant.types import evidence_found

    items = load_queries(queries)[:limit]
    assistant.retrieve("warm up")  # load the model and the indexes before timing anything
    bar = tqdm(total=len(items), unit="question", disable=quiet, file=sys.stderr, dynamic_ncols=True)

    def retrieve(query: Query) -> tuple[list[Passage], bool]:
        passages = assistant.retrieve(query.text, k=TOP, filters=Filters(as_of=query.as_of))
        return passages, not evidence_found(passages)

    try:
        report = evaluate(items, retrieve, lambda: bar.update(1))
    finally:
        bar.close()
    if answers:
        from assistant.evaluation.answers import run_answer_eval

        bar = tqdm(total=len(items), unit="answer", disable=quiet, file=sys.stderr, dynamic_ncols=True)
        try:
            scored = run_answer_eval(assistant, queries, limit, progress=lambda: bar.update(1))
        finally:
            bar.close()
        if as_json:
            click.echo(json.dumps({"retrieval": report.to_dict(), "answers": scored.to_dict()}, indent=2))
        else:
            click.echo(f"{report.table()}\n\n{scored.table()}")
        return
    click.echo(json.dumps(report.to_dict(), indent=2) if as_json else report.table())


@click.command("reindex-keywords")
@click.pass_obj
@domain_errors
def reindex_keywords(assistant: Assistant) -> None:
    """Rebuild the keyword (BM25) index and the wire-copy table from the chunks stored in Chroma (nothing
    is re-embedded): for a replica on another machine, or after a keyword index was lost or refused."""
    chunks = assistant.reindex_keywords()
    click.echo(f"keyword index rebuilt: {chunks} chunks")
