"""The ``newsrag`` command line: build, add, search, ask, statements, info, serve, eval.

Errors newsrag expects (bad input, missing or stale index, a locked build) are printed to stderr as
one line starting with ``error:`` and exit with status 1; with ``--json`` nothing but the JSON
object ever goes to stdout.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn, Optional

import typer

from .errors import NewsragError

if TYPE_CHECKING:
    from .index import Index
    from .settings import Settings
    from .store import Manifest

__all__ = ["app", "main"]

app = typer.Typer(
    help="""Ask questions about news articles and get answers that cite their passages.

\b
Examples:
  newsrag build                          # index corpus/ into index/ (incremental)
  newsrag add new-article.md             # copy into corpus/ and index just that article
  newsrag ask "What did Zarif say about the attack?"
  newsrag ask "Who fired rockets at Al-Asad?" --json
  newsrag search "FAJR-5" -k 3 --mode bm25
  newsrag statements --speaker Zarif     # who said what, and when
  newsrag ask "What did he warn?" --speaker Austin --since 2021
  newsrag serve                          # the chat page on http://127.0.0.1:7860
  newsrag eval xquad                     # quality on a public benchmark
""",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

DEFAULT_CORPUS, DEFAULT_INDEX = Path("corpus"), Path("index")
CorpusOpt = typer.Option(DEFAULT_CORPUS, "--corpus", help="Folder of article files.")
IndexOpt = typer.Option(DEFAULT_INDEX, "--index", help="Folder of the index.")
JsonOpt = typer.Option(False, "--json", help="Print one JSON object to stdout, nothing else.")
ModeOpt = typer.Option("hybrid", "--mode", help="Retrieval: hybrid, dense or bm25.")
SpeakerOpt = typer.Option(None, "--speaker", help="Only passages quoting this person (any spelling).")
SinceOpt = typer.Option(None, "--since", help="Only passages from this date on: 2021, 2020-01, 2020-01-07.")
UntilOpt = typer.Option(None, "--until", help="Only passages up to this date: 2021, 2020-01, 2020-01-07.")
GeneratorOpt = typer.Option(None, "--generator", help="extractive (default) or openai: a language model "
                            "writes the answer, checked sentence by sentence against the passages. "
                            "Or a registered generator, a plugin's name or package.module:Class.")
LlmUrlOpt = typer.Option(None, "--llm-url", help="OpenAI-compatible endpoint, e.g. http://127.0.0.1:8080/v1 "
                         "(key from $NEWSRAG_LLM_API_KEY or $OPENAI_API_KEY).")
LlmModelOpt = typer.Option(None, "--llm-model", help="Model name to ask the endpoint for.")
StoreOpt = typer.Option(None, "--store", help="Where the index lives: faiss (files under --index, "
                        "the default), milvus, or package.module:Class. Env NEWSRAG_STORE.")
MilvusUriOpt = typer.Option(None, "--milvus-uri", help="With --store milvus: a file path (Milvus "
                            "Lite, embedded) or http(s)://host:19530 (a Milvus server). Default "
                            "<index>/milvus.db. Env NEWSRAG_MILVUS_URI.")


def _say(message: str) -> None:
    typer.echo(message, err=True)


def _say_inline(text: str) -> None:
    sys.stderr.write(text)
    sys.stderr.flush()


def _say_report(idx: Index) -> None:
    """What the build just did (``Index.build`` always records it)."""
    assert idx.build_report is not None
    _say(idx.build_report.summary())


def _fail(message: str) -> NoReturn:
    _say(f"error: {message}")
    raise typer.Exit(1)


def _use_store(store: Optional[str], milvus_uri: Optional[str]) -> None:
    """Make ``--store``/``--milvus-uri`` the settings of this process (and of the threads and
    loaders it starts), as their NEWSRAG_* variables would."""
    if store is not None:
        os.environ["NEWSRAG_STORE"] = store
    if milvus_uri is not None:
        os.environ["NEWSRAG_MILVUS_URI"] = milvus_uri


def _settings() -> Settings:
    from .settings import Settings

    try:
        return Settings()
    except Exception as exc:  # pydantic ValidationError from NEWSRAG_* variables
        _fail(f"invalid NEWSRAG_* setting: {exc}")


def _llm(generator: Optional[str], llm_url: Optional[str], llm_model: Optional[str]) -> Settings:
    """Settings with the generator options given on the command line."""
    update = {k: v for k, v in {"generator": generator, "llm_url": llm_url,
                                "llm_model": llm_model}.items() if v is not None}
    if generator is not None and generator != "extractive":
        from .generation import generator_class

        try:
            generator_class(generator)
        except NewsragError as exc:
            _fail(str(exc))
    return _settings().model_copy(update=update)


def _check_args(**values: Optional[str]) -> None:
    """Refuse command-line text that is not valid UTF-8 (or absurdly long) before any work, so
    it is never echoed back as invalid bytes (``statements --json`` did)."""
    from .validation import MAX_FIELD_CHARS, check_text

    for name, value in values.items():
        if value is not None:
            label = "the question" if name == "question" else f"--{name}"
            check_text(label, value, MAX_FIELD_CHARS.get(name, sys.maxsize))


def _check_corpus(corpus: Path) -> None:
    """A ``--corpus`` given that is no folder is a mistake to report, not to answer past from
    whatever index exists; the default corpus/ may be missing (a replica with only the index)."""
    if corpus == DEFAULT_CORPUS or corpus.is_dir():
        return
    _fail(f"--corpus {corpus} is not a folder" if corpus.exists()
          else f"no corpus folder {corpus}/ (check the path; the index is {DEFAULT_INDEX}/ "
               "unless --index says otherwise)")


def _corpus_of(corpus: Path, index: Path, settings: Settings) -> tuple[Path, Manifest | None]:
    """The corpus an index is kept up to date with: ``--corpus`` when given; ./corpus when it
    holds the index's articles (a project copied or moved with its index) or when there is none
    (the index then answers as it is: a replica with only the index); else, beside an unrelated
    corpus/, the folder the index was built from. ``newsrag ask --index other/`` run there never
    rebuilds other/ from this corpus/; where the recorded folder is gone, it answers as it is.
    Also the index's manifest, where it was read for this (the staleness check reuses it)."""
    from .articles import corpus_files
    from .stores import make_store

    if corpus != DEFAULT_CORPUS or not corpus.is_dir():
        return corpus, None
    store = make_store(settings, index)
    try:
        manifest = store.read_manifest() if store.exists() else None
    except NewsragError:  # an older or broken index: the build's own checks say why
        return corpus, None
    if manifest is None or manifest.corpus_dir is None \
            or Path(manifest.corpus_dir) == corpus.resolve():
        return corpus, manifest
    here = {p.relative_to(corpus).as_posix() for p in corpus_files(corpus)}
    if len(here & set(manifest.corpus_files)) * 2 >= len(manifest.corpus_files):
        return corpus, manifest  # most of its articles are here: this is its corpus, moved
    return Path(manifest.corpus_dir), manifest


def _ready_index(corpus: Path, index: Path, settings: Settings | None = None) -> Index:
    """Load the index, building or updating it first if it is missing or stale.

    If another build holds the lock, the live index answers (with a note) instead of failing:
    that build is bringing it up to date anyway.
    """
    from .build import index_is_stale
    from .errors import BuildLockedError
    from .index import Index
    from .stores import make_store

    settings = settings or _settings()
    _check_corpus(corpus)
    corpus, manifest = _corpus_of(corpus, index, settings)
    stale = index_is_stale(corpus, index, settings, manifest) if corpus.is_dir() else None
    if stale is None:
        return Index.load(index, settings)
    store = make_store(settings, index)
    note = (f"note: {stale}, but a build is running on {store.describe()}; answering from the index as "
            "it is")
    if store.exists() and store.is_locked():
        _say(note)
        return Index.load(index, settings)
    _say(f"building the index first ({stale}) ...")
    try:
        idx = Index.build(corpus, index, settings, progress=True)
    except BuildLockedError:
        if not store.exists():
            raise
        _say(note)
        return Index.load(index, settings)
    _say_report(idx)
    return idx


def _check_question(question: str, settings: Settings | None = None) -> None:
    """Refuse an empty or over-long question before the index and model are loaded."""
    from .answering import check_question

    check_question(question, (settings or _settings()).max_question_chars)


@app.command()
def build(
    corpus: Path = CorpusOpt,
    index: Path = IndexOpt,
    full: bool = typer.Option(False, "--full", help="Re-embed everything instead of only changes."),
    quantize: Optional[bool] = typer.Option(
        None, "--quantize/--no-quantize",
        help="Encode with an int8 dynamically quantised ONNX model (2.2x faster; the default "
        "for a new index on a CPU) or fp32 (--no-quantize; a new index's default with a GPU); "
        "changing it re-embeds everything. Default: as the index was built."),
    store: Optional[str] = StoreOpt,
    milvus_uri: Optional[str] = MilvusUriOpt,
    ray_address: Optional[str] = typer.Option(
        None, "--ray-address", help="Embed on Ray: local (a Ray instance in this process), auto "
        "(the cluster `ray start` made on this machine, or $RAY_ADDRESS), HOST:PORT (a cluster's "
        "GCS) or ray://HOST:10001 (a Ray client server). Default: in this process."),
    ray_workers: Optional[int] = typer.Option(
        None, "--ray-workers", min=1, help="Embedding actors on Ray (default: one per CPU of "
        "the cluster)."),
) -> None:
    """Build or update the index from the corpus folder (only new or changed articles are embedded)."""
    _use_store(store, milvus_uri)
    from .index import Index

    settings = _settings()
    if quantize is not None:
        settings = settings.model_copy(update={"quantize": quantize})
    executor = None
    if ray_address is not None:
        from .distributed import RayExecutor

        executor = RayExecutor(ray_address, ray_workers)
    try:
        if executor is not None:
            executor.connect()
        idx = Index.build(corpus, index, settings, full=full, progress=True, executor=executor)
        if executor is not None and executor.nodes:
            _say(f"embedding ran on {len(executor.nodes)} Ray node(s) in "
                 f"{executor.seconds:.1f}s")
    finally:
        if executor is not None:
            executor.shutdown()
    _say_report(idx)


@app.command()
def add(
    files: list[Path] = typer.Argument(..., help="Article files to copy into the corpus."),
    corpus: Path = CorpusOpt,
    index: Path = IndexOpt,
    store: Optional[str] = StoreOpt,
    milvus_uri: Optional[str] = MilvusUriOpt,
) -> None:
    """Copy article files into the corpus and update the index with them.

    \b
    Example:
      newsrag add ~/Downloads/strike-report.html notes/briefing.md
    """
    _use_store(store, milvus_uri)
    from .articles import read_article_file
    from .index import Index
    from .stores import make_store

    settings = _settings()
    if corpus.exists() and not corpus.is_dir():
        _fail(f"--corpus {corpus} is a file, not a folder: `add` copies articles into a folder")
    try:
        corpus.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        _fail(f"cannot create the corpus folder {corpus}/ ({exc.strerror or exc})")
    for f in files:
        if f.is_symlink():
            # As a build does not follow a link out of the corpus, add does not copy one in:
            # "notes.txt -> /etc/passwd" would put a file from elsewhere into the index.
            _fail(f"{f} is a symbolic link; links are not followed: name the file itself to "
                  "add it")
        if f.is_dir():
            _fail(f"{f} is a folder: name the article files to add (newsrag add {f}/*)")
        if not f.is_file():
            _fail(f"{f}: no such file")
        if f.name.startswith("."):
            _fail(f"{f.name}: hidden files (names starting with '.') are never read from the "
                  "corpus; rename it to add it")
        size = f.stat().st_size
        if settings.max_file_bytes and size > settings.max_file_bytes:
            _fail(f"{f}: {size:,} bytes, over the limit of {settings.max_file_bytes:,} per file "
                  "(NEWSRAG_MAX_FILE_BYTES)")
        try:
            read_article_file(f)  # refuse a bad file before it enters the corpus
        except RecursionError:
            _fail(f"{f}: nested too deeply to read (a JSON or YAML structure thousands of "
                  "levels deep)")
        target = corpus / f.name
        if target.exists() and not target.samefile(f) and target.read_bytes() != f.read_bytes():
            _fail(f"{target} already exists with other content; rename the file to add it")
        if not target.exists() and (copy := _same_content_in(corpus, f)) is not None:
            # A copy under another name would displace the article it copies (a build keeps
            # one of two identical files).
            _fail(f"{f} has the same content as {copy}, already in the corpus: nothing to add")
    # A build in progress would make ours fail after the copy: wait for it first.
    make_store(settings, index).wait_for_lock(_say)
    for f in files:
        target = corpus / f.name
        if target.exists() and target.samefile(f):
            _say(f"{f} is already in the corpus")
            continue
        shutil.copyfile(f, target)
        _say(f"copied {f} -> {target}")
    idx = Index.build(corpus, index, settings, progress=True)
    _say_report(idx)


def _same_content_in(corpus: Path, f: Path) -> Path | None:
    """A file of the corpus with exactly ``f``'s bytes (compared only where the sizes agree;
    links are not followed), or None."""
    size = f.stat().st_size
    data: bytes | None = None
    for other in corpus.rglob("*"):
        try:
            if other.is_symlink() or not other.is_file() or other.stat().st_size != size:
                continue
            data = f.read_bytes() if data is None else data
            if other.read_bytes() == data:
                return other
        except OSError:
            continue
    return None


@app.command()
def search(
    query: str = typer.Argument(..., help="What to look for."),
    k: int = typer.Option(5, "-k", min=1, max=1000, help="How many passages."),
    mode: str = ModeOpt,
    speaker: Optional[str] = SpeakerOpt,
    since: Optional[str] = SinceOpt,
    until: Optional[str] = UntilOpt,
    corpus: Path = CorpusOpt,
    index: Path = IndexOpt,
    as_json: bool = JsonOpt,
    store: Optional[str] = StoreOpt,
    milvus_uri: Optional[str] = MilvusUriOpt,
) -> None:
    """Show the passages that best match QUERY.

    \b
    Examples:
      newsrag search "Article 51 self-defense" -k 3 --json
      newsrag search "strike" --speaker Austin --since 2021
    """
    _use_store(store, milvus_uri)
    _check_args(question=query, speaker=speaker, since=since, until=until)
    _check_question(query)
    idx = _ready_index(corpus, index)
    hits = idx.search(query, k, mode, speaker=speaker, since=since, until=until)
    if as_json:
        typer.echo(json.dumps({"query": query, "mode": mode, "hits": [
            {"rank": r, "id": h.id, "row": h.row, "article_id": h.passage.article_id,
             "title": h.passage.title, "date": h.passage.date, "passage": h.passage.text,
             "start": h.passage.start, "end": h.passage.end, "score": h.score,
             "similarity": h.similarity} for r, h in enumerate(hits, 1)]}, ensure_ascii=False))
        return
    for r, h in enumerate(hits, 1):
        p = h.passage
        typer.echo(f"[{r}] {p.title} ({p.date or 'undated'})  score {h.score:.3f}")
        typer.echo("    " + p.text.replace("\n\n", "\n    ") + "\n")


@app.command()
def ask(
    question: str = typer.Argument(..., help="A question about the articles."),
    k: Optional[int] = typer.Option(None, "-k", min=1, max=50, help="Passages to retrieve (default 5)."),
    mode: str = ModeOpt,
    speaker: Optional[str] = SpeakerOpt,
    since: Optional[str] = SinceOpt,
    until: Optional[str] = UntilOpt,
    generator: Optional[str] = GeneratorOpt,
    llm_url: Optional[str] = LlmUrlOpt,
    llm_model: Optional[str] = LlmModelOpt,
    corpus: Path = CorpusOpt,
    index: Path = IndexOpt,
    as_json: bool = JsonOpt,
    store: Optional[str] = StoreOpt,
    milvus_uri: Optional[str] = MilvusUriOpt,
) -> None:
    """Answer QUESTION from the articles, citing the passages used.

    \b
    Examples:
      newsrag ask "What did Esper say about talks with Iran?"
      newsrag ask "When were the rockets fired?" --json | jq .answer
      newsrag ask "What did he warn?" --speaker Austin
      newsrag ask "Who threatened revenge?" --until 2020-01
      newsrag ask "What did Zarif say?" --generator openai --llm-url http://127.0.0.1:8080/v1
    """
    _use_store(store, milvus_uri)
    _check_args(question=question, speaker=speaker, since=since, until=until)
    settings = _llm(generator, llm_url, llm_model)
    _check_question(question, settings)
    idx = _ready_index(corpus, index, settings)
    streamed: list[str] = []

    def show(piece: str) -> None:  # the model's draft, live, on stderr; the checked answer follows
        if not streamed:
            _say_inline("draft from the language model (checked when done): ")
        streamed.append(piece)
        _say_inline(piece)

    answer = idx.ask(question, k, mode, speaker=speaker, since=since, until=until,
                     on_token=None if as_json else show)
    if streamed:
        _say("")
    if as_json:
        typer.echo(json.dumps(answer.to_dict(), ensure_ascii=False))
        return
    g = answer.generation
    if g is not None and g.notice:
        _say(f"notice: {g.notice}")
    if g is not None:
        for s in g.sentences:
            if not s.kept:
                _say(f"removed by the grounding check: {s.text!r} ({s.reason})")
    typer.echo(answer.answer + "\n")
    if not answer.answered and not answer.shown_sources():
        typer.echo("No passage comes close to this question.")
    for c in answer.shown_sources():
        said = f"  said by {c.attribution}" if c.attribution else ""
        typer.echo(f"[{c.n}] {c.title} ({c.date or 'undated'}){said}")
        typer.echo("    " + c.passage.replace("\n\n", "\n    ") + "\n")


@app.command()
def statements(
    speaker: Optional[str] = typer.Option(None, "--speaker", help="Only this person (any spelling)."),
    since: Optional[str] = SinceOpt,
    until: Optional[str] = UntilOpt,
    corpus: Path = CorpusOpt,
    index: Path = IndexOpt,
    as_json: bool = JsonOpt,
    store: Optional[str] = StoreOpt,
    milvus_uri: Optional[str] = MilvusUriOpt,
) -> None:
    """List who said what and when: quotations and reported speech found in the articles.

    \b
    Examples:
      newsrag statements                     # everyone, oldest first
      newsrag statements --speaker Zarif
      newsrag statements --speaker Austim --json   # spelling variants find Lloyd Austin
      newsrag statements --since 2021
    """
    _use_store(store, milvus_uri)
    _check_args(speaker=speaker, since=since, until=until)
    idx = _ready_index(corpus, index)
    found = idx.statements(speaker, since, until)
    if as_json:
        titles = {a.id: a.title for a in idx.articles()}
        typer.echo(json.dumps({"speaker": speaker, "since": since, "until": until, "statements": [
            {**st.to_dict(), "title": titles.get(st.article_id)} for st in found]},
            ensure_ascii=False))
        return
    if not found:
        known = ", ".join(name for name, _ in idx.speakers())
        from .dates import between

        period = between(since, until)
        when = f" ({period.describe()})" if period is not None else ""
        # Without the period, "no statements by esper; speakers: ..., Mark Esper" reads as a
        # contradiction when Esper is quoted in another year.
        _say(f"no statements{' by ' + speaker if speaker else ''}{when} found; speakers "
             f"(any date): {known}")
        return
    for st in found:
        kind = "quoted" if st.kind == "quotation" else "reported"
        written = st.speaker_as_written
        as_written = f", as {written!r}" if written and written != st.speaker else ""
        typer.echo(f"{st.label()} ({kind}{as_written}):")
        typer.echo(f"    {st.quote}\n")


@app.command()
def info(
    index: Path = IndexOpt,
    corpus: Path = CorpusOpt,
    as_json: bool = JsonOpt,
    store: Optional[str] = StoreOpt,
    milvus_uri: Optional[str] = MilvusUriOpt,
) -> None:
    """Describe the index: articles, passages, model, index type, when it was built, and
    whether it is up to date with the corpus folder."""
    _use_store(store, milvus_uri)
    from .build import index_is_stale
    from .index import Index

    _check_corpus(corpus)
    settings = _settings()
    idx = Index.load(index, settings)
    corpus, manifest = _corpus_of(corpus, index, settings)
    data = idx.info()
    data["article_list"] = [a.__dict__ for a in idx.articles()]
    # None: up to date; else why a build is due; no corpus folder here: unknown.
    data["corpus"] = str(corpus) if corpus.is_dir() else None
    data["stale"] = index_is_stale(corpus, index, settings, manifest) if corpus.is_dir() else None
    if as_json:
        typer.echo(json.dumps(data, ensure_ascii=False))
        return
    for key in ("index", "articles", "passages", "model", "dimension", "index_type",
                "built_at", "format_version"):
        typer.echo(f"{key:>14}: {data[key]}")
    typer.echo(f"{'chunking':>14}: {data['chunking']}")
    if data["corpus"] is not None:
        state = (f"stale: {data['stale']} (`newsrag build` updates it)" if data["stale"]
                 else "up to date")
        typer.echo(f"{'corpus':>14}: {corpus}/, {state}")
    for a in idx.articles():
        typer.echo(f"  - {a.title} ({a.date or 'undated'}; {a.passages} passages; {a.path})")
    for name, why in data["skipped"]:
        typer.echo(f"  skipped {name}: {why}")


@app.command("eval")
def eval_(
    dataset: str = typer.Argument(..., help="xquad, scifact, own (tests/questions.json over "
                                  "corpus/) or news (a folder of articles + questions.jsonl)."),
    mode: str = typer.Option("hybrid", "--mode", help="hybrid, dense, bm25, or all three."),
    k: int = typer.Option(10, "--k", min=1, max=100, help="Depth for the ranking metrics."),
    data: Optional[Path] = typer.Option(None, "--data", help="Benchmark folder (default ../shared/bench); "
                                        "for news, a folder with questions.jsonl (default bench/news_pd)."),
    split: str = typer.Option("all", "--split", help="XQuAD half: dev (tune on it), test (report "
                              "it) or all; split by article."),
    add: Optional[Path] = typer.Option(None, "--add", help="own: add this folder's articles to the "
                                       "corpus (the seed questions must score the same)."),
    limit: Optional[int] = typer.Option(None, "--limit", min=1, help="Only the first N questions."),
    answers: bool = typer.Option(True, "--answers/--no-answers", help="Also measure ask() answers."),
    generator: Optional[str] = GeneratorOpt,
    llm_url: Optional[str] = LlmUrlOpt,
    llm_model: Optional[str] = LlmModelOpt,
    as_json: bool = JsonOpt,
    store: Optional[str] = StoreOpt,
    milvus_uri: Optional[str] = MilvusUriOpt,
) -> None:
    """Measure retrieval and answer quality on a dataset, with the product's own pipeline.

    \b
    Examples:
      newsrag eval xquad                      # recall@1/@5, MRR@10, answer containment
      newsrag eval scifact --mode all --no-answers --json
      newsrag eval own                        # the project's question set over corpus/
      newsrag eval own --generator openai     # the same with generated, checked answers
      newsrag eval xquad --split test         # the held-out half (tune on --split dev)
      newsrag eval news                       # ../shared/bench/news_pd
      newsrag eval own --add ../shared/bench/news_pd   # seed questions with more articles beside
    """
    _use_store(store, milvus_uri)
    from .evaluation import PUBLISHED, evaluate, load_dataset

    modes = ["bm25", "dense", "hybrid"] if mode == "all" else [mode]
    ds = load_dataset(dataset, data, limit, split, add)
    settings = _llm(generator, llm_url, llm_model)
    results = []
    with tempfile.TemporaryDirectory(prefix="newsrag-eval-") as work:
        for m in modes:  # one index for all modes: after the first, the build is a no-op
            _say(f"evaluating {dataset} ({len(ds.queries)} questions), mode {m} ...")
            results.append(evaluate(ds, m, k, settings, answers=answers, work_dir=Path(work),
                                    progress=sys.stderr.isatty()))
    if as_json:
        typer.echo(json.dumps(results if len(results) > 1 else results[0]))
        return
    for r in results:
        typer.echo(f"{r['dataset']} · {r['mode']} · {r['questions']} questions · "
                   f"{r['documents']} documents · {r['passages']} passages")
        for key, value in r.items():
            if key in ("misses", "answered_unanswerable"):
                for miss in value:
                    typer.echo(f"  {key[:-2] if key == 'misses' else 'not refused'}: "
                               f"{miss['question']!r} -> {miss['answer'][:120]!r}")
            elif key not in ("dataset", "mode", "questions", "documents", "passages"):
                typer.echo(f"  {key:>22}: {value}")
    if dataset in PUBLISHED:
        typer.echo("published nDCG@10: " + ", ".join(f"{n} {v}" for n, v in PUBLISHED[dataset].items()))


@app.command()
def serve(
    host: str = typer.Option("127.0.0.1", "--host",
                             help="Address to bind (loopback unless you say otherwise)."),
    port: int = typer.Option(7860, "--port", min=1, max=65535),
    generator: Optional[str] = GeneratorOpt,
    llm_url: Optional[str] = LlmUrlOpt,
    llm_model: Optional[str] = LlmModelOpt,
    corpus: Path = CorpusOpt,
    index: Path = IndexOpt,
    store: Optional[str] = StoreOpt,
    milvus_uri: Optional[str] = MilvusUriOpt,
) -> None:
    """Start the chat page (builds the index first if it is missing or stale).

    \b
    Examples:
      newsrag serve --port 8080
      newsrag serve --generator openai --llm-url http://127.0.0.1:11434/v1 --llm-model llama3.2
    """
    _use_store(store, milvus_uri)
    _check_corpus(corpus)
    from .web import serve as run_server

    run_server(_corpus_of(corpus, index, _settings())[0], index, host, port,
               _llm(generator, llm_url, llm_model))


def main() -> None:
    """Entry point: runs the app and turns expected errors into one clear line on stderr."""
    try:
        app()
    except NewsragError as exc:
        _say(f"error: {exc}")
        sys.exit(1)
    except KeyboardInterrupt:
        _say("interrupted")
        sys.exit(130)


if __name__ == "__main__":
    main()
