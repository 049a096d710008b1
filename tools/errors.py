"""The one error type of the tools layer."""

from __future__ import annotations


class ToolError(Exception):
    """An error caused by the caller's input: bad arguments, unknown table or column, a timeout,
    a missing corpus domain. Its message is what the model sees as the observation."""
