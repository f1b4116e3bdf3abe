"""The ollama:MODEL backend: an Ollama server's /api/chat through llama-index's Ollama integration."""

from __future__ import annotations

from llama_index.core.llms import LLM

from assistant.answer.backends.base import BackendSpec, integration, register
from assistant.settings import Settings


@register("ollama", default_url="http://127.0.0.1:11434")
def ollama_llm(spec: BackendSpec, settings: Settings) -> LLM:
    """llama-index's Ollama client for the spec's model and server, with the timeout and context window."""
    ollama = integration(spec, "llama_index.llms.ollama", "Ollama")
    return ollama(
        model=spec.model,
        base_url=spec.where,
        request_timeout=settings.llm_timeout,
        context_window=settings.llm_context_window,
        temperature=0.1,
        keep_alive="5m",
    )
