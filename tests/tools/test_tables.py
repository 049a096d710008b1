"""LoadDB / FilterDB / GetValue on tiny official-layout tables."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from seer.tools import Corpus, ToolError, ToolSession
from seer.tools.tables import MAX_VALUES

from .conftest import FLIGHT_COLUMNS, write_corpus


def test_load_db_message_lists_the_columns(tiny_corpus: Corpus) -> None:
    session = ToolSession(tiny_corpus)
    reply = session.call("LoadDB", {"target_db": "flights"})
    assert reply == (
        "We have successfully loaded the flights database, including the following columns: "
        + ", ".join(FLIGHT_COLUMNS)
        + "."
    )
    assert session.call("LoadDB", {"target_db": "flight"}).startswith(
        "We have successfully loaded the flights"
    )


def test_the_official_demo_chain(tiny_corpus: Corpus) -> None:
    session = ToolSession(tiny_corpus)
    session.call("LoadDB", {"target_db": "flights"})
    condition = "Flight_Number_Marketing_Airline=1575, FlightDate=2022-01-12, Origin=ATL, Dest=MCO"
    assert (
        session.call("FilterDB", {"condition": condition})
        == "We have successfully filtered the data (1 rows)."
    )
    assert session.call("GetValue", {"column": "DepDelay"}) == "-7.0"
    assert session.call("GetValue", {"column": "ArrDelay"}) == "-17.0"
    assert session.call("GetValue", {"column": "CRSDepTime"}) == "1505"
    assert session.call("GetValue", {"column": "Cancelled"}) == "False"


def test_values_render_like_pandas_astype_str(tiny_corpus: Corpus) -> None:
    session = ToolSession(tiny_corpus)
    session.call("LoadDB", {"target_db": "flights"})
    session.call("FilterDB", {"condition": "Cancelled=True"})
    assert session.call("GetValue", {"column": "DepTime"}) == "nan"
    assert session.call("GetValue", {"column": "Tail_Number"}) == "nan"
    session.call("LoadDB", {"target_db": "airbnb"})
    assert session.call("GetValue", {"column": "price"}) == "$966 , $1,060 , $142 "
    assert session.call("GetValue", {"column": "instant_bookable"}) == "nan, False, False"
    assert session.call("GetValue", {"column": "host id"}) == "80014485718, 80014485719, 80014485720"
    session.call("LoadDB", {"target_db": "yelp"})
    session.call("FilterDB", {"condition": "postal_code=93101"})
    assert session.call("GetValue", {"column": "hours"}) == "None"
    assert session.call("GetValue", {"column": "attributes"}) == "{'ByAppointmentOnly': 'True'}"
    assert session.call("GetValue", {"column": "stars"}) == "5.0"
    assert session.call("GetValue", {"column": "categories"}) == "Doctors, Traditional Chinese Medicine"


def test_filter_values_with_commas_and_spaces(tiny_corpus: Corpus) -> None:
    session = ToolSession(tiny_corpus)
    session.call("LoadDB", {"target_db": "airbnb"})
    assert (
        session.call("FilterDB", {"condition": "price=$1,060"})
        == "We have successfully filtered the data (1 rows)."
    )
    assert session.call("GetValue", {"column": "NAME"}) == "Skylit Midtown Castle"
    session.call("LoadDB", {"target_db": "yelp"})
    reply = session.call("FilterDB", {"condition": "address=1616 Chapala St, Ste 2, city = 'Santa Barbara'"})
    assert reply == "We have successfully filtered the data (1 rows)."


def test_successive_filters_and_operators(tiny_corpus: Corpus) -> None:
    session = ToolSession(tiny_corpus)
    session.call("LoadDB", {"target_db": "coffee"})
    assert session.call("FilterDB", {"condition": "Date>=2000-01-04"}).endswith("(3 rows).")
    assert session.call("FilterDB", {"condition": "Date<2000-01-06"}).endswith("(2 rows).")
    assert session.call("GetValue", {"column": "Open"}) == "116.25, 115.0"
    assert session.call("FilterDB", {"condition": "Open!=115.0"}).endswith("(1 rows).")
    assert session.call("GetValue", {"column": "Volume"}) == "5492"


def test_values_compare_as_text_like_toolqa(tiny_corpus: Corpus) -> None:
    session = ToolSession(tiny_corpus)
    session.call("LoadDB", {"target_db": "coffee"})
    # "116.5" > "1000" as text (pandas compared the astype(str) strings)
    assert session.call("FilterDB", {"condition": "Close>1000"}).endswith("(4 rows).")


def test_zero_rows_restores_the_table_before_the_call(tiny_corpus: Corpus) -> None:
    session = ToolSession(tiny_corpus)
    session.call("LoadDB", {"target_db": "coffee"})
    session.call("FilterDB", {"condition": "Date<=2000-01-05"})
    reply = session.call("FilterDB", {"condition": "Volume=5492, Date=2099-01-01"})
    assert reply.startswith("The filtering query Date=2099-01-01 is incorrect.")
    assert session.call("GetValue", {"column": "Volume"}) == "6640, 5492, 6165"


def test_unknown_column_names_it_and_lists_valid_ones(tiny_corpus: Corpus) -> None:
    session = ToolSession(tiny_corpus)
    session.call("LoadDB", {"target_db": "coffee"})
    with pytest.raises(
        ToolError, match=r"'Price' does not exist .* Date, Open, High, Low, Close, Volume, Currency"
    ):
        session.call("FilterDB", {"condition": "Price>1"})
    with pytest.raises(ToolError, match="'Opening'"):
        session.call("GetValue", {"column": "Opening"})
    with pytest.raises(ToolError, match="Could not understand"):
        session.call("FilterDB", {"condition": "Date 2000-01-03"})


def test_column_names_with_spaces_accept_both_spellings(tiny_corpus: Corpus) -> None:
    session = ToolSession(tiny_corpus)
    session.call("LoadDB", {"target_db": "airbnb"})
    session.call("FilterDB", {"condition": "host_id=80014485719"})
    assert session.call("GetValue", {"column": "room type"}) == "Private room"


def test_needs_load_db_first_and_valid_names(tiny_corpus: Corpus) -> None:
    session = ToolSession(tiny_corpus)
    with pytest.raises(ToolError, match="LoadDB"):
        session.call("FilterDB", {"condition": "Date=2000-01-03"})
    with pytest.raises(ToolError, match="LoadDB"):
        session.call("GetValue", {"column": "Open"})
    with pytest.raises(ToolError, match="Valid databases: flights, coffee, airbnb, yelp"):
        session.call("LoadDB", {"target_db": "weather"})


def test_too_many_values_are_refused(tmp_path: Path) -> None:
    root = tmp_path / "ec"
    (root / "coffee").mkdir(parents=True)
    rows = [f"2001-01-{i % 28 + 1:02d},{i}.5,1,1,1,{i},USD" for i in range(MAX_VALUES + 5)]
    (root / "coffee" / "coffee_price.csv").write_text(
        "Date,Open,High,Low,Close,Volume,Currency\n" + "\n".join(rows)
    )
    session = ToolSession(Corpus(root, tmp_path / "cache"))
    session.call("LoadDB", {"target_db": "coffee"})
    with pytest.raises(ToolError, match=r"Too Many Values to Display \(126 rows"):
        session.call("GetValue", {"column": "Open"})
    session.call("FilterDB", {"condition": "Date=2001-01-01"})
    assert session.call("GetValue", {"column": "Volume"}) == "0, 28, 56, 84, 112"


def test_sessions_on_one_corpus_are_isolated(tiny_corpus: Corpus) -> None:
    first, second = ToolSession(tiny_corpus), ToolSession(tiny_corpus)
    first.call("LoadDB", {"target_db": "coffee"})
    second.call("LoadDB", {"target_db": "coffee"})
    first.call("FilterDB", {"condition": "Date=2000-01-03"})
    second.call("FilterDB", {"condition": "Date=2000-01-06"})
    assert first.call("GetValue", {"column": "Open"}) == "122.25"
    assert second.call("GetValue", {"column": "Open"}) == "119.0"
    second.call("LoadDB", {"target_db": "flights"})
    assert first.call("GetValue", {"column": "Close"}) == "116.5"


def test_cache_file_is_built_once_and_reused(tmp_path: Path) -> None:
    root = write_corpus(tmp_path / "ec")
    cache = tmp_path / "cache"
    ToolSession(Corpus(root, cache)).call("LoadDB", {"target_db": "coffee"})
    (built,) = cache.glob("coffee-*.duckdb")
    stamp = built.stat().st_mtime_ns
    session = ToolSession(Corpus(root, cache))
    session.call("LoadDB", {"target_db": "coffee"})
    assert list(cache.glob("coffee-*.duckdb")) == [built] and built.stat().st_mtime_ns == stamp
    assert not list(cache.glob(".*.tmp")) and not list((cache / "hubs").iterdir())
    csv = root / "coffee" / "coffee_price.csv"
    csv.write_text(csv.read_text() + "2000-01-07,1,1,1,1,1,USD\n")
    ToolSession(Corpus(root, cache)).call("LoadDB", {"target_db": "coffee"})
    assert len(list(cache.glob("coffee-*.duckdb"))) == 2


def test_missing_domain_names_the_file(tmp_path: Path) -> None:
    corpus = Corpus(tmp_path / "empty", tmp_path / "cache")
    with pytest.raises(
        ToolError, match=r"flights/Combined_Flights_2022.csv is missing under the corpus directory"
    ):
        ToolSession(corpus).call("LoadDB", {"target_db": "flights"})
    status = corpus.domains()
    assert not status["yelp"].available
    assert "yelp/yelp_academic_dataset_business.json" in status["yelp"].detail
    assert status["gsm8k"].available
    assert not Corpus(None, tmp_path / "c2").domains()["coffee"].available


def test_concurrent_sessions_share_one_lazy_build(tmp_path: Path) -> None:
    corpus = Corpus(write_corpus(tmp_path / "ec"), tmp_path / "cache")
    dates = ["2000-01-03", "2000-01-04", "2000-01-05", "2000-01-06"] * 4
    domains = ["coffee", "flights", "airbnb", "yelp"] * 4

    def work(i: int) -> tuple[str, str]:
        session = ToolSession(corpus)
        session.call("LoadDB", {"target_db": domains[i]})  # builds and re-opens the hub concurrently
        session.call("LoadDB", {"target_db": "coffee"})
        session.call("FilterDB", {"condition": f"Date={dates[i]}"})
        return dates[i], session.call("GetValue", {"column": "Date"})

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(work, range(len(dates))))
    assert all(expected == got for expected, got in results)
    assert len(list((tmp_path / "cache").glob("*.duckdb"))) == 4
    corpus.close()
