"""Word error rate: how far a transcript is from a reference, in words.

Both texts are normalized the same way first (case folded; punctuation dropped, except
apostrophes inside words, so "Don't!" and "don't" match; hyphens and other separators split
words), then compared by a word-level Levenshtein distance.
"""

from __future__ import annotations

import re

__all__ = ["normalize_words", "word_error_rate"]

_WORD = re.compile(r"[\w']+")


def normalize_words(text: str) -> list[str]:
    """Split ``text`` into normalized words (lower case, no punctuation)."""
    words = (match.strip("'") for match in _WORD.findall(text.casefold().replace("\u2019", "'")))
    return [word for word in words if word and word.replace("_", "")]


def word_error_rate(reference: str, hypothesis: str) -> float:
    """(substitutions + deletions + insertions) / words in the reference.

    Args:
        reference: What was said.
        hypothesis: What was recognized.

    Returns:
        0.0 for a perfect match; can exceed 1.0 when the hypothesis has many extra words. An
        empty reference gives 0.0 if the hypothesis is empty too, else 1.0.
    """
    ref = normalize_words(reference)
    hyp = normalize_words(hypothesis)
    if not ref:
        return 0.0 if not hyp else 1.0
    # One row of the edit-distance table at a time: previous[j] is the distance between the
    # reference so far and the first j hypothesis words.
    previous = list(range(len(hyp) + 1))
    for i, ref_word in enumerate(ref, start=1):
        current = [i]
        for j, hyp_word in enumerate(hyp, start=1):
            current.append(
                min(
                    previous[j] + 1,  # deletion
                    current[j - 1] + 1,  # insertion
                    previous[j - 1] + (ref_word != hyp_word),  # substitution or match
                )
            )
        previous = current
    return previous[-1] / len(ref)
