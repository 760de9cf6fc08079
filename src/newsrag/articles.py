"""Reading articles: files in the corpus folder become :class:`Article` records.

Formats: plain ``.txt`` in the seed shape, ``.md`` with YAML front matter, ``.json``/``.jsonl``
records and ``.html`` pages (main text by trafilatura), each an :class:`ArticleReader` registered
by suffix; another format is one more reader (:func:`register_reader`, or an entry point in the
group ``newsrag.readers``; built-in and explicitly registered readers win over a plugin's for the
same suffix). A file that cannot be read is reported with its name and the reason and skipped; it
never stops the rest of the corpus from building.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, TypeVar

from .dates import dates_in
from .errors import ArticleError
from .plugins import entry_points

__all__ = [
    "Article",
    "CorpusReading",
    "SUPPORTED_SUFFIXES",
    "ArticleReader",
    "READERS",
    "register_reader",
    "reader_for",
    "supported_suffixes",
    "make_article",
    "read_article_file",
    "read_corpus",
    "corpus_files",
    "corpus_hashes",
    "open_corpus_file",
]

SUPPORTED_SUFFIXES = (".txt", ".md", ".json", ".jsonl", ".html", ".htm")  # the built-in readers'

# Lines that belong to the page around a story, not to the story ("Read: ..." related links,
# "Image: AP" credits). Kept as data so a new site's boilerplate is one more entry.
BOILERPLATE_LINE = re.compile(
    r"^\s*(?:(?:read|also read|read more|read next|related|see also|more|image|images|photo|photos|"
    r"photograph|watch|video|file photo|sign up|subscribe|advertisement|share this|follow us)"
    r"\s*:|advertisement\s*$|(?:©|\(c\)|copyright\b)|all rights reserved|"
    r"\(?(?:reporting|writing|editing|additional reporting) by\b|pic\.twitter\.com/\S+\s*$|"
    r"(?:photo|image|picture)s?\s+(?:by|credit|courtesy)\b|"
    # "U.S. Army photo by Spc. Derek Lawson": a short credit line, no sentence's end
    r".{0,60}\b(?:photo|image|picture)s?\s+(?:by|courtesy\s+of)\s+.{2,60}(?<![.!?])\s*$|"
    r".{0,200}[.)]\s+\(?(?:photo|image|picture)s?\s*(?:by|credit|courtesy|:)\s*[A-Z][^.]{0,60}\)?$|"
    r"[^.!?]{0,160}\b(?:in this (?:file )?photo|file photo)\b|"
    r"(?:getty images|ap photo|afp|reuters|associated press)(?:\s*/\s*\S.*)?\s*$|"
    r"(?:[\w&'’ -]{1,30}\s*[›»]\s*){1,6}[\w&'’ -]{1,30}\s*$)",  # breadcrumbs: "Markets › Energy"
    re.IGNORECASE,
)
# The page's own date line near the top, alone or after the byline: "Posted Sat, January 11,
# 2020, 4:15 PM GMT", "By Ann Lee, Markets Desk | Published: 16 Feb 2021".
POSTED_LINE = re.compile(r"^\s*(?:by\s+[^|]{1,80}\|\s*)?(?:posted|published|updated|first published)"
                         r"(?:\s+on)?\s*:?\s*(?P<date>.{6,60})$", re.IGNORECASE)
POSTED_LOOKAHEAD = 4  # non-empty lines below the headline where the page's date line may be
# A byline: "By Omar Jaber and Karen Lindqvist", "By Dana Whitcombe, Military Affairs Correspondent".
BYLINE = re.compile(r"^\s*by\s+[A-Z][\w.'’-]+(?:\s+[A-Z][\w.'’-]+){0,3}"
                    r"(?:\s*(?:,|and|&)\s*[A-Z][\w.'’ -]{1,60})*\s*$", re.IGNORECASE)
# An embedded tweet's signature: "... — Javad Zarif (@JZarif) January 8, 2020".
TWEET_SIGNATURE = re.compile(r"^(?P<quote>.*?)\s*[—–-]{1,2}\s*(?P<name>[A-Z][^()@\n]{1,60}?)\s*"
                             r"\(@\w{1,30}\)\s*(?P<date>[A-Z][a-z]{2,8}\.? \d{1,2},? \d{4})\s*$")
# Markdown a CMS exports: links, images, emphasis, quote markers, setext underlines.
MD_IMAGE = re.compile(r"!\[[^\]]*\]\([^)]*\)")
MD_LINK = re.compile(r"\[([^\]]+)\]\((?:[^()\s]|\([^)]*\))*\)")
MD_EMPHASIS = re.compile(r"(\*\*|__|\*|_)(?=\S)(.+?)(?<=\S)\1")
SETEXT_UNDERLINE = re.compile(r"^\s*(?:=+|-{3,})\s*$")
# A headline may end in an abbreviation ("... says U.S.") and still be a headline.
ABBREVIATION_END = re.compile(r"(?:\b(?:[A-Z]\.){2,}|\b(?:Jr|Sr|Inc|Co|Corp|Ltd|St)\.)[\"'”’]?$")
# A leading date line: "date 2021-03-03", "date: 2021-03-03", "Date: March 3, 2021".
DATE_PREFIX = re.compile(r"^\s*date\s*[:=]?\s*(.*)$", re.IGNORECASE | re.DOTALL)
# A first line counts as a headline when it is short and does not read as a sentence.
HEADLINE_MAX_CHARS = 160
DERIVED_TITLE_CHARS = 90
BINARY_SNIFF_BYTES = 8192


@dataclass(frozen=True)
class Article:
    """One news article, with the text that passages and their offsets refer to."""

    id: str
    title: str
    text: str
    date: str | None = None
    source: str | None = None
    url: str | None = None
    author: str | None = None
    path: str = ""
    title_derived: bool = False

    @property
    def content_hash(self) -> str:
        """Hash of everything the passages and their embeddings depend on.

        The id only covers the text (so duplicates are caught whatever their title); this also
        covers title and date, so editing either re-indexes the article.
        """
        payload = json.dumps([self.title, self.date, self.text, self.title_derived])
        return hashlib.sha256(payload.encode("utf-8")).hexdigest()


@dataclass
class CorpusReading:
    """What reading a corpus folder produced: the articles, and the files skipped with why."""

    articles: list[Article] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    warnings: list[tuple[str, str]] = field(default_factory=list)
    file_hashes: dict[str, str] = field(default_factory=dict)


def article_id(text: str) -> str:
    """Stable id: the same text (whitespace aside) always gets the same id."""
    normalised = " ".join(text.split())
    return hashlib.sha256(normalised.encode("utf-8")).hexdigest()[:16]


def _decode(name: str, raw: bytes) -> str:
    if not raw.strip():
        raise ArticleError(f"{name}: empty file")
    if b"\x00" in raw[:BINARY_SNIFF_BYTES]:
        raise ArticleError(f"{name}: binary file (contains NUL bytes), not an article")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ArticleError(
            f"{name}: not valid UTF-8 (byte 0x{raw[exc.start]:02x} at offset {exc.start}); "
            "re-save the file as UTF-8"
        ) from None
    if not text.strip():
        raise ArticleError(f"{name}: empty file")
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _normalise_date(value: Any, name: str, warnings: list[tuple[str, str]]) -> str | None:
    """ISO ``YYYY-MM-DD`` or None. An unreadable date is reported and left out, never guessed."""
    if value is None or value == "":
        return None
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    text = str(value).strip()
    try:
        return dt.date.fromisoformat(text[:10]).isoformat()
    except ValueError:
        warnings.append((name, f"unreadable date {text!r}: article kept as undated"))
        return None


def _paragraphs(lines: list[str]) -> list[str]:
    """Non-empty, non-boilerplate lines, whitespace-trimmed: one paragraph each. Bylines,
    credit and copyright lines, "Read Next" links and photo captions are page furniture."""
    out = []
    for ln in lines:
        text = re.sub(r"\s*pic\.twitter\.com/\S+", "", ln).strip()
        if text and not BOILERPLATE_LINE.match(text) and not BYLINE.match(text) \
                and not SETEXT_UNDERLINE.match(text):
            tweet = TWEET_SIGNATURE.match(text)
            if tweet:  # the tweet, then its attribution line in the seed shape
                if tweet.group("quote").strip():
                    out.append(tweet.group("quote").strip())
                out.append(f"{tweet.group('name').strip()} via Twitter, {tweet.group('date')}")
            else:
                out.append(text)
    return out


def _clean_markdown(text: str) -> str:
    """Plain text from CMS Markdown: link text without its URL, no images, no emphasis marks,
    no quote markers; a setext underline ("=====") becomes a paragraph break."""
    text = MD_IMAGE.sub("", text)
    text = MD_LINK.sub(r"\1", text)
    lines = []
    for line in text.split("\n"):
        line = re.sub(r"^\s{0,3}>\s?", "", line)  # blockquote (an embedded tweet, a quote)
        line = MD_EMPHASIS.sub(r"\2", line)
        lines.append("" if SETEXT_UNDERLINE.match(line) and line.strip() else line)
    return "\n".join(lines)


def _derived_title(body: str) -> str:
    """A title for an article that came without a headline: its lead, cut at a word."""
    lead = re.split(r"(?<=[.!?])\s", body.strip(), maxsplit=1)[0]
    if len(lead) <= DERIVED_TITLE_CHARS:
        return lead.rstrip(".")
    cut = lead[:DERIVED_TITLE_CHARS].rsplit(" ", 1)[0]
    return cut.rstrip(",;:") + "…"


def _looks_like_headline(line: str) -> bool:
    line = line.strip()
    return 0 < len(line) <= HEADLINE_MAX_CHARS and (
        not re.search(r"[.!?][\"'”’]?$", line) or ABBREVIATION_END.search(line) is not None)


def _take_date(line: str) -> tuple[str | None, str]:
    """The date a "date ..." line opens with (a full date right after the word), and the rest."""
    m = DATE_PREFIX.match(line)
    if m:
        found = dates_in(m.group(1))
        if found and found[0][0] == 0:
            _, end, iso = found[0]
            return iso, m.group(1)[end:].strip()
    return None, line


def _take_posted_date(lines: list[str]) -> str | None:
    """The date of a "Posted ..." line among the first lines (see POSTED_LINE), which is then
    dropped as page furniture; None when there is none."""
    seen = 0
    for i, line in enumerate(lines):
        if not line.strip():
            continue
        m = POSTED_LINE.match(line)
        found = dates_in(m.group("date")) if m else []
        if found and found[0][0] <= 5:  # the date first, or after a weekday ("Sat, ")
            lines[i] = ""
            return found[0][2]
        seen += 1
        if seen >= POSTED_LOOKAHEAD:
            break
    return None


def _parse_plain(name: str, text: str, meta: dict[str, Any], warnings: list) -> dict[str, Any]:
    """Seed shape: optional ``date YYYY-MM-DD`` prefix, headline line, paragraphs."""
    lines = [ln for ln in text.split("\n")]
    while lines and not lines[0].strip():
        lines.pop(0)
    date = meta.get("date")
    title = meta.get("title")
    if lines:
        found, rest = _take_date(lines[0])
        if found:
            date = date or found
            lines[0] = rest
        while lines and not lines[0].strip():  # "date 2021-03-03" alone on the first line
            lines.pop(0)
    if not title and lines and _looks_like_headline(lines[0]) and len(_paragraphs(lines)) > 1:
        title = lines.pop(0).strip().lstrip("#").strip()
        # A date line may also follow the headline.
        rest_lines = [i for i, ln in enumerate(lines) if ln.strip()]
        if rest_lines:
            found, rest = _take_date(lines[rest_lines[0]])
            if found:
                date = date or found
                lines[rest_lines[0]] = rest
    date = date or _take_posted_date(lines)
    paragraphs = _paragraphs([ln.lstrip("#").strip() if ln.startswith("#") else ln for ln in lines])
    body = "\n\n".join(paragraphs)
    if not body:
        raise ArticleError(f"{name}: no article text after the headline")
    return {**meta, "title": title, "date": date, "text": body}


def _parse_markdown(name: str, text: str, warnings: list) -> dict[str, Any]:
    import yaml

    meta: dict[str, Any] = {}
    m = re.match(r"^---\s*\n(.*?)\n---\s*(\n|$)", text, re.DOTALL)
    if m:
        try:
            loaded = yaml.safe_load(m.group(1))
        except yaml.YAMLError as exc:
            raise ArticleError(f"{name}: front matter is not valid YAML ({exc.problem})") from None
        if loaded is not None and not isinstance(loaded, dict):
            raise ArticleError(f"{name}: front matter must be a mapping of fields")
        meta = loaded or {}
        text = text[m.end():]
    return _parse_plain(name, _clean_markdown(text), meta, warnings)


def _parse_records(name: str, text: str, suffix: str,
                   warnings: list[tuple[str, str]]) -> list[tuple[str, dict[str, Any]]]:
    """(record name, record) pairs; a record without text is reported and left out, and only a
    file with no usable record at all is an error."""
    try:
        if suffix == ".jsonl":
            records = [json.loads(ln) for ln in text.split("\n") if ln.strip()]
        else:
            loaded = json.loads(text)
            records = loaded if isinstance(loaded, list) else [loaded]
    except json.JSONDecodeError as exc:
        raise ArticleError(f"{name}: invalid JSON at line {exc.lineno}: {exc.msg}") from None
    usable = []
    for i, rec in enumerate(records):
        rec_name = name if len(records) == 1 else f"{name}#{i + 1}"
        if isinstance(rec, dict) and str(rec.get("text") or "").strip():
            usable.append((rec_name, rec))
        elif len(records) > 1:
            warnings.append((rec_name, "record skipped: no 'text' field"))
    if not usable:
        raise ArticleError(f"{name}: record 1 has no 'text' field" if len(records) == 1
                           else f"{name}: no record has a 'text' field")
    return usable


def _parse_html(name: str, text: str) -> dict[str, Any]:
    import trafilatura

    extracted = trafilatura.extract(
        text,
        output_format="json",
        with_metadata=True,
        include_comments=False,
        date_extraction_params={"extensive_search": False, "original_date": True},
    )
    if not extracted:
        raise ArticleError(f"{name}: no article text found in the HTML page")
    data = json.loads(extracted)
    return {
        "title": data.get("title"),
        "date": data.get("date"),
        "url": data.get("url"),
        "source": data.get("sitename") or data.get("hostname"),
        "author": data.get("author"),
        # "text" keeps the page's paragraphs on lines of their own ("raw_text" runs them together).
        "text": data.get("text") or data.get("raw_text") or "",
    }


def _without_repeated_headline(body: str, title: str) -> str:
    """The body without a first paragraph that only repeats the headline (a page's ``<h1>``
    kept by the extractor, a Markdown ``# heading``): as a sentence it restated questions and
    won answers it does not give. A page title's " | Site" tail is allowed for."""
    first, _, rest = body.partition("\n")
    if not title or not rest.strip():
        return body

    def norm(s: str) -> str:
        return " ".join(re.sub(r"[^\w\s]", " ", s.lower().replace("’", "'")).split())

    head, whole = norm(first), norm(title)
    if head and (head == whole or (len(head) >= 20 and whole.startswith(head)
                                   and re.match(r"\s*[|\-—–:]", title[len(first.strip()):] or "|"))):
        return rest.lstrip("\n")
    return body


def _to_article(name: str, parsed: dict[str, Any], warnings: list) -> Article:
    """Turn cleaned fields (``text`` already through :func:`_parse_plain`) into an Article."""
    body = parsed["text"]
    title = str(parsed.get("title") or "").strip()
    body = _without_repeated_headline(body, title)
    derived = not title
    if derived:
        title = _derived_title(body)
    text_fields = {k: (str(parsed[k]).strip() or None) if parsed.get(k) else None
                   for k in ("source", "url", "author")}
    return Article(
        id=article_id(body),
        title=title,
        text=body,
        date=_normalise_date(parsed.get("date"), name, warnings),
        path=name,
        title_derived=derived,
        **text_fields,
    )


# ---- readers: one class per file format ------------------------------------------------------
class ArticleReader(ABC):
    """One article file format: the ``suffixes`` it reads and how.

    A new format is one subclass and one registry line (:func:`register_reader`), or an entry
    point in the group ``newsrag.readers``. A subclass implements :meth:`parse` (decoded text to
    articles; :func:`make_article` turns fields into an :class:`Article` cleaned the way the
    built-in formats are) and gets the decoding checks (empty, binary, not UTF-8) for free; a
    binary format overrides :meth:`read` instead.
    """

    suffixes: ClassVar[tuple[str, ...]] = ()

    def read(self, path: Path, name: str | None = None,
             warnings: list[tuple[str, str]] | None = None,
             raw: bytes | None = None) -> list[Article]:
        """The articles in one file. ``name``: how messages call it (default: the file name);
        ``warnings``: where notes about kept articles go; ``raw``: the bytes when the caller
        has read them already. Raises :class:`ArticleError` when the file cannot be used."""
        name = name or path.name
        warnings = warnings if warnings is not None else []
        if raw is None:
            try:
                raw = path.read_bytes()
            except OSError as exc:
                raise ArticleError(f"{name}: cannot read file ({exc.strerror})") from None
        return self.parse(name, _decode(name, raw), warnings)

    @abstractmethod
    def parse(self, name: str, text: str, warnings: list[tuple[str, str]]) -> list[Article]:
        """The articles in a file's decoded text (newlines already ``\\n``)."""


def make_article(name: str, fields: dict[str, Any], warnings: list[tuple[str, str]]) -> Article:
    """An :class:`Article` from raw fields (``text`` required; ``title``, ``date``, ``source``,
    ``url``, ``author`` optional), cleaned as the built-in formats clean theirs: the seed
    shape's date and headline lines read, page furniture dropped, a missing title derived."""
    return _to_article(name, _parse_plain(name, str(fields["text"]), fields, warnings), warnings)


READERS: dict[str, ArticleReader] = {}  # by lower-case suffix, ".txt"
R = TypeVar("R", bound=type[ArticleReader])


def register_reader(cls: R) -> R:
    """Class decorator (or a plain call): read files with ``cls.suffixes`` with a ``cls()``. A
    later registration of a suffix replaces the earlier one."""
    if not cls.suffixes or not all(s.startswith(".") for s in cls.suffixes):
        raise ArticleError(f"{cls.__name__}.suffixes must name suffixes like '.txt'")
    reader = cls()
    for suffix in cls.suffixes:
        READERS[suffix.lower()] = reader
    return cls


_plugins_loaded = False


def _load_reader_plugins() -> None:
    """Register the readers installed packages offer (entry points ``newsrag.readers``), once."""
    global _plugins_loaded
    if _plugins_loaded:
        return
    _plugins_loaded = True
    for ep in entry_points("newsrag.readers").values():
        try:
            cls = ep.load()
        except Exception:  # a broken plugin must not stop the formats that work
            continue
        if isinstance(cls, type) and issubclass(cls, ArticleReader) and cls.suffixes:
            READERS.update({s.lower(): cls() for s in cls.suffixes if s.lower() not in READERS})


def supported_suffixes() -> tuple[str, ...]:
    """Every suffix a reader is registered for (built-ins first)."""
    _load_reader_plugins()
    return tuple(READERS)


def reader_for(suffix: str) -> ArticleReader | None:
    """The reader for a file suffix (``".md"``), or None."""
    _load_reader_plugins()
    return READERS.get(suffix.lower())


@register_reader
class PlainTextReader(ArticleReader):
    """Plain text in the seed shape: optional ``date YYYY-MM-DD`` line, headline, paragraphs."""

    suffixes = (".txt",)

    def parse(self, name: str, text: str, warnings: list[tuple[str, str]]) -> list[Article]:
        return [_to_article(name, _parse_plain(name, text, {}, warnings), warnings)]


@register_reader
class MarkdownReader(ArticleReader):
    """Markdown with optional YAML front matter (title, date, source, url, author)."""

    suffixes = (".md",)

    def parse(self, name: str, text: str, warnings: list[tuple[str, str]]) -> list[Article]:
        return [_to_article(name, _parse_markdown(name, text, warnings), warnings)]


@register_reader
class JsonReader(ArticleReader):
    """A JSON record or list of records, or JSON Lines; each record needs a ``text`` field."""

    suffixes = (".json", ".jsonl")

    def parse(self, name: str, text: str, warnings: list[tuple[str, str]]) -> list[Article]:
        suffix = ".jsonl" if name.lower().endswith(".jsonl") else ".json"
        records = _parse_records(name, text, suffix, warnings)
        if len(records) == 1:
            return [make_article(*records[0], warnings)]
        # One record with nothing left after cleaning (SciFact's 80109277 is a copyright line)
        # must not cost the file's other records.
        articles = []
        for rec_name, rec in records:
            try:
                articles.append(make_article(rec_name, rec, warnings))
            except ArticleError as exc:
                warnings.append((rec_name, f"record skipped: {exc}"))
        if not articles:
            raise ArticleError(f"{name}: no record has any article text")
        return articles


@register_reader
class HtmlReader(ArticleReader):
    """An HTML page: its main text and metadata extracted by trafilatura."""

    suffixes = (".html", ".htm")

    def parse(self, name: str, text: str, warnings: list[tuple[str, str]]) -> list[Article]:
        return [make_article(name, _parse_html(name, text), warnings)]


def read_article_file(path: Path, name: str | None = None,
                      warnings: list[tuple[str, str]] | None = None,
                      raw: bytes | None = None) -> list[Article]:
    """Read one file into its articles (several for ``.json`` lists and ``.jsonl``), with the
    reader registered for its suffix.

    ``raw``: the file's bytes when the caller has read them already (see
    :func:`open_corpus_file`). Raises :class:`ArticleError` with the file name and the reason
    when the file cannot be used.
    """
    name = name or path.name
    suffix = path.suffix.lower()
    reader = reader_for(suffix)
    if reader is None:
        raise ArticleError(
            f"{name}: unsupported file type '{suffix or '(none)'}' "
            f"(newsrag reads {', '.join(supported_suffixes())})"
        )
    return reader.read(path, name, warnings, raw)


def corpus_files(corpus_dir: Path) -> list[Path]:
    """Every non-hidden file under the corpus folder, in a stable order."""
    return sorted(
        p for p in corpus_dir.rglob("*")
        if p.is_file() and not any(part.startswith(".") for part in p.relative_to(corpus_dir).parts)
    )


def _megabytes(size: int) -> str:
    return f"{size / 1e6:.1f} MB" if size >= 100_000 else f"{size:,} bytes"


def open_corpus_file(path: Path, corpus_dir: Path, max_bytes: int | None = None) -> bytes:
    """The bytes of one corpus file, or :class:`ArticleError` saying why it is not read: a link
    out of the corpus folder (never followed, so /etc/passwd cannot become an article), a file
    over ``max_bytes`` (checked before reading), or one the OS will not let us read."""
    name = path.relative_to(corpus_dir).as_posix()
    root = corpus_dir.resolve()
    target = path.resolve()
    if target != root and root not in target.parents:
        raise ArticleError(f"{name}: a link to {target}, outside the corpus folder; links out of "
                           "the corpus are not followed")
    try:
        size = path.stat().st_size
        if max_bytes and size > max_bytes:
            raise ArticleError(
                f"{name}: {_megabytes(size)}, over the limit of {_megabytes(max_bytes)} per file "
                "(NEWSRAG_MAX_FILE_BYTES); split it, or raise the limit")
        with path.open("rb") as fh:
            return fh.read()
    except OSError as exc:
        raise ArticleError(f"{name}: cannot read file ({exc.strerror or exc})") from None


def corpus_hashes(corpus_dir: Path, max_bytes: int | None = None) -> dict[str, str]:
    """SHA-256 of every corpus file a build reads, by relative name: what decides whether the
    index is stale. Files :func:`open_corpus_file` refuses are left out, as the build leaves
    them out."""
    hashes = {}
    for path in corpus_files(corpus_dir):
        try:
            raw = open_corpus_file(path, corpus_dir, max_bytes)
        except ArticleError:
            continue
        hashes[path.relative_to(corpus_dir).as_posix()] = hashlib.sha256(raw).hexdigest()
    return hashes


def read_corpus(corpus_dir: Path, max_bytes: int | None = None) -> CorpusReading:
    """Read every article file under ``corpus_dir``; bad files are skipped and reported."""
    reading = CorpusReading()
    seen: dict[str, str] = {}
    for path in corpus_files(corpus_dir):
        name = path.relative_to(corpus_dir).as_posix()
        try:
            raw = open_corpus_file(path, corpus_dir, max_bytes)
            reading.file_hashes[name] = hashlib.sha256(raw).hexdigest()
            articles = read_article_file(path, name, reading.warnings, raw=raw)
        except RecursionError:  # JSON or YAML nested deeper than the parser can follow
            reading.skipped.append((name, "nested too deeply to read (a JSON or YAML structure "
                                          "thousands of levels deep)"))
            continue
        except ArticleError as exc:
            reading.skipped.append((name, str(exc).removeprefix(f"{name}: ")))
            continue
        for art in articles:
            if art.id in seen:
                reading.skipped.append((art.path, f"duplicate of {seen[art.id]} (same text)"))
                continue
            seen[art.id] = art.path
            reading.articles.append(art)
    return reading
