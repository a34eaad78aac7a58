"""Where a warning should point: the user's line, not bpfast's (or ASE's) internals.

A warning raised deep in Potential.compute is reached from the user's code directly,
through the ASE calculator (ASE's get_forces calls it) or through bpfast.md (ASE's
dynamics call it). Pointing at the first frame outside bpfast and ASE names the
user's line and lets Python's warning filters show a repeated warning once per line.
"""

from __future__ import annotations

import os
import sys
from typing import Tuple

__all__ = ["user_stacklevel"]

_BPFAST = os.path.dirname(os.path.abspath(__file__)) + os.sep


def _library_dirs() -> Tuple[str, ...]:
    dirs = [_BPFAST]
    ase = sys.modules.get("ase")  # only if already imported: ASE is optional
    if ase is not None and getattr(ase, "__file__", None):
        dirs.append(os.path.dirname(os.path.abspath(ase.__file__)) + os.sep)
    return tuple(dirs)


def user_stacklevel() -> int:
    """The ``stacklevel`` for a ``warnings.warn`` call made by this function's caller
    that attributes the warning to the innermost frame outside bpfast and ASE (the
    outermost frame if there is none)."""
    libraries = _library_dirs()
    frame = sys._getframe(1)  # the function that calls warnings.warn: stacklevel 1
    level = 1
    while frame.f_back is not None and os.path.abspath(frame.f_code.co_filename).startswith(
            libraries):
        frame = frame.f_back
        level += 1
    return level
