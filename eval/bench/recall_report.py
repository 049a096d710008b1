"""The recall benchmark's result as tables (title, header, rows of text): for the console and Markdown."""

from __future__ import annotations

from typing import Any

from seer.pool.ann import AnnSettings

Table = tuple[str, list[str], list[list[str]]]


def _ms(cell: dict[str, float] | None, key: str = "p50") -> str:
    if not cell or cell.get(key) is None:
        return ""
    value = float(cell[key])
    return f"{value:,.1f}" if value >= 10 else f"{value:.2f}"


def _pair(cell: dict[str, float] | None) -> str:
    return f"{_ms(cell)} / {_ms(cell, 'p99')}" if cell else ""


def _num(value: Any, digits: int = 1) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:,.{digits}f}"
    return f"{value:,}"


def _path(row: dict[str, Any]) -> str:
    """The shipped path of a size with its candidate budget (results before settings existed: factor 25)."""
    if not row["ann"]:
        return "exact"
    ann = row.get("ann_settings")
    if ann is None:  # before AnnSettings: factor 25, the search beam fixed at 64
        return "ANN (factor 25, expansion 64)"
    factor = AnnSettings(candidate_factor=ann["candidate_factor"]).factor(row["n"])  # None: by size
    count = max(factor * row.get("k", 4), 64)
    return f"ANN (factor {factor}, expansion {max(ann['expansion_search'], count)})"


def latency_table(result: dict[str, Any]) -> Table:
    """Recall latency per size: the shipped path with its recall@k, the exact path, numpy's scan, the port."""
    k = result["setup"]["k"]
    header = ["n", "path", "shipped p50 / p99 ms", f"recall@{k}", "exact p50 / p99 ms",
              "numpy f32 scan p50 ms", "reference port p50 ms", "port ÷ exact", "port ÷ shipped"]
    rows = []
    for r in result["sizes"]:
        rows.append([f"{r['n']:,}", _path(r), _pair(r["default"]),
                     f"{r['recall_at_k']:.2f}", _pair(r["exact"]), _ms(r["numpy"]), _ms(r.get("reference")),
                     _num(r.get("speedup_vs_exact")), _num(r.get("speedup"))])
    for r in result.get("scan_only", []):
        rows.append([f"{r['n']:,}", "scan only", "", "", _pair(r["exact_scan"]), _ms(r["numpy"]), "", "", ""])
    for r in result.get("skipped", []):
        rows.append([f"{r['n']:,}", f"skipped ({r['kind']})", r["reason"], "", "", "", "", "", ""])
    return (f"Recall in process (k={k}, hybrid, mid-task step, query embedding cached)", header, rows)


def sweep_table(result: dict[str, Any]) -> Table:
    """Exact vs approximate: each candidate factor's latency beside its recall@k."""
    k = result["setup"]["k"]
    header = ["n", "factor", "candidates per index", "p50 / p99 ms", f"recall@{k} mid-task",
              f"recall@{k} step 1", f"recall@{k} random vectors"]
    rows = []
    for r in result["sizes"]:
        for s in r.get("sweep", []):
            rows.append([f"{r['n']:,}", str(s["factor"]), f"{max(s['factor'] * k, 64):,}", _pair(s),
                         f"{s['recall_process']:.2f}", f"{s['recall_goal']:.2f}",
                         f"{s['recall_random']:.2f}"])
        if r.get("sweep"):
            rows.append([f"{r['n']:,}", "exact", "all", _pair(r["exact"]), "1.00", "1.00", "1.00"])
    return (f"ANN candidate factor: latency and recall@{k} against the exact answer", header, rows)


def time_table(result: dict[str, Any]) -> Table:
    """Where one recall's time goes, in process and over MCP."""
    emb = result["embedding"]
    one = emb.get("1") or next(iter(emb.values()), None)
    header = ["n", "load avg", "embed one text ms", "exact scan (texts cached) ms", "text fetch ms",
              "shipped, never-seen text p50 / p99 ms", "MCP never-seen p50 / p99 ms", "MCP repeated p50 ms",
              "MCP first call s"]
    rows = []
    for r in result["sizes"]:
        mcp = r.get("mcp") or {}
        load = r.get("load_avg") or []
        rows.append([f"{r['n']:,}", f"{load[0]:.1f}" if load else "", _ms(r.get("embed") or one),
                     _ms(r["exact_warm"]), _num(r["fetch_ms"], 2),
                     _pair(r["cold_default"]), _pair(mcp.get("recall")), _ms(mcp.get("recall_cached")),
                     _num(mcp.get("first_call_s"))])
    return ("Where a recall's time goes", header, rows)


def write_table(result: dict[str, Any]) -> Table:
    """Writes at size n and opening the file."""
    header = ["n", "bulk insert rows/s", "record/s (embedding inside)", "record/s (texts pre-embedded)",
              "record p50 ms (emb. / pre-emb.)", "MCP record/s (1 client)", "open s (persisted ANN)",
              "open s (ANN rebuilt)", "open peak RSS MB", "open RSS anon / file MB", "bytes / experience",
              "bench peak RSS MB", "opened from"]
    rows = []
    for r in result["sizes"]:
        mcp = r.get("mcp") or {}
        rows.append([f"{r['n']:,}", _num(r["insert_per_s"], 0), _num(r["record_cold"]["per_s"]),
                     _num(r["record_warm"]["per_s"]),
                     f"{_num(r['record_cold']['p50_ms'])} / {_num(r['record_warm']['p50_ms'])}",
                     _num(mcp.get("record_per_s"), 2), _num(r["open_persisted_ann_s"] or r["open_s"], 2),
                     _num(r["open_rebuild_ann_s"], 2), _num(r["open_rss_mb"], 0), _rss(r.get("open_rss")),
                     _num(r["bytes_per_experience"], 0), _num(r["peak_rss_mb"], 0),
                     r.get("opened_from", "database")])
    return ("Writes at size n, opening the file", header, rows)


def _rss(parts: dict[str, float] | None) -> str:
    return f"{_num(parts['anon'], 0)} / {_num(parts['file'], 0)}" if parts else ""


def embedding_table(result: dict[str, Any]) -> Table:
    """Embedding one text, per torch thread count."""
    rows = [[threads, _pair(cell)] for threads, cell in result["embedding"].items()]
    return (f"Query embedding, one text at a time ({result['setup']['embedder']})",
            ["torch threads", "p50 / p99 ms"], rows)


def tables(result: dict[str, Any]) -> list[Table]:
    """Every table of a result, in reading order; with a ``baseline`` result, its rows beside this run's
    (marked in the first column)."""
    makers = [latency_table, sweep_table, time_table, write_table, embedding_table]
    out = [make(result) for make in makers]
    base = result.get("baseline")
    if base is None:
        return out
    merged = []
    for (title, header, rows), (_, base_header, base_rows) in zip(out, (make(base) for make in makers),
                                                                    strict=True):
        if base_header != header:  # a column added since: leave the baseline's cells blank there
            base_rows = [[row[base_header.index(h)] if h in base_header else "" for h in header]
                         for row in base_rows]
        merged.append((title, header, rows + [[f"{row[0]} (baseline)", *row[1:]] for row in base_rows]))
    return merged


def markdown(result: dict[str, Any]) -> str:
    """All tables as Markdown."""
    out = []
    for title, header, rows in tables(result):
        out += [f"**{title}**", "", "| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        out += ["| " + " | ".join(row) + " |" for row in rows]
        out.append("")
    return "\n".join(out)
