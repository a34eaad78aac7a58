"""Results that overflowed: a NaN or infinite energy, force or stress is an error, never
returned (it would propagate silently through an MD run or an optimisation)."""

from __future__ import annotations

from typing import Optional

import numpy as np

__all__ = ["check_finite_results"]


def check_finite_results(source: str, energy, forces: Optional[np.ndarray],
                         stress: Optional[np.ndarray], energies: Optional[np.ndarray]) -> None:
    """Raises FloatingPointError naming ``source`` (the potential or committee) and the
    non-finite results; with per-atom energies, the first atoms whose energy overflowed."""
    results = {"energy": energy, "forces": forces, "stress": stress, "energies": energies}
    bad = [name for name, values in results.items()
           if values is not None and not np.isfinite(values).all()]
    if not bad:
        return
    atoms = ""
    if energies is not None:
        per_atom = np.asarray(energies)
        rows = np.flatnonzero(~np.isfinite(per_atom.reshape(-1, per_atom.shape[-1])).all(axis=0))
        if rows.size:
            atoms = f" (atoms {', '.join(str(i) for i in rows[:5])}{' ...' if rows.size > 5 else ''})"
    raise FloatingPointError(
        f"{source} gave a non-finite {', '.join(bad)}{atoms}: the network's output overflowed "
        f"double precision (weights of absurd size, or a structure far outside the training "
        f"range)")
