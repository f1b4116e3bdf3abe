"""One typed Settings object: defaults < config file < NEWSQA_* environment < CLI flags."""

from __future__ import annotations

import dataclasses
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, get_type_hints

from assistant.errors import ConfigError

PROJECT_ROOT = Path(__file__).resolve().parent.parent
ENV_PREFIX = "NEWSQA_"
DEFAULT_CONFIG_NAMES = ("newsqa.toml",)


NO_LLM = frozenset({"none", "", "extractive"})  # --llm values meaning the extractive answer only


def default_prompts_dir() -> Path:
    """prompts/ of the checkout when running from one (where people edit them), else the copy installed
    inside the package (a wheel, pip install ., pipx)."""
    checkout = PROJECT_ROOT / "prompts"
    return checkout if checkout.is_dir() else Path(__file__).resolve().parent / "prompts"


@dataclass(frozen=True)
class Settings:
    """Everything configurable, resolved once and passed down."""

    index: Path = Path("index")  # ./index in the directory newsqa runs in
    chroma_url: str | None = None
    collection: str = "news"
    embedder: str | None = None  # path of a sentence-transformers model; None = the packaged MiniLM
    embed_batch_size: int = 64
    embed_device: str = "cpu"
    embed_backend: str = "onnx"  # onnx | onnx-int8 | torch (assistant/embedding)
    cache_dir: Path = field(default_factory=lambda: Path.home() / ".cache" / "newsqa")  # ONNX exports
    chunk_size: int = 250  # word pieces, header included; MiniLM reads at most 256 with [CLS]/[SEP]
    chunk_overlap: int = 32
    k: int = 5
    as_of: str | None = None  # answer as of this date/time (default: now); later articles are not used
    max_answer_sentences: int = 3
    min_relevance: float = 0.4  # extractive answer score below which we abstain
    reranker: str | None = None
    llm: str = "none"
    llm_base_url: str | None = None
    llm_api_key: str | None = field(default=None, repr=False)
    llm_timeout: float = 60.0
    llm_context_window: int = 8192
    llm_source_chars: int = 250  # each source given to the LLM: its best sentences and neighbours (0: whole)
    prompts_dir: Path = field(default_factory=lambda: default_prompts_dir())
    host: str = "127.0.0.1"
    port: int = 7860
    auth: str | None = field(default=None, repr=False)
    max_upload_mb: int = 50
    feeds: tuple[str, ...] = ()
    allow_private_urls: bool = False
    fetch_timeout: float = 15.0
    fetch_max_bytes: int = 5_000_000
    progress: bool = True
    # chunks per Chroma collection before the next part starts; 0: one collection, the default since
    # parts showed no ingest gain up to 390k chunks and cost search time (docs/SCALING.md, "Parts")
    part_chunks: int = 0
    lock_timeout: float = 600.0  # seconds a writer waits for another process writing to the same index
    max_article_chars: int = 2_000_000  # an article body longer than this is a named failure, not a stall
    max_file_mb: int = 200  # a file larger than this is a named failure
    max_article_seconds: float = 300.0  # an article expected to take longer to index is a named failure

    @property
    def uses_llm(self) -> bool:
        """Whether an LLM backend is configured (else the extractive answer)."""
        return (self.llm or "").strip().lower() not in NO_LLM

    @classmethod
    def load(
        cls,
        config: str | Path | None = None,
        env: Mapping[str, str] | None = None,
        **overrides: Any,
    ) -> Settings:
        """Resolve settings from defaults, a TOML file, NEWSQA_* variables and explicit overrides."""
        env = os.environ if env is None else env
        values: dict[str, Any] = {}
        path = Path(config) if config else _default_config(env)
        if path is not None:
            values.update(_read_config(path))
        for f in fields(cls):
            key = ENV_PREFIX + f.name.upper()
            if key in env and env[key] != "":
                values[f.name] = env[key]
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls.from_mapping(values)

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any]) -> Settings:
        """Build Settings from loosely typed values (strings from env, TOML values), converting types."""
        hints = get_type_hints(cls)
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ConfigError(
                f"Unknown setting(s): {', '.join(unknown)}. Known settings: {', '.join(sorted(known))}."
            )
        converted = {name: _convert(name, value, hints[name]) for name, value in values.items()}
        return cls(**converted)

    def replace(self, **changes: Any) -> Settings:
        """A copy with some fields changed (None values are ignored)."""
        return dataclasses.replace(self, **{k: v for k, v in changes.items() if v is not None})


def _default_config(env: Mapping[str, str]) -> Path | None:
    explicit = env.get(ENV_PREFIX + "CONFIG")
    if explicit:
        return Path(explicit)
    for name in DEFAULT_CONFIG_NAMES:
        candidate = Path.cwd() / name
        if candidate.is_file():
            return candidate
    return None


def _read_config(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as fh:
            data = tomllib.load(fh)
    except FileNotFoundError:
        raise ConfigError(f"Config file {path} does not exist. Create it or drop --config.") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"Config file {path} is not valid TOML: {exc}. Fix the file and retry.") from None
    section = data.get("newsqa", data)
    if not isinstance(section, dict):
        raise ConfigError(f"Config file {path}: expected a [newsqa] table of settings.")
    return {k.replace("-", "_"): v for k, v in section.items()}


def _convert(name: str, value: Any, hint: Any) -> Any:
    text = str(hint)
    try:
        if value is None:
            return None
        if "Path" in text:
            return Path(value).expanduser()
        if "bool" in text:
            if isinstance(value, bool):
                return value
            lowered = str(value).strip().lower()
            if lowered in {"1", "true", "yes", "on"}:
                return True
            if lowered in {"0", "false", "no", "off"}:
                return False
            raise ValueError(f"not a boolean: {value!r}")
        if "tuple" in text:
            if isinstance(value, str):
                return tuple(v.strip() for v in value.split(",") if v.strip())
            return tuple(str(v) for v in value)
        if "float" in text:
            return float(value)
        if "int" in text:
            return int(value)
        return str(value)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"Setting {name!r} has an invalid value {value!r}: {exc}.") from None
