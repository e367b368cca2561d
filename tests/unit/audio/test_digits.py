"""The digit grammars of the challenge check (pure text; the recogniser itself is measured in bench/)."""

from __future__ import annotations

import pytest

from shared.audio.digits import MATCH_FROM, Heard, expected_grammar, loop_grammar


def test_the_expected_grammar_allows_only_the_string_with_zero_also_as_oh():
    grammar = expected_grammar("105")
    assert grammar.splitlines()[-1] == "public <expected> = one (zero | oh) five;"
    for bad in ("", "12a", "1 2"):
        with pytest.raises(ValueError, match="string of digits"):
            expected_grammar(bad)


def test_the_loop_grammar_is_any_number_of_digit_words():
    words = loop_grammar().splitlines()[-1]
    assert words.startswith("<digit> = zero | one") and words.endswith("nine | oh;")
    assert "public <digits> = <digit>+;" in loop_grammar()


def test_a_match_is_a_margin_at_or_above_the_measured_threshold():
    assert Heard("12", "12", MATCH_FROM).match and not Heard("12", "12", MATCH_FROM - 1e-6).match
    assert Heard("12", "", -1e30).to_json() == {"expected": "12", "heard": "", "match": False, "margin": None}
