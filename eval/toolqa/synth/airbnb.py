"""Airbnb: ``airbnb/Airbnb_Open_Data.csv`` (26 NYC listing columns) and its templates."""

from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..templates import Answer, Call, Template, finish
from ._common import box_5km, in_box, near_box_edge, near_half, num, sql_str, write_csv

COLUMNS = (
    "id",
    "NAME",
    "host id",
    "host_identity_verified",
    "host name",
    "neighbourhood group",
    "neighbourhood",
    "lat",
    "long",
    "country",
    "country code",
    "instant_bookable",
    "cancellation_policy",
    "room type",
    "Construction year",
    "price",
    "service fee",
    "minimum nights",
    "number of reviews",
    "last review",
    "reviews per month",
    "review rate number",
    "calculated host listings count",
    "availability 365",
    "house_rules",
    "license",
)
TABLE = "airbnb.airbnb_data"
HOODS = (  # neighbourhood, group, lat, lon
    ("Bushwick", "Brooklyn", 40.6958, -73.9171),
    ("Williamsburg", "Brooklyn", 40.7081, -73.9571),
    ("Bedford-Stuyvesant", "Brooklyn", 40.6872, -73.9418),
    ("Park Slope", "Brooklyn", 40.6710, -73.9814),
    ("Harlem", "Manhattan", 40.8116, -73.9465),
    ("Midtown", "Manhattan", 40.7549, -73.9840),
    ("East Village", "Manhattan", 40.7265, -73.9815),
    ("Hell's Kitchen", "Manhattan", 40.7638, -73.9918),
    ("Chelsea", "Manhattan", 40.7465, -74.0014),
    ("Astoria", "Queens", 40.7644, -73.9235),
    ("Long Island City", "Queens", 40.7447, -73.9485),
    ("Flushing", "Queens", 40.7675, -73.8331),
    ("Tompkinsville", "Staten Island", 40.6362, -74.0776),
    ("Kingsbridge", "Bronx", 40.8834, -73.9051),
)
ADJ = (
    "Cozy",
    "Sunny",
    "Spacious",
    "Charming",
    "Modern",
    "Bright",
    "Quiet",
    "Stylish",
    "Elegant",
    "Huge",
    "Lovely",
)
THING = (
    "Studio",
    "1BR Apartment",
    "2BR Loft",
    "Private Room",
    "Garden Apartment",
    "Duplex",
    "Room",
    "Townhouse",
)
HOSTS = (
    "Alan",
    "Collin",
    "Vivian",
    "Timo",
    "Sara",
    "Andrew",
    "Kijin",
    "Edwin",
    "Maria",
    "Jean",
    "Priya",
    "Omar",
    "Lucia",
    "Ken",
    "Rosa",
    "Noah",
    "Mei",
    "Ivan",
    "Zoe",
    "Hugo",
)
ROOMS = ("Entire home/apt", "Private room", "Shared room", "Hotel room")


@dataclass
class AirbnbData:
    rows: list[dict[str, Any]]  # typed: price/fee raw strings, numbers as float, None = NaN

    def select(self, **kw: Any) -> list[dict[str, Any]]:
        return [r for r in self.rows if all(r[k] == v for k, v in kw.items())]


def _money(v: int) -> str:
    return f"${v:,} "  # the real file writes prices like "$1,060 " (with a trailing space)


def price_value(s: str) -> float:
    return float(s[1:].replace(",", ""))


def generate(out_dir: Path, rng: random.Random, scale: str) -> AirbnbData:
    n = 1500 if scale == "small" else 12000
    rows: list[dict[str, Any]] = []
    for i in range(n):
        hood, group, lat, lon = rng.choice(HOODS)
        room = rng.choices(ROOMS, weights=(50, 42, 5, 3))[0]
        price = rng.randint(50, 1200)
        reviews = rng.choice([0, rng.randint(1, 30), rng.randint(1, 300)])
        rows.append(
            {
                "id": 1001254 + i * 5 + rng.randint(0, 4),
                "NAME": f"{rng.choice(ADJ)} {rng.choice(THING)} in {hood} {i % 97}",
                "host id": rng.randint(10**9, 10**10),
                "host_identity_verified": rng.choice(["verified", "unconfirmed"]),
                "host name": rng.choice(HOSTS),
                "neighbourhood group": group,
                "neighbourhood": hood,
                "lat": round(lat + rng.uniform(-0.05, 0.05), 5),
                "long": round(lon + rng.uniform(-0.05, 0.05), 5),
                "country": "United States",
                "country code": "US",
                "instant_bookable": rng.choice(["True", "False"]),
                "cancellation_policy": rng.choice(["strict", "moderate", "flexible"]),
                "room type": room,
                "Construction year": float(rng.randint(2003, 2022)),
                "price": _money(price),
                "service fee": _money(round(price * 0.2)),
                "minimum nights": float(rng.choice([1, 1, 2, 3, 5, 7, 30])),
                "number of reviews": float(reviews),
                "last review": None
                if reviews == 0
                else f"{rng.randint(1, 12)}/{rng.randint(1, 28)}/{rng.randint(2015, 2022)}",
                "reviews per month": None if reviews == 0 else round(rng.uniform(0.01, 5), 2),
                "review rate number": float(rng.randint(1, 5)),
                "calculated host listings count": float(rng.choice([1, 1, 1, 2, 3, 6])),
                "availability 365": float(rng.randint(0, 365)),
                "house_rules": rng.choice(["", "No smoking.", "No parties."]),
                "license": None,
            }
        )
    rows = [r | {"NAME": r["NAME"].rsplit(" ", 1)[0] if i % 3 else r["NAME"]} for i, r in enumerate(rows)]
    write_csv(out_dir / "Airbnb_Open_Data.csv", COLUMNS, ([_cell(c, r[c]) for c in COLUMNS] for r in rows))
    return AirbnbData(rows)


def _cell(col: str, v: Any) -> str:
    if v is None:
        return ""
    if col in (
        "Construction year",
        "minimum nights",
        "number of reviews",
        "review rate number",
        "calculated host listings count",
        "availability 365",
    ):
        return str(int(v))
    return str(v)


# ---------------------------------------------------------------- easy templates


def _s_id(d: AirbnbData, rng: random.Random) -> dict[str, Any] | None:
    r = rng.choice(d.rows)
    if len(d.select(NAME=r["NAME"], neighbourhood=r["neighbourhood"])) != 1:
        return None
    return {"name": r["NAME"], "id": r["id"], "hood": r["neighbourhood"]}


def _row(d: AirbnbData, p: dict[str, Any]) -> dict[str, Any]:
    return d.select(NAME=p["name"], neighbourhood=p["hood"])[0]


def _by_id(col: str) -> Any:
    def chain(d: AirbnbData, p: dict[str, Any], ans: Answer) -> list[Call]:
        return [
            ("LoadDB", {"target_db": "airbnb"}),
            ("FilterDB", {"condition": f"id={p['id']}"}),
            ("GetValue", {"column": col}),
            finish(ans),
        ]

    return chain


def _by_name(col: str) -> Any:
    def chain(d: AirbnbData, p: dict[str, Any], ans: Answer) -> list[Call]:
        return [
            ("LoadDB", {"target_db": "airbnb"}),
            ("FilterDB", {"condition": f"NAME={p['name']}, neighbourhood={p['hood']}"}),
            ("GetValue", {"column": col}),
            finish(ans),
        ]

    return chain


def _as_int(col: str) -> Any:
    return lambda d, p: None if _row(d, p)[col] is None else str(int(_row(d, p)[col]))


def _as_str(col: str) -> Any:
    return lambda d, p: None if _row(d, p)[col] is None else str(_row(d, p)[col])


def _e(name: str, pattern: str, col: str, answer: Any, chain: Any = None) -> Template:
    return Template("airbnb", "easy", name, pattern, _s_id, answer, chain or _by_id(col))


EASY = [
    _e(
        "host_name",
        "What is the host's name for {name} in {hood}?",
        "host name",
        _as_str("host name"),
        _by_name("host name"),
    ),
    _e(
        "availability",
        "How many days are {name} (id: {id}) available during a year (365 days)?",
        "availability 365",
        _as_int("availability 365"),
    ),
    _e(
        "room_type",
        "What is the room type of {name} (id: {id}) in {hood}?",
        "room type",
        _as_str("room type"),
    ),
    _e("price", "What is the price of {name} (id: {id}) in {hood}?", "price", _as_str("price")),
    _e(
        "min_nights",
        "What is the minimum number of nights of {name} (id: {id}) in {hood}?",
        "minimum nights",
        _as_int("minimum nights"),
    ),
    # ToolQA quirk: "When was of ... constructed?" is the official wording.
    _e(
        "construction_year",
        "When was of {name} (id: {id}) in {hood} constructed?",
        "Construction year",
        _as_int("Construction year"),
    ),
    _e(
        "reviews",
        "How many reviews does {name} (id: {id}) in {hood} have?",
        "number of reviews",
        _as_int("number of reviews"),
    ),
    _e(
        "last_review",
        "What is the last review date of {name} (id: {id}) in {hood}?",
        "last review",
        _as_str("last review"),
    ),
    _e(
        "review_rate",
        "What is the review rate number of {name} (id: {id}) in {hood}?",
        "review rate number",
        _as_str("review rate number"),
    ),
    _e(
        "reviews_per_month",
        "What is the average number of reviews per month of {name} (id: {id}) in {hood}?",
        "reviews per month",
        _as_str("reviews per month"),
    ),
]


# ---------------------------------------------------------------- hard templates


def _sql(query: Any) -> Any:
    def chain(d: AirbnbData, p: dict[str, Any], ans: Answer) -> list[Call]:
        return [("SQLInterpreter", {"query": query(d, p)}), finish(ans)]

    return chain


def _s_stay(d: AirbnbData, rng: random.Random) -> dict[str, Any] | None:
    p = _s_id(d, rng)
    return None if p is None else {**p, "nights": rng.randint(1, 20)}


def _total(d: AirbnbData, p: dict[str, Any]) -> str:
    r = _row(d, p)
    nights = max(int(p["nights"]), int(r["minimum nights"]))
    return "$ {:.1f}".format((price_value(r["price"]) + price_value(r["service fee"])) * nights)


def _total_chain(d: AirbnbData, p: dict[str, Any], ans: Answer) -> list[Call]:
    r = _row(d, p)
    nights = max(int(p["nights"]), int(r["minimum nights"]))
    expr = f"({price_value(r['price']):g} + {price_value(r['service fee']):g}) * {nights}"
    return [
        ("LoadDB", {"target_db": "airbnb"}),
        ("FilterDB", {"condition": f"NAME={p['name']}, neighbourhood={p['hood']}"}),
        ("GetValue", {"column": "price"}),
        ("GetValue", {"column": "service fee"}),
        ("GetValue", {"column": "minimum nights"}),
        ("Calculate", {"expression": expr}),
        finish(ans),
    ]


def _s_hood(d: AirbnbData, rng: random.Random) -> dict[str, Any]:
    return {"hood": rng.choice(HOODS)[0]}


_PRICE = "TRY_CAST(trim(replace(replace(CAST(price AS VARCHAR), '$', ''), ',', '')) AS DOUBLE)"


def _avg_price(d: AirbnbData, p: dict[str, Any]) -> str | None:
    rows = d.select(neighbourhood=p["hood"])
    v = sum(price_value(r["price"]) for r in rows) / len(rows)
    return None if near_half(v, 1) else f"$ {v:.1f}"


def _avg_rate_box(d: AirbnbData, p: dict[str, Any]) -> str | None:
    r = _row(d, p)
    box = box_5km(r["lat"], r["long"])
    if any(near_box_edge(x["lat"], x["long"], box) for x in d.rows):
        return None
    vals = [
        x["review rate number"]
        for x in d.rows
        if in_box(x["lat"], x["long"], box) and x["review rate number"] is not None
    ]
    v = sum(vals) / len(vals)
    return None if near_half(v, 2) else str(round(v, 2))


def _rate_box_chain(d: AirbnbData, p: dict[str, Any], ans: Answer) -> list[Call]:
    r = _row(d, p)
    b = box_5km(r["lat"], r["long"])
    q = (
        f"SELECT AVG({num('review_rate_number')}) AS avg_rate FROM {TABLE} WHERE {num('latitude')} BETWEEN {b[0]!r} AND "  # noqa: E501
        f"{b[1]!r} AND {num('longitude')} BETWEEN {b[2]!r} AND {b[3]!r}"
    )
    return [
        ("LoadDB", {"target_db": "airbnb"}),
        ("FilterDB", {"condition": f"NAME={p['name']}, neighbourhood={p['hood']}"}),
        ("GetValue", {"column": "lat"}),
        ("GetValue", {"column": "long"}),
        ("SQLInterpreter", {"query": q}),
        finish(ans),
    ]


def _flex(d: AirbnbData, p: dict[str, Any]) -> str:
    rows = d.select(neighbourhood=p["hood"])
    return str(round(sum(1 for r in rows if r["cancellation_policy"] == "flexible") / len(rows), 2))


def _max_entire(d: AirbnbData, p: dict[str, Any]) -> str | None:
    # ToolQA quirk: prices are sorted as strings, so "$961 " beats "$1,060 ".
    rows = [r for r in d.select(neighbourhood=p["hood"]) if r["room type"] == "Entire home/apt"]
    return max(r["price"] for r in rows) if rows else None


def _unique_top(rows: list[dict[str, Any]], key: Any, reverse: bool) -> str | None:
    rows = [r for r in rows if key(r) is not None]
    if not rows:
        return None
    best = (max if reverse else min)(key(r) for r in rows)
    winners = [r for r in rows if key(r) == best]
    return winners[0]["NAME"] if len(winners) == 1 else None


def _cheapest_any(d: AirbnbData, p: dict[str, Any]) -> str | None:
    # ToolQA quirk: "hotel room" is never filtered on room type; string-sorted price, lowest first.
    return _unique_top(d.select(neighbourhood=p["hood"]), lambda r: r["price"], reverse=False)


def _busiest_private(d: AirbnbData, p: dict[str, Any]) -> str | None:
    # ToolQA quirk: "host at least 2 people" filters calculated host listings count >= 2 and "highest
    # review rate" sorts by reviews per month.
    rows = [
        r
        for r in d.select(neighbourhood=p["hood"], **{"room type": "Private room"})
        if r["calculated host listings count"] >= 2
    ]
    return _unique_top(rows, lambda r: r["reviews per month"], reverse=True)


def _s_point(d: AirbnbData, rng: random.Random) -> dict[str, Any]:
    return {"lon": rng.uniform(-74.2589, -73.7004), "lat": rng.uniform(40.4774, 40.9176)}


def _shared_near(d: AirbnbData, p: dict[str, Any]) -> str | None:
    # ToolQA quirk: "within 10 miles" is a squared-degree radius (long-x)^2 + (lat-y)^2 <= 0.0169.
    lon, lat = float(p["lon"]), float(p["lat"])
    dist = [(r["long"] - lon) ** 2 + (r["lat"] - lat) ** 2 for r in d.rows]
    if any(abs(x - 0.0169) < 1e-6 for x in dist):
        return None
    rows = [r for r, x in zip(d.rows, dist, strict=True) if x <= 0.0169 and r["room type"] == "Shared room"]
    return _unique_top(rows, lambda r: r["price"], reverse=False)


HARD = [
    Template(
        "airbnb",
        "hard",
        "total_price",
        "What is the total price at least if you want to stay at {name} in {hood} for {nights} nights?",
        _s_stay,
        _total,
        _total_chain,
    ),
    Template(
        "airbnb",
        "hard",
        "count_hood",
        "How many airbnbs are there in {hood}?",
        _s_hood,
        lambda d, p: str(len(d.select(neighbourhood=p["hood"]))),
        _sql(lambda d, p: f"SELECT COUNT(*) AS n FROM {TABLE} WHERE neighbourhood = {sql_str(p['hood'])}"),
    ),
    Template(
        "airbnb",
        "hard",
        "avg_price",
        "What is the average price of airbnbs in {hood}?",
        _s_hood,
        _avg_price,
        _sql(
            lambda d, p: (
                f"SELECT AVG({_PRICE}) AS avg_price FROM {TABLE} WHERE neighbourhood = {sql_str(p['hood'])}"
            )
        ),
    ),
    Template(
        "airbnb",
        "hard",
        "avg_rate_5km",
        "What is the average review rates within 5 miles from {name} in {hood}?",
        _s_id,
        _avg_rate_box,
        _rate_box_chain,
    ),
    # ToolQA quirk: "proporion" is the official spelling.
    Template(
        "airbnb",
        "hard",
        "flexible_share",
        "How much proporion of airbnbs in {hood} have a flexible cancellation policy?",
        _s_hood,
        _flex,
        _sql(
            lambda d, p: (
                f"SELECT AVG(CASE WHEN cancellation_policy = 'flexible' THEN 1.0 ELSE 0.0 END) AS share "
                f"FROM {TABLE} WHERE neighbourhood = {sql_str(p['hood'])}"
            )
        ),
    ),
    Template(
        "airbnb",
        "hard",
        "max_entire_price",
        "How much does it cost per night to stay at the most expensive entire home/apt in {hood}?",
        _s_hood,
        _max_entire,
        _sql(
            lambda d, p: (
                f"SELECT CAST(price AS VARCHAR) AS price FROM {TABLE} WHERE neighbourhood = "
                f"{sql_str(p['hood'])} AND room_type = 'Entire home/apt' ORDER BY CAST(price AS VARCHAR) "
                f"DESC LIMIT 1"
            )
        ),
    ),
    # ToolQA quirk: "higher than 4" counts review rate number >= 4.
    Template(
        "airbnb",
        "hard",
        "rated_4",
        "How many airbnbs are there in {hood} that have a review rate higher than 4?",
        _s_hood,
        lambda d, p: str(
            sum(1 for r in d.select(neighbourhood=p["hood"]) if (r["review rate number"] or 0) >= 4)
        ),
        _sql(
            lambda d, p: (
                f"SELECT COUNT(*) AS n FROM {TABLE} WHERE neighbourhood = {sql_str(p['hood'])} AND "
                f"{num('review_rate_number')} >= 4"
            )
        ),
    ),
    Template(
        "airbnb",
        "hard",
        "cheapest_hotel",
        "Can you recommend me a hotel room with the lowest price in {hood}?",
        _s_hood,
        _cheapest_any,
        _sql(
            lambda d, p: (
                f"SELECT NAME, CAST(price AS VARCHAR) AS price FROM {TABLE} WHERE neighbourhood = "
                f"{sql_str(p['hood'])} ORDER BY CAST(price AS VARCHAR) ASC LIMIT 1"
            )
        ),
    ),
    Template(
        "airbnb",
        "hard",
        "busiest_private",
        "Can you recommend me a private room with the highest review rate that can host at least 2 people in {hood}?",  # noqa: E501
        _s_hood,
        _busiest_private,
        _sql(
            lambda d, p: (
                f"SELECT NAME, reviews_per_month FROM {TABLE} WHERE neighbourhood = {sql_str(p['hood'])} "
                f"AND room_type = 'Private room' AND {num('calculated_host_listings_count')} >= 2 AND "
                f"{num('reviews_per_month')} IS NOT NULL ORDER BY {num('reviews_per_month')} DESC LIMIT 1"
            )
        ),
    ),
    Template(
        "airbnb",
        "hard",
        "cheapest_shared_near",
        "Can you recommend a shared room with the lowest price within 10 miles from {lon} longitude and {lat} latitude?",  # noqa: E501
        _s_point,
        _shared_near,
        _sql(
            lambda d, p: (
                f"SELECT NAME, CAST(price AS VARCHAR) AS price FROM {TABLE} WHERE POWER({num('longitude')} - "
                f"({float(p['lon'])!r}), 2) + POWER({num('latitude')} - ({float(p['lat'])!r}), 2) <= 0.0169 AND "  # noqa: E501
                f"room_type = 'Shared room' ORDER BY CAST(price AS VARCHAR) ASC LIMIT 1"
            )
        ),
    ),
]
