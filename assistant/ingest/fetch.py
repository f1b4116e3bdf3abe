"""Polite, safe HTTP fetching: http(s) only, no private addresses, timeouts, a size cap, retries."""

from __future__ import annotations

import ipaddress
import logging
import re
import socket
import time
from collections.abc import Callable, Collection
from dataclasses import dataclass
from importlib import metadata
from urllib.parse import urljoin, urlsplit, urlunsplit

import httpx

from assistant.errors import InputError
from assistant.settings import Settings

log = logging.getLogger(__name__)

HTML_TYPES = frozenset({"text/html", "application/xhtml+xml"})
FEED_TYPES = frozenset(
    {
        "application/rss+xml",
        "application/atom+xml",
        "application/rdf+xml",
        "application/xml",
        "text/xml",
        "application/feed+json",
        "application/x-rss+xml",
    }
)
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
MAX_REDIRECTS = 5
MAX_RETRY_AFTER = 60.0
_META_CHARSET = re.compile(rb"""<meta[^>]+charset=["']?([\w.:-]+)""", re.I)


def user_agent() -> str:
    """The User-Agent every request carries, naming the tool so sites can recognise it."""
    try:
        version = metadata.version("newsqa")
    except metadata.PackageNotFoundError:
        version = "dev"
    return f"newsqa/{version} (news question-answering assistant; fetches article pages and feeds)"


@dataclass(frozen=True)
class FetchResult:
    """One fetched resource (or a 304 Not Modified answer) with the headers we keep."""

    url: str  # after redirects
    status: int
    content_type: str  # lowercased media type without parameters, "" when the server sent none
    body: bytes
    charset: str | None = None
    etag: str | None = None
    last_modified: str | None = None

    @property
    def not_modified(self) -> bool:
        """True when the server answered 304: what we had is still current."""
        return self.status == 304

    @property
    def text(self) -> str:
        """The body decoded with the declared charset, a <meta charset>, or UTF-8."""
        charset = self.charset
        if not charset:
            match = _META_CHARSET.search(self.body[:4096])
            charset = match.group(1).decode("ascii", "replace") if match else "utf-8"
        try:
            return self.body.decode(charset, errors="replace")
        except LookupError:
            return self.body.decode("utf-8", errors="replace")


def address_kind(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str | None:
    """'loopback', 'link-local', 'private' or 'reserved' for addresses that must not be fetched, else None."""
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    if ip.is_loopback:
        return "loopback"
    if ip.is_link_local:
        return "link-local"
    if ip.is_private:
        return "private"
    if ip.is_reserved or ip.is_multicast or ip.is_unspecified:
        return "reserved"
    return None


def _refusal(host: str, ip: object, kind: str) -> str:
    return (
        f"the host {host!r} resolves to {ip}, a {kind} address; refused "
        "(whoever runs newsqa can allow your own network with --allow-private-urls "
        "or the allow_private_urls setting)"
    )


def vet_host(host: str) -> tuple[str | None, str | None]:
    """(why the host may not be fetched, None) when any address it resolves to is loopback, private or
    link-local; else (None, the address to connect to). The request then goes to that very address, so a
    second lookup (DNS rebinding) cannot send it elsewhere."""
    try:
        infos = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError) as exc:
        return f"cannot resolve the host {host!r} ({exc})", None
    first: str | None = None
    for info in infos:
        ip = ipaddress.ip_address(str(info[4][0]).split("%", 1)[0])
        kind = address_kind(ip)
        if kind:
            return _refusal(host, ip, kind), None
        first = first or str(ip)
    return None, first


def pinned(url: str, ip: str) -> tuple[str, dict[str, str], dict[str, str]]:
    """The url with its host replaced by the vetted address, the Host header and the TLS name to keep."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    address = f"[{ip}]" if ":" in ip else ip
    netloc = f"{address}:{parts.port}" if parts.port else address
    host_header = f"{host}:{parts.port}" if parts.port else host
    return urlunsplit(parts._replace(netloc=netloc)), {"Host": host_header}, {"sni_hostname": host}


def peer_problem(response: httpx.Response, host: str) -> str | None:
    """Why the address actually connected to is refused (a host re-resolved to a private one), else None."""
    stream = response.extensions.get("network_stream")
    peer = stream.get_extra_info("server_addr") if stream is not None else None
    if not peer:
        return None
    ip = ipaddress.ip_address(str(peer[0]).split("%", 1)[0])
    kind = address_kind(ip)
    return _refusal(host, ip, kind) if kind else None


def check_url(url: str, allow_private: bool) -> str | None:
    """Raise InputError unless the url is http(s) with a host that may be fetched; the vetted address to
    connect to (None when private addresses are allowed: then any address may be used)."""
    parts = urlsplit(url)
    if parts.scheme.lower() not in {"http", "https"}:
        scheme = parts.scheme or "no scheme"
        raise InputError(url, f"only http:// and https:// urls can be fetched ({scheme} given)")
    if not parts.hostname:
        raise InputError(url, "the url has no host name")
    if allow_private:
        return None
    problem, ip = vet_host(parts.hostname)
    if problem:
        raise InputError(url, problem)
    return ip


class Fetcher:
    """GETs pages and feeds politely: timeouts, size cap, user agent, retries with backoff on 429/5xx."""

    def __init__(
        self,
        settings: Settings,
        retries: int = 2,
        backoff: float = 1.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.allow_private = settings.allow_private_urls
        self.timeout = settings.fetch_timeout
        self.max_bytes = settings.fetch_max_bytes
        self.retries = retries
        self.backoff = backoff
        self.sleep = sleep
        self._last = ""  # what went wrong on the latest attempt, for the final message
        self.client = httpx.Client(
            timeout=httpx.Timeout(self.timeout),
            follow_redirects=False,  # every hop is checked against the address rules
            headers={"User-Agent": user_agent(), "Accept-Encoding": "gzip, deflate"},
        )

    def close(self) -> None:
        """Release the connection pool."""
        self.client.close()

    def __enter__(self) -> Fetcher:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def fetch(
        self,
        url: str,
        accept: Collection[str] = HTML_TYPES,
        etag: str | None = None,
        last_modified: str | None = None,
    ) -> FetchResult:
        """GET url; InputError names the url and the problem (refused, failed, too big, wrong type)."""
        headers = {"Accept": ", ".join([*sorted(accept), "*/*;q=0.1"])}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        for attempt in range(self.retries + 1):
            result, retry_after = self._attempt(url, headers, accept)
            if result is not None:
                return result
            if attempt == self.retries:
                break
            wait = min(retry_after if retry_after is not None else self.backoff * 2**attempt, MAX_RETRY_AFTER)
            log.info("%s: %s, retrying in %.1fs", url, self._last, wait)
            self.sleep(wait)
        raise InputError(url, f"the server kept failing after {self.retries + 1} attempts ({self._last})")

    def _attempt(
        self, url: str, headers: dict[str, str], accept: Collection[str]
    ) -> tuple[FetchResult | None, float | None]:
        """One try (following redirects): the result, or None and the server's Retry-After if any."""
        current = url
        for _ in range(MAX_REDIRECTS + 1):
            ip = check_url(current, self.allow_private)
            target, extra, extensions = pinned(current, ip) if ip else (current, {}, {})
            started = time.monotonic()
            try:
                with self.client.stream(
                    "GET", target, headers={**headers, **extra}, extensions=extensions
                ) as response:
                    problem = (
                        None
                        if self.allow_private
                        else peer_problem(response, urlsplit(current).hostname or "")
                    )
                    if problem:  # DNS answered differently when we connected than when we checked
                        raise InputError(url, problem)
                    if response.has_redirect_location:
                        location = response.headers.get("Location", "")
                        current = urljoin(current, location)
                        continue
                    if response.status_code in RETRY_STATUSES:
                        self._last = f"HTTP {response.status_code}"
                        return None, _retry_after(response.headers.get("Retry-After"))
                    return self._read(url, response, accept, started, current), None
            except httpx.TimeoutException:
                raise InputError(
                    url, f"no answer within {self.timeout:g}s (timed out; raise fetch_timeout to wait longer)"
                ) from None
            except httpx.TransportError as exc:
                self._last = f"connection failed: {exc}"
                return None, None
        raise InputError(url, f"more than {MAX_REDIRECTS} redirects")

    def _read(
        self, url: str, response: httpx.Response, accept: Collection[str], started: float, final: str
    ) -> FetchResult:
        status = response.status_code
        media, _, params = response.headers.get("Content-Type", "").partition(";")
        media = media.strip().lower()
        charset_match = re.search(r"charset=[\"']?([\w.:-]+)", params, re.I)
        common = {
            "url": final,  # the url asked for (the request itself went to its vetted address)
            "status": status,
            "content_type": media,
            "charset": charset_match.group(1) if charset_match else None,
            "etag": response.headers.get("ETag"),
            "last_modified": response.headers.get("Last-Modified"),
        }
        if status == 304:
            return FetchResult(body=b"", **common)
        if status >= 400:
            reason = response.reason_phrase or "error"
            raise InputError(url, f"the server answered HTTP {status} {reason}")
        if media and media not in accept:
            wanted = "an HTML page" if set(accept) <= HTML_TYPES else "a page or feed"
            raise InputError(url, f"skipped: content type {media} is not {wanted}")
        declared = response.headers.get("Content-Length", "")
        if declared.isdigit() and int(declared) > self.max_bytes:
            raise InputError(url, self._too_big(int(declared)))
        body = bytearray()
        for piece in response.iter_bytes():
            body += piece
            if len(body) > self.max_bytes:
                raise InputError(url, self._too_big(None))
            if time.monotonic() - started > self.timeout:
                raise InputError(url, f"the page took longer than {self.timeout:g}s to download")
        return FetchResult(body=bytes(body), **common)

    def _too_big(self, size: int | None) -> str:
        got = f"{size} bytes" if size is not None else "more"
        return f"the page is too large ({got} > fetch_max_bytes={self.max_bytes}); skipped"


def _retry_after(value: str | None) -> float | None:
    if value and value.strip().isdigit():
        return float(value.strip())
    return None
