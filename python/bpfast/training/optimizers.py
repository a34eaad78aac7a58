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
``blocks`` decouples the filter: one P per block of w (per element), each block
updated from its own rows of H.
"""

from __future__ import annotations

import math
from typing import Dict, List, Optional, Sequence

import numpy as np

from .settings import TrainingOptions

try:  # in-place rank-1 update of the covariance (no P x P temporary)
    from scipy.linalg.blas import dger as _dger
except ImportError:  # pragma: no cover - depends on the installation
    _dger = None

__all__ = ["Adam", "KalmanFilter"]


class KalmanFilter:
    def __init__(self, n_params: int, options: TrainingOptions,
                 blocks: Optional[Sequence[slice]] = None):
        self.options = options
        self.blocks: List[slice] = list(blocks) if blocks else [slice(0, n_params)]
        self.covariances = [np.asfortranarray(np.eye(b.stop - b.start)) / options.kalman_epsilon
                            for b in self.blocks]
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

    def update(self, w: np.ndarray, errors: np.ndarray, jacobian: np.ndarray) -> None:
        """One update from ``errors`` (m,) = reference - prediction and ``jacobian``
        (P, m) = d prediction / dw."""
        errors = np.atleast_1d(np.asarray(errors, dtype=np.float64))
        m = len(errors)
        fading = self.options.kalman_type == 1
        for block, cov in zip(self.blocks, self.covariances):
            h = jacobian[block]
            x = cov @ h
            a = h.T @ x
            a[np.diag_indices(m)] += self.fading if fading else 1.0 / self.eta
            gain = np.linalg.solve(a, x.T).T  # X A^-1 (A symmetric)
            w[block] += gain @ errors
            if m == 1 and _dger is not None and cov.flags.f_contiguous:
                _dger(-1.0, gain[:, 0], x[:, 0], a=cov, overwrite_a=True)
            else:
                cov -= gain @ x.T
            if fading:
                cov /= self.fading
            else:
                cov[np.diag_indices(len(cov))] += self.q
        if fading:
            nue = self.options.kalman_nue_short
            self.fading = nue * self.fading + 1.0 - nue
        self.updates += 1

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
