"""Pieces the `newsqa` commands share: domain errors as click errors, date options, private-url opt-in."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from functools import wraps
from typing import Any, TypeVar

import click

from assistant.assistant import Assistant
from assistant.dates import parse_date
from assistant.errors import NewsqaError

F = TypeVar("F", bound=Callable[..., Any])

PRIVATE_HELP = "Allow urls on loopback, private or link-local addresses (your own network)."
# Options several commands share, each defined once here.
allow_private_option = click.option("--allow-private-urls", is_flag=True, help=PRIVATE_HELP)
quiet_option = click.option("--quiet", "-q", is_flag=True, help="No progress bar.")
json_option = click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead of text.")


def domain_errors(func: F) -> F:
    """Turn NewsqaError into a clean click error (message, exit code 1), never a traceback."""

    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except NewsqaError as exc:
            raise click.ClickException(str(exc)) from None

    return wrapper  # type: ignore[return-value]


def date_option(_ctx: click.Context, _param: click.Parameter, value: str | None) -> datetime | None:
    """Click callback: a --since/--until value parsed to a UTC datetime."""
    if value is None:
        return None
    parsed = parse_date(value)
    if parsed is None:
        raise click.BadParameter(f"{value!r} is not a date; use e.g. 2023-10-01 or 2023-10-01T12:00Z")
    return parsed


def as_of_option(ctx: click.Context, param: click.Parameter, value: str | None) -> datetime | None:
    """Click callback: an --as-of moment; a bare day counts to its end (that day's news is in)."""
    parsed = date_option(ctx, param, value)
    if parsed is not None and value is not None and len(value.strip()) <= 10:
        parsed = parsed.replace(hour=23, minute=59, second=59)
    return parsed


def allow_private(assistant: Assistant, allow: bool) -> None:
    """Let this run fetch from private addresses when the user asked for it."""
    if allow:  # nothing that depends on it is built yet: readers get settings when they run
        assistant.settings = assistant.settings.replace(allow_private_urls=True)
