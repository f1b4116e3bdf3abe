"""The llamacpp:/path/model.gguf backend: a local GGUF model in-process through llama-index's LlamaCPP."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from llama_index.core.base.llms.types import ChatMessage, ChatResponse, ChatResponseGen, MessageRole
from llama_index.core.llms import LLM

from assistant.answer.backends.base import MAX_ANSWER_TOKENS, BackendSpec, integration, register, shorten
from assistant.errors import BackendError
from assistant.settings import Settings


@register("llamacpp", model_suffix=".gguf", serial=True)  # serial: one loaded model, one request at a time
def gguf_llm(spec: BackendSpec, settings: Settings) -> LLM:
    """A local GGUF model through llama-index's LlamaCPP, chatting with the template stored in the file."""
    if not Path(spec.model).is_file():
        raise BackendError(
            f"LLM backend {spec.label}: no model file at {spec.model}; give the path of a .gguf file."
        )
    llama_cpp = integration(spec, "llama_index.llms.llama_cpp", "LlamaCPP")  # loads llama-cpp-python

    class GGUFChat(llama_cpp):  # type: ignore[misc,valid-type]
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
            f"LLM backend {spec.label} could not load {spec.model}: {shorten(str(exc))}."
        ) from None


def _plain(messages: Sequence[ChatMessage]) -> list[dict[str, str]]:
    return [{"role": m.role.value, "content": m.content or ""} for m in messages]


def _choice(out: Any) -> str:
    return str(out["choices"][0]["message"]["content"] or "")
