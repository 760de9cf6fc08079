"""Follow-up questions: what to search for when a question leans on the one before.

"What did he say about talks?" after "What did Esper say about Soleimani?" cannot be answered on
its own words: "he" matches nothing. When a question has a pronoun or starts like a follow-up
("and ...", "what about ...") and names no one itself, the names from the latest earlier question
that had any are added to the *retrieval* query. The question shown and answered stays the user's.
"""

from __future__ import annotations

import re
from typing import Sequence

__all__ = ["retrieval_query", "names_in", "earlier_speaker"]

PRONOUNS = frozenset(
    "he she they him her them his hers their theirs it its that this those these there then".split()
)
FOLLOW_UP_OPENINGS = ("and ", "what about", "how about", "also ", "why ", "when ")
QUESTION_WORDS = frozenset(
    "what who whom whose which when where why how did does do is are was were can could would "
    "should will has have had i".split()
)


def names_in(text: str) -> list[str]:
    """Capitalised words (past the first) and codes such as "FAJR-5": the question's names."""
    words = re.findall(r"[\w’'-]+", text)
    found = []
    for i, word in enumerate(words):
        named = (i > 0 and word[0].isupper()) or (any(c.isdigit() for c in word)
                                                 and any(c.isalpha() for c in word))
        if named and word.lower() not in QUESTION_WORDS and word not in found:
            found.append(word)
    return found


PERSON_PRONOUNS = frozenset("he she him her his hers".split())


def earlier_speaker(question: str, history: Sequence[str] = ()) -> str | None:
    """The person whose words the latest earlier question asked, when this one asks about "he"
    or "she" and names no one: "What did he say about talks?" after "What did Esper say about
    Soleimani?" asks Esper's words (on talks, not on Soleimani)."""
    from .questions import read_question

    words = {w.lower() for w in re.findall(r"[\w’'-]+", question)}
    if not history or not words & PERSON_PRONOUNS or names_in(question):
        return None
    for earlier in reversed(history):
        reading = read_question(earlier)
        if reading.asked:
            return reading.asked
        if names_in(earlier):
            return None
    return None


def retrieval_query(question: str, history: Sequence[str] = ()) -> str:
    """The question, plus the names of the latest earlier question if this one leans on it (only
    the person asked about, when it asks about "he" or "she")."""
    if not history:
        return question
    if (speaker := earlier_speaker(question, history)) is not None:
        return f"{question} ({speaker})"
    words = {w.lower() for w in re.findall(r"[\w’'-]+", question)}
    leans = bool(words & PRONOUNS) or question.lower().startswith(FOLLOW_UP_OPENINGS)
    if not leans or names_in(question):
        return question
    for earlier in reversed(history):
        names = names_in(earlier)
        if names:
            return f"{question} ({' '.join(names)})"
    return question
