"""Word error rate: normalization and edit distance."""

from __future__ import annotations

import pytest

from speechkit.engines.wer import normalize_words, word_error_rate


def test_identical_texts_have_no_errors() -> None:
    assert word_error_rate("the cat sat", "the cat sat") == 0.0


def test_case_and_punctuation_are_ignored() -> None:
    assert word_error_rate("Hello, World! Don\u2019t stop.", "hello world don't STOP") == 0.0


def test_normalize_keeps_inner_apostrophes_and_splits_hyphens() -> None:
    assert normalize_words("'Quoted' well-known don't, 42!") == [
        "quoted",
        "well",
        "known",
        "don't",
        "42",
    ]


@pytest.mark.parametrize(
    ("hypothesis", "errors"),
    [
        ("a x c d", 1),  # one substitution
        ("a c d", 1),  # one deletion
        ("a b y c d", 1),  # one insertion
        ("d c b a", 4),  # reversed: no alignment beats four substitutions
        ("", 4),  # everything deleted
    ],
)
def test_edit_counts(hypothesis: str, errors: int) -> None:
    assert word_error_rate("a b c d", hypothesis) == pytest.approx(errors / 4)


def test_insertions_can_exceed_one() -> None:
    assert word_error_rate("a", "x y z") == pytest.approx(3.0)


def test_empty_reference() -> None:
    assert word_error_rate("", "") == 0.0
    assert word_error_rate(" ... ", "anything") == 1.0
