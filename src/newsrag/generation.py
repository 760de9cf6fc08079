"""Generated answers: a chat model writes, the passages judge what it wrote.

The default answer stays extractive (offline, instant, nothing invented). With the ``openai``
generator, the question and the best passages, numbered [1]..[m] and added best first until a
token budget (counted with tiktoken) is spent, go to any OpenAI-compatible chat-completions
endpoint: Ollama, llama.cpp's server, vLLM, LM Studio or a hosted API. The reply streams back.

Then every sentence of the reply is checked (:class:`GroundingChecker`): it must be supported by a
passage it cites, or failing that by another retrieved passage (its marker is then corrected).
Support is the sentence's best cosine similarity with one sentence of the passage, averaged with
the share of its words the passage contains; and every number and name in it must occur in the
passages, which is what catches a small model's invented details ("on January 8", "50 soldiers").
A sentence that reuses its evidence's words but flips their meaning is removed too
(:func:`contradiction`): a word negated or denied on one side and not on the other ("Iran seeks
war" against "We do not seek escalation or war"), or another number in the same place ("January 3"
against "January 7"). Sentences below the threshold are removed, markers pointing to no passage
are dropped, and when nothing supported remains the extractive answer is given instead. A
failing endpoint (refused, timeout, error status, garbage, cut mid-answer) falls back to the
extractive answer with a notice. ``llm_timeout`` is a deadline for the whole answer, not for
each read, so a server trickling a token now and then cannot hold a question for minutes; and a
stream that ends without the server's finish reason is a cut, not an answer.

All of it lives here: the registry of generators, the prompt, the check, and
:class:`GeneratedAnswerer`, the one call :meth:`newsrag.Index.ask` makes to turn its extractive
answer into a generated one (:func:`choose_generator`, then prompt, stream, check and
:func:`grounded_answer`). This module builds on :mod:`newsrag.answering`, never the reverse.
"""

from __future__ import annotations

import os
import queue
import re
import threading
import time
from abc import ABC, abstractmethod
from dataclasses import asdict, dataclass, field, replace
from typing import Any, Callable, Iterator, Sequence, TypeVar, cast

import numpy as np

from .answering import Answer, Citation
from .errors import NewsragError
from .lexical import tokenize
from .passages import Chunker, Passage, split_sentences
from .plugins import entry_points, registrar, resolve_class
from .retrieval import Hit
from .settings import Settings
from .statements import StatementBook

__all__ = ["Generator", "OpenAICompatibleGenerator", "GeneratorError", "GroundingChecker",
           "CheckedSentence", "Grounding", "build_prompt", "make_generator", "SYSTEM_PROMPT",
           "GENERATORS", "EXTRACTIVE", "register_generator", "generator_class", "generator_names",
           "choose_generator", "grounded_answer", "GeneratedAnswerer"]

SYSTEM_PROMPT = (
    "You answer questions about news articles using only the numbered passages you are given. "
    "After every sentence, cite the passage it comes from with its number in brackets, like [1]. "
    "Do not add anything the passages do not say. If the passages do not answer the question, "
    "reply exactly: The articles don't say. Answer in at most three short sentences."
)
MARKERS = re.compile(r"\s*\[(\d+(?:\s*[,;]\s*\d+)*)\]")
# Markers written after a sentence's full stop ("... self-defense. [1] Iran ..."): they belong
# to the sentence before, so they are moved in front of its full stop before splitting.
LONE_MARKERS = re.compile(r"([.!?][\"'”’)]*)((?:\s*\[\d+(?:\s*[,;]\s*\d+)*\])+)")
# Words that turn what follows them in a clause into its opposite.
NEGATIONS = frozenset(
    "not no never nor neither none nobody nothing nowhere without cannot deny denies denied "
    "denying refuse refuses refused refusing reject rejects rejected rejecting".split())
CLAUSE_BREAK = re.compile(r"[,;:()]|\b(?:but|however|although|though|whereas|while|yet)\b", re.I)
WORD = re.compile(r"\d{1,3}(?:,\d{3})+|[A-Za-z0-9]+(?:[’'][A-Za-z]+)?(?:[-:.][A-Za-z0-9]+)*")
NUMBER = re.compile(r"\d+(?:[.:,]\d+)*")
# Words that, when they carry a digit or a capital past the first word, name a specific fact.
SPECIFIC = re.compile(r"\b(?:\w*\d\w*(?:[-:.,]\d+)*|[A-Z][\w’'-]+)\b")
MIN_WORDS = 3
# The prompt's token budget: the fixed words around the passages ("Passages:", "Question:", the
# instruction line), the blank line between two passages, the least of a first passage that is
# sent even when it alone is over budget, and the characters a token stands for when cutting it.
PROMPT_FRAME_TOKENS = 20
PASSAGE_SEPARATOR_TOKENS = 2
MIN_FIRST_PASSAGE_TOKENS = 50
CHARS_PER_TOKEN = 3
# A generated sentence's support: this share from its best cosine with a passage sentence, the
# rest from the share of its words the passage contains.
COSINE_WEIGHT = 0.5


class GeneratorError(NewsragError):
    """The language model endpoint failed; the caller falls back to the extractive answer."""


class Generator(ABC):
    """Something that writes an answer from a prompt, streaming its text.

    A new generator is one subclass and one registry line (:func:`register_generator`), or an
    entry point in the group ``newsrag.generators``, or its dotted path as the ``generator``
    setting. Whatever it writes is checked sentence by sentence like any other's.
    """

    name: str = "generator"

    @classmethod
    def from_settings(cls, settings: Any) -> Generator:
        """The instance the :class:`~newsrag.settings.Settings` ask for; by default ``cls()``.
        Override to read the ``llm_*`` settings (URL, model, timeout, token limit)."""
        return cls()

    @abstractmethod
    def stream(self, messages: list[dict[str, str]]) -> Iterator[str]:
        """The reply's text, piece by piece; raises :class:`GeneratorError` on failure."""


# ---- the registry -----------------------------------------------------------------------------
EXTRACTIVE = "extractive"  # the setting for no generator: answers are the articles' sentences
GENERATORS: dict[str, type[Generator]] = {}
G = TypeVar("G", bound=type[Generator])


def register_generator(name: str) -> Callable[[G], G]:
    """Class decorator (or ``register_generator(name)(cls)``): make a :class:`Generator`
    subclass selectable as ``NEWSRAG_GENERATOR=name`` / ``--generator name``."""
    if name == EXTRACTIVE:
        raise NewsragError(f"{EXTRACTIVE!r} is the name for answers without a generator")
    return registrar(GENERATORS, "name", name)


def generator_class(spec: str) -> type[Generator]:
    """The class a ``generator`` setting names: a registered name, an installed plugin's entry
    point (group ``newsrag.generators``) or a dotted path (``package.module:Class``); else a
    :class:`NewsragError` listing the names (see :mod:`newsrag.plugins`)."""
    return resolve_class(spec, GENERATORS, Generator, "newsrag.generators", "generator",
                         also=[EXTRACTIVE])


def generator_names() -> list[str]:
    """``extractive``, the registered generators and the installed plugins' names."""
    return [EXTRACTIVE, *sorted({*GENERATORS, *entry_points("newsrag.generators")})]


@register_generator("openai")
class OpenAICompatibleGenerator(Generator):
    """Any OpenAI-compatible ``/v1/chat/completions`` endpoint, streamed (the ``openai`` client:
    it speaks to Ollama, llama.cpp, vLLM, LM Studio and hosted APIs alike)."""

    name = "openai"

    def __init__(self, url: str, model: str, api_key: str | None, timeout: float,
                 max_tokens: int, temperature: float = 0.0):
        self.url, self.model = url, model
        self.api_key = api_key
        self.timeout, self.max_tokens, self.temperature = timeout, max_tokens, temperature

    @classmethod
    def from_settings(cls, settings: Any) -> OpenAICompatibleGenerator:
        key = os.environ.get(settings.llm_api_key_env) or os.environ.get("OPENAI_API_KEY")
        return cls(settings.llm_url, settings.llm_model, key, settings.llm_timeout,
                   settings.llm_max_tokens)

    def stream(self, messages: list[dict[str, str]]) -> Iterator[str]:
        """The reply, piece by piece, all of it within ``timeout`` seconds.

        The HTTP client's timeout applies to each read, so the stream is read in a helper
        thread and handed over through a queue; this side stops waiting at the deadline.
        """
        deadline = time.monotonic() + self.timeout
        handover: queue.Queue[Any] = queue.Queue()
        stop = threading.Event()
        finished = object()

        def pump() -> None:
            try:
                for piece in self._read(messages, stop):
                    handover.put(piece)
                handover.put(finished)
            except BaseException as exc:  # noqa: BLE001 - handed to the caller's thread
                handover.put(exc)

        threading.Thread(target=pump, name="newsrag-llm-stream", daemon=True).start()
        received = False
        try:
            while True:
                remaining = deadline - time.monotonic()
                try:
                    if remaining <= 0:
                        raise queue.Empty
                    item = handover.get(timeout=remaining)
                except queue.Empty:
                    what = "finish" if received else "answer"
                    raise GeneratorError(f"the language model at {self.url} did not {what} "
                                         f"within {self.timeout:g} s") from None
                if item is finished:
                    return
                if isinstance(item, BaseException):
                    raise item
                received = True
                yield item
        finally:
            stop.set()

    def _read(self, messages: list[dict[str, str]], stop: threading.Event) -> Iterator[str]:
        """The streamed pieces; raises :class:`GeneratorError` for any failure, including a
        stream that ends without a finish reason (the connection was cut)."""
        import openai

        client = openai.OpenAI(base_url=self.url, api_key=self.api_key or "not-needed",
                               timeout=self.timeout, max_retries=0)
        finish_reason = None
        try:
            chunks = client.chat.completions.create(
                model=self.model, messages=cast(Any, messages), stream=True, max_tokens=self.max_tokens,
                temperature=self.temperature)
            for chunk in chunks:
                if stop.is_set():  # the caller gave up (deadline): stop reading
                    chunks.close()
                    return
                choices = getattr(chunk, "choices", None)
                if not choices:
                    continue
                finish_reason = choices[0].finish_reason or finish_reason
                delta = choices[0].delta.content if choices[0].delta else None
                if delta:
                    yield delta
        except openai.APITimeoutError:
            raise GeneratorError(f"the language model at {self.url} did not answer within "
                                 f"{self.timeout:g} s") from None
        except openai.APIConnectionError as exc:
            raise GeneratorError(f"cannot reach the language model at {self.url} "
                                 f"({type(exc.__cause__ or exc).__name__})") from None
        except openai.APIStatusError as exc:
            raise GeneratorError(f"the language model at {self.url} answered with HTTP "
                                 f"{exc.status_code}") from None
        except Exception as exc:  # garbage instead of JSON, a connection cut mid-stream, ...
            raise GeneratorError(f"the language model at {self.url} sent an unusable reply "
                                 f"({type(exc).__name__}: {str(exc)[:120]})") from None
        if finish_reason is None:
            raise GeneratorError(f"the language model at {self.url} stopped before finishing "
                                 "its answer (the stream was cut off)")


def make_generator(settings: Any) -> Generator | None:
    """Factory: the generator the settings ask for, or None for extractive answers."""
    if settings.generator == EXTRACTIVE:
        return None
    return generator_class(settings.generator).from_settings(settings)


def build_prompt(question: str, passages: Sequence[Passage], budget_tokens: int,
                 count_tokens: Callable[[str], int]) -> tuple[list[dict[str, str]], int]:
    """Chat messages with as many passages (best first) as fit ``budget_tokens``; and how many.

    The first passage always goes in, cut to the budget if it alone is longer.
    """
    blocks: list[str] = []
    used = count_tokens(SYSTEM_PROMPT) + count_tokens(question) + PROMPT_FRAME_TOKENS
    for i, p in enumerate(passages, start=1):
        block = f"[{i}] {p.title} ({p.date or 'undated'})\n{p.text}"
        cost = count_tokens(block) + PASSAGE_SEPARATOR_TOKENS
        if used + cost > budget_tokens:
            if not blocks:
                keep = max(MIN_FIRST_PASSAGE_TOKENS, budget_tokens - used)
                blocks.append(block[: keep * CHARS_PER_TOKEN])
            break
        blocks.append(block)
        used += cost
    user = ("Passages:\n\n" + "\n\n".join(blocks) + f"\n\nQuestion: {question}\n"
            "Answer from the passages only, citing them like [1].")
    return [{"role": "system", "content": SYSTEM_PROMPT}, {"role": "user", "content": user}], len(blocks)


def _polarity(text: str) -> dict[str, set[bool]]:
    """Each stemmed word of ``text`` and whether it stands negated (True) in its clause, not
    (False), or both. A negation ("not", "never", "denied", "n't") negates the rest of its
    clause; clauses end at punctuation and at "but", "however", "while" and the like."""
    out: dict[str, set[bool]] = {}
    for clause in CLAUSE_BREAK.split(text):
        negated = False
        for word in WORD.findall(clause or ""):
            lowered = word.lower().replace("’", "'")
            if lowered in NEGATIONS or lowered.endswith("n't"):
                negated = True
                continue
            for stem in tokenize(word):
                out.setdefault(stem, set()).add(negated)
    return out


def _numbers(text: str) -> list[tuple[str, str, str]]:
    """(word before, number, word after) for each number in ``text``, words lower-cased."""
    words = WORD.findall(text)
    out = []
    for i, w in enumerate(words):
        if NUMBER.fullmatch(w):
            before = words[i - 1].lower() if i else ""
            after = words[i + 1].lower() if i + 1 < len(words) else ""
            out.append((before, w, after))
    return out


def contradiction(sentence: str, evidence: str) -> str | None:
    """Why ``sentence`` says the opposite of ``evidence`` (the passage sentence that supports it
    best), or None. Both tests need the two to share words, so a paraphrase that words things
    differently is never called a contradiction."""
    mine, theirs = _polarity(sentence), _polarity(evidence)
    for stem, how in mine.items():
        other = theirs.get(stem)
        if other and len(how) == len(other) == 1 and how != other:
            word = next((w for w in WORD.findall(sentence) if stem in tokenize(w)), stem)
            if True in other:
                return f"the passage negates '{word}', this sentence does not"
            return f"this sentence negates '{word}', the passage does not"
    ours, found = _numbers(sentence), _numbers(evidence)
    our_values = {n for _, n, _ in ours}
    for before, number, after in ours:
        if number in {n for _, n, _ in found}:
            continue
        for b, n, a in found:
            shared = (before and before == b and not before.isdigit()) or \
                     (after and after == a and not after.isdigit())
            if shared and n not in our_values:
                return f"it says {number} where the passage says {n}"
    return None


@dataclass(frozen=True)
class CheckedSentence:
    """One sentence of the model's reply and the grounding check's verdict on it."""

    text: str                 # without markers
    kept: bool
    reason: str
    support: float
    cited: list[int]          # markers the model wrote
    supported_by: int | None  # passage number (1-based) that supports it, if any
    evidence: tuple[int, int] | None = None  # article offsets of the supporting sentence


@dataclass
class Grounding:
    """The checked reply: what was kept, what was removed and why."""

    raw: str
    sentences: list[CheckedSentence] = field(default_factory=list)
    fallback: bool = False
    notice: str | None = None
    model: str = ""

    @property
    def kept(self) -> list[CheckedSentence]:
        return [s for s in self.sentences if s.kept]

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        for s in data["sentences"]:
            s["evidence"] = list(s["evidence"]) if s["evidence"] else None
        return data


class GroundingChecker:
    """Judges each generated sentence against the passages; see the module docstring."""

    def __init__(self, encode: Callable[[list[str]], np.ndarray], threshold: float,
                 max_sentences: int = 4):
        self.encode = encode
        self.threshold = threshold
        self.max_sentences = max_sentences

    @staticmethod
    def _specifics(sentence: str) -> set[str]:
        """Numbers and names in a sentence, as tokens ("January 8" -> {"januari", "8"})."""
        words = SPECIFIC.findall(sentence)
        out: set[str] = set()
        for i, w in enumerate(words):
            if i == 0 and sentence.lstrip().startswith(w) and not any(c.isdigit() for c in w):
                continue  # a capital that only starts the sentence
            out.update(tokenize(w))
        return out

    def _support(self, vec: np.ndarray, words: set[str], passage: Passage,
                 sent_cache: dict[int, tuple[list[tuple[int, int]], np.ndarray, set[str]]],
                 number: int) -> tuple[float, tuple[int, int], set[str]]:
        if number not in sent_cache:
            spans = split_sentences(passage.text) or [(0, len(passage.text))]
            vecs = self.encode([passage.text[s:e] for s, e in spans])
            # The prompt shows each passage's title too, so its words count as the passage's.
            sent_cache[number] = (spans, vecs, set(tokenize(f"{passage.title} {passage.text}")))
        spans, vecs, vocab = sent_cache[number]
        cos = vecs @ vec
        best = int(np.argmax(cos))
        overlap = len(words & vocab) / len(words) if words else 0.0
        s, e = spans[best]
        support = COSINE_WEIGHT * float(cos[best]) + (1 - COSINE_WEIGHT) * overlap
        return support, (passage.start + s, passage.start + e), vocab

    def check(self, reply: str, passages: Sequence[Passage]) -> list[CheckedSentence]:
        """Every sentence of ``reply`` judged against ``passages`` (numbered from 1)."""
        reply = LONE_MARKERS.sub(lambda m: m.group(2) + m.group(1), reply)
        pieces = []
        for s, e in split_sentences(reply):
            raw = reply[s:e]
            cited = [int(n) for m in MARKERS.finditer(raw) for n in re.split(r"[,;]", m.group(1))]
            text = MARKERS.sub("", raw).strip()
            if text:
                pieces.append((text, cited))
        if not pieces:
            return []
        vectors = self.encode([t for t, _ in pieces])
        cache: dict[int, Any] = {}
        out: list[CheckedSentence] = []
        kept = 0
        seen: set[str] = set()
        for (text, cited), vec in zip(pieces, vectors):
            lowered = text.lower()
            if lowered in seen:
                out.append(CheckedSentence(text, False, "repeats an earlier sentence", 0.0, cited, None))
                continue
            seen.add(lowered)
            if kept >= self.max_sentences:
                out.append(CheckedSentence(text, False, f"past the answer's {self.max_sentences}-"
                                           "sentence limit", 0.0, cited, None))
                continue
            if lowered.startswith(("the articles don't say", "the articles do not say")):
                out.append(CheckedSentence(text, False, "the model found no answer", 0.0, cited, None))
                continue
            if any(re.fullmatch(re.escape(p.title) + r"\W*(\([^)]*\))?\W*", text) for p in passages):
                out.append(CheckedSentence(text, False, "a passage's title, not a claim", 0.0, cited, None))
                continue
            if len(text.split()) < MIN_WORDS:
                out.append(CheckedSentence(text, False, "too short to be a claim", 0.0, cited, None))
                continue
            words, specifics = set(tokenize(text)), self._specifics(text)
            valid = [n for n in dict.fromkeys(cited) if 1 <= n <= len(passages)]
            bad = [n for n in cited if n not in valid]
            note = f"; marker [{', '.join(map(str, bad))}] points to no passage, dropped" if bad else ""
            judged = []
            for n in range(1, len(passages) + 1):
                score, span, vocab = self._support(vec, words, passages[n - 1], cache, n)
                judged.append((n, score, span, specifics - vocab))
            good = [j for j in judged if j[1] >= self.threshold and not j[3]]
            # The passage it cites if that one holds up, else the best other one.
            pick = (max((j for j in good if j[0] in valid), key=lambda j: j[1], default=None)
                    or max(good, key=lambda j: j[1], default=None))
            if pick is not None:
                n, score, span, _ = pick
                source = passages[n - 1]
                evidence = source.text[span[0] - source.start:span[1] - source.start]
                clash = contradiction(text, evidence)
                if clash:
                    out.append(CheckedSentence(text, False, f"contradicts [{n}]: {clash}" + note,
                                               round(score, 4), cited, None, span))
                    continue
                how = (f"supported by [{n}]" if n in valid else
                       f"supported by [{n}], not by the passage it cited; marker corrected"
                       if valid else f"supported by [{n}]; it cited none, marker added")
                out.append(CheckedSentence(text, True, how + note, round(score, 4), cited, n, span))
                kept += 1
                continue
            n, score, _, missing = max(judged, key=lambda j: j[1])
            if score < self.threshold:
                why = f"not supported by any passage (support {score:.2f} < {self.threshold:.2f})"
            else:
                why = "names or numbers not in the passages: " + ", ".join(sorted(missing))
            out.append(CheckedSentence(text, False, why + note, round(score, 4), cited, None))
        return out


# ---- a generated answer, start to finish --------------------------------------------------------
def choose_generator(generate: bool | Generator | None, settings: Settings) -> Generator | None:
    """The generator ``Index.ask(generate=...)`` asks for: None follows the ``generator``
    setting; True the configured generator (the OpenAI-compatible one when the setting is
    ``extractive``); a :class:`Generator` that one; False none."""
    if isinstance(generate, Generator):
        return generate
    if generate is None:
        return make_generator(settings)
    if generate:
        return make_generator(settings) or make_generator(
            settings.model_copy(update={"generator": "openai"}))
    return None


def grounded_answer(question: str, hits: list[Hit], grounding: Grounding, extractive: Answer,
                    book: StatementBook | None = None) -> Answer:
    """The generated answer made of the sentences the grounding check kept, each with the
    marker of the passage that supports it; the extractive answer if none was kept.

    ``grounding`` is not changed: the fallback's notice goes on a copy. ``book`` names who said
    the cited sentences (as the extractive answer's citations do)."""
    kept = grounding.kept
    if not kept:
        fallback = replace(grounding, fallback=True, notice=grounding.notice or (
            "nothing the language model wrote is supported by the passages; showing the "
            "extractive answer"))
        return replace(extractive, generation=fallback)
    parts = [f"{s.text} [{s.supported_by}]" for s in kept]
    citations = []
    for i, hit in enumerate(hits):
        n, p = i + 1, hit.passage
        spans = sorted({s.evidence for s in kept if s.supported_by == n and s.evidence})
        said = book.said_in(p.article_id, spans) if book is not None else []
        citations.append(Citation(n, p.article_id, p.title, p.date, p.text, p.start, p.end,
                                  round(hit.similarity, 4), bool(spans), list(spans), said))
    return Answer(question, " ".join(parts), True, citations, extractive.support, "",
                  extractive.query, True, grounding)


class GeneratedAnswerer:
    """Turns an extractive answer into a generated one: choose the generator, build the prompt,
    stream the reply, check it (:class:`GroundingChecker`), compose (:func:`grounded_answer`).

    Any failure of the endpoint, or a reply with nothing supported, gives the extractive answer
    back with a notice; a refusal is never handed to a model to talk its way around."""

    def __init__(self, settings: Settings, encode: Callable[[list[str]], np.ndarray],
                 book: StatementBook | None = None):
        self.settings = settings
        self.book = book
        self.checker = GroundingChecker(encode, settings.grounding_threshold)
        self.count_tokens = Chunker(**settings.chunking()).count_tokens

    def answer(self, question: str, hits: list[Hit], extractive: Answer,
               generate: bool | Generator | None = None,
               on_token: Callable[[str], None] | None = None) -> Answer:
        """``extractive`` rewritten by the generator ``generate`` chooses (see
        :func:`choose_generator`), or ``extractive`` itself when there is none or it is a
        refusal. ``on_token`` receives the model's text as it streams."""
        generator = choose_generator(generate, self.settings)
        if generator is None or not extractive.answered:
            return extractive
        messages, shown = build_prompt(question, [h.passage for h in hits],
                                       self.settings.llm_prompt_tokens, self.count_tokens)
        model = getattr(generator, "model", generator.name)
        reply = ""
        try:
            for piece in generator.stream(messages):
                reply += piece
                if on_token is not None:
                    on_token(piece)
        except GeneratorError as exc:
            notice = f"{exc}; showing the extractive answer"
            return replace(extractive, generation=Grounding(reply, [], True, notice, model))
        checked = self.checker.check(reply, [h.passage for h in hits[:shown]])
        grounding = Grounding(reply, checked, False, None, model)
        return grounded_answer(question, hits, grounding, extractive, self.book)
