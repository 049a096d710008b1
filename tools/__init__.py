"""ToolQA tools over an official-layout external corpus (no MCP, no recall)."""

from seer.tools.corpus import Corpus, DomainStatus
from seer.tools.errors import ToolError
from seer.tools.protocol import format_text_call, parse_text_call
from seer.tools.session import ToolSession
from seer.tools.specs import TOOL_SPECS, ToolSpec

__all__ = [
    "TOOL_SPECS",
    "Corpus",
    "DomainStatus",
    "ToolError",
    "ToolSession",
    "ToolSpec",
    "format_text_call",
    "parse_text_call",
]
