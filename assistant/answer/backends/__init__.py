"""LLM backends behind one interface: a registry maps each --llm name (ollama, openai, llamacpp, ...) to a
factory `(BackendSpec, Settings) -> llama-index LLM`; `parse_spec` reads `name:MODEL` against it, `build_llm`
builds through it, and `LLMBackend` wraps the result (chat, stream, every failure a BackendError). A backend is
one module in this package that calls `register`; the built-in ones are listed in KINDS and loaded below, and
each imports its llama-index integration (llama_index.llms.*) only inside its factory, when it is built."""

from __future__ import annotations

from assistant.answer.backends.base import (
    BACKENDS,
    KINDS,
    MAX_ANSWER_TOKENS,
    NO_LLM,
    Backend,
    BackendSpec,
    LLMBackend,
    build_llm,
    missing_extra,
    parse_spec,
    register,
    shorten,
    spec_help,
)

__all__ = [
    "BACKENDS",
    "DEFAULT_URLS",
    "KINDS",
    "MAX_ANSWER_TOKENS",
    "NO_LLM",
    "PLACEHOLDER_KEY",
    "SPEC_HELP",
    "Backend",
    "BackendSpec",
    "LLMBackend",
    "build_llm",
    "missing_extra",
    "parse_spec",
    "register",
    "shorten",
    "spec_help",
]

# The built-in backends register themselves on import (SPEC_HELP lists them in KINDS order).
# Loading them here is cheap: each imports its llama-index integration only inside its factory. It keeps
# SPEC_HELP, DEFAULT_URLS and PLACEHOLDER_KEY plain constants, as they were before the registry.
from assistant.answer.backends import (
    llamacpp,  # noqa: F401
    ollama,  # noqa: F401
    openai,  # noqa: F401
)
from assistant.answer.backends.openai import PLACEHOLDER_KEY

SPEC_HELP = spec_help()  # the built-ins; messages call spec_help() so that later registrations show too
DEFAULT_URLS = {kind: url for kind in KINDS if (url := BACKENDS[kind].default_url)}
