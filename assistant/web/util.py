"""Pure helpers of the Gradio app (ui.py): error conversion, form values, upload and url checks, plot data."""

from __future__ import annotations

import argparse
import functools
import inspect
import logging
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

import gradio as gr
import pandas as pd

from assistant import flags
from assistant.assistant import Assistant
from assistant.dates import parse_date
from assistant.errors import ConfigError, InputError, NewsqaError
from assistant.settings import Settings
from assistant.types import Filters
from assistant.web import assets

log = logging.getLogger("newsqa.ui")
F = TypeVar("F", bound=Callable[..., Any])
MAX_URLS = 50  # urls read per click; anyone who can reach the app can paste, so keep one batch bounded
Rejected = list[tuple[str, str]]  # (what, why) for inputs turned away before reading


def user_errors(func: F) -> F:
    """Domain errors become gr.Error messages; anything else is logged with its traceback and reported as a
    short message. Gradio prints no traceback for any of them."""

    def convert(exc: Exception) -> gr.Error:
        # The reader sees the message; the log gets one line for their mistakes (an empty question, a bad
        # date) and a traceback only for what is ours to fix (logged here, so Gradio need not print it).
        if isinstance(exc, gr.Error):
            error = exc
        elif isinstance(exc, NewsqaError):
            error = gr.Error(str(exc))
        else:
            log.exception("unexpected error in %s", func.__name__)
            error = gr.Error(f"Something went wrong ({type(exc).__name__}); the server log has the details.")
        if error is exc or isinstance(exc, NewsqaError):
            log.info("%s: %s", func.__name__, error.message)
        error.print_exception = False
        return error

    if inspect.isgeneratorfunction(func):

        @functools.wraps(func)
        def gen_wrapper(*args: Any, **kwargs: Any) -> Any:
            try:
                yield from func(*args, **kwargs)
            except Exception as exc:
                raise convert(exc) from None

        return gen_wrapper  # type: ignore[return-value]

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except Exception as exc:
            raise convert(exc) from None

    return wrapper  # type: ignore[return-value]


def parse_filters(
    since: str | None, until: str | None, outlets: Sequence[str] | None, as_of: str | None = None
) -> Filters:
    """Filters from the UI's (or API's) loosely typed values; bad dates are a gr.Error."""

    def day(value: str | None, label: str, end: bool) -> datetime | None:
        if value is None or not str(value).strip():
            return None
        parsed = parse_date(str(value).strip())
        if parsed is None:
            raise gr.Error(f"{label} date {value!r} is not a date; use e.g. 2023-10-01.")
        if end and len(str(value).strip()) <= 10:  # a bare day includes the whole day
            parsed = parsed.replace(hour=23, minute=59, second=59)
        return parsed

    start, stop = day(since, "From", False), day(until, "To", True)
    if start and stop and start > stop:
        raise gr.Error("The From date is after the To date; swap them or clear one.")
    moment = day(as_of, "As of", True)
    return Filters(since=start, until=stop, sources=tuple(o for o in outlets or () if o), as_of=moment)


def parse_auth(auth: str | None) -> tuple[str, str] | None:
    """`user:password` as Gradio's auth pair."""
    if not auth:
        return None
    user, sep, password = auth.partition(":")
    if not sep or not user or not password:
        raise ConfigError("--auth (or NEWSQA_AUTH) must look like user:password.")
    return user, password


def launch_options(settings: Settings) -> dict[str, Any]:
    """Keyword arguments for Blocks.launch from the settings (host, port, login, upload limit, CSS)."""
    return {
        "server_name": settings.host,
        "server_port": settings.port,
        "auth": parse_auth(settings.auth),
        "max_file_size": f"{settings.max_upload_mb}mb",
        "css": assets.CSS,
        "theme": offline_theme(),
        "head": assets.POPOVER_JS,
        "show_error": False,
        "footer_links": ["api"],
    }


def offline_theme() -> gr.Theme:
    """Gradio's default look with the system's fonts: the default asks Google for its fonts, which an
    offline newsroom box cannot reach (capitals then render in another face than the rest of a word)."""
    system = ["system-ui", "-apple-system", "Segoe UI", "Roboto", "Helvetica Neue", "Arial", "sans-serif"]
    mono = ["ui-monospace", "SFMono-Regular", "Menlo", "Consolas", "monospace"]
    return gr.themes.Default(font=system, font_mono=mono)


def check_uploads(paths: Sequence[Path], max_upload_mb: int) -> tuple[list[Path], Rejected]:
    """Split uploads into readable ones and (name, reason) rejections by type and size."""
    accepted: list[Path] = []
    rejected: Rejected = []
    for path in paths:
        if path.suffix.lower() not in Assistant.file_types():
            kinds = ", ".join(Assistant.file_types())
            rejected.append((path.name, f"unsupported file type {path.suffix or '(none)'}; use {kinds}"))
        elif path.stat().st_size > max_upload_mb * 1024 * 1024:
            rejected.append(
                (path.name, f"larger than the {max_upload_mb} MB upload limit; use `newsqa ingest`")
            )
        else:
            accepted.append(path)
    return accepted, rejected


def short_origin(item: Any) -> Any:
    """Name uploads by their file name, not the server's temp path, in failure messages."""
    if isinstance(item, InputError):
        return InputError(Path(item.origin).name, item.reason)
    return item


def url_lines(text: str | None, limit: int = MAX_URLS) -> tuple[list[str], Rejected]:
    """The http(s) urls pasted in a box (one per line; blank and # lines skipped, repeats once) and the
    lines turned away: anything else, and whatever is over `limit` (never fetched: no file paths here)."""
    urls: list[str] = []
    rejected: Rejected = []
    for line in (text or "").splitlines():
        line = line.strip()
        if not line or line.startswith("#") or line in urls:
            continue
        if not Assistant.is_url(line):
            rejected.append((line[:200], "not an http:// or https:// url (one url per line)"))
        else:
            urls.append(line)
    if len(urls) > limit:
        extra = len(urls) - limit
        rejected.append((f"{extra} more url(s)", f"only {limit} urls are read per click; add the rest next"))
        urls = urls[:limit]
    return urls, rejected


def timeline(days: dict[str, int]) -> tuple[pd.DataFrame, str]:
    """Articles per day, or per week (from Monday) when the dates span over 45 days; zeros kept."""
    series = pd.Series(list(days.values()), index=pd.to_datetime(list(days)), dtype="int64")
    unit = "day"
    if len(series) and (series.index.max() - series.index.min()).days > 45:
        unit = "week"
    if len(series):
        series = series.resample("W-MON" if unit == "week" else "D", label="left", closed="left").sum()
    frame = pd.DataFrame({"date": series.index.strftime("%Y-%m-%d"), "articles": series.to_numpy()})
    return frame, unit


def timeline_plot(days: dict[str, int]) -> Any:
    """The bar plot's update: articles per day or week, the y axis from 0, labels slanted when many."""
    frame, unit = timeline(days)
    top = max(1, int(frame["articles"].max())) if len(frame) else 1
    angle = -45 if len(frame) > 12 else 0
    return gr.update(value=frame, y_lim=[0, top], x_title=f"articles per {unit}", x_label_angle=angle)


def arg_parser() -> argparse.ArgumentParser:
    """`python ui.py`'s flags: `newsqa`'s global options (index, LLM...) plus `newsqa serve`'s own."""
    parser = argparse.ArgumentParser(description="newsqa's chat window over the local index.")
    return flags.add_arguments(parser, "global", "serve")


def settings_from_args(argv: Sequence[str] | None = None) -> Settings:
    """Settings from flags over NEWSQA_* over the config file over defaults, as for `newsqa`."""
    return flags.load(vars(arg_parser().parse_args(argv)))
