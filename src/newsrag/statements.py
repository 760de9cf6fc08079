"""Statements: who said what, when and where, found while reading the articles.

Two shapes occur in news copy and in the seeds:

- a quotation paragraph followed by an attribution line ("Javad Zarif via Twitter, January 7,
  2020"), often after a lead-in ("As US Secretary of Defense Mark Esper stated to the press,");
- reported speech in the running text ("..., Defense Secretary Lloyd Austin said on March 7",
  "Speaking to the ABC media network, the top official stressed that ...", "As per the
  Associated Press, ...").

A speaker written as a role or a pronoun ("the top official", "he") is resolved to the person the
article last named as a speaker; a quotation with no speaker anywhere near keeps none, never an
invented one. Spellings are joined through the :class:`~newsrag.names.NameTable`, so "Austim" and
"Lloyd Austin" are one speaker. Rules, not a model: they are cheap, need no download, and each one
can be read and tested; they expect English news prose.
"""

from __future__ import annotations

import json
import re
from bisect import bisect_right
from collections import Counter
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Iterable, Sequence

from .articles import Article
from .dates import WEEKDAY, MONTH_NAMES, TimeRange, dates_in, format_date, weekday_at
from .lexicon import INTERVIEWER_LABELS, PERSON_NOUNS, WEEKDAYS
from .lexical import demonym_related, looks_like_demonym
from .names import NameTable
from .passages import DATELINE, SPEAKER_LABEL, is_attribution_line, split_sentences

__all__ = ["Statement", "StatementBook", "extract_statements"]

SPEECH_VERBS = (
    "said|says|stated|states|stressed|stresses|warned|warns|claimed|claims|told|tells|added|adds|"
    "announced|announces|promised|promises|threatened|threatens|vowed|vows|revealed|reveals|"
    "alleged|alleges|responded|responds|insisted|insists|noted|notes|argued|argues|declared|"
    "declares|tweeted|tweets|wrote|writes|confirmed|confirms|denied|denies|urged|urges|"
    "explained|explains|acknowledged|admitted|suggested|suggests|hinted|accused|blamed|pledged|"
    "pledges|reiterated|remarked|replied|asserted|asserts|called for|took the position|continued|"
    "condemned|condemns|denounced|denounces"
)
# Verbs that name what something is ("called the attack \"a dangerous escalation\""): a remark
# only when a quotation follows; the quotation is then the remark ("a group called Saraya ..."
# is no speech).
NAMING_VERBS = "called|calls|described|describes|termed|terms|branded|brands|dubbed|labell?ed"
VERB = re.compile(rf"\b(?:({SPEECH_VERBS})|(?P<naming>{NAMING_VERBS})(?=[^\"“.]{{0,60}}[\"“]))\b")
# "a spokesman for the Anbar Operations Command": a role set beside a name by commas.
APPOSITIVE = re.compile(r"(?:a|an|the)\s+((?:[a-z][\w’'-]*\s+){0,3}?(?:"
                        + "|".join(sorted(PERSON_NOUNS, key=len, reverse=True)) + r")\b.{0,80})")
# A name with its title: capitalised words, an Arabic name's "al-", "of" ("Col. Saad al-Obeidi").
NAME_PHRASE = re.compile(r"(?:[A-Z][\w.’'-]*|[a-z]{1,3}-[A-Z][\w’'-]*)"
                         r"(?:\s+(?:[A-Z][\w.’'-]*|[a-z]{1,3}-[A-Z][\w’'-]*|of))*")
# The speaker after the verb: '"...," said Hamid al-Mousawi, a Fatah lawmaker from Basra.'
SAID_NAME = re.compile(rf"\s+(?P<name>{NAME_PHRASE.pattern})"
                       r"(?:,\s+(?:a|an|the)\s+(?P<role>[^,.;]{3,80}))?")
# A quotation's attribution right after its closing mark: '," al-Obeidi said', '," said Kirby'.
ATTRIBUTED_AFTER = re.compile(rf"[ \t]*(?:(?:[A-Z][\w.’'-]*|[a-z]{{1,3}}-[A-Z][\w’'-]*|he|she|they)"
                              rf"(?:\s+[A-Z][\w.’'-]*){{0,3}}\s+({SPEECH_VERBS})\b"
                              rf"|[ \t]*({SPEECH_VERBS})\s+[A-Z])")
# A sentence's subject when it is a name: '"Col. Wayne Marotto, a spokesman for ..., gave"',
# '"Marotto described ..."' (then a role after a comma, or a verb in lower case).
SUBJECT_NAME = re.compile(rf"(?P<name>{NAME_PHRASE.pattern})(?:,\s+(?P<role>(?:a|an|the)\s+"
                          rf"(?:[a-z][\w’'-]*\s+){{0,3}}?(?:{'|'.join(sorted(PERSON_NOUNS))})\b)|"
                          r"\s+[a-z])")
# Words that may stand between a speaker and the verb ("Esper also took", "have revealed").
BETWEEN = re.compile(r"(?:\s+(?:also|then|later|again|publicly|reportedly|seemingly|has|have|had|"
                     r"was|were|is|had also|has also|have also))*\s*$")
# Words of a role as a question writes it that say nothing of the office ("the U.S. secretary").
ROLE_FILLER = frozenset(["the", "of", "us", "and", "for", "then", "former", "american", "military",
                         "senior"])
# Titles and offices: part of a speaker's role, never of the name.
ROLE_WORDS = frozenset(
    "president vice secretary minister ministry foreign defense defence state prime supreme "
    "leader general gen commander spokesman spokeswoman spokesperson ambassador chief director "
    "senator sen governor gov deputy admiral adm colonel col major maj captain capt lieutenant "
    "lt officer official representative rep speaker chairman chair head envoy top senior "
    "former acting us u.s. iranian iraqi american british national security advisor "
    "adviser ayatollah mayor manager chancellor premier affairs of the".split()
)
# The words of ROLE_WORDS that make a person's title; the rest only qualify one ("of",
# "Foreign", "State"), so "Veterans of Foreign Wars" holds no title and is an organisation.
TITLES = ROLE_WORDS - frozenset("of the affairs foreign defense defence state national security us u.s. "
                                "iranian iraqi american british former acting top senior".split())
_ROLE_NOUNS = sorted(PERSON_NOUNS | TITLES, key=len, reverse=True)
# The same without its article, in lower case: "Gen. Mark Milley, chairman of the Joint Chiefs of
# Staff, said".
BARE_APPOSITIVE = re.compile(r"((?:[a-z][\w’'-]*\s+){0,3}?(?:" + "|".join(_ROLE_NOUNS)
                             + r")\b.{0,80})")
# A sentence opening that sets the scene of a remark ("Asked about them in Davos, Trump said").
PARTICIPLE_OPENING = re.compile(r"^\s*(?:Asked|Pressed|Questioned|Interviewed|[A-Z][a-z]+ing)\b")
# A role that ends right before a name set off by commas: "Iraq's caretaker prime minister,".
ROLE_BEFORE_NAME = re.compile(r"\b(?:" + "|".join(_ROLE_NOUNS)
                              + r")\s*,\s*$", re.I)
# Speech verbs that carry the remark's sense, kept in it: "denied any role in the attack" (without
# the verb, the opposite), "claimed responsibility", "vowed revenge".
KEEP_VERB = frozenset("denied denies condemned condemns denounced denounces responded responds "
                      "accused blamed admitted acknowledged confirmed confirms threatened "
                      "threatens vowed vows promised promises pledged pledges urged urges claimed "
                      "claims".split())
# Words that open a sentence's subject and are never a name: "No group has claimed ...".
NOT_A_NAME = frozenset("no none nobody neither nor each every some many most several all both "
                       "any another other such this these those".split())
HONORIFICS = frozenset("dr dr. mr mr. mrs mrs. ms ms. prof prof. sir".split())
PRONOUN_SUBJECT = re.compile(r"\b(he|she|it|they)$", re.I)
ROLE_REFERENCE = re.compile(
    r"\bthe(?:\s+[a-z-]+){0,3}?\s+(official|minister|secretary|president|spokesman|spokeswoman|"
    r"spokesperson|general|leader|commander|diplomat|envoy|chief|director|mayor|governor|"
    r"ambassador|head|manager|chairman|chairwoman|senator|premier|chancellor|"
    r"press secretary)(\s+of\s+[a-z]+)?$")
# "Vice President Mike Pence" is not who "the president" means, nor is a former or deputy one.
NOT_ANOTHER_OFFICE = r"(?<![\w-])(?<!(?i:vice)\s)(?<!(?i:vice)-)(?<!(?i:deputy)\s)(?<!(?i:former)\s)"
GROUP_SUBJECT = re.compile(r"((?:[A-Z][\w’'-]*\s+)?(?:authorities|officials|diplomats|sources|"
                           r"military|government|ministry|administration|pentagon))$", re.I)
ACCORDING_TO = re.compile(r"\b(?i:according to|as per)\s+(?:the\s+)?([A-Z][\w.&-]*(?:\s+[A-Z][\w.&-]*)*)")
CHANNELS = (
    re.compile(r"\bvia\s+([A-Z][\w.]*(?:\s+[A-Z][\w.]*)*)"),
    re.compile(r"\bon\s+(Twitter|Facebook|Instagram|Telegram|X|state television|state TV|"
               r"television|TV|radio)\b"),
    re.compile(r"\b(?:[Ss]peaking|[Tt]alking|told|said|stated|spoke)\s+to\s+(?:the\s+)?"
               r"([A-Z][\w.&-]*(?:\s+[A-Z][\w.&-]*)*(?:\s+(?:media network|network|television|"
               r"newspaper|news agency|radio|magazine))?)"),
    re.compile(r"\bto\s+(the press|reporters|journalists)\b"),
    re.compile(r"\b(?:in|at)\s+an?\s+((?:press\s+)?(?:statement|briefing|press conference|"
               r"interview|speech|televised address))\b"),
)
SOCIAL = frozenset("twitter facebook instagram telegram x youtube".split())
BROADCAST = frozenset(["television", "tv", "radio", "state television", "state tv"])
FORMATS = frozenset("statement briefing conference interview speech address".split())
QUOTED = re.compile(r"(?<!\w)(?:“([^”]+)”|\"([^\"]+)\"|‘([^’]+)’(?!\w)|'([^']+)'(?!\w))")
QUOTE_CHARS = re.compile(r"[\"“”]")
# A name's word: capitalised, an initial, or an Arabic name's article joined to it ("al-Obeidi").
NAME_TOKEN = re.compile(r"^(?:[A-Z][\w’'-]*|[A-Z]\.|[a-z]{1,3}-[A-Z][\w’'-]*)$")


@dataclass(frozen=True)
class Statement:
    """One thing someone said, as the article reports it.

    ``start``/``end`` is the quoted (or reported) span in the article text; ``context_start``/
    ``context_end`` the whole sentence or quotation block with its attribution, which is what a
    passage must overlap to carry the statement. ``dated_by`` says where ``date`` comes from:
    the attribution line, the text ("on March 7"), or only the article's date.
    """

    article_id: str
    kind: str  # "quotation", "reported" or "transcript" (a speaker's turn in a transcript)
    speaker: str | None
    speaker_as_written: str | None
    role: str | None
    channel: str | None
    date: str | None
    dated_by: str | None
    quote: str
    start: int
    end: int
    context_start: int
    context_end: int

    def label(self) -> str:
        """'Javad Zarif, via Twitter, 7 Jan 2020', as shown on a citation."""
        parts = [self.speaker or "unattributed"]
        if self.channel:
            low = self.channel.lower()
            prep = ("via" if low in SOCIAL else "on" if low in BROADCAST
                    else "in a" if low.split()[-1] in FORMATS else "to")
            parts.append(f"{prep} {self.channel}")
        if self.date:
            # only the article's date is known: that is when it was reported, not when it was said
            parts.append(("reported " if self.dated_by == "article" else "") + format_date(self.date))
        return ", ".join(parts)

    def to_dict(self) -> dict:
        return {**asdict(self), "label": self.label()}


# ---- reading one article ----------------------------------------------------------------------
def _split_speaker(phrase: str) -> tuple[str | None, str | None]:
    """'Secretary of Defense Dr. Mark T. Esper' -> ('Mark T. Esper', 'Secretary of Defense')."""
    tokens = phrase.split()
    name: list[str] = []
    while tokens and NAME_TOKEN.match(tokens[-1]) and tokens[-1].lower().strip(".,") not in ROLE_WORDS \
            and tokens[-1].lower() not in HONORIFICS:
        name.insert(0, tokens.pop())
    role_words: list[str] = []
    while tokens and (tokens[-1].lower().strip(",") in ROLE_WORDS or tokens[-1].lower() in HONORIFICS):
        word = tokens.pop()
        if word.lower() not in HONORIFICS:
            role_words.insert(0, word)
    if (name and role_words and role_words[0].lower() == "of" and tokens
            and NAME_TOKEN.match(tokens[-1]) and not any(w.lower() in TITLES for w in role_words)):
        # "Joint Chiefs of Staff", "Veterans of Foreign Wars", "Guardians of the Blood
        # Brigade": one organisation's name, not a person called "Staff" or "Wars".
        org = [*role_words, *name]
        while tokens and NAME_TOKEN.match(tokens[-1]) and tokens[-1].lower() not in ROLE_WORDS:
            org.insert(0, tokens.pop())
        return " ".join(org).strip(","), None
    while role_words and role_words[0].lower() in ("of", "the"):
        role_words.pop(0)
    if role_words and tokens and _qualifies_office(tokens[-1]):
        # "Danish Defence Minister Trine Bramsen", "Norway's Defence Minister ...": whose
        # office it is tells two defence ministers apart.
        role_words.insert(0, tokens.pop().rstrip(","))
    name = [w for w in name if not w.endswith(("’s", "'s"))]
    if not name or all(re.fullmatch(r"[A-Z]\.", w) for w in name):
        return None, None
    return " ".join(name).strip(",") or None, " ".join(role_words) or None


def _qualifies_office(word: str) -> bool:
    """Whether a capitalised word before an office says whose it is: a country's possessive
    ("Norway's") or its people's word ("Danish", "Iraqi")."""
    return word[:1].isupper() and (word.endswith(("'s", "’s"))
                                   or looks_like_demonym(word.lower().rstrip(",")))


def _channel(text: str) -> str | None:
    for pattern in CHANNELS:
        if m := pattern.search(text):
            return m.group(1).strip()
    return None


def _parse_attribution(line: str, article_date: str | None
                       ) -> tuple[str | None, str | None, str | None, str | None]:
    """(speaker, role, channel, date) from 'US President Donald Trump via Twitter, January 7, 2020'."""
    dates = dates_in(line, article_date)
    date = dates[0][2] if dates else None
    head = line[: dates[0][0]] if dates else line
    channel = _channel(head)
    head = re.split(r"\bvia\b|,", head)[0].strip()
    speaker, role = _split_speaker(head)
    return speaker, role, channel, date


@dataclass
class _Speaker:
    name: str
    role: str | None


class _ArticleReader:
    """Statements of one article, in text order, with the last named speaker remembered."""

    def __init__(self, article: Article):
        self.article = article
        self.text = article.text
        self.out: list[Statement] = []
        self.last_person: _Speaker | None = None
        self.last_any: _Speaker | None = None
        self.people: set[str] = set()  # full names of the people met so far
        self.position = 0  # where the sentence being read starts: role references look back
        # Who was last quoted in the paragraph being read: a quotation that follows with no
        # attribution of its own continues their words ('"No one was hurt," Kirby said. "It
        # would be unwise to speculate."').
        self.quoter: _Speaker | None = None
        self.quoted_until = 0  # the end of the last quotation read in the paragraph
        self.paragraph_end = len(self.text)
        self.paragraph_start = 0

    def _add(self, kind: str, speaker: _Speaker | None, written: str | None, channel: str | None,
             date: str | None, dated_by: str | None, span: tuple[int, int],
             context: tuple[int, int]) -> None:
        if date is None and self.article.date:
            date, dated_by = self.article.date, "article"
        s, e = span
        if (dateline := DATELINE.match(self.text, s)) is not None:
            s = dateline.end()  # "BAGHDAD (Tigris Newswire) - At least three rockets ..."
        while s < e and self.text[s] in " ,:;":
            s += 1
        while e > s and self.text[e - 1] in " ,;":
            e -= 1
        if e - s < 2:
            return
        if speaker is not None and QUOTE_CHARS.search(self.text, s, e):
            self.quoter = speaker
        self.out.append(Statement(self.article.id, kind, speaker.name if speaker else None, written,
                                  speaker.role if speaker else None, channel, date, dated_by,
                                  self.text[s:e], s, e, context[0], context[1]))

    def _remember(self, speaker: _Speaker, person: bool) -> None:
        self.last_any = speaker
        if person:
            self.last_person = speaker
            if len(speaker.name.split()) > 1:
                self.people.add(speaker.name)

    def _resolve(self, subject: str) -> tuple[_Speaker | None, str | None]:
        """The speaker a subject phrase names: a name, a role or pronoun (resolved), a group."""
        subject = subject.strip().rstrip(",")
        if subject.lower() in ("you", "i", "i'm", "i’m"):  # the interviewer or the writer
            return None, None
        if m := PRONOUN_SUBJECT.search(subject):
            word = m.group(1).lower()
            target = self.last_any if word in ("it", "they") else self.last_person
            return target, m.group(1)
        opening = subject.startswith("The ")  # "The president said ...", opening a sentence
        if m := ROLE_REFERENCE.search(f"the {subject[4:]}" if opening else subject):
            # "the secretary of defense" is the person the article introduced with that role
            # ("Secretary of Defense Lloyd J. Austin"), "the president" the last one introduced
            # as president ("President Donald Trump", though Pelosi was quoted since), else the
            # last person named.
            title = re.escape(m.group(0)[4:].strip()).replace(r"\ ", r"\s+")
            named = [n for n in re.finditer(
                rf"{NOT_ANOTHER_OFFICE}(?i:{title})\s+((?:[A-Z][\w.’'-]*\s+){{0,2}}[A-Z][\w’'-]+)",
                self.text[:self.position]) if self._could_be_name(n.group(1))]
            if named and (m.group(2) or " " in m.group(0)[4:].strip()
                          or len(named[-1].group(1).split()) > 1):
                return _Speaker(named[-1].group(1), m.group(0)[4:].strip()), m.group(0)
            if opening:  # read only where the article introduced someone with that title
                return None, None
            return self.last_person, m.group(0)
        name, role = _split_speaker(subject)
        if name and not self._could_be_name(name):
            name = None
        if name:
            written = f"{role} {name}" if role else name
            speaker = _Speaker(self._full_name(name), role)
            self._remember(speaker, person=len(name.split()) >= 1 and not GROUP_SUBJECT.search(name)
                          and " of " not in name)
            return speaker, written
        if m := GROUP_SUBJECT.search(subject):
            speaker = _Speaker(m.group(1), None)
            self.last_any = speaker
            return speaker, m.group(1)
        return None, None

    def _note_subject(self, sentence: str) -> None:
        """A person who opens a sentence that quotes no one ("Col. Wayne Marotto, a spokesman
        for the coalition, gave the first figures.") is whom a "he said" after it means, not
        the last person quoted."""
        lead = SUBJECT_NAME.match(sentence)
        if lead is None:
            return
        name, role = _split_speaker(lead.group("name"))
        if not name or not self._could_be_name(name):
            return
        full = self._full_name(name)
        if role or lead.group("role") or full in self.people:
            self._remember(_Speaker(full, role), person=True)

    def _full_name(self, name: str) -> str:
        """A surname said alone ("Marotto said") is the person the article named in full before
        ("Col. Wayne Marotto, a spokesman ..."), though not as a speaker; kept as it is when
        two people of that name came before, or none."""
        if len(name.split()) != 1:
            return name
        fuller = {m.group(1) for m in re.finditer(
            rf"((?:[A-Z][\w’'-]+\s+){{1,2}}(?:[a-z]{{1,3}}-)?{re.escape(name)})\b",
            self.text[:self.position])}
        people = {" ".join(w for w in f.split() if w.lower().strip(".") not in ROLE_WORDS)
                  for f in fuller}
        people = {p for p in people if len(p.split()) > 1 and self._could_be_name(p)}
        return people.pop() if len(people) == 1 else name

    def _could_be_name(self, name: str) -> bool:
        """Not a weekday or month, not a dateline in capitals ("BAGHDAD"), not a common word
        that merely opens a sentence ("Imagine", "Oil": the article also writes it in lower
        case)."""
        words = name.split()
        if any(w.lower().strip(".,") in MONTH_NAMES or w.lower().strip(".,") in WEEKDAYS
               for w in words):
            return False
        if words[0].lower() in NOT_A_NAME:  # "No group has claimed responsibility."
            return False
        if all(w.isupper() and len(w) > 2 for w in words):
            return False
        return not (len(words) == 1 and re.search(rf"\b{re.escape(name.lower())}\b", self.text))

    def _quotation_block(self, quote: tuple[int, int], attribution: tuple[int, int],
                         lead: tuple[int, int] | None) -> None:
        line = self.text[attribution[0]:attribution[1]]
        name, role, channel, date = _parse_attribution(line, self.article.date)
        speaker = _Speaker(name, role) if name else None
        if lead and not channel:
            channel = _channel(self.text[lead[0]:lead[1]])
        if speaker:
            self._remember(speaker, person=True)
        # The statement's context starts at the lead-in sentence ("As ... Esper stated to the
        # press,"), not at the start of its paragraph.
        lead_start = split_sentences(self.text, *lead)[-1][0] if lead else quote[0]
        self._add("quotation", speaker, line.split(" via ")[0].split(",")[0].strip() if name else None,
                  channel, date, "attribution" if date else None, quote,
                  (lead_start, attribution[1]))

    def _date_of_remark(self, sentence: str) -> tuple[str | None, str | None]:
        """When the sentence's remark was made: the date or weekday written nearest its saying
        verb ("the Pentagon said on Monday, ... after Iran's Jan. 8 attack": Monday), never one
        after the article's own date (the date of an event still to come). "said on Tuesday" in
        a Wednesday report is that Tuesday."""
        found = dates_in(sentence, self.article.date)
        found += [(m.start(), m.end(), day[1]) for m in WEEKDAY.finditer(sentence)
                  if (day := weekday_at(m, self.article.date)) is not None]
        if self.article.date:
            found = [f for f in found if f[2] <= self.article.date]
        if not found:
            return None, None
        verb = VERB.search(sentence)
        at = verb.start() if verb is not None else 0
        nearest = min(found, key=lambda f: (min(abs(f[0] - at), abs(f[1] - at)), f[0]))
        return nearest[2], "text"

    def _sentence(self, s: int, e: int, next_block: tuple[str | None, str | None, str | None] | None,
                  quotation: tuple[int, int] | None = None) -> None:
        """The statement a sentence reports; ``quotation``: the paragraph its lead-in
        ("Blinken said in a statement late on Monday:") introduces, which is then the remark."""
        label = SPEAKER_LABEL.match(self.text, s, e)
        if label:  # the turn's speaker is read by _transcript_turns
            s = label.end()
        sentence = self.text[s:e]
        self.position = s
        channel = _channel(sentence)
        date, dated_by = self._date_of_remark(sentence)
        if m := ACCORDING_TO.search(sentence):
            speaker, written = self._resolve(m.group(1))
            if speaker:
                rest = sentence.find(",", m.end())
                span = (s + rest + 1, e) if rest >= 0 else (s, s + m.start())
                self._add("reported", speaker, written, channel, date, dated_by, span, (s, e))
                return
        verb = VERB.search(sentence)
        if verb is None:
            self._unattributed_quotes(s, e)
            self._note_subject(sentence)
            return
        before = sentence[: verb.start()]
        subject = BETWEEN.sub("", before)
        # The subject is what stands right before the verb, after the last comma or "and".
        parts = re.split(r",[\"”’]?\s+|\s+and\s+|\s+[—–]\s+|^\s*(?:Since|While|As|But|However|Meanwhile)\s+",
                         subject)
        clause = parts[-1]
        appositive = APPOSITIVE.fullmatch(clause.rstrip(",")) or (
            BARE_APPOSITIVE.fullmatch(clause.rstrip(",")) if clause[:1].islower() else None)
        speaker, written = None, None
        if appositive and len(parts) > 1 and NAME_PHRASE.fullmatch(parts[-2].strip()):
            # "Col. Saad al-Obeidi, a spokesman for the Anbar Operations Command, said": the
            # name before the comma speaks, in the role the appositive gives.
            speaker, written = self._resolve(parts[-2])
            if speaker is not None and speaker.role is None:
                speaker = _Speaker(speaker.name, appositive.group(1))
        if speaker is None:
            speaker, written = self._resolve(clause)
        from_lead = False
        if speaker is None and (after_name := SAID_NAME.match(sentence, verb.end())) \
                and QUOTE_CHARS.search(before) and before.rstrip()[-1:] in ",\"”’":
            # '"The Americans killed a guest of Iraq," said Hamid al-Mousawi, a Fatah lawmaker.'
            speaker, written = self._resolve(after_name.group("name"))
            if speaker is not None:
                if speaker.role is None and after_name.group("role"):
                    speaker = _Speaker(speaker.name, after_name.group("role"))
                self._add("reported", speaker, written, channel, date, dated_by,
                          (s, s + len(before.rstrip())), (s, e))
                return
        if speaker is None:
            lead = re.match(r"^((?:[A-Z][\w.’'-]*|of|the)(?:\s+(?:[A-Z][\w.’'-]*|of"
                            r"|[a-z]{1,3}-[A-Z][\w’'-]*))*)", before)
            # Only a real name opens the sentence ("US President Donald Trump, meanwhile, ...
            # said"), not a participle or an adverb ("Speaking to ...", "Meanwhile ...").
            if lead and not re.match(r"\w+(?:ing|ed|ly)\b", lead.group(1)):
                speaker, written = self._resolve(lead.group(1))
                from_lead = True
        if speaker is None:
            self._unattributed_quotes(s, e)
            return
        if next_block and next_block[0] and speaker.name and _same_words(speaker.name, next_block[0]):
            # The lead-in to a quotation: the remarks are the quotation's, with its date/channel.
            channel = channel or next_block[1]
            if next_block[2] and date is None:
                date, dated_by = next_block[2], "attribution"
        head = sentence[:max(0, len(subject) - len(clause))].rstrip()
        after = sentence[verb.end():]
        # "said on Tuesday that", "told reporters that": what follows is the remark.
        skip = (verb.group() in ("told", "tells")
                and re.match(r"\s*(?:[\w’'-]+\s+){1,4}?(that\s+)", after)
                or re.match(r"\s*(?:on\s+(?:[A-Z]\w+\s+\d{1,2}|\w+day)\s*)?(that\s+)?", after))
        inverted = (not from_lead and head.rstrip("\"”’").endswith(",") and len(head.split()) >= 4
                    and not (skip and skip.group(1))
                    # "Iraq's caretaker prime minister, Adel Abdul Mahdi, said ...": a role
                    # before the speaker's name, not a remark before its attribution
                    and not (ROLE_BEFORE_NAME.search(head) and NAME_PHRASE.fullmatch(clause.strip(" ,")))
                    # "Asked about them in Davos on Jan. 22, Trump said X": the scene, not a remark
                    and not PARTICIPLE_OPENING.match(head))
        if inverted:  # "X will do Y, Austin said on March 7 ..."
            span = (s, s + len(head) - 1)
            opened = max(self.text.rfind("\"", self.paragraph_start, s),
                         self.text.rfind("“", self.paragraph_start, s))
            if len(QUOTE_CHARS.findall(head)) % 2 == 1 and opened >= 0 and (
                    self.text[opened] == "“"
                    or self.text.count("\"", self.paragraph_start, opened) % 2 == 0):
                # The quotation opened sentences earlier: '"It was set on a timer. Whoever
                # placed it was gone," al-Obeidi said.' is all his.
                span = (opened, span[1])
        elif verb.group() in KEEP_VERB:  # "denied any role", not "any role"
            span = (s + verb.start(), e)
        else:
            span = (s + verb.end() + (skip.end() if skip else 0), e)
            named = QUOTED.search(self.text, s + verb.end(), e) if verb.group("naming") else None
            if named is not None:  # 'called the attack "a dangerous escalation"': the quotation
                span = (named.start(), named.end())
        if quotation is not None:
            self._add("quotation", speaker, written, channel, date, dated_by, quotation,
                      (s, quotation[1]))
            return
        self._add("reported", speaker, written, channel, date, dated_by, span, (s, e))

    def _unattributed_quotes(self, s: int, e: int) -> None:
        """The quotations that open in sentence ``s:e``, each to its closing mark, which may lie
        sentences later in the paragraph ('"We're still assessing. It would be unwise to
        speculate."'); they continue the words of whoever the paragraph last quoted."""
        speaker = self.quoter
        for m in QUOTED.finditer(self.text, max(s, self.quoted_until), self.paragraph_end):
            if m.start() >= e:
                break
            if m.end() > e and self.text[m.end() - 2] == "," \
                    and ATTRIBUTED_AFTER.match(self.text, m.end()):
                break  # '"... flew," al-Obeidi said': the sentence that names him reads it
            inner = next(g for g in m.groups() if g is not None)
            if len(inner.split()) >= 1 and len(inner) > 3:
                self.quoted_until = m.end()
                self._add("quotation", speaker, speaker.name if speaker else None, None, None,
                          None, (m.start(), m.end()), (s, max(e, m.end())))

    def read(self) -> list[Statement]:
        paras = [(m.start(), m.end()) for m in re.finditer(r"[^\n]+", self.text)]
        is_attr = [is_attribution_line(self.text[a:b]) for a, b in paras]
        consumed: set[int] = set()
        blocks: dict[int, tuple[str | None, str | None, str | None]] = {}
        for i, (a, b) in enumerate(paras):
            if is_attr[i] and i > 0 and not is_attr[i - 1]:
                name, _, channel, date = _parse_attribution(self.text[a:b], self.article.date)
                blocks[i - 1] = (name, channel, date)
        for i, (a, b) in enumerate(paras):
            if i in consumed:
                continue
            if i in blocks:
                lead = paras[i - 1] if i > 0 and self.text[paras[i - 1][1] - 1] in ",:" else None
                self._quotation_block((a, b), paras[i + 1], lead)
                consumed.update({i, i + 1})
                continue
            if is_attr[i] or (self.text[b - 1] in ",:" and i + 1 in blocks):
                continue  # a stray attribution-like line, or the lead-in of the next quotation
            sentences = split_sentences(self.text, a, b)
            self.quoter, self.quoted_until, self.paragraph_start, self.paragraph_end = None, a, a, b
            # A lead-in ending in a colon, then a paragraph that is all quotation.
            quoted = (i + 1 < len(paras) and i + 1 not in blocks and self.text[b - 1] == ":"
                      and self.text[paras[i + 1][0]] in "\"“")
            for j, (s, e) in enumerate(sentences):
                last = j == len(sentences) - 1
                nxt = blocks.get(i + 1) if last else None
                before = len(self.out)
                self._sentence(s, e, nxt, paras[i + 1] if quoted and last else None)
                if quoted and last and len(self.out) > before:
                    consumed.add(i + 1)
        self._transcript_turns(paras)
        return sorted(self.out, key=lambda st: st.start)

    def _transcript_turns(self, paras: list[tuple[int, int]]) -> None:
        """Each turn of a transcript ("SECRETARY POMPEO: ..." up to the next label) is a
        statement of its speaker; the interviewer's ("QUESTION:") names no one."""
        turns: list[tuple[_Speaker, str, int, int]] = []
        for a, b in paras:
            m = SPEAKER_LABEL.match(self.text, a, b)
            if m and m.group(1).strip().lower() in INTERVIEWER_LABELS:
                turns.append((_Speaker("", None), "", m.end(), b))
            elif m:
                words = [w for w in m.group(1).split() if w.lower().strip(".") not in ROLE_WORDS
                         and w.lower() not in HONORIFICS and w.lower() not in ("of", "press")]
                name = " ".join(w if len(w) <= 2 else w.capitalize() for w in words)
                turns.append((_Speaker(name, None), m.group(1), m.end(), b) if name
                             else (_Speaker("", None), "", m.end(), b))
            elif turns:
                speaker, written, start, _ = turns[-1]
                turns[-1] = (speaker, written, start, b)
        for speaker, written, start, end in turns:
            if speaker.name:
                self._add("transcript", speaker, written, None, None, None, (start, end),
                          (start, end))


def _same_words(a: str, b: str) -> bool:
    wa = {w.lower() for w in re.findall(r"\w{3,}", a)}
    wb = {w.lower() for w in re.findall(r"\w{3,}", b)}
    return bool(wa & wb)


# ---- the corpus --------------------------------------------------------------------------------
def extract_statements(articles: Iterable[Article], names: NameTable) -> list[Statement]:
    """Every article's statements, speakers joined under one name across the corpus.

    The name shown is the alias table's, else the most frequent full (two-word or longer)
    spelling among the speakers that are one person; "Austim" becomes "Lloyd Austin".
    """
    raw = [st for art in articles for st in _ArticleReader(art).read()]
    spelled = Counter(st.speaker for st in raw if st.speaker)
    people: list[list[str]] = []
    for name in sorted(spelled, key=lambda n: (-len(n.split()), -spelled[n], n)):
        for group in people:
            # "officials" in one article are not the "Norwegian officials" of another: a group
            # speaker is joined only with the same words.
            if (names.same(name, group[0]) if not GROUP_SUBJECT.fullmatch(name)
                    else name.lower() == group[0].lower()):
                group.append(name)
                break
        else:
            people.append([name])
    shown: dict[str, str] = {}
    for group in people:
        alias = next((names.canonical(n) for n in group if names.group(n) is not None
                      and len(names.canonical(n).split()) >= 2), None)
        full = sorted(group, key=lambda n: (len(n.split()) < 2, -spelled[n], n))[0]
        for n in group:
            shown[n] = alias or full
    return [replace(st, speaker=shown[st.speaker]) if st.speaker else st for st in raw]


class StatementBook:
    """The statements of an index, with the passage rows that carry each."""

    def __init__(self, statements: Sequence[Statement], names: NameTable,
                 article_rows: dict[str, list[tuple[int, int, int]]]):
        """``article_rows``: per article id, its passages as (start, end, row) in text order."""
        self.statements = list(statements)
        self.names = names
        self._rows: list[list[int]] = []
        for st in self.statements:
            spans = article_rows.get(st.article_id, [])
            starts = [p[0] for p in spans]
            first = max(0, bisect_right(starts, st.context_start) - 1)
            rows = [row for ps, pe, row in spans[first:]
                    if ps < st.context_end and pe > st.context_start and ps <= st.context_end]
            self._rows.append(rows)
        self._by_article: dict[str, list[int]] = {}
        for i, st in enumerate(self.statements):
            self._by_article.setdefault(st.article_id, []).append(i)

    @staticmethod
    def save(statements: Sequence[Statement], path: Path) -> None:
        with path.open("w", encoding="utf-8") as fh:
            for st in statements:
                fh.write(json.dumps(asdict(st), ensure_ascii=False) + "\n")

    @staticmethod
    def read(path: Path) -> list[Statement]:
        with path.open(encoding="utf-8") as fh:
            return [Statement(**json.loads(line)) for line in fh if line.strip()]

    def speakers(self) -> list[tuple[str, int]]:
        """Named speakers with their number of statements, most quoted first."""
        counts = Counter(st.speaker for st in self.statements if st.speaker)
        return sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))

    def speaker_in_role(self, role: str, period: TimeRange | None = None) -> str | None:
        """The one person quoted in ``role`` ("the defense secretary" -> Lloyd Austin, whom an
        article quotes as "Defense Secretary Lloyd Austin"), within ``period`` when that tells
        two holders of the office apart; None when no one or several fit."""
        from .lexicon import OFFICE_GROUPS

        # "the top US diplomat" is the top diplomat: the US's offices are the default ones.
        low = re.sub(r"\b(?:u\.?s\.?|american|america['’]s)\s+", "", role.lower())
        # The office under any of its names: "the Pentagon chief" is quoted as "Defense
        # Secretary Lloyd Austin".
        spellings = [low] + [re.sub(rf"\b{re.escape(phrase)}\b", other, low)
                             for group in OFFICE_GROUPS for phrase in group
                             if re.search(rf"\b{re.escape(phrase)}\b", low)
                             for other in group if other != phrase]
        wanted = [set(re.findall(r"[a-z]{2,}", s)) - ROLE_FILLER for s in spellings]
        if not wanted[0]:
            return None

        def holds(st: Statement) -> bool:
            # The office as the article wrote it with the name ("Danish Defence Minister Trine
            # Bramsen"): a country asked for by its name is found by its people's word.
            have = sorted(set(re.findall(r"[a-z]{2,}", f"{st.role} {st.speaker_as_written or ''}"
                                                       .lower())))
            return any(w and all(x in have or demonym_related(x, have) for x in w) for w in wanted)

        fits = [st for st in self.statements if st.speaker and st.role and holds(st)]
        if period is not None and any(period.contains(st.date) for st in fits):
            fits = [st for st in fits if period.contains(st.date)]
        people = {st.speaker for st in fits}
        return people.pop() if len(people) == 1 else None

    def speaker_named_in(self, text: str) -> str | None:
        """The known speaker a question names ("What did Austim say?" -> "Lloyd Austin")."""
        words = [w for w in re.findall(r"[A-Z][\w’'-]+", text)[1:] + re.findall(r"[A-Z][\w’'-]+", text)[:1]
                 if len(w) > 2]
        low = f" {text.lower()} "
        best, best_score = None, 0
        for name, _ in self.speakers():  # most quoted first: the first of equal matches wins
            if not any(self.names.same(w, name) for w in words):
                continue
            # The whole name written beats a surname shared: "Nechirvan Barzani" is not the
            # more often quoted "Masrour Barzani".
            first = name.split()[0].lower()
            score = 2 if len(name.split()) > 1 and re.search(rf"\b{re.escape(first)}\b", low) else 1
            if score > best_score:
                best, best_score = name, score
        return best

    def matches_speaker(self, st: Statement, speaker: str) -> bool:
        return st.speaker is not None and (
            self.names.same(speaker, st.speaker)
            or (st.speaker_as_written is not None and self.names.same(speaker, st.speaker_as_written)))

    def select(self, speaker: str | None = None, period: TimeRange | None = None) -> list[int]:
        """Indexes of the statements by ``speaker`` (any spelling) within ``period``."""
        return [i for i, st in enumerate(self.statements)
                if (speaker is None or self.matches_speaker(st, speaker))
                and (period is None or period.contains(st.date))]

    def filter(self, speaker: str | None = None, period: TimeRange | None = None) -> list[Statement]:
        """The statements by ``speaker`` within ``period``, oldest first (undated last)."""
        chosen = [self.statements[i] for i in self.select(speaker, period)]
        return sorted(chosen, key=lambda st: (st.date is None, st.date or "", st.start))

    def rows_of(self, indexes: Iterable[int]) -> set[int]:
        """Passage rows carrying the given statements."""
        return {row for i in indexes for row in self._rows[i]}

    def overlapping(self, article_id: str, start: int, end: int) -> list[Statement]:
        """Statements of an article whose sentence or quotation block overlaps [start, end)."""
        return [self.statements[i] for i in self._by_article.get(article_id, [])
                if self.statements[i].context_start < end and self.statements[i].context_end > start]

    def said_in(self, article_id: str, spans: Iterable[tuple[int, int]]) -> list[Statement]:
        """The statements of an article whose sentence or quotation overlaps any of ``spans``,
        each once, in the order found (what a citation lists as who said its sentences)."""
        said: list[Statement] = []
        for a, b in spans:
            said += [st for st in self.overlapping(article_id, a, b) if st not in said]
        return said
