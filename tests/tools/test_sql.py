"""SQLInterpreter: results like the original, and read-only by construction."""

from __future__ import annotations

from pathlib import Path

import pytest

from seer.tools import Corpus, ToolError, ToolSession
from seer.tools.sql import run_sql


def test_select_formats_rows_like_toolqa(tiny_corpus: Corpus) -> None:
    session = ToolSession(tiny_corpus)
    query = "SELECT Volume FROM coffee.coffee_data WHERE Date = '2000-01-04';"
    assert session.call("SQLInterpreter", {"query": query}) == "Volume: 5492"
    query = "SELECT Date, Close FROM coffee.coffee_data WHERE Close > 116.6 ORDER BY Date"
    assert run_sql(tiny_corpus, query) == "Date: 2000-01-05, Close: 118.6\nDate: 2000-01-06, Close: 116.85"


def test_reference_bare_table_names(tiny_corpus: Corpus) -> None:
    """The official SEER seeds query ``FROM coffee``: bare domain names (and ``flight``) work beside ours."""
    session = ToolSession(tiny_corpus)
    assert session.call("SQLInterpreter", {"query": "SELECT Volume FROM coffee WHERE Date='2000-01-04'"}) == (
        "Volume: 5492"
    )
    assert run_sql(tiny_corpus, "SELECT count(*) AS n FROM flight WHERE Cancelled") == "n: 1"
    assert run_sql(tiny_corpus, "SELECT count(*) AS n FROM flights WHERE Cancelled") == "n: 1"
    with pytest.raises(ToolError, match="coffees"):
        run_sql(tiny_corpus, "SELECT * FROM coffees")


def test_numbers_are_numeric_and_names_use_underscores(tiny_corpus: Corpus) -> None:
    assert run_sql(tiny_corpus, "SELECT avg(Open) AS a FROM coffee.coffee_data") == "a: 118.125"
    reply = run_sql(tiny_corpus, "SELECT NAME, latitude FROM airbnb.airbnb_data WHERE price = '$1,060 '")
    assert reply == "NAME: Skylit Midtown Castle, latitude: 40.64749"
    reply = run_sql(tiny_corpus, "SELECT count(*) AS n FROM flights.flights_data WHERE Cancelled")
    assert reply == "n: 1"
    reply = run_sql(
        tiny_corpus, "SELECT latitude, longitude FROM yelp.yelp_data WHERE address='1616 Chapala St, Ste 2'"
    )
    assert reply == "latitude: 34.4266787, longitude: -119.7111968"


def test_row_cap_and_empty_result(tiny_corpus: Corpus) -> None:
    reply = run_sql(tiny_corpus, "SELECT * FROM range(500)", max_rows=3)
    assert reply.splitlines()[:3] == ["range: 0", "range: 1", "range: 2"]
    assert "only the first 3 rows" in reply
    assert run_sql(tiny_corpus, "SELECT 1 WHERE false") == "The query returned no rows."
    long = ToolSession(tiny_corpus).call("SQLInterpreter", {"query": "SELECT repeat('x', 5000) AS s"})
    assert len(long) == 2048


@pytest.mark.parametrize(
    "query",
    [
        "CREATE TABLE t (a INT)",
        "CREATE TEMP TABLE t (a INT)",
        "INSERT INTO coffee.coffee_data SELECT * FROM coffee.coffee_data",
        "DELETE FROM coffee.coffee_data",
        "DROP TABLE coffee.coffee_data",
        "UPDATE coffee.coffee_data SET Open = 0",
        "DETACH coffee",
        "ATTACH '/tmp/x.duckdb' AS x",
        "COPY coffee.coffee_data TO '/tmp/seer-leak.csv'",
        "INSTALL httpfs",
        "LOAD httpfs",
        "SET enable_external_access = true",
        "PRAGMA version",
        "SELECT 1; DROP TABLE coffee.coffee_data",
    ],
)
def test_writes_and_statements_other_than_select_are_refused(tiny_corpus: Corpus, query: str) -> None:
    with pytest.raises(ToolError):
        run_sql(tiny_corpus, query)
    assert run_sql(tiny_corpus, "SELECT count(*) AS n FROM coffee.coffee_data") == "n: 4"


@pytest.mark.parametrize(
    "query",
    [
        "SELECT * FROM read_csv('/etc/passwd')",
        "SELECT * FROM read_text('/etc/hostname')",
        "SELECT * FROM 'https://example.com/x.csv'",
        "SELECT * FROM glob('/*')",
    ],
)
def test_the_database_itself_refuses_external_access(tiny_corpus: Corpus, query: str) -> None:
    with pytest.raises(ToolError, match="something wrong"):
        run_sql(tiny_corpus, query)


def test_hub_connection_is_read_only_even_without_the_statement_check(tiny_corpus: Corpus) -> None:
    tiny_corpus.table("coffee")
    for statement in (
        "CREATE TABLE coffee.t (a INT)",
        "INSERT INTO coffee.coffee_data SELECT * FROM coffee.coffee_data",
        "COPY (SELECT 1) TO '/tmp/seer-leak.csv'",
        "SET lock_configuration = false",
    ):
        with pytest.raises(Exception, match="(read-only|disabled|lock|Permission|Cannot)"):
            tiny_corpus.query(statement)
    assert not Path("/tmp/seer-leak.csv").exists()


def test_timeout_interrupts_the_query(tiny_corpus: Corpus) -> None:
    with pytest.raises(ToolError, match="time limit"):
        run_sql(tiny_corpus, "SELECT count(*) FROM range(100000000) a, range(100000000) b", timeout=0.3)


def test_sql_on_a_missing_domain(tmp_path: Path) -> None:
    corpus = Corpus(tmp_path / "none", tmp_path / "cache")
    with pytest.raises(ToolError, match="yelp corpus is not available"):
        run_sql(corpus, "SELECT * FROM yelp.yelp_data")
