"""The openai:MODEL backend: OpenAI, or any OpenAI-compatible server, through llama-index's OpenAILike."""

from __future__ import annotations

from llama_index.core.llms import LLM

from assistant.answer.backends.base import MAX_ANSWER_TOKENS, BackendSpec, integration, register
from assistant.settings import Settings

PLACEHOLDER_KEY = "not-needed"  # local OpenAI-compatible servers accept any key; the client wants one


@register(
    "openai",
    default_url="https://api.openai.com/v1",
    usage="openai:MODEL (with --llm-base-url for other servers)",
)
def openai_llm(spec: BackendSpec, settings: Settings) -> LLM:
    """llama-index's OpenAILike client for the spec's model and server (no retries: we fall back instead)."""
    # OpenAILike, not OpenAI: it takes any model name, so vLLM, llama-server, LM Studio... work too
    openai_like = integration(spec, "llama_index.llms.openai_like", "OpenAILike")
    return openai_like(
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
