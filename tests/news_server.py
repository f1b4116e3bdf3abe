"""A real HTTP server on 127.0.0.1 serving feeds and article pages for the tests, with request counts."""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

# Two short sample stories the feed, web and watch tests serve.
RATES = [
    "The central bank held its main interest rate at 4.5 percent on Thursday.",
    "Policymakers said inflation was easing but remained above the two percent target.",
]
FLOODS = [
    "Heavy rain flooded the lower town overnight and forced two hundred families from their homes.",
    "The river peaked at six metres shortly after midnight, the fire service said.",
]


@dataclass
class Route:
    """What one path answers."""

    body: bytes | str = b""
    content_type: str = "text/html; charset=utf-8"
    status: int = 200
    delay: float = 0.0
    etag: str | None = None
    last_modified: str | None = None
    send_length: bool = True
    fail_first: int = 0  # answer 503 to this many requests before the real answer
    headers: dict[str, str] = field(default_factory=dict)


class NewsServer:
    """Routes by path; counts requests, 304s and body bytes sent per path."""

    def __init__(self) -> None:
        self.routes: dict[str, Route] = {}
        self.hits: Counter[str] = Counter()
        self.not_modified: Counter[str] = Counter()
        self.bytes_sent: Counter[str] = Counter()
        self.user_agents: list[str] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *_args: object) -> None:
                pass

            def do_GET(self) -> None:
                server.handle(self)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def base(self) -> str:
        """http://127.0.0.1:PORT"""
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def url(self, path: str) -> str:
        """Absolute url of a path on this server."""
        return self.base + path

    def add(self, path: str, body: bytes | str = b"", **kwargs: object) -> str:
        """Serve body at path; returns the absolute url."""
        self.routes[path] = Route(body=body, **kwargs)  # type: ignore[arg-type]
        return self.url(path)

    def handle(self, req: BaseHTTPRequestHandler) -> None:
        """Answer one request from the routes."""
        path = req.path
        self.hits[path] += 1
        self.user_agents.append(req.headers.get("User-Agent", ""))
        route = self.routes.get(path)
        if route is None:
            self._send(req, path, 404, "text/html", b"<html><body><h1>Not found</h1></body></html>", True)
            return
        if route.delay:
            time.sleep(route.delay)
        if route.fail_first > 0:
            route.fail_first -= 1
            self._send(req, path, 503, "text/plain", b"busy", True, {"Retry-After": "0"})
            return
        validators = {"ETag": route.etag or "", "Last-Modified": route.last_modified or ""}
        validators = {k: v for k, v in validators.items() if v}
        etag_hit = route.etag and req.headers.get("If-None-Match") == route.etag
        date_hit = route.last_modified and req.headers.get("If-Modified-Since") == route.last_modified
        if etag_hit or date_hit:
            self.not_modified[path] += 1
            self._send(req, path, 304, None, b"", False, validators)
            return
        body = route.body.encode("utf-8") if isinstance(route.body, str) else route.body
        headers = {**validators, **route.headers}
        self._send(req, path, route.status, route.content_type, body, route.send_length, headers)

    def _send(
        self,
        req: BaseHTTPRequestHandler,
        path: str,
        status: int,
        content_type: str | None,
        body: bytes,
        send_length: bool,
        headers: dict[str, str] | None = None,
    ) -> None:
        req.send_response(status)
        if content_type:
            req.send_header("Content-Type", content_type)
        if send_length:
            req.send_header("Content-Length", str(len(body)))
        req.send_header("Connection", "close")
        for key, value in (headers or {}).items():
            req.send_header(key, value)
        req.end_headers()
        try:
            req.wfile.write(body)
            self.bytes_sent[path] += len(body)
        except (BrokenPipeError, ConnectionResetError):
            pass

    def __enter__(self) -> NewsServer:
        self.thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def serve() -> Iterator[NewsServer]:
    """A started server, shut down afterwards (for a pytest fixture)."""
    with NewsServer() as server:
        yield server


def page(title: str, paragraphs: list[str], site: str, date: str = "2024-05-02", author: str = "") -> str:
    """An article page wrapped in furniture: nav, cookie banner, share bar, comment form, footer."""
    body = "\n".join(f"<p>{p}</p>" for p in paragraphs)
    byline = f'<meta name="author" content="{author}">' if author else ""
    dated = f'<meta property="article:published_time" content="{date}T08:00:00Z">' if date else ""
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{title} | {site}</title>
<meta property="og:site_name" content="{site}"><meta property="og:title" content="{title}">
{dated}{byline}</head>
<body>
<nav><ul><li><a href="/">Home</a></li><li><a href="/world">World</a></li><li><a href="/sport">Sport</a></li></ul></nav>
<div id="cookie-banner" class="cookie-consent"><p>We use cookies to improve your experience.</p>
<button>Accept all cookies</button></div>
<main><article><h1>{title}</h1>
<div class="share-bar"><a href="#">Share on Facebook</a> <a href="#">Tweet</a> <a href="#">Email</a></div>
{body}
</article></main>
<section id="comments"><h3>Leave a Reply</h3>
<form><p>Your email address will not be published. Required fields are marked *</p>
<textarea name="comment"></textarea><button>Post Comment</button></form></section>
<footer><p>© 2024 {site}. All rights reserved.</p></footer>
</body></html>"""


def rss(title: str, items: list[dict[str, str]], version: str = "2.0") -> str:
    """An RSS 2.0 document with the given items (title, link, description, pubDate, author)."""
    xml_items = "".join(
        "<item>"
        + "".join(f"<{k}>{v}</{k}>" for k, v in item.items() if k != "guid")
        + (f"<guid>{item['guid']}</guid>" if "guid" in item else "")
        + "</item>"
        for item in items
    )
    return (
        f'<?xml version="1.0" encoding="utf-8"?><rss version="{version}"><channel><title>{title}</title>'
        f"<link>http://example.invalid/</link><description>{title}</description>{xml_items}</channel></rss>"
    )


def atom(title: str, entries: list[dict[str, str]]) -> str:
    """An Atom 1.0 feed with the given entries (title, link, summary, updated, author, id)."""
    parts = []
    for e in entries:
        parts.append(
            f'<entry><title>{e["title"]}</title><link href="{e["link"]}"/><id>{e.get("id", e["link"])}</id>'
            f"<updated>{e['updated']}</updated><summary>{e.get('summary', '')}</summary>"
            + (f"<author><name>{e['author']}</name></author>" if e.get("author") else "")
            + "</entry>"
        )
    return (
        '<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom">'
        f"<title>{title}</title><id>urn:test:{title}</id><updated>2024-05-02T10:00:00Z</updated>"
        + "".join(parts)
        + "</feed>"
    )
