"""Whole-word, case-insensitive, Unicode-aware matching of theme words and phrases in comments.

Comments and words are folded the same way (NFKC, case-folded, whitespace collapsed), so "Lieferung", "DÉLAI"
and "late  delivery" match their codebook entries; a word matches only between non-word characters (Python's
Unicode `\\w`), so "late" does not match "chocolate" and "délai" does not match "délais".
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

TOKEN = re.compile(r"\w+(?:['\u2019]\w+)*")  # apostrophes inside a word: "don't", "l'heure"


def fold(text: str) -> str:
    """The form a comment or word is matched in: NFKC, case-folded, runs of whitespace made one space."""
    return " ".join(unicodedata.normalize("NFKC", text).casefold().split())


def language_of(tag: str | None) -> str | None:
    """The primary language subtag of a tag (`de-CH` → `de`), or None when there is no usable one."""
    if not tag:
        return None
    primary = tag.split("-")[0].split("_")[0].lower()
    return primary if re.fullmatch(r"[a-z]{2,3}", primary) else None


def pattern_of(words: Iterable[str]) -> re.Pattern[str] | None:
    """One regex finding any of `words` (folded) as whole words; None when there are none."""
    folded = sorted({fold(word) for word in words if fold(word)}, key=lambda w: (-len(w), w))
    if not folded:
        return None
    return re.compile(r"(?<!\w)(?:" + "|".join(re.escape(word) for word in folded) + r")(?!\w)")


@dataclass
class Codebook:
    """An org's themes compiled: per code, a pattern per language (a comment of unknown language: any)."""

    patterns: dict[str, dict[str, re.Pattern[str]]] = field(default_factory=dict)

    @classmethod
    def of(cls, themes: Iterable[tuple[str, Mapping[str, Sequence[str]]]]) -> Codebook:
        """Compile `(code, {language: [word, …]})` pairs."""
        book = cls()
        for code, words in themes:
            compiled = {language: pattern_of(listed) for language, listed in words.items()}
            book.patterns[code] = {language: p for language, p in compiled.items() if p is not None}
        return book

    def codes(self, folded: str, language: str | None) -> list[str]:
        """The codes whose words (of the comment's language; every language when unknown) occur in it."""
        found = []
        for code, by_language in self.patterns.items():
            candidates = by_language.values() if language is None else [by_language.get(language)]
            if any(p is not None and p.search(folded) for p in candidates):
                found.append(code)
        return found


def tokens(folded: str) -> list[str]:
    """The words of a folded comment, in order."""
    return TOKEN.findall(folded)
