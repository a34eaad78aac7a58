"""Committee training: M members in one call, sharing split, symmetry functions and
scaling; member 0 is the single run with the same seed."""

from __future__ import annotations

import numpy as np
import pytest

import bpfast
from bpfast.cli import main
from test_training_cli import files  # noqa: F401 (fixture)

pytestmark = pytest.mark.filterwarnings("ignore::bpfast.ExtrapolationWarning")


def _weights(directory):
    return {p.name: p.read_text() for p in sorted(directory.glob("weights.*.data"))}


def test_committee_members_share_scaling_and_differ_in_weights(files, tmp_path):  # noqa: F811
    settings, train_data, test_data = files
    committee, histories = bpfast.train(settings, train_data, tmp_path / "c", test=test_data,
                                        epochs=2, seed=4, threads=1, progress=False,
                                        committee=3)
    assert isinstance(committee, bpfast.Committee) and len(committee) == 3
    assert len(histories) == 3 and all(len(h.rows) == 3 for h in histories)
    dirs = [tmp_path / "c" / f"member_{m}" for m in range(3)]
    scalings = {(d / "scaling.data").read_text() for d in dirs}
    assert len(scalings) == 1
    weights = [_weights(d) for d in dirs]
    assert weights[0] != weights[1] and weights[1] != weights[2]
    # member 0 is what a single run with the same seed trains
    single, _ = bpfast.train(settings, train_data, tmp_path / "single", test=test_data,
                             epochs=2, seed=4, threads=1, progress=False)
    assert _weights(tmp_path / "single") == weights[0]
    # the written members form a committee whose mean is that of the members
    rng = np.random.default_rng(3)
    pos = rng.uniform(0.0, 6.0, size=(8, 3))
    species = ["O", "H", "H", "O", "H", "H", "H", "O"]
    cell = np.eye(3) * 6.0
    loaded = bpfast.load_committee(dirs)
    r = loaded.compute(pos, species, cell)
    energies = [bpfast.load(d).compute(pos, species, cell).energy for d in dirs]
    assert r.energy == pytest.approx(np.mean(energies), rel=1e-12, abs=1e-12)
    assert r.energy_std == pytest.approx(np.std(energies), rel=1e-9, abs=1e-12)
    assert r.energy_std > 0.0


def test_committee_of_fewer_than_two_members_is_refused(files, tmp_path):  # noqa: F811
    settings, train_data, _ = files
    for bad in (1, 0, 2.5, True):
        with pytest.raises(ValueError, match="committee"):
            bpfast.train(settings, train_data, tmp_path / "c", epochs=1, committee=bad,
                         progress=False)


def test_train_command_trains_a_committee(files, tmp_path, capsys):  # noqa: F811
    settings, train_data, test_data = files
    out = tmp_path / "cli"
    status = main(["train", str(settings), str(train_data), "-o", str(out), "--test",
                   str(test_data), "--epochs", "1", "--seed", "2", "--threads", "1",
                   "--committee", "2", "--no-progress"])
    assert status == 0, capsys.readouterr().err
    text = capsys.readouterr().out
    assert "member 0: best epoch" in text and "member 1: best epoch" in text
    for m in range(2):
        assert (out / f"member_{m}" / "learning_curve.csv").exists()
        bpfast.load(out / f"member_{m}")
