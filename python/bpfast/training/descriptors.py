"""Raw symmetry-function values of training structures, computed by bpfast's core.

A potential that is still to be trained has settings but no ``scaling.data`` and no
weights. :class:`DescriptorCalculator` loads the settings into the core as a
potential without input scaling and with zero weights (written to a temporary
directory that is removed once loaded) and evaluates only the symmetry functions.
The values do not depend on the scaling, the network or the normalisation, so they
are those the trained potential will see.
"""

from __future__ import annotations

import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from .. import _core
from .._validation import check_threads
from .data import TrainingSet, TrainingStructure
from .input_nn import settings_lines
from .settings import Settings
from .symmetry_functions import SymmetryFunction
from .weights import weights_file_name, write_weights, zero_weights

__all__ = ["DescriptorCalculator", "Descriptors"]


@dataclass(frozen=True, eq=False)
class Descriptors:
    """Raw symmetry-function values of a set of structures, per element.

    Attributes
    ----------
    elements : tuple of str
        Atomic-number order.
    functions : dict
        Per element, the SymmetryFunction objects in network-input order (n2p2's
        sorted order: the column order of ``values`` and the row order of
        ``scaling.data``).
    values : dict
        Per element, an array (n_atoms_of_element, n_functions).
    structure : dict
        Per element, the index (in the set) of the structure each row belongs to.
    atom : dict
        Per element, the index of the atom within its structure.
    """

    elements: Tuple[str, ...]
    functions: Dict[str, Tuple[SymmetryFunction, ...]]
    values: Dict[str, np.ndarray]
    structure: Dict[str, np.ndarray]
    atom: Dict[str, np.ndarray]


def _load_settings_only(settings: Settings):
    """The core potential of ``settings`` with no scaling and zero weights."""
    bare = replace(settings, scaling="none", normalization=None, atom_energy={})
    lines = settings_lines(bare, training=False)
    first_sf_line = len(lines) - len(bare.symmetry_functions) + 1
    with tempfile.TemporaryDirectory(prefix="bpfast-sf-") as tmp:
        (Path(tmp) / "input.nn").write_text("\n".join(lines) + "\n")
        for element, layers in zero_weights(bare).items():
            write_weights(Path(tmp) / weights_file_name(element), layers)
        core = _core.load(tmp)
    return core, first_sf_line


class DescriptorCalculator:
    """Computes raw symmetry functions of structures for ``settings``.

    ``order[element]`` lists the indices into ``settings.symmetry_functions`` of that
    element's functions in network-input order (n2p2's sorted order).
    """

    def __init__(self, settings: Settings):
        self.settings = settings
        self._core, first_line = _load_settings_only(settings)
        self.order: Dict[str, List[int]] = {}
        for element, table in zip(self._core.elements, self._core.symmetry_functions):
            self.order[element] = [row["line"] - first_line for row in table]
        self.functions: Dict[str, Tuple[SymmetryFunction, ...]] = {
            e: tuple(settings.symmetry_functions[k] for k in idx) for e, idx in self.order.items()}
        self.cutoff = float(self._core.cutoff)

    def _one(self, s: TrainingStructure, threads: int):
        out = self._core.compute(s.positions, s.numbers, s.cell, s.pbc, False, False, False,
                                 threads, True)
        return out["descriptors"], out["descriptor_atoms"]

    def compute(self, structures: Sequence[TrainingStructure], *,
                threads: Optional[int] = None) -> Descriptors:
        """Raw symmetry functions of every atom of ``structures``.

        ``threads`` (default: OMP_NUM_THREADS or all cores): with at least as many
        structures as threads, the structures are shared among that many worker
        threads, one core thread each (the core releases the GIL); otherwise each
        structure uses all threads.
        """
        data = structures if isinstance(structures, TrainingSet) else TrainingSet(structures)
        data.check_elements(self.settings.elements)
        n_threads = check_threads(threads) or _core.default_threads()
        if len(data) >= n_threads > 1:
            with ThreadPoolExecutor(max_workers=n_threads) as pool:
                results = list(pool.map(lambda s: self._one(s, 1), data))
        else:
            results = [self._one(s, n_threads) for s in data]
        return self._collect(results)

    def _collect(self, results) -> Descriptors:
        elements = tuple(self._core.elements)
        values, structure, atom = {}, {}, {}
        for e, element in enumerate(elements):
            n_sf = len(self.order[element])
            blocks = [r[0][e] for r in results]
            rows = [r[1][e] for r in results]
            values[element] = (np.concatenate(blocks) if blocks else np.zeros((0, n_sf)))
            values[element] = values[element].reshape(-1, n_sf)
            structure[element] = np.concatenate(
                [np.full(len(a), k, dtype=np.int64) for k, a in enumerate(rows)]
                or [np.zeros(0, dtype=np.int64)])
            atom[element] = np.concatenate(
                [np.asarray(a, dtype=np.int64) for a in rows] or [np.zeros(0, dtype=np.int64)])
        return Descriptors(elements, dict(self.functions), values, structure, atom)
