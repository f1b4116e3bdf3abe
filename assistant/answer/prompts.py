"""Prompts live in prompts/*.txt; loaded by name and rendered with exactly the variables the code passes."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from llama_index.core.prompts import PromptTemplate

from assistant.errors import ConfigError

# The variables the code passes to each prompt; `render` refuses any other set.
PROMPT_VARIABLES: dict[str, frozenset[str]] = {
    "answer_system": frozenset({"today", "refusal"}),
    "answer_user": frozenset({"sources", "question"}),
    "source": frozenset({"n", "outlet", "date", "title", "text"}),
    "condense": frozenset({"history", "question"}),
    "refusal": frozenset(),
}


@dataclass(frozen=True)
class Prompt:
    """One prompt file: its name, its template text and the variables it uses."""

    name: str
    path: Path
    template: str

    @property
    def variables(self) -> frozenset[str]:
        """The {placeholders} in the template."""
        return frozenset(PromptTemplate(self.template).template_vars)

    def render(self, **values: object) -> str:
        """The prompt with its variables filled; the names passed must be exactly the template's."""
        given = frozenset(values)
        if given != self.variables:
            unknown = ", ".join(sorted(self.variables - given)) or "none"
            unused = ", ".join(sorted(given - self.variables)) or "none"
            raise ConfigError(
                f"Prompt {self.path} does not fit the code: it uses variables the code does not pass "
                f"({unknown}) and leaves out variables the code passes ({unused}). Use exactly "
                f"{{{'}, {'.join(sorted(given))}}} (see assistant/answer/prompts.py)."
            )
        if not values:
            return self.template.strip()
        return self.template.format(**{k: str(v) for k, v in values.items()}).strip()


@lru_cache(maxsize=64)
def _read(path: Path, mtime: float) -> str:
    return path.read_text(encoding="utf-8")


def load_prompt(name: str, prompts_dir: Path) -> Prompt:
    """The prompt `name` from prompts_dir (prompts/NAME.txt)."""
    path = Path(prompts_dir) / f"{name}.txt"
    try:
        text = _read(path, path.stat().st_mtime)
    except OSError as exc:
        raise ConfigError(
            f"Prompt file {path} cannot be read ({exc.strerror or exc}). Restore it from the repository "
            "or point prompts_dir (NEWSQA_PROMPTS_DIR) at a folder holding "
            f"{', '.join(sorted(PROMPT_VARIABLES))}.txt."
        ) from None
    return Prompt(name=name, path=path, template=text)
