"""In-memory mirror of a pool for fast recall: vector matrices, coded columns and optional ANN indexes.

Rows live in slots ordered by seq. Strings used by recall (intent, template, source task, tools, recorder,
judge) are interned to integer codes so each score term and filter is one vectorised numpy expression.
Held and quarantined experiences stay in the mirror (dedup and capacity see them) but are not `active`, so
recall never returns them. Removal marks a slot dead; `compact` drops dead slots.
The vectors are `seer.pool.vectors.VectorColumn`s: the slots of the pool's vector copy are memory-mapped
(`rebase`), only the rows written since live in memory. Mapped slots never move (dead ones among them stay
until the copy is rewritten), so `compact` drops the dead slots after them.
Above the pool's `ann_threshold` rows, `seer.pool.ann.AnnIndex` supplies candidates that recall re-scores
exactly.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from seer.pool.vectors import VectorColumn

COLUMNS = ("query", "trajectory")


@dataclass
class Vocab:
    """String ↔ dense integer code."""

    codes: dict[str, int] = field(default_factory=dict)
    names: list[str] = field(default_factory=list)

    def code(self, name: str) -> int:
        found = self.codes.get(name)
        if found is None:
            found = self.codes[name] = len(self.names)
            self.names.append(name)
        return found

    def get(self, name: str | None) -> int:
        return -1 if name is None else self.codes.get(name, -1)

    def codes_of(self, names: Sequence[str]) -> np.ndarray:
        """Codes of many names at once (unknown ones interned in order of first appearance)."""
        codes = self.codes
        fresh = [x for x in dict.fromkeys(names) if x not in codes]
        if fresh:
            codes.update(zip(fresh, range(len(self.names), len(self.names) + len(fresh)), strict=True))
            self.names.extend(fresh)
        return np.fromiter(map(codes.__getitem__, names), np.int32, count=len(names))


class Mirror:
    """Column arrays of all live experiences (capacity-doubling buffers; vectors mapped or in a tail)."""

    def __init__(self, dim: int) -> None:
        self.dim = dim
        self.n = 0
        self._live = 0
        self.copies = 0  # times the per-slot arrays grew with rows in them (each a copy of those rows)
        self.vec = {c: VectorColumn(dim) for c in COLUMNS}
        self.intents = Vocab()
        self.templates = Vocab()
        self.tasks = Vocab()
        self.tools = Vocab()
        self.recorders = Vocab()
        self.judges = Vocab()
        self.ids: list[str] = []
        self.slot_of_id: dict[str, int] = {}
        self._alloc(0)

    def _alloc(self, cap: int) -> None:
        self.cap = cap
        self.seq = np.zeros(cap, np.int64)
        self.intent = np.zeros(cap, np.int32)
        self.template = np.zeros(cap, np.int32)
        self.task = np.zeros(cap, np.int32)
        self.tokens = np.zeros(cap, np.int32)
        self.seed = np.zeros(cap, bool)
        self.alive = np.zeros(cap, bool)
        self.active = np.zeros(cap, bool)  # status "active": the only ones recall returns
        self.recorder = np.zeros(cap, np.int32)
        self.judge = np.zeros(cap, np.int32)
        self.masks = np.zeros((cap, 1), np.uint64)
        self.task_hash = np.zeros(cap, np.uint64)  # DuckDB hash(norm_task): dedup without a table scan

    def _columns(self) -> tuple[np.ndarray, ...]:
        """The one-dimensional per-slot arrays (all but the vectors and tool masks)."""
        return (self.seq, self.intent, self.template, self.task, self.tokens, self.seed, self.alive,
                self.active, self.recorder, self.judge, self.task_hash)

    @property
    def frozen(self) -> int:
        """Slots whose vectors are mapped from the pool's vector copy (they never move)."""
        return self.vec[COLUMNS[0]].frozen

    def reserve(self, n: int) -> None:
        """Pre-size the buffers for n rows (avoids doubling copies on load)."""
        if n > self.cap:
            self._grow(n, exact=True)
        for column in self.vec.values():
            column.reserve(n, self.n)

    def copies_made(self) -> int:
        """Growth copies so far (per-slot arrays and vector tails)."""
        return self.copies + sum(c.copies for c in self.vec.values())

    def _grow(self, need: int, exact: bool = False) -> None:
        if need <= self.cap:
            return
        cap = need if exact else max(need, self.cap * 2, 1024)
        old_columns, old_masks = self._columns(), self.masks
        self._alloc(cap)
        self.masks = np.zeros((cap, old_masks.shape[1]), np.uint64)
        n = self.n
        self.copies += n > 0
        for new, old in zip(self._columns(), old_columns, strict=True):
            new[:n] = old[:n]
        self.masks[:n] = old_masks[:n]

    def tool_mask(self, tools: list[str] | set[str], *, add: bool) -> np.ndarray:
        """Bitmask (W uint64 words) of a set of tool names; unknown tools are interned when `add`."""
        bits = [self.tools.code(t) if add else self.tools.get(t) for t in set(tools)]
        width = max(self.masks.shape[1], (max(bits, default=0) // 64) + 1)
        if width > self.masks.shape[1]:
            grown = np.zeros((self.cap, width), np.uint64)
            grown[:, : self.masks.shape[1]] = self.masks
            self.masks = grown
        mask = np.zeros(width, np.uint64)
        for bit in bits:
            if bit >= 0:
                mask[bit // 64] |= np.uint64(1) << np.uint64(bit % 64)
        return mask

    def append(self, cols: dict[str, Any]) -> np.ndarray:
        """Append rows (seq, id, intent, tool_chain (JSON text or list), template, source_task_id, tokens,
        task_hash, seed, recorder, judge, active, query/trajectory matrices); returns their slots."""
        m = len(cols["seq"])
        start = self.n
        self._grow(start + m)
        for c in COLUMNS:
            self.vec[c].put(start, cols[c], start)
        self._write(slice(start, start + m), cols)
        idents = list(map(str, cols["id"]))
        self.ids.extend(idents)
        self.slot_of_id.update(zip(idents, range(start, start + m), strict=True))
        self.n = start + m
        self._live += m
        return np.arange(start, start + m)

    def _write(self, sl: slice | np.ndarray, cols: dict[str, Any]) -> None:
        """The per-slot columns (all but ids and vectors) of the rows at ``sl``; the slots become alive."""
        coded = {key: cols[key] for key in ("seq", "tokens", "task_hash")}
        names: dict[str, list[Any]] = {}
        keys = [c if isinstance(c, str) else json.dumps(sorted(set(c))) for c in cols["tool_chain"]]
        for column, values in (("intent", list(cols["intent"])), ("template", list(cols["template"])),
                               ("source_task_id", list(cols["source_task_id"])), ("tool_chain", keys),
                               ("recorder", list(cols["recorder"])), ("judge_kind", list(cols["judge"]))):
            local = Vocab()
            coded[column] = local.codes_of(values)
            names[column] = local.names
        coded["names"] = names
        self.write_coded(sl, coded, seed=np.asarray(cols["seed"], bool),
                         active=np.asarray(cols["active"], bool))

    def write_coded(self, sl: slice | np.ndarray, coded: dict[str, Any], *, seed: np.ndarray | None = None,
                    active: np.ndarray | None = None) -> None:
        """The per-slot columns of the rows at ``sl`` from `PoolStore.load_coded`'s form (string columns as
        codes into ``coded["names"]``), translated into this mirror's vocabularies; the slots become alive.
        ``seed``/``active`` override what judge_kind == "seed" / status == "active" would say."""
        names = coded["names"]
        self.seq[sl] = coded["seq"]
        self.tokens[sl] = coded["tokens"]
        self.task_hash[sl] = coded["task_hash"]

        def translate(column: str, vocab: Vocab, text: bool = False) -> np.ndarray:
            distinct = [str(n) for n in names[column]] if text else names[column]
            return vocab.codes_of(distinct)[coded[column]] if distinct else np.zeros(0, np.int32)

        self.intent[sl] = translate("intent", self.intents)
        self.template[sl] = translate("template", self.templates)
        tasks = names["source_task_id"]
        task_codes = np.full(len(tasks), -1, np.int32)
        named = [i for i, t in enumerate(tasks) if t is not None]
        task_codes[named] = self.tasks.codes_of([tasks[i] for i in named])
        self.task[sl] = task_codes[coded["source_task_id"]]
        self.recorder[sl] = translate("recorder", self.recorders, text=True)
        self.judge[sl] = translate("judge_kind", self.judges, text=True)
        judge_names = np.asarray(names["judge_kind"], dtype=object)
        self.seed[sl] = seed if seed is not None else (judge_names == "seed")[coded["judge_kind"]]
        if active is None:
            active = (np.asarray(names["status"], dtype=object) == "active")[coded["status"]]
        self.active[sl] = active
        self.alive[sl] = True
        # tool sets: one bitmask per distinct chain (JSON text), then one vectorised assignment
        distinct = [self.tool_mask(set(json.loads(k)), add=True) for k in names["tool_chain"]]
        width = self.masks.shape[1]
        table = np.zeros((len(distinct), width), np.uint64)
        for i, mask in enumerate(distinct):
            table[i, : len(mask)] = mask
        self.masks[sl] = table[coded["tool_chain"]] if len(distinct) else 0

    def append_stored(self, cols: dict[str, Any]) -> np.ndarray:
        """Append a batch in the store's column form (`PoolStore.load_mirror`, `insert_columns`,
        `stored_columns`: tool_chain as JSON text, judge_kind, recorder, status, *_embedding matrices);
        returns the slots."""
        return self.append(_from_stored(cols))

    # ------------------------------------------------------------- the mapped copy
    def open_copy(self, seqs: np.ndarray, mapped: dict[str, np.ndarray]) -> None:
        """Start an empty mirror from the pool's vector copy: one dead slot per copied row (``seqs``), its
        vectors mapped; `fill` then brings the rows still in the pool to life."""
        if self.n:
            raise ValueError("open_copy needs an empty mirror")
        count = len(seqs)
        self._grow(count, exact=True)
        self.seq[:count] = seqs
        self.n = count
        self.ids = [""] * count
        self.rebase(mapped)

    def fill(self, slots: np.ndarray, coded: dict[str, Any]) -> None:
        """The stored columns of rows at dead slots of the copy, in `PoolStore.load_coded`'s form (vectors
        not needed)."""
        if len(slots) == 0:
            return
        self.write_coded(slots, coded)
        idents = coded["id"].tolist()
        first, last = int(slots[0]), int(slots[-1])
        if last - first == len(slots) - 1:
            self.ids[first: last + 1] = idents
        else:
            for slot, ident in zip(slots.tolist(), idents, strict=True):
                self.ids[slot] = ident
        self.slot_of_id.update(zip(idents, slots.tolist(), strict=True))
        self._live += len(slots)

    def rebase(self, mapped: dict[str, np.ndarray]) -> None:
        """Map the first rows of every vector column from the copy (its rows are these slots' vectors)."""
        for c in COLUMNS:
            self.vec[c].rebase(mapped[c], self.n)

    def dot(self, column: str, sel: slice | np.ndarray, vector: np.ndarray) -> np.ndarray:
        """``vectors[sel] @ vector`` for one column (a full scan multiplies the mapped rows in place)."""
        return self.vec[column].dot(sel, vector)


    def remove(self, slots: list[int]) -> None:
        for slot in slots:
            if self.alive[slot]:
                self.alive[slot] = False
                self._live -= 1
            self.active[slot] = False
            self.slot_of_id.pop(self.ids[slot], None)

    def set_active(self, ids: Sequence[str], active: bool) -> None:
        """Mark experiences recallable (status active) or not (held, quarantined)."""
        slots = [self.slot_of_id[i] for i in ids if i in self.slot_of_id]
        self.active[slots] = active

    @property
    def live(self) -> int:
        """Number of live rows (O(1))."""
        return self._live

    def slots_of_seqs(self, seqs: np.ndarray) -> np.ndarray:
        """Slots of seqs (seqs are sorted ascending in the mirror)."""
        pos = np.searchsorted(self.seq[: self.n], seqs)
        pos = np.clip(pos, 0, max(self.n - 1, 0))
        ok = self.seq[pos] == seqs
        return pos[ok]

    def compactable(self) -> bool:
        """Whether a quarter or more of the slots after the mapped ones are dead (and there are many)."""
        frozen, n = self.frozen, self.n
        return n - frozen > 1024 and int(self.alive[frozen:n].sum()) < (n - frozen) * 0.75

    def compact(self, *, full: bool = False) -> None:
        """Drop dead slots after the mapped ones (keeps seq order); ``full``: every dead slot, bringing the
        mapped vectors into memory first (the copy is then rewritten from the mirror)."""
        if full:
            for column in self.vec.values():
                column.thaw(self.n)
        frozen, n = self.frozen, self.n
        tail = frozen + np.flatnonzero(self.alive[frozen:n])
        if len(tail) == n - frozen:
            return
        keep = np.concatenate([np.arange(frozen), tail])
        for c in COLUMNS:
            self.vec[c].compact_tail(tail)
        for arr in self._columns():
            arr[: len(keep)] = arr[keep]
        self.masks[: len(keep)] = self.masks[keep]
        self.ids[frozen:] = [self.ids[i] for i in tail]
        self.slot_of_id.update(zip(self.ids[frozen:], range(frozen, len(keep)), strict=True))
        self.n = len(keep)
        self.alive[self.n :] = False
        self.active[self.n :] = False

def stored_columns(rows: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Stored rows (dicts with seq and task_hash) as the column batch `Mirror.append_stored` takes."""
    return {
        "seq": np.array([r["seq"] for r in rows], np.int64),
        "id": [r["id"] for r in rows],
        "intent": [r["intent"] for r in rows],
        "tool_chain": [r["tool_chain"] for r in rows],
        "template": [r["template"] for r in rows],
        "source_task_id": [r["source_task_id"] for r in rows],
        "tokens": np.array([r["tokens"] for r in rows]),
        "task_hash": np.array([r["task_hash"] for r in rows], np.uint64),
        "judge_kind": [r["judge_kind"] for r in rows],
        "recorder": [r["recorder"] for r in rows],
        "status": [r["status"] for r in rows],
        "query_embedding": np.stack([r["query_embedding"] for r in rows]),
        "trajectory_embedding": np.stack([r["trajectory_embedding"] for r in rows]),
    }


def _from_stored(cols: dict[str, Any]) -> dict[str, Any]:
    """The store's column form (`PoolStore.load_mirror`) as `Mirror.append` takes it."""
    judges = np.asarray(cols["judge_kind"], dtype=object)
    return {
        "seq": cols["seq"],
        "id": cols["id"],
        "intent": cols["intent"],
        "tool_chain": cols["tool_chain"],
        "template": cols["template"],
        "source_task_id": cols["source_task_id"],
        "tokens": cols["tokens"],
        "task_hash": cols["task_hash"],
        "seed": judges == "seed",
        "judge": judges,
        "recorder": cols["recorder"],
        "active": np.asarray(cols["status"], dtype=object) == "active",
        "query": cols["query_embedding"],
        "trajectory": cols["trajectory_embedding"],
    }
