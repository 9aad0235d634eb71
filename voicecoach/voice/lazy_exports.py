"""Package names loaded when first used, not when the package is (PEP 562).

The helper processes live inside the packages whose work they do (the judge in
hearing, the speech engine in speaking), and a package that imported all of its
parts up front made each of them load what only the session process needs: the
speech engine's process paid 20 MB for numpy and rich it never used.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable
from typing import Any


def lazy_exports(package: str, exports: dict[str, str]) -> Callable[[str], Any]:
    """A module `__getattr__` for `package` that imports each name of `exports` (name ->
    module holding it) on first use and keeps it."""
    namespace = sys.modules[package].__dict__

    def __getattr__(name: str) -> Any:  # noqa: N807 -- the name PEP 562 looks up
        if name not in exports:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(exports[name]), name)
        namespace[name] = value
        return value

    return __getattr__
