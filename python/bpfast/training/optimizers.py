"""Weight updates: n2p2's extended Kalman filter and Adam.

Both act on the parameter vector w in place and keep their state in NumPy arrays
(``state()`` / ``load_state()`` for checkpoints).

Kalman filter (n2p2's ``KalmanFilter``), for observations with errors xi = y_ref - y
(m,) and Jacobian H = dy/dw (P, m)::

    X = P H;  A = H^T X + I / eta;  K = X A^-1
    P <- P - K X^T + q I;  w <- w + K xi

(fading memory, ``kalman_type 1``: A = H^T X + lambda I, P <- (P - K X^T) / lambda,
lambda <- nue lambda + 1 - nue). P starts as I / epsilon; eta and q follow n2p2's
schedules in the training progress t (epochs, fractional within an epoch):
eta = min(eta0 exp(t / etatau), etamax), q = max(q0 exp(-t / qtau), qmin).
``blocks`` decouples the filter (decoupled extended Kalman filter): one P per block
of w (per element), P_b H_b from the block's rows of H, A summed over the blocks.
"""

from __future__ import annotations

import math
from typing import Dict, List, Optional, Sequence

import numpy as np

from .settings import TrainingOptions

try:  # symmetric BLAS on the lower triangle of the covariance, in place
    from scipy.linalg import blas as _blas
    from scipy.linalg import solve_triangular as _solve_triangular
except ImportError:  # pragma: no cover - depends on the installation
    _blas = None

__all__ = ["Adam", "KalmanFilter"]


def _diagonal(cov: np.ndarray) -> np.ndarray:
    """A writable view of the diagonal of a square Fortran- or C-ordered matrix."""
    flat = cov.reshape(-1, order="F" if cov.flags.f_contiguous else "C")
    return flat[::len(cov) + 1]


def _right_solve(chol: np.ndarray, x: np.ndarray) -> np.ndarray:
    """X L^-T for a lower-triangular L (m, m) and X (P, m)."""
    if _blas is not None:
        return _solve_triangular(chol, x.T, lower=True, check_finite=False).T
    return np.linalg.solve(chol, x.T).T


class KalmanFilter:
    """n2p2's extended Kalman filter (see the module docstring).

    With SciPy, each covariance matrix is kept in Fortran order and only its lower
    triangle is maintained: P H by a symmetric product (``dsymm``/``dsymv``) and the
    update P <- P - X A^-1 X^T as a symmetric rank-m update (``dsyrk``/``dsyr``) of
    Y = X L^-T (A = L L^T), all in place, so that an update reads and writes half of P
    once and allocates nothing of P's size. :meth:`covariance` returns the full
    symmetric matrix. Without SciPy the whole matrix is updated with NumPy.
    """

    def __init__(self, n_params: int, options: TrainingOptions,
                 blocks: Optional[Sequence[slice]] = None):
        self.options = options
        self.blocks: List[slice] = list(blocks) if blocks else [slice(0, n_params)]
        self.covariances = []
        for b in self.blocks:
            cov = np.zeros((b.stop - b.start, b.stop - b.start), order="F")
            _diagonal(cov)[:] = 1.0 / options.kalman_epsilon
            self.covariances.append(cov)
        self.progress = 0.0
        self.fading = float(options.kalman_lambda_short)
        self.updates = 0

    @property
    def eta(self) -> float:
        o = self.options
        return min(o.kalman_eta * math.exp(self.progress / o.kalman_etatau), o.kalman_etamax)

    @property
    def q(self) -> float:
        o = self.options
        return max(o.kalman_q0 * math.exp(-self.progress / o.kalman_qtau), o.kalman_qmin)

    def covariance(self, k: int = 0) -> np.ndarray:
        """The full (symmetric) covariance matrix of block ``k``, a copy."""
        cov = self.covariances[k]
        if _blas is None:
            return cov.copy()
        lower = np.tril(cov)
        return lower + np.tril(cov, -1).T

    def update(self, w: np.ndarray, errors: np.ndarray, jacobian: np.ndarray) -> None:
        """One update from ``errors`` (m,) = reference - prediction and ``jacobian``
        (P, m) = d prediction / dw (best passed as the transpose of a C-ordered (m, P)
        array, which is Fortran-ordered).

        With several blocks, the filter is the decoupled extended Kalman filter: the
        covariance is block diagonal, A = sum_b H_b^T P_b H_b + I / eta is shared and
        each block takes K_b = P_b H_b A^-1."""
        errors = np.atleast_1d(np.asarray(errors, dtype=np.float64))
        m = len(errors)
        fading = self.options.kalman_type == 1
        hs = [np.asfortranarray(jacobian[block]) for block in self.blocks]
        xs = [self._times_covariance(k, h) for k, h in enumerate(hs)]  # X_b = P_b H_b
        a = sum(h.T @ x for h, x in zip(hs, xs))
        a[np.diag_indices(m)] += self.fading if fading else 1.0 / self.eta
        chol = np.linalg.cholesky(a)  # A = L L^T
        step = np.linalg.solve(a, errors)
        for k, (block, x) in enumerate(zip(self.blocks, xs)):
            w[block] += x @ step
            self._subtract_outer(k, _right_solve(chol, x))  # P_b -= (X L^-T)(X L^-T)^T
            cov = self.covariances[k]
            if fading:
                cov /= self.fading
            else:
                _diagonal(cov)[:] += self.q
        if fading:
            nue = self.options.kalman_nue_short
            self.fading = nue * self.fading + 1.0 - nue
        self.updates += 1

    def _symmetric(self, k: int) -> bool:
        """Whether covariance k is kept as its lower triangle (SciPy's BLAS)."""
        return _blas is not None and self.covariances[k].flags.f_contiguous

    def _times_covariance(self, k: int, h: np.ndarray) -> np.ndarray:
        """P_k H (P_k, m)."""
        cov = self.covariances[k]
        if not self._symmetric(k):
            return cov @ h
        if h.shape[1] == 1:
            return _blas.dsymv(1.0, cov, h[:, 0], lower=1)[:, None]
        return _blas.dsymm(1.0, cov, h, lower=1)

    def _subtract_outer(self, k: int, y: np.ndarray) -> None:
        """P_k <- P_k - Y Y^T, in place (lower triangle only when symmetric)."""
        cov = self.covariances[k]
        if not self._symmetric(k):
            cov -= y @ y.T
        elif y.shape[1] == 1:
            self.covariances[k] = _blas.dsyr(-1.0, y[:, 0], a=cov, lower=1, overwrite_a=1)
        else:
            self.covariances[k] = _blas.dsyrk(-1.0, np.asfortranarray(y), beta=1.0, c=cov,
                                              lower=1, overwrite_c=1)

    def state(self) -> Dict[str, np.ndarray]:
        out = {f"kalman_p{k}": c for k, c in enumerate(self.covariances)}
        out["kalman_scalars"] = np.array([self.progress, self.fading, self.updates])
        return out

    def load_state(self, state) -> None:
        self.covariances = [np.array(state[f"kalman_p{k}"], order="F")
                            for k in range(len(self.blocks))]
        self.progress, self.fading, updates = state["kalman_scalars"]
        self.updates = int(updates)


class Adam:
    """Adam (Kingma & Ba) with n2p2's keywords gradient_adam_eta/beta1/beta2/epsilon."""

    def __init__(self, n_params: int, options: TrainingOptions):
        self.eta = options.gradient_adam_eta
        self.beta1 = options.gradient_adam_beta1
        self.beta2 = options.gradient_adam_beta2
        self.epsilon = options.gradient_adam_epsilon
        self.m = np.zeros(n_params)
        self.v = np.zeros(n_params)
        self.updates = 0
        self.progress = 0.0

    def step(self, w: np.ndarray, gradient: np.ndarray) -> None:
        """w <- w - eta m_hat / (sqrt(v_hat) + epsilon) for the loss gradient."""
        self.updates += 1
        self.m = self.beta1 * self.m + (1.0 - self.beta1) * gradient
        self.v = self.beta2 * self.v + (1.0 - self.beta2) * gradient * gradient
        m_hat = self.m / (1.0 - self.beta1 ** self.updates)
        v_hat = self.v / (1.0 - self.beta2 ** self.updates)
        w -= self.eta * m_hat / (np.sqrt(v_hat) + self.epsilon)

    def state(self) -> Dict[str, np.ndarray]:
        return {"adam_m": self.m, "adam_v": self.v,
                "adam_scalars": np.array([self.updates, self.progress])}

    def load_state(self, state) -> None:
        self.m, self.v = np.array(state["adam_m"]), np.array(state["adam_v"])
        updates, self.progress = state["adam_scalars"]
        self.updates = int(updates)
