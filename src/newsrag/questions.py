"""Reading a question: what kind of answer it wants, and what an answer must cover.

A sentence that repeats the question's words is not an answer to it. "Who died in the rocket
attack near the airport?" is answered by the sentence that names someone, "How many were
injured?" by one with a number, "When ...?" by one with a date or a weekday. This module reads
that *answer type* off the question, and the *constraints* a sentence must meet to answer it: the
names the question uses (a person, a place, a nationality, a code), the speaker of a "what did X
say" question, and the period it names. :mod:`newsrag.answering` scores sentences with it and
refuses when no sentence meets the constraints.

Rules, not a model: English questions, a few word lists (all in :mod:`newsrag.lexicon`), each rule
tested. They were fitted on the development data only (XQuAD's dev half and
``bench/news_pd``), never on the question sets reported.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from typing import AbstractSet as Set, Callable, Iterator

from .dates import MONTH_NAMES, YEAR, TimeRange, dates_in, time_range_in
from .lexicon import (ATTACK_NOUNS, AUXILIARIES, BODY_NOUNS, COUNT_NOUN_SKIP, EVENT_PREDICATES,
                      COUNTRIES,
                      COUNTRY_METONYMS, FOCUS_STOPS, FOCUS_SYNONYMS, IRREGULAR_DEMONYMS,
                      IRREGULAR_PASTS, MODEL_WORDS, MONEY_WORDS, NAME_CONNECTORS, NAME_TITLES,
                      NON_PERSON_NAME_WORDS, NUMBER_WORDS, OFFICE_GROUPS, PERSON_NOUNS,
                      PARTICIPLES, PLACE_NOUNS, QUESTION_OPENERS, REASON_MARKERS, SAYING_VERBS,
                      SENTENCE_OPENERS, TIME_WORDS, TIMES_OF_DAY, TITLE_ABBREVIATIONS, TITLE_WORDS,
                      US_NAMES, VAGUE_COUNTS, WEEKDAYS)
from .lexical import closest_spelling, demonym_related, looks_like_demonym, tokenize

__all__ = ["Reading", "read_question", "UNITS", "names_a_day", "offices_in", "office_mentioned",
           "answer_evidence", "question_names", "KINDS", "NameCoverage", "name_found", "initials_of",
           "focused_evidence", "counted_phrase", "spelled_out", "ACRONYM", "tells_what_happened",
           "counted_nationality", "without_possessive"]

# Answer types. "quote": what someone said; "which": a named member of the focus class.
KINDS = ("who", "when", "where", "count", "quote", "which", "why", "how", "what")

_SAYING = "|".join(SAYING_VERBS)
# "What did Esper say ...", "How did Rouhani respond ...", "What did Pompeo tell CNN ...",
# "What was Zarif's reaction" — the speaker is the capitalised phrase before the verb.
QUOTE_ASK = re.compile(
    rf"^\s*(?:according to [^,]+,\s*)?(?:what|how)\s+(?:did|does|do|has|have|had|would|will)\s+"
    rf"(?P<who>.+?)\s+(?:{_SAYING})\b", re.I)
# "Did Kirby confirm the toll?", "Has Zarif denied ...?": a yes or no is in the person's words.
QUOTE_ASK_YES_NO = re.compile(
    rf"^\s*(?i:did|does|has|have|had)\s+(?P<who>[A-Z][\w.'’-]*(?:\s+[A-Z][\w.'’-]*){{0,3}})\s+"
    rf"(?:{_SAYING})\b")
# "In which city did Pompeo say ...", "who did Pompeo say would ...": a speaker inside the question.
SPEAKER_INSIDE = re.compile(rf"\b(?:did|does|do|has|have|had)\s+(?P<who>(?:[A-Z][\w.'’-]*\s+)"
                            rf"{{0,3}}[A-Z][\w.'’-]*)\s+(?:{_SAYING})\b")
# "According to the Pentagon chief, ...": who the question's facts come from.
ACCORDING = re.compile(r"\baccording\s+to\s+(?P<who>[^,?]+)", re.I)
QUOTE_ASK_POSSESSIVE = re.compile(
    r"^\s*what\s+(?:was|is|were|are)\s+(?P<who>.+?)['’]s?\s+(?:reaction|response|statement|"
    r"message|comment|remarks?|position|stance|view|warning|answer|reply)\b", re.I)
# Casual questions typed like headlines: "Blinken on the Syria strike", "Esper reaction to the
# headaches remark" ask for the words; "Milley said how many missiles ..." for a fact he told.
QUOTE_CASUAL = re.compile(
    r"^\s*(?P<who>(?:(?:" + "|".join(sorted(NAME_TITLES)) + r")\s+)?"  # "pope Francis comment"
    r"[A-Z][\w.'’-]*(?:\s+[A-Z][\w.'’-]*){0,2}?)(?:['’]s)?\s+(?:reaction|response|"
    r"responded|reacted|comments?|commented|remarks?|statement|message|view|views|position|"
    r"stance|warning|on|about)\b")
TOLD_CASUAL = re.compile(
    rf"^\s*(?P<who>[A-Z][\w.'’-]*(?:\s+[A-Z][\w.'’-]*){{0,2}}?)\s+(?:{_SAYING})\s+(?:that\s+)?"
    r"(?:how|what|when|where|who|which|why)\b")
WHO_SAID = re.compile(rf"^\s*who\s+(?:has\s+|have\s+|had\s+|else\s+)?(?:{_SAYING})\b"
                      # "Who claimed the rocket attack?" asks who did it, not whose words these are
                      r"(?<!claim)(?<!claimed)(?<!claims)"
                      r"|^\s*who\s+(?:has\s+|have\s+|had\s+)?claim(?:ed|s)?\b"
                      r"(?!\s+(?:responsibility|credit|(?:the|an?|this|last)\s+(?:[\w'’-]+\s+){0,3}?"
                      r"(?:" + "|".join(ATTACK_NOUNS) + r")\b"
                      r"(?!\s+(?:was|were|had|has|came|did|is)\b)))", re.I)
# "Who claimed the attack?", "Who piloted ...?": the verb right after "who", whose doer is
# asked for (by name, or by role: "pilot", "commander").
WHO_DID = re.compile(r"^\s*who\s+(?P<verb>[a-z][\w'’-]*)\b", re.I)
# "What type of plane ...?": the answer is a model ("a Boeing 737-800", "F-15E jets").
_MODEL = "|".join(MODEL_WORDS)
MODEL_ASK = re.compile(rf"\b(?:which|what)\s+(?:(?:{_MODEL})\s+of|[\w-]+\s+(?:{_MODEL}))\b", re.I)
MODEL_DESIGNATION = re.compile(r"\b(?:[A-Z][A-Za-z]*-?\d{1,4}[A-Za-z]?(?:-\d{1,4}[A-Z]?)?"
                               r"|\d{3}-\d{3})\b")
# "What was the estimated repair bill?", "what did the damage cost": a sum of money asked for.
COST_ASK = (r"\bwhat\s+(?:was|is|were|are|will\s+be)\s+the\s+(?:\w+\s+){0,3}?(?:cost|costs|bill|"
            r"price|price\s+tag|damages?\s+bill|compensation|fine|ransom|budget)\b|"
            r"\b(?:damage|repair|repairs)\s+(?:cost|bill)\b")
# "How far away were the rockets fired from?": a distance, a number with its unit.
DISTANCE_ASK = re.compile(r"\bhow\s+far\b|\bwhat\s+distance\b", re.I)
# "What price did lawmakers put on ...?": a sum of money ("How much did prices rise?" is not).
PRICE_ASK = re.compile(r"\bwhat\s+price\b", re.I)
COUNT_ASK = re.compile(COST_ASK + r"|\bhow\s+(?:many|much)\b|"
                       r"\bwhat\s+(?:number|percentage|share|amount)\s+of\b|"
                       r"\bwhat\s+(?:amount|sum)\s+(?:did|was|were|had|has|have|is|of)\b|"
                       r"\b(?:death\s+toll|number\s+of)\b|"
                       # "What was the size of Norway's contingent?", "By what margin ...?"
                       r"\bwhat\s+(?:was|is|were|are)\s+the\s+(?:\w+\s+)?(?:size|strength|tally|"
                       r"headcount|margin)\s+of\b|\bby\s+what\s+margin\b|\bvote\s+(?:count|tally)\b|"
                       + DISTANCE_ASK.pattern + "|" + PRICE_ASK.pattern, re.I)
DISTANCE = re.compile(r"\b(?:\d[\d,.]*|" + "|".join(NUMBER_WORDS) + r"|a|one)[\s-]+"
                      r"(?:km|kms|kilomet(?:er|re)s?|miles?|met(?:er|re)s?|yards?|feet|foot)\b", re.I)
WHEN_ASK = re.compile(r"^\s*(?:and\s+)?when\s+(?:did|was|were|is|are|does|do|will|would|could|"
                      r"had|has|have|can|should|might)\b|"
                      # "When in the evening did ...", "When, in Eastern time, did ...", and
                      # "when erbil attack" typed in a search box (not "When X hit, who ...?")
                      r"^\s*when(?:\s*,|\s+(?:in|on|at|during|exactly|precisely|roughly|"
                      r"approximately|about)\b|\s+[^,?]*$)|\b(?:what|which)\s+(?:date|day|time|year|month|"
                      r"weekday)\b|\bat\s+what\s+(?:time|point)\b|\bhow\s+long\s+(?:ago|after|before)\b",
                      re.I)
WHERE_ASK = re.compile(r"^\s*(?:and\s+)?where\b|\bfrom\s+where\b|\bwhere\b", re.I)
WHO_ASK = re.compile(r"\b(?:who|whom|whose)\b", re.I)
WHY_ASK = re.compile(r"^\s*(?:and\s+)?why\b|\bfor\s+what\s+reason\b|\bwhat\s+(?:was|were|is)\s+"
                     r"the\s+(?:reason|motive|rationale)\b", re.I)
# "What was the name of the contractor ...": a person's name, when a person is named after it.
NAME_ASK = re.compile(r"(?:\bnames?\s+of|^\s*(?:name|identify))\s+(?:the\s+|a\s+|an\s+|this\s+|that\s+)?"
                      r"(?P<what>(?:[\w.-]+\s+){0,2}[\w-]+)", re.I)
# "Which contractor, by name, ...", "what was his name": a person's name, not a description.
BY_NAME = re.compile(r"\bby\s+name\b|\b(?:his|her|their|its)\s+(?:full\s+)?names?\b|\bfull\s+name\b",
                     re.I)
# "How much compensation ...", "What amount of money ...": a sum of money.
MONEY_ASK = re.compile(r"(?<!by )\bhow\s+much\b|\bwhat\s+(?:amount|sum)\b|\bwhat\s+did\s+.+\s+cost\b|"
                       + COST_ASK, re.I)
# "At what time ...", "What time of day ...": a clock time or a time of day, not a date.
CLOCK_ASK = re.compile(r"\bwhat\s+(?:time|hour)\b|\bat\s+what\s+(?:time|hour)\b|"
                       r"^\s*when\s*,?\s+in\s+(?:the\s+)?(?:morning|afternoon|evening|night|"
                       r"\w+\s+time)\b", re.I)  # "When in the evening ...", "When, in Eastern time"
# "On which day of the week ...", "What weekday ...": a weekday.
WEEKDAY_ASK = re.compile(r"\bday\s+of\s+the\s+week\b|\bweekday\b", re.I)
# "How old was the contractor?", "the contractor's age": an age ("56-year-old", "aged 56",
# "Jane Doe, 56,"), not any number near the person.
AGE_ASK = re.compile(r"\bhow\s+old\b|\bwhat\s+age\b|(?:['’]s|\bthe|\bhis|\bher|\btheir)\s+ages?\b|"
                     r"^\s*ages?\s+of\b", re.I)
AGE = re.compile(r"\b[\w]+[\s-]+years?[\s-]+old\b|\baged?\s+(?:of\s+)?\d{1,3}\b|"
                 r"[A-Z][a-z]+,\s+\d{1,3},|\bin\s+(?:his|her|their)\s+(?:early\s+|mid-?\s*|late\s+)?"
                 r"(?:\d0s|twenties|thirties|forties|fifties|sixties|seventies|eighties)\b", re.I)
# "The number of service members diagnosed ...": what a figure further on counts.
NUMBER_OF = re.compile(r"\b(?:number|tally|count|toll)\s+of\s+((?:[\w'’-]+\s+){0,3}[\w'’-]+)", re.I)
# "Which group claimed responsibility ...?", "Who said they carried out ...?", "Who was behind
# ...?": a claim or an attribution of the act, not any group named near it.
CLAIM_ASK = re.compile(r"\bclaim(?:ed|s|ing)?\s+(?:of\s+)?(?:responsibility|credit)\b|"
                       r"\b(?:who|which\s+[\w-]+|what\s+[\w-]+|that)\s+(?:has\s+|have\s+|had\s+)?"
                       r"claimed\b|\bresponsibility\s+for\b|\btook\s+(?:responsibility|credit)\b|"
                       r"\b(?:said|say|says)\s+(?:they|it)\s+(?:had\s+|have\s+)?(?:carried\s+out|"
                       r"conducted|launched|fired|staged|was\s+behind|were\s+behind)\b|"
                       r"^\s*who\s+(?:was|were|is|are)\s+(?:\w+\s+)?behind\b", re.I)
CLAIM = re.compile(r"\bclaim(?:ed|s|ing)?\b|\bresponsib|\btook\s+credit\b|\bblam(?:e|ed|es|ing)\b|"
                   r"\bbehind\s+(?:the|this|it|these|that)\b|\bcarried\s+out\s+by\b", re.I)
# The units a question may ask a count or a time in, and what an answer then says.
UNITS = {"money": "how much money", "clock": "at what time", "weekday": "on which weekday",
         "distance": "how far", "age": "how old", "claim": "who claimed or is blamed",
         "nationality": "which country they are from", "model": "which model"}
# "What nationality was the contractor?", "Which country was he a citizen of?": a people's word
# or a country, given for that person.
NATIONALITY_ASK = re.compile(r"\bnationality\b|\b(?:what|which)\s+country\b.*\b(?:from|citizens?|"
                             r"nationals?)\b", re.I)
HOW_ASK = re.compile(r"^\s*(?:and\s+)?how\b", re.I)
# First match wins: "How many ... when ...?" counts; "Who threatened ...?" asks who.
# Keywords typed without a question ("TBI count February 21 2020", "Purple Heart awards total"):
# a count, when nothing else asks.
KEYWORD_COUNT = re.compile(r"^(?!.*\b(?:who|whom|whose|what|when|where|why|which|how)\b)"
                           r"(?=.*\b(?:count|total|tally|toll|number)\b)", re.I | re.S)
KIND_RULES = ((WHO_SAID, "who"), (COUNT_ASK, "count"), (AGE_ASK, "count"), (WHEN_ASK, "when"),
              (WHY_ASK, "why"), (WHO_ASK, "who"), (WHERE_ASK, "where"), (HOW_ASK, "how"),
              (KEYWORD_COUNT, "count"))
# A question opening with why/when/where asks that, whatever number it mentions.
OPENING_ASK = re.compile(r"^\s*(?:and\s+)?(why|when|where)\b", re.I)
WHICH_OPENING = re.compile(r"^\s*(?:which|what)\b", re.I)
WHICH_ASK = re.compile(r"\b(?:which|what)\s+(?P<rest>(?:[\w.'’-]+\s+){0,4}[\w.'’-]+)", re.I)

# Any year of history ("in 1521"), for "when" answers; dates.YEAR keeps to 1900-2099 for filters.
ANY_YEAR = re.compile(r"\b(1\d{3}|20\d{2})s?\b")
NUMBER = re.compile(r"\b\d[\d,]*(?:\.\d+)?\b")
WORD_NUMBER = re.compile(r"\b(?:" + "|".join(sorted(NUMBER_WORDS, key=len, reverse=True)) + r")\b",
                         re.I)
MONTH_DAY = re.compile(r"\b(?:" + "|".join(MONTH_NAMES) + r"|(?:jan|feb|mar|apr|jun|jul|aug|sept?|oct|"
                       r"nov|dec)\.?)\s+\d{1,2}(?:st|nd|rd|th)?\b|\b\d{1,2}(?:st|nd|rd|th)?\s+(?:of\s+)?(?:"
                       + "|".join(MONTH_NAMES) + r")\b", re.I)
# A span of time after a number ("two days after"), and a question that asks for one.
_DURATIONS = r"seconds?|minutes?|hours?|days?|weeks?|months?|years?|decades?"
DURATION_UNIT = re.compile(rf"[\s-]+(?:{_DURATIONS})\b", re.I)
DURATION_ASK = re.compile(rf"\b(?:{_DURATIONS}|how\s+long|time|warning|notice)\b", re.I)
# "one of the largest bases": a way of speaking, not a count.
ONE_OF_THE = re.compile(r"one\s+of\s+(?:the|its|his|her|their|our)\b", re.I)
# A time told by its distance from another: "about twenty minutes before the first impact".
RELATIVE_TIME = re.compile(rf"\b(?:\d[\d,.]*|{'|'.join(NUMBER_WORDS)}|an?|a\s+few|several)[\s-]+"
                           rf"(?:{_DURATIONS})[\s\"”’']+(?:before|after|earlier|later|ahead)\b", re.I)
# A capitalised word past a sentence's first, then a number: a model or a code, not a count.
MODEL_NUMBER = re.compile(r"(?<=\w )([A-Z][a-z]+ )\d[\d-]*[A-Za-z]?\b")
TIME_OF_DAY = re.compile(r"\b(?:" + "|".join(TIMES_OF_DAY) + r")s?\b", re.I)
CURRENCY = re.compile(r"[$€£¥]\s?\d|\b\d[\d,.]*\s*(?:million|billion|thousand|[mb]n)?\s*(?:dollars|euros|"
                      r"pounds|rials|dinars|rubles|roubles|yuan|yen|francs|USD|EUR|GBP)\b", re.I)
CLOCK = re.compile(r"\b\d{1,2}(?::\d{2})?\s*(?:a\.?m\.?|p\.?m\.?)|\b\d{1,2}:\d{2}\b", re.I)
# Whole words: "dec" is no month in "declares", nor "ago" a time in "agonising".
TIME_EXPRESSION = re.compile(
    r"\b(?:(?:" + "|".join(WEEKDAYS + TIME_WORDS) + r"|" + "|".join(MONTH_NAMES) +
    r")\b|(?:jan|feb|mar|apr|aug|sept?|oct|nov|dec)\.)", re.I)
CAPITALISED_RUN = re.compile(r"(?<![\w’'])(?:[A-Z][\w’'.-]*|al-[A-Z][\w-]*)"
                             r"(?:\s+(?:of\s+|al-|the\s+)?(?:[A-Z][\w’'.-]*))*")
PLACE_PREPOSITION = re.compile(r"\b(?i:in|at|near|from|outside|inside|to|into|across|north|south|"
                               r"east|west|of|back\s+from)\s+(?:the\s+)?(?:[a-z]+\s+)?[A-Z]")


@dataclass(frozen=True)
class Reading:
    """What a question asks for, and what its answer must cover."""

    question: str
    kind: str                            # one of KINDS
    focus: str | None = None             # "desert" in "In which desert ...?"
    speaker: str | None = None           # "Esper" in "What did Esper say ...?"
    who_said: bool = False               # "Who threatened revenge?": answer names the speaker
    names: tuple[str, ...] = ()          # names and codes the answer's source must contain
    period: TimeRange | None = None      # "in January 2020", "in 2022"
    explicit_period: bool = False        # a year or month written out, not an event's date
    wants_name: bool = False             # "What was the name of ...?": a full name, not a role
    role: bool = False                   # "Who was the contractor ...?": the focus is a role
    counted: tuple[str, ...] = ()        # stems naming what "how many ...?" counts: ("rocket",)
    source: str | None = None            # "Milley" in "..., according to General Milley?"
    unit: str | None = None              # UNITS: "money" for "How much compensation ...?"
    offices: tuple[tuple[str | None, int], ...] = ()  # (country, OFFICE_GROUPS index) asked of
    speaker_role: str | None = None      # "the defense secretary" in "What did the defense ..."
    terms: frozenset[str] = field(default_factory=frozenset)  # tokens of the question

    @property
    def asked(self) -> str | None:
        """The person whose words are wanted: the speaker, required, else the source, preferred
        ("..., according to General Milley?")."""
        return self.speaker or self.source

    @property
    def typed(self) -> bool:
        """Whether the answer must contain a thing of a kind (a name, date, place, number)."""
        return self.kind in ("who", "when", "where", "count") or self.unit in ("nationality",
                                                                                "claim")


def question_names(question: str) -> list[str]:
    """The names a question uses: runs of capitalised words past the first ("Ayatollah Ali
    Khamenei", "Ain al-Assad", "Ukraine International Airlines") and codes ("PS752", "F-35").
    Question words, months and weekdays are not names."""
    words = list(re.finditer(r"[\w’'.-]*\w", question))
    found: list[str] = []
    run: list[str] = []

    def close() -> None:
        while run and run[-1].lower() in NAME_CONNECTORS:
            run.pop()
        if run and " ".join(run) not in found:
            found.append(" ".join(run))
        run.clear()

    for i, m in enumerate(words):
        w = m.group().strip(".") if not re.fullmatch(r"(?:[A-Z]\.)+", m.group()) else m.group()
        low = w.lower()
        code = (any(c.isdigit() for c in w) and any(c.isalpha() for c in w)
                and not re.fullmatch(r"\d{2,4}['’]?s|\d+(?:st|nd|rd|th)", w))  # 1980s, 3rd
        capital = i > 0 and w[:1].isupper() and low not in QUESTION_OPENERS \
            and low not in MONTH_NAMES and low not in WEEKDAYS
        gap = question[words[i - 1].end():m.start()] if i else ""
        if run and ("," in gap or "?" in gap or ";" in gap):
            close()
        if capital or code:
            run.append(w)
        elif run and (low in NAME_CONNECTORS or low.startswith(("al-", "el-"))):
            run.append(w)
        else:
            close()
    close()
    return found


def _focus(question: str) -> str | None:
    """The class a "which X" / "what X" question asks for: the last lower-case word of the
    phrase after it ("bases" in "Which military bases did ...", "group" in "What militant group
    claimed ...")."""
    m = WHICH_ASK.search(question)
    if not m:
        return None
    phrase: list[str] = []
    for word in m.group("rest").split():
        low = word.lower().strip(".,?")
        if not phrase and (low in COUNT_NOUN_SKIP or word[:1].isupper() or "-" in word):
            continue  # "kind of", "U.S.", "Iranian-backed"
        if low in AUXILIARIES or low in FOCUS_STOPS or low in SAYING_VERBS \
                or word[:1].isupper() or (low.endswith("ed") and not low.endswith("eed")):
            break  # "What did ...", "What happened ..." have no focus noun
        phrase.append(low)
        if word.endswith((",", "?")):
            break
    return phrase[-1] if phrase else None


# "How many American service members were ...": the words up to the verb name what is counted.
_COUNT_STOP = "|".join(sorted(AUXILIARIES | IRREGULAR_PASTS | PARTICIPLES
                              | {"get", "remain"}))
COUNTED = re.compile(r"\b(?:how\s+many|(?:the\s+)?number\s+of)\s+(?P<what>(?:[\w'’-]+\s+){0,3}?)"
                     rf"(?=(?:{_COUNT_STOP}|\w+ed|of|on|in|at|from|by|to|with|for|that|who|when)\b)",
                     re.I)


def counted_phrase(question: str) -> str:
    """What a count question counts, as written ("American service members")."""
    m = COUNTED.search(question)
    return " ".join(w for w in (m.group("what").split() if m else []) if not w.endswith("ed"))


def _counted(question: str) -> tuple[str, ...]:
    """Stems that name what a count question counts ("rockets"; for a person noun, every person
    noun: see :func:`_focus_words`); empty for "how many were hurt?" (nothing named)."""
    return tuple(sorted(_focus_words(counted_phrase(question).split())))


# "Who was the civilian contractor ...", "Who is the pilot ...": the person asked for, by role.
WHO_IS = re.compile(r"^\s*who\s+(?:was|is|were|are)\s+(?:the|a|an)\s+(?P<what>(?:[\w-]+\s+){0,2}[\w-]+)",
                    re.I)


# "Who was in charge of the base?": its commander ("Who led ...?" may ask for anyone ahead:
# "Who led the Panthers in sacks?").
IN_CHARGE = re.compile(r"^\s*who\s+(?:was|is|were|are)\s+(?:in\s+charge|in\s+command)\s+of\b",
                       re.I)
# Keywords asking for someone's words, not who they are ("foreign minister reaction").
WORDS_ASKED = re.compile(r"\b(?:reaction|response|comments?|remarks?|statement|message|says?|said|"
                         r"views?|warning|tweets?|quotes?|speech|position)\b", re.I)
# Keywords naming a role and no question word ("Ain al-Asad base commander March 2021"): who.
NO_QUESTION_WORD = re.compile(r"^(?!.*\b(?:who|whom|whose|what|when|where|why|which|how|did|does|"
                              r"do|is|are|was|were|will|would|can|could|should|has|have|had)\b)"
                              r"(?!.*\?)", re.I | re.S)


def _person_focus(question: str, named: str | None) -> str | None:
    """The role a "who is the X" or "the name of the X" question asks about ("contractor"),
    or the doer of its verb ("pilot" for "Who piloted ...?", "commander" for "Who commanded")."""
    m = WHO_IS.search(question)
    words = (named or (m.group("what") if m else "")).lower().split()
    roles = [w for w in words if w in PERSON_NOUNS]
    if roles:
        return roles[-1]  # "civilian contractor": the contractor
    if IN_CHARGE.match(question):
        return "commander"
    did = WHO_DID.match(question)
    if did is not None:
        verb = did.group("verb").lower()
        for stem in (verb[:-2], verb[:-1]):
            for noun in (stem, f"{stem}er", f"{stem}or"):
                if noun in PERSON_NOUNS:
                    return noun
    return None


def _speaker(question: str) -> tuple[str | None, bool]:
    """Who a question asks the words of, and whether it asks *what they said* (a quote
    question) rather than a fact they told ("In which city did Pompeo say ...?")."""
    for pattern in (QUOTE_ASK, QUOTE_ASK_POSSESSIVE, QUOTE_ASK_YES_NO, QUOTE_CASUAL):
        m = pattern.match(question)
        if m and m.group("who").lower() not in QUESTION_OPENERS \
                and not m.group("who").lower().endswith(("ed", "ing")):  # "Based on ...", "Speaking"
            return without_possessive(m.group("who").strip()), True  # "Austin's comments"
    m = SPEAKER_INSIDE.search(question) or TOLD_CASUAL.match(question)
    if m:
        return m.group("who").strip(), False
    return None, False


def without_possessive(name: str) -> str:
    """"Austin" for "Austin's"."""
    return re.sub(r"['’]s$", "", name)


def is_named(speaker: str | None) -> bool:
    """A speaker given by name ("Esper", "Lloyd Austin"), not by role ("the senior DOD
    official", "the Pentagon chief"): only a name can be checked against who said a sentence."""
    if not speaker:
        return False
    words = speaker.split()
    last = words[-1].lower().strip(".")
    # "How did the US respond?" asks what a country did, not whose words these are.
    return words[-1][:1].isupper() and last not in TITLE_WORDS and last not in US_NAMES


def read_question(question: str) -> Reading:
    """The reading of ``question`` (see :class:`Reading`)."""
    q = question.strip()
    speaker, quote = _speaker(q)
    kind = "quote" if quote else next(
        (kind for pattern, kind in KIND_RULES if pattern.search(q)), "what")
    opening = OPENING_ASK.match(q)
    if kind == "count" and opening:
        kind = opening.group(1).lower()  # "Why did the number of injured keep rising?" asks why
    if kind == "count" and WHICH_OPENING.match(q) and _focus(q) in PERSON_NOUNS:
        kind = "what"  # "Which spokeswoman gave the number of cases?" asks who: see below
    name_of = NAME_ASK.search(q)
    wants_name = bool(name_of and set(name_of.group("what").lower().split()) & PERSON_NOUNS)
    by_name = BY_NAME.search(q) is not None and kind in ("what", "who")
    if wants_name or by_name:
        kind, wants_name = "who", True
    keyword_role = None
    if kind == "what" and not quote and NO_QUESTION_WORD.match(q) and not WORDS_ASKED.search(q):
        roles = [w for w in re.findall(r"[a-z]+", q) if w in PERSON_NOUNS and w not in BODY_NOUNS]
        if roles:  # "Ain al-Asad base commander March 2021": who the commander was
            kind, keyword_role = "who", roles[-1]
    focus = _focus(q) if kind in ("what", "who", "where") else None
    focus = focus or keyword_role
    role = kind == "who" and (focus is None or (by_name and focus in PERSON_NOUNS))
    if role and focus is None:
        focus = _person_focus(q, name_of.group("what") if name_of else None)
    if kind == "what" and focus is not None:
        if focus in PERSON_NOUNS:
            kind = "who"
        elif focus in PLACE_NOUNS:
            kind = "where"
        else:
            kind = "which"
    period = time_range_in(q)
    explicit = bool(period is not None and (dates_in(q) or YEAR.search(q)))
    # Names in "according to X" say where the facts come from; the speaker is checked as one.
    sources_named = [m.group("who").strip() for m in ACCORDING.finditer(q)]
    sources = " ".join(sources_named).replace(".", "")  # question_names drops the dots of "Col."
    names = tuple(n for n in question_names(q) if n.replace(".", "") not in sources
                  and not (speaker and is_named(speaker)
                           and without_possessive(n) in speaker))
    # The person the facts should come from is preferred, not required (see newsrag.answering).
    source = next((w for w in sources_named if is_named(w)), None)
    # A speaker or source given by role is resolved against who the articles quote in it.
    role_of = next((w for w in [speaker, *sources_named] if w and not is_named(w)), None)
    return Reading(q, kind, focus, speaker if is_named(speaker) else None,
                   bool(WHO_SAID.match(q)), names, period, explicit, wants_name,
                   role and focus is not None, _counted(q) if kind == "count" else (),
                   source=source, speaker_role=role_of, terms=frozenset(tokenize(q)),
                   unit=_unit(q, kind),
                   offices=offices_in(q))


def _unit(question: str, kind: str) -> str | None:
    """What a count or a time must be given in (see UNITS), if the question says."""
    if kind == "count" and AGE_ASK.search(question) and not COUNTED.search(question):
        return "age"
    if kind in ("who", "which", "what") and CLAIM_ASK.search(question):
        return "claim"
    if kind == "count" and DISTANCE_ASK.search(question):
        return "distance"
    if kind == "count" and PRICE_ASK.search(question):
        return "money"
    if kind == "count" and MONEY_ASK.search(question) \
            and set(re.findall(r"[a-z]+", question.lower())) & MONEY_WORDS:
        return "money"
    if kind == "when":
        return next((unit for unit, pattern in (("clock", CLOCK_ASK), ("weekday", WEEKDAY_ASK))
                     if pattern.search(question)), None)
    if NATIONALITY_ASK.search(question) and _nationality_of(question):
        return "nationality"
    if kind == "which" and MODEL_ASK.search(question):
        return "model"
    return None


def _models(sentence: str, question: str) -> list[str]:
    """Model designations in ``sentence`` that ``question`` does not already name."""
    return [m.group() for m in MODEL_DESIGNATION.finditer(sentence)
            if m.group().lower() not in question.lower() and not YEAR.fullmatch(m.group())]


def _nationality_of(question: str) -> str | None:
    """The person whose nationality a question asks ("contractor"), if it names one."""
    words = [w for w in re.findall(r"[a-z]+", question.lower()) if w in PERSON_NOUNS
             and w not in ("citizen", "citizens", "national", "nationals")]
    return words[-1] if words else None


def offices_in(question: str) -> tuple[tuple[str | None, int], ...]:
    """The offices a question asks about, each with the country that holds it when the question
    says ("Iran's supreme leader" -> ("Iran", i), "the Saudi foreign minister" -> ("Saudi", j),
    "the US secretary of state" -> (None, k): the US has too many spellings to check)."""
    found: list[tuple[str | None, int]] = []
    taken: list[tuple[int, int]] = []
    phrases = sorted(((p, i) for i, group in enumerate(OFFICE_GROUPS) for p in group),
                     key=lambda x: -len(x[0]))
    for phrase, i in phrases:
        for m in re.finditer(rf"\b{re.escape(phrase)}\b", question, re.I):
            if any(a < m.end() and m.start() < b for a, b in taken):
                continue
            taken.append(m.span())
            if re.match(r"\s+[A-Z]", question[m.end():]):
                continue  # a title before its holder's name ("Defense Secretary Esper"): the name decides
            if re.search(r"\b(?:air|missile|civil)\s+$", question[:m.start()], re.I):
                continue  # "the air defence chief" heads no ministry
            before = re.search(r"([A-Z][\w-]+)(?:['’]s?)?\s+(?:[a-z]+\s+)?$", question[:m.start()])
            after = re.match(r"\s+(?:of|in)\s+(?:the\s+)?([A-Z][\w-]+)", question[m.end():])
            country = (before.group(1) if before and (before.start(1) > 0 or before.group(1).lower()
                                                      in COUNTRIES) else
                       after.group(1) if after else None)
            if country is not None and (country.lower().strip(".") in US_NAMES
                                        or country.lower() in QUESTION_OPENERS):
                country = None
            if (country, i) not in found:
                found.append((country, i))
    return tuple(found)


def office_mentioned(text: str, country: str | None, group: int) -> bool:
    """Whether ``text`` (a passage) names the office (any phrase of its group) and, when given,
    ``country`` or its people's word ("Iranian Supreme Leader Ayatollah Ali Khamenei", "the
    parliament of Iraq"; "The office of caretaker Prime Minister Adel Abdul Mahdi" in a passage
    about Iraq)."""
    if not any(re.search(rf"\b{re.escape(phrase)}\b", text, re.I) for phrase in OFFICE_GROUPS[group]):
        return False
    words = sorted(set(tokenize(text)))
    stems = [COUNTRY_METONYMS.get(t, t) for t in tokenize(country or "")]  # "London's" -> Britain
    return not country or any(t in words or demonym_related(t, words) for t in stems)


def _opens_as_doer(word: str, rest: str, reading: Reading) -> bool:
    """Whether a sentence's capitalised first word is a name doing what the question asks its
    X to have done: "Lufthansa cancelled its flights" for "Which airline cancelled ...?" (not
    for "At which university were students dispersed?": the university did not disperse them).
    A plain first word ("Officials", "The", "It", "After") is no name."""
    low = word.lower()
    if not reading.focus or low in SENTENCE_OPENERS or low in PERSON_NOUNS \
            or not word[1:].islower() or set(tokenize(word)) & reading.terms:
        return False
    following = re.match(r"\s+([a-z][\w'’-]*)", rest)
    asked = re.search(rf"\b{re.escape(reading.focus)}\s+([a-z][\w'’-]*)", reading.question, re.I)
    return following is not None and asked is not None \
        and bool(set(tokenize(following.group(1))) & set(tokenize(asked.group(1))))


# A name joined to a participle or adjective is a description, not a name: "Iran-aligned",
# "Iranian-backed", "U.S.-led", "Kurdish-run".
ADJECTIVE_COMPOUND = re.compile(r"[A-Z][\w.’']*-(?:[a-z]+ed|led|run|made|born|held|bound|"
                                r"based|built|owned|funded|linked|allied|style|era)")


def _new_names(sentence: str, question_terms: frozenset[str], people: bool = False,
               reading: Reading | None = None) -> list[str]:
    """Capitalised runs of the sentence that the question does not contain (past a sentence's
    first word, unless that word starts a longer run); ``people``: not after a preposition of
    place ("in Al Asad" names a place, not who)."""
    out = []
    for m in CAPITALISED_RUN.finditer(sentence):
        run = m.group().strip(".")
        if m.start() == 0:
            # "An American contractor": the article is no part of a name.
            run = re.sub(r"^(?:A|An|The)\s+", "", run)
            if " " not in run and m.group().strip(".") == run and not (
                    reading is not None and _opens_as_doer(run, sentence[m.end():], reading)):
                continue
        if run in ("I", "I'm", "I’m", "I've", "I’ve", "I'll", "I’ll", "I'd", "I’d"):
            continue
        if ADJECTIVE_COMPOUND.fullmatch(run):  # "Iran-aligned militias", "U.S.-led coalition"
            continue
        if people and re.search(r"\b(?:in|at|near|from|to|into|outside|across)\s+(?:the\s+)?$",
                                sentence[:m.start()], re.I):
            continue
        tokens = set(tokenize(run))
        if tokens and not tokens <= question_terms and run.lower() not in MONTH_NAMES \
                and run.lower() not in WEEKDAYS:
            out.append(run)
    return out


def _without_dates(text: str) -> str:
    """``text`` with its full dates blanked out (same length, so offsets still hold)."""
    for s, e, _ in dates_in(text):
        text = text[:s] + " " * (e - s) + text[e:]
    return text


def _counts(sentence: str, question: str) -> list[str]:
    """Numbers in the sentence that are counts (not years, days of a date or clock times) and
    are not already in the question."""
    masked = _without_dates(sentence)
    if not re.search(r"\b(?:time|long|clock)\b", question, re.I):  # "how much time was left?"
        masked = CLOCK.sub(lambda m: " " * len(m.group()), masked)
    # Nor does a day of a month ("Jan. 8", "8 January") or a number in a name ("Boeing 737-800").
    masked = MONTH_DAY.sub(lambda m: " " * len(m.group()), masked)
    masked = MODEL_NUMBER.sub(lambda m: m.group(1) + " " * (len(m.group()) - len(m.group(1))), masked)
    matches = [m for m in NUMBER.finditer(masked) if not YEAR.fullmatch(m.group())]
    matches += [m for m in WORD_NUMBER.finditer(masked) if m.group().lower() not in VAGUE_COUNTS
                and not ONE_OF_THE.match(masked, m.start())]
    asked = question.lower()
    matches = [m for m in matches if m.group().lower() not in asked]
    if not DURATION_ASK.search(question):  # "two days after the strike" counts no lawmakers
        matches = [m for m in matches if not DURATION_UNIT.match(masked, m.end())]
    return [m.group() for m in matches]


def names_a_day(sentence: str) -> bool:
    """Whether the sentence dates something to the day ("on January 3", "8 January 2020"), not
    only to a month or a year."""
    return MONTH_DAY.search(sentence) is not None


def answer_evidence(reading: Reading, sentence: str) -> bool:
    """Whether ``sentence`` holds a thing of the kind the question asks for, beyond what the
    question itself says: a new name for who/where/which, a date or time for when, a count for
    how many. Untyped questions (what, how, why) need nothing."""
    kind = reading.kind
    if reading.unit == "age":
        return AGE.search(sentence) is not None
    if reading.unit == "claim" and CLAIM.search(sentence) is None:
        return False  # and otherwise the name asked for, as below
    if kind == "count":
        if reading.unit == "money":
            return any(m.group() not in reading.question for m in CURRENCY.finditer(sentence))
        if reading.unit == "distance":
            return any(m.group() not in reading.question for m in DISTANCE.finditer(sentence))
        if not tells_what_happened(reading, sentence):
            return False  # "22 missiles were fired" counts none intercepted
        if _counts(sentence, reading.question):
            return True
        # "thousands of Americans" gives no figure: it answers only beside what is counted and
        # what is done to it ("How many Americans did he wound?"), not "How many soldiers
        # suffered brain injuries?".
        done = reading.terms - set(reading.counted) - _generic_count_terms() \
            - {t for n in reading.names for t in tokenize(n)}
        return any(m.group().lower() in VAGUE_COUNTS for m in WORD_NUMBER.finditer(sentence)) \
            and bool(done & set(tokenize(sentence))) and focused_evidence(reading, sentence)
    if kind == "when" and reading.unit == "clock":
        return bool(CLOCK.search(sentence) or TIME_OF_DAY.search(sentence))
    if kind == "when" and reading.unit == "weekday":
        return re.search(r"\b(?:" + "|".join(WEEKDAYS) + r")\b", sentence, re.I) is not None
    if kind == "when" and not tells_what_happened(reading, sentence):
        return False  # "When did the US retaliate?": not the date of the attack
    if kind == "when":
        # "in January 2020" in the question is not the answer
        text = _without_dates(sentence) if reading.period is not None else sentence
        new_time = [m.group() for m in TIME_EXPRESSION.finditer(text)
                    if m.group().lower() not in reading.question.lower()]
        return bool(new_time or CLOCK.search(text) or dates_in(text) or RELATIVE_TIME.search(text)
                    or [y for y in ANY_YEAR.findall(text) if y not in reading.question])
    if kind == "why":
        low = sentence.lower()
        return any(marker in low for marker in REASON_MARKERS)
    if reading.unit == "nationality":
        return _nationality_given(reading, sentence)
    if reading.unit == "model" and _models(sentence, reading.question):
        return True
    if kind in ("who", "where", "which"):
        found = _new_names(sentence, reading.terms, people=kind == "who", reading=reading)
        if reading.wants_name:  # a person's name has at least two capitalised words
            return any(len(n.split()) >= 2 and not n.isupper() for n in found)
        if kind == "who" and reading.focus in PERSON_NOUNS and reading.focus not in BODY_NOUNS:
            # "Which commander ...?" wants a person: not "Ukraine International Airlines".
            return any(_person_like(n) for n in found)
        if found:
            return True
        words = set(re.findall(r"[a-z]+", sentence.lower()))
        if kind == "who":
            # "Which group ...?" is not answered by "little-known groups ... militias": a word
            # for the kind of thing asked is no name of one.
            same_kind = set().union(*(g for g in FOCUS_SYNONYMS if reading.focus in g)) \
                if reading.focus and not reading.role else set()
            return bool(words & PERSON_NOUNS - set(reading.question.lower().split()) - same_kind)
        if kind == "where":
            return bool(PLACE_PREPOSITION.search(sentence))
        return reading.focus is not None and reading.focus.rstrip("s") in sentence.lower()
    return True


def _nationality_given(reading: Reading, sentence: str) -> bool:
    """Whether the sentence gives the nationality of the person asked about: a people's word or
    a country the question does not name, within FOCUS_SPAN words of that person ("a Filipino
    contractor", "the contractor, a citizen of the Philippines"); "an American service member"
    two clauses on is someone else's."""
    person = _nationality_of(reading.question)
    if person is None:
        return False
    wanted = set(tokenize(person))
    for m in re.finditer(r"\b[A-Z][a-z]+\b", sentence):
        word = m.group().lower()
        if set(tokenize(word)) & reading.terms:
            continue
        if looks_like_demonym(word) or word in COUNTRIES or word in IRREGULAR_DEMONYMS \
                or word in US_NAMES:
            if _stems_around(sentence, m.start(), m.end()) & wanted:
                return True
    return False


def _person_like(name: str) -> bool:
    """Whether a name could be a person's: not in capitals, none of its words a word of bodies
    or places ("Airlines", "Airport", "Command"). One word may be one ("Charlemagne")."""
    return not name.isupper() and not any(
        w.lower().strip(".,") in NON_PERSON_NAME_WORDS for w in name.split())


# How many words may stand between the thing asked for and the word saying what it is: "14
# rockets", "82 Iranians", "a group calling itself Saraya Awliya al-Dam".
FOCUS_SPAN = 4
# What may stand between a name and the word for what it is, for the name to be that thing.
FOCUS_JOINERS = frozenset(["and", "the", "a", "an", "at", "in", "near", "of", "on", "called",
                           "named", "known", "as", "s", "new", "acting", "interim"])


def _words_around(text: str, start: int, end: int) -> tuple[list[str], list[str], list[str]]:
    """The FOCUS_SPAN words before ``text[start:end]`` (in text order), its words, and the
    FOCUS_SPAN words after it."""
    return (re.findall(r"[\w’'-]+", text[:start])[-FOCUS_SPAN:],
            re.findall(r"[\w’'-]+", text[start:end]),
            re.findall(r"[\w’'-]+", text[end:])[:FOCUS_SPAN])


def _stems_around(text: str, start: int, end: int) -> set[str]:
    """Stems of ``text[start:end]`` and the FOCUS_SPAN words either side of it, abbreviated
    titles spelled out ("Gen." -> general)."""
    before, inside, after = _words_around(text, start, end)
    words = [TITLE_ABBREVIATIONS.get(w.lower(), w) for w in before + inside + after]
    return set(tokenize(" ".join(words)))


def _bare(stem: str) -> str:  # the stemmer keeps the "e" of "base" but not of "airbas"
    return stem[:-1] if stem.endswith("e") else stem


@lru_cache(maxsize=1024)
def _compound_ends(stems: frozenset[str]) -> tuple[frozenset[str], frozenset[str]]:
    """The stems without a final "e", and the ends of those that could be a compound's last
    word: at least three letters, at least three letters into the word."""
    bare = frozenset(map(_bare, stems))
    return bare, frozenset(b[i:] for b in bare for i in range(3, len(b) - 2))


def _shares_focus(stems: set[str], wanted: set[str]) -> bool:
    """Whether a word of ``stems`` is a word asked for, alone or as the end of a compound
    ("airbases" for "bases", "bases" for "airbases")."""
    if stems & wanted:
        return True
    bare_stems, stem_ends = _compound_ends(frozenset(stems))
    bare_wanted, wanted_ends = _compound_ends(frozenset(wanted))
    return bool(bare_stems & wanted_ends or bare_wanted & stem_ends)


def _focus_words(words: tuple[str, ...] | list[str]) -> set[str]:
    """Stems that name what is asked for; a person noun stands for any person noun ("people"
    are counted as "personnel", "Iranians" as "passengers")."""
    stems = set(tokenize(" ".join(words)))
    if any(w.lower() in PERSON_NOUNS for w in words):
        stems |= set(tokenize(" ".join(PERSON_NOUNS)))
    return stems


def counted_nationality(question: str) -> set[str]:
    """Stems of the people a count question counts by nationality ("Iranian" in "How many
    Iranian nationals died?"); every spelling of the US for "American", "U.S.". Empty when the
    question counts no nationality."""
    for word in counted_phrase(question).split():
        if word[:1].isupper() and word.lower() in US_NAMES:
            return set(tokenize(" ".join(US_NAMES)))
        if word[:1].isupper() and looks_like_demonym(word.lower()):
            return set(tokenize(word))
    return set()


def focused_evidence(reading: Reading, sentence: str) -> bool:
    """Whether the thing asked for stands right beside the word for what it is: a count
    next to what the question counts ("14 rockets" for "How many rockets ...?"), a new name
    beside the role asked about ("Pentagon spokeswoman Alyssa Farah" for "Which spokeswoman
    ...?"). Evidence elsewhere in the sentence may count or name something else ("wounding nine
    personnel")."""
    if reading.kind == "count" and reading.counted:
        wanted = set(reading.counted)
        masked = _without_dates(sentence)
        spans = [m.span() for m in NUMBER.finditer(masked) if not YEAR.fullmatch(m.group())]
        spans += [m.span() for m in WORD_NUMBER.finditer(masked)]
        nationality = counted_nationality(reading.question)
        counted = NUMBER_OF.search(masked)
        if counted and any(a >= counted.end() for a, _ in spans):
            # "The number of American service members diagnosed ... has risen to 109"
            stems = set(tokenize(counted.group(1)))
            if _shares_focus(stems, wanted) and (not nationality or stems & nationality):
                return True
        if nationality:
            # "How many Iranian nationals died?" counts Iranians: "82 Iranians", not "all 176
            # people on board".
            return any(_stems_around(sentence, a, b) & nationality for a, b in spans)
        nationals = {m.span(): m.group() for m in re.finditer(r"\b[A-Z][a-z]+(?:ans|is|ese|s)\b",
                                                              sentence)}
        return any(_shares_focus(_stems_around(sentence, a, b), wanted)
                   or any(0 <= s0 - b <= 2 for s0, _ in nationals)  # "82 Iranians"
                   for a, b in spans)
    if reading.unit == "model":
        # A model designation is what it is ("a Boeing 737-800 bound for Kyiv"); a name beside
        # "plane" is its airline.
        return bool(_models(sentence, reading.question))
    if reading.kind == "who" and reading.focus is None and not reading.who_said:
        return _names_the_doer(reading, sentence)
    return any(True for _ in _focused_names(reading, sentence))


def _names_the_doer(reading: Reading, sentence: str) -> bool:
    """Whether a new name comes before the verb a "Who <verb> ...?" question asks about, in
    the same sentence: "A group calling itself Saraya Awliya al-Dam ... claimed responsibility"
    for "Who claimed the rocket attack?", where "the last time the airport was targeted" only
    repeats the question."""
    m = WHO_DID.match(reading.question)
    if not m or m.group("verb").lower() in AUXILIARIES:
        return False  # "Who was killed?", "Who is the pilot?": no deed to find its doer by
    verb = set(tokenize(m.group("verb")))
    if not verb:
        return False
    at = next((w.start() for w in re.finditer(r"[A-Za-z][\w'’-]*", sentence)
               if set(tokenize(w.group())) & verb), None)
    if at is None:
        return False
    return any(0 <= sentence.find(n) < at
               for n in _new_names(sentence, reading.terms, people=True, reading=reading))


def tightly_focused(reading: Reading, sentence: str) -> bool:
    """Whether a new name *is* the thing asked for, not merely near its word: joined to it
    by nothing but names, articles, "and" and a preposition ("the Al-Asad and Irbil
    airbases", "bases at Al-Asad", "spokeswoman Alyssa Farah", "Alyssa Farah, a Pentagon
    spokeswoman"), where "... of UN Charter targeting base" names something else. For a count:
    the number does what the question asks about ("168 attended" for "How many lawmakers
    attended ...?")."""
    if reading.kind == "count":
        verbs = reading.terms - set(reading.counted) - _generic_count_terms()
        masked = _without_dates(sentence)
        for m in list(NUMBER.finditer(masked)) + list(WORD_NUMBER.finditer(masked)):
            following = re.findall(r"[A-Za-z][\w'’-]*", masked[m.end():])[:2]
            if set(tokenize(" ".join(following))) & verbs:
                return True
        return False
    for a, b, wanted in _focused_names(reading, sentence):
        if a == 0 and _opens_as_doer(sentence[:b], sentence[b:], reading):
            return True  # the doer of the verb asked about: "Lufthansa cancelled ..."
        before, inside, after = _words_around(sentence, a, b)
        if len(inside) > 2 and any(_shares_focus(set(tokenize(w)), wanted) for w in inside[:-2]):
            return True  # the title heads the name's own run: "Defense Secretary Lloyd Austin"
        for words in (before[::-1], after):  # nearest first
            for w in words:
                if _shares_focus(set(tokenize(TITLE_ABBREVIATIONS.get(w.lower(), w))), wanted):
                    return True
                if not (w[0].isupper() or w.lower() in FOCUS_JOINERS):
                    break
    return False


def _focused_names(reading: Reading, sentence: str) -> Iterator[tuple[int, int, set[str]]]:
    """Spans of the new names that stand within FOCUS_SPAN words of the word for what a
    which/who/where question asks for, with that word's stems."""
    if reading.kind not in ("which", "who", "where") or not reading.focus:
        return
    roles = [group for group in FOCUS_SYNONYMS if reading.focus in group]
    wanted = set(tokenize(" ".join([reading.focus, *roles[0]] if roles else [reading.focus])))
    names = set(_new_names(sentence, reading.terms, people=reading.kind == "who",
                         reading=reading))
    if reading.role:  # a person's name: "Capt. Volodymyr Gaponenko", not "U.S.-led"
        names = {n for n in names if len(n.split()) >= 2 and not n.isupper()}
    for m in CAPITALISED_RUN.finditer(sentence):
        if re.search(r"[A-Za-z.]-[a-z]+$", m.group()):
            continue  # "a U.S.-run camp", "Iran-backed militias": who runs it, not its name
        if m.group().strip(".") in names and (
                _shares_focus(_stems_around(sentence, *m.span()), wanted)
                or (m.start() == 0 and not reading.role  # "Lufthansa cancelled ...": the doer
                    and _opens_as_doer(m.group(), sentence[m.end():], reading))):
            yield m.start(), m.end(), wanted


SAYS = re.compile(rf"\b(?:{_SAYING})\b", re.I)


def tells_what_happened(reading: Reading, sentence: str) -> bool:
    """Whether the sentence says what the count or "when" question asks happened, in any of
    its group's words (EVENT_PREDICATES); true when the question's verb is in no group."""
    if reading.kind not in ("count", "when"):
        return True
    if reading.kind == "when" and SAYS.search(reading.question):
        return True  # "On what day did Trudeau say a missile had downed the plane?": the saying
    return all(p.search(sentence) for p in _event_predicates(reading.question))


# How many words after what a count question counts may name what was done to it.
PREDICATE_SPAN = 4
# Each EVENT_PREDICATES group as one pattern finding any of its words.
EVENT_PATTERNS = tuple(re.compile(r"\b(?:" + "|".join(re.escape(w).replace(r"\ ", r"\s+")
                                                        for w in group) + r")\b", re.I)
                       for group in EVENT_PREDICATES)


@lru_cache(maxsize=1024)
def _event_predicates(question: str) -> tuple[re.Pattern[str], ...]:
    """The EVENT_PREDICATES group of what a count or "when" question asks about, as a pattern
    finding any of its words (the answer must say it too); empty when the question's verb is in
    no group. A count's verb is looked for in the few words after what is counted ("how many
    Canadians were killed on the jet Iran shot down": killed, not shot down; "how many of the
    109 injured troops went back": none); elsewhere the first group's word before any comma."""
    counted = COUNTED.search(question)
    region = question.split(",")[0]  # "..., leading to the death of a contractor" is no verb
    if counted is not None and COUNT_ASK.search(question):
        region = " ".join(question[counted.end():].split()[:PREDICATE_SPAN])
    found = [(m.start(), p) for p in EVENT_PATTERNS if (m := p.search(region)) is not None]
    return (min(found, key=lambda f: f[0])[1],) if found else ()


@lru_cache(maxsize=1)
def _generic_count_terms() -> frozenset[str]:
    """Stems of a count question's own words that say nothing of what is done: "how many",
    "were", "the number of"."""
    return frozenset(tokenize(" ".join([*AUXILIARIES, "how", "many", "much", "number", "total",
                                        "what"])))


@lru_cache(maxsize=1)
def _generic_tokens() -> tuple[frozenset[str], frozenset[str]]:
    """Stemmed title words (never what a name is checked by) and the spellings of the US."""
    return (frozenset(tokenize(" ".join(TITLE_WORDS | NAME_CONNECTORS))),
            frozenset(tokenize(" ".join(US_NAMES))))


# A name written as an acronym ("VOA", "TBI").
ACRONYM = re.compile(r"[A-Z]{2,6}")


def initials_of(text: str) -> set[str]:
    """Acronyms the text spells out: "Voice of America" -> VOA and VA."""
    out: set[str] = set()
    for m in re.finditer(r"[A-Z][a-z]+(?:\s+(?:of|the|for|and|[A-Z][a-z]+))+", text):
        words = m.group().split()
        out.add("".join(w[0] for w in words).upper())
        out.add("".join(w[0] for w in words if w[0].isupper()))
    return out


def spelled_out(acronym: str) -> re.Pattern[str]:
    """Words whose initials spell ``acronym``, in any case and with "of", "the", "for", "and"
    between them: "traumatic brain injury" for TBI, "Syrian Observatory for Human Rights" for
    SOHR."""
    skip = r"(?:(?:of|the|for|and|on|in)\s+)?"
    words = [rf"{re.escape(c)}[\w’'-]*" for c in acronym.lower()]
    return re.compile(r"\b" + rf"\s+{skip}".join(words) + r"\b", re.I)


class NameCoverage:
    """Whether an article contains a name, give or take its spelling.

    A question's names are its constraints: "What did Blinken say about Erbil?" is not answered
    by an article that never names Erbil, however close its sentences are. A multi-word name is
    covered when at least half of its distinctive words are (so "Ain al-Assad" is found as
    "Al-Asad"), each word exactly or one or two letters off; an acronym ("VOA") when the article
    or its source spells it out; titles ("Secretary", "General") and the many spellings of the
    United States never decide.
    """

    def __init__(self, text: str):
        self.tokens = frozenset(tokenize(text))
        self._list = sorted(self.tokens)
        self.initials = initials_of(text)
        self._text = text

    def _has(self, token: str) -> bool:
        if token in self.tokens:
            return True
        # Written as two words in the text: "Superbowl" / "Super Bowl".
        if any(token[:i] in self.tokens and token[i:] in self.tokens for i in range(3, len(token) - 2)):
            return True
        match = closest_spelling(token, self._list)
        # "Which French king ...?" is answered by an article about the king of France.
        if (match is not None and match[:1] == token[:1]) or demonym_related(token, self._list):
            return True
        # "Tehran's strike" by an article on Iran's (or the Iranian) strike.
        country = COUNTRY_METONYMS.get(token)
        return country is not None and (country in self.tokens
                                        or demonym_related(country, self._list))

    def covers(self, name: str) -> bool:
        if name_found(name, self._has, self.initials):
            return True
        # An acronym spelled out in lower case ("traumatic brain injuries" for TBI), as
        # Retriever.unknown_terms accepts it corpus-wide.
        return ACRONYM.fullmatch(name) is not None and spelled_out(name).search(self._text) is not None


def distinctive_tokens(name: str) -> list[str] | None:
    """The tokens a name is recognised by; None when it never decides (a spelling of the US,
    or only titles). Compounds come with their parts ("al-assad", "al", "assad"): the parts
    decide."""
    titles, us = _generic_tokens()
    tokens = list(dict.fromkeys(tokenize(name)))
    if not tokens or any(t in us for t in tokens):
        return None
    distinctive = [t for t in tokens if t not in titles and "-" not in t
                   and (len(t) > 2 or (re.search(r"\d", t) and re.search(r"[a-z]", t)))]  # "K1"
    return distinctive or None


def name_found(name: str, has: Callable[[str], bool], initials: Set[str]) -> bool:
    """Whether a text with word test ``has`` and spelled-out acronyms ``initials`` contains
    ``name``: at least half of its distinctive words, or the acronym spelled out."""
    if ACRONYM.fullmatch(name) and name in initials:
        return True
    distinctive = distinctive_tokens(name)
    if distinctive is None:
        return True
    return 2 * sum(map(has, distinctive)) >= len(distinctive)
