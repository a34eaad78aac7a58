"""bpfast: fast, exact evaluation of Behler-Parrinello neural-network potentials.

Load an n2p2/RuNNer potential directory with :func:`load` and evaluate energies,
forces, stress and per-atom energies with :meth:`Potential.compute`; several potentials
together, with their spread, with :func:`load_committee`.
"""

from __future__ import annotations

from .committee import Committee, CommitteeResult, load_committee
from .errors import (
    Excursion,
    ExtrapolationWarning,
    FormatError,
    OverlapWarning,
    UnsupportedPotentialError,
)
from .neighbors import neighbor_list
from .potential import NeighborCache, Potential, Result, load

__version__ = "0.1.0"


def train(*args, **kwargs):
    """Train a potential: see :func:`bpfast.training.train` (returns (Potential, History))."""
    from .training import train as _train

    return _train(*args, **kwargs)


__all__ = [
    "Committee",
    "CommitteeResult",
    "Excursion",
    "ExtrapolationWarning",
    "FormatError",
    "NeighborCache",
    "OverlapWarning",
    "Potential",
    "Result",
    "UnsupportedPotentialError",
    "load",
    "load_committee",
    "neighbor_list",
    "train",
]
