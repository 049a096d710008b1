"""Tiny official-layout corpora written into tmp folders, and shared Corpus fixtures."""

from __future__ import annotations

import csv
import json
import pickle
from pathlib import Path

import networkx as nx
import pytest

from seer.eval.toolqa.synth import airbnb, flights
from seer.tools import Corpus

# the official layouts: Combined_Flights_2022.csv (in ToolQA's LoadDB order), Airbnb_Open_Data.csv
FLIGHT_COLUMNS = list(flights.COLUMNS)
AIRBNB_COLUMNS = list(airbnb.COLUMNS)


def _flight(**values: object) -> dict[str, object]:
    row: dict[str, object] = dict.fromkeys(FLIGHT_COLUMNS, "")
    row.update(Year=2022, Quarter=1, Month=1, DayOfWeek=3, DistanceGroup=2, DivAirportLandings=0)
    row.update(values)
    return row


DL = {"Airline": "Delta Air Lines Inc.", "IATA_Code_Marketing_Airline": "DL", "Origin": "ATL", "Dest": "MCO"}
FLIGHTS = [
    _flight(**DL, FlightDate="2022-01-12", Cancelled="False", Diverted="False", CRSDepTime=1505,
            DepTime="1458.0", DepDelay="-7.0", ArrTime="1625.0", ArrDelay="-17.0", AirTime="64.0",
            Distance="404.0", DayofMonth=12, Flight_Number_Marketing_Airline=1575, TaxiIn="5.0",
            CRSArrTime=1642),
    _flight(**DL, FlightDate="2022-01-12", Cancelled="True", Diverted="False", CRSDepTime=1900, DepTime="",
            DepDelay="", ArrTime="", ArrDelay="", AirTime="", Distance="404.0", DayofMonth=12,
            Flight_Number_Marketing_Airline=2000, TaxiIn="", CRSArrTime=2035),
    _flight(FlightDate="2022-01-13", Airline="Endeavor Air Inc.", Origin="BUF", Dest="PHL", Cancelled="False",
            Diverted="False", CRSDepTime=605, DepTime="601.0", DepDelay="-4.0", ArrTime="714.0",
            ArrDelay="-11.0", AirTime="51.0", Distance="279.0", DayofMonth=13,
            IATA_Code_Marketing_Airline="AA", Flight_Number_Marketing_Airline=5647, TaxiIn="7.0",
            CRSArrTime=725),
]  # fmt: skip
COFFEE = [
    ("2000-01-03", "122.25", "124.0", "116.1", "116.5", "6640", "USD"),
    ("2000-01-04", "116.25", "120.5", "115.75", "116.25", "5492", "USD"),
    ("2000-01-05", "115.0", "121.0", "115.0", "118.6", "6165", "USD"),
    ("2000-01-06", "119.0", "121.4", "116.5", "116.85", "5094", "USD"),
]
YELP = [
    {"business_id": "b1", "name": "Abby Rappoport, LAC, CMQ", "address": "1616 Chapala St, Ste 2",
     "city": "Santa Barbara", "state": "CA", "postal_code": "93101", "latitude": 34.4266787,
     "longitude": -119.7111968, "stars": 5.0, "review_count": 7, "is_open": 0,
     "attributes": {"ByAppointmentOnly": "True"}, "categories": "Doctors, Traditional Chinese Medicine",
     "hours": None},
    {"business_id": "b2", "name": "The UPS Store", "address": "87 Grasso Plaza Shopping Center",
     "city": "Affton", "state": "MO", "postal_code": "63123", "latitude": 38.551126, "longitude": -90.335695,
     "stars": 3.0, "review_count": 15, "is_open": 1, "attributes": {"BusinessAcceptsCreditCards": "True"},
     "categories": "Shipping Centers, Local Services", "hours": {"Monday": "0:0-0:0"}},
]  # fmt: skip
AGENDA = [
    "On January 29, 2022, there will be an opera performance at the Lyric Opera House, featuring Stephen.",
    "Amelia has a dentist appointment on 2022/03/04 from 9:00 AM to 10:00 AM at Bright Smiles Clinic.",
    "On 2022/05/10 Jessica attends a yoga class at Sunrise Studio from 6:00 PM to 7:00 PM.",
    "Carlos will go grocery shopping at Fresh Market on 2022/02/11 from 4:00 PM to 5:00 PM.",
]
PAPERS = {
    "p1": {"title": "HRFormer: High-Resolution Vision Transformer for Dense Predict.", "year": 2021,
           "venue": {"raw": "NeurIPS"}, "n_citation": 95, "keywords": [], "doc_type": "Conference",
           "page_start": "7281", "page_end": "7293"},
    "p2": {"title": "Learning the Principle of Least Action with Reinforcement Learning.", "year": 2021,
           "venue": {"raw": "AAAI Spring Symposium - MLPS"}, "n_citation": 0, "keywords": [],
           "doc_type": "Conference", "page_start": "", "page_end": ""},
}  # fmt: skip
AUTHORS = {"a1": "Chao Zhang", "a2": "Weihong Lin", "a3": "Jingdong Wang"}


def write_corpus(root: Path) -> Path:
    """Every domain in the official layout, tiny."""
    (root / "flights").mkdir(parents=True)
    with (root / "flights" / "Combined_Flights_2022.csv").open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=FLIGHT_COLUMNS)
        writer.writeheader()
        writer.writerows(FLIGHTS)
    (root / "coffee").mkdir()
    with (root / "coffee" / "coffee_price.csv").open("w", newline="") as fh:
        writer_ = csv.writer(fh)
        writer_.writerow(["Date", "Open", "High", "Low", "Close", "Volume", "Currency"])
        writer_.writerows(COFFEE)
    (root / "airbnb").mkdir()
    with (root / "airbnb" / "Airbnb_Open_Data.csv").open("w", newline="") as fh:
        writer_ = csv.writer(fh)
        writer_.writerow(AIRBNB_COLUMNS)
        listings = [
            ("Clean & quiet apt home by the park", "$966 "),
            ("Skylit Midtown Castle", "$1,060 "),
            ("THE VILLAGE OF HARLEM", "$142 "),
        ]
        for i, (name, price) in enumerate(listings):
            head = [str(1001254 + i), name, str(80014485718 + i), "unconfirmed", "Madaline", "Brooklyn"]
            place = ["Kensington", "40.64749", "-73.97237", "United States", "US", "FALSE" if i else ""]
            terms = ["strict", "Private room", "2020.0", price, "$193 ", "10.0", "9.0", "10/19/2021", "0.21"]
            writer_.writerow(head + place + terms + ["4.0", "6.0", "286.0", "", ""])
    (root / "yelp").mkdir()
    (root / "yelp" / "yelp_academic_dataset_business.json").write_text(
        "".join(json.dumps(b) + "\n" for b in YELP)
    )
    (root / "agenda").mkdir()
    (root / "agenda" / "agenda_descriptions_merged.jsonl").write_text(
        "".join(json.dumps({"event": e}) + "\n" for e in AGENDA)
    )
    (root / "scirex").mkdir()
    (root / "scirex" / "Preprocessed_Scirex.jsonl").write_text(
        json.dumps({"id": "scirex-0000", "content": "FRRN reaches 71.8 % IoU on the Cityscapes dataset ."})
        + "\n"
    )
    write_dblp(root / "dblp")
    return root


def write_dblp(folder: Path) -> None:
    """Six pickles shaped like the DBLP preprocessing output."""
    folder.mkdir(parents=True)
    paper_net = nx.DiGraph()
    for pid, attrs in PAPERS.items():
        paper_net.add_node(pid, **attrs)
    paper_net.add_edge("p1", "p2")
    author_net = nx.Graph()
    for aid, name in AUTHORS.items():
        author_net.add_node(aid, name=name, org="Peking University")
    author_net.add_edge("a1", "a2", weight=1, papers=["p1"], n_citation=[95])
    author_net.add_edge("a1", "a3", weight=1, papers=["p1"], n_citation=[95])
    objects = {
        "paper_net": paper_net,
        "author_net": author_net,
        "title2id_dict": {a["title"]: pid for pid, a in PAPERS.items()},
        "id2title_dict": {pid: a["title"] for pid, a in PAPERS.items()},
        "author2id_dict": {name: aid for aid, name in AUTHORS.items()},
        "id2author_dict": dict(AUTHORS),
    }
    for name, obj in objects.items():
        with (folder / f"{name}.pkl").open("wb") as fh:
            pickle.dump(obj, fh)


@pytest.fixture(scope="session")
def tiny_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_corpus(tmp_path_factory.mktemp("corpus") / "external_corpus")


@pytest.fixture(scope="session")
def tiny_corpus(tiny_root: Path, tmp_path_factory: pytest.TempPathFactory) -> Corpus:
    return Corpus(tiny_root, tmp_path_factory.mktemp("cache"))


@pytest.fixture(scope="session")
def real_tools_corpus(real_corpus: Path, tmp_path_factory: pytest.TempPathFactory) -> Corpus:
    return Corpus(real_corpus, tmp_path_factory.mktemp("real-cache"))
