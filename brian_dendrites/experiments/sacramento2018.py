"""Sacramento et al. (2018) in Brian2 rate mode: the self-predicting state and Fig. 2.

Both runs go through the public training contract: Fig. 2 through
:class:`~brian_dendrites.learners.DendriticMicrocircuitRegressor` with its
default rates, beside output-only learning and NumPy backprop and
feedback-alignment MLPs on the same samples; the self-predicting state
through a :class:`~brian_dendrites.engine.Session` (no targets: only the
interneuron rules learn). Protocol and settings:
../shared/notes/sacramento-fig2-probe.md and docs/reproductions.md.
``examples/sacramento2018_*.py`` print and plot them; ``tests/test_reproductions.py``
checks their numbers.

References
----------
J. Sacramento, R. Ponte Costa, Y. Bengio, W. Senn, "Dendritic cortical
microcircuits approximate the backpropagation algorithm", NeurIPS 2018:
Fig. 2 (teacher-student regression), Fig. S1 (self-predicting state).
"""

from __future__ import annotations

import time

import numpy as np
from brian2 import ms

from .._validation import check_choice, check_int, check_positive, check_time
from ..activations import softplus_sacramento as phi
from ..activations import softplus_sacramento_prime as phi_prime
from ..circuits.microcircuit import default_learning_rates
from ..lab import error_signal_angles, feedback_alignment_angles
from ..learners import DendriticMicrocircuitRegressor
from ..tasks import teacher_student_regression
from .sacramento2018_mnist import mnist_comparison
from .sacramento2018_self_predicting import SELF_PREDICTING_SETTINGS, self_predicting_state

__all__ = ["FIG2_LAYERS", "FIG2_PAPER", "FIG2_CI", "FIG2_MLP_RATES", "SELF_PREDICTING_SETTINGS",
           "mnist_comparison", "fig2_mlp_baseline", "fig2_regression", "self_predicting_state"]

#: Student of the teacher-student task (teacher 30-20-10).
FIG2_LAYERS = (30, 50, 10)
#: The paper's protocol (Fig. 2): 100 ms patterns, 10^4 of them, noise on.
FIG2_PAPER = dict(t_pattern=100 * ms, n_train=10_000, sigma=0.1 / ms ** 0.5)
#: The CI-sized protocol: 20 ms patterns (default rates 5x), 4000 of them.
FIG2_CI = dict(t_pattern=20 * ms, n_train=4000, sigma=0.1 / ms ** 0.5)
#: Per-sample learning rates of the NumPy MLP baselines (grid; the best final
#: test error of each baseline is reported, as in the protocol study).
FIG2_MLP_RATES = (0.3, 1.0, 3.0, 10.0, 30.0)
#: Free steady-state attenuations ``g_B/(g_L+g_B+g_A)``, ``g_B/(g_L+g_B)``.
_C_HIDDEN, _C_OUTPUT = 1 / 1.9, 1 / 1.1

def fig2_mlp_baseline(W0, B, X, R, X_test, R_test, lr, feedback="backprop", every=500) -> dict:
    """Online SGD (batch 1) of the student's MLP from the circuit's initial weights.

    The MLP ``phi(c_o W2 phi(c_h W1 x))`` is the microcircuit's free steady
    state (``c_h = 1/1.9``, ``c_o = 1/1.1``), so both start as the same
    function. Its output error is ``phi(y) - r_trgt`` without a ``phi'``
    factor, the error the nudged dendritic rule descends.

    Parameters
    ----------
    W0 : dict
        Initial ``W1`` (50, 30) and ``W2`` (10, 50) of the circuit.
    B : array, shape (50, 10)
        Feedback weights (used by ``'fa'``).
    X, R : arrays
        Training inputs and target rates (one SGD step per row, in order).
    X_test, R_test : arrays
        Test inputs and target rates.
    lr : float
        Learning rate of both layers (per sample, on the effective weights
        ``c W``).
    feedback : {'backprop', 'fa', 'shallow'}
        Hidden error through ``W2^T`` (backprop), through ``B`` (feedback
        alignment, Lillicrap et al. 2016), or no hidden learning.
    every : int
        Test every this many samples.

    Returns
    -------
    dict
        ``patterns``, ``test_mse``, ``weight_angle``, ``error_angle`` (lists;
        a diverged run ends at its first non-finite test point, with NaN).
    """
    check_choice(feedback, "feedback", ("backprop", "fa", "shallow"))
    lr = check_positive(lr, "lr")
    W1, W2 = _C_HIDDEN * np.array(W0["W1"], float), _C_OUTPUT * np.array(W0["W2"], float)
    B = np.asarray(B, float)
    out = {"patterns": [], "test_mse": [], "weight_angle": [], "error_angle": []}

    def record(n):
        if not (np.all(np.isfinite(W1)) and np.all(np.isfinite(W2))):
            out["patterns"].append(n)
            for key in ("test_mse", "weight_angle", "error_angle"):
                out[key].append(float("nan"))
            return False
        h = phi(X_test @ W1.T)
        y = phi(h @ W2.T)
        out["patterns"].append(n)
        out["test_mse"].append(float(np.mean((y - R_test) ** 2)))
        out["weight_angle"].append(feedback_alignment_angles([W1, W2], [B])[0])
        out["error_angle"].append(error_signal_angles([W1, W2], [B], X_test, y - R_test,
                                                      "softplus_sacramento")[0])
        return True

    record(0)
    for i in range(len(X)):
        a1 = W1 @ X[i]
        h = phi(a1)
        e = phi(W2 @ h) - R[i]
        if feedback != "shallow":
            back = W2.T @ e if feedback == "backprop" else B @ e
            W1 -= lr * np.outer(back * phi_prime(a1), X[i])
        W2 -= lr * np.outer(e, h)
        if ((i + 1) % every == 0 or i + 1 == len(X)) and not record(i + 1):
            break  # diverged: the curve ends with NaN
    return out


def fig2_regression(n_train=FIG2_CI["n_train"], t_pattern=FIG2_CI["t_pattern"], n_test=300,
                    every=500, seed=0, sigma=FIG2_CI["sigma"], settings=None,
                    mlp_rates=FIG2_MLP_RATES, target="cpp_standalone", cache_dir=None,
                    log=print):
    """Fig. 2: does the hidden layer learn through apical errors? Circuit beside baselines.

    Student 30-50-10 with 10 interneurons, teacher 30-20-10,
    ``r_trgt = phi(10 W2 phi(2 W1 r0))``, inputs and all weights U(-1, 1),
    self-predicting start, top-down weights fixed, 3 ms input low-pass,
    output nudged toward the teacher's potential; the learner's default
    rates for ``t_pattern``. Trained on the same samples in the same order:

    (a) ``full``: the microcircuit, all rules on (Brian2);
    (b) ``output_only``: the same circuit with the hidden forward rate 0
        (shallow learning: the yardstick of hidden-layer credit assignment);
    (c) ``backprop``: an MLP of the student's free steady state, online SGD;
    (d) ``feedback_alignment``: the same MLP with hidden errors through the
        circuit's own ``B``.

    Test error: MSE per output unit of rates ``phi(u)`` against ``r_trgt`` on
    ``n_test`` unseen patterns (free, noise-free dynamics), every ``every``
    patterns; angles: ``angle(W2^T, B1)`` and the mean angle between the
    hidden error signal carried by ``B1`` and backprop's (on the test set).

    Parameters
    ----------
    n_train, n_test : int
        Training and test patterns.
    t_pattern : Quantity (second)
        Presentation time (paper: 100 ms, :data:`FIG2_PAPER`; CI: 20 ms,
        :data:`FIG2_CI`).
    every : int
        Test every this many patterns.
    seed : int
        Seed of teacher and training data (test data: ``seed + 1000``) and of
        the student's weights.
    sigma : Quantity (1/sqrt(second)) or None
        Somatic noise during training (the paper's: ``0.1/sqrt(ms)``).
    settings : dict, optional
        Further :class:`~brian_dendrites.learners.DendriticMicrocircuitRegressor`
        arguments (e.g. rates) for both circuit runs.
    mlp_rates : sequence of float
        Learning-rate grid of the MLP baselines (best final test error kept).
    target, cache_dir
        Engine target and standalone cache.
    log : callable or None
        Receives one progress line per test point.

    Returns
    -------
    dict
        ``table``: a tidy :class:`pandas.DataFrame` (``model``, ``patterns``,
        ``test_mse``, ``weight_angle``, ``error_angle``); ``summary``: one row
        per model at the end (with ``mlp_lr`` for the baselines);
        ``time_s``: wall time per circuit run; ``weights``: final weights of (a).
    """
    import pandas as pd

    for name, val in (("n_train", n_train), ("n_test", n_test), ("every", every)):
        check_int(val, name, minimum=1)
    if n_train % every:
        raise ValueError(f"every ({every}) must divide n_train ({n_train})")
    check_time(t_pattern, "t_pattern")
    if settings is not None and not isinstance(settings, dict):
        raise TypeError(f"settings must be a dict of learner arguments, got {type(settings).__name__}")
    rates = [check_positive(r, "mlp_rates") for r in mlp_rates]
    if not rates:
        raise ValueError("mlp_rates: give at least one learning rate")
    log = log or (lambda *a, **k: None)
    train = teacher_student_regression(n_train, seed=seed)
    test = teacher_student_regression(n_test, seed=seed + 1000, weights=train.weights)
    rows, times, final_weights = [], {}, None
    for model in ("full", "output_only"):
        kw = dict(t_pattern=t_pattern, sigma=sigma, seed=seed, shuffle=False, warm_start=True,
                  target=target, cache_dir=cache_dir, progress=False, **(settings or {}))
        if model == "output_only":
            eta = default_learning_rates(FIG2_LAYERS, t_pattern)["eta_PP"]
            eta = (settings or {}).get("eta_PP", eta)
            eta = list(eta) if isinstance(eta, (list, tuple)) else [eta, eta]
            kw["eta_PP"] = [0 / ms] + eta[1:]
        net = DendriticMicrocircuitRegressor(list(FIG2_LAYERS), **kw)
        net.fit(train.X[:1], train.U[:1], epochs=0)  # builds; no training
        W0 = net.weights_
        t0 = time.perf_counter()
        for start in range(0, n_train + 1, every):
            if start:
                net.partial_fit(train.X[start - every:start], train.U[start - every:start])
            W = net.weights_
            y = phi(net.predict(test.X))
            rows.append(dict(model=model, patterns=start,
                             test_mse=float(np.mean((y - test.R) ** 2)),
                             weight_angle=feedback_alignment_angles([W["W1"], W["W2"]], [W["B1"]])[0],
                             error_angle=error_signal_angles(
                                 [W["W1"], W["W2"]], [W["B1"]], test.X, y - test.R,
                                 attenuations=(_C_HIDDEN, _C_OUTPUT))[0]))
            log(f"{model:12s} {start:6d} patterns: test MSE {rows[-1]['test_mse']:.3e}, "
                f"weight angle {rows[-1]['weight_angle']:.1f}, "
                f"error angle {rows[-1]['error_angle']:.1f} deg")
        times[model] = time.perf_counter() - t0
        if model == "full":
            final_weights = net.weights_
    for model, feedback in (("backprop", "backprop"), ("feedback_alignment", "fa")):
        best = None
        for lr in rates:
            with np.errstate(over="ignore", invalid="ignore"):
                res = fig2_mlp_baseline(W0, W0["B1"], train.X, train.R, test.X, test.R, lr,
                                        feedback, every)
            if np.isfinite(res["test_mse"][-1]) and (best is None or
                                                      res["test_mse"][-1] < best[1]["test_mse"][-1]):
                best = (lr, res)
        if best is None:
            raise RuntimeError(f"{model}: every learning rate of mlp_rates diverged")
        lr, res = best
        for i, n in enumerate(res["patterns"]):
            rows.append(dict(model=model, patterns=n, test_mse=res["test_mse"][i],
                             weight_angle=res["weight_angle"][i], error_angle=res["error_angle"][i],
                             mlp_lr=lr))
        log(f"{model:12s} (lr {lr:g}): test MSE {res['test_mse'][-1]:.3e}")
    table = pd.DataFrame(rows)
    summary = table.loc[table.groupby("model", sort=False)["patterns"].idxmax()].reset_index(drop=True)
    return {"table": table, "summary": summary, "time_s": times, "weights": final_weights}
