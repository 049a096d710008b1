"""A restricted unpickler for the DBLP graph pickles.

``pickle.load`` runs whatever callables a pickle names (``os.system``, ``subprocess.Popen``...),
so loading a file a user downloaded from the internet with it is remote code execution. The
DBLP files only ever need networkx graph classes, plain builtin containers and scalars, and
``collections`` containers; every other global is refused, so a malicious pickle fails with
:class:`UnsafePickleError` before anything in it runs.
"""

from __future__ import annotations

import importlib
import pickle
from pathlib import Path
from typing import Any

_SAFE_BUILTINS = frozenset({
    "dict", "list", "set", "frozenset", "tuple", "str", "bytes", "bytearray", "int", "float",
    "complex", "bool", "object", "slice", "range",
})  # fmt: skip
_SAFE_GLOBALS = frozenset({
    ("collections", "OrderedDict"), ("collections", "defaultdict"), ("collections", "deque"),
    ("collections", "Counter"),
    # object reconstruction used by protocol-2 pickles; it only instantiates allowed classes
    ("copyreg", "_reconstructor"),
    # numpy scalars (e.g. an int64 citation count): built from raw bytes, no code runs
    ("numpy.core.multiarray", "scalar"), ("numpy._core.multiarray", "scalar"), ("numpy", "dtype"),
})  # fmt: skip
_RENAMED = {"__builtin__": "builtins", "copy_reg": "copyreg"}


class UnsafePickleError(pickle.UnpicklingError):
    """The pickle names a global outside the allow-list."""


class RestrictedUnpickler(pickle.Unpickler):
    """Unpickler resolving only networkx classes, safe builtins and collections containers."""

    def find_class(self, module: str, name: str) -> Any:
        module = _RENAMED.get(module, module)
        allowed = (
            (module == "builtins" and name in _SAFE_BUILTINS)
            or (module, name) in _SAFE_GLOBALS
            or (module.startswith("networkx.classes.") and _is_networkx_class(module, name))
        )
        if not allowed:
            raise UnsafePickleError(
                f"refused to load global {module}.{name}: only networkx graphs and plain containers "
                "are allowed in the DBLP pickles"
            )
        return super().find_class(module, name)


def _is_networkx_class(module: str, name: str) -> bool:
    try:
        obj = getattr(importlib.import_module(module), name, None)
    except ImportError:
        return False
    return isinstance(obj, type)


def safe_load(path: Path) -> Any:
    """Load a pickle with :class:`RestrictedUnpickler`."""
    with path.open("rb") as fh:
        return RestrictedUnpickler(fh).load()
