"""Yelp: ``yelp/yelp_academic_dataset_business.json`` (JSON lines, 14 fields) and its templates."""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..templates import Answer, Call, Template, finish
from ._common import box_5km, in_box, near_box_edge, near_half, num, sql_str, write_jsonl

TABLE = "yelp.yelp_data"
CITIES = (  # city, state, lat, lon, postal codes
    ("Philadelphia", "PA", 39.9526, -75.1652, ("19103", "19107", "19130", "19143", "19147")),
    ("Ardmore", "PA", 40.0068, -75.2855, ("19003",)),
    ("Tampa", "FL", 27.9506, -82.4572, ("33602", "33609", "33611", "33612")),
    ("Clearwater", "FL", 27.9659, -82.8001, ("33755", "33759")),
    ("Nashville", "TN", 36.1627, -86.7816, ("37203", "37209", "37211")),
    ("Franklin", "TN", 35.9251, -86.8689, ("37064", "37067")),
    ("Tucson", "AZ", 32.2226, -110.9747, ("85701", "85711", "85719")),
    ("Reno", "NV", 39.5296, -119.8138, ("89502", "89511", "89523")),
    ("Boise", "ID", 43.6150, -116.2023, ("83702", "83704", "83714")),
    ("Santa Barbara", "CA", 34.4208, -119.6982, ("93101", "93105")),
    ("Edmonton", "AB", 53.5461, -113.4938, ("T5J 0N3", "T6E 2A3", "T5V 1H9")),
    ("New Orleans", "LA", 29.9511, -90.0715, ("70112", "70116", "70130")),
)
CATEGORIES = (
    "Restaurants",
    "Food",
    "Pizza",
    "Mexican",
    "Chinese",
    "Italian",
    "Burgers",
    "Coffee & Tea",
    "Bakeries",
    "Bars",
    "Nightlife",
    "Wine Bars",
    "Sushi Bars",
    "Beauty & Spas",
    "Nail Salons",
    "Hair Salons",
    "Shopping",
    "Home Services",
    "Plumbing",
    "Automotive",
    "Auto Repair",
    "Dentists",
    "Health & Medical",
    "Pets",
    "Pet Stores",
    "Fitness & Instruction",
    "Yoga",
    "Hotels & Travel",
    "Real Estate",
    "Florists",
)
GROUPS = (
    ("Restaurants", "Pizza", "Italian"),
    ("Restaurants", "Mexican"),
    ("Restaurants", "Chinese"),
    ("Food", "Coffee & Tea", "Bakeries"),
    ("Restaurants", "Burgers"),
    ("Nightlife", "Bars", "Wine Bars"),
    ("Restaurants", "Sushi Bars"),
    ("Beauty & Spas", "Nail Salons"),
    ("Beauty & Spas", "Hair Salons"),
    ("Home Services", "Plumbing"),
    ("Automotive", "Auto Repair"),
    ("Health & Medical", "Dentists"),
    ("Pets", "Pet Stores"),
    ("Fitness & Instruction", "Yoga"),
    ("Hotels & Travel",),
    ("Real Estate",),
    ("Shopping", "Florists"),
)
WORDS = (
    "Golden",
    "Blue",
    "Sunny",
    "Urban",
    "Little",
    "Royal",
    "Happy",
    "Green",
    "Silver",
    "Lucky",
    "Corner",
    "Maple",
    "Harbor",
    "Liberty",
    "Summit",
    "Riverside",
    "Oak",
    "Crystal",
    "Vintage",
    "Bright",
)
NOUNS = {
    "Pizza": "Pizza",
    "Mexican": "Taqueria",
    "Chinese": "Wok",
    "Coffee & Tea": "Cafe",
    "Burgers": "Burger Joint",
    "Bars": "Tavern",
    "Sushi Bars": "Sushi",
    "Nail Salons": "Nails",
    "Hair Salons": "Salon",
    "Plumbing": "Plumbing",
    "Auto Repair": "Auto Care",
    "Dentists": "Dental",
    "Pet Stores": "Pet Supply",
    "Yoga": "Yoga Studio",
    "Hotels & Travel": "Inn",
    "Real Estate": "Realty",
    "Florists": "Flowers",
}
STREETS = (
    "Main St",
    "Oak Ave",
    "Market St",
    "Broadway",
    "2nd St",
    "Elm St",
    "Park Ave",
    "Pine St",
    "Lake Dr",
    "Walnut St",
    "Church St",
    "Highland Ave",
    "Washington Ave",
    "River Rd",
    "Sunset Blvd",
)
DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


@dataclass
class YelpData:
    rows: list[dict[str, Any]]

    def select(self, **kw: Any) -> list[dict[str, Any]]:
        return [r for r in self.rows if all(r[k] == v for k, v in kw.items())]


def _hours(rng: random.Random) -> dict[str, str] | None:
    if rng.random() < 0.15:
        return None
    o, c = rng.choice([(7, 20), (9, 17), (11, 22), (10, 21), (6, 14)])
    m = rng.choice([0, 0, 30])
    return {day: f"{o}:{m}-{c}:0" for day in DAYS if not (day == "Sunday" and rng.random() < 0.4)}


def generate(out_dir: Path, rng: random.Random, scale: str) -> YelpData:
    n = 1500 if scale == "small" else 12000
    rows: list[dict[str, Any]] = []
    names: list[str] = []
    addresses: set[str] = set()
    for _ in range(n):
        city, state, lat, lon, zips = rng.choice(CITIES)
        group = rng.choice(GROUPS)
        if names and rng.random() < 0.12:
            name = rng.choice(names)  # chains: the same name in several places
        else:
            name = f"{rng.choice(WORDS)} {rng.choice(WORDS[::-1])} {NOUNS.get(group[-1], 'Co')}"
            names.append(name)
        while True:
            addr = f"{rng.randint(1, 9999)} {rng.choice(STREETS)}"
            if addr not in addresses:
                addresses.add(addr)
                break
        cats = list(group)
        rng.shuffle(cats)
        attrs: dict[str, str] | None = None
        if rng.random() < 0.8:
            attrs = {"BusinessAcceptsCreditCards": rng.choice(["True", "False"])}
            if group[0] in ("Beauty & Spas", "Health & Medical", "Home Services") or rng.random() < 0.2:
                attrs["ByAppointmentOnly"] = rng.choice(["True", "True", "False"])
        rows.append(
            {
                "business_id": "".join(
                    rng.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
                    for _ in range(22)
                ),
                "name": name,
                "address": addr,
                "city": city,
                "state": state,
                "postal_code": rng.choice(zips),
                "latitude": round(lat + rng.uniform(-0.12, 0.12), 7),
                "longitude": round(lon + rng.uniform(-0.12, 0.12), 7),
                "stars": rng.choice([1.0, 1.5, 2.0, 2.5, 3.0, 3.0, 3.5, 3.5, 4.0, 4.0, 4.5, 4.5, 5.0]),
                "review_count": rng.choice([rng.randint(5, 40), rng.randint(5, 400)]),
                "is_open": 1 if rng.random() < 0.8 else 0,
                "attributes": attrs,
                "categories": ", ".join(cats),
                "hours": _hours(rng),
            }
        )
    write_jsonl(out_dir / "yelp_academic_dataset_business.json", rows)
    return YelpData(rows)


# ---------------------------------------------------------------- easy templates


def _lookup(keys: tuple[str, ...], col: str, unique: bool = True) -> tuple[Any, Any]:
    def sample(d: YelpData, rng: random.Random) -> dict[str, Any] | None:
        r = rng.choice(d.rows)
        p = {k: r[k] for k in ("name", "city", "state", "postal_code")}
        if unique and len(d.select(**{k: r[k] for k in keys})) != 1:
            return None
        return p

    def chain(d: YelpData, p: dict[str, Any], ans: Answer) -> list[Call]:
        cond = ", ".join(f"{k}={p[k]}" for k in keys)
        return [
            ("LoadDB", {"target_db": "yelp"}),
            ("FilterDB", {"condition": cond}),
            ("GetValue", {"column": col}),
            finish(ans),
        ]

    return sample, chain


def _rows(d: YelpData, p: dict[str, Any], keys: tuple[str, ...]) -> list[dict[str, Any]]:
    return d.select(**{k: p[k] for k in keys})


K4 = ("name", "postal_code", "city", "state")


def _appointment(d: YelpData, p: dict[str, Any]) -> str:
    attrs = _rows(d, p, K4)[0]["attributes"]
    return "Yes" if attrs is not None and attrs.get("ByAppointmentOnly") == "True" else "No"


def _hours_ans(d: YelpData, p: dict[str, Any]) -> str | None:
    hours = _rows(d, p, K4)[0]["hours"]
    return None if hours is None else ", ".join(f"{k}: {v}" for k, v in hours.items())


def _easy(name: str, pattern: str, keys: tuple[str, ...], col: str, answer: Any) -> Template:
    sample, chain = _lookup(keys, col)
    return Template("yelp", "easy", name, pattern, sample, answer, chain)


EASY = [
    _easy(
        "address",
        "What is the address of {name} in area with postal code {postal_code}?",
        ("name", "postal_code"),
        "address",
        lambda d, p: ", ".join(dict.fromkeys(r["address"] for r in _rows(d, p, ("name", "postal_code")))),
    ),
    _easy(
        "city",
        "Which city is {name} located in {state}?",
        ("name", "state"),
        "city",
        lambda d, p: ", ".join(dict.fromkeys(r["city"] for r in _rows(d, p, ("name", "state")))),
    ),
    _easy(
        "state",
        "What state is {name} located in?",
        ("name",),
        "state",
        lambda d, p: ", ".join(dict.fromkeys(r["state"] for r in _rows(d, p, ("name",)))),
    ),
    _easy(
        "postal_code",
        "What is the postal code of {name} in {city}, {state}?",
        ("name", "city", "state"),
        "postal_code",
        lambda d, p: ", ".join(
            dict.fromkeys(r["postal_code"] for r in _rows(d, p, ("name", "city", "state")))
        ),
    ),
    _easy(
        "stars",
        "What is the star rating of {name} in area with postal code {postal_code}, {city}, {state}?",
        K4,
        "stars",
        lambda d, p: ", ".join(str(s) for s in dict.fromkeys(r["stars"] for r in _rows(d, p, K4))),
    ),
    _easy(
        "review_count",
        "How many reviews does {name} receive in the area with postal code {postal_code}, {city}, {state}, received?",  # noqa: E501
        K4,
        "review_count",
        lambda d, p: ", ".join(str(s) for s in dict.fromkeys(r["review_count"] for r in _rows(d, p, K4))),
    ),
    _easy(
        "is_open",
        "Is {name} still open in area with postal code {postal_code}, {city}, {state}?",
        K4,
        "is_open",
        lambda d, p: "No" if _rows(d, p, K4)[0]["is_open"] == 0 else "Yes",
    ),
    _easy(
        "appointment",
        "Does {name} require appointment in area with postal code {postal_code}, {city}, {state}?",
        K4,
        "attributes",
        _appointment,
    ),
    _easy(
        "hours",
        "What are the hours of operation for {name} in area with postal code {postal_code}, {city}, {state}?",
        K4,
        "hours",
        _hours_ans,
    ),
    _easy(
        "categories",
        "What categories does {name} belong to, in area with postal code {postal_code}, {city}, {state}?",
        K4,
        "categories",
        lambda d, p: ", ".join(dict.fromkeys(r["categories"] for r in _rows(d, p, K4))),
    ),
    _easy(
        "coordinates",
        "What are the coordinates of {name} in area with postal code {postal_code}, {city}, {state}?",
        K4,
        "latitude",
        lambda d, p: f"{_rows(d, p, K4)[0]['latitude']}, {_rows(d, p, K4)[0]['longitude']}",
    ),
]
EASY_COUNTS = (10, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9)


def _coord_chain(d: YelpData, p: dict[str, Any], ans: Answer) -> list[Call]:
    cond = ", ".join(f"{k}={p[k]}" for k in K4)
    return [
        ("LoadDB", {"target_db": "yelp"}),
        ("FilterDB", {"condition": cond}),
        ("GetValue", {"column": "latitude"}),
        ("GetValue", {"column": "longitude"}),
        finish(ans),
    ]


EASY[-1] = Template(
    "yelp", "easy", "coordinates", EASY[-1].pattern, EASY[-1].sample, EASY[-1].answer, _coord_chain
)


# ---------------------------------------------------------------- hard templates


def _has(r: dict[str, Any], cat: str) -> bool:
    # ToolQA quirk: pandas str.contains(cat) is a substring match ("Bars" also matches "Wine Bars").
    return r["categories"] is not None and cat in r["categories"]


def _city_state(d: YelpData, city: str) -> str:
    return d.select(city=city)[0]["state"]


def _s_city_cat(d: YelpData, rng: random.Random) -> dict[str, Any] | None:
    r = rng.choice(d.rows)
    cat = rng.choice(CATEGORIES)
    if not any(_has(x, cat) for x in d.select(city=r["city"])):
        return None
    return {"category": cat, "city": r["city"], "state": _city_state(d, r["city"])}


def _sql(query: Any) -> Any:
    def chain(d: YelpData, p: dict[str, Any], ans: Answer) -> list[Call]:
        return [("SQLInterpreter", {"query": query(p)}), finish(ans)]

    return chain


def _like(cat: str) -> str:
    return sql_str("%" + cat + "%")


def _best(key: str) -> Any:
    def answer(d: YelpData, p: dict[str, Any]) -> str | None:
        sub = [r for r in d.select(city=p["city"]) if _has(r, p["category"])]
        top = max(r[key] for r in sub)
        winners = [r for r in sub if r[key] == top]
        return winners[0]["name"] if len({w["name"] for w in winners}) == 1 else None  # resample ties

    return answer


def _unique_name(d: YelpData, rng: random.Random) -> dict[str, Any] | None:
    r = rng.choice(d.rows)
    return None if len(d.select(name=r["name"])) != 1 else {"name": r["name"]}


def _box_rows(d: YelpData, lat: float, lon: float) -> list[dict[str, Any]] | None:
    box = box_5km(lat, lon)
    if any(near_box_edge(r["latitude"], r["longitude"], box) for r in d.rows):
        return None  # keep every business clearly inside or outside the box
    return [r for r in d.rows if in_box(r["latitude"], r["longitude"], box)]


def _avg_reviews_box(d: YelpData, p: dict[str, Any]) -> float | None:
    r = d.select(name=p["name"])[0]
    sub = _box_rows(d, r["latitude"], r["longitude"])
    if not sub:
        return None
    v = sum(x["review_count"] for x in sub) / len(sub)
    return None if near_half(v, 2) else round(v, 2)


def _box_sql(d: YelpData, lat: float, lon: float, select: str) -> str:
    b = box_5km(lat, lon)
    return (
        f"SELECT {select} FROM {TABLE} WHERE {num('latitude')} BETWEEN {b[0]!r} AND {b[1]!r} AND "
        f"{num('longitude')} BETWEEN {b[2]!r} AND {b[3]!r}"
    )


def _avg_box_chain(d: YelpData, p: dict[str, Any], ans: Answer) -> list[Call]:
    r = d.select(name=p["name"])[0]
    return [
        ("LoadDB", {"target_db": "yelp"}),
        ("FilterDB", {"condition": f"name={p['name']}"}),
        ("GetValue", {"column": "latitude"}),
        ("GetValue", {"column": "longitude"}),
        (
            "SQLInterpreter",
            {"query": _box_sql(d, r["latitude"], r["longitude"], f"AVG({num('review_count')}) AS avg")},
        ),
        finish(ans),
    ]


def _s_nearest(d: YelpData, rng: random.Random) -> dict[str, Any] | None:
    p = _unique_name(d, rng)
    if p is None:
        return None
    return {**p, "category": rng.choice(CATEGORIES)}


def _nearest(d: YelpData, p: dict[str, Any]) -> str | None:
    me = d.select(name=p["name"])[0]
    if _has(me, p["category"]):
        return None  # the business itself would be its own nearest match
    sub = [r for r in d.select(city=me["city"]) if _has(r, p["category"])]
    if not sub:
        return None
    dist = [(r["latitude"] - me["latitude"]) ** 2 + (r["longitude"] - me["longitude"]) ** 2 for r in sub]
    best = min(dist)
    return sub[dist.index(best)]["name"] if dist.count(best) == 1 else None


def _nearest_chain(d: YelpData, p: dict[str, Any], ans: Answer) -> list[Call]:
    me = d.select(name=p["name"])[0]
    q = (
        f"SELECT name, POWER({num('latitude')} - {me['latitude']!r}, 2) + POWER({num('longitude')} - "
        f"{me['longitude']!r}, 2) AS dist2 FROM {TABLE} WHERE city = {sql_str(me['city'])} AND categories LIKE "  # noqa: E501
        f"{_like(p['category'])} ORDER BY dist2 LIMIT 1"
    )
    return [
        ("LoadDB", {"target_db": "yelp"}),
        ("FilterDB", {"condition": f"name={p['name']}"}),
        ("GetValue", {"column": "city"}),
        ("GetValue", {"column": "latitude"}),
        ("GetValue", {"column": "longitude"}),
        ("SQLInterpreter", {"query": q}),
        finish(ans),
    ]


def _s_address(d: YelpData, rng: random.Random) -> dict[str, Any]:
    return {"category": rng.choice(CATEGORIES), "address": rng.choice(d.rows)["address"]}


def _best_in_box(d: YelpData, p: dict[str, Any]) -> str | None:
    # ToolQA quirk: the category is asked but never used; the best-rated business in the box wins.
    me = d.select(address=p["address"])[0]
    sub = _box_rows(d, me["latitude"], me["longitude"])
    if not sub:
        return None
    top = max(r["stars"] for r in sub)
    winners = [r for r in sub if r["stars"] == top]
    return winners[0]["name"] if len(winners) == 1 else None


def _best_box_chain(d: YelpData, p: dict[str, Any], ans: Answer) -> list[Call]:
    me = d.select(address=p["address"])[0]
    q = _box_sql(d, me["latitude"], me["longitude"], "name, stars") + f" ORDER BY {num('stars')} DESC LIMIT 1"
    return [
        ("LoadDB", {"target_db": "yelp"}),
        ("FilterDB", {"condition": f"address={p['address']}"}),
        ("GetValue", {"column": "latitude"}),
        ("GetValue", {"column": "longitude"}),
        ("SQLInterpreter", {"query": q}),
        finish(ans),
    ]


def _s_city(d: YelpData, rng: random.Random) -> dict[str, Any]:
    city = rng.choice(d.rows)["city"]
    return {"city": city, "state": _city_state(d, city)}


def _top_zip(d: YelpData, p: dict[str, Any]) -> str | None:
    counts = Counter(r["postal_code"] for r in d.select(city=p["city"], state=p["state"])).most_common()
    return counts[0][0] if len(counts) == 1 or counts[0][1] > counts[1][1] else None


def _avg_stars(d: YelpData, p: dict[str, Any]) -> float | None:
    sub = [r["stars"] for r in d.select(city=p["city"]) if _has(r, p["category"])]
    v = sum(sub) / len(sub)
    return None if near_half(v, 2) else round(v, 2)


HARD = [
    Template(
        "yelp",
        "hard",
        "category_count",
        "How many {category} businesses are there in {city}, {state}?",
        _s_city_cat,
        lambda d, p: sum(1 for r in d.select(city=p["city"]) if _has(r, p["category"])),
        _sql(
            lambda p: (
                f"SELECT COUNT(*) AS n FROM {TABLE} WHERE city = {sql_str(p['city'])} AND categories LIKE "
                f"{_like(p['category'])}"
            )
        ),
    ),
    Template(
        "yelp",
        "hard",
        "postal_count",
        "How many businesses are there in {postal_code} area of {city}, {state}?",
        lambda d, rng: (lambda r: {"postal_code": r["postal_code"], "city": r["city"], "state": r["state"]})(
            d.select(postal_code=rng.choice(d.rows)["postal_code"])[0]
        ),
        lambda d, p: len(d.select(postal_code=p["postal_code"])),
        _sql(lambda p: f"SELECT COUNT(*) AS n FROM {TABLE} WHERE postal_code = {sql_str(p['postal_code'])}"),
    ),
    Template(
        "yelp",
        "hard",
        "best_rated",
        "Which {category} business has the highest star rating in {city}, {state}?",
        _s_city_cat,
        _best("stars"),
        _sql(
            lambda p: (
                f"SELECT name, stars FROM {TABLE} WHERE city = {sql_str(p['city'])} AND categories LIKE "
                f"{_like(p['category'])} ORDER BY {num('stars')} DESC LIMIT 1"
            )
        ),
    ),
    Template(
        "yelp",
        "hard",
        "most_reviewed",
        "Which {category} business has the highest review count in {city}, {state}?",
        _s_city_cat,
        _best("review_count"),
        _sql(
            lambda p: (
                f"SELECT name, review_count FROM {TABLE} WHERE city = {sql_str(p['city'])} AND categories "
                f"LIKE {_like(p['category'])} ORDER BY {num('review_count')} DESC LIMIT 1"
            )
        ),
    ),
    Template(
        "yelp",
        "hard",
        "avg_reviews_5km",
        "What is the average review counts of businesses within a 5-mile radius from {name}?",
        _unique_name,
        _avg_reviews_box,
        _avg_box_chain,
    ),
    Template(
        "yelp",
        "hard",
        "nearest",
        "Which is the nearest {category} business to {name}?",
        _s_nearest,
        _nearest,
        _nearest_chain,
    ),
    Template(
        "yelp",
        "hard",
        "best_in_5km",
        "Can you recommend a {category} business with the highest star rating within a 5-mile radius of {address}?",  # noqa: E501
        _s_address,
        _best_in_box,
        _best_box_chain,
    ),
    Template(
        "yelp",
        "hard",
        "closed_count",
        "How many businesses are not open currently in {city}?",
        _s_city,
        lambda d, p: sum(1 for r in d.select(city=p["city"]) if r["is_open"] == 0),
        _sql(
            lambda p: (
                f"SELECT COUNT(*) AS n FROM {TABLE} WHERE city = {sql_str(p['city'])} AND "
                f"{num('is_open')} = 0"
            )
        ),
    ),
    Template(
        "yelp",
        "hard",
        "avg_stars",
        "What is the average star rating of {category} businesses in {city}?",
        _s_city_cat,
        _avg_stars,
        _sql(
            lambda p: (
                f"SELECT AVG({num('stars')}) AS avg_stars FROM {TABLE} WHERE city = {sql_str(p['city'])} "
                f"AND categories LIKE {_like(p['category'])}"
            )
        ),
    ),
    Template(
        "yelp",
        "hard",
        "top_postal_code",
        "Which postal code region has most businesses in {city}, {state}?",
        _s_city,
        _top_zip,
        _sql(
            lambda p: (
                f"SELECT postal_code, COUNT(*) AS n FROM {TABLE} WHERE city = {sql_str(p['city'])} AND "
                f"state = {sql_str(p['state'])} GROUP BY postal_code ORDER BY n DESC LIMIT 1"
            )
        ),
    ),
]
