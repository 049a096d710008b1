"""Start a memory method's benchmark run from a memory-free run of the same stream, as far as they agree.

Online, a method whose pool starts empty (BFCL and τ²-bench ship no seeds) recalls nothing until its
first recorded success, and the pool is frozen inside a batch; so up to and including the first batch
with a success, its episodes are the memory-free method's, token for token (greedy decoding, the same
prompts: an empty recall adds nothing). With a small model that rarely succeeds, that is most of the
run. :func:`fork` copies those batches from the source run into the new method's run folder — each task
marked ``copied_from``, the first successes left *buffered* so that ``--resume`` records them at the
batch end — and ``--resume`` then runs the rest for real.

Copied tasks carry the memory method's intent, which a benchmark run takes from the task (its domain:
BFCL's API classes, τ²'s domain) where react, which needs none, logs none: their records and the agent's
per-intent record (``open_below``) depend on it.

A success the pool refuses (e.g. τ²'s reward for a chat the customer ended before any call: "no successful
tool step to learn from") leaves the pool empty, so the batches after it are still the source's. Given
``record`` (a way to record one copied batch's successes, as ``--resume`` would), :func:`fork` records each
copied success batch and, when the method's log shows the pool still empty after it, copies on.

The premise is checked, not assumed: tasks that the new method already ran itself (at least one, e.g. its
first batch, unless ``unverified``) must equal the source's (answer, verdict, every call, prompt and
completion tokens), or the fork is refused.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from itertools import groupby
from pathlib import Path

from seer.eval.compare import STREAM_KEYS
from seer.eval.methods import definitions
from seer.eval.runlog import AnyLine, BatchLog, RecordLog, RunHeader, RunLog, TaskLog


class ForkError(ValueError):
    """The runs cannot be forked (not the same stream, a pool that does not start empty, a mismatch)."""


@dataclass(frozen=True)
class ForkResult:
    copied: int  # tasks written
    checked: int  # tasks the new method had run itself, found equal to the source's
    batches: list[int]  # batches copied (the last may be left to flush on resume)
    first_success: int | None  # the batch of the source's first success the pool may keep, if any
    pending: int | None = None  # a copied success batch not yet recorded (``--resume`` records it first)
    refused: tuple[int, ...] = ()  # success batches after which the method's pool was still empty


def _episode(t: TaskLog) -> tuple[object, ...]:
    return (t.answer, t.em, t.verdict.success, [(s.tool, s.arguments) for s in t.steps], t.prompt_tokens,
            t.completion_tokens)


def _header(path: Path) -> tuple[RunLog, RunHeader]:
    log = RunLog(path / "runlog.jsonl")
    header = log.header() if log.exists() else None
    if header is None:
        raise ForkError(f"{log.path}: no run log with a header")
    return log, header


def fork(src: Path, dst: Path, method: str, *, unverified: bool = False,
         record: Callable[[int], None] | None = None) -> ForkResult:
    """Copy the batches of the memory-free run in ``src`` that ``method`` must repeat exactly into the
    run folder ``dst`` (an existing run of ``method`` with the same stream, or created here). Unless
    ``unverified``, at least one of those tasks must have been run by ``method`` itself and found equal.
    ``record(batch)``: record that copied batch's successes in ``dst`` (as ``--resume`` does); a batch
    the pool refused entirely is then copied past."""
    result = _fork_once(src, dst, method, unverified)
    while record is not None and result.pending is not None:
        record(result.pending)
        more = _fork_once(src, dst, method, unverified)
        if more.pending == result.pending:
            raise ForkError(f"{dst}: batch {result.pending} was not recorded")
        batches = sorted({*result.batches, *more.batches})
        result = ForkResult(result.copied + more.copied, more.checked, batches, more.first_success,
                            more.pending, more.refused)
    return result


def _fork_once(src: Path, dst: Path, method: str, unverified: bool) -> ForkResult:
    src_log, src_header = _header(src)
    cfg = src_header.config
    if "bench" not in cfg:
        raise ForkError(f"{src}: only benchmark runs (bfcl, tau2) start from an empty pool; ToolQA runs "
                        "start from seed demonstrations")
    if cfg.get("protocol") != "online" or cfg.get("immediate"):
        raise ForkError(f"{src}: only online runs with batch-end recording can be forked")
    sources = [t for t in src_log.tasks() if t.phase == "online"]
    names = {t.method for t in sources}
    if len(names) != 1 or any(s.recalled is not None for t in sources for s in t.steps):
        raise ForkError(f"{src}: the source must be one memory-free method (react); found {sorted(names)}")
    if not sources:
        raise ForkError(f"{src}: no finished task to copy")
    src_method = names.pop()
    dst_log = RunLog(dst / "runlog.jsonl")
    lines: list[AnyLine] = []
    if dst_log.exists():
        _, dst_header = _header(dst)
        for key in STREAM_KEYS:
            if dst_header.config.get(key) != cfg.get(key):
                raise ForkError(f"{dst}: setting {key}={dst_header.config.get(key)!r} differs from {src}'s "
                                f"{cfg.get(key)!r}: not the same stream")
        if dst_header.config.get("methods") != [method]:
            raise ForkError(f"{dst}: a run of {dst_header.config.get('methods')}, not of [{method!r}]")
        lines = dst_log.read()
    own = {t.qid: t for t in lines if isinstance(t, TaskLog) and t.method == method}
    batch_logs = [b for b in lines if isinstance(b, BatchLog) and b.method == method and b.phase == "online"]
    flushed = {b.batch for b in batch_logs}
    still_empty = {b.batch for b in batch_logs if b.pool_size == 0}  # the pool kept none of its successes
    by_batch = [(b, list(ts)) for b, ts in groupby(sources, key=lambda t: t.batch)]
    done_batches = [b for b, _ in by_batch][:-1]
    if cfg.get("limit") is not None and len(sources) >= int(cfg["limit"]):
        done_batches.append(by_batch[-1][0])  # the source run is complete: so is its last batch
    successes = [b for b, ts in by_batch if any(t.verdict.success for t in ts)]
    refused = tuple(b for b in successes if b in still_empty)
    first_success = next((b for b in successes if b not in still_empty), None)
    plan = [(b, ts) for b, ts in by_batch
            if b in done_batches and (first_success is None or b <= first_success)]
    checked = 0
    for batch, tasks in plan:
        for t in tasks:
            if t.qid in own:
                if own[t.qid].copied_from is not None:
                    continue  # copied by an earlier fork: nothing to check
                if _episode(own[t.qid]) != _episode(t):
                    raise ForkError(f"{dst}: task {t.qid} (batch {batch}) differs from {src}'s: the episodes "
                                    "are not identical on this machine and model, so nothing can be copied")
                checked += 1
    mislabelled = [t.qid for t in own.values() if (t.intent, t.intent_source) != (t.domain, "gold")]
    if mislabelled:  # copies are labelled like a benchmark run's memory methods: the gold intent (the domain)
        raise ForkError(f"{dst}: task {mislabelled[0]} of {method} is not labelled with its gold intent "
                        "(its domain), so the intents of copied tasks are unknown")
    if checked == 0 and not unverified:
        raise ForkError(f"{dst}: {method} has not run any of these tasks itself, so nothing shows that its "
                        "episodes equal the source's here; run its first batch (--until-batch 1) first, or "
                        "pass --unverified")
    if not dst_log.exists():
        dst_log.append(RunHeader(run=dst.name, config=cfg | {"run": dst.name, "methods": [method]},
                                 seer_version=src_header.seer_version,
                                 definitions=definitions([method], int(cfg.get("k") or 4))))
    copied = 0
    for batch, tasks in plan:
        for t in tasks:
            if t.qid in own:
                continue
            record = (RecordLog(status="buffered", reason="recorded at the batch end") if t.verdict.success
                      else RecordLog(status="skipped", reason=f"judged unsuccessful ({t.verdict.kind})"))
            dst_log.append(t.model_copy(update={
                "method": method, "record": record, "copied_from": f"{src_header.run}:{src_method}",
                "intent": t.domain, "intent_source": "gold",  # react skips the intent; a memory method has it
                "steps": [s.model_copy(update={"recalled": []}) for s in t.steps]}))
            copied += 1
        if batch != first_success and batch not in flushed:  # nothing to record: the pool stays empty
            dst_log.append(BatchLog(method=method, phase="online", batch=batch, flushed=0))
    copied_batches = [b for b, _ in plan]
    pending = first_success if first_success in copied_batches and first_success not in flushed else None
    return ForkResult(copied, checked, copied_batches, first_success, pending, refused)
