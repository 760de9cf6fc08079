"""Who said what, and when: statements, dates and name spellings (issue "who said what").

Expected statements are written down by hand in ``statements_expected.json``; the index, the
model and the CLI are the real ones.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from newsrag import Index
from newsrag.answering import FRAMING
from newsrag.articles import read_article_file
from newsrag.dates import TimeRange, dates_in, format_date, time_range_in
from newsrag.names import NameTable, load_aliases
from newsrag.statements import StatementBook, extract_statements

from conftest import CORPUS, run_cli

HERE = Path(__file__).resolve().parent
EXPECTED = json.loads((HERE / "statements_expected.json").read_text(encoding="utf-8"))
HARBOUR = HERE / "data" / "harbour_article.txt"
NO_QUOTES = HERE / "data" / "no_quotes_article.txt"


def _find(statements, text):
    return [st for st in statements if text in st.quote]


# ---- statements in the seed corpus ---------------------------------------------------------
def test_every_seed_quotation_has_the_right_speaker_and_date(seed_index):
    found = seed_index.statements()
    right = 0
    for q in EXPECTED["quotations"]:
        matches = _find(found, q["text"])
        assert matches, f"quotation not found: {q['text']}"
        st = matches[0]
        ok = (st.speaker, st.date, st.channel, st.kind) == (q["speaker"], q["date"], q["channel"], q["kind"])
        right += ok
        assert ok, (q, st)
    print(f"\nseed quotations found with the right speaker, date and channel: {right}/{len(EXPECTED['quotations'])}")


def test_reported_speech_in_2021_article_is_lloyd_austin(seed_index):
    austin = seed_index.statements(speaker="Lloyd Austin")
    for item in EXPECTED["austin_reported"]:
        matches = [st for st in austin if st.quote == item["text"]]
        assert matches, item
        assert matches[0].kind == "reported" and matches[0].date == item["date"]
        assert matches[0].speaker_as_written == item["as_written"]
    # a spelling variant and a bare surname find the same three
    assert [s.quote for s in seed_index.statements(speaker="Austim")] == [s.quote for s in austin]
    assert len(austin) == 3


def test_speakers_are_grouped_under_one_name(seed_index):
    speakers = dict(seed_index.speakers())
    assert "Rouhai" not in " ".join(speakers) and "Austim" not in " ".join(speakers)
    assert speakers["Hassan Rouhani"] == 3  # two in 2020, one in 2021 written "Rouhai"
    assert speakers["Mark Esper"] == 3      # "Mark T. Esper", "Mark Esper" and "Esper"
    rouhani = seed_index.statements(speaker="Rouhai")
    assert {s.date[:4] for s in rouhani} == {"2020", "2021"}


def test_statements_by_date_range(seed_index):
    in_2021 = seed_index.statements(since="2021")
    assert in_2021 and all(s.date >= "2021-01-01" for s in in_2021)
    jan_2020 = seed_index.statements(since="2020-01", until="2020-01")
    assert {s.speaker for s in jan_2020} == {"Mark Esper", "Hassan Rouhani", "Javad Zarif", "Donald Trump"}
    dates = [s.date for s in seed_index.statements()]
    assert dates == sorted(dates)  # oldest first


def test_a_speaker_quoted_but_not_in_the_period_asked_is_said_so(seed_index):
    """Esper is quoted in January 2020, not in 2021: the refusal says that, not that no
    article covers 2021 (one does: Austin's)."""
    answer = seed_index.ask("What did Esper say in 2021?")
    assert not answer.answered
    assert answer.reason.startswith("no article quotes Esper in the period asked (1 Jan 2021 to 31 Dec"), answer.reason


def test_statements_cli_says_which_period_found_nothing(tmp_path):
    from newsrag import Index

    index = tmp_path / "index"
    Index.build(CORPUS, index)
    proc = run_cli("statements", "--speaker", "esper", "--since", "2021", "--corpus", str(CORPUS),
                   "--index", str(index), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "no statements by esper (from 1 Jan 2021) found" in proc.stderr, proc.stderr
    assert "speakers (any date):" in proc.stderr


# ---- answers that know who spoke and when --------------------------------------------------
def test_citation_says_who_said_it_when_and_where(seed_index):
    answer = seed_index.ask("What did Zarif say about Article 51 of the UN Charter?")
    used = [c for c in answer.citations if c.used]
    assert used[0].attribution == "Javad Zarif, via Twitter, 7 Jan 2020"
    data = answer.to_dict()["citations"][0]
    assert data["attribution"] == "Javad Zarif, via Twitter, 7 Jan 2020"
    assert data["statements"][0]["speaker"] == "Javad Zarif"


@pytest.mark.parametrize("question, speaker", [
    ("Who threatened revenge?", "Hassan Rouhani"),
    ("Who warned that the strike could take place at any time?", "Lloyd Austin"),
    ("Who said the attack was self-defense under Article 51?", "Javad Zarif"),
])
def test_who_said_questions_name_the_speaker(seed_index, question, speaker):
    answer = seed_index.ask(question)
    assert answer.answered and answer.answer.startswith(speaker), answer.answer


@pytest.mark.parametrize("question, must_contain", [
    ("What did Rouhai say about Soleimani?", "revenge"),   # misspelt like the 2021 article
    ("What did Austim warn?", "strike"),
    ("Where did rockets strike near Erbil?", "Irbil"),     # the articles say Irbil
    ("What happened at Ain al-Asad?", "Al-Asad"),          # the 2020 article says Al-Asad
    ("When was Qasem Soleimani killed?", "January 3"),    # the 2020 article says Qassem
])
def test_spelling_variants_find_the_other_spellings(seed_index, question, must_contain):
    answer = seed_index.ask(question)
    assert answer.answered, answer.reason
    cited = " ".join(c.passage for c in answer.citations if c.used)
    assert must_contain in cited, (question, answer.answer)


def test_bm25_finds_a_variant_spelling(seed_index):
    hits = seed_index.search("Erbil", k=3, mode="bm25")
    assert hits and "Irbil" in hits[0].passage.text


def test_speaker_filter_restricts_the_sources(seed_index):
    answer = seed_index.ask("What did he say about talks?", speaker="Esper")
    assert answer.answered and "open to" in answer.answer
    for c in answer.citations:
        assert any(st.speaker == "Mark Esper" for st in seed_index.statements()
                   if st.article_id == c.article_id and c.start < st.context_end and c.end > st.context_start)
    refused = seed_index.ask("What did he say?", speaker="Emmanuel Macron")
    assert not refused.answered and not refused.citations


def test_time_in_question_narrows_to_that_period(seed_index):
    titles = {a.id: a.date for a in seed_index.articles()}
    answer = seed_index.ask("How did the US respond in 2021?")
    assert answer.answered
    # The period re-ranks: the answer rests on 2021 passages, while the best retrieved passages
    # of other dates stay listed (a year in a question may be just a word of it).
    assert {titles[c.article_id] for c in answer.citations if c.used} == {"2021-03-08"}
    answer = seed_index.ask("What did Zarif say in January 2020?")
    assert any(c.attribution and c.attribution.startswith("Javad Zarif") for c in answer.citations if c.used)


def test_date_filters_on_search(seed_index):
    hits = seed_index.search("rockets fired at bases", k=5, since="2021")
    assert hits and all(h.passage.date == "2021-03-08" for h in hits)
    hits = seed_index.search("rockets fired at bases", k=5, until="2020-12")
    assert hits and all(h.passage.date is None for h in hits)  # the 2020 article is undated


def test_undated_article_stays_undated(seed_index):
    undated = [a for a in seed_index.articles() if a.date is None]
    assert len(undated) == 1
    answer = seed_index.ask("What did Trump say about the missiles?")
    assert all(c.date in (None, "2021-03-08") for c in answer.citations)


# ---- reading statements from other articles ------------------------------------------------
def _statements_of(*paths: Path):
    articles = [a for p in paths for a in read_article_file(p)]
    names = NameTable.build([a.text for a in articles], load_aliases())
    return articles, extract_statements(articles, names)


def _story(tmp_path: Path, text: str, name: str = "story.txt"):
    """The articles and statements of a .txt story written for one test."""
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return _statements_of(path)


def test_article_without_quotations_yields_none():
    articles, statements = _statements_of(NO_QUOTES)
    assert articles and statements == []


def test_own_article_statements():
    """A third article, written for these tests in the seeds' shape."""
    _, found = _statements_of(HARBOUR)
    marchetti = [s for s in found if s.speaker == "Elena Marchetti"]
    assert [s.speaker_as_written for s in marchetti] == ["Director Elena Marchetti", "the port director", "Marcheti"]
    assert marchetti[0].date == "2023-09-12" and marchetti[0].dated_by == "text"
    assert marchetti[1].channel == "Radio Verano"
    ruiz = [s for s in found if s.kind == "quotation" and s.speaker == "Tomas Ruiz"]
    assert len(ruiz) == 1 and ruiz[0].channel == "Facebook" and ruiz[0].date == "2023-09-11"
    assert ruiz[0].quote.startswith("We will not let a single family")
    # a quotation no one is said to have spoken keeps no speaker
    sign = _find(found, "Nobody expected the water")
    assert sign and sign[0].speaker is None and sign[0].label().startswith("unattributed")


def test_new_article_is_indexed_with_its_statements(tmp_path, settings, embedder):
    corpus = tmp_path / "corpus"
    shutil.copytree(CORPUS, corpus)
    shutil.copy(HARBOUR, corpus / "harbour.txt")
    index = Index.build(corpus, tmp_path / "index", settings, embedder=embedder)
    assert {s.speaker for s in index.statements(speaker="Marchetti")} == {"Elena Marchetti"}
    answer = index.ask("Who warned that container traffic could take a month to recover?")
    assert answer.answered and answer.answer.startswith("Elena Marchetti"), answer.answer
    # the seeds' statements are still there
    assert len(index.statements(speaker="Zarif")) == 2


# ---- dates and names, the pieces -----------------------------------------------------------
def test_dates_in_questions():
    assert time_range_in("How did the US respond in 2021?") == TimeRange("2021-01-01", "2021-12-31")
    assert time_range_in("What did Zarif say in January 2020?") == TimeRange("2020-01-01", "2020-01-31")
    assert time_range_in("What happened after Soleimani's death?") == TimeRange("2020-01-04", None)
    assert time_range_in("What was said before 2021?") == TimeRange(None, "2020-12-31")
    assert time_range_in("Who fired the rockets?") is None


def test_dates_in_text_take_the_article_year_and_never_invent_one():
    assert dates_in("said on March 7", "2021-03-08")[0][2] == "2021-03-07"
    assert dates_in("on December 30", "2021-01-02")[0][2] == "2020-12-30"  # before the article
    assert dates_in("on March 7") == []  # no year anywhere: unknown, not guessed
    assert format_date("2020-01-07") == "7 Jan 2020" and format_date(None) == "undated"


def test_name_table_joins_spellings_from_corpus_and_alias_data():
    table = NameTable.build(["Hassan Rouhani spoke. Later Rouhai spoke. Ain al-Sada was hit."],
                            load_aliases())
    assert table.same("Rouhai", "Hassan Rouhani")
    assert "Irbil" in table.expand("rockets near Erbil")
    assert "Al-Asad" in table.expand("the Ain al-Sada airbase")
    assert not table.same("Donald Trump", "Mark Esper")
    assert table.same("GOP", "Republicans")  # "What number of GOP senators ...?"
    # A first name shared is no person shared: a government spokesman was quoted as Khamenei.
    assert not table.same("Ali Rabiei", "Ali Khamenei") and not table.same("Ali", "Ali Khamenei")
    assert table.same("Khamenei", "Ayatollah Ali Khamenei")
    assert table.same("Mohammad Javad Zarif", "Javad Zarif")


def test_name_table_keeps_the_words_written_only_capitalised(tmp_path):
    table = NameTable.build(["Rockets hit Erbil. Stoltenberg spoke of the rockets in Erbil."], [])
    assert table.proper["erbil"] == "Erbil" and table.proper["stoltenberg"] == "Stoltenberg"
    assert "rockets" not in table.proper  # also written in lower case
    table.save(tmp_path / "names.json")
    assert NameTable.load(tmp_path / "names.json").proper == table.proper
    (tmp_path / "old.json").write_text('{"groups": []}')  # an index built before
    assert NameTable.load(tmp_path / "old.json").proper == {}


# ---- the CLI ------------------------------------------------------------------------------
@pytest.mark.model  # the CLI in a subprocess loads the real model
def test_cli_statements_and_filters(tmp_path):
    shutil.copytree(CORPUS, tmp_path / "corpus")
    proc = run_cli("statements", "--speaker", "Austim", "--json", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert len(data["statements"]) == 3
    assert {s["speaker"] for s in data["statements"]} == {"Lloyd Austin"}
    assert all(s["label"].startswith("Lloyd Austin") for s in data["statements"])

    proc = run_cli("ask", "What did he warn?", "--speaker", "Austin", "--since", "2021", "--json",
                   cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert data["answered"]
    used = [c for c in data["citations"] if c["used"]]
    assert used and all(c["date"] == "2021-03-08" for c in used)
    assert any((c["attribution"] or "").startswith("Lloyd Austin") for c in used)

    proc = run_cli("ask", "What did he say?", "--since", "March 2099x", cwd=tmp_path)
    assert proc.returncode == 1 and proc.stderr.startswith("error: cannot read 'March 2099x'")
    assert "Traceback" not in proc.stderr


def test_framing_is_the_only_text_not_from_articles(seed_index):
    answer = seed_index.ask("Who threatened revenge?")
    first = answer.answer.split(" [", 1)[0]
    assert FRAMING.match(first)
    text = FRAMING.sub("", first)
    passage = answer.citations[0].passage
    # A quotation is followed by its attribution line in parentheses: both are article text.
    quoted = re.fullmatch(r"(.+) \(([^()]+)\)", text)
    if quoted and quoted.group(2) in passage:
        text = quoted.group(1)
    assert text in passage


def _index_of(tmp_path, settings, embedder, name: str, text: str) -> Index:
    """An index over one article written for the test (the real model unless -m fast)."""
    (tmp_path / "corpus").mkdir(exist_ok=True)
    (tmp_path / "corpus" / name).write_text(text, encoding="utf-8")
    return Index.build(tmp_path / "corpus", tmp_path / "index", settings, embedder=embedder)


def test_a_lead_in_with_a_colon_attributes_the_quotation_below_it(tmp_path, settings, embedder):
    # Web pages set a statement as "X said in a statement:" then a block quotation.
    (tmp_path / "corpus").mkdir()
    page = tmp_path / "corpus" / "erbil.md"
    page.write_text(
        "---\ntitle: Rockets hit Erbil airport\ndate: 2021-02-16\n---\n\n"
        "Rockets struck the airport in Erbil on Monday night, killing a contractor.\n\n"
        "Secretary of State Antony Blinken said in a statement late on Monday:\n\n"
        "\"We are outraged by today's rocket attack. We will hold those responsible "
        "accountable.\"\n\n"
        "Kurdish officials said the rockets were fired from a pickup truck.\n", encoding="utf-8")
    _, found = _statements_of(page)
    blinken = [s for s in found if s.speaker == "Antony Blinken"]
    assert len(blinken) == 1 and blinken[0].kind == "quotation", found
    assert blinken[0].quote.startswith('"We are outraged') and blinken[0].channel == "statement"
    index = Index.build(tmp_path / "corpus", tmp_path / "index", settings, embedder=embedder)
    for question in ("How did Blinken react to the rocket attack?",
                     "What did the secretary of state say about the attack in Erbil?"):
        answer = index.ask(question)
        # The lead-in comes along, so the reader sees whose words the quotation is.
        assert answer.answered and answer.answer.startswith(
            "Secretary of State Antony Blinken said in a statement late on Monday: [1] "
            '"We are outraged'), answer.answer


def test_a_person_named_but_never_quoted_is_not_answered_for(tmp_path, settings, embedder):
    # "Pope Francis was due to arrive" mentions him; it is no word of his, and neither is the
    # Vatican's statement after it. Their own words are still found.
    index = _index_of(
        tmp_path, settings, embedder, "asad.txt",
        "Rockets hit Ain al-Asad before papal visit\n\ndate: 2021-03-03\n\n"
        "At least 10 rockets struck Ain al-Asad air base on Wednesday morning.\n\n"
        "The attack came two days before Pope Francis was due to arrive in Baghdad for the "
        "first papal visit to Iraq. The Vatican said the schedule was unchanged.\n\n"
        "Pentagon press secretary John Kirby said: \"We're still assessing the damage.\"\n")
    for question in ("What did Pope Francis say about the rocket attack on Ain al-Asad?",
                     "How did Pope Francis react to the rockets?"):
        answer = index.ask(question)
        assert not answer.answered and "Francis" in answer.reason, (question, answer.answer)
    answer = index.ask("What did Kirby say about the rocket attack?")
    assert answer.answered and "assessing the damage" in answer.answer, answer.answer


def test_a_role_question_wants_the_name_of_that_person(tmp_path, settings, embedder):
    text = ("Contractor dies as rockets hit Ain al-Asad\n\ndate: 2021-03-04\n\n"
            "A U.S. civilian contractor died of a heart attack while sheltering from rockets that "
            "struck Ain al-Asad air base on Wednesday.\n\n"
            "Pentagon press secretary John Kirby said the contractor had been taking cover in a "
            "bunker when the rockets landed.\n")
    index = _index_of(tmp_path, settings, embedder, "asad.txt", text)
    answer = index.ask("Who was the American contractor killed at Ain al-Asad?")
    assert not answer.answered and "contractor's name" in answer.answer, answer.answer
    # Named, the answer is found.
    index = _index_of(tmp_path, settings, embedder, "asad.txt",
                      text + "\nThe contractor, Samuel Ortiz of Texas, was 57.\n")
    answer = index.ask("Who was the American contractor killed at Ain al-Asad?")
    assert answer.answered and "Samuel Ortiz" in answer.answer, answer.answer


def test_a_quotation_without_attribution_continues_the_paragraphs_last_speaker(tmp_path):
    """Wire style: '"...," Kirby told reporters. "We're still assessing. It would be unwise
    to speculate."' The second quotation, two sentences long, is Kirby's too; one in a new
    paragraph is nobody's."""
    story = tmp_path / "kirby.txt"
    story.write_text(
        "date: 2021-03-03\n\nRockets hit the base\n\n"
        '"No service members were injured," Kirby told reporters in Washington. "We are still '
        'assessing the damage. It would be unwise to speculate on attribution at this stage."\n\n'
        "Iraq's Security Media Cell said the rockets hit the base at 7:20 a.m.\n\n"  # not his
        '"Whoever fired these rockets knew they would fall on houses."\n', encoding="utf-8")
    _, found = _statements_of(story)
    first = _find(found, "No service members were injured")
    assert first and first[0].speaker == "Kirby"
    assert first[0].quote.startswith('"No service members')  # the quotation, not "reporters"
    rest = _find(found, "It would be unwise")
    assert rest and rest[0].speaker == "Kirby"
    assert rest[0].quote.startswith('"We are still assessing')  # both sentences, one statement
    alone = _find(found, "Whoever fired these rockets")
    assert alone and alone[0].speaker is None


def test_whose_office_it_is_tells_two_ministers_apart(tmp_path):
    """Two defence ministers quoted in one story: "Denmark's defense minister" is the Danish
    one, because the office is kept with the word that says whose it is."""
    story = tmp_path / "ministers.txt"
    story.write_text(
        "date: 2020-01-08\n\nAllies count their troops\n\n"
        '"They were in the bunkers when the missiles hit," Danish Defence Minister Trine Bramsen '
        "told reporters.\n\nNorway's Defence Minister Frank Bakke-Jensen said in a statement that "
        "no Norwegian personnel had been injured.\n", encoding="utf-8")
    articles, found = _statements_of(story)
    roles = {s.speaker: s.role for s in found}
    assert roles == {"Trine Bramsen": "Danish Defence Minister",
                     "Frank Bakke-Jensen": "Norway's Defence Minister"}
    book = StatementBook(found, NameTable.build([a.text for a in articles], load_aliases()), {})
    assert book.speaker_in_role("Denmark's defense minister") == "Trine Bramsen"
    assert book.speaker_in_role("the Norwegian defence minister") == "Frank Bakke-Jensen"
    assert book.speaker_in_role("the defence minister") is None  # two fit: nobody


def test_the_president_is_the_one_introduced_as_president(tmp_path):
    """"The president said" after someone else was quoted is the person the article introduced
    as president, not the last person quoted."""
    story = tmp_path / "address.txt"
    story.write_text(
        "date: 2020-01-08\n\nTrump speaks after the strikes\n\n"
        'President Donald Trump said Iran "appears to be standing down."\n\n'
        'Standing beside him was Vice President Mike Pence.\n\n'
        'House Speaker Nancy Pelosi said lawmakers were owed "a full explanation."\n\n'
        'The president said he would ask NATO to become "much more involved."\n', encoding="utf-8")
    _, found = _statements_of(story)
    nato = _find(found, "much more involved")
    assert nato and nato[0].speaker == "Donald Trump"
    owed = _find(found, "a full explanation")
    assert owed and owed[0].speaker == "Nancy Pelosi"


def test_arabic_names_inverted_attributions_and_appositive_roles(tmp_path):
    """Wire copy from Iraq: names with "al-", the verb before the speaker, the role set beside
    the name by commas, and a quotation whose attribution comes sentences after it opened."""
    story = tmp_path / "anbar.txt"
    story.write_text(
        "date: 2021-03-03\n\nRockets hit the base\n\n"
        "Col. Saad al-Obeidi, a spokesman for the Anbar Operations Command, said troops had found "
        'a burned-out truck. "The launcher was set on a timer. Whoever placed it was gone long '
        'before the first rocket flew," al-Obeidi said.\n\n'
        '"The Americans killed a guest of Iraq," said Hamid al-Mousawi, a Fatah lawmaker from '
        "Basra.\n\nSpeaking to Radio Dijla, the governor said the roads would reopen.\n",
        encoding="utf-8")
    articles, found = _statements_of(story)
    truck = _find(found, "burned-out truck")
    assert truck and truck[0].speaker == "Saad al-Obeidi"
    assert truck[0].role == "spokesman for the Anbar Operations Command"
    timer = _find(found, "set on a timer")
    assert timer and timer[0].speaker == "Saad al-Obeidi"  # not an unattributed quotation
    assert "Whoever placed it" in timer[0].quote  # one statement for both sentences
    guest = _find(found, "a guest of Iraq")
    assert guest and guest[0].speaker == "Hamid al-Mousawi"
    assert guest[0].role == "Fatah lawmaker from Basra"
    assert all(st.speaker != "Radio Dijla" for st in found)  # "Speaking to ..." is no name
    book = StatementBook(found, NameTable.build([a.text for a in articles], load_aliases()), {})
    assert book.speaker_in_role("the Anbar military spokesman") == "Saad al-Obeidi"


def test_naming_verbs_condemnations_and_surnames_read_as_their_speakers(tmp_path):
    # Reported by a user's own articles: 'called the attack "..."' was no statement, a
    # condemnation was none, "Marotto said" was not joined to the "Col. Wayne Marotto" named
    # (though not quoted) a paragraph before, and "he wrote" went to the last person quoted.
    (tmp_path / "corpus").mkdir()
    page = tmp_path / "corpus" / "erbil.md"
    page.write_text(
        "---\ntitle: Rockets hit Erbil airport\ndate: 2021-02-16\n---\n\n"
        "Rockets struck near the airport in Erbil on Monday night, killing a contractor.\n\n"
        "Iraqi Foreign Minister Fuad Hussein called the attack \"a dangerous escalation\" and "
        "promised an investigation.\n\n"
        "Kurdistan Region Prime Minister Masrour Barzani condemned the attack in the strongest "
        "terms.\n\n"
        "Colonel Wayne Marotto, a spokesman for the coalition, gave the first figures.\n\n"
        "\"Initial reports indicate 14 rockets were fired,\" Marotto said.\n\n"
        "Barzani said on Tuesday that the perpetrators would be found.\n\n"
        "Marotto described the rockets as 107mm rockets. \"Two hit the base,\" he wrote.\n\n"
        "Prime Minister Mustafa al-Kadhimi spoke to Biden by phone. Kadhimi told reporters that "
        "Baghdad would not tolerate attacks on diplomatic missions.\n\n"
        "A little-known group called Saraya Awliya al-Dam claimed the attack.\n", encoding="utf-8")
    _, found = _statements_of(page)
    by: dict = {}
    for s in found:
        by.setdefault(s.speaker, s)  # each speaker's first statement
    assert by["Fuad Hussein"].quote == "\"a dangerous escalation\"", found
    assert by["Masrour Barzani"].quote.startswith("condemned the attack in the strongest terms")
    assert by["Wayne Marotto"].quote.startswith("\"Initial reports indicate 14 rockets")
    assert by["Mustafa al-Kadhimi"].quote.startswith("Baghdad would not tolerate"), found
    assert "Marotto" not in by and "Kadhimi" not in by
    # "he" is the person the sentence before names, though it quotes no one; not Barzani.
    two = next(s for s in found if "Two hit the base" in s.quote)
    assert two.speaker == "Wayne Marotto" and two.speaker_as_written == "he", found
    assert not any(s.speaker and "little-known" in (s.speaker_as_written or "") for s in found)


def test_an_acronym_typed_in_lower_case_is_a_known_speaker_not_an_unknown_role(tmp_path, settings,
                                                                                embedder):
    # "what did the irgc call the missile operation" was refused as "No article mentions the
    # irgc" where the article names the Islamic Revolutionary Guard Corps.
    (tmp_path / "corpus").mkdir()
    (tmp_path / "corpus" / "tv.md").write_text(
        "---\ntitle: Iran state TV on the strikes\ndate: 2020-01-08\n---\n\n"
        "State television read a statement from the Islamic Revolutionary Guard Corps, which "
        "said the operation was named Martyr Soleimani.\n", encoding="utf-8")
    index = Index.build(tmp_path / "corpus", tmp_path / "index", settings, embedder=embedder)
    assert index.retriever.unknown_role("the irgc") is None
    assert index.retriever.unknown_role("the pontiff") == "the pontiff"
    answer = index.ask("what did the irgc call the missile operation")
    assert "irgc" not in answer.answer.lower(), answer.answer


def test_remarks_keep_their_sense_and_lose_the_dateline(tmp_path):
    # Reported by a new user: "No" was a speaker, a denial lost its verb (reading as the
    # opposite) and a wire dateline opened a remark.
    page = tmp_path / "embassy.txt"
    page.write_text(
        "Rockets land near US embassy\n\n"
        "BAGHDAD (Tigris Newswire) - At least three rockets landed near the US embassy late on "
        "Monday, security officials said.\n\n"
        "No group has claimed responsibility.\n\n"
        "Kataib Hezbollah denied any role in the attack.\n", encoding="utf-8")
    _, found = _statements_of(page)
    assert not any(s.speaker == "No" for s in found), found
    denial = next(s for s in found if s.speaker == "Kataib Hezbollah")
    assert denial.quote.startswith("denied any role"), denial
    wire = next(s for s in found if s.speaker == "security officials")
    assert wire.quote.startswith("At least three rockets"), wire


def test_a_speaker_typed_a_letter_off_is_the_one_the_articles_quote():
    """'Marrotto' and 'Kirbey' are typos of names the articles write ('Marotto', 'Kirby'); a
    name the articles write themselves is no typo."""
    texts = ["Col. Wayne Marotto, a coalition spokesman, said 14 rockets were fired.",
             "Pentagon press secretary John Kirby said it was too early to say.",
             "Gen. Mark Milley spoke, and so did acting Secretary Christopher Miller."]
    names = NameTable.build(texts, load_aliases())
    assert names.misspelt("Marrotto") == "Marotto" and names.misspelt("Kirbey") == "Kirby"
    assert names.same("Col. Marrotto", "Wayne Marotto") and names.same("Kirbey", "John Kirby")
    assert names.misspelt("Miller") is None
    assert names.misspelt("Macron") is None  # no name of the articles is that close


def test_organisations_named_x_of_y_speak_whole_and_groups_stay_in_their_article(tmp_path):
    """"The Joint Chiefs of Staff said" is the Joint Chiefs, not a person called "Staff"; an
    article's bare "officials said" is not another article's "Norwegian officials"."""
    erbil = tmp_path / "erbil.txt"
    erbil.write_text(
        "date: 2021-02-16\n\nRockets hit Erbil airport\n\n"
        "Rockets struck the airport in Erbil on Monday night, killing a contractor, officials said.\n\n"
        "A little-known group calling itself Guardians of the Blood Brigade claimed responsibility "
        "in a statement on Telegram.\n\n"
        "The Joint Chiefs of Staff said the base's defenses were being reviewed.\n\n"
        "The Veterans of Foreign Wars said the attack showed that troops remained at risk.\n\n"
        "Chairman of the Joint Chiefs of Staff Gen. Mark Milley said the United States would "
        'respond "at a time and place of our choosing."\n\n'
        "Iran's Minister of Foreign Affairs Javad Zarif said Iran had no role.\n", encoding="utf-8")
    oslo = tmp_path / "oslo.txt"
    oslo.write_text("date: 2020-01-08\n\nNorway's troops unhurt\n\nNorwegian officials said none "
                    "of the country's troops in Iraq were hurt.\n", encoding="utf-8")
    _, found = _statements_of(erbil, oslo)
    speaker = {key: _find(found, key)[0].speaker for key in (
        "killing a contractor", "claimed responsibility", "being reviewed", "remained at risk",
        "time and place", "no role", "were hurt")}
    assert speaker == {"killing a contractor": "officials",
                       "claimed responsibility": "Guardians of the Blood Brigade",
                       "being reviewed": "Joint Chiefs of Staff",
                       "remained at risk": "Veterans of Foreign Wars",
                       "time and place": "Mark Milley",
                       "no role": "Javad Zarif",
                       "were hurt": "Norwegian officials"}


def test_a_role_set_beside_the_name_without_an_article_and_a_role_before_it(tmp_path):
    """"Gen. Mark Milley, chairman of the Joint Chiefs of Staff, said" is Milley (was the
    Joint Chiefs), so the "He said" after it is his too (was nobody's); "Iraq's caretaker prime
    minister, Adel Abdul Mahdi, said his office ..." reports what follows the verb (the remark
    was "Iraq's caretaker prime minister")."""
    _, found = _story(
        tmp_path,
        "date: 2020-01-09\n\nMilley says missiles meant to kill\n\n"
        "Gen. Mark Milley, chairman of the Joint Chiefs of Staff, said the missiles were intended "
        "to kill personnel.\n\n"
        'He said the absence of casualties was owed to early warning, "not the intent of the enemy."'
        "\n\nIraq's caretaker prime minister, Adel Abdul Mahdi, said his office received a verbal "
        "message from Tehran after midnight.\n")
    kill = _find(found, "intended to kill")
    assert kill and kill[0].speaker == "Mark Milley"
    assert kill[0].role == "chairman of the Joint Chiefs of Staff"
    warning = _find(found, "owed to early warning")
    assert warning and warning[0].speaker == "Mark Milley"
    message = _find(found, "verbal message")
    assert message and message[0].speaker == "Adel Abdul Mahdi"
    assert message[0].quote.startswith("his office received")


def test_a_remark_is_dated_by_the_date_nearest_its_verb_and_never_after_the_article(tmp_path):
    """"... after Iran's Jan. 8 attack has risen to 109, the Pentagon said on Monday" was said
    on Monday (was dated Jan. 8); a visit "due to begin on March 5" in a March 4 report is this
    year's March 5, and a remark is never dated after its article."""
    _, found = _story(
        tmp_path,
        "date: 2021-03-04\n\nCount rises\n\n"
        "The number of troops diagnosed after Iran's Jan. 8 attack has risen to 109, the Pentagon "
        "said on Monday.\n\n"
        "Asked about them in Davos on Jan. 22, Trump said the injuries were not very serious.\n\n"
        "Pope Francis is due to begin a visit on March 5, a trip that Iraqi officials said "
        "would go ahead.\n")
    assert _find(found, "risen to 109")[0].date == "2021-03-01"  # the Monday before
    assert _find(found, "not very serious")[0].date == "2021-01-22"
    visit = [st for st in found if st.speaker == "Iraqi officials"][0]
    assert visit.date == "2021-03-04" and visit.dated_by == "article"
    assert dates_in("due to begin on March 5", "2021-03-04")[0][2] == "2021-03-05"
    assert dates_in("killed on Dec. 27", "2020-01-03")[0][2] == "2019-12-27"


def test_two_first_names_are_two_people_and_a_whole_name_asked_beats_a_shared_surname(tmp_path):
    """The Kurdistan Region's president Nechirvan Barzani and its prime minister Masrour Barzani
    were one speaker ("Masrour Barzani", the more quoted), so his words were refused."""
    articles, found = _story(
        tmp_path,
        "date: 2020-01-04\n\nKurdish leaders urge calm\n\n"
        '"Iraq must not become a battlefield," Nechirvan Barzani, president of the Kurdistan '
        "Region, said in a statement.\n\n"
        "Masrour Barzani, prime minister of the Kurdistan Regional Government, condemned the "
        'attack "in the strongest terms."\n\nMasrour Barzani said the region would stay calm.\n')
    assert {st.speaker for st in found} == {"Nechirvan Barzani", "Masrour Barzani"}
    names = NameTable.build([a.text for a in articles], load_aliases())
    book = StatementBook(found, names, {})
    assert book.speaker_named_in("What did Nechirvan Barzani say?") == "Nechirvan Barzani"
    assert book.speaker_named_in("What did Barzani say?") == "Masrour Barzani"  # most quoted
    assert names.same("Mike Pompeo", "Michael Pompeo")  # one initial: may be one person
