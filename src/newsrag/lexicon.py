"""The word lists that reading questions and answers rely on, in one place.

Each list says what it is for; a new word goes here and nowhere else. They are small on purpose:
English news questions, about people, places, times and counts.
"""

from __future__ import annotations

from functools import lru_cache
from importlib import resources

__all__ = ["AUXILIARIES", "COUNT_NOUN_SKIP", "NUMBER_WORDS", "VAGUE_COUNTS", "PERSON_NOUNS", "PLACE_NOUNS",
           "QUESTION_OPENERS", "REASON_MARKERS", "UNTOLD_STATES", "UNTOLD_VERBS", "SAYING_VERBS",
           "TIME_WORDS", "WEEKDAYS",
           "OFFICE_GROUPS", "MONEY_WORDS", "TIMES_OF_DAY", "IRREGULAR_DEMONYMS", "COUNTRY_METONYMS",
           "IRREGULAR_PASTS", "SENTENCE_OPENERS", "COUNTRIES", "BODY_NOUNS",
           "NON_PERSON_NAME_WORDS", "NAME_TITLES",
           "US_NAMES", "NEGATIONS", "NAME_CONNECTORS", "TITLE_WORDS", "INTERVIEWER_LABELS",
           "TITLE_ABBREVIATIONS", "ROLE_SYNONYMS", "FOCUS_SYNONYMS", "ATTACK_NOUNS",
           "MODEL_WORDS", "common_word"]

# Verbs of a "what did X say/tell/call ...?" question, and of "who threatened ...?".
SAYING_VERBS = (
    "say", "said", "says", "tell", "told", "tells", "tweet", "tweeted", "tweets", "claim",
    "claimed", "claims", "warn", "warned", "warns", "promise", "promised", "threaten",
    "threatened", "threatens", "respond", "responded", "react", "reacted", "describe",
    "described", "call", "called", "calls", "think", "thought", "stress", "stressed", "vow",
    "vowed", "write", "wrote", "announce", "announced", "comment", "commented", "reply",
    "replied", "note", "noted", "declare", "declared", "insist", "insisted", "argue", "argued",
    "pledge", "pledged", "urge", "urged", "accuse", "accused", "blame", "blamed", "deny",
    "denied", "confirm", "confirmed", "admit", "admitted", "explain", "explained", "suggest",
    "suggested", "characterize", "characterized", "characterise", "characterised", "mean",
    "meant", "hint", "hinted", "brush", "brushed", "dismiss", "dismissed", "talk", "talked",
    "speak", "spoke", "promised",
)
# Words after "which"/"what" that are not its noun ("what did", "which was").
AUXILIARIES = frozenset("did does do was were is are has have had will would could can should "
                        "may might must".split())
# Words that open a sentence without naming anyone: articles, pronouns, conjunctions,
# prepositions ("It cancelled ...", "After the strike ...").
SENTENCE_OPENERS = frozenset(
    "a an the this that these those it its he she they we i you his her their our there here "
    "but and or so yet nor in on at for from by with after before as when while if although "
    "though because since during under over about according despite meanwhile also still "
    "some many most several all both each every no other another one two three such".split())
# Verbs of news questions whose past tense does not end in "-ed" ("How many rockets hit ...?").
IRREGULAR_PASTS = frozenset("hit struck fell took led gave made sent held wrote spoke shot brought "
                            "kept hurt left came went got ran saw flew met won lost fled spent "
                            "began rose".split())
# Past participles not ending in "-ed" ("How many medals were given ...?").
PARTICIPLES = frozenset("given taken shown known thrown flown drawn stolen written driven beaten "
                        "chosen hidden broken spoken seen done gone born worn torn sworn".split())
# Words that end the noun phrase of "which X ...": prepositions, relatives, common verbs.
FOCUS_STOPS = frozenset("to of in on at from by for with into near after before during that who "
                        "which whose where when fired take lead give gives makes".split()
                        ) | IRREGULAR_PASTS
# Words skipped on the way to the noun of "what kind of X", "which of the X".
COUNT_NOUN_SKIP = frozenset("kind kinds type types sort sorts of the a an one two".split())
# Counts written as words ("ten rockets", "a dozen missiles", "several service members").
NUMBER_WORDS = (
    "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven",
    "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen",
    "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety", "hundred",
    "hundreds", "thousand", "thousands", "million", "millions", "dozen", "dozens", "several",
    "a handful", "a pair",
)
# Of those, the ones that give no figure: "He's wounded thousands of Americans" does not say how
# many soldiers were hurt.
VAGUE_COUNTS = frozenset(["hundreds", "thousands", "millions", "dozens", "several", "a handful"])
# Nouns naming people or organisations: "which official" asks who; a sentence naming "a civilian
# contractor" answers "who was killed?" though it names no one.
PERSON_NOUNS = frozenset(
    "person people man men woman women contractor contractors soldier soldiers troops troop "
    "servicemen serviceman service member members official officials spokesman spokeswoman "
    "spokesperson commander commanders general president minister secretary leader leaders "
    "civilian civilians worker workers employee employees journalist journalists reporter pilot "
    "pilots sailor marine marines diplomat diplomats ambassador militant militants fighter "
    "fighters victim victims officer officers analyst envoy chief lawmaker lawmakers senator "
    "group groups militia militias organization organisation agency ministry government "
    "department company network administration spokesmen citizen citizens national nationals "
    "child children personnel passenger passengers crew captain captains".split())
# The person nouns that are bodies, not people: "Which group claimed it?" is answered by a
# group's name, "Which commander ...?" by a person's.
BODY_NOUNS = frozenset("group groups militia militias organization organisation agency ministry "
                       "government department company network administration".split())
# Words that make a name a body's or a place's, not a person's ("Ukraine International Airlines",
# "Imam Khomeini International Airport", "Anbar Operations Command").
NON_PERSON_NAME_WORDS = frozenset(
    "airlines airline airways airport international university ministry council forces force "
    "guards corps command operations base province agency news press television department "
    "republic company group brigade brigades party army navy coalition organization "
    "organisation nations union state states committee office court bank hospital center "
    "centre school mosque street square city region".split())
# Roles that name the same position, for "Name the Pentagon spokesperson" answered by "Pentagon
# spokesman Jonathan Hoffman".
ROLE_SYNONYMS = (
    frozenset("spokesman spokeswoman spokesperson spokesmen spokespeople".split()),
    frozenset("leader commander chief head".split()),
    frozenset("official officer".split()),
)
# Words for the same kind of thing, so a name beside any of them answers "Which X ...?" ("two
# F-15E jets" for "What aircraft ...?"); the role groups above are among them.
FOCUS_SYNONYMS = ROLE_SYNONYMS + (
    frozenset("aircraft plane planes jet jets warplane warplanes fighter fighters bomber "
              "bombers".split()),
    frozenset("group groups militia militias faction factions organization organisation".split()),
    frozenset("country countries nation nations".split()),
    frozenset("base bases airbase airbases installation installations facility "
              "facilities".split()),
    frozenset("city cities town towns".split()),
    frozenset("ship ships vessel vessels warship warships".split()),
)
# What happened, in the words news copy uses for it. A "how many ...?" or "when ...?" question
# using one of a group's words is answered by a sentence using one of them: "How many missiles
# were intercepted?" is not answered by "22 missiles were fired", nor "When did the US retaliate?"
# by the date of the attack. A verb in no group is not checked. Multi-word entries are matched as
# written.
EVENT_PREDICATES = (
    ("intercepted", "intercept", "interception", "interceptions", "intercepting", "shot down",
     "shoot down", "shooting down", "downed"),
    ("arrested", "arrest", "arrests", "detained", "detain", "detention", "detentions",
     "custody"),
    ("awarded", "award", "awards", "received", "given"),
    ("evacuated", "evacuate", "evacuation", "flown out", "airlifted"),
    ("stationed", "deployed", "based", "serving", "posted", "troop level", "troop levels"),
    ("killed", "kill", "killing", "died", "die", "dead", "death", "deaths", "toll", "lives",
     "fatalities", "slain", "victims", "perished", "wiped out"),
    ("injured", "injury", "injuries", "wounded", "wounding", "hurt", "casualties", "hospitalized",
     "hospitalised", "treated", "diagnosed"),
    ("retaliate", "retaliated", "retaliation", "retaliatory", "responded", "response", "struck back",
     "hit back", "reprisal"),
)
# Abbreviated titles, so "Gen. Amir Ali Hajizadeh" answers "Which general ...?".
TITLE_ABBREVIATIONS = {
    "gen": "general", "sen": "senator", "col": "colonel", "lt": "lieutenant", "adm": "admiral",
    "sgt": "sergeant", "gov": "governor", "rep": "representative", "maj": "major",
    "capt": "captain", "cmdr": "commander", "pres": "president", "sec": "secretary",
}
# Nouns naming places: "in which city" asks where.
PLACE_NOUNS = frozenset(
    "city cities town towns country countries province provinces region regions desert base "
    "bases airbase airbases airport airports village villages capital area areas location "
    "locations site sites place places state border district governorate embassy compound "
    "facility facilities camp".split())
# Words that open or frame questions, never names even when capitalised.
QUESTION_OPENERS = frozenset(
    "what who whom whose which when where why how did does do is are was were can could would "
    "should will has have had according besides apart except other than in on at during after "
    "before for of the a an and or to from by with i tell please give list name describe "
    "explain".split())
# Phrases that give a reason: the evidence a "why" question needs.
# What an article writes when the thing asked was not made known ("Officials have not said who
# drove the truck", "... is a question the command has declined to answer"): verbs of telling,
# and the states of a fact nobody told ("it was unclear", after a verb "to be").
UNTOLD_VERBS = ("say", "said", "answer", "answered", "disclose", "disclosed", "reveal", "revealed",
                "release", "released", "identify", "identified", "specify", "specified", "confirm",
                "confirmed", "name", "named", "give", "given", "comment", "commented", "elaborate",
                "discuss", "provide", "provided", "publish", "published", "explain", "explained")
UNTOLD_STATES = ("not known", "unknown", "unclear", "not clear", "not made public",
                 "not been made public", "not immediately clear", "not immediately known")
REASON_MARKERS = (
    "because", "in response", "in retaliation", "retaliat", "revenge", "avenge", "due to",
    "so that", "in order to", "as a result", "following", "for security", "reason", "after ",
    "citing", "to deter", "to protect", "to defend", "self-defense", "self-defence", "threat",
    "blamed", "responsib", "since ", "over the",
)
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
# Words that place an event in time, beside dates and weekdays.
TIME_WORDS = ("today", "yesterday", "tonight", "morning", "afternoon", "evening", "overnight",
              "midnight", "dawn", "hours", "days", "weeks", "ago", "earlier this", "later that",
              "last week", "last month", "last year", "this week", "next day", "any time",
              "anytime", "soon", "immediately", "shortly", "the following day", "spring",
              "summer", "autumn", "winter", "century", "centuries", "decade", "decades",
              "years", "months", "era", "until", "since", "during", "period", "age of")
# Peoples' words whose country shares fewer letters with them than demonym_related expects
# (stemmed, both ways): a question about "French" troops is answered by an article on France.
_IRREGULAR = {"french": "franc", "british": "britain", "dutch": "netherland",
              "swiss": "switzerland", "welsh": "wale",
              "greek": "greec", "spanish": "spain", "danish": "denmark", "polish": "poland",
              "finnish": "finland", "irish": "ireland", "scottish": "scotland",
              "english": "england", "filipino": "philippin", "thai": "thailand"}
IRREGULAR_DEMONYMS = {**_IRREGULAR, **{country: people for people, country in _IRREGULAR.items()}}
# Countries, one word each (the distinctive word of a longer name: "saudi", "emirates"), for
# questions typed in lower case: "australia reaction to the strikes" names Australia.
COUNTRIES = frozenset(
    "afghanistan albania algeria andorra angola argentina armenia australia austria azerbaijan "
    "bahamas bahrain bangladesh barbados belarus belgium belize benin bhutan bolivia bosnia "
    "botswana brazil brunei bulgaria burkina burundi cambodia cameroon canada chad chile china "
    "colombia comoros congo croatia cuba cyprus czechia czech denmark djibouti dominica ecuador "
    "egypt emirates eritrea estonia eswatini ethiopia fiji finland france gabon gambia georgia "
    "germany ghana greece grenada guatemala guinea guyana haiti honduras hungary iceland india "
    "indonesia iran iraq ireland israel italy jamaica japan jordan kazakhstan kenya kiribati "
    "kosovo kuwait kyrgyzstan laos latvia lebanon lesotho liberia libya liechtenstein lithuania "
    "luxembourg madagascar malawi malaysia maldives mali malta mauritania mauritius mexico "
    "micronesia moldova monaco mongolia montenegro morocco mozambique myanmar namibia nauru nepal "
    "netherlands nicaragua niger nigeria norway oman pakistan palau palestine panama paraguay "
    "peru philippines poland portugal qatar romania russia rwanda samoa saudi senegal serbia "
    "seychelles singapore slovakia slovenia somalia spain sudan suriname sweden switzerland "
    "syria taiwan tajikistan tanzania thailand togo tonga tunisia turkey turkmenistan tuvalu "
    "uganda ukraine uk uruguay uzbekistan vanuatu vatican venezuela vietnam yemen zambia "
    "zimbabwe britain england scotland wales".split())
# Capitals that news uses for their governments ("Tehran fired missiles", "Baghdad protested"),
# and short forms, stemmed, with their country: a question about Tehran's strike is answered by
# an article on Iran's. (Washington is among US_NAMES.)
COUNTRY_METONYMS = {
    "uk": "britain", "tehran": "iran", "baghdad": "iraq", "damascus": "syria", "moscow": "russia",
    "beij": "china", "ankara": "turkey", "riyadh": "saudi", "kyiv": "ukrain", "kiev": "ukrain",
    "ottawa": "canada", "london": "britain", "pari": "franc", "berlin": "germani",
    "jerusalem": "israel", "beirut": "lebanon", "kabul": "afghanistan", "copenhagen": "denmark",
    "oslo": "norway", "stockholm": "sweden", "rome": "itali"}
# Offices and bodies a question may ask about without naming who holds them ("How did Iran's
# supreme leader react?"): each group's phrases name the same office. An answer must come from
# an article that mentions the office (of the country the question names), or none.
OFFICE_GROUPS = (
    ("supreme leader",),
    ("foreign minister", "foreign secretary", "foreign affairs minister", "top diplomat"),
    ("secretary of state", "top diplomat"),
    ("defense minister", "defence minister", "defense secretary", "defence secretary",
     "secretary of defense", "pentagon chief", "defense chief", "defence chief"),
    ("interior minister",), ("oil minister",), ("finance minister",),
    ("prime minister", "premier"),
    ("president", "head of state"),
    ("parliament", "parliamentary", "lawmakers", "legislators", "legislature", "mps",
     "parliamentarians"),
    ("ambassador", "envoy"),
    ("governor",), ("mayor",),
)
# Words for an attack: "Who claimed the rocket attack?" asks who did it, not whose words.
ATTACK_NOUNS = ("attack", "attacks", "strike", "strikes", "barrage", "bombing", "bombings",
                "shelling", "raid", "raids", "assault")
# "What type of plane ...?", "Which airliner model ...?": a model designation is asked for.
MODEL_WORDS = ("type", "types", "kind", "kinds", "model", "models", "make", "makes", "class",
               "variant", "variants")
# Words of a sum of money: "How much compensation ...?" is answered by an amount of money.
MONEY_WORDS = frozenset(
    "money cost costs costing compensation compensate compensated pay paid paying payment "
    "payments spend spent spending worth budget funding fund funds fine "
    "fined ransom damages reward bill dollars euros pounds aid settlement offer offered".split())
# Words for a time of day: "At what time ...?" wants a clock time or one of these.
TIMES_OF_DAY = ("morning", "afternoon", "evening", "night", "overnight", "midnight", "dawn",
                "dusk", "noon", "midday", "daybreak", "nightfall", "sunrise", "sunset")
# One country, many spellings: a question saying "U.S." is answered by an article saying "US".
US_NAMES = frozenset(["us", "u.s", "u.s.", "usa", "america", "american", "americans",
                      "united", "states", "washington"])
# Words that turn a statement around ("do not seek war" vs "seeks war").
NEGATIONS = frozenset("not no never neither nor without denied denies deny refused refuses "
                      "rejected rejects n't cannot".split())
# Lower-case words inside a name ("Secretary of State", "Ain al-Asad", "Saraya Awliya al-Dam").
NAME_CONNECTORS = frozenset("of al el bin ibn de du van von la".split())
# Titles and offices written before names: not what a name is checked by.
# Titles that stand before a person's name ("pope Francis", "Gen. Milley" typed "gen milley").
NAME_TITLES = frozenset(
    "president secretary minister general gen commander spokesman spokeswoman spokesperson "
    "ambassador chief director senator sen governor gov deputy admiral adm colonel col major maj "
    "captain capt lieutenant lt officer official representative rep chairman envoy ayatollah "
    "mayor chancellor premier mr mrs ms dr pope king queen prince sheikh".split())
TITLE_WORDS = NAME_TITLES | frozenset(
    "vice ministry foreign defense defence state prime supreme leader senior former acting "
    "national security advisor adviser press the of air base airbase airport force forces".split())
# Transcript labels of whoever asks the questions ("QUESTION:", "Q:", "STAFF:").
INTERVIEWER_LABELS = frozenset(["question", "q", "moderator", "interviewer", "reporter", "staff",
                                "host", "operator", "audience member"])


# Endings of an inflected word whose base may be listed instead ("ousting", "concussed").
INFLECTIONS = ("ing", "ings", "ed", "es", "s", "er", "ers", "ly", "ness", "ment", "ments")


@lru_cache(maxsize=1)
def _english_words() -> frozenset[str]:
    """The common English words of ``data/english_words.txt``."""
    text = resources.files("newsrag").joinpath("data/english_words.txt").read_text("utf-8")
    return frozenset(w for w in text.split("\n") if w and not w.startswith("#"))


def common_word(word: str) -> bool:
    """Whether a lower-case ``word`` is ordinary English rather than a name: a listed word, an
    inflection of one ("ousting", "concussed" for "concussion"), two listed words run together
    ("airbase") or a contraction typed without its apostrophe ("wont"). A name typed in lower
    case ("lavrov", "salih") is none of these."""
    words = _english_words()
    if word in words:
        return True
    if word.endswith("nt") and (word[:-1] in words or word[:-2] in words):
        return True
    if any(word[:i] in words and word[i:] in words for i in range(3, len(word) - 3)):
        return True
    for suffix in INFLECTIONS:
        base = word[:-len(suffix)]
        if word.endswith(suffix) and len(base) >= 3 and any(
                b in words for b in (base, base + "e", base[:-1], base + "ion", base + "ation")):
            return True
    return False
