"""Scripted LLM servers on 127.0.0.1 speaking the real wire protocols (OpenAI chat completions, Ollama /api/chat)."""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

Reply = Callable[[dict[str, Any]], str]


@dataclass
class Recorded:
    """One request the server received."""

    path: str
    headers: dict[str, str]
    body: dict[str, Any]

    @property
    def text(self) -> str:
        """All message contents, joined."""
        return "\n".join(str(m.get("content", "")) for m in self.body.get("messages", []))


@dataclass
class ScriptedLLM:
    """A threaded HTTP server that answers chat requests from a script and records every request."""

    protocol: str  # "openai" or "ollama"
    reply: Reply
    delay: float = 0.0  # seconds to wait before answering (to trigger client timeouts)
    status: int = 200  # answer every request with this HTTP status (errors carry a JSON body)
    requests: list[Recorded] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self.server.daemon_threads = True
        self.server.handle_error = lambda *_: None  # type: ignore[method-assign]  # clients that gave up
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        """The base url a client is configured with."""
        root = f"http://127.0.0.1:{self.server.server_address[1]}"
        return root + "/v1" if self.protocol == "openai" else root

    def __enter__(self) -> ScriptedLLM:
        self.thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.server.shutdown()
        self.server.server_close()


def pieces(text: str) -> list[str]:
    """The text cut into word-sized stream deltas."""
    return re.findall(r"\S+\s*|\s+", text)


def _handler(llm: ScriptedLLM) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *_: Any) -> None:
            return None

        def do_GET(self) -> None:
            self._json(404, {"error": "not found"})

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = json.loads(self.rfile.read(length) or b"{}")
            llm.requests.append(Recorded(self.path, {k.lower(): v for k, v in self.headers.items()}, body))
            if llm.delay:
                time.sleep(llm.delay)
            if llm.status != 200:
                self._json(llm.status, {"error": {"message": "scripted failure", "type": "server_error"}})
                return
            expected = "/v1/chat/completions" if llm.protocol == "openai" else "/api/chat"
            if self.path != expected:
                self._json(404, {"error": f"unknown path {self.path}"})
                return
            try:
                text = llm.reply(body)
            except Exception as exc:  # a script error shows up as an HTTP 500 naming it
                self._json(500, {"error": {"message": f"script failed: {exc!r}", "type": "script_error"}})
                return
            model = body.get("model", "m")
            if llm.protocol == "openai":
                self._openai(text, model, bool(body.get("stream")))
            else:
                self._ollama(text, model, body.get("stream", True) is not False)

        def _json(self, status: int, payload: dict[str, Any]) -> None:
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _chunked(self, content_type: str, parts: list[bytes]) -> None:
            self.send_response(200)
            self.send_header("Content-Type", content_type)
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for part in parts:
                self.wfile.write(f"{len(part):x}\r\n".encode() + part + b"\r\n")
                self.wfile.flush()
            self.wfile.write(b"0\r\n\r\n")

        def _openai(self, text: str, model: str, stream: bool) -> None:
            base = {"id": "chatcmpl-test", "created": int(time.time()), "model": model}
            if not stream:
                message = {"role": "assistant", "content": text}
                choice = {"index": 0, "message": message, "finish_reason": "stop"}
                usage = {"prompt_tokens": 10, "completion_tokens": 10, "total_tokens": 20}
                self._json(200, {**base, "object": "chat.completion", "choices": [choice], "usage": usage})
                return
            events = []
            for i, piece in enumerate(pieces(text)):
                delta = {"role": "assistant", "content": piece} if i == 0 else {"content": piece}
                choice = {"index": 0, "delta": delta, "finish_reason": None}
                events.append({**base, "object": "chat.completion.chunk", "choices": [choice]})
            end = {"index": 0, "delta": {}, "finish_reason": "stop"}
            events.append({**base, "object": "chat.completion.chunk", "choices": [end]})
            parts = [f"data: {json.dumps(e)}\n\n".encode() for e in events] + [b"data: [DONE]\n\n"]
            self._chunked("text/event-stream", parts)

        def _ollama(self, text: str, model: str, stream: bool) -> None:
            stamp = "2026-01-01T00:00:00Z"
            done = {"model": model, "created_at": stamp, "done": True, "done_reason": "stop"}
            done |= {"total_duration": 1, "prompt_eval_count": 10, "eval_count": 10}
            if not stream:
                self._json(200, {**done, "message": {"role": "assistant", "content": text}})
                return
            lines = [
                {
                    "model": model,
                    "created_at": stamp,
                    "message": {"role": "assistant", "content": p},
                    "done": False,
                }
                for p in pieces(text)
            ]
            lines.append({**done, "message": {"role": "assistant", "content": ""}})
            self._chunked("application/x-ndjson", [(json.dumps(x) + "\n").encode() for x in lines])

    return Handler


def sources_in(body: dict[str, Any]) -> dict[int, str]:
    """The numbered sources of an answer request: number -> its block of text."""
    user = str(body["messages"][-1]["content"])
    blocks = re.split(r"\n(?=\[\d+\] )", user)
    found = {}
    for block in blocks:
        m = re.match(r"(?:Sources:\s*)?\[(\d+)\] ", block.strip())
        if m:
            found[int(m.group(1))] = block
    return found


def source_with(body: dict[str, Any], needle: str, without: bool = False) -> int:
    """The number of the first source containing (or, with without=True, lacking) `needle`."""
    for n, block in sources_in(body).items():
        if (needle.lower() in block.lower()) != without:
            return n
    raise AssertionError(f"no source {'without' if without else 'with'} {needle!r} in the request")
