"""LLM backends from a spec string (none | ollama:MODEL | openai:MODEL | llamacpp:/path.gguf) via llama-index."""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

from llama_index.core.base.llms.types import ChatMessage, ChatResponse, ChatResponseGen, MessageRole
from llama_index.core.llms import LLM

from assistant.errors import BackendError, ConfigError, NewsqaError
from assistant.settings import Settings

KINDS = ("ollama", "openai", "llamacpp")
DEFAULT_URLS = {"ollama": "http://127.0.0.1:11434", "openai": "https://api.openai.com/v1"}
PLACEHOLDER_KEY = "not-needed"  # local OpenAI-compatible servers accept any key; the client wants one
MAX_ANSWER_TOKENS = 1024
SPEC_HELP = "Use none, ollama:MODEL, openai:MODEL (with --llm-base-url for other servers) or llamacpp:/path/model.gguf."


@dataclass(frozen=True)
class BackendSpec:
    """A parsed --llm value: the kind of backend, its model, and where it is."""

    kind: str
    model: str
    base_url: str | None = None

    @property
    def label(self) -> str:
        """The spec as the user wrote it, e.g. 'ollama:llama3.1'."""
        return f"{self.kind}:{self.model}"

    @property
    def where(self) -> str:
        """The server url, or the model file for llama.cpp."""
        return self.base_url or self.model

    @property
    def describe(self) -> str:
        """'openai:MODEL at URL' for messages."""
        return f"{self.label} at {self.where}"


def parse_spec(spec: str, base_url: str | None = None) -> BackendSpec | None:
    """The backend a --llm value names; None for `none`. Raises ConfigError on a malformed value."""
    spec = (spec or "none").strip()
    if spec.lower() in {"none", "", "extractive"}:
        return None
    kind, sep, model = spec.partition(":")
    kind = kind.strip().lower()
    if not sep or kind not in KINDS or not model.strip():
        raise ConfigError(f"--llm {spec!r} is not a backend. {SPEC_HELP}")
    model = model.strip()
    if kind == "llamacpp":
        path = Path(model).expanduser()
        if path.suffix.lower() != ".gguf":
            raise ConfigError(f"--llm {spec!r}: llamacpp needs the path of a .gguf model file.")
        return BackendSpec(kind, str(path))
    url = (base_url or DEFAULT_URLS[kind]).rstrip("/")
    if not url.startswith(("http://", "https://")):
        raise ConfigError(f"--llm-base-url {url!r} must start with http:// or https://.")
    return BackendSpec(kind, model, url)


class LLMBackend:
    """One configured LLM, called through its llama-index integration; every failure is a BackendError."""

    def __init__(self, spec: BackendSpec, settings: Settings) -> None:
        self.spec = spec
        self.settings = settings
        self._lock = threading.Lock()  # a local llama.cpp model serves one request at a time

    @cached_property
    def llm(self) -> LLM:
        """The llama-index LLM object (built on first use)."""
        return build_llm(self.spec, self.settings)

    def chat(self, messages: Sequence[ChatMessage]) -> str:
        """The model's whole reply (one non-streaming request)."""
        try:
            with self._guard():
                response = self.llm.chat(list(messages))
        except NewsqaError:
            raise
        except Exception as exc:
            raise self.error(exc) from None
        return response.message.content or ""

    def stream(self, messages: Sequence[ChatMessage]) -> Iterator[str]:
        """The model's reply as text deltas (one streaming request)."""
        try:
            with self._guard():
                seen = ""
                for chunk in self.llm.stream_chat(list(messages)):
                    delta = _delta(chunk, seen)
                    seen += delta
                    if delta:
                        yield delta
        except NewsqaError:
            raise
        except Exception as exc:
            raise self.error(exc) from None

    def _guard(self) -> Any:
        return self._lock if self.spec.kind == "llamacpp" else _NoLock()

    def error(self, exc: BaseException) -> BackendError:
        """A BackendError naming the backend and its url, with what to do (the API key never appears)."""
        name = type(exc).__name__
        text = str(exc)
        status = getattr(exc, "status_code", None)
        if "Timeout" in name or "timed out" in text.lower():
            what = f"did not answer within {self.settings.llm_timeout:g}s (raise llm_timeout / NEWSQA_LLM_TIMEOUT)"
        elif "Connect" in name or "connection" in text.lower() or isinstance(exc, ConnectionError):
            what = "is unreachable (connection refused or no route); start the server or fix --llm-base-url"
        elif status in (401, 403):
            what = f"refused the request (HTTP {status}); set a valid key in NEWSQA_LLM_API_KEY"
        elif status == 404:
            what = f"does not know model {self.spec.model!r} (HTTP 404); check the model name"
        elif status is not None:
            what = f"returned HTTP {status}: {_short(text)}"
        else:
            what = f"failed: {name}: {_short(text)}"
        message = f"LLM backend {self.spec.describe} {what}."
        key = self.settings.llm_api_key
        if key:
            message = message.replace(key, "***")
        return BackendError(message)


class _NoLock:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *_: object) -> None:
        return None


def _delta(chunk: ChatResponse, seen: str) -> str:
    if chunk.delta is not None:
        return chunk.delta
    content = chunk.message.content or ""
    return content[len(seen) :] if content.startswith(seen) else content


def _short(text: str, width: int = 300) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[:width] + "…"


def _missing_extra(spec: BackendSpec, extra: str, exc: ImportError) -> ConfigError:
    return ConfigError(
        f"--llm {spec.label} needs the llama-index integration for {spec.kind} ({exc.name} is missing): "
        f"pip install 'newsqa[{extra}]'."
    )


def build_llm(spec: BackendSpec, settings: Settings) -> LLM:
    """The llama-index LLM for a spec, with the timeout and context window from settings."""
    if spec.kind == "ollama":
        try:
            from llama_index.llms.ollama import Ollama
        except ImportError as exc:
            raise _missing_extra(spec, "ollama", exc) from None
        return Ollama(
            model=spec.model,
            base_url=spec.where,
            request_timeout=settings.llm_timeout,
            context_window=settings.llm_context_window,
            temperature=0.1,
            keep_alive="5m",
        )
    if spec.kind == "openai":
        try:
            from llama_index.llms.openai_like import OpenAILike
        except ImportError as exc:
            raise _missing_extra(spec, "openai", exc) from None
        return OpenAILike(
            model=spec.model,
            api_base=spec.where,
            api_key=settings.llm_api_key or PLACEHOLDER_KEY,
            timeout=settings.llm_timeout,
            max_retries=0,
            context_window=settings.llm_context_window,
            is_chat_model=True,
            temperature=0.1,
            max_tokens=MAX_ANSWER_TOKENS,
        )
    return _gguf_llm(spec, settings)


def _gguf_llm(spec: BackendSpec, settings: Settings) -> LLM:
    """A local GGUF model through llama-index's LlamaCPP, chatting with the template stored in the file."""
    if not Path(spec.model).is_file():
        raise BackendError(
            f"LLM backend {spec.label}: no model file at {spec.model}; give the path of a .gguf file."
        )
    try:
        from llama_index.llms.llama_cpp import LlamaCPP
    except ImportError as exc:
        raise _missing_extra(spec, "llamacpp", exc) from None

    class GGUFChat(LlamaCPP):
        """LlamaCPP whose chat goes through llama.cpp's create_chat_completion (the GGUF's chat template)."""

        def chat(self, messages: Sequence[ChatMessage], **kwargs: Any) -> ChatResponse:
            out = self._model.create_chat_completion(messages=_plain(messages), **self._gen())
            return ChatResponse(message=ChatMessage(role=MessageRole.ASSISTANT, content=_choice(out)))

        def stream_chat(self, messages: Sequence[ChatMessage], **kwargs: Any) -> ChatResponseGen:
            text = ""
            for part in self._model.create_chat_completion(
                messages=_plain(messages), stream=True, **self._gen()
            ):
                delta = part["choices"][0].get("delta", {}).get("content") or ""
                text += delta
                yield ChatResponse(message=ChatMessage(role=MessageRole.ASSISTANT, content=text), delta=delta)

        def _gen(self) -> dict[str, Any]:
            return {"temperature": self.temperature, "max_tokens": self.max_new_tokens}

    try:
        return GGUFChat(
            model_url=None,
            model_path=spec.model,
            context_window=settings.llm_context_window,
            max_new_tokens=MAX_ANSWER_TOKENS,
            temperature=0.1,
            model_kwargs={"verbose": False},
        )
    except Exception as exc:
        raise BackendError(
            f"LLM backend {spec.label} could not load {spec.model}: {_short(str(exc))}."
        ) from None


def _plain(messages: Sequence[ChatMessage]) -> list[dict[str, str]]:
    return [{"role": m.role.value, "content": m.content or ""} for m in messages]


def _choice(out: Any) -> str:
    return str(out["choices"][0]["message"]["content"] or "")
