"""seer: an MCP server with the ToolQA tools plus stepwise experience recall (SEER)."""

__version__ = "0.1.0"
