"""Scheduled refresh: poll feeds, honour ETag / Last-Modified, index only new or changed entries."""

from __future__ import annotations

import json
import logging
import os
import re
import signal
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol

from assistant.errors import ConfigError, InputError
from assistant.formats import FEED_STATE, check_format
from assistant.ingest.feeds import entry_article, fetch_feed
from assistant.ingest.fetch import Fetcher
from assistant.ingest.records import ReadResult
from assistant.settings import Settings
from assistant.types import Failure, IngestReport, iso


class Ingester(Protocol):
    """What the watcher indexes into (the Assistant facade is one)."""

    settings: Settings

    def ingest(self, items: Iterable[ReadResult]) -> IngestReport:
        """Index articles; failures reported, never fatal."""
        ...


log = logging.getLogger(__name__)

STATE_FILE = "feeds.json"
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*$", re.I)
_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_every(text: str) -> float:
    """Seconds in an interval like 30m, 1h, 90s or 45 (seconds)."""
    match = _DURATION.match(text)
    if not match or float(match.group(1)) <= 0:
        raise ConfigError(f"--every {text!r} is not an interval; use e.g. 30m, 1h, 90s.")
    return float(match.group(1)) * _UNITS[match.group(2).lower()]


@dataclass
class FeedState:
    """What the last successful poll of one feed left us: validators and entry fingerprints."""

    etag: str | None = None
    last_modified: str | None = None
    entries: dict[str, str] = field(default_factory=dict)  # entry key -> fingerprint, fully indexed
    last_polled: str | None = None
    last_error: str | None = None


class StateStore:
    """Feed states in one JSON file beside the index, written atomically after each feed."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.feeds: dict[str, FeedState] = {}
        if path.is_file():
            try:
                data = json.loads(path.read_text(encoding="utf-8"))
                check_format(FEED_STATE, data.get("format", 1), str(path))
                self.feeds = {url: FeedState(**state) for url, state in data.get("feeds", {}).items()}
            except (ValueError, TypeError) as exc:
                log.warning("%s is unreadable (%s); every feed will be polled afresh", path, exc)

    def get(self, url: str) -> FeedState:
        """The state of a feed (empty for a new one)."""
        return self.feeds.setdefault(url, FeedState())

    def save(self) -> None:
        """Write the file (via a temporary file, so a crash never leaves half of it)."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        data = {
            "format": FEED_STATE.version,
            "feeds": {url: asdict(state) for url, state in self.feeds.items()},
        }
        tmp.write_text(json.dumps(data, indent=1, ensure_ascii=False), encoding="utf-8")
        os.replace(tmp, self.path)


@dataclass
class PollReport:
    """What one pass over the feeds did."""

    feeds: int = 0
    not_modified: int = 0
    entries_new: int = 0
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    partial: int = 0
    failed: list[Failure] = field(default_factory=list)

    def summary(self) -> str:
        """One line for the log."""
        return (
            f"{self.feeds} feeds ({self.not_modified} not modified), {self.entries_new} new or changed "
            f"entries: {self.added} added, {self.updated} updated, {self.unchanged} unchanged, "
            f"{self.partial} partial, {len(self.failed)} failed"
        )


class Watcher:
    """Polls a list of feeds into an Assistant's index, remembering what it has already indexed."""

    def __init__(
        self,
        assistant: Ingester,
        feeds: Sequence[str],
        state_path: Path | None = None,
        fetcher: Fetcher | None = None,
    ) -> None:
        if not feeds:
            raise ConfigError(
                "No feeds to watch: pass feed urls or .opml files, or set `feeds` in newsqa.toml "
                "(or NEWSQA_FEEDS=url1,url2)."
            )
        self.assistant = assistant
        self.feeds = list(feeds)
        self.state = StateStore(state_path or Path(assistant.settings.index) / STATE_FILE)
        self.fetcher = fetcher or Fetcher(assistant.settings)

    def poll(self) -> PollReport:
        """One pass over every feed; a failing feed or page is logged and the others still go in."""
        report = PollReport()
        for url in self.feeds:
            report.feeds += 1
            try:
                self._poll_feed(url, report)
            except InputError as exc:
                log.warning("feed failed: %s", exc)
                report.failed.append(exc)
                self.state.get(url).last_error = exc.reason
                self.state.save()
        log.info("poll done: %s", report.summary())
        return report

    def _poll_feed(self, url: str, report: PollReport) -> None:
        state = self.state.get(url)
        feed = fetch_feed(url, self.fetcher, state.etag, state.last_modified)
        state.last_polled = iso(datetime.now(UTC))
        state.last_error = None
        if feed.not_modified:
            report.not_modified += 1
            log.info("%s: not modified", url)
            self.state.save()
            return
        fresh = [e for e in feed.entries if state.entries.get(e.key) != e.fingerprint]
        report.entries_new += len(fresh)
        done: dict[str, str] = {}
        items: list[ReadResult] = []
        for entry in fresh:
            try:
                article = entry_article(entry, feed, self.fetcher)
            except InputError as exc:
                log.warning("entry failed: %s", exc)
                items.append(exc)
                continue
            items.append(article)
            if article.partial:
                report.partial += 1
            else:
                done[entry.key] = entry.fingerprint
        ingest = self.assistant.ingest(items)
        report.added += ingest.added
        report.updated += ingest.updated
        report.unchanged += ingest.unchanged
        report.failed += ingest.failed
        current = {e.key for e in feed.entries}
        state.entries = {k: v for k, v in state.entries.items() if k in current} | done
        complete = all(e.key in state.entries for e in fresh)
        # Keep the old validators while some entry is still partial or failed, so the next poll
        # gets the whole feed again and retries them; otherwise the next poll can be a cheap 304.
        if complete:
            state.etag, state.last_modified = feed.etag, feed.last_modified
        self.state.save()
        log.info("%s: %d new or changed entries, %s", url, len(fresh), ingest.summary())

    def run(
        self,
        every: float,
        stop: threading.Event | None = None,
        polls: int | None = None,
        on_report: Callable[[PollReport], None] | None = None,
    ) -> None:
        """Poll every `every` seconds until `stop` is set (or `polls` passes are done)."""
        stop = stop or threading.Event()
        done = 0
        while not stop.is_set():
            started = time.monotonic()
            report = self.poll()
            if on_report:
                on_report(report)
            done += 1
            if polls is not None and done >= polls:
                break
            stop.wait(max(0.0, every - (time.monotonic() - started)))

    def close(self) -> None:
        """Release the fetcher's connections."""
        self.fetcher.close()


def run_watch(
    assistant: Ingester,
    specs: Sequence[str],
    every: str,
    once: bool,
    echo: Callable[[str], None],
    note: Callable[[str], None],
) -> None:
    """The `newsqa watch` command: poll until Ctrl-C or SIGTERM, one summary line per poll."""
    from assistant.ingest.sources import feed_urls

    interval = parse_every(every)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    watcher = Watcher(assistant, feed_urls(specs))
    stop = threading.Event()
    if threading.current_thread() is threading.main_thread():  # signals reach the main thread only
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
    note(f"watching {len(watcher.feeds)} feed(s) every {every}; Ctrl-C stops")
    try:
        watcher.run(interval, stop, polls=1 if once else None, on_report=lambda r: echo(r.summary()))
    except KeyboardInterrupt:
        note("stopped; the next run continues where this one left off")
    finally:
        watcher.close()
