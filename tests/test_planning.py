"""Query planning and filters, fast layer: in-memory passages and statements, a fake search.

No model, no index on disk: :mod:`newsrag.filters` and :mod:`newsrag.planning` are tested on
three hand-made articles, so each test runs in milliseconds.
"""

from __future__ import annotations

import numpy as np
import pytest

from newsrag.dates import TimeRange, parse_range
from newsrag.filters import ArticleNames, PassageFilters
from newsrag.names import NameTable
from newsrag.passages import Passage
from newsrag.planning import KEEP_RETRIEVED, READING_EXTRA, QueryPlanner, join_readings
from newsrag.retrieval import Hit
from newsrag.statements import Statement, StatementBook
from newsrag.store import ArticleMeta

# Article "a" (dated) has rows 0-1, "b" (undated, writes a full date) rows 2-3, "c" (undated,
# writes no date or year) row 4.
TEXTS = {
    "a": ["Rockets hit the Al-Asad airbase on Tuesday.",
          "Secretary Esper said the United States would respond."],
    "b": ["“Talks stalled,” the Voice of America reported on January 7, 2020.",
          "On January 5 the talks resumed on 2020 terms."],
    "c": ["Nobody knows when this happened."],
}
DATES = {"a": "2020-01-08", "b": None, "c": None}


def _corpus() -> tuple[list[ArticleMeta], list[Passage]]:
    articles, passages = [], []
    for aid, texts in TEXTS.items():
        articles.append(ArticleMeta(id=aid, path=f"{aid}.txt", title=f"Title {aid.upper()}",
                                    date=DATES[aid], content_hash=aid, first=len(passages),
                                    count=len(texts),
                                    source="Voice of America" if aid == "b" else None))
        start = 0
        for text in texts:
            passages.append(Passage(aid, f"Title {aid.upper()}", DATES[aid], start,
                                    start + len(text), text))
            start += len(text) + 2
    return articles, passages


def _statement(article: str, speaker: str, date: str | None, start: int, end: int) -> Statement:
    return Statement(article, "reported", speaker, speaker, None, None, date, "text", "quote",
                     start, end, start, end)


@pytest.fixture
def parts() -> tuple[list[ArticleMeta], list[Passage], StatementBook]:
    articles, passages = _corpus()
    rows: dict[str, list[tuple[int, int, int]]] = {}
    for row, p in enumerate(passages):
        rows.setdefault(p.article_id, []).append((p.start, p.end, row))
    # Esper speaks in row 1; a statement in article "c" carries a date its text never writes.
    statements = [_statement("a", "Mark Esper", "2020-01-08", passages[1].start + 1,
                             passages[1].end - 1),
                  _statement("c", "Someone Else", "2019-05-01", 0, 10)]
    book = StatementBook(statements, NameTable([["Mark Esper", "Esper"]]), rows)
    return articles, passages, book


def test_row_dates_come_from_article_text_and_statements(parts):
    filters = PassageFilters(*parts)
    dates = filters.row_dates()
    assert dates[0] >= {"2020-01-08"} and dates[1] >= {"2020-01-08"}
    # An undated article: a date without a year takes the latest full date the article writes.
    assert dates[2] == {"2020-01-07"} and dates[3] == {"2020-01-05"}
    assert dates[4] == {"2019-05-01"}  # only its statement dates it


def test_period_membership_and_the_undated_benefit_of_doubt(parts):
    articles, passages, book = parts
    filters = PassageFilters(articles, passages, book)
    january = parse_range("2020-01")
    assert filters.in_period(0, january) and not filters.in_period(4, january)
    # Row 3 names 2020 though its dates are in January; a year overlapping the period counts.
    assert filters.in_period(3, parse_range("2020-06"))
    # An article that writes no date or year cannot be placed outside a period...
    undated = PassageFilters(articles, passages, StatementBook([], NameTable(), {}))
    assert undated.not_out_of_period(4, january) and not undated.in_period(4, january)
    # ...but one dated elsewhere can.
    assert not filters.not_out_of_period(4, january)


def test_an_undated_article_tells_of_a_period_as_a_whole():
    """A story with no date line, one paragraph of which names the year of some earlier event
    ("the 2014 invitation"), may still tell of January 2020; one whose latest date is in 2019
    may not."""
    texts = {"vote": ["Parliament voted on Sunday to expel foreign troops.",
                      "Only the government can withdraw the 2014 invitation."],
             "old": ["The base was hit on December 27, 2019.",
                     "The 2014 invitation still stands."]}
    articles, passages = [], []
    for aid, paras in texts.items():
        articles.append(ArticleMeta(id=aid, path=f"{aid}.txt", title=aid, content_hash=aid,
                                    first=len(passages), count=len(paras)))
        start = 0
        for text in paras:
            passages.append(Passage(aid, aid, None, start, start + len(text), text))
            start += len(text) + 2
    filters = PassageFilters(articles, passages, StatementBook([], NameTable(), {}))
    january = parse_range("2020-01")
    assert not filters.not_out_of_period(1, january)  # the passage alone is placed in 2014
    assert filters.reports_on(0, january) and filters.reports_on(1, january)
    assert not filters.reports_on(3, january)  # placed by its latest date, December 2019
    assert filters.reports_on(3, parse_range("2019"))


def test_allowed_rows_for_speaker_and_period(parts):
    filters = PassageFilters(*parts)
    assert filters.allowed(None, None) is None
    assert filters.allowed("Esper", None).tolist() == [1]
    assert filters.allowed(None, parse_range("2020-01-05")).tolist() == [3]
    assert filters.allowed("Esper", parse_range("2021")).tolist() == []
    assert filters.allowed("Esper", None).dtype == np.int64


def test_article_names_cover_spellings_and_initials(parts):
    articles, passages, _ = parts
    names = ArticleNames(articles, passages, NameTable([["Al-Asad", "Ain al-Assad"]]))
    assert names.covers("a", "Ain al-Assad") and not names.covers("b", "Ain al-Assad")
    assert names.covers("b", "VOA")  # its source spells it out
    assert "VOA" in names.initials()


def test_article_names_cover_an_acronym_spelled_out_in_lower_case():
    text = "Sixty-four troops were diagnosed with mild traumatic brain injuries."
    article = ArticleMeta(id="t", path="t.txt", title="Injuries rise", date=None,
                          content_hash="t", first=0, count=1)
    names = ArticleNames([article], [Passage("t", "Injuries rise", None, 0, len(text), text)], None)
    assert names.covers("t", "TBI")      # "traumatic brain injuries"
    assert not names.covers("t", "PTSD")  # spelled out nowhere


def _hit(row: int, score: float = 1.0) -> Hit:
    return Hit(row, Passage("x", "", None, row, row + 1, f"passage {row}"), score, score)


def test_join_readings_keeps_the_best_retrieved():
    hits = [_hit(r) for r in range(5)]
    assert join_readings(hits, [], 5) is hits
    assert join_readings(hits, [_hit(2), _hit(4)], 5) is hits  # nothing new
    joined = join_readings(hits, [_hit(7), _hit(8), _hit(9), _hit(7)], 5)
    assert [h.row for h in joined] == [0, 1, 2, 7, 8]
    assert len([h for h in joined if h.row >= 7]) == READING_EXTRA
    # With k below KEEP_RETRIEVED + READING_EXTRA, the best retrieved still stay.
    short = join_readings(hits[:2], [_hit(7), _hit(8)], 2)
    assert [h.row for h in short] == [0, 1, 7, 8] and KEEP_RETRIEVED >= 2


class FakeSearch:
    """Records each search; returns the allowed rows (or rows 0..k-1), best first."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, int, str, list[int] | None]] = []

    def __call__(self, query: str, k: int, mode: str, allowed: np.ndarray | None) -> list[Hit]:
        self.calls.append((query, k, mode, None if allowed is None else allowed.tolist()))
        rows = allowed.tolist() if allowed is not None else list(range(5))
        return [_hit(r, 1.0 - i / 10) for i, r in enumerate(rows[:k])]


def test_plan_adds_the_filtered_speaker_to_the_query(parts):
    filters = PassageFilters(*parts)
    planner = QueryPlanner(filters, parts[2], FakeSearch(), candidates=50)
    plan = planner.plan("What did he say?", 3, "hybrid", speaker="Esper")
    assert plan.query == "What did he say? (Esper)" and plan.allowed.tolist() == [1]
    assert planner.plan("What did Esper say?", 3, "bm25", speaker="Esper").query == \
        "What did Esper say?"
    followup = planner.plan("What did he say?", 3, "hybrid", history=["Did Esper speak?"])
    assert followup.query == "What did he say? (Esper)" and followup.allowed is None


def test_plan_reports_filters_that_leave_nothing(parts):
    planner = QueryPlanner(PassageFilters(*parts), parts[2], FakeSearch(), candidates=50)
    plan = planner.plan("What did Esper say?", 3, "hybrid", speaker="Esper",
                        period=TimeRange("2021-01-01", "2021-12-31"))
    assert plan.filtered_out
    assert plan.filter_notice() == "No passage quoting Esper from 1 Jan 2021 to 31 Dec 2021 is in the index."
    assert not planner.plan("What happened?", 3, "hybrid").filtered_out


def test_retrieve_joins_the_named_speakers_passages(parts):
    search = FakeSearch()
    planner = QueryPlanner(PassageFilters(*parts), parts[2], search, candidates=50)
    plan = planner.plan("What did Esper say about rockets?", 1, "dense")
    assert plan.speaker_rows is not None and plan.speaker_rows.tolist() == [1]
    hits = planner.retrieve(plan)
    assert [h.row for h in hits] == [0, 1]
    assert search.calls == [(plan.query, 1, "dense", None), (plan.query, READING_EXTRA, "dense", [1])]


def test_retrieve_joins_passages_of_the_period_the_question_names(parts):
    search = FakeSearch()
    planner = QueryPlanner(PassageFilters(*parts), parts[2], search, candidates=5)
    plan = planner.plan("What happened in May 2019?", 2, "hybrid")
    assert plan.reading.period is not None and plan.period is None
    hits = planner.retrieve(plan)
    assert [h.row for h in hits] == [0, 1, 4]  # row 4 is the only May 2019 passage
    assert search.calls[-1] == (plan.query, 5, "hybrid", None)  # the candidate pool
    # A period the user set is a filter already: no second search.
    search.calls.clear()
    planner.retrieve(planner.plan("What happened in May 2019?", 2, "hybrid",
                                  period=parse_range("2019")))
    assert len(search.calls) == 1


def test_a_speaker_given_by_role_is_the_one_person_quoted_in_that_office():
    def said(who: str, role: str, date: str) -> Statement:
        return Statement("a", "reported", who, f"{role} {who}", role, None, date, "text", "q",
                         0, 1, 0, 1)

    book = StatementBook([said("Mark Esper", "Defense Secretary", "2020-01-08"),
                          said("Lloyd Austin", "Secretary of Defense", "2021-02-26"),
                          said("Antony Blinken", "U.S. Secretary of State", "2021-02-16")],
                         NameTable(), {})
    assert book.speaker_in_role("the U.S. secretary of state") == "Antony Blinken"
    # Two holders of the office: the period tells them apart, else nobody is guessed.
    assert book.speaker_in_role("the defense secretary") is None
    assert book.speaker_in_role("the defense secretary",
                                TimeRange("2021-02-01", "2021-02-28")) == "Lloyd Austin"
    assert book.speaker_in_role("the prime minister") is None
    # The office under another of its names.
    assert book.speaker_in_role("the Pentagon chief",
                                TimeRange("2021-02-01", "2021-02-28")) == "Lloyd Austin"
    assert book.speaker_in_role("the top diplomat") == "Antony Blinken"
    assert book.speaker_in_role("the top US diplomat") == "Antony Blinken"  # the default country


def test_a_lower_case_question_is_read_with_the_quoted_people_capitalised(parts):
    planner = QueryPlanner(PassageFilters(*parts), parts[2], FakeSearch(), candidates=5)
    assert planner.cased("esper on the missile attack") == "Esper on the missile attack"
    assert planner.cased("Esper on the missile attack") == "Esper on the missile attack"
    # Countries and codes are names too; a plain word stays as it is.
    assert planner.cased("australia reaction to ps752") == "Australia reaction to PS752"
    plan = planner.plan("esper reaction to the missile attack", 5, "hybrid")
    assert plan.reading.speaker == "Esper" and plan.reading.kind == "quote"
    assert plan.speaker_rows is not None and plan.speaker_rows.tolist() == [1]


def test_a_lower_case_word_no_article_writes_and_no_dictionary_has_is_a_name(parts):
    """"lavrov reaction to the missile attack" is read as "Lavrov reaction ...", so that the
    name no article mentions is found; ordinary words the articles do not use stay as typed."""
    corpus = {w for text in TEXTS.values() for t in text for w in t.lower().split()}
    planner = QueryPlanner(PassageFilters(*parts), parts[2], FakeSearch(), candidates=5,
                           knows=lambda word: word in corpus)
    assert planner.cased("lavrov reaction to the missile attack") == \
        "Lavrov reaction to the missile attack"
    assert planner.cased("barham salih on the rockets") == "Barham Salih on the rockets"
    assert planner.cased("irgc and tbi figures") == "irgc and tbi figures"  # acronyms
    for plain in ("were troops evacuated from the airbase",  # a word, two run together
                  "why was the tally concussed troops wont give",  # inflections, "won't"
                  "trump tweet after the attack"):  # newer than the word list's vocabulary
        assert planner.cased(plain).split(" ", 1)[1] == plain.split(" ", 1)[1]
    # A possessive is cased as its name is: "esper's" as "Esper's"
    assert planner.cased("esper's reaction to the missile attack") == \
        "Esper's reaction to the missile attack"
    plan = planner.plan("esper's reaction to the missile attack", 5, "hybrid")
    assert plan.reading.speaker == "Esper" and "Esper's" not in plan.reading.names
    # Without a way to ask the corpus, nothing is taken for a name for being unknown.
    blind = QueryPlanner(PassageFilters(*parts), parts[2], FakeSearch(), candidates=5)
    assert blind.cased("lavrov reaction") == "lavrov reaction"


def test_a_name_typed_first_in_lower_case_is_a_name_the_answer_must_cover(parts):
    articles, passages, book = parts
    proper = StatementBook(book.statements, NameTable([["Mark Esper", "Esper"]],
                                                      {"baghdad": "Baghdad", "some": "Some"}),
                           {})
    planner = QueryPlanner(PassageFilters(articles, passages, proper), proper, FakeSearch(),
                           candidates=5)
    assert planner.plan("baghdad talks 2020", 5, "hybrid").reading.names == ("Baghdad",)
    # A word every sentence may open with is no name, whatever the corpus does with it.
    assert planner.plan("some talks in baghdad", 5, "hybrid").reading.names == ("Baghdad",)


def test_an_office_of_a_country_is_found_by_its_peoples_word():
    def said(who: str, written: str) -> Statement:
        return Statement("a", "reported", who, written, "Defence Minister", None, "2020-01-08",
                         "text", "q", 0, 1, 0, 1)

    book = StatementBook([said("Trine Bramsen", "Danish Defence Minister Trine Bramsen"),
                          said("Frank Bakke-Jensen",
                               "Norway's Defence Minister Frank Bakke-Jensen")], NameTable(), {})
    assert book.speaker_in_role("Denmark's defense minister") == "Trine Bramsen"
    assert book.speaker_in_role("the Norwegian defence minister") == "Frank Bakke-Jensen"
    assert book.speaker_in_role("the defence minister") is None  # two of them


def test_a_later_report_tells_of_a_period_only_soon_after_it():
    """A report of 10 February 2020 recaps January's attack without writing its date; a story of
    February 2021 does not tell of January 2020 or of 2019 unless it writes that date."""
    texts = {"feb20": ("2020-02-10", "The number of troops with brain injuries rose to 109."),
             "feb21": ("2021-02-16", "Rockets hit Erbil, killing a contractor."),
             "feb21b": ("2021-02-17", "The base was also hit in January 2020.")}
    articles, passages = [], []
    for aid, (date, text) in texts.items():
        articles.append(ArticleMeta(id=aid, path=f"{aid}.txt", title=aid, content_hash=aid,
                                    first=len(passages), count=1, date=date))
        passages.append(Passage(aid, aid, date, 0, len(text), text))
    filters = PassageFilters(articles, passages, StatementBook([], NameTable(), {}))
    january = parse_range("2020-01")
    assert filters.reports_on(0, january)
    assert not filters.reports_on(1, january) and not filters.reports_on(1, parse_range("2019"))
    assert filters.reports_on(2, january)  # it writes the period
    assert filters.reports_on(1, parse_range("2021"))
