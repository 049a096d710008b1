"""seer_mcp"""
