"""Dates: finding them in article text and in questions, and showing them to readers.

Articles write dates the way people do ("January 7, 2020", "on March 7", "in mid-February");
questions ask with them ("in January 2020", "in 2021", "after Soleimani's death"). This module
turns both into ISO dates and :class:`TimeRange` values. A date without a year takes its
article's year (and the year before, if that would put it after the article); with no article
date it stays unknown: nothing here invents a date. Named events ("Soleimani's death") come from
``data/events.json``, kept as data.
"""

from __future__ import annotations

import calendar
import datetime as dt
import json
import re
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Sequence

from .errors import NewsragError

__all__ = ["resolve_weekday", "TimeRange", "format_date", "dates_in", "passage_dates",
           "time_range_in", "parse_range", "between", "MONTH_NAMES", "YEAR"]

MONTH_NAMES = {name.lower(): i for i, name in enumerate(calendar.month_name) if name}
MONTH_NAMES.update({name.lower(): i for i, name in enumerate(calendar.month_abbr) if name})
MONTH_NAMES["sept"] = 9
_MONTH = "|".join(sorted(MONTH_NAMES, key=len, reverse=True))
# "January 7, 2020", "Jan. 7 2020", "January 7" (year optional), "7 January 2020", "2020-01-07".
MONTH_DAY = re.compile(rf"\b({_MONTH})\.?\s+(\d{{1,2}})(?:st|nd|rd|th)?\b(?:,?\s+(\d{{4}})\b)?", re.I)
DAY_MONTH = re.compile(rf"\b(\d{{1,2}})\s+({_MONTH})\.?,?\s+(\d{{4}})\b", re.I)
ISO = re.compile(r"\b(\d{4})-(\d{2})-(\d{2})\b")
MONTH_YEAR = re.compile(rf"\b({_MONTH})\.?,?\s+(\d{{4}})\b", re.I)
YEAR = re.compile(r"\b(19\d{2}|20\d{2})\b")


@dataclass(frozen=True)
class TimeRange:
    """Inclusive ISO bounds; either may be open."""

    since: str | None = None
    until: str | None = None

    def contains(self, iso: str | None) -> bool:
        if iso is None:
            return False
        return (self.since is None or iso >= self.since) and (self.until is None or iso <= self.until)

    def overlaps_year(self, year: int) -> bool:
        return ((self.since is None or f"{year:04d}-12-31" >= self.since)
                and (self.until is None or f"{year:04d}-01-01" <= self.until))

    def describe(self) -> str:
        if self.since and self.until:
            return f"{format_date(self.since)} to {format_date(self.until)}"
        if self.since:
            return f"from {format_date(self.since)}"
        return f"up to {format_date(self.until)}"


def format_date(iso: str | None, long: bool = False) -> str:
    """'2020-01-07' -> '7 Jan 2020' (``long``: '7 January 2020'); None -> 'undated'."""
    if not iso:
        return "undated"
    try:
        d = dt.date.fromisoformat(iso)
    except ValueError:
        return iso
    month = calendar.month_name[d.month] if long else calendar.month_abbr[d.month]
    return f"{d.day} {month} {d.year}"


WEEKDAY = re.compile(r"\b(monday|tuesday|wednesday|thursday|friday|saturday|sunday)\b", re.I)


def resolve_weekday(text: str, article_date: str | None) -> tuple[str, str] | None:
    """("Thursday", "2020-01-02") for the first weekday ``text`` names, taken as the latest such
    day on or before the article's date (news writes "late Thursday" for the day before a Friday
    report). None without a weekday or a date."""
    return weekday_at(WEEKDAY.search(text), article_date)


def weekday_at(m: re.Match[str] | None, article_date: str | None) -> tuple[str, str] | None:
    """:func:`resolve_weekday` for a WEEKDAY match found by the caller."""
    if not m or not article_date:
        return None
    try:
        ref = dt.date.fromisoformat(article_date)
    except ValueError:
        return None
    wanted = [d.lower() for d in calendar.day_name].index(m.group(1).lower())
    day = ref - dt.timedelta(days=(ref.weekday() - wanted) % 7)
    return m.group(1).capitalize(), day.isoformat()


def _iso(year: int, month: int, day: int) -> str | None:
    try:
        return dt.date(year, month, day).isoformat()
    except ValueError:
        return None


# A date without a year up to this many days after the article's is coming up ("the papal visit
# due to begin on March 5" in a March 4 report); further on, it is last year's.
UPCOMING_DAYS = 60


def dates_in(text: str, article_date: str | None = None) -> list[tuple[int, int, str]]:
    """(start, end, ISO date) of each full date in ``text``; a date without a year takes the
    article's year (or the year before, if it would fall more than UPCOMING_DAYS after the
    article), else is skipped."""
    found: list[tuple[int, int, str]] = []
    ref = dt.date.fromisoformat(article_date) if article_date else None
    for m in ISO.finditer(text):
        iso = _iso(int(m.group(1)), int(m.group(2)), int(m.group(3)))
        if iso:
            found.append((m.start(), m.end(), iso))
    for m in DAY_MONTH.finditer(text):
        iso = _iso(int(m.group(3)), MONTH_NAMES[m.group(2).lower()], int(m.group(1)))
        if iso:
            found.append((m.start(), m.end(), iso))
    for m in MONTH_DAY.finditer(text):
        month, day = MONTH_NAMES[m.group(1).lower()], int(m.group(2))
        if m.group(3):
            iso = _iso(int(m.group(3)), month, day)
        elif ref is not None:
            iso = _iso(ref.year, month, day)
            if iso and iso > (ref + dt.timedelta(days=UPCOMING_DAYS)).isoformat():
                iso = _iso(ref.year - 1, month, day)
        else:
            iso = None
        if iso and day <= 31:
            found.append((m.start(), m.end(), iso))
    found.sort()
    return found


def reference_date(article_date: str | None, texts: Sequence[str]) -> str | None:
    """The date an article is placed at: its own, else the latest full date its passages
    (``texts``) write (a wire story without a date line that captions its photo "Jan. 5,
    2020")."""
    if article_date is not None:
        return article_date
    full = [d for t in texts for *_, d in dates_in(t)]
    return max(full) if full else None


def passage_dates(article_date: str | None, texts: Sequence[str]) -> list[frozenset[str]]:
    """Per passage of one article (``texts``, in order), the dates it can be placed at: its
    article's date and the dates written in it (a date without a year takes the article's
    date, else the latest full date the article writes). What a period filter and a period
    named in a question check; a build stores them (``passages.dates.npy``)."""
    ref = reference_date(article_date, texts)
    out = []
    for t in texts:
        d: set[str] = {article_date} if article_date else set()
        d.update(d2 for *_, d2 in dates_in(t, ref))
        out.append(frozenset(d))
    return out


def _month_range(year: int, month: int) -> TimeRange:
    last = calendar.monthrange(year, month)[1]
    return TimeRange(f"{year:04d}-{month:02d}-01", f"{year:04d}-{month:02d}-{last:02d}")


def parse_range(text: str) -> TimeRange:
    """A period as a user writes it on the command line: '2021', '2020-01', '2020-01-07',
    'January 2020'. Raises a clear error otherwise."""
    t = text.strip()
    if re.fullmatch(r"\d{4}", t):
        return TimeRange(f"{t}-01-01", f"{t}-12-31")
    if m := re.fullmatch(r"(\d{4})-(\d{1,2})", t):
        if 1 <= int(m.group(2)) <= 12:
            return _month_range(int(m.group(1)), int(m.group(2)))
    if m := re.fullmatch(MONTH_YEAR, t):
        return _month_range(int(m.group(2)), MONTH_NAMES[m.group(1).lower()])
    dates = dates_in(t)
    if len(dates) == 1 and dates[0][0] == 0 and dates[0][1] == len(t):
        return TimeRange(dates[0][2], dates[0][2])
    raise NewsragError(f"cannot read {text!r} as a date: use 2021, 2020-01, 2020-01-07 or "
                       "'January 2020'")


def between(since: str | None, until: str | None) -> TimeRange | None:
    """The range from a --since and an --until (each a year, month or day), or None."""
    if not since and not until:
        return None
    start = parse_range(since).since if since else None
    end = parse_range(until).until if until else None
    if start and end and start > end:
        raise NewsragError(f"--since {since} is after --until {until}")
    return TimeRange(start, end)


@lru_cache(maxsize=1)
def _events() -> tuple[tuple[re.Pattern[str], str], ...]:
    raw = json.loads(resources.files("newsrag").joinpath("data/events.json").read_text("utf-8"))
    return tuple((re.compile(e["pattern"], re.I), e["date"]) for e in raw["events"])


def time_range_in(question: str) -> TimeRange | None:
    """The period a question asks about, if it names one: "in January 2020", "in 2021",
    "on January 7, 2020", "since March 2021", "before 2021", "after Soleimani's death"."""
    q = question
    point: TimeRange | None = None
    where = None
    for found in dates_in(q):
        point, where = TimeRange(found[2], found[2]), found[0]
        break
    if point is None and (m := MONTH_YEAR.search(q)):
        point, where = _month_range(int(m.group(2)), MONTH_NAMES[m.group(1).lower()]), m.start()
    if point is None and (m := YEAR.search(q)):
        point, where = TimeRange(f"{m.group(1)}-01-01", f"{m.group(1)}-12-31"), m.start()
    if point is None:
        for pattern, date in _events():
            if m := pattern.search(q):
                point, where = TimeRange(date, date), m.start()
                break
    if point is None or where is None:
        return None
    before = q[:where].lower().split()[-1:] or [""]
    word = before[0]
    day = dt.timedelta(days=1)
    if word in ("since", "from"):
        return TimeRange(point.since, None)
    if word == "after" and point.until:
        return TimeRange((dt.date.fromisoformat(point.until) + day).isoformat(), None)
    if word == "before" and point.since:
        return TimeRange(None, (dt.date.fromisoformat(point.since) - day).isoformat())
    if word in ("until", "till"):
        return TimeRange(None, point.until)
    return point
