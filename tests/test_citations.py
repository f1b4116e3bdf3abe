"""Citation checking: each sentence's [n] markers tested against the passages they name (real embedder)."""

from __future__ import annotations

import pytest

from assistant.answer.citations import CitationChecker, facts_of, marker_numbers, normalize_markers
from assistant.embedding import Embedder
from assistant.types import UNSUPPORTED_MARK, Passage

REFUSAL = "The indexed articles do not cover this question."
CALLS = Passage(
    "c1",
    "a1",
    "Putin Praises Talks with Trump",
    "Within a single month, reports surfaced of three separate telephone calls, with one lasting approximately "
    "50 minutes. Putin’s close aide, Yuri Ushakov, described these dialogues as “useful”, particularly "
    "highlighting their continuation of Ukraine-related negotiations.",
    source="Example News",
    published_at="2025-06-20",
)
FED = Passage(
    "c2",
    "a2",
    "Fed holds interest rates steady",
    "The Federal Reserve kept its benchmark interest rate unchanged at 5.25% to 5.5% on Wednesday. "
    "Fed Chair Jerome Powell said inflation was still too high.",
    source="Reuters",
    published_at="2023-11-01",
)
SWAP = Passage(
    "c3",
    "a1",
    "Putin Praises Talks with Trump",
    "The Istanbul meeting between Russian and Ukrainian delegations led to the largest prisoner exchange to "
    "date, with a reciprocal release of 1,000 detainees on each side.",
    source="Example News",
)
SOURCES = [CALLS, FED, SWAP]


@pytest.fixture(scope="module")
def checker(embedder: Embedder) -> CitationChecker:
    return CitationChecker(embedder, REFUSAL)


def test_correct_citation_is_kept_and_verified(checker: CitationChecker) -> None:
    result = checker.check("One call lasted about 50 minutes [1].", SOURCES)
    assert result.text == "One call lasted about 50 minutes [1]."
    assert [(c.n, c.verified) for c in result.citations] == [(1, True)]
    assert "50 minutes" in result.citations[0].sentence  # the supporting sentence of the passage


def test_wrong_citation_moves_to_the_passage_that_says_it(checker: CitationChecker) -> None:
    result = checker.check("The prisoner exchange released 1,000 detainees on each side [1].", SOURCES)
    assert result.text.endswith("on each side [3].")
    assert result.sentences[0].claimed == (1,) and result.sentences[0].cited == (3,)
    assert [c.passage.chunk_id for c in result.citations] == ["c3"]


@pytest.mark.parametrize(
    "sentence",
    [
        "One call lasted about 60 minutes [1].",  # a number the passage does not have
        "Putin spoke with Macron for 50 minutes [1].",  # a name the passage does not have
        "Ushakov said the talks had failed [1].",  # names match, the claim does not
    ],
)
def test_unsupported_sentence_is_marked(checker: CitationChecker, sentence: str) -> None:
    result = checker.check(sentence, SOURCES)
    assert not result.sentences[0].supported and result.sentences[0].cited == ()
    assert result.text.endswith(f"{UNSUPPORTED_MARK}.") and result.citations == []


def test_claim_split_over_two_cited_passages_keeps_both(checker: CitationChecker) -> None:
    text = "There were three calls, and the Istanbul talks freed 1,000 detainees on each side [1][3]."
    result = checker.check(text, SOURCES)
    assert result.sentences[0].cited == (1, 3) and [c.n for c in result.citations] == [1, 3]


def test_wrong_extra_citation_is_dropped(checker: CitationChecker) -> None:
    result = checker.check("Fed Chair Jerome Powell said inflation was still too high [2][1].", SOURCES)
    assert result.sentences[0].cited == (2,) and result.text.endswith("too high [2].")


def test_uncited_fact_gets_its_source_and_formats_are_normalised(checker: CitationChecker) -> None:
    text = "The Fed kept rates unchanged at 5.25% to 5.5%. Powell said inflation was still too high.[2]\n\nOk [9]."
    result = checker.check(text, SOURCES)
    assert result.text == (
        "The Fed kept rates unchanged at 5.25% to 5.5% [2]. Powell said inflation was still too high [2].\n\nOk."
    )
    assert [s.claimed for s in result.sentences] == [(), (2,), (9,)]


def test_refusal_needs_no_citation(checker: CitationChecker) -> None:
    result = checker.check(REFUSAL, SOURCES)
    assert result.text == REFUSAL and result.sentences[0].supported and not result.citations


def test_markers_and_facts() -> None:
    assert marker_numbers("a [1, 3] b [Source 2][4]") == [1, 3, 2, 4]
    assert normalize_markers("Done.[1][2] Next. [3]") == "Done [1][2]. Next [3]."
    facts = facts_of("Putin and Trump spoke three times; one call lasted 1,000 seconds.")
    assert facts.numbers == {"3", "1000"} and facts.names == {"trump"} and facts.lead == "putin"


def test_lists_and_source_lines_keep_their_shape(checker: CitationChecker) -> None:
    text = "Key points:\n\n- One call lasted about 50 minutes [1].\n- Powell said inflation was still too high [1]\n\nSources: [1], [2]"
    result = checker.check(text, SOURCES)
    assert result.text == (
        "Key points:\n\n- One call lasted about 50 minutes [1].\n- Powell said inflation was still too high [2]"
    )
    assert [s.cited for s in result.sentences] == [(), (1,), (2,)]


def test_a_hyphenated_name_is_found_in_its_source(checker: CitationChecker) -> None:
    trial = Passage(
        "c4",
        "a4",
        "FTX founder on trial",
        "Sam Bankman-Fried was tried in New York on Tuesday. Prosecutors said he misused customer funds.",
        source="Wire",
    )
    result = checker.check("Bankman-Fried was tried in New York on Tuesday [1].", [trial])
    assert result.sentences[0].supported and [c.verified for c in result.citations] == [True]
    wrong = checker.check("Bankman-Fried was tried in Paris on Tuesday [1].", [trial])
    assert not wrong.sentences[0].supported  # the name alone does not carry a wrong place
