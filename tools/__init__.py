"""ToolQA tools over an official-layout external corpus (no MCP, no recall).

The tool specs, the text protocol and the error type import light; the corpus and the session (DuckDB,
BM25, graphs) load on first use, so the pool can share the protocol without loading them.
"""

from typing import TYPE_CHECKING, Any

from seer.tools.errors import ToolError
from seer.tools.protocol import CALL_BEGIN, CALL_END, format_text_call, parse_text_call
from seer.tools.specs import TOOL_SPECS, ToolSpec

if TYPE_CHECKING:
    from seer.tools.corpus import Corpus, DomainStatus
    from seer.tools.session import ToolSession

__all__ = [
    "CALL_BEGIN",
    "CALL_END",
    "TOOL_SPECS",
    "Corpus",
    "DomainStatus",
    "ToolError",
    "ToolSession",
    "ToolSpec",
    "format_text_call",
    "parse_text_call",
]

_LAZY = {
    "Corpus": "seer.tools.corpus",
    "DomainStatus": "seer.tools.corpus",
    "ToolSession": "seer.tools.session",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'seer.tools' has no attribute {name!r}")
