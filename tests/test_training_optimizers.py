"""Optimisers of training: the Kalman filter against recursive least squares and its
in-place rank-one update against the matrix formula; Adam's state round trip."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from bpfast.training.optimizers import Adam, KalmanFilter
from bpfast.training.settings import TrainingOptions


def test_kalman_without_process_noise_solves_linear_least_squares():
    # y = H^T w: with q = 0 and eta = 1 the filter is recursive least squares with a
    # prior of variance 1/epsilon, whose limit is the least-squares solution.
    o = replace(TrainingOptions(), kalman_q0=0.0, kalman_qmin=0.0, kalman_eta=1.0,
                kalman_etamax=1.0, kalman_epsilon=1e-8)
    rng = np.random.default_rng(0)
    truth = rng.normal(size=6)
    rows = rng.normal(size=(40, 6))
    y = rows @ truth + rng.normal(scale=0.01, size=40)
    kf, w = KalmanFilter(6, o), np.zeros(6)
    for h, target in zip(rows, y):
        kf.update(w, np.array([target - h @ w]), h[:, None])
    expected = np.linalg.lstsq(rows, y, rcond=None)[0]
    assert np.allclose(w, expected, atol=1e-6)


def _reference_update(p, w, errors, h, eta, q):
    """n2p2's formulas on the full matrix, written out."""
    x = p @ h
    gain = x @ np.linalg.inv(h.T @ x + np.eye(len(errors)) / eta)
    return p - gain @ x.T + q * np.eye(len(p)), w + gain @ errors


@pytest.mark.parametrize("m", [1, 2, 5])
def test_in_place_symmetric_update_equals_the_matrix_formula(m):
    o = TrainingOptions()
    rng = np.random.default_rng(1)
    kf, w = KalmanFilter(30, o), np.zeros(30)
    p_ref, w_ref = np.eye(30) / o.kalman_epsilon, np.zeros(30)
    for step in range(6):
        kf.progress = step / 4
        jac = rng.normal(size=(m, 30))  # (m, P) C order: its transpose is (P, m)
        e = rng.normal(size=m)
        p_ref, w_ref = _reference_update(p_ref, w_ref, e, jac.T, kf.eta, kf.q)
        kf.update(w, e, jac.T)
    assert np.allclose(kf.covariance(0), p_ref, rtol=1e-10, atol=1e-10)
    assert np.allclose(w, w_ref, rtol=1e-10, atol=1e-13)


def test_numpy_path_equals_the_symmetric_path():
    o = TrainingOptions()
    rng = np.random.default_rng(4)
    fast, plain = KalmanFilter(20, o), KalmanFilter(20, o)
    plain.covariances = [np.ascontiguousarray(plain.covariances[0])]  # the NumPy path
    wf, wp = np.zeros(20), np.zeros(20)
    for m in (1, 3, 1, 4):
        h, e = rng.normal(size=(20, m)), rng.normal(size=m)
        fast.update(wf, e, h)
        plain.update(wp, e, h)
    assert np.allclose(fast.covariance(0), plain.covariance(0), rtol=1e-10, atol=1e-10)
    assert np.allclose(wf, wp, rtol=1e-10, atol=1e-14)


@pytest.mark.parametrize("m", [1, 3])
def test_decoupled_filter_is_the_joint_filter_with_a_block_diagonal_covariance(m):
    # Decoupled EKF: each update is the joint update with the block-diagonal P, whose
    # off-diagonal blocks are then dropped.
    o = TrainingOptions()
    rng = np.random.default_rng(2)
    blocks = [slice(0, 3), slice(3, 8)]
    kf, w = KalmanFilter(8, o, blocks), np.zeros(8)
    p_ref, w_ref = np.eye(8) / o.kalman_epsilon, np.zeros(8)
    mask = np.zeros((8, 8), dtype=bool)
    for b in blocks:
        mask[b, b] = True
    for _ in range(5):
        h, e = rng.normal(size=(8, m)), rng.normal(size=m)
        p_ref, w_ref = _reference_update(p_ref, w_ref, e, h, kf.eta, kf.q)
        p_ref = np.where(mask, p_ref, 0.0)
        kf.update(w, e, h)
    assert np.allclose(w, w_ref, rtol=1e-10, atol=1e-13)
    for k, b in enumerate(blocks):
        assert np.allclose(kf.covariance(k), p_ref[b, b], rtol=1e-10, atol=1e-10)


def test_state_round_trip_continues_identically():
    o = TrainingOptions()
    rng = np.random.default_rng(3)
    grads = rng.normal(size=(6, 5))
    for make in (lambda: Adam(5, o), lambda: KalmanFilter(5, o)):
        a, w = make(), np.zeros(5)
        for g in grads[:3]:
            a.step(w, g) if isinstance(a, Adam) else a.update(w, g[:1], g[:, None])
        b, wb = make(), w.copy()
        b.load_state(a.state())
        for g in grads[3:]:
            for opt, x in ((a, w), (b, wb)):
                opt.step(x, g) if isinstance(opt, Adam) else opt.update(x, g[:1], g[:, None])
        assert np.array_equal(w, wb)
