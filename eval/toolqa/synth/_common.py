"""Helpers shared by the domain generators."""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

EARTH_KM = 6371.0088


def pyfloat(x: float) -> str:
    """``str(float)`` — how pandas-loaded numbers print in the ToolQA notebooks."""
    return str(float(x))


def hhmm(x: float) -> str:
    """ToolQA quirk: HHMM floats become ``str(int(x))[:-2] + ":" + [-2:]`` (so 5 -> ":5")."""
    s = str(int(float(x)))
    return s[:-2] + ":" + s[-2:]


def near_half(x: float, digits: int) -> bool:
    """True when ``x`` sits so close to a rounding boundary that float noise could flip it."""
    scaled = abs(x) * 10**digits
    return abs(scaled - math.floor(scaled) - 0.5) < 1e-6


def box_5km(lat: float, lon: float, km: float = 5.0) -> tuple[float, float, float, float]:
    """(lat_min, lat_max, lon_min, lon_max) of the points ``km`` N/S/E/W on a sphere.

    ToolQA quirk: the notebooks call this box a "5-mile radius" although it is 5 km (geopy).
    """
    d = km / EARTH_KM
    la = math.radians(lat)
    lat_max = math.degrees(la + d)
    lat_min = math.degrees(la - d)
    dlon = math.degrees(math.atan2(math.sin(d) * math.cos(la), math.cos(d) - math.sin(la) ** 2))
    return lat_min, lat_max, lon - dlon, lon + dlon


def in_box(lat: float, lon: float, box: tuple[float, float, float, float]) -> bool:
    return box[0] <= lat <= box[1] and box[2] <= lon <= box[3]


def near_box_edge(lat: float, lon: float, box: tuple[float, float, float, float], eps: float = 1e-6) -> bool:
    return min(abs(lat - box[0]), abs(lat - box[1]), abs(lon - box[2]), abs(lon - box[3])) < eps


def write_csv(path: Path, header: Sequence[str], rows: Iterable[Sequence[Any]]) -> int:
    path.parent.mkdir(parents=True, exist_ok=True)
    n = 0
    with path.open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(header)
        for row in rows:
            w.writerow(row)
            n += 1
    return n


def write_jsonl(path: Path, records: Iterable[dict[str, Any]]) -> int:
    path.parent.mkdir(parents=True, exist_ok=True)
    n = 0
    with path.open("w", encoding="utf-8") as fh:
        for rec in records:
            fh.write(json.dumps(rec, ensure_ascii=False) + "\n")
            n += 1
    return n


def sql_str(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def num(col: str) -> str:
    """SQL expression reading a column as DOUBLE whether the tool typed it or kept strings."""
    return f"TRY_CAST({col} AS DOUBLE)"
