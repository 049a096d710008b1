"""``python -m seer.seer_mcp``: the server and its command line."""

from seer.seer_mcp.cli import main

main()
