"""Reading questions (newsrag.questions): answer types, names, speakers, periods, coverage.

Pure functions over text: no model, milliseconds. The questions here are written for these tests
in several phrasings; a reading that flips with a synonym is a defect.
"""

from __future__ import annotations

import pytest

from newsrag.dates import TimeRange, resolve_weekday
from newsrag.questions import (NameCoverage, answer_evidence, counted_phrase, focused_evidence,
                               question_names, read_question, spelled_out, tightly_focused)


@pytest.mark.parametrize("question,kind", [
    ("Who died in the rocket attack near the airport?", "who"),
    ("Who was killed when rockets hit the airport?", "who"),
    ("Which official announced the investigation?", "who"),
    ("Which Pentagon spokeswoman gave the updated number of cases?", "who"),  # not a count
    ("What number of officials resigned?", "count"),
    ("What was the name of the contractor who died?", "who"),
    ("When in the evening did the rockets start falling?", "when"),
    ("when erbil attack", "when"),
    ("When the rockets hit, who was injured?", "who"),
    ("When did Iran fire missiles at the bases?", "when"),
    ("On what date did the strike take place?", "when"),
    ("At what time did the first rocket land?", "when"),
    ("Where were the injured troops flown?", "where"),
    ("In which city was the contractor killed?", "where"),
    ("How many rockets were fired?", "count"),
    ("How many people were injured?", "count"),
    ("What number of missiles hit the base?", "count"),
    ("What did Esper say about the strike?", "quote"),
    ("How did Rouhani respond to the killing?", "quote"),
    ("What was Zarif's reaction to the attack?", "quote"),
    ("Why did countries evacuate their embassies?", "why"),
    ("What is the FAJR-5?", "what"),
    ("Which airbases were attacked?", "where"),
    ("Which bases did Iran attack?", "where"),
    ("Which agreement did the administration leave?", "which"),
    # An opening why/when/where decides, whatever number the question mentions.
    ("Why did the number of troops reported injured keep rising?", "why"),
    ("why did the tbi count keep going up", "why"),
    ("When did the number of injured reach 109?", "when"),
    ("How many troops were injured?", "count"),
])
def test_answer_type(question, kind):
    assert read_question(question).kind == kind


@pytest.mark.parametrize("question,who_said", [
    ("Who claimed the rocket attack on Erbil airport?", False),  # who did it
    ("Who claimed responsibility for the barrage?", False),
    ("who claims the strike on the base", False),
    ("Who claimed the attack was a mistake?", True),  # whose words
    ("Who claimed that Iran fired the missiles?", True),
    ("Who warned that the strike could take place at any time?", True),
    ("Who said the base was hit?", True),
])
def test_claiming_an_attack_is_a_deed_not_words(question, who_said):
    assert read_question(question).who_said is who_said


@pytest.mark.parametrize("question", ["What type of plane was the airliner shot down near Tehran?",
                                      "Which airliner model did Iran shoot down?",
                                      "What kind of aircraft was flight PS752?"])
def test_a_type_of_thing_is_answered_by_a_model(question):
    reading = read_question(question)
    assert reading.unit == "model"
    model = "Flight PS752, a Boeing 737-800 bound for Kyiv, crashed minutes after take-off."
    airline = "Iran shot down a Ukraine International Airlines passenger jet near Tehran."
    assert answer_evidence(reading, model) and focused_evidence(reading, model)
    assert not focused_evidence(reading, airline)  # the airline's name is beside "jet"
    assert read_question("Which plane crashed near Tehran?").unit is None


@pytest.mark.parametrize("question", ["Who claimed the rocket attack on Erbil airport?",
                                      "Who carried out the rocket attack on Erbil airport?"])
def test_the_doer_named_before_the_verb_asked_about_is_focused(question):
    reading = read_question(question)
    doer = ("A little-known group calling itself Saraya Awliya al-Dam claimed responsibility "
            "and said it carried out the attack.")
    restated = "The last time the Erbil airport was targeted, Col. Wayne Marotto said, was Sept. 30."
    assert focused_evidence(reading, doer)
    assert not focused_evidence(reading, restated)
    assert not focused_evidence(read_question("Who was killed in the attack?"), doer)


@pytest.mark.parametrize("question,speaker", [
    ("What did Esper say about Soleimani?", "Esper"),
    ("What did Lloyd Austin say on March 7?", "Lloyd Austin"),
    ("In which U.S. city did Pompeo say the plot was hatched?", "Pompeo"),
    ("What did the senior official say about the target?", None),  # a role, not a name
    ("What did the Pentagon chief tell reporters?", None),
    ("How many rockets were fired?", None),
    ("How did the US respond in 2021?", None),
])
def test_speaker_is_a_name_or_nothing(question, speaker):
    assert read_question(question).speaker == speaker


def test_names_are_runs_not_words():
    """A multi-word name is one constraint: 'Ukraine' alone is not what was asked about."""
    assert question_names("How many Canadians died when Ukraine International Airlines flight "
                          "PS752 was shot down near Tehran?") == [
        "Canadians", "Ukraine International Airlines", "PS752", "Tehran"]
    assert question_names("In which desert is the Ain al-Assad air base?") == ["Ain al-Assad"]
    # Question words, months and weekdays are not names.
    assert question_names("What happened on Tuesday in February?") == []


def test_names_in_according_to_are_sources_not_constraints():
    reading = read_question("According to the Pentagon chief, how many missiles did Iran launch?")
    assert reading.kind == "count"
    assert "Pentagon" not in reading.names and "Iran" in reading.names


def test_period_is_explicit_only_when_written_out():
    assert read_question("What happened at Al-Asad in March 2021?").explicit_period
    reading = read_question("What happened after Soleimani's death?")
    assert reading.period is not None and not reading.explicit_period


@pytest.mark.parametrize("question,yes,no", [
    ("Who died in the rocket attack?",
     "A civilian contractor was killed and nine people were wounded.",
     "The rocket attack took place at night."),
    ("How many rockets were fired?",
     "Officials said 14 rockets were fired at about 9:30 p.m.",
     "Rockets were fired at the base on Jan. 8, 2020."),
    ("How many rockets were fired?",
     "At least ten rockets were fired from east of the base.",
     "The rockets were fired from a truck."),
    ("When did the rockets hit the base?",
     "The rockets hit the base late on Monday.",
     "The rockets hit the base, officials said."),
    ("Where were the wounded taken?",
     "The wounded were flown to Landstuhl in Germany.",
     "The wounded were taken away quickly."),
])
def test_evidence_of_the_kind_asked(question, yes, no):
    reading = read_question(question)
    assert answer_evidence(reading, yes)
    assert not answer_evidence(reading, no)


def test_a_place_is_not_who():
    reading = read_question("What was the name of the contractor who died?")
    assert not answer_evidence(reading, "The rockets struck the base in Al Asad on Wednesday.")
    assert answer_evidence(reading, "The contractor was identified as John Miller of Ohio.")


def test_name_coverage_tolerates_spelling_not_absence():
    text = ("Rockets hit Al-Asad air base in the western Anbar desert. The report came from "
            "the Voice of America. Defense Secretary Lloyd Austin spoke.")
    covers = NameCoverage(text).covers
    assert covers("Ain al-Assad")      # half the distinctive words, one letter off
    assert covers("VOA")               # an acronym the text spells out
    assert covers("Lloyd Austin") and covers("Secretary Austim")
    assert covers("U.S.")              # spellings of the US never decide
    assert not covers("Erbil")
    assert not covers("Antony Blinken")
    # A country's people for the country named, and the other way round.
    assert NameCoverage("The king of France issued the edict.").covers("French")
    assert NameCoverage("Iraqi officials said so.").covers("Iraq")
    assert not NameCoverage("Iraqi officials said so.").covers("Iran")


@pytest.mark.parametrize("question,kind,focus", [
    ("Who piloted flight PS752?", "who", "pilot"),            # the doer of the verb, by role
    ("Who commanded the US forces at the base?", "who", "commander"),
    ("Who commands the US forces at the base?", "who", "commander"),  # any tense
    ("Who leads the militia?", "who", "leader"),
    ("Who claimed the attack?", "who", None),                  # no role: any name answers
    ("What amount did Iran pay in compensation?", "count", None),
    ("What was the size of Norway's contingent at the base?", "count", None),  # a figure
    ("By what margin did the Senate pass the resolution?", "count", None),
    ("At what point did Baghdad receive Tehran's message?", "when", None),
    ("what was the vote count on the war powers resolution", "count", None),
    ("What was the size of the deployment decision's impact on morale?", "count", None),
])
def test_roles_and_amounts_read_from_the_verb(question, kind, focus):
    reading = read_question(question)
    assert (reading.kind, reading.focus, reading.role) == (kind, focus, focus is not None)


@pytest.mark.parametrize("question,offices", [
    ("How did Iran's supreme leader react to the attack?", [("Iran", "supreme leader")]),
    ("What did the Saudi foreign minister say?", [("Saudi", "foreign minister")]),
    ("How did the president of Iraq describe it?", [("Iraq", "president")]),
    ("What did Iraqi lawmakers decide about US troops?", [("Iraqi", "parliament")]),
    ("What did the US secretary of state say?", [(None, "secretary of state")]),
    ("What did Defense Secretary Esper say?", []),  # the holder is named: the name decides
    ("How did the Iraqi air defence chief respond?", []),  # no ministry: a military command
    ("How did the Iraqi defence chief respond?", [("Iraqi", "defense minister")]),
])
def test_offices_asked_of(question, offices):
    from newsrag.lexicon import OFFICE_GROUPS
    from newsrag.questions import offices_in

    assert [(c, OFFICE_GROUPS[g][0]) for c, g in offices_in(question)] == offices


def test_office_mentioned_with_its_country():
    from newsrag.lexicon import OFFICE_GROUPS
    from newsrag.questions import office_mentioned

    leader = next(i for i, g in enumerate(OFFICE_GROUPS) if "supreme leader" in g)
    minister = next(i for i, g in enumerate(OFFICE_GROUPS) if "foreign minister" in g)
    assert office_mentioned("Iranian Supreme Leader Ayatollah Ali Khamenei spoke.", "Iran", leader)
    assert office_mentioned("Zarif, Iran's foreign minister, wrote.", "Iran", minister)
    assert not office_mentioned("Zarif, Iran's foreign minister, wrote.", "Saudi", minister)
    assert not office_mentioned("The Guards said Iran fired missiles.", "Iran", leader)


@pytest.mark.parametrize("question,sentence,evidence", [
    # A sum of money, not any number.
    ("How much compensation did Iran pay the families?", "All 176 people on board died.", False),
    ("How much compensation did Iran pay the families?", "Iran offered $150,000 per family.", True),
    ("How much compensation did Iran pay the families?", "It offered 150,000 dollars each.", True),
    ("How much did oil prices rise?", "Brent rose 4.5 percent.", True),  # not money
    ("What was the estimated repair bill for the base?", "The attack hurt 109 troops.", False),
    ("What was the estimated repair bill for the base?", "Repairs will cost $10 million.", True),
    ("ain al asad damage cost", "Repairs will cost $10 million.", True),
    # A clock time or a time of day, not a weekday.
    ("At what time did the rockets hit?", "Rockets hit the base on Wednesday.", False),
    ("At what time did the rockets hit?", "Rockets hit the base at 7:20 a.m.", True),
    ("What time of day was the base hit?", "Rockets hit early in the morning.", True),
    ("When did the rockets hit?", "Rockets hit the base on Wednesday.", True),
    ("When in the evening did the rockets hit?", "Rockets hit the airport on Monday.", False),
    ("When in the evening did the rockets hit?", "Rockets hit at about 9:30 p.m.", True),
    # A weekday, when the question asks for one.
    ("On which day of the week did the rockets hit?", "Rockets hit the airport on Jan. 8.", False),
    ("On which day of the week did the rockets hit?", "Rockets hit on Monday night.", True),
    # A day of a month or a number in a name is no count.
    ("How many Iranians were killed?", "A Boeing 737-800 crashed on Jan. 8.", False),
    ("How many Iranians were killed?", "The victims included 82 Iranians.", True),
    # A nationality is given for the person asked about, not for someone else nearby.
    ("What nationality was the contractor killed in Erbil?",
     "Rockets killed a foreign contractor, wounding nine people, including an American soldier.",
     False),
    ("Which country was the contractor killed in Erbil a citizen of?",
     "The contractor, a Filipino national, died at the scene.", True),
    ("what country was the erbil contractor from", "The dead contractor was Nepalese.", True),
    # A span of time is no count of people, unless time is asked for.
    ("How many lawmakers attended?", "They voted two days after the strike.", False),
    ("How many days after the strike did they vote?", "They voted two days after it.", True),
    # "By name": a person's name, not a description.
    ("Which contractor, by name, was killed?", "A civilian contractor was killed.", False),
    ("Which contractor, by name, was killed?", "The contractor, John Hale, was killed.", True),
    # A person, when the question asks which commander; a body, when it asks which group.
    ("Which Guards commander took responsibility for downing the jet?",
     "Iran said it shot down Ukraine International Airlines flight PS752.", False),
    ("Which Guards commander took responsibility for downing the jet?",
     "Gen. Amir Ali Hajizadeh said he took full responsibility.", True),
    ("Which group claimed the attack?", "Saraya Awliya al-Dam claimed the attack.", True),
    # A claim of the act, not a group named near it.
    ("Which group claimed responsibility for the rocket attack?",
     "At least 10 rockets struck the base, the Pentagon said.", False),
    ("Who said they carried out the rocket strike on the base?",
     "Coalition spokesman Col. Wayne Marotto said 14 rockets were fired.", False),
    ("claim of responsibility al asad rockets march 2021",
     "Rockets struck Ain al-Asad on Wednesday, killing a contractor.", False),
    ("Who said they carried out the rocket strike on the base?",
     "A group calling itself Saraya Awliya al-Dam claimed responsibility on Telegram.", True),
    # An age, not any number near the person.
    ("How old was the contractor who died?", "The contractor died after 10 rockets hit.", False),
    ("What age was the contractor who died in 2021?",
     "The contractor, who was in his 50s, died of a heart attack.", True),
    ("age of contractor who died al asad march 2021",
     "John Hale, 56, of Ohio, died at the base.", True),
    ("What was the contractor's age?", "The 56-year-old contractor died at the base.", True),
])
def test_evidence_of_money_clock_time_and_names(question, sentence, evidence):
    assert answer_evidence(read_question(question), sentence) is evidence


def test_weekday_resolved_against_the_report_date():
    # A Friday report's "late Thursday" is the day before.
    assert resolve_weekday("in a statement late Thursday", "2020-01-03") == ("Thursday", "2020-01-02")
    assert resolve_weekday("on Friday", "2020-01-03") == ("Friday", "2020-01-03")
    assert resolve_weekday("no weekday here", "2020-01-03") is None
    assert resolve_weekday("on Monday", None) is None


def test_time_range_reading_unchanged():
    assert read_question("How did the US respond in 2021?").period == TimeRange("2021-01-01",
                                                                                 "2021-12-31")


@pytest.mark.parametrize("question, counted", [
    ("How many rockets were fired at Erbil airport?", "rockets"),
    ("How many American service members were wounded?", "American service members"),
    ("How many Canadians died on the plane?", "Canadians"),
    ("How many rockets hit Ain al-Asad in March 2021?", "rockets"),  # a past not in "-ed"
    ("How many missiles struck the base?", "missiles"),
    ("How many were hurt?", ""),
])
def test_what_a_count_question_counts(question, counted):
    assert counted_phrase(question) == counted
    assert bool(read_question(question).counted) == bool(counted)


@pytest.mark.parametrize("question, yes, no", [
    ("How many rockets were fired at the airport?",
     "A spokesman said 14 rockets were fired at about 9:30 p.m.",
     "Rockets struck the airport, wounding nine coalition personnel."),
    ("How many Iranians were killed on the flight?",
     "The victims included 82 Iranians and 63 Canadians.",
     "The plane crashed 6 minutes after take-off near Tehran."),
    ("How many people were hurt in the attack?",   # a person noun counts any person noun
     "The attack wounded nine coalition personnel.",
     "The attack destroyed two hangars."),
    ("Which general accepted responsibility?",     # an abbreviated title is the role
     "Gen. Amir Ali Hajizadeh said he accepted full responsibility.",
     "The general staff blamed human error, Iran's state television said."),
    ("How many Iranian nationals died on the flight?",  # a nationality counted: its people
     "The victims included 82 Iranians and 63 Canadians.",
     "The missile killed all 176 people on board."),
    ("Which airline cancelled its flights to Tehran?",  # the doer opens the sentence
     "Lufthansa cancelled its Frankfurt-Tehran flights until Jan. 20.",
     "It cancelled its flights to Tehran."),
    ("At which university were students dispersed?",   # the university did not disperse them
     "Students at Amir Kabir University were dispersed with tear gas.",
     "Police dispersed the crowd with tear gas."),
    ("Who was the contractor who died?",           # a role question wants a person's name
     "The contractor, Samuel Ortiz of Texas, died of a cardiac episode.",
     "Rockets killed a civilian contractor working with the U.S.-led coalition."),
])
def test_focused_evidence_stands_beside_what_is_asked(question, yes, no):
    reading = read_question(question)
    assert focused_evidence(reading, yes)
    assert not focused_evidence(reading, no)


def test_role_questions_are_read_as_roles():
    reading = read_question("Who was the civilian contractor who died when rockets hit Erbil?")
    assert reading.kind == "who" and reading.focus == "contractor" and reading.role
    assert not read_question("Which senator criticised the strike?").role


def test_acronyms_spelled_out_in_any_case():
    assert spelled_out("TBI").search("mild traumatic brain injuries were reported")
    assert spelled_out("SOHR").search("The Syrian Observatory for Human Rights said 22 died")
    assert not spelled_out("TBI").search("injuries to the brain were reported")


def test_according_to_names_a_source_not_a_constraint():
    reading = read_question("Why were no troops killed, according to spokesman Col. Myles Caggins?")
    assert reading.names == ()


@pytest.mark.parametrize("question, focus", [
    ("Which military bases did Iran target in January 2020?", "bases"),  # the head noun
    ("What militant group said it carried out the attack?", "group"),
    ("Which historic trip to Iraq was scheduled?", "trip"),
    ("What kind of missiles were fired?", "missiles"),
    ("Which U.S. official said the attack was over?", "official"),
    ("Which airbases did Iran attack?", "airbases"),
    ("What did Esper say?", None),
    ("What happened at Ain al-Asad?", None),  # a verb, not a class of things
    ("What speed did the missiles reach?", "speed"),
])
def test_focus_is_the_head_noun_of_which_x(question, focus):
    assert read_question(question).focus == focus


@pytest.mark.parametrize("question", ["Which bases did Iran attack in January 2020?",
                                      "Which airbases did Iran attack in January 2020?"])
def test_focus_matches_the_end_of_a_compound_either_way(question):
    # The issue's own synonym flip: "bases" and "airbases" must find the same sentence.
    reading = read_question(question)
    assert focused_evidence(reading, "The attacks were made against the Al-Asad and Irbil "
                                     "airbases, the Pentagon said.")
    assert focused_evidence(reading, "Missiles struck the Al-Asad and Irbil bases overnight.")
    assert not focused_evidence(reading, "Missiles were fired at two bases overnight, officials "
                                         "in the capital said.")


@pytest.mark.parametrize("question", ["Which bases did Iran attack in January 2020?",
                                      "Which airbases did Iran attack in January 2020?"])
@pytest.mark.parametrize("sentence,is_it", [
    ("The attacks were made against the Al-Asad and Irbil airbases, the Pentagon said.", True),
    ("Missiles struck bases at Al-Asad and near Erbil overnight.", True),
    # The flip: Zarif's tweet names the UN Charter four words from "base".
    ("Iran took proportionate measures under Article 51 of UN Charter targeting base from "
     "which the attack was launched.", False),
])
def test_a_tightly_focused_name_is_the_thing_asked_for(question, sentence, is_it):
    reading = read_question(question)
    assert focused_evidence(reading, sentence)
    assert tightly_focused(reading, sentence) is is_it


def test_a_name_appointed_as_the_new_holder_of_a_role_is_that_role():
    reading = read_question("Name the commander Khamenei appointed to lead the Quds Force.")
    assert tightly_focused(reading, "Within hours he named Soleimani's deputy, Brigadier General "
                                    "Esmail Ghaani, as the new commander of the Quds Force.")


@pytest.mark.parametrize("question", ["What aircraft carried out the US strike in Syria?",
                                      "Which warplanes carried out the US strike in Syria?"])
def test_a_word_for_the_same_kind_of_thing_is_the_focus_too(question):
    reading = read_question(question)
    sentence = "Defense officials said two U.S. Air Force F-15E jets dropped seven bombs."
    assert focused_evidence(reading, sentence) and tightly_focused(reading, sentence)
    assert not focused_evidence(reading, "The strikes hit a border crossing used by Kataib "
                                         "Hezbollah, officials in Baghdad said.")


def test_according_to_a_person_is_a_preferred_source_a_role_is_resolved_later():
    named = read_question("How many missiles did Iran launch, according to General Milley?")
    assert named.source == "General Milley" and named.speaker is None
    role = read_question("What did the defense secretary say about the strike in Syria?")
    assert role.speaker is None and role.speaker_role == "the defense secretary"
    assert read_question("What did Esper say about troops?").speaker_role is None


@pytest.mark.parametrize("question, speaker, kind", [
    ("Blinken on the Syria strike", "Blinken", "quote"),          # typed like a headline
    ("Esper reaction to the headaches remark", "Esper", "quote"),
    ("Milley said how many missiles Iran fired", "Milley", "count"),  # a fact he told
    ("Based on population alone, what is Jacksonville's ranking?", None, "what"),
])
def test_casual_questions_name_their_speaker(question, speaker, kind):
    reading = read_question(question)
    assert (reading.speaker, reading.kind) == (speaker, kind)


@pytest.mark.parametrize("sentence,day", [
    ("A U.S. drone strike killed him on January 3.", True),
    ("The strike on 8 January 2020 hurt no one.", True),
    ("Rockets hit the base on Jan. 8.", True),
    ("He was killed in January 2020.", False),   # a month, not a day
    ("The attack came in 2021.", False),
])
def test_names_a_day(sentence, day):
    from newsrag.questions import names_a_day

    assert names_a_day(sentence) is day


def test_a_capital_stands_for_its_country():
    from newsrag.questions import office_mentioned

    coverage = NameCoverage("Iranian missiles hit the base. Danish troops were unhurt.")
    assert coverage.covers("Tehran's") and coverage.covers("Copenhagen")
    assert not coverage.covers("Moscow")
    defence = 3  # OFFICE_GROUPS: the defence minister's group
    assert office_mentioned("British Defence Secretary Ben Wallace spoke.", "London", defence)
    assert not office_mentioned("Iran's defence minister spoke.", "London", defence)


def test_names_inside_a_role_are_names_the_answer_must_cover():
    # "the NATO chief" is nobody the question names, but an answer must come from an article
    # that names NATO; a named speaker is checked as the speaker instead.
    assert read_question("How did the NATO chief react to the strike on Erbil?").names == (
        "NATO", "Erbil")
    assert read_question("What did Esper say about Erbil?").names == ("Erbil",)



@pytest.mark.parametrize("question,speaker", [
    ("Did John Kirby confirm the reported death toll?", "John Kirby"),   # not a count
    ("did Kirby blame anyone for the attack", "Kirby"),  # typed without its capital "D"
    ("Did the rockets hit the base?", None),
])
def test_a_yes_or_no_about_what_someone_said_asks_for_their_words(question, speaker):
    reading = read_question(question)
    assert reading.speaker == speaker
    assert (reading.kind == "quote") is (speaker is not None)



def test_a_count_tightly_focused_does_what_the_question_asks():
    reading = read_question("How many lawmakers attended the session?")
    assert tightly_focused(reading, "Of the 329 members, 168 attended the session.")
    assert not tightly_focused(reading, "Most of the 329 members stayed away.")



def test_a_short_code_is_a_name_that_decides():
    from newsrag.questions import distinctive_tokens

    assert distinctive_tokens("K1") == ["k1"]   # "k1 kirkuk attack": no article names K1
    assert distinctive_tokens("General") is None  # a title never decides



@pytest.mark.parametrize("question,speaker", [
    ("pope Francis comment on the rockets", "pope Francis"),  # a title typed in lower case
    ("the Pentagon on the strike", None),                     # "the" is no title
])
def test_a_casual_quote_question_may_open_with_a_title(question, speaker):
    assert read_question(question).speaker == speaker



def test_a_country_typed_first_holds_the_office():
    from newsrag.questions import offices_in

    assert [c for c, _ in offices_in("Uk defence secretary reaction to the strikes")] == ["Uk"]
    assert [c for c, _ in offices_in("What did the defence secretary say?")] == [None]


def test_a_title_heading_the_names_own_run_is_tight():
    """"the country's Defense Secretary Lloyd Austin": the title is written into the run of
    capitals with the name, and still says who he is (a role question was refused for it)."""
    reading = read_question("Who was the US defense secretary in March 2021?")
    assert reading.role and reading.focus == "secretary"
    assert tightly_focused(reading, "The United States will act, the country's Defense Secretary "
                                    "Lloyd Austin said on March 7.")
    assert not tightly_focused(reading, "Lloyd Austin Jr. visited Baghdad on March 7.")


def test_a_name_that_only_says_who_runs_a_thing_is_not_its_name():
    from newsrag.questions import focused_evidence

    reading = read_question("Which camp in Kuwait did the Norwegian soldiers move to?")
    assert not focused_evidence(reading, "They would be based at a U.S.-run camp there.")
    assert focused_evidence(reading, "They were based at Camp Arifjan in Kuwait.")


@pytest.mark.parametrize("question", [
    "How much warning did the air defence command get before the first missile hit?",
    "how much notice did iraqi air defence get before the missiles landed",
    "How long before the first impact was the air defence command alerted?",
])
def test_a_warning_is_answered_by_a_time_before_the_event(question):
    from newsrag.questions import answer_evidence

    reading = read_question(question)
    told = 'The warning reached the command "about twenty minutes" before the first impact.'
    assert answer_evidence(reading, told)
    assert not answer_evidence(reading, "The warning reached the command before the impact.")


def test_a_month_is_a_whole_word():
    from newsrag.questions import answer_evidence

    when = read_question("When did Trump veto the war powers resolution?")
    # "dec" in "declares" was a December: any sentence was a "when" answer.
    assert not answer_evidence(when, "It applies unless Congress declares war or the mayor agrees.")
    assert answer_evidence(when, "Trump vetoed it in May.")
    assert answer_evidence(when, "He vetoed it on Jan. 8 in Washington.")


def test_one_of_the_largest_is_no_count():
    from newsrag.questions import answer_evidence

    reading = read_question("How many troops got brain injuries at Ain al-Asad?")
    assert not answer_evidence(reading, "Ain al-Asad, one of the largest bases in Iraq, was hit.")
    assert answer_evidence(reading, "The number of troops with brain injuries rose to 109.")


@pytest.mark.parametrize("question", ["how far away were the erbil rockets fired from",
                                      "What distance separated the launch site from the airport?"])
def test_how_far_wants_a_distance(question):
    from newsrag.questions import answer_evidence

    reading = read_question(question)
    assert (reading.kind, reading.unit) == ("count", "distance")
    assert answer_evidence(reading, "The launch point was about eight kilometres from the airport.")
    assert not answer_evidence(reading, "Three rockets hit the base near the airport.")


@pytest.mark.parametrize("question,unit", [
    ("How old was the contractor who died during the rocket attack?", "age"),
    ("What age was the American civilian contractor who died at the base in 2021?", "age"),
    ("age of contractor who died al asad march 2021", "age"),
    ("How many troops aged over 40 were hurt?", None),  # a count, not an age
    ("Which group claimed responsibility for the March 3, 2021 rocket attack?", "claim"),
    ("Who said they carried out the 2021 rocket strike on the base?", "claim"),
    ("Who was behind the rockets fired at Erbil?", "claim"),
    ("Which group used the facilities the US bombed?", None),
    ("What gave Priestley the claim to being the first discoverer of oxygen?", None),
    ("name of militia that claimed erbil rocket strike 2021", "claim"),
    ("claim of responsibility al asad rockets march 2021", "claim"),
])
def test_age_and_claim_questions(question, unit):
    assert read_question(question).unit == unit


def test_what_price_wants_money():
    from newsrag.questions import answer_evidence

    reading = read_question("What price did Iraqi lawmakers put on a Russian air defence system?")
    assert (reading.kind, reading.unit) == ("count", "money")
    assert not answer_evidence(reading, "Badr al-Ziyadi said Iraq should buy a Russian system.")
    assert answer_evidence(reading, "He put the price at $2 billion.")
