"""Preparation of HDNNP training: data, settings, symmetry functions, scaling, weights.

The steps, each in its own module::

    settings = read_settings("input.nn")                     # or Settings(...)
    data = read_training_data("input.data", elements=settings.elements)
    train, test = data.split(settings.training.test_fraction,
                             settings.training.random_seed)
    calc = DescriptorCalculator(settings)                     # raw SFs from the core
    g = calc.compute(train, threads=4)
    print(check_symmetry_functions(g))                        # zero / constant / duplicates
    scaling = compute_scaling(g)                              # as nnp-scaling
    weights = initialize_weights(settings)                    # as nnp-train
    write_potential("out", settings, scaling, weights)        # loads with bpfast.load
"""

from __future__ import annotations

from .data import DataError, TrainingSet, TrainingStructure, read_training_data
from .descriptors import DescriptorCalculator, Descriptors
from .potential_files import write_potential
from .scaling import ScalingData, compute_scaling, normalization, write_scaling
from .input_nn import read_settings, write_settings
from .settings import SCALING_MODES, IgnoredKeyword, Normalization, Settings, TrainingOptions
from .sf_check import SymmetryFunctionIssue, SymmetryFunctionReport, check_symmetry_functions
from .symmetry_functions import SymmetryFunction, standard_symmetry_functions
from .weights import initialize_weights, read_weights, write_weights
from .outputs import History
from .trainer import train

__all__ = [
    "DataError",
    "DescriptorCalculator",
    "History",
    "Descriptors",
    "IgnoredKeyword",
    "Normalization",
    "SCALING_MODES",
    "ScalingData",
    "Settings",
    "SymmetryFunction",
    "SymmetryFunctionIssue",
    "SymmetryFunctionReport",
    "TrainingOptions",
    "TrainingSet",
    "TrainingStructure",
    "check_symmetry_functions",
    "compute_scaling",
    "initialize_weights",
    "normalization",
    "read_settings",
    "read_weights",
    "read_training_data",
    "standard_symmetry_functions",
    "train",
    "write_potential",
    "write_scaling",
    "write_settings",
    "write_weights",
]
