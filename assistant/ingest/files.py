"""Files, folders and globs: find the files, detect each one's kind, and read it to Articles."""

from __future__ import annotations

import codecs
import glob
import logging
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

from assistant.errors import InputError
from assistant.ingest.html import read_html
from assistant.ingest.records import ReadResult, read_csv, read_json, read_jsonl
from assistant.ingest.text import read_text
from assistant.types import Article

log = logging.getLogger(__name__)
BINARY = "binary file, not text (expected .txt, .md, .html, .json, .jsonl or .csv)"
MAX_STRAY_NULS = 8  # NUL bytes a text dump may carry (a broken export) before it counts as binary
STREAM_BYTES = 16_000_000  # JSONL and CSV files above this are read as a stream
TEXT_EXTS = {".txt", ".md", ".markdown", ".text"}
HTML_EXTS = {".html", ".htm", ".xhtml"}
JSON_EXTS = {".json"}
JSONL_EXTS = {".jsonl", ".ndjson"}
CSV_EXTS = {".csv", ".tsv"}
SUPPORTED_EXTS = TEXT_EXTS | HTML_EXTS | JSON_EXTS | JSONL_EXTS | CSV_EXTS


def expand(specs: Iterable[str]) -> Iterator[Path | InputError]:
    """Each file named by a path, a folder (recursively, supported types only) or a glob."""
    seen: set[Path] = set()
    for spec in specs:
        path = Path(spec).expanduser()
        if path.is_dir():
            candidates = sorted(
                p
                for p in path.rglob("*")
                if p.is_file()
                and p.suffix.lower() in SUPPORTED_EXTS
                and not any(part.startswith(".") for part in p.relative_to(path).parts)
            )
        elif path.exists():
            candidates = [path]
        elif glob.has_magic(spec):
            candidates = sorted(Path(p) for p in glob.glob(str(path), recursive=True) if Path(p).is_file())
            if not candidates:
                yield InputError(spec, "the pattern matches no files")
        else:
            yield InputError(spec, "no such file or folder")
            continue
        for candidate in candidates:
            resolved = candidate.resolve()
            if resolved not in seen:
                seen.add(resolved)
                yield candidate


_BOMS = (  # UTF-32 first: its little-endian mark starts with UTF-16's
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)


def decode(data: bytes, origin: str) -> str:
    """Bytes to text (UTF-8, or UTF-16/32 with a byte-order mark), refusing empty, binary and undecodable
    files with a reason."""
    for bom, codec in _BOMS:
        if data.startswith(bom):
            try:
                return _not_empty(data.decode(codec), origin)
            except UnicodeDecodeError as exc:
                raise InputError(origin, f"invalid {codec.upper()} at byte {exc.start}") from None
    if not data.strip():
        raise InputError(origin, "the file is empty")
    nuls = data.count(b"\x00")
    text = data.replace(b"\x00", b"")
    try:
        decoded = text.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        if nuls:  # NULs and bytes that are no text: an image, an archive...
            raise InputError(origin, BINARY) from None
        raise InputError(
            origin, f"invalid UTF-8 at byte {exc.start}: re-save the file as UTF-8 and ingest it again"
        ) from None
    if nuls > MAX_STRAY_NULS and nuls * 1000 > len(data):  # more than a few strays: not a text dump
        raise InputError(origin, BINARY)
    if nuls:  # a stray NUL in a text dump (a broken export): dropped, so the good rows still go in
        log.warning("%s: %d NUL byte(s) removed", origin, nuls)
    return decoded


def _not_empty(text: str, origin: str) -> str:
    if not text.strip():
        raise InputError(origin, "the file is empty")
    return text


def detect_kind(path: Path, text: str) -> str:
    """The file's kind from its extension, checked against its content."""
    ext = path.suffix.lower()
    head = text.lstrip()[:512].lower()
    looks_html = head.startswith(("<!doctype html", "<html")) or "<html" in head[:200]
    if ext in JSON_EXTS:
        return "json"
    if ext in JSONL_EXTS:
        return "jsonl"
    if ext in CSV_EXTS:
        return "csv"
    if ext in HTML_EXTS or looks_html:
        return "html"
    if ext not in TEXT_EXTS and head.startswith(("{", "[")):
        first_line = text.lstrip().split("\n", 1)[0].strip()
        return (
            "jsonl" if first_line.startswith("{") and first_line.endswith("}") and "\n{" in text else "json"
        )
    return "text"


def _single(reader: Callable[[str, str], Article]) -> Callable[[str, str], Iterator[ReadResult]]:
    def read(text: str, origin: str) -> Iterator[ReadResult]:
        try:
            yield reader(text, origin)
        except InputError as exc:
            yield exc

    return read


READERS: dict[str, Callable[[str, str], Iterator[ReadResult]]] = {
    "json": read_json,
    "jsonl": read_jsonl,
    "csv": read_csv,
    "html": _single(read_html),
    "text": _single(read_text),
}


def read_file(path: Path, stream_bytes: int = STREAM_BYTES) -> Iterator[ReadResult]:
    """Every article in one file, or the reasons it could not be read. JSONL and CSV files larger than
    `stream_bytes` are read line by line (memory stays that of one record, whatever the file's size)."""
    origin = str(path.resolve())  # absolute: a file re-ingested from elsewhere is still the same file
    try:
        if path.suffix.lower() in JSONL_EXTS | CSV_EXTS and path.stat().st_size > stream_bytes:
            yield from _failing_alone(_stream(path, origin), origin)
            return
        data = path.read_bytes()
    except OSError as exc:
        yield InputError(origin, f"cannot read the file: {exc.strerror or exc}")
        return
    try:
        text = decode(data, origin)
    except InputError as exc:
        yield exc
        return
    yield from _failing_alone(READERS[detect_kind(path, text)](text, origin), origin)


def _stream(path: Path, origin: str) -> Iterator[ReadResult]:
    """A big JSONL or CSV file read as a text stream (UTF-8, or UTF-16/32 with a byte-order mark)."""
    with path.open("rb") as raw:
        head = raw.read(4)
    codec = next((c for bom, c in _BOMS if head.startswith(bom)), "utf-8-sig")
    with path.open(encoding=codec, newline="") as stream:
        if path.suffix.lower() in JSONL_EXTS:
            yield from read_jsonl(stream, origin)
        else:
            yield from read_csv(stream, origin)


def _failing_alone(results: Iterator[ReadResult], origin: str) -> Iterator[ReadResult]:
    """The reader's results; an exception from the libraries underneath ends this file with a named
    failure (the articles before it stay in, and so does the rest of the batch)."""
    try:
        yield from results
    except UnicodeDecodeError as exc:
        yield InputError(origin, f"invalid text at byte {exc.start} of a block: re-save the file as UTF-8")
    except (RecursionError, MemoryError, ValueError, OverflowError, OSError) as exc:
        # a reader's own failures are InputErrors already; these come from a 10,000-deep JSON nest,
        # an absurd number and the like
        reason = (
            "nested too deeply to read" if isinstance(exc, RecursionError) else f"{type(exc).__name__}: {exc}"
        )
        yield InputError(origin, f"cannot be read: {reason[:300]}")
