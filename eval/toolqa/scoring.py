"""ToolQA's exact-match metric: normalise both strings, compare."""

from __future__ import annotations

import re
import string

_ARTICLES = re.compile(r"\b(a|an|the|usd)\b")
_PUNCT = str.maketrans("", "", string.punctuation)


def normalize_answer(text: str) -> str:
    """Lower-case, strip punctuation, drop articles and the token "usd", collapse whitespace."""
    text = str(text).lower().translate(_PUNCT)
    text = _ARTICLES.sub(" ", text)
    return " ".join(text.split())


def exact_match(prediction: str | None, gold: str) -> bool:
    """ToolQA exact match (the primary metric)."""
    if prediction is None:
        return False
    return normalize_answer(prediction) == normalize_answer(gold)
