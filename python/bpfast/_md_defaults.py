"""Default settings of molecular dynamics, shared by :mod:`bpfast.md` and ``bpfast md``.

A module of its own so that the command line reads them without importing ASE.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["BAROSTATS", "DEFAULTS", "DYNAMICS_OPTIONS", "ENSEMBLES", "THERMOSTATS", "VELOCITIES",
           "MDDefaults"]

ENSEMBLES = ("nve", "nvt", "npt")
THERMOSTATS = ("langevin", "nose-hoover")
BAROSTATS = ("berendsen", "mtk")
#: auto: keep the momenta of the structure if any is non-zero, else draw them;
#: keep: never draw (a structure at rest stays at rest); init: always draw.
VELOCITIES = ("auto", "keep", "init")


@dataclass(frozen=True)
class MDDefaults:
    """Default settings of :func:`run`, :func:`make_dynamics` and ``bpfast md``.

    Units: fs (timestep, tdamp, pdamp), 1/fs (friction), bar (pressure), 1/bar
    (compressibility, that of water), steps (intervals).
    """

    timestep: float = 0.5
    ensemble: str = "nve"
    thermostat: str = "langevin"
    barostat: str = "berendsen"
    friction: float = 0.01
    tdamp: float = 100.0
    pressure: float = 1.01325
    pdamp: float = 1000.0
    compressibility: float = 4.57e-5
    velocities: str = "auto"
    trajectory_interval: int = 10
    log_interval: int = 10


DEFAULTS = MDDefaults()

#: Keyword arguments of :func:`run` that go to :func:`make_dynamics`.
DYNAMICS_OPTIONS = ("thermostat", "barostat", "friction", "tdamp", "pressure", "pdamp",
                    "compressibility")
