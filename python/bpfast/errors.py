"""Exceptions and warnings raised by bpfast."""

from __future__ import annotations

__all__ = ["ExtrapolationWarning", "FormatError", "UnsupportedPotentialError"]


class FormatError(ValueError):
    """A potential file is malformed.

    Attributes
    ----------
    file : str
        Path of the offending file.
    line : int
        1-based line number, or 0 when the problem concerns the whole file.
    detail : str
        What was expected and what was found.
    """

    def __init__(self, message: str, file: str = "", line: int = 0, detail: str = ""):
        super().__init__(message)
        self.file = file
        self.line = line
        self.detail = detail or message


class UnsupportedPotentialError(ValueError):
    """The potential uses a feature bpfast does not implement (e.g. a 4G-HDNNP)."""


class ExtrapolationWarning(UserWarning):
    """Symmetry-function values left the range seen in training (``scaling.data``).

    The result is still computed exactly as n2p2 would, but the potential is being
    used outside its training domain. ``Result.extrapolations`` holds the count.
    """
