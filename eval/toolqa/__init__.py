"""ToolQA: questions, scoring and the synthetic corpus generator."""
