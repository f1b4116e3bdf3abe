"""The backend interface and registry: BackendSpec, register, build_llm, LLMBackend (chat, stream, errors)."""

from __future__ import annotations

import importlib
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

from llama_index.core.base.llms.types import ChatMessage, ChatResponse
from llama_index.core.llms import LLM

from assistant.errors import BackendError, ConfigError, NewsqaError
from assistant.settings import NO_LLM, Settings

KINDS = ("ollama", "openai", "llamacpp")  # the built-in backends, each the module of that name here
MAX_ANSWER_TOKENS = 1024


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


Factory = Callable[[BackendSpec, Settings], LLM]


@dataclass(frozen=True)
class Backend:
    """A registered backend: the factory of its llama-index LLM and how its --llm value reads."""

    name: str
    factory: Factory
    default_url: str | None  # the server when --llm-base-url is not given; None: no server url
    extra: str  # the newsqa[...] extra that installs its llama-index integration
    usage: str  # how SPEC_HELP shows it, e.g. 'ollama:MODEL'
    model_suffix: str | None  # set when MODEL is a local model file (it must end so), not a server's name
    serial: bool  # one request at a time: an in-process model is not safe to call from two threads


BACKENDS: dict[str, Backend] = {}  # the registry, by --llm name, in registration order


def register(
    name: str,
    *,
    default_url: str | None = None,
    extra: str | None = None,
    usage: str | None = None,
    model_suffix: str | None = None,
    serial: bool = False,
) -> Callable[[Factory], Factory]:
    """Decorator that makes `name:MODEL` in --llm build its LLM with the decorated factory."""
    if not name or name != name.strip().lower() or ":" in name or name in NO_LLM:
        raise ValueError(f"{name!r} cannot name an LLM backend: use a lowercase word without ':'.")

    def add(factory: Factory) -> Factory:
        if name in BACKENDS:  # two modules claiming one name is a bug, not an override
            raise ValueError(f"LLM backend {name!r} is already registered.")
        BACKENDS[name] = Backend(
            name=name,
            factory=factory,
            default_url=default_url,
            extra=extra or name,
            usage=usage or (f"{name}:/path/model{model_suffix}" if model_suffix else f"{name}:MODEL"),
            model_suffix=model_suffix.lower() if model_suffix else None,
            serial=serial,
        )
        return factory

    return add


def spec_help() -> str:
    """'Use none, ollama:MODEL, ... or llamacpp:/path/model.gguf.' over the registered backends."""
    names = [
        *(k for k in KINDS if k in BACKENDS),
        *(k for k in BACKENDS if k not in KINDS),
    ]  # built-ins first
    usages = ["none", *(BACKENDS[name].usage for name in names)]
    return f"Use {', '.join(usages[:-1])} or {usages[-1]}."


def parse_spec(spec: str, base_url: str | None = None) -> BackendSpec | None:
    """The backend a --llm value names; None for `none`. Raises ConfigError on a malformed value."""
    spec = (spec or "none").strip()
    if spec.lower() in NO_LLM:
        return None
    kind, sep, model = spec.partition(":")
    kind = kind.strip().lower()
    backend = BACKENDS.get(kind)
    if not sep or backend is None or not model.strip():
        raise ConfigError(f"--llm {spec!r} is not a backend. {spec_help()}")
    model = model.strip()
    if backend.model_suffix:
        path = Path(model).expanduser()
        if path.suffix.lower() != backend.model_suffix:
            raise ConfigError(
                f"--llm {spec!r}: {kind} needs the path of a {backend.model_suffix} model file."
            )
        return BackendSpec(kind, str(path))  # a local file: --llm-base-url does not apply
    url = base_url or backend.default_url
    if url is None:
        return BackendSpec(kind, model)
    url = url.rstrip("/")
    if not url.startswith(("http://", "https://")):
        raise ConfigError(f"--llm-base-url {url!r} must start with http:// or https://.")
    return BackendSpec(kind, model, url)


def _registered(spec: BackendSpec) -> Backend:
    backend = BACKENDS.get(spec.kind)
    if backend is None:
        raise ConfigError(f"--llm {spec.label!r} is not a backend. {spec_help()}")
    return backend


def build_llm(spec: BackendSpec, settings: Settings) -> LLM:
    """The llama-index LLM for a spec from its registered factory (timeout and context window from settings)."""
    return _registered(spec).factory(spec, settings)


def missing_extra(spec: BackendSpec, exc: ImportError) -> ConfigError:
    """The error for a backend whose llama-index integration is not installed, with the pip line that adds it."""
    return ConfigError(
        f"--llm {spec.label} needs the llama-index integration for {spec.kind} ({exc.name} is missing): "
        f"pip install 'newsqa[{_registered(spec).extra}]'."
    )


def integration(spec: BackendSpec, module: str, name: str) -> Any:
    """A llama-index integration class, imported only when its backend is built (only its users need the
    extra); a missing one is the ConfigError naming the pip line."""
    try:
        return getattr(importlib.import_module(module), name)
    except ImportError as exc:
        raise missing_extra(spec, exc) from None


def shorten(text: str, width: int = 300) -> str:
    """`text` on one line, cut to `width` characters for an error message."""
    text = " ".join(text.split())
    return text if len(text) <= width else text[:width] + "…"


class LLMBackend:
    """One configured LLM, called through its llama-index integration; every failure is a BackendError."""

    def __init__(self, spec: BackendSpec, settings: Settings) -> None:
        self.spec = spec
        self.settings = settings
        backend = BACKENDS.get(spec.kind)
        self._lock = threading.Lock() if backend is not None and backend.serial else None

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
        return self._lock if self._lock is not None else _NoLock()

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
            what = f"returned HTTP {status}: {shorten(text)}"
        else:
            what = f"failed: {name}: {shorten(text)}"
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
