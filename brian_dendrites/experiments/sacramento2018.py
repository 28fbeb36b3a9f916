"""Sacramento et al. (2018) in Brian2 rate mode: the self-predicting state and Fig. 2.

Both runs go through the public training contract: Fig. 2 through
:class:`~brian_dendrites.learners.DendriticMicrocircuitRegressor` (with a
settling window), the self-predicting state through a
:class:`~brian_dendrites.engine.Session` (no targets: only the interneuron
rules learn). Settings were chosen with the NumPy reference
(docs/reproductions.md). ``examples/sacramento2018_*.py`` print and plot them;
``tests/test_reproductions.py`` checks their numbers.

References
----------
J. Sacramento, R. Ponte Costa, Y. Bengio, W. Senn, "Dendritic cortical
microcircuits approximate the backpropagation algorithm", NeurIPS 2018:
Fig. 2 (teacher-student regression), Fig. S1 (self-predicting state).
"""

from __future__ import annotations

import dataclasses
import time

import numpy as np
from brian2 import StateMonitor, ms

from ..activations import softplus_sacramento as phi
from ..circuits import dendritic_microcircuit, self_predicting_weights
from ..engine import Session
from ..lab import feedback_alignment_angles
from ..learners import DendriticMicrocircuitRegressor
from ..tasks import teacher_student_regression

__all__ = ["FIG2_LAYERS", "FIG2_SETTINGS", "FIG2_SCALES", "SELF_PREDICTING_SETTINGS", "mnist_comparison",
           "fig2_initial_weights", "fig2_backprop_baseline", "fig2_regression",
           "self_predicting_state"]

#: Student of the teacher-student task (teacher 30-20-10).
FIG2_LAYERS = (30, 50, 10)
#: Learner settings that make Fig. 2 learn (1000x the reimplementation defaults:
#: rates are ~0.05 and errors ~0.01). Each sample lasts 12 ms: 4 ms settling,
#: then 8 ms with plasticity on.
FIG2_SETTINGS = dict(eta_PP=(0.3 / ms, 3.0 / ms), eta_IP=3.0 / ms, eta_PI=1.0 / ms,
                     tau_w=30 * ms, t_pattern=12 * ms, t_settle=4 * ms)
#: Initial weights ``U(-a, a)/sqrt(n_pre)`` per family.
FIG2_SCALES = dict(W1=17.0, W2=10.0, B1=1.0)
#: Self-predicting run: logistic rates, no forward plasticity, fast interneuron rules.
SELF_PREDICTING_SETTINGS = dict(activation="logistic", weight_scale=4.0, eta_PP=0 / ms,
                                eta_IP=1.0 / ms, eta_PI=0.3 / ms, tau_w=3 * ms)


def fig2_initial_weights(layers=FIG2_LAYERS, seed=0, scales=FIG2_SCALES) -> dict:
    """Forward and feedback weights ``U(-a, a)/sqrt(n_pre)`` with per-family ``a``."""
    rng = np.random.default_rng(seed)
    n0, n1, n2 = layers
    return {"W1": rng.uniform(-1, 1, (n1, n0)) * scales["W1"] / np.sqrt(n0),
            "W2": rng.uniform(-1, 1, (n2, n1)) * scales["W2"] / np.sqrt(n1),
            "B1": rng.uniform(-1, 1, (n1, n2)) * scales["B1"] / np.sqrt(n2)}


def fig2_backprop_baseline(W, X, R, X_test, R_test, lr=(0.3, 10.0), every=200) -> list:
    """Online backprop (SGD, batch 1) of the student's shape from the same weights.

    The MLP computes ``phi(c_o W2 phi(c_h W1 x))`` with the microcircuit's
    attenuations ``c_h = 1/1.9``, ``c_o = 1/1.1``, so both start as the same
    function. Its loss is the one the dendritic rule descends for small
    nudging: output error ``phi(y) - r_trgt`` without the ``phi'`` factor.
    Learning rates per layer are the best of a grid (docs/reproductions.md).

    Returns
    -------
    list of (patterns, test MSE)
    """
    from ..reference.mlp import backprop_gradients

    Ws = [W["W1"] / 1.9, W["W2"] / 1.1]

    def err():
        return float(np.mean((phi(phi(X_test @ Ws[0].T) @ Ws[1].T) - R_test) ** 2))

    curve = [(0, err())]
    for i in range(len(X)):
        g = backprop_gradients(Ws, X[i], R[i], activation="softplus_sacramento",
                               output_activation=(phi, np.ones_like))
        Ws[0] -= lr[0] * g[0]
        Ws[1] -= lr[1] * g[1]
        if (i + 1) % every == 0:
            curve.append((i + 1, err()))
    return curve


def fig2_regression(n_train=2000, n_test=300, chunk=100, seed=0, every=200,
                    target="cpp_standalone", cache_dir=None, settings=None) -> dict:
    """Train the microcircuit on the teacher's data; return error curves beside backprop.

    Student 30-50-10 with 10 interneurons, teacher 30-20-10,
    ``r_trgt = phi(10 W2 phi(2 W1 r0))``; top-down weights fixed, started in
    the self-predicting state, all rules on. The test error is the mean
    squared error of output *rates* ``phi(u)`` against ``r_trgt`` on unseen
    patterns (free dynamics), every ``every`` training patterns.

    Parameters
    ----------
    n_train, n_test : int
        Training samples (one presentation each, in order) and test samples.
    chunk : int
        Samples per engine run.
    seed : int
        Seed of teacher, data and student weights.
    every : int
        Evaluate the test error every this many samples (a multiple of ``chunk``).
    target, cache_dir
        Engine target and standalone cache.
    settings : dict, optional
        Overrides of :data:`FIG2_SETTINGS` (learner arguments).

    Returns
    -------
    dict
        ``curve`` [(patterns, test MSE)], ``backprop`` (same for the MLP),
        ``angle_deg`` (``W2^T`` vs ``B1`` at the end), ``angle0_deg``,
        ``time_s``, ``weights``, ``learner``.
    """
    for name, val in (("n_train", n_train), ("n_test", n_test), ("every", every)):
        if isinstance(val, bool) or not isinstance(val, (int, np.integer)) or val < 1:
            raise ValueError(f"{name} must be a positive integer, got {val!r}")
    if every % chunk:
        raise ValueError(f"every ({every}) must be a multiple of chunk ({chunk})")
    train = teacher_student_regression(n_train, seed=seed)
    test = teacher_student_regression(n_test, seed=seed + 1000, weights=train.weights)
    W0 = fig2_initial_weights(seed=seed)
    net = DendriticMicrocircuitRegressor(
        list(FIG2_LAYERS), **{**FIG2_SETTINGS, **(settings or {})}, weights=W0,
        self_predicting=True, seed=seed, chunk=chunk, shuffle=False, warm_start=True,
        target=target, cache_dir=cache_dir, progress=False)

    def test_error():
        return float(np.mean((phi(net.predict(test.X)) - test.R) ** 2))

    t0 = time.perf_counter()
    net.fit(train.X[:1], train.U[:1], epochs=0)  # builds; no training
    curve = [(0, test_error())]
    for s in range(0, n_train, every):
        net.partial_fit(train.X[s:s + every], train.U[s:s + every])
        curve.append((min(s + every, n_train), test_error()))
    elapsed = time.perf_counter() - t0
    W = net.weights_
    return {"curve": curve, "time_s": elapsed, "weights": W, "learner": net,
            "backprop": fig2_backprop_baseline(W0, train.X, train.R, test.X, test.R, every=every),
            "angle_deg": feedback_alignment_angles([W["W1"], W["W2"]], [W["B1"]])[0],
            "angle0_deg": feedback_alignment_angles([W0["W1"], W0["W2"]], [W0["B1"]])[0]}


def self_predicting_state(layers=(8, 6, 4), n_train=200, n_probe=20, chunk=20, t_pattern=10 * ms,
                          seed=0, target="cpp_standalone", cache_dir=None, settings=None) -> dict:
    """Train the interneuron rules on random inputs; measure the apical potentials.

    A microcircuit starts from random weights, sees random inputs
    ``U(-1, 1)`` with no target, and only the interneuron rules are on
    (``IP``, eq. 8; ``PI``, eq. 9). Measured after every chunk: the RMS of the
    apical potentials ``v_A`` on held-out probe inputs (plasticity off, last
    step of each presentation) relative to its initial value, and the
    distances ``|W_PI + B|/|B|`` and ``|W_IP - s W_2|/|s W_2|`` to the
    self-predicting weights.

    Parameters
    ----------
    layers : sequence of int
        ``[n_in, n_hidden, n_out]`` (one hidden layer).
    n_train : int
        Random training patterns (a multiple of ``chunk``).
    n_probe : int
        Held-out probe patterns; equal to ``chunk`` (one run).
    chunk : int
        Patterns per engine run.
    t_pattern : Quantity (second)
        Presentation time per pattern.
    seed : int
        Seed of the initial weights and of the inputs.
    target, cache_dir
        Engine target and standalone cache.
    settings : dict, optional
        Overrides of :data:`SELF_PREDICTING_SETTINGS` (circuit arguments).

    Returns
    -------
    dict
        ``patterns``, ``va_rel``, ``pi_rel``, ``ip_rel`` (lists, one entry per
        chunk and the start), ``va_rms0`` and ``time_s``.
    """
    if n_probe != chunk or n_train % chunk:
        raise ValueError("n_probe must equal chunk and n_train must be a multiple of chunk")
    layers = list(layers)
    if len(layers) != 3:
        raise ValueError(f"layers must be [n_in, n_hidden, n_out], got {layers}")
    kw = {**SELF_PREDICTING_SETTINGS, **(settings or {})}

    def build():
        circ = dendritic_microcircuit(layers, n_patterns=chunk, t_pattern=t_pattern, seed=seed, **kw)
        va = StateMonitor(circ.objects["pyr1"], "v_A", record=True, when="end", name="va_mon")
        return dataclasses.replace(circ, objects={**circ.objects, "va_mon": va})

    t0 = time.perf_counter()
    session = Session(build, target=target, cache_dir=cache_dir, name="selfpredicting", seed=seed)
    steps = session.circuit.steps_per_slot
    rng = np.random.default_rng(seed + 1)
    P = rng.uniform(-1, 1, (n_probe, layers[0]))
    X = rng.uniform(-1, 1, (n_train, layers[0]))
    off = np.zeros(chunk)

    def probe():
        res = session.run({"x": P, "learn": off}, read=["va_mon.v_A"], carry=False)
        va = res["va_mon.v_A"][:, steps - 1::steps]  # last step of every pattern
        return float(np.sqrt(np.mean(va ** 2)))

    def distances():
        W = session.weights
        sIP = self_predicting_weights({"W1": None, "W2": W["W2"]}, {"B1": W["B1"]})["IP1"]
        return (float(np.linalg.norm(W["PI1"] + W["B1"]) / np.linalg.norm(W["B1"])),
                float(np.linalg.norm(W["IP1"] - sIP) / np.linalg.norm(sIP)))

    rms0 = probe()
    pi, ip = distances()
    out = {"patterns": [0], "va_rel": [1.0], "pi_rel": [pi], "ip_rel": [ip]}
    for start in range(0, n_train, chunk):
        session.run({"x": X[start:start + chunk], "learn": np.ones(chunk)})
        pi, ip = distances()
        out["patterns"].append(start + chunk)
        out["va_rel"].append(probe() / rms0)
        out["pi_rel"].append(pi)
        out["ip_rel"].append(ip)
    out["va_rms0"] = rms0
    out["time_s"] = time.perf_counter() - t0
    return out


def mnist_comparison(data, epochs=20, fast=False, eta_PP=0.04 / ms, eta_IP=0.006 / ms,
                     target=None, seed=0, cache_dir=None, log=print) -> dict:
    """Fig. 3: the steady-state microcircuit on MNIST beside its NumPy reference, backprop and FA.

    Trains, on the same images, (1) the Brian2 steady-state microcircuit
    (:class:`~brian_dendrites.learners.SteadyStateMicrocircuitClassifier`,
    one time step per sample), (2) the NumPy reference of the same procedure
    with the same online updates, (3) backprop and (4) feedback-alignment
    MLPs of the same shape (logistic units, targets 0.1/0.8, squared error;
    Adam 1e-3, mini-batches of 10), and records each one's test error per
    epoch and time per epoch.

    Parameters
    ----------
    data : path
        MNIST csv(.gz): 784 pixel columns then the label
        (:func:`~brian_dendrites.tasks.load_mnist`).
    epochs : int
        Training epochs.
    fast : bool
        Smoke run: 300 train / 200 test images, 784-30-30-10, at most 2
        epochs, numpy target unless ``target`` is given.
    eta_PP, eta_IP : Quantity (1/second)
        Microcircuit learning rates (per sample: times ``t_sample`` = 1 ms).
    target : str, optional
        Brian2 target (default ``cpp_standalone``; ``numpy`` when ``fast``).
    seed : int
        Seed of initial weights and sample order.
    cache_dir : path, optional
        Standalone build cache.
    log : callable or None
        Receives one progress line per epoch (``print`` by default).

    Returns
    -------
    dict
        ``curves`` (model -> test error per epoch), ``times`` (model ->
        median seconds per epoch), ``layers``, ``build_s``, ``dense``.
    """
    from ..activations import logistic_inverse
    from ..learners import SteadyStateMicrocircuitClassifier
    from ..reference.microcircuit import ReferenceMicrocircuit
    from ..reference.mlp import MLP
    from ..tasks import load_mnist, one_hot

    log = log or (lambda *a, **k: None)
    if fast:
        Xtr, ytr, Xte, yte = load_mnist(data, n_train=300, n_test=200, seed=0)
        layers, epochs, chunk = [784, 30, 30, 10], min(epochs, 2), 300
        target = target or "numpy"
    else:
        Xtr, ytr, Xte, yte = load_mnist(data, seed=0)
        layers, epochs, chunk = [784, 500, 500, 10], epochs, 1000
        target = target or "cpp_standalone"
    log(f"{len(Xtr)} train / {len(Xte)} test images, layers {layers}, {epochs} epochs")
    curves, times = {}, {}

    name = "brian2 steady state (online)"
    clf = SteadyStateMicrocircuitClassifier(layers, eta_PP=eta_PP, eta_IP=eta_IP, chunk=chunk,
                                            target=target, seed=seed, progress=False,
                                            cache_dir=cache_dir, warm_start=True)
    t0 = time.perf_counter()
    clf.fit(Xtr[:1], ytr[:1], epochs=0)  # compile (or reuse the cached binary)
    build_s = time.perf_counter() - t0
    dense = sorted(clf.session_.simulation.dense_synapses)
    log(f"brian2 steady state: build {build_s:.1f} s, dense projections {dense}")
    for ep in range(epochs):
        clf.partial_fit(Xtr, ytr, validation_data=(Xte, yte))
        row = clf.history_.iloc[-1]
        log(f"  epoch {ep + 1:2d}: test error {100 * row.val_loss:5.1f} %  "
            f"({row.time_s:.1f} s training)")
    curves[name] = list(clf.history_.val_loss)
    times[name] = float(np.median(clf.history_.time_s))

    name = "numpy reference (online)"
    ref = ReferenceMicrocircuit(layers, phi="logistic", bias=True, weight_scale=6.0, seed=seed)
    ref.init_self_predicting("steady_state")
    hist = ref.fit_steady_state(
        Xtr, logistic_inverse(one_hot(ytr, 10)), epochs=epochs, batch_size=1,
        eta_PP=float(eta_PP * ms), eta_IP=float(eta_IP * ms), X_val=Xte, y_val=yte,
        callback=lambda e, r: log(f"  numpy reference epoch {e:2d}: test error "
                                  f"{100 * r['val_error']:5.1f} % ({r['time']:.1f} s)"))
    curves[name] = [r["val_error"] for r in hist]
    times[name] = float(np.median([r["time"] for r in hist]))

    for name, feedback in (("backprop", "backprop"), ("feedback alignment", "fa")):
        mlp = MLP(layers, activation="logistic", output_activation="logistic", loss="mse",
                  task="classification", optimizer="adam", lr=1e-3, feedback=feedback,
                  target_low=0.1, target_high=0.8, seed=seed)
        mlp.fit(Xtr, ytr, epochs=epochs, batch_size=10, X_val=Xte, Y_val=yte)
        curves[name] = [r["val_score"] for r in mlp.history]
        times[name] = float(np.median([r["time"] for r in mlp.history]))
        log(f"  {name}: test error {100 * curves[name][-1]:5.1f} % after {epochs} epochs")
    return {"curves": curves, "times": times, "layers": layers, "build_s": build_s, "dense": dense}
