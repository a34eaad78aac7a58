"""Force components of training structures and their weight gradients.

A force component along a direction d (n, 3) of a structure is F.d = -dE/dr . d.
With the symmetry-function tangents t_ak = dG_ak/dr . d (a Jacobian-vector product of
the raw symmetry functions) and the scaling factors f_k, the inputs move by
u_ak = f_k t_ak, so

    F.d = -(1 / c_E) sum_a u_a . dNN(x_a)/dx_a,
    d(F.d)/dw = -(1 / c_E) sum_a sum_k u_ak d(dNN(x_a)/dx_ak)/dw,

the ``tangent_energies`` and ``tangent_gradient`` of NetworkGradients. Both are exact;
m directions go through the networks at once as m groups of the structure's rows.

The raw tangents come from a function ``tangents(structure, directions) ->
{element: (m, n_rows, n_sf)}`` whose rows follow the model's rows of that structure;
:func:`core_tangents` builds it from ``Potential.symmetry_function_tangents``.
"""

from __future__ import annotations

from typing import Callable, Dict, Optional

import numpy as np

from ..potential import Potential
from .data import TrainingStructure
from .model import EnergyModel

__all__ = ["ForceModel", "core_tangents"]

Tangents = Callable[[int, TrainingStructure, np.ndarray], Dict[str, np.ndarray]]


def core_tangents(potential: Potential, model: EnergyModel, threads: int) -> Optional[Tangents]:
    """Raw symmetry-function tangents from bpfast's core, or None where this build has
    no ``Potential.symmetry_function_tangents``."""
    method = getattr(potential, "symmetry_function_tangents", None)
    if method is None:
        return None

    def tangents(index: int, s: TrainingStructure, directions: np.ndarray):
        result = method(s.positions, s.numbers, directions, s.cell, s.pbc, threads=threads)
        out = {}
        for e, v, a in zip(potential.elements, result["tangents"], result["descriptor_atoms"]):
            rows = slice(model.row_start[e][index], model.row_start[e][index + 1])
            want = model.atom[e][rows]
            where = np.empty(len(s), dtype=np.int64)
            where[np.asarray(a, dtype=np.int64)] = np.arange(len(a))
            order = where[want]
            same = len(order) == len(a) and np.array_equal(order, np.arange(len(a)))
            out[e] = np.asarray(v) if same else np.asarray(v)[:, order, :]
        return out

    return tangents


class ForceModel:
    """Force components of the structures of an :class:`EnergyModel`."""

    def __init__(self, model: EnergyModel, data, tangents: Tangents):
        self.model, self.data, self.tangents = model, data, tangents

    def components(self, w: np.ndarray, index: int, directions: np.ndarray):
        """Predicted F.d (m,) and d(F.d)/dw (m, P) for ``directions`` (m, n, 3) of
        structure ``index``."""
        return self._jacobian(w, self._inputs(index, directions), len(directions))

    def selected_components(self, w: np.ndarray, index: int, directions: np.ndarray,
                            select: Callable[[np.ndarray], np.ndarray]):
        """Predicted F.d of all m ``directions`` (m,), the indices ``select`` keeps
        (predictions (m,) -> indices, k of them) and d(F.d)/dw of the kept ones (k, P).

        The predictions come from one pass of the structure's atoms through the networks
        (dE/dx contracted with the tangents); only the kept directions go through the
        forward-over-reverse pass."""
        inputs = self._inputs(index, directions)
        pred = self._predictions(w, inputs, len(directions))
        keep = np.asarray(select(pred), dtype=np.int64)
        _, jac = self._jacobian(w, {e: (x, u[keep]) for e, (x, u) in inputs.items()},
                                len(keep))
        return pred, keep, jac

    def _inputs(self, index: int, directions: np.ndarray) -> dict:
        """Per element of structure ``index``: its rows' network inputs and their tangents
        along ``directions`` (m, rows, n_sf), scaled as the inputs."""
        model = self.model
        raw = self.tangents(index, self.data[index], directions)
        inputs = {}
        for e in model.elements:
            start, stop = model.row_start[e][index], model.row_start[e][index + 1]
            if stop > start:
                inputs[e] = (model.inputs[e][start:stop],
                             np.asarray(raw[e], dtype=np.float64) * model.factors[e])
        return inputs

    def _predictions(self, w: np.ndarray, inputs, m_dirs: int) -> np.ndarray:
        """F.d of all directions from dE/dx of the structure's rows: (m,)."""
        model = self.model
        pred = np.zeros(m_dirs)
        for e, (x, u) in inputs.items():
            r = model.networks[e].compute(w[model.blocks[e]], x, input_gradient=True,
                                          energy_gradient=False, threads=model.threads)
            pred -= u.reshape(len(u), -1) @ r["input_gradient"].ravel()
        return pred / model.conv_energy

    def _jacobian(self, w: np.ndarray, inputs, m_dirs: int):
        """F.d (m,) and d(F.d)/dw (m, P) from the forward-over-reverse pass."""
        model = self.model
        pred = np.zeros(m_dirs)
        jac = np.zeros((m_dirs, model.parameter_count))
        for e, (x, u) in inputs.items():
            # Only the rows a direction moves (atoms within the cutoff of a displaced
            # atom) contribute: the others have u = 0.
            groups, rows = np.nonzero(np.any(u != 0.0, axis=2))
            if len(rows) == 0:
                continue
            r = model.networks[e].compute(w[model.blocks[e]], x[rows], u[groups, rows],
                                          groups, m_dirs, energy_gradient=False,
                                          threads=model.threads)
            pred -= np.bincount(groups, weights=r["tangent_energies"], minlength=m_dirs)
            jac[:, model.blocks[e]] = -r["tangent_gradient"]
        return pred / model.conv_energy, jac / model.conv_energy

    def reference(self, index: int, directions: np.ndarray) -> np.ndarray:
        """Reference F.d of structure ``index``."""
        return np.einsum("mnc,nc->m", directions, self.data[index].forces)


def unit_directions(n_atoms: int, components: np.ndarray) -> np.ndarray:
    """Directions (m, n, 3) of the flat force components ``components`` (3 i + alpha)."""
    d = np.zeros((len(components), n_atoms * 3))
    d[np.arange(len(components)), components] = 1.0
    return d.reshape(len(components), n_atoms, 3)
