"""The llamacpp:/path/model.gguf backend: a local GGUF model in-process through llama-index's LlamaCPP."""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from llama_index.core.base.llms.types import ChatMessage, ChatResponse, ChatResponseGen, MessageRole
from llama_index.core.llms import LLM

from assistant.answer.backends.base import MAX_ANSWER_TOKENS, BackendSpec, integration, register, shorten
from assistant.errors import BackendError
from assistant.settings import Settings

# Ollama's default. Without it a small model at low temperature can repeat one line until the token limit
# (SmolLM2-135M: 1024 tokens of the same line, ~50 s per answer on 2 cores, instead of stopping).
REPEAT_PENALTY = 1.1


@register("llamacpp", model_suffix=".gguf", serial=True)  # serial: one loaded model, one request at a time
def gguf_llm(spec: BackendSpec, settings: Settings) -> LLM:
    """A local GGUF model through llama-index's LlamaCPP, chatting with the template stored in the file."""
    if not Path(spec.model).is_file():
        raise BackendError(
            f"LLM backend {spec.label}: no model file at {spec.model}; give the path of a .gguf file."
        )
    llama_cpp = integration(spec, "llama_index.llms.llama_cpp", "LlamaCPP")  # loads llama-cpp-python
    limit = settings.llm_timeout

    class GGUFChat(llama_cpp):  # type: ignore[misc,valid-type]
        """LlamaCPP whose chat goes through llama.cpp's create_chat_completion (the GGUF's chat template).

        llm_timeout bounds it as it bounds an HTTP backend: the whole reply for chat, the wait for each
        piece for stream_chat; past it a TimeoutError ends generation (the caller falls back)."""

        def chat(self, messages: Sequence[ChatMessage], **kwargs: Any) -> ChatResponse:
            text = "".join(self._deltas(messages, whole=True))
            return ChatResponse(message=ChatMessage(role=MessageRole.ASSISTANT, content=text))

        def stream_chat(self, messages: Sequence[ChatMessage], **kwargs: Any) -> ChatResponseGen:
            text = ""
            for delta in self._deltas(messages, whole=False):
                text += delta
                yield ChatResponse(message=ChatMessage(role=MessageRole.ASSISTANT, content=text), delta=delta)

        def _deltas(self, messages: Sequence[ChatMessage], whole: bool) -> Iterator[str]:
            parts = self._model.create_chat_completion(
                messages=_plain(messages),
                stream=True,
                temperature=self.temperature,
                max_tokens=self.max_new_tokens,
                repeat_penalty=REPEAT_PENALTY,
            )
            started = time.monotonic()
            try:
                for part in parts:
                    if time.monotonic() - started > limit:
                        raise TimeoutError(f"generation timed out after {limit:g}s")
                    if not whole:
                        started = time.monotonic()
                    yield part["choices"][0].get("delta", {}).get("content") or ""
            finally:
                parts.close()  # stops llama.cpp generating when the caller stops reading

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
            f"LLM backend {spec.label} could not load {spec.model}: {shorten(str(exc))}."
        ) from None


def _plain(messages: Sequence[ChatMessage]) -> list[dict[str, str]]:
    return [{"role": m.role.value, "content": m.content or ""} for m in messages]
