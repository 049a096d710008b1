"""Coffee: ``coffee/coffee_price.csv`` (Date,Open,High,Low,Close,Volume,Currency) and its templates."""

from __future__ import annotations

import csv
import datetime as dt
import random
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..templates import Answer, Call, Template, finish
from ._common import near_half, num, write_csv

HEADER = ("Date", "Open", "High", "Low", "Close", "Volume", "Currency")
TABLE = "coffee.coffee_data"


@dataclass
class CoffeeData:
    rows: list[dict[str, Any]]  # Date str, Open/High/Low/Close float, Volume int, Currency str
    by_date: dict[str, int]

    @property
    def dates(self) -> list[str]:
        return [r["Date"] for r in self.rows]


def _index(rows: list[dict[str, Any]]) -> CoffeeData:
    rows.sort(key=lambda r: r["Date"])
    return CoffeeData(rows, {r["Date"]: i for i, r in enumerate(rows)})


def load(csv_path: Path) -> CoffeeData:
    """Read a coffee CSV the way pandas types it (prices float, volume int)."""
    rows = []
    with csv_path.open(encoding="utf-8") as fh:
        for rec in csv.DictReader(fh):
            rows.append(
                {
                    "Date": rec["Date"],
                    "Open": float(rec["Open"]),
                    "High": float(rec["High"]),
                    "Low": float(rec["Low"]),
                    "Close": float(rec["Close"]),
                    "Volume": int(rec["Volume"]),
                    "Currency": rec["Currency"],
                }
            )
    return _index(rows)


def generate(out_dir: Path, rng: random.Random, scale: str, real_csv: Path | None) -> CoffeeData:
    """Copy the real CSV, or write a synthetic random-walk price history from 2000-01-03."""
    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / "coffee_price.csv"
    if real_csv is not None:
        shutil.copyfile(real_csv, target)
        return load(target)
    n_days = 1500 if scale == "small" else 5741
    day = dt.date(2000, 1, 3)
    price = 2000 + rng.randrange(400)  # in units of 0.05
    rows: list[dict[str, Any]] = []
    while len(rows) < n_days:
        if day.weekday() < 5:
            o = max(200, price + rng.randint(-30, 30))
            c = max(200, o + rng.randint(-60, 60))
            hi = max(o, c) + rng.randint(0, 40)
            lo = max(100, min(o, c) - rng.randint(0, 40))
            vol = rng.choice([rng.randint(0, 150), rng.randint(5000, 40000)])
            rows.append(
                {
                    "Date": day.isoformat(),
                    "Open": o * 0.05,
                    "High": hi * 0.05,
                    "Low": lo * 0.05,
                    "Close": c * 0.05,
                    "Volume": vol,
                    "Currency": "USD",
                }
            )
            price = c
        day += dt.timedelta(days=1)
    for r in rows:  # prices are multiples of 0.05 written with at most two decimals
        for k in ("Open", "High", "Low", "Close"):
            r[k] = float(f"{r[k]:.2f}")
    write_csv(target, HEADER, ([r[k] for k in HEADER] for r in rows))
    return load(target)


# ---------------------------------------------------------------- easy templates


def _sample_date(d: CoffeeData, rng: random.Random) -> dict[str, Any]:
    return {"date": rng.choice(d.rows)["Date"]}


def _row(d: CoffeeData, p: dict[str, Any]) -> dict[str, Any]:
    return d.rows[d.by_date[p["date"]]]


def _lookup_chain(*cols: str, calc: str | None = None) -> Any:
    def chain(d: CoffeeData, p: dict[str, Any], ans: Answer) -> list[Call]:
        calls: list[Call] = [
            ("LoadDB", {"target_db": "coffee"}),
            ("FilterDB", {"condition": f"Date={p['date']}"}),
        ]
        calls += [("GetValue", {"column": c}) for c in cols]
        if calc:
            r = _row(d, p)
            calls.append(("Calculate", {"expression": calc.format(**{k: r[k] for k in HEADER[1:5]})}))
        return [*calls, finish(ans)]

    return chain


def _field(col: str) -> Any:
    return lambda d, p: str(_row(d, p)[col])


def _pct(d: CoffeeData, p: dict[str, Any]) -> str:
    r = _row(d, p)
    return str(round((float(r["Close"]) - float(r["Open"])) / float(r["Open"]) * 100, 2)) + "%"


def _bull(d: CoffeeData, p: dict[str, Any]) -> str:
    r = _row(d, p)
    return "bullish" if float(r["Close"]) > float(r["Open"]) else "bearish"


def _range(d: CoffeeData, p: dict[str, Any]) -> str:
    r = _row(d, p)
    return str(round(float(r["High"]) - float(r["Low"]), 2))


def _easy(name: str, pattern: str, answer: Any, chain: Any) -> Template:
    return Template("coffee", "easy", name, pattern, _sample_date, answer, chain)


EASY = [
    _easy("open", "What was the opening price of coffee on {date}?", _field("Open"), _lookup_chain("Open")),
    _easy("low", "What was the lowest price of coffee on {date}?", _field("Low"), _lookup_chain("Low")),
    _easy("high", "What was the highest price of coffee on {date}?", _field("High"), _lookup_chain("High")),
    _easy(
        "close", "What was the closing price of coffee on {date}?", _field("Close"), _lookup_chain("Close")
    ),
    _easy("volume", "What was the volume of coffee on {date}?", _field("Volume"), _lookup_chain("Volume")),
    _easy(
        "pct_change",
        "What was the percentage change in coffee price on {date}, based on the difference between the "
        "opening and closing prices?",
        _pct,
        _lookup_chain("Open", "Close", calc="({Close}-{Open})/{Open}*100"),
    ),
    _easy(
        "bull_bear",
        "Was {date} a bearish or bullish day for coffee price?",
        _bull,
        _lookup_chain("Open", "Close"),
    ),
    # ToolQA quirk: the official range question ends with a doubled "??".
    _easy(
        "range",
        "What was the range of coffee price on {date}, based on the difference between the high and low prices??",  # noqa: E501
        _range,
        _lookup_chain("High", "Low", calc="{High}-{Low}"),
    ),
]
EASY_COUNTS = (13, 13, 13, 13, 12, 12, 12, 12)


# ---------------------------------------------------------------- hard templates


def _span(d: CoffeeData, p: dict[str, Any]) -> list[dict[str, Any]]:
    return d.rows[d.by_date[p["start"]] : d.by_date[p["end"]] + 1]


def _sample_span(max_len: int = 400, from_first: bool = False) -> Any:
    def sample(d: CoffeeData, rng: random.Random) -> dict[str, Any]:
        n = len(d.rows)
        i = 0 if from_first else rng.randint(0, n - 2)
        j = rng.randint(i + 1, min(n - 1, i + max_len))
        return {"start": d.rows[i]["Date"], "end": d.rows[j]["Date"]}

    return sample


def _sample_prev_day(d: CoffeeData, rng: random.Random) -> dict[str, Any]:
    i = rng.randint(1, len(d.rows) - 1)
    return {"date": d.rows[i]["Date"], "prev": d.rows[i - 1]["Date"]}


def _where(p: dict[str, Any]) -> str:
    return f"Date >= '{p['start']}' AND Date <= '{p['end']}'"


def _sql_chain(query: str) -> Any:
    def chain(d: CoffeeData, p: dict[str, Any], ans: Answer) -> list[Call]:
        return [
            ("SQLInterpreter", {"query": query.format(t=TABLE, w=_where(p) if "start" in p else "", **p)}),
            finish(ans),
        ]

    return chain


def _fmt1(x: float, suffix: str = "") -> str | None:
    return None if near_half(x, 1) else f"{x:.1f}{suffix}"


def _max_high(d: CoffeeData, p: dict[str, Any]) -> str:
    best, cur = 0.0, ""
    for r in _span(d, p):
        if r["High"] > best:
            best, cur = r["High"], r["Currency"]
    return str(best) + " " + cur


def _min_low(d: CoffeeData, p: dict[str, Any]) -> str:
    best, cur = 1000000.0, ""
    for r in _span(d, p):
        if r["Low"] < best:
            best, cur = r["Low"], r["Currency"]
    return str(best) + " " + cur


def _avg_close(d: CoffeeData, p: dict[str, Any]) -> str | None:
    rows = _span(d, p)
    total = 0.0
    for r in rows:
        total += r["Close"]
    return _fmt1(total / len(rows), " " + rows[0]["Currency"])


def _change(d: CoffeeData, p: dict[str, Any]) -> str | None:
    rows = _span(d, p)
    return _fmt1(rows[-1]["Close"] - rows[0]["Open"], " " + rows[0]["Currency"])


def _prev_pct(d: CoffeeData, p: dict[str, Any]) -> str | None:
    t, y = d.rows[d.by_date[p["date"]]]["Close"], d.rows[d.by_date[p["prev"]]]["Close"]
    return _fmt1((t - y) / y * 100, "%")


def _max_range_date(d: CoffeeData, p: dict[str, Any]) -> str | None:
    best, date = 0.0, ""
    diffs = []
    for r in _span(d, p):
        diff = r["High"] - r["Low"]
        diffs.append(diff)
        if diff > best:
            best, date = diff, r["Date"]
    return date if date and diffs.count(best) == 1 else None  # resample ties / all-zero ranges


def _avg_volume(d: CoffeeData, p: dict[str, Any]) -> str | None:
    rows = _span(d, p)
    return _fmt1(sum(r["Volume"] for r in rows) / len(rows))


def _max_rise_date(d: CoffeeData, p: dict[str, Any]) -> str | None:
    # ToolQA quirk: max_change starts at 0, so a span without any rise has no answer (resampled).
    rows = _span(d, p)
    best, date, changes = 0.0, None, []
    for a, b in zip(rows, rows[1:], strict=False):
        ch = b["Close"] - a["Close"]
        changes.append(ch)
        if ch > best:
            best, date = ch, b["Date"]
    return date if date and changes.count(best) == 1 else None


def _up_days(d: CoffeeData, p: dict[str, Any]) -> str:
    rows = _span(d, p)
    return str(sum(1 for a, b in zip(rows, rows[1:], strict=False) if b["Close"] > a["Close"]))


def _pct_rise(d: CoffeeData, p: dict[str, Any]) -> str | None:
    rows = _span(d, p)
    return _fmt1((rows[-1]["Close"] - rows[0]["Open"]) / rows[0]["Open"] * 100, "%")


def _range_since(d: CoffeeData, p: dict[str, Any]) -> str | None:
    # ToolQA quirk: lowest_price starts at 0 and never decreases, so the "range" is the max High.
    rows = _span(d, p)
    return _fmt1(max(r["High"] for r in rows) - 0, " " + rows[0]["Currency"])


def _close_gt_open(d: CoffeeData, p: dict[str, Any]) -> str:
    return str(sum(1 for r in _span(d, p) if r["Close"] > r["Open"]))


def _mean_pct(d: CoffeeData, p: dict[str, Any]) -> str | None:
    rows = _span(d, p)
    acc = 0.0
    for r in rows:
        acc += (r["Close"] - r["Open"]) / r["Open"] * 100
    return _fmt1(acc / len(rows), "%")


def _hard(name: str, pattern: str, answer: Any, query: str, sample: Any = None) -> Template:
    return Template("coffee", "hard", name, pattern, sample or _sample_span(), answer, _sql_chain(query))


_C, _O, _H, _L, _V = num("Close"), num("Open"), num("High"), num("Low"), num("Volume")
HARD = [
    _hard(
        "max_high",
        "What was the highest coffee price from {start} to {end}?",
        _max_high,
        f"SELECT MAX({_H}) AS highest, MIN(Currency) AS currency FROM {{t}} WHERE {{w}}",
    ),
    _hard(
        "min_low",
        "What was the lowest coffee price from {start} to {end}?",
        _min_low,
        f"SELECT MIN({_L}) AS lowest, MIN(Currency) AS currency FROM {{t}} WHERE {{w}}",
    ),
    _hard(
        "avg_close",
        "What was the average coffee price from {start} to {end}?",
        _avg_close,
        f"SELECT AVG({_C}) AS avg_close FROM {{t}} WHERE {{w}}",
    ),
    _hard(
        "change",
        "How much did the coffee price change from {start} to {end}?",
        _change,
        f"SELECT (SELECT {_C} FROM {{t}} WHERE Date = '{{end}}') - (SELECT {_O} FROM {{t}} "
        f"WHERE Date = '{{start}}') AS change",
    ),
    _hard(
        "prev_day_pct",
        "What was the percentage change in coffee price on {date} compared to the previous day?",
        _prev_pct,
        f"SELECT Date, {_C} AS close FROM {{t}} WHERE Date IN ('{{prev}}', '{{date}}') ORDER BY Date",
        _sample_prev_day,
    ),
    _hard(
        "max_range_date",
        "On which date from {start} to {end} was the difference between the highest and lowest coffee prices "
        "the greatest?",
        _max_range_date,
        f"SELECT Date, {_H} - {_L} AS spread FROM {{t}} WHERE {{w}} ORDER BY spread DESC LIMIT 1",
    ),
    _hard(
        "avg_volume",
        "What was the average daily volume of coffee traded from {start} to {end}?",
        _avg_volume,
        f"SELECT AVG({_V}) AS avg_volume FROM {{t}} WHERE {{w}}",
    ),
    _hard(
        "max_rise_date",
        "On which date from {start} to {end} did the coffee price have the highest increase compared to the "
        "previous day?",
        _max_rise_date,
        f"SELECT Date, rise FROM (SELECT Date, {_C} - LAG({_C}) OVER (ORDER BY Date) AS rise FROM {{t}} "
        f"WHERE {{w}}) WHERE rise > 0 ORDER BY rise DESC LIMIT 1",
    ),
    _hard(
        "up_days",
        "How many times from {start} to {end} did the coffee price increase compared to the previous day?",
        _up_days,
        f"SELECT COUNT(*) AS n FROM (SELECT {_C} - LAG({_C}) OVER (ORDER BY Date) AS rise FROM {{t}} "
        f"WHERE {{w}}) WHERE rise > 0",
    ),
    _hard(
        "pct_rise",
        "What was the percentage increase in coffee price from {start} to {end}?",
        _pct_rise,
        f"SELECT ((SELECT {_C} FROM {{t}} WHERE Date = '{{end}}') - (SELECT {_O} FROM {{t}} WHERE Date = "
        f"'{{start}}')) / (SELECT {_O} FROM {{t}} WHERE Date = '{{start}}') * 100 AS pct",
    ),
    _hard(
        "range_since_start",
        "What was the coffee price range from {start} to {end}?",
        _range_since,
        f"SELECT MAX({_H}) - 0 AS price_range FROM {{t}} WHERE {{w}}",
        _sample_span(10**6, from_first=True),
    ),
    _hard(
        "close_above_open",
        "On how many days from {start} to {end} did the coffee price close higher than the opening price?",
        _close_gt_open,
        f"SELECT COUNT(*) AS n FROM {{t}} WHERE {{w}} AND {_C} > {_O}",
        _sample_span(10**6, from_first=True),
    ),
    _hard(
        "mean_daily_pct",
        "What was the average percentage change in coffee price from {start} to {end}?",
        _mean_pct,
        f"SELECT AVG(({_C} - {_O}) / {_O} * 100) AS avg_pct FROM {{t}} WHERE {{w}}",
    ),
]
HARD_COUNTS = (10,) * len(HARD)
