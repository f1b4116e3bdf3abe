"""Every prompt file renders with exactly the variables the code passes."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from assistant.answer.followups import FollowUps
from assistant.answer.llm import PromptBuilder
from assistant.answer.prompts import PROMPT_VARIABLES, load_prompt
from assistant.errors import ConfigError
from assistant.settings import Settings
from assistant.types import Passage, Turn

PROMPTS = Path(__file__).resolve().parent.parent / "prompts"
PASSAGES = [
    Passage("c1", "a1", "Fed holds rates", "The Fed held rates at 5.25%.", source="Reuters", published_at="2023-11-01T18:00:00+00:00"),
    Passage("c2", "a2", "Undated note", "Nothing dated here.", source=None, published_at=None),
]  # fmt: skip


def test_prompt_files_match_the_variables_the_code_passes() -> None:
    assert {p.stem for p in PROMPTS.glob("*.txt")} == set(PROMPT_VARIABLES)
    assert Settings().prompts_dir == PROMPTS
    for name, variables in PROMPT_VARIABLES.items():
        prompt = load_prompt(name, PROMPTS)
        assert prompt.variables == variables, name
        rendered = prompt.render(**dict.fromkeys(variables, "X"))
        assert "{" not in rendered and rendered.strip()


def test_answer_prompt_has_today_outlet_and_date_before_each_source() -> None:
    messages, used = PromptBuilder(PROMPTS, 8192).messages(
        "What did the Fed do?", PASSAGES, date(2023, 11, 8)
    )
    system, user = (m.content or "" for m in messages)
    assert "Today's date is 2023-11-08" in system
    assert load_prompt("refusal", PROMPTS).render() in system
    assert '[1] Reuters, 2023-11-01 — "Fed holds rates"\nThe Fed held rates at 5.25%.' in user
    assert '[2] unknown outlet, undated — "Undated note"' in user
    assert user.rstrip().endswith("square brackets):") and "Question: What did the Fed do?" in user
    assert used == PASSAGES


def test_sources_are_cut_to_the_context_window() -> None:
    long = [Passage(f"c{i}", f"a{i}", "T", "word " * 600, source="X") for i in range(10)]
    _, used = PromptBuilder(PROMPTS, 2048).messages("q?", long, date(2024, 1, 1))
    assert 0 < len(used) < 10


def test_condense_prompt_renders_through_the_code(tmp_path: Path) -> None:
    class Recorder:
        spec = None

        def __init__(self) -> None:
            self.prompts: list[str] = []

        def chat(self, messages: list) -> str:
            self.prompts.append(messages[0].content)
            return '"What did Powell say?"'

    recorder = Recorder()
    rewrite = FollowUps(recorder, PROMPTS).rewrite(
        "and he?", [Turn("What did Powell say [1]?", "He spoke [1].")]
    )  # type: ignore[arg-type]
    assert rewrite.question == "What did Powell say?" and rewrite.method == "llm"
    assert "Assistant: He spoke." in recorder.prompts[0] and "Last message: and he?" in recorder.prompts[0]


def test_a_prompt_with_other_variables_is_refused(tmp_path: Path) -> None:
    for name in PROMPT_VARIABLES:
        (tmp_path / f"{name}.txt").write_text(
            (PROMPTS / f"{name}.txt").read_text(encoding="utf-8"), encoding="utf-8"
        )
    (tmp_path / "source.txt").write_text("[{n}] {outlet} {publisher}: {text}", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"code does not pass \(publisher\).*code passes \(date, title\)"):
        PromptBuilder(tmp_path, 8192).messages("q?", PASSAGES, date(2024, 1, 1))
    (tmp_path / "refusal.txt").unlink()
    with pytest.raises(ConfigError, match=r"refusal\.txt cannot be read"):
        load_prompt("refusal", tmp_path)
