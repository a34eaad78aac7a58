"""Writing a complete potential directory (``input.nn``, ``scaling.data``, weights)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Dict, List, Optional, Tuple, Union

from .scaling import ScalingData, write_scaling
from .input_nn import write_settings
from .settings import Settings
from .weights import Layer, weights_file_name, write_weights

__all__ = ["write_potential"]

PathLike = Union[str, "os.PathLike[str]"]


def write_potential(
    directory: PathLike,
    settings: Settings,
    scaling: Optional[ScalingData],
    weights: Dict[str, List[Layer]],
    *,
    units: Optional[Tuple[str, str]] = None,
) -> Path:
    """Write a potential directory that ``bpfast.load`` and n2p2 read.

    ``weights[element]`` is that element's network as layers ``(W, b)`` whose input
    order is the network-input order (that of ``DescriptorCalculator.functions``);
    ``scaling`` may be None only with ``settings.scaling == "none"``. ``units``
    = (length, energy) names go into the ``input.nn`` header comments. The directory
    is created if needed; returns it.
    """
    d = Path(directory)
    d.mkdir(parents=True, exist_ok=True)
    missing = [e for e in settings.elements if e not in weights]
    if missing:
        raise ValueError(f"weights missing for element(s) {', '.join(missing)}")
    for element in settings.elements:
        expected = settings.architecture(element)
        layers = weights[element]
        sizes = tuple([layers[0][0].shape[0]] + [w.shape[1] for w, _ in layers])
        if sizes != expected:
            raise ValueError(f"weights of {element} have the layer sizes {sizes}, the settings "
                             f"define {expected}")
    if scaling is None and settings.scaling != "none":
        raise ValueError(f"scaling '{settings.scaling}' needs the scaling data")
    write_settings(settings, d / "input.nn", units=units)
    if scaling is not None:
        write_scaling(d / "scaling.data", scaling)
    for element in settings.elements:
        write_weights(d / weights_file_name(element), weights[element])
    return d
