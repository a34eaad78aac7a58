"""Type stubs of the native module (internal: use bpfast.load and bpfast.Potential)."""

from typing import Any, Dict, List, Optional, Tuple

import numpy as np

class Potential:
    directory: str
    files: List[str]
    elements: List[str]
    atomic_numbers: List[int]
    cutoff: float
    cutoff_type: int
    cutoff_alpha: float
    scaling: str
    normalized: bool
    mean_energy: float
    conv_energy: float
    conv_length: float
    atom_energy: List[float]
    normalize_nodes: bool
    architectures: List[List[int]]
    activations: List[str]
    symmetry_functions: List[List[Dict[str, Any]]]
    def compute(
        self,
        positions: np.ndarray,
        numbers: np.ndarray,
        cell: Optional[np.ndarray],
        pbc: Tuple[bool, bool, bool],
        forces: bool,
        stress: bool,
        energies: bool,
        threads: int,
        descriptors_only: bool = False,
        cache: Optional["NeighborCache"] = None,
        kernels: "KernelOptions" = ...,
    ) -> Dict[str, Any]: ...
    def compute_host(
        self,
        positions: np.ndarray,
        numbers: np.ndarray,
        centers: np.ndarray,
        offsets: np.ndarray,
        neighbors: np.ndarray,
        energies: bool = True,
        threads: int = 0,
    ) -> Dict[str, Any]: ...
    def symmetry_function_tangents(
        self,
        positions: np.ndarray,
        numbers: np.ndarray,
        cell: Optional[np.ndarray],
        pbc: Tuple[bool, bool, bool],
        tangents: np.ndarray,
        threads: int = 0,
        kernels: "KernelOptions" = ...,
    ) -> Dict[str, List[np.ndarray]]: ...

class NetworkGradients:
    """Derivatives of one element's network with respect to its weights and biases.

    ``compute`` returns a dict: ``energies`` (n,) network outputs E_a;
    ``input_gradient`` (n, n_sf) dE_a/dG_a or None; ``energy_gradient`` sum of dE_a/dw,
    (P,) or per group (n_groups, P), or None; with tangents u (n, n_sf):
    ``tangent_energies`` (n,) u_a . dE_a/dG_a and ``tangent_gradient`` the sum of
    their gradients sum_k u_ak d(dE_a/dG_ak)/dw, (P,) or (n_groups, P); else None.
    w in n2p2 weights-file order; groups: non-decreasing row group indices.
    """

    def __init__(self, sizes: List[int], activations: str, normalize_nodes: bool = False) -> None: ...
    @staticmethod
    def from_potential(potential: Potential, element: str) -> "NetworkGradients": ...
    @property
    def sizes(self) -> List[int]: ...
    @property
    def activations(self) -> str: ...
    @property
    def normalize_nodes(self) -> bool: ...
    @property
    def parameter_count(self) -> int: ...
    def compute(
        self,
        parameters: np.ndarray,
        inputs: np.ndarray,
        tangents: Optional[np.ndarray] = None,
        groups: Optional[np.ndarray] = None,
        n_groups: Optional[int] = None,
        input_gradient: bool = False,
        energy_gradient: bool = True,
        threads: int = 0,
    ) -> Dict[str, Optional[np.ndarray]]: ...

def network_parameters(potential: Potential, element: str) -> np.ndarray: ...

class Committee:
    cutoff: float
    groups: List[List[int]]
    def __init__(self, members: List[Potential]) -> None: ...
    def __len__(self) -> int: ...
    def compute(
        self,
        positions: np.ndarray,
        numbers: np.ndarray,
        cell: Optional[np.ndarray],
        pbc: Tuple[bool, bool, bool],
        forces: bool,
        stress: bool,
        energies: bool,
        threads: int,
        cache: Optional["NeighborCache"] = None,
        kernels: "KernelOptions" = ...,
        member_gradients: bool = True,
    ) -> Dict[str, Any]: ...
    def compute_host(
        self,
        positions: np.ndarray,
        numbers: np.ndarray,
        centers: np.ndarray,
        offsets: np.ndarray,
        neighbors: np.ndarray,
        energies: bool = True,
        threads: int = 0,
        member_gradients: bool = True,
    ) -> Dict[str, Any]: ...

class NeighborCache:
    def __init__(self, skin: float = 1.0) -> None: ...
    @property
    def skin(self) -> float: ...
    @property
    def rebuilds(self) -> int: ...
    def reset(self) -> None: ...

class KernelOptions:
    def __init__(
        self, *, simd_width: int = 0, pair_tape_limit: int = ..., angular_sum_run: int = ...
    ) -> None: ...
    @property
    def simd_width(self) -> int: ...
    @property
    def pair_tape_limit(self) -> int: ...
    @property
    def angular_sum_run(self) -> int: ...
    @property
    def lanes(self) -> int: ...

def load(directory: str) -> Potential: ...
def neighbor_list(
    positions: np.ndarray,
    cell: Optional[np.ndarray],
    pbc: Tuple[bool, bool, bool],
    cutoff: float,
    threads: int = 0,
    kernels: KernelOptions = ...,
) -> Tuple[np.ndarray, np.ndarray, np.ndarray]: ...
def atomic_number(symbol: str) -> int: ...
def element_symbol(atomic_number: int) -> str: ...
def have_openmp() -> bool: ...
def default_threads() -> int: ...
max_threads: int
def _best_simd_width() -> int: ...
def kernel_choice() -> Dict[str, Any]: ...
def _choose_kernel_width(
    vendor: str, family: int, model: int, widest: int, env: str = ...
) -> Dict[str, Any]: ...
