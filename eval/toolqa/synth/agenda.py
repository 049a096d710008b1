"""Agenda: ``agenda/agenda_descriptions_merged.jsonl`` ({"event": one sentence}) and its templates.

Raw events (person, date YYYY/MM/DD, start/end "%I:%M %p" without the leading zero, event,
location) stay in memory; each becomes one descriptive sentence that names all its fields, so
a retrieval query naming person, event and date finds it in the top 3.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..templates import Answer, Call, Template, finish
from ._common import write_jsonl

PEOPLE = (
    "Grace",
    "Charles",
    "Henry",
    "Daisy",
    "George",
    "Adrian",
    "Hector",
    "Benjamin",
    "Charlotte",
    "Patrick",
    "James",
    "Alice",
    "Brian",
    "Sophia",
    "Hannah",
    "Faith",
    "Mia",
    "William",
    "Emily",
    "Adam",
    "Layla",
    "Imogen",
    "Oscar",
    "Ruby",
    "Victor",
    "Nora",
    "Felix",
    "Iris",
    "Leon",
    "Stella",
)
EVENTS = (  # event, location, duration in minutes, earliest start hour, latest start hour
    ("Breakfast meeting", "Bluebird Cafe", 60, 7, 9),
    ("Sales pitch presentation", "Hilton Chicago", 60, 9, 15),
    ("Cooking class", "Sur La Table", 120, 10, 17),
    ("Lunch with colleagues", "The Cheesecake Factory", 60, 12, 13),
    ("Charity fundraiser", "The Ritz-Carlton", 120, 14, 19),
    ("Broadway Show", "Gershwin Theatre", 180, 19, 20),
    ("Watch a baseball game", "Dodger Stadium", 180, 13, 19),
    ("Chili cook-off", "Grand Park", 180, 11, 15),
    ("Coffee tasting", "Cafe Grumpy", 60, 9, 16),
    ("Star Gazing", "Griffith Park Observatory", 180, 20, 21),
    ("Movie Night", "The Standard Hotel rooftop", 120, 19, 21),
    ("Poetry reading", "Beyond Baroque", 120, 18, 19),
    ("Landscape photography workshop", "Yosemite Valley Lodge", 240, 7, 9),
    ("Business meeting", "WeWork Downtown", 120, 9, 15),
    ("Intermediate Spanish lesson", "Instituto Cervantes", 90, 10, 18),
    ("Late Night Movie", "AMC Theatres", 120, 22, 23),
    ("Art walk", "Arts District", 120, 15, 18),
    ("Book signing", "The Last Bookstore", 60, 16, 19),
    ("Hiking trail", "Runyon Canyon", 150, 6, 10),
    ("Yoga class", "CorePower Yoga", 60, 6, 18),
    ("Dentist appointment", "Bright Smile Dental", 60, 8, 16),
    ("Car maintenance check", "Jiffy Lube", 60, 8, 15),
)


@dataclass
class AgendaData:
    events: list[dict[str, str]]

    def select(self, **kw: Any) -> list[dict[str, str]]:
        return [e for e in self.events if all(e[k] == v for k, v in kw.items())]


def fmt_time(minutes: int) -> str:
    minutes %= 1440
    h, m = divmod(minutes, 60)
    return f"{(h % 12) or 12}:{m:02d} {'AM' if h < 12 else 'PM'}"


def _t(s: str) -> dt.datetime:
    return dt.datetime.strptime(s, "%I:%M %p")


def describe(e: dict[str, str]) -> str:
    day = dt.datetime.strptime(e["date"], "%Y/%m/%d")
    return (
        f"On {e['date']} ({day.strftime('%B')} {day.day}, {day.year}), {e['person']} attends {e['event']} at "
        f"{e['location']} from {e['start_time']} to {e['end_time']}."
    )


def generate(out_dir: Path, rng: random.Random, scale: str) -> AgendaData:
    n_days, n_events = (90, 400) if scale == "small" else (365, 3000)
    base = dt.date(2022, 1, 1)
    days = sorted(rng.sample(range(365), n_days))
    weights = [rng.choice([1, 2, 4, 8]) for _ in PEOPLE]
    events: list[dict[str, str]] = []
    busy: dict[tuple[str, str], list[tuple[int, int]]] = {}
    while len(events) < n_events:
        person = rng.choices(PEOPLE, weights=weights)[0]
        date = (base + dt.timedelta(days=rng.choice(days))).strftime("%Y/%m/%d")
        name, loc, dur, lo, hi = rng.choice(EVENTS)
        start = rng.randint(lo * 2, hi * 2) * 30
        slot = (start, start + dur)
        taken = busy.setdefault((person, date), [])
        if any(a < slot[1] and slot[0] < b for a, b in taken) or any(
            e["person"] == person and e["date"] == date and e["event"] == name for e in events
        ):
            continue
        taken.append(slot)
        events.append(
            {
                "event": name,
                "start_time": fmt_time(start),
                "end_time": fmt_time(start + dur),
                "location": loc,
                "person": person,
                "date": date,
                "id": f"agenda-{len(events):04d}",
            }
        )
    write_jsonl(out_dir / "agenda_descriptions_merged.jsonl", ({"event": describe(e)} for e in events))
    return AgendaData(events)


def duration(start: str, end: str) -> str:
    # ToolQA quirk: str(end - start) of "%I:%M %p" times, so overnight events read "-1 day, 2:00:00".
    return str(_t(end) - _t(start))


def _query(e: dict[str, str]) -> str:
    return f"{e['person']} {e['event']} {e['date']}"


def _retrieve(events: list[dict[str, str]]) -> list[Call]:
    return [("RetrieveAgenda", {"query": _query(e)}) for e in events]


# ---------------------------------------------------------------- easy templates


def _s_event(keys: tuple[str, ...]) -> Any:
    def sample(d: AgendaData, rng: random.Random) -> dict[str, Any] | None:
        e = rng.choice(d.events)
        if len(d.select(**{k: e[k] for k in keys})) != 1:
            return None
        return dict(e)

    return sample


def _one(d: AgendaData, p: dict[str, Any], keys: tuple[str, ...]) -> dict[str, str]:
    return d.select(**{k: p[k] for k in keys})[0]


def _chain(d: AgendaData, p: dict[str, Any], ans: Answer) -> list[Call]:
    return [("RetrieveAgenda", {"query": _query(p)}), finish(ans)]


K_WHAT = ("person", "start_time", "end_time", "date")
K_PED = ("person", "event", "date")
K_WHO = ("event", "start_time", "end_time", "date", "location")
EASY = [
    Template(
        "agenda",
        "easy",
        "what",
        "What did {person} do from {start_time} to {end_time} on {date}?",
        _s_event(K_WHAT),
        lambda d, p: _one(d, p, K_WHAT)["event"],
        _chain,
    ),
    Template(
        "agenda",
        "easy",
        "where",
        "Where did {event} that {person} attended take place on {date}?",
        _s_event(K_PED),
        lambda d, p: _one(d, p, K_PED)["location"],
        _chain,
    ),
    Template(
        "agenda",
        "easy",
        "when",
        "When did {person} attend {event} on {date}?",
        _s_event(K_PED),
        lambda d, p: _one(d, p, K_PED)["start_time"],
        _chain,
    ),
    Template(
        "agenda",
        "easy",
        "how_long",
        "How long did {person} attend {event} on {date}?",
        _s_event(K_PED),
        lambda d, p: duration(_one(d, p, K_PED)["start_time"], _one(d, p, K_PED)["end_time"]),
        _chain,
    ),
    Template(
        "agenda",
        "easy",
        "who",
        "Who attended {event} between {start_time} and {end_time} on {date} in {location}?",
        _s_event(K_WHO),
        lambda d, p: _one(d, p, K_WHO)["person"],
        _chain,
    ),
]


# ---------------------------------------------------------------- hard templates


def _s_date(max_events: int = 6) -> Any:
    def sample(d: AgendaData, rng: random.Random) -> dict[str, Any] | None:
        date = rng.choice(d.events)["date"]
        return {"date": date} if len(d.select(date=date)) <= max_events else None

    return sample


def _date_chain(d: AgendaData, p: dict[str, Any], ans: Answer) -> list[Call]:
    return [*_retrieve(d.select(date=p["date"])), finish(ans)]


def _s_window(d: AgendaData, rng: random.Random) -> dict[str, Any] | None:
    p = _s_date()(d, rng)
    if p is None:
        return None
    e = rng.choice(d.select(date=p["date"]))
    return {**p, "start": e["start_time"], "end": e["end_time"]}


def _unavailable(d: AgendaData, p: dict[str, Any]) -> int:
    st, ed = _t(p["start"]), _t(p["end"])
    return len(
        {e["person"] for e in d.select(date=p["date"]) if _t(e["start_time"]) < ed and _t(e["end_time"]) > st}
    )


def slots(
    meetings: list[tuple[str, str]], minutes: int = 60, lo: str = "9:00 AM", hi: str = "6:00 PM"
) -> list[str]:
    """The notebook's free-slot finder, quirks included.

    ToolQA quirk: boundary gaps use ``timedelta.seconds`` (wrapping negatives to the next day), and
    meetings outside 9-18 still create slots such as "10:30 PM-6:00 PM".
    """
    ms = sorted(meetings, key=lambda x: _t(x[0]))
    out = []
    if (_t(ms[0][0]) - _t(lo)).seconds >= minutes * 60:
        out.append((lo, ms[0][0]))
    for a, b in zip(ms, ms[1:], strict=False):
        if int((_t(b[0]) - _t(a[1])).total_seconds() / 60) >= minutes:
            out.append((a[1], b[0]))
    if (_t(hi) - _t(ms[-1][1])).seconds >= minutes * 60:
        out.append((ms[-1][1], hi))
    return [f"{a}-{b}" for a, b in out]


def _s_person_date(d: AgendaData, rng: random.Random) -> dict[str, Any]:
    e = rng.choice(d.events)
    return {"person": e["person"], "date": e["date"]}


def _pd_chain(d: AgendaData, p: dict[str, Any], ans: Answer) -> list[Call]:
    return [*_retrieve(d.select(person=p["person"], date=p["date"])), finish(ans)]


def _s_person(d: AgendaData, rng: random.Random) -> dict[str, Any] | None:
    person = rng.choice(d.events)["person"]
    return {"person": person} if len({e["date"] for e in d.select(person=person)}) <= 14 else None


def _person_chain(d: AgendaData, p: dict[str, Any], ans: Answer) -> list[Call]:
    return [*_retrieve(d.select(person=p["person"])), finish(ans)]


HARD = [
    Template(
        "agenda",
        "hard",
        "events_on_date",
        "How many events happen on {date} in the agenda table?",
        _s_date(),
        lambda d, p: len(d.select(date=p["date"])),
        _date_chain,
    ),
    # ToolQA quirk: "unavailble" is the official spelling.
    Template(
        "agenda",
        "hard",
        "unavailable",
        "How many people are unavailble between {start} and {end} on {date} in the agenda table?",
        _s_window,
        _unavailable,
        _date_chain,
    ),
    Template(
        "agenda",
        "hard",
        "free_slots",
        "When should I schedule a meeting with {person} from 9:00 AM to 6:00 PM on {date} in the agenda table?",  # noqa: E501
        _s_person_date,
        lambda d, p: (
            ", ".join(
                slots(
                    [(e["start_time"], e["end_time"]) for e in d.select(person=p["person"], date=p["date"])]
                )
            )
            or None
        ),
        _pd_chain,
    ),
    Template(
        "agenda",
        "hard",
        "person_events",
        "What events does {person} have on {date} in the agenda table?",
        _s_person_date,
        lambda d, p: ", ".join(
            dict.fromkeys(e["event"] for e in d.select(person=p["person"], date=p["date"]))
        ),
        _pd_chain,
    ),
    Template(
        "agenda",
        "hard",
        "person_dates",
        "How many dates in the agenda table have {person} scheduled?",
        _s_person,
        lambda d, p: len({e["date"] for e in d.select(person=p["person"])}),
        _person_chain,
    ),
]
