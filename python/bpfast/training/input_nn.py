"""n2p2's ``input.nn``: reading into :class:`~bpfast.training.settings.Settings` and writing.

:func:`read_settings` parses the syntax of ``docs/n2p2-format.md`` §2 (``#`` and ``!``
comments, aliases such as ``symfunction``, Fortran ``1.0d0`` numbers, repeated keywords
refused except those n2p2 allows) and lists the keywords bpfast does not use in
:attr:`Settings.ignored`; :func:`write_settings` writes a file that ``bpfast.load`` and
n2p2 read.
"""

from __future__ import annotations

import os
from dataclasses import fields
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple, Union

from ..errors import FormatError, UnsupportedPotentialError
from .settings import IgnoredKeyword, Normalization, Settings, TrainingOptions
from .symmetry_functions import SymmetryFunction, parse_number

__all__ = ["read_settings", "settings_lines", "symmetry_function_lines", "write_settings"]

PathLike = Union[str, "os.PathLike[str]"]

_TRAINING_KEYWORDS = {f.name for f in fields(TrainingOptions)}
_ALIASES = {
    "symfunction": "symfunction_short",
    "nnp_generation": "nnp_type",
    "nnp_type_gen": "nnp_type",
    "nnp_gen": "nnp_type",
    "nn_type": "nnp_type",
    "energy_fraction": "short_energy_fraction",
    "force_fraction": "short_force_fraction",
    "rmse_threshold_energy": "short_energy_error_threshold",
    "rmse_threshold_force": "short_force_error_threshold",
}
_REPEATABLE = {"symfunction_short", "atom_energy", "element_nodes_short",
               "element_hidden_layers_short", "element_activation_short",
               "fixed_gausswidth", "initial_hardness"}
_GENERAL = {"number_of_elements", "elements", "atom_energy", "cutoff_type",
            "symfunction_short", "scale_symmetry_functions", "center_symmetry_functions",
            "scale_symmetry_functions_sigma", "scale_min_short", "scale_max_short",
            "global_hidden_layers_short", "global_nodes_short", "global_activation_short",
            "normalize_nodes", "mean_energy", "conv_energy", "conv_length", "nnp_type"}
#: n2p2 keywords that bpfast reads but does not act on (training internals, output).
_N2P2_OTHER = {
    "conv_charge", "rmse_threshold", "rmse_threshold_charge", "rmse_threshold_trials_energy",
    "rmse_threshold_trials_force", "rmse_threshold_trials_charge", "charge_fraction",
    "use_old_weights_charge", "nguyen_widrow_weights_charge", "precondition_weights",
    "write_trainpoints", "write_trainforces", "write_weights_epoch", "write_traincharges",
    "write_neuronstats",
    "write_trainlog", "repeated_energy_update", "parallel_mode", "jacobian_mode",
    "update_strategy", "selection_mode", "selection_mode_energy", "selection_mode_force",
    "selection_mode_charge", "task_batch_size_energy", "task_batch_size_force",
    "task_batch_size_charge", "memorize_symfunc_results", "normalize_data_set",
    "force_energy_ratio", "fixed_gausswidth", "initial_hardness", "ewald_truncation_error_method",
    "ewald_prec", "screen_electrostatics", "global_hidden_layers_electrostatic",
    "global_nodes_electrostatic", "global_activation_electrostatic",
}


# ---------------------------------------------------------------------- reading


def _lines(path: Path) -> List[Tuple[int, str, List[str]]]:
    """(line number, keyword, arguments) of every non-comment line."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise FileNotFoundError(2, "No such settings file", str(path)) from None
    out = []
    for number, line in enumerate(raw.decode("utf-8", errors="replace").splitlines(), 1):
        if "\0" in line:
            raise FormatError(f"{path}:{number}: binary data (a NUL byte): expected a text "
                              f"file", file=str(path), line=number)
        cut = min((i for i in (line.find("#"), line.find("!")) if i >= 0), default=len(line))
        tokens = line[:cut].split()
        if tokens:
            out.append((number, tokens[0], tokens[1:]))
    return out


class _Reader:
    """Keyword lookup with errors that name the file and line."""

    def __init__(self, path: Path):
        self.path = str(path)
        self.entries: Dict[str, List[Tuple[int, List[str], str]]] = {}
        for number, word, args in _lines(path):
            key = _ALIASES.get(word, word)
            seen = self.entries.setdefault(key, [])
            if seen and key not in _REPEATABLE:
                raise self.error(number, f"keyword '{key}' given a second time (first on line "
                                         f"{seen[0][0]})")
            seen.append((number, args, word))

    def error(self, line: int, detail: str) -> FormatError:
        return FormatError(f"{self.path}:{line}: {detail}", file=self.path, line=line,
                           detail=detail)

    def has(self, key: str) -> bool:
        return key in self.entries

    def one(self, key: str, count: int = 1) -> Tuple[int, List[str]]:
        if key not in self.entries:
            raise FormatError(f"{self.path}: missing required keyword '{key}'", file=self.path,
                              detail=f"missing required keyword '{key}'")
        line, args, _ = self.entries[key][0]
        if len(args) < count:
            raise self.error(line, f"'{key}' expects {count} value(s), found {len(args)}")
        return line, args

    def number(self, key: str, default: Optional[float] = None) -> float:
        if default is not None and key not in self.entries:
            return default
        line, args = self.one(key)
        try:
            return parse_number(args[0], key)
        except ValueError as exc:
            raise self.error(line, str(exc)) from None

    def integer(self, key: str, default: Optional[int] = None) -> int:
        value = self.number(key, None if default is None else float(default))
        if value != int(value):
            raise self.error(self.entries[key][0][0], f"'{key}' expects an integer, found "
                                                      f"{value!r}")
        return int(value)


def _read_network(r: _Reader) -> Tuple[Tuple[int, ...], Tuple[str, ...]]:
    for key in ("element_hidden_layers_short", "element_nodes_short",
                "element_activation_short"):
        if r.has(key):
            raise UnsupportedPotentialError(
                f"{r.path}:{r.entries[key][0][0]}: per-element network keyword '{key}' is not "
                f"supported for training (use global_nodes_short / global_activation_short)")
    hidden = r.integer("global_hidden_layers_short")
    line, nodes = r.one("global_nodes_short", hidden)
    try:
        sizes = tuple(int(parse_number(t, "global_nodes_short")) for t in nodes[:hidden])
    except ValueError as exc:
        raise r.error(line, str(exc)) from None
    line, letters = r.one("global_activation_short", hidden + 1)
    if len(letters) != hidden + 1:
        raise r.error(line, f"global_activation_short expects {hidden + 1} letters (one per "
                            f"hidden layer and one for the output), found {len(letters)}")
    return sizes, tuple(letters)


def _read_training(r: _Reader) -> TrainingOptions:
    values: Dict[str, object] = {}
    for f in fields(TrainingOptions):
        if not r.has(f.name):
            continue
        if f.type == "bool":
            values[f.name] = True
        elif f.type == "str":
            values[f.name] = r.one(f.name)[1][0]
        elif f.type == "int":
            values[f.name] = r.integer(f.name)
        else:
            values[f.name] = r.number(f.name)
    try:
        return TrainingOptions(**values)
    except (TypeError, ValueError) as exc:
        raise FormatError(f"{r.path}: {exc}", file=r.path, detail=str(exc)) from None


def _ignored(r: _Reader) -> Tuple[IgnoredKeyword, ...]:
    used = _GENERAL | _TRAINING_KEYWORDS
    out = []
    for key, entries in r.entries.items():
        if key in used:
            continue
        reason = ("n2p2 keyword that bpfast does not use" if key in _N2P2_OTHER
                  else "not an n2p2 keyword (RuNNer or a misspelling?)")
        out += [IgnoredKeyword(word, line, reason, tuple(args)) for line, args, word in entries]
    return tuple(sorted(out, key=lambda item: item.line))


def _scaling_mode(r: _Reader) -> str:
    scale, center = r.has("scale_symmetry_functions"), r.has("center_symmetry_functions")
    if scale and center:
        return "scalecenter"
    if scale:
        return "scale"
    if center:
        return "center"
    return "sigma" if r.has("scale_symmetry_functions_sigma") else "none"


def read_settings(path: PathLike) -> Settings:
    """Read an n2p2 ``input.nn`` (a file, or a directory holding one).

    Raises FileNotFoundError, :class:`bpfast.FormatError` (file, line) for malformed
    content and :class:`bpfast.UnsupportedPotentialError` for 4G-HDNNPs and
    per-element networks. Keywords bpfast does not use are listed in
    :attr:`Settings.ignored` (see :meth:`Settings.report`).
    """
    p = Path(path)
    if p.is_dir():
        p = p / "input.nn"
    r = _Reader(p)
    if r.has("nnp_type"):
        line, args = r.one("nnp_type")
        if args[0] not in ("2", "2G-HDNNP"):
            raise UnsupportedPotentialError(f"{p}:{line}: nnp_type {args[0]}: bpfast trains "
                                            f"only 2nd-generation short-range HDNNPs")
    line, symbols = r.one("elements")
    if r.integer("number_of_elements") != len(symbols):
        raise r.error(line, f"number_of_elements is {r.integer('number_of_elements')} but "
                            f"{len(symbols)} elements are listed")
    sfs = []
    for number, args, _ in r.entries.get("symfunction_short", []):
        try:
            sfs.append(SymmetryFunction.from_tokens(args, number))
        except ValueError as exc:
            raise r.error(number, f"symfunction_short: {exc}") from None
    line_ct, ct = r.one("cutoff_type")
    try:
        alpha = parse_number(ct[1], "cutoff alpha") if len(ct) > 1 else 0.0
    except ValueError as exc:
        raise r.error(line_ct, str(exc)) from None
    atom_energy = {}
    for number, args, _ in r.entries.get("atom_energy", []):
        if len(args) < 2:
            raise r.error(number, "atom_energy expects '<element> <energy>'")
        if args[0] in symbols:  # n2p2 ignores offsets of other elements
            try:
                atom_energy[args[0]] = parse_number(args[1], "atom_energy")
            except ValueError as exc:
                raise r.error(number, str(exc)) from None
    norm = [r.has(k) for k in ("mean_energy", "conv_energy", "conv_length")]
    if any(norm) and not all(norm):
        raise FormatError(f"{p}: mean_energy, conv_energy and conv_length must be given "
                          f"together", file=str(p))
    hidden_nodes, activations = _read_network(r)
    try:
        settings = Settings(
            elements=tuple(symbols),
            symmetry_functions=tuple(sfs),
            cutoff_type=r.integer("cutoff_type"),
            cutoff_alpha=alpha,
            scaling=_scaling_mode(r),
            scale_min=r.number("scale_min_short", 0.0),
            scale_max=r.number("scale_max_short", 1.0),
            hidden_nodes=hidden_nodes,
            activations=activations,
            normalize_nodes=r.has("normalize_nodes"),
            atom_energy=atom_energy,
            normalization=Normalization(r.number("mean_energy"), r.number("conv_energy"),
                                        r.number("conv_length")) if all(norm) else None,
            training=_read_training(r),
            ignored=_ignored(r),
            source=str(p),
        )
    except (TypeError, ValueError) as exc:
        if isinstance(exc, FormatError):
            raise
        raise FormatError(f"{p}: {exc}", file=str(p), detail=str(exc)) from None
    return settings


# ---------------------------------------------------------------------- writing


def _value(v) -> str:
    if isinstance(v, float):
        text = repr(v)
        return text[:-2] if text.endswith(".0") and "e" not in text else text
    return str(v)


def _training_lines(options: TrainingOptions) -> List[str]:
    out = []
    for f in fields(options):
        value = getattr(options, f.name)
        if f.type == "bool":
            if value:
                out.append(f.name)
        else:
            out.append(f"{f.name:<32s} {_value(value)}")
    return out


def settings_lines(settings: Settings, *, units: Optional[Tuple[str, str]] = None,
                   training: bool = True) -> List[str]:
    """The lines of ``input.nn`` for ``settings`` (see :func:`write_settings`)."""
    s = settings
    out = ["#" * 79, "# HDNNP settings written by bpfast (n2p2 input.nn format)", "#" * 79]
    if units is not None:
        out += [f"# Length unit     : {units[0]}", f"# Energy unit     : {units[1]}"]
    out += ["", f"{'number_of_elements':<32s} {len(s.elements)}",
            f"{'elements':<32s} {' '.join(s.elements)}"]
    out += [f"{'atom_energy':<32s} {e} {_value(v)}" for e, v in s.atom_energy.items()]
    out.append(f"{'cutoff_type':<32s} {s.cutoff_type} {_value(float(s.cutoff_alpha))}")
    flags = {"scale": ["scale_symmetry_functions"], "center": ["center_symmetry_functions"],
             "scalecenter": ["scale_symmetry_functions", "center_symmetry_functions"],
             "sigma": ["scale_symmetry_functions_sigma"], "none": []}[s.scaling]
    out += flags
    out += [f"{'scale_min_short':<32s} {_value(float(s.scale_min))}",
            f"{'scale_max_short':<32s} {_value(float(s.scale_max))}",
            f"{'global_hidden_layers_short':<32s} {len(s.hidden_nodes)}",
            f"{'global_nodes_short':<32s} {' '.join(map(str, s.hidden_nodes))}",
            f"{'global_activation_short':<32s} {' '.join(s.activations)}"]
    if s.normalize_nodes:
        out.append("normalize_nodes")
    if s.normalization is not None:
        n = s.normalization
        out += [f"mean_energy {n.mean_energy:24.16E}", f"conv_energy {n.conv_energy:24.16E}",
                f"conv_length {n.conv_length:24.16E}"]
    if training:
        out += ["", "# Training (n2p2 nnp-train keywords)"] + _training_lines(s.training)
        if s.ignored:
            out += ["", f"# Keywords of {s.source or 'the settings read'} that bpfast does not "
                        f"use"]
            out += [f"{item.keyword:<32s} {' '.join(item.arguments)}".rstrip()
                    for item in s.ignored]
    out += ["", "# Symmetry functions"]
    out += [f"symfunction_short {sf.to_text()}" for sf in s.symmetry_functions]
    return out


def write_settings(settings: Settings, path: PathLike, *,
                   units: Optional[Tuple[str, str]] = None, training: bool = True) -> Path:
    """Write ``settings`` as an n2p2 ``input.nn`` (a file path or a directory).

    ``units`` = (length, energy) names are written as the ``# Length unit`` /
    ``# Energy unit`` comments that :func:`bpfast.units.guess_units` reads. The
    ``nnp-train`` keywords of ``settings.training`` follow, and the keywords listed
    in ``settings.ignored`` with their arguments (so that a file read and written
    again keeps what n2p2 needs); ``training=False`` leaves out both. Returns the
    path.
    """
    p = Path(path)
    if p.is_dir():
        p = p / "input.nn"
    p.write_text("\n".join(settings_lines(settings, units=units, training=training)) + "\n")
    return p


def symmetry_function_lines(functions: Sequence[SymmetryFunction]) -> List[str]:
    """``symfunction_short`` lines for ``functions``, to paste into an ``input.nn``."""
    return [f"symfunction_short {sf.to_text()}" for sf in functions]
