"""What bpfast tells about doubtful structures: extrapolation (with the worst value, a
message stable enough for warning filters to merge, the user's line as location, and a
units hint when nearly every atom extrapolates) and overlapping atoms."""

from __future__ import annotations

import pickle
import warnings

import numpy as np
import pytest

import bpfast
from conftest import scaling_bounds
from synthetic import random_structure, write_potential


def compressed(seed=0, n=12, box=2.0):
    """Far denser than the synthetic training structures: many SFs leave the range."""
    return random_structure(np.random.default_rng(seed), ("H", "O"), n, cell="cubic", box=box,
                            min_dist=0.3)


def expected_worst(pot, structure):
    """(element, 1-based function, ranges, above) of the value farthest outside its range,
    from the raw descriptors and scaling.data read directly."""
    positions, numbers, cell, pbc = structure
    bounds = scaling_bounds(pot.directory, pot)
    best = (None, 0, 0.0, True)
    for z, g in zip(numbers, pot.descriptors(positions, numbers, cell, pbc)):
        lo, hi = bounds[int(z)]
        beyond = np.where(g > hi, g - hi, np.where(g < lo, lo - g, 0.0)) / (hi - lo)
        s = int(np.argmax(beyond))
        if beyond[s] > best[2]:
            best = (pot.elements[pot.atomic_numbers.index(int(z))], s + 1, float(beyond[s]),
                    bool(g[s] > hi[s]))
    return best


# ---------------------------------------------------------------------------------
# Extrapolation


def test_extrapolation_warning_carries_the_numbers(pot):
    structure = compressed()
    with pytest.warns(bpfast.ExtrapolationWarning) as record:
        res = pot.compute(*structure)
    assert len(record) == 1
    w = record[0].message
    assert w.count == res.extrapolations > 0
    assert w.n_atoms == 12 and 0 < w.atoms <= 12
    assert sum(w.by_element.values()) == w.atoms and set(w.by_element) <= {"H", "O"}
    element, function, ranges, above = expected_worst(pot, structure)
    assert (w.worst.element, w.worst.function, w.worst.above) == (element, function, above)
    assert w.worst.ranges == pytest.approx(ranges, rel=1e-9)
    side = "above max" if above else "below min"
    assert str(w.worst) == f"{element} function {function}: {ranges:.2g} ranges {side}"
    assert f"worst: {element} function {function}, " in str(w)
    assert not any(ch.isdigit() for ch in str(w).split("(worst")[0])  # no counts
    again = pickle.loads(pickle.dumps(w))
    assert (again.count, again.worst, str(again)) == (w.count, w.worst, str(w))


def test_repeated_extrapolation_warnings_merge(pot):
    """The message does not carry the counts: the same kind of extrapolation from one
    line is shown once by Python's default filter."""
    positions, numbers, cell, pbc = compressed()
    doubled = (np.concatenate([positions, positions + cell[0]]), np.concatenate([numbers] * 2),
               cell * [[2], [1], [1]], pbc)
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("default")
        results = [pot.compute(*s) for s in [(positions, numbers, cell, pbc), doubled]]
    assert results[1].extrapolations == 2 * results[0].extrapolations
    assert len(record) == 1


def test_extrapolation_warning_points_at_the_callers_line(pot):
    from ase import Atoms

    from bpfast.ase import BPCalculator

    positions, numbers, cell, pbc = compressed()
    with pytest.warns(bpfast.ExtrapolationWarning) as record:
        pot.compute(positions, numbers, cell, pbc)
    assert record[0].filename == __file__
    atoms = Atoms(numbers=numbers, positions=positions, cell=cell, pbc=pbc)
    atoms.calc = BPCalculator(pot)
    with pytest.warns(bpfast.ExtrapolationWarning) as record:
        atoms.get_forces()
    assert record[0].filename == __file__


def test_units_hint_when_nearly_every_atom_extrapolates(potdir, tmp_path):
    stated = tmp_path / "stated"
    stated.mkdir()
    for f in potdir.iterdir():
        (stated / f.name).write_bytes(f.read_bytes())
    text = (stated / "input.nn").read_text()
    (stated / "input.nn").write_text("# Length unit : Bohr\n# Energy unit : Ha\n" + text)
    pot = bpfast.load(stated)
    positions, numbers, cell, pbc = random_structure(np.random.default_rng(3), ("H", "O"), 16,
                                                     cell="cubic", box=4.0)
    # In Å instead of Bohr: every distance 1.89 times too short.
    with pytest.warns(bpfast.ExtrapolationWarning) as record:
        pot.compute(positions / 1.8897, numbers, cell / 1.8897, pbc)
    w = record[0].message
    assert w.atoms > 0.5 * w.n_atoms
    assert "length units" in str(w) and "input.nn states Bohr and Ha" in str(w)
    assert "length_unit=" in str(w)


def test_no_units_hint_when_few_atoms_extrapolate(tmp_path):
    # scaling.data from one large structure, not widened: moving one atom of it a little
    # takes only that atom and its neighbours out of the range.
    training = random_structure(np.random.default_rng(6), ("H", "O"), 64, cell="cubic",
                                density=0.05)
    pot = bpfast.load(write_potential(tmp_path / "tight", sf_types=(2, 3), seed=2,
                                      scaling_structures=[training], widen=0.0))
    positions, numbers, cell, pbc = training
    positions = positions.copy()
    positions[0] += [0.4, 0.0, 0.0]
    with pytest.warns(bpfast.ExtrapolationWarning) as record:
        pot.compute(positions, numbers, cell, pbc)
    w = record[0].message
    assert 0 < w.atoms <= 0.5 * w.n_atoms
    assert "length units" not in str(w)


def test_function_listing_names_functions_as_the_warning_does(pot):
    lines = pot.function_listing()
    sfs = pot.symmetry_functions
    assert len(lines) == sum(len(v) for v in sfs.values())
    bounds = scaling_bounds(pot.directory, pot)
    o = pot.elements.index("O")
    third = sfs["O"][2]
    line = next(s for s in lines if s.startswith("O function 3: "))
    assert f"type {third['type']} " in line
    lo, hi = bounds[pot.atomic_numbers[o]][0][2], bounds[pot.atomic_numbers[o]][1][2]
    assert f"training range [{lo:.6g}, {hi:.6g}]" in line
    assert f"rc {third['rc']:g}" in line


# ---------------------------------------------------------------------------------
# Overlapping atoms


def test_coincident_atoms_are_an_error(pot):
    pos = np.array([[0.0, 0.0, 0.0], [1.0, 0.2, 0.1], [1.0, 0.2, 0.1], [0.3, 1.1, 0.0]])
    with pytest.raises(ValueError, match="atoms 1 and 2 are at the same position"):
        pot.compute(pos, ["H", "H", "O", "O"], cell=np.eye(3) * 6)
    with pytest.raises(ValueError, match="atoms 1 and 2 are at the same position"):
        pot.descriptors(pos, ["H", "H", "O", "O"])


def test_coincident_periodic_images_are_an_error(pot):
    pos = np.array([[0.5, 0.5, 0.5], [6.5, 0.5, 0.5], [3.0, 3.0, 3.0]])
    with pytest.raises(ValueError, match=r"atoms 0 and 1 are at the same position \(the image "
                       r"of atom 1 shifted by \(-1, 0, 0\) cells\)"):
        pot.compute(pos, ["H", "O", "H"], cell=np.eye(3) * 6)


@pytest.mark.filterwarnings("ignore::bpfast.ExtrapolationWarning")
@pytest.mark.parametrize("cache", [False, True])
def test_nearly_coincident_atoms_warn(pot, cache):
    positions, numbers, cell, pbc = random_structure(np.random.default_rng(1), ("H", "O"), 10,
                                                     cell="cubic", min_dist=1.0)
    positions = positions.copy()
    positions[7] = positions[3] + [1e-6, 0.0, 0.0]
    kwargs = {"cache": bpfast.NeighborCache(skin=0.5)} if cache else {}
    with pytest.warns(bpfast.OverlapWarning, match=r"atoms 3 and 7 are 1e-06 apart") as record:
        pot.compute(positions, numbers, cell, pbc, **kwargs)
    overlap = [r for r in record if r.category is bpfast.OverlapWarning]
    assert len(overlap) == 1 and overlap[0].filename == __file__
    w = overlap[0].message
    assert (w.i, w.j, w.shift) == (3, 7, (0, 0, 0))
    assert w.distance == pytest.approx(np.linalg.norm(positions[7] - positions[3]), rel=1e-9)
    assert issubclass(bpfast.OverlapWarning, UserWarning)


@pytest.mark.filterwarnings("ignore::bpfast.ExtrapolationWarning")
def test_close_pair_across_the_boundary_names_the_image(pot):
    cell = np.diag([6.0, 7.0, 8.0])
    pos = np.array([[0.01, 3.0, 4.0], [5.98, 3.0, 4.0], [3.0, 0.5, 0.5]])
    with pytest.warns(bpfast.OverlapWarning, match=r"atoms 0 and 1 are 0\.03 apart \(the image "
                      r"of atom 1 shifted by \(-1, 0, 0\) cells\)") as record:
        pot.compute(pos, ["H", "O", "H"], cell=cell)
    w = next(r.message for r in record if r.category is bpfast.OverlapWarning)
    assert w.distance == pytest.approx(0.03, rel=1e-9)
    assert w.shift == (-1, 0, 0)


def test_pairs_beyond_the_threshold_do_not_warn(pot, recwarn):
    threshold = 0.05 * pot.cutoff
    pos = np.array([[0.0, 0.0, 0.0], [threshold * 1.01, 0.0, 0.0]])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", bpfast.ExtrapolationWarning)
        pot.compute(pos, ["H", "H"])
    assert not [r for r in recwarn if r.category is bpfast.OverlapWarning]
    with pytest.warns(bpfast.OverlapWarning):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", bpfast.ExtrapolationWarning)
            pot.compute(pos * 0.98, ["H", "H"])


def test_info_lists_the_functions_by_name(potdir, pot, capsys):
    from bpfast import cli

    assert cli.main(["info", str(potdir), "--functions"]) == 0
    out = [s.strip() for s in capsys.readouterr().out.splitlines()]
    for line in pot.function_listing():
        assert line in out
    assert any(s.startswith("O function 1: type ") for s in out)
