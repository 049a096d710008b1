"""Load ToolQA question files (official or synthetic): ``questions/{easy,hard}/<domain>-<level>.jsonl``."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

DOMAINS = ("flight", "coffee", "yelp", "airbnb", "dblp", "agenda", "scirex", "gsm8k")
LEVELS = ("easy", "hard")
_ALIASES = {"flights": "flight"}


class QuestionFileError(ValueError):
    """A question file is missing or malformed; the message names file, line and field."""


@dataclass(frozen=True)
class Question:
    qid: str
    question: str
    answer: str | int | float
    domain: str
    level: str

    @property
    def answer_text(self) -> str:
        return str(self.answer)


def question_path(root: Path, domain: str, level: str) -> Path:
    """Path of a question file; ``root`` is the folder holding ``easy/`` and ``hard/``."""
    domain = _ALIASES.get(domain, domain)
    return Path(root) / level / f"{domain}-{level}.jsonl"


def load_questions(root: Path, domain: str, level: str) -> list[Question]:
    """Load one question file, checking every record has a string qid/question and an answer."""
    domain = _ALIASES.get(domain, domain)
    if level not in LEVELS:
        raise QuestionFileError(f"unknown level {level!r}; expected one of {LEVELS}")
    path = question_path(root, domain, level)
    if not path.is_file():
        raise QuestionFileError(f"{path}: question file not found")
    out: list[Question] = []
    seen: set[str] = set()
    for lineno, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            rec = json.loads(line)
        except json.JSONDecodeError as exc:
            raise QuestionFileError(f"{path}:{lineno}: invalid JSON ({exc.msg})") from exc
        if not isinstance(rec, dict):
            raise QuestionFileError(f"{path}:{lineno}: expected a JSON object")
        for key in ("qid", "question"):
            if not isinstance(rec.get(key), str) or not rec[key]:
                raise QuestionFileError(f"{path}:{lineno}: field {key!r} missing or not a non-empty string")
        if (
            "answer" not in rec
            or not isinstance(rec["answer"], str | int | float)
            or isinstance(rec["answer"], bool)
        ):
            raise QuestionFileError(f"{path}:{lineno}: field 'answer' missing or not a string/number")
        if rec["qid"] in seen:
            raise QuestionFileError(f"{path}:{lineno}: field 'qid' duplicates {rec['qid']!r}")
        seen.add(rec["qid"])
        out.append(Question(rec["qid"], rec["question"], rec["answer"], domain, level))
    return out


def write_questions(path: Path, records: list[dict[str, str | int | float]]) -> None:
    """Write question records as JSON lines (UTF-8, one object per line)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as fh:
        for rec in records:
            fh.write(json.dumps(rec, ensure_ascii=False) + "\n")
