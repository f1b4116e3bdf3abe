"""Every command-line flag of `newsqa` and `python ui.py`, defined once, and two adapters.

`FLAGS` is one table (in the spirit of datasette's settings table): each row names a flag, the Settings
field it sets, its type and help. `click_options(scope)` decorates a click command with the rows of a
scope (`cli` takes "global", `serve` takes "serve"); `add_arguments(parser, scope)` adds the same rows to
an argparse parser (ui.py takes both scopes). Parsed values from either become Settings the same way,
through `overrides` / `load`: defaults < config file < NEWSQA_* < flags.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, TypeVar

import click

from assistant.settings import ENV_PREFIX, Settings

if TYPE_CHECKING:
    import argparse

F = TypeVar("F", bound=Callable[..., Any])
Scope = Literal["global", "serve"]
CONFIG = "config"  # the one flag that is not a Settings field: the TOML file Settings.load reads first


@dataclass(frozen=True)
class Flag:
    """One command-line flag: `--name VALUE` (or a bare switch when is_flag) setting Settings.<setting>."""

    name: str  # "--chroma-url"
    setting: str  # the Settings field it sets (or CONFIG); also the parameter name in both parsers
    text: str  # what it does, without the trailing period or the [default; env] note
    scope: Scope = "global"  # "global": newsqa's group options; "serve": `newsqa serve`'s own
    type: click.ParamType = click.STRING  # converts the text (argparse gets it wrapped)
    default: str | None = None  # the default as the help shows it (the value itself lives in Settings)
    note: str | None = None  # more for the bracket after the env variable
    metavar: str | None = None
    is_flag: bool = False  # a switch: given means True, absent means "the setting decides"

    @property
    def env(self) -> str:
        return ENV_PREFIX + self.setting.upper()

    @property
    def help(self) -> str:
        """`text [default: ...; env NEWSQA_...; note].`, the same in `newsqa --help` and `ui.py --help`."""
        default = f"default: {self.default}" if self.default else None
        bracket = "; ".join(part for part in (default, f"env {self.env}", self.note) if part)
        return f"{self.text} [{bracket}]."


FLAGS: tuple[Flag, ...] = (
    Flag(
        "--index",
        "index",
        "Folder of the local Chroma index",
        type=click.Path(file_okay=False, path_type=Path),
        default="./index",
    ),
    Flag("--chroma-url", "chroma_url", "Use a Chroma server instead, e.g. http://127.0.0.1:8000"),
    Flag(
        "--embedder",
        "embedder",
        "Folder of a local sentence-transformers model",
        default="packaged MiniLM",
    ),
    Flag(
        "--embed-backend",
        "embed_backend",
        "How the embedder runs: onnx (ONNX Runtime, same vectors as torch, quick to start), onnx-int8 "
        "(int8 weights: faster encoding, vectors within about 1 percent of fp32) or torch (sentence-transformers; "
        "any model and device). The ONNX export is made once per model in the cache folder",
        type=click.Choice(["onnx", "onnx-int8", "torch"]),
        default="onnx",
    ),
    Flag(
        "--reranker",
        "reranker",
        "Folder of a local sentence-transformers CrossEncoder that reorders the top passages "
        "(slower; optional)",
        metavar="MODEL_PATH",
    ),
    Flag(
        "--config",
        CONFIG,
        "TOML settings file",
        type=click.Path(dir_okay=False, path_type=Path),
        default="./newsqa.toml if present",
    ),
    Flag(
        "--llm",
        "llm",
        "Answer with an LLM: none (extractive, default), ollama:MODEL, openai:MODEL or "
        "llamacpp:/path/model.gguf",
        note="API key from NEWSQA_LLM_API_KEY",
    ),
    Flag(
        "--llm-base-url",
        "llm_base_url",
        "Server of the LLM, e.g. http://127.0.0.1:8080/v1 for any OpenAI-compatible server",
        default="http://127.0.0.1:11434 for ollama, https://api.openai.com/v1 for openai",
    ),
    Flag("--host", "host", "Address to bind", scope="serve", default="127.0.0.1"),
    Flag("--port", "port", "Port", scope="serve", type=click.IntRange(1, 65535), default="7860"),
    Flag("--auth", "auth", "user:password to require a login", scope="serve"),
    Flag(
        "--allow-private-urls",
        "allow_private_urls",
        "Let the url box fetch from loopback, private or link-local addresses (your own network)",
        scope="serve",
        default="refused, as anyone who opens the page may paste urls",
        is_flag=True,
    ),
)


def flags(*scopes: Scope) -> tuple[Flag, ...]:
    """The rows of these scopes (all rows when none is named), in table order."""
    return tuple(f for f in FLAGS if not scopes or f.scope in scopes)


def click_options(*scopes: Scope) -> Callable[[F], F]:
    """Decorate a click command with the flags of these scopes, listed in table order in its help."""

    def decorate(func: F) -> F:
        for flag in reversed(flags(*scopes)):  # the last decorator applied is listed first
            if flag.is_flag:
                option = click.option(flag.name, flag.setting, is_flag=True, help=flag.help)
            else:
                option = click.option(
                    flag.name, flag.setting, type=flag.type, metavar=flag.metavar, help=flag.help
                )
            func = option(func)
        return func

    return decorate


def add_arguments(parser: argparse.ArgumentParser, *scopes: Scope) -> argparse.ArgumentParser:
    """Add the flags of these scopes to an argparse parser, converting values as click does."""
    for flag in flags(*scopes):
        help_text = flag.help.replace("%", "%%")  # argparse %-formats help
        if flag.is_flag:
            parser.add_argument(
                flag.name, dest=flag.setting, action="store_true", default=None, help=help_text
            )
        else:
            parser.add_argument(
                flag.name,
                dest=flag.setting,
                type=_argparse_type(flag.type),
                metavar=flag.metavar,
                help=help_text,
            )
    return parser


def _argparse_type(param_type: click.ParamType) -> Callable[[str], Any]:
    def convert(text: str) -> Any:
        import argparse

        try:
            return param_type.convert(text, None, None)
        except click.BadParameter as exc:
            raise argparse.ArgumentTypeError(exc.message) from None

    convert.__name__ = param_type.name  # argparse names the type in its error message
    return convert


def overrides(values: Mapping[str, Any]) -> dict[str, Any]:
    """Settings fields from parsed flag values: unset flags (None, or an absent switch) are left out, so
    the config file and NEWSQA_* decide them. The --config value is not a field and is left out too."""
    out: dict[str, Any] = {}
    for flag in FLAGS:
        value = values.get(flag.setting)
        if flag.setting == CONFIG or value is None or (flag.is_flag and not value):
            continue
        out[flag.setting] = value
    return out


def load(values: Mapping[str, Any], env: Mapping[str, str] | None = None) -> Settings:
    """Settings from parsed flag values (click's or argparse's): defaults < config file < NEWSQA_* < flags."""
    return Settings.load(values.get(CONFIG), env=env, **overrides(values))


def globals_first(argv: Sequence[str]) -> list[str]:
    """The arguments with every global flag moved in front of the subcommand, so that
    `newsqa ingest --index DIR FILE` means `newsqa --index DIR ingest FILE` (people type options where
    they think of them). Arguments after `--` are left alone."""
    takes_value = {f.name: not f.is_flag for f in flags("global")}
    moved: list[str] = []
    rest: list[str] = []
    command_at: int | None = None  # where the subcommand stands in `rest`
    i = 0
    while i < len(argv):
        arg, name = argv[i], argv[i].split("=", 1)[0]
        if arg == "--":
            rest += argv[i:]
            break
        if command_at is not None and name in takes_value:  # a global flag after the command: move it
            moved.append(arg)
            if takes_value[name] and "=" not in arg and i + 1 < len(argv):
                moved.append(argv[i + 1])
                i += 1
        else:
            value_of_previous = bool(rest) and takes_value.get(rest[-1], False)
            if command_at is None and not arg.startswith("-") and not value_of_previous:
                command_at = len(rest)
            rest.append(arg)
        i += 1
    if command_at is None:
        return list(argv)
    return [*rest[:command_at], *moved, *rest[command_at:]]
