"""GSM8K-style grade-school word problems from templates (no corpus); answers are floats."""

from __future__ import annotations

import random
from typing import Any

from ..templates import Answer, Call, Template, finish

NAMES = ("Alex", "Maria", "Sam", "Priya", "Tom", "Lena", "Omar", "Julia", "Ken", "Rosa")


def _calc(expr: str) -> Any:
    def chain(d: Any, p: dict[str, Any], ans: Answer) -> list[Call]:
        return [("Calculate", {"expression": expr.format(**p)}), finish(ans)]

    return chain


def _t(name: str, pattern: str, sample: Any, expr: str) -> Template:
    def answer(d: Any, p: dict[str, Any]) -> float:
        return float(eval(expr.format(**p), {"__builtins__": {}}))  # expr is our own arithmetic template

    return Template("gsm8k", "easy", name, pattern, sample, answer, _calc(expr))


def _r(**spec: tuple[int, int]) -> Any:
    def sample(d: Any, rng: random.Random) -> dict[str, Any]:
        p: dict[str, Any] = {k: rng.randint(lo, hi) for k, (lo, hi) in spec.items()}
        p["name"], p["other"] = rng.sample(NAMES, 2)
        return p

    return sample


EASY = [
    _t(
        "apples",
        "{name} and {other} each eat {a} apples a day. How many apples do they eat in {b} days?",
        _r(a=(1, 6), b=(5, 40)),
        "2 * {a} * {b}",
    ),
    _t(
        "savings",
        "{name} saves ${a} every week. How much money will {name} have saved after {b} weeks?",
        _r(a=(5, 60), b=(3, 30)),
        "{a} * {b}",
    ),
    _t(
        "books",
        "{name} has {a} books and buys {b} more each month. How many books will {name} have after {c} months?",  # noqa: E501
        _r(a=(5, 50), b=(2, 9), c=(2, 12)),
        "{a} + {b} * {c}",
    ),
    _t(
        "shared",
        "{name} bakes {a} cookies and shares them equally among {b} friends and keeps {c} for later. "
        "How many cookies does each friend get if {name} first sets aside the {c} cookies?",
        lambda d, rng: (lambda b, c, k: {"a": b * k + c, "b": b, "c": c, "name": rng.choice(NAMES)})(
            rng.randint(2, 8), rng.randint(1, 9), rng.randint(2, 12)
        ),
        "({a} - {c}) / {b}",
    ),
    _t(
        "tickets",
        "A ticket costs ${a} for adults and ${b} for children. How much do {c} adults and {e} children pay?",
        _r(a=(10, 40), b=(3, 15), c=(1, 6), e=(1, 8)),
        "{a} * {c} + {b} * {e}",
    ),
    _t(
        "speed",
        "{name} drives at {a} miles per hour for {b} hours and then at {c} miles per hour for {e} hours. "
        "How many miles does {name} drive in total?",
        _r(a=(30, 70), b=(1, 5), c=(20, 60), e=(1, 4)),
        "{a} * {b} + {c} * {e}",
    ),
    _t(
        "discount",
        "A jacket costs ${a}. It is on sale for {b}% off. How much does {name} pay for {c} jackets?",
        lambda d, rng: {
            "a": rng.choice([20, 40, 60, 80, 100, 120]),
            "b": rng.choice([10, 20, 25, 50]),
            "c": rng.randint(1, 4),
            "name": rng.choice(NAMES),
        },
        "{a} * (100 - {b}) / 100 * {c}",
    ),
    _t(
        "pages",
        "{name} reads {a} pages on Monday and twice as many on Tuesday. If the book has {b} pages, how many "
        "pages are left?",
        lambda d, rng: (lambda a: {"a": a, "b": 3 * a + rng.randint(10, 200), "name": rng.choice(NAMES)})(
            rng.randint(5, 40)
        ),
        "{b} - 3 * {a}",
    ),
    _t(
        "eggs",
        "A farm has {a} hens. Each hen lays {b} eggs a week. The farmer sells eggs in cartons of 12. "
        "How many full cartons does the farm fill in {c} weeks?",
        lambda d, rng: (lambda a, b, c: {"a": a, "b": b, "c": c})(
            rng.choice([12, 24, 36]), rng.randint(2, 6), rng.randint(1, 4)
        ),
        "{a} * {b} * {c} / 12",
    ),
    _t(
        "garden",
        "A rectangular garden is {a} feet long and {b} feet wide. {name} wants to put a fence around it. "
        "How many feet of fence does {name} need?",
        _r(a=(5, 60), b=(3, 40)),
        "2 * ({a} + {b})",
    ),
]
