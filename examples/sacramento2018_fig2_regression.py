"""Sacramento et al. (2018), Fig. 2: teacher-student regression learned by the microcircuit.

Brian2 rate mode (full continuous dynamics, ``cpp_standalone``). Student
30-50-10 with 10 interneurons, teacher 30-20-10,
``r_trgt = phi(10 W2 phi(2 W1 r0))``, ``phi(u) = 0.1 log(1 + exp(u - 3))``,
inputs and teacher weights ``U(-1, 1)``, top-down weights fixed, started in
the self-predicting state, all rules on (forward, IP, PI). The output is
nudged toward the teacher's potential ``u_trgt = 10 W2 phi(2 W1 r0)``.

Printed and plotted: the noise-free test error (mean squared error of output
*rates* ``phi(u)`` against ``r_trgt`` on 300 unseen patterns, free dynamics)
against the number of training patterns, beside a backprop MLP of the
student's shape trained online on the same samples from the same initial
weights, and the angle between forward weights ``W2^T`` and feedback ``B1``.

Scales that make it learn (found with the NumPy reference, see
docs/reproductions.md): initial weights ``U(-17, 17)/sqrt(30)`` (hidden
potentials spread over the softplus threshold) and ``U(-10, 10)/sqrt(50)``
(output), ``B1 ~ U(-1, 1)/sqrt(10)``; learning rates per family
``eta_PP = (0.3, 3)/ms``, ``eta_IP = 3/ms``, ``eta_PI = 1/ms``
(1000x the reimplementation defaults: rates are ~0.05 and errors ~0.01);
each sample is shown for 12 ms as three 4 ms sub-patterns, plasticity off in
the first (the somata settle; without this the transient mismatch between
the instantaneous dendritic prediction and the lagging soma drives weights
more than the teacher does, and nothing is learned).

Run ``python examples/sacramento2018_fig2_regression.py [--fast] [--out fig.png]``.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from brian2 import ms

from brian_dendrites.circuits import dendritic_microcircuit, matrix_to_synapses, synapses_to_matrix
from brian_dendrites.engine import Simulation
from brian_dendrites.lab import feedback_alignment_angles
from brian_dendrites.reference.microcircuit import softplus_sacramento as phi
from brian_dendrites.tasks import teacher_student_regression

LAYERS = (30, 50, 10)
SETTINGS = dict(eta_PP=(0.3, 3.0), eta_IP=3.0, eta_PI=1.0, tau_w=30 * ms)
SCALES = dict(W1=17.0, W2=10.0, B1=1.0)
SUB = 3  # sub-patterns per sample: 1 settling (no plasticity) + 2 learning


def initial_weights(layers=LAYERS, seed=0, scales=SCALES):
    """Forward and feedback weights ``U(-a, a)/sqrt(n_pre)`` with per-family ``a``."""
    rng = np.random.default_rng(seed)
    n0, n1, n2 = layers
    return {"W1": rng.uniform(-1, 1, (n1, n0)) * scales["W1"] / np.sqrt(n0),
            "W2": rng.uniform(-1, 1, (n2, n1)) * scales["W2"] / np.sqrt(n1),
            "B1": rng.uniform(-1, 1, (n1, n2)) * scales["B1"] / np.sqrt(n2)}


def backprop_baseline(W, X, R, X_test, R_test, lr=(0.3, 10.0), every=200):
    """Online backprop (SGD, batch 1) of the student's shape from the same weights.

    The MLP computes ``phi(c_o W2 phi(c_h W1 x))`` with the microcircuit's
    attenuations ``c_h = 1/1.9``, ``c_o = 1/1.1``, so both start as the same
    function. Its loss is the one the dendritic rule descends for small
    nudging: output error ``phi(y) - r_trgt`` without the ``phi'`` factor
    (``backprop_gradients`` with output activation ``(phi, 1)``). Learning
    rates per layer are the best of a grid (docs/reproductions.md).

    Returns
    -------
    list of (patterns, test MSE)
    """
    from brian_dendrites.reference.mlp import backprop_gradients

    ones = lambda u: np.ones_like(u)  # noqa: E731
    Ws = [W["W1"] / 1.9, W["W2"] / 1.1]

    def err():
        return float(np.mean((phi(phi(X_test @ Ws[0].T) @ Ws[1].T) - R_test) ** 2))

    curve = [(0, err())]
    for i in range(len(X)):
        g = backprop_gradients(Ws, X[i], R[i], activation="softplus_sacramento",
                               output_activation=(phi, ones))
        Ws[0] -= lr[0] * g[0]
        Ws[1] -= lr[1] * g[1]
        if (i + 1) % every == 0:
            curve.append((i + 1, err()))
    return curve


def run_regression(n_train=2000, n_test=300, chunk=100, t_sub=4 * ms, seed=0, every=200,
                   target="cpp_standalone", cache_dir=None, **settings):
    """Train the Brian2 microcircuit on the teacher's data; return error curves.

    Parameters
    ----------
    n_train, n_test : int
        Training samples (one presentation each) and unseen test samples
        (multiples of ``chunk``).
    chunk : int
        Samples per engine run.
    t_sub : Quantity (second)
        Sub-pattern length; a sample lasts ``3 t_sub``.
    seed : int
        Seed of teacher, data and student weights.
    every : int
        Evaluate the test error every this many samples (a multiple of chunk).
    target, cache_dir
        Engine target and standalone cache.
    **settings
        Overrides of :data:`SETTINGS`.

    Returns
    -------
    dict
        ``curve`` [(patterns, test MSE)], ``backprop`` (same for the MLP),
        ``angle_deg`` (``W2^T`` vs ``B1`` at the end), ``angle0_deg``,
        ``time_s``, ``weights``.
    """
    if n_train % chunk or n_test % chunk or every % chunk:
        raise ValueError("n_train, n_test and every must be multiples of chunk")
    kw = {**SETTINGS, **settings}
    train = teacher_student_regression(n_train, seed=seed)
    test = teacher_student_regression(n_test, seed=seed + 1000, weights=train.weights)
    W0 = initial_weights(seed=seed)
    n_sub = SUB * chunk

    def build():
        circ = dendritic_microcircuit(list(LAYERS), n_patterns=n_sub, t_pattern=t_sub, weights=W0,
                                      self_predicting=True, seed=seed, **kw)
        build.circuit = circ
        return circ.objects

    t0 = time.perf_counter()
    sim = Simulation(build, n_sub * t_sub, target=target, cache_dir=cache_dir, name="fig2regression",
                     seed=seed)
    first = sim.run({"learn_in.values": np.zeros(n_sub)}, read=sim.state_variables)
    state = {k: np.asarray(first[k]) if k.endswith(".w") else np.zeros_like(np.asarray(first[k]))
             for k in sim.state_variables}
    for name, W in build.circuit.info["initial_weights"].items():
        state[f"{name}.w"] = matrix_to_synapses(W)
    learn_mask = np.tile([0.0] + [1.0] * (SUB - 1), chunk)

    def rep(a):
        return np.repeat(a, SUB, axis=0)

    def test_error(st):
        outs = []
        for s in range(0, n_test, chunk):
            res = sim.run({**st, "x_in.values": rep(test.X[s:s + chunk]),
                           "learn_in.values": np.zeros(n_sub), "nudge_in.values": np.zeros(n_sub)},
                          read=["out_mon.u", "pyr2.u"])
            u = np.concatenate([res["out_mon.u"][:, 1:], res["pyr2.u"][:, None]], axis=1)
            outs.append(u[:, SUB - 1::SUB].T)  # end of each sample's last sub-pattern
        return float(np.mean((phi(np.concatenate(outs)) - test.R) ** 2))

    curve = [(0, test_error(state))]
    for s in range(0, n_train, chunk):
        res = sim.run({**state, "x_in.values": rep(train.X[s:s + chunk]),
                       "u_target.values": rep(train.U[s:s + chunk]),
                       "nudge_in.values": np.ones(n_sub), "learn_in.values": learn_mask},
                      read=sim.state_variables)
        state = {k: res[k] for k in sim.state_variables}
        if (s + chunk) % every == 0:
            curve.append((s + chunk, test_error(state)))
    n0, n1, n2 = LAYERS
    W = {"W1": synapses_to_matrix(state["W1.w"], n1, n0), "W2": synapses_to_matrix(state["W2.w"], n2, n1),
         "B1": synapses_to_matrix(state["B1.w"], n1, n2), "IP1": synapses_to_matrix(state["IP1.w"], n2, n1),
         "PI1": synapses_to_matrix(state["PI1.w"], n1, n2)}
    elapsed = time.perf_counter() - t0
    bp = backprop_baseline(W0, train.X, train.R, test.X, test.R, every=every)
    return {"curve": curve, "backprop": bp, "time_s": elapsed, "weights": W,
            "angle_deg": feedback_alignment_angles([W["W1"], W["W2"]], [W["B1"]])[0],
            "angle0_deg": feedback_alignment_angles([W0["W1"], W0["W2"]], [W0["B1"]])[0]}


def plot(out, path):
    """Write the figure: test error vs training patterns (microcircuit, backprop)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5, 3.5))
    ax.semilogy(*zip(*out["curve"]), "o-", label="microcircuit (Brian2)")
    ax.semilogy(*zip(*out["backprop"]), "s--", label="backprop MLP, same samples")
    ax.set(xlabel="training patterns", ylabel="test MSE (rates)",
           title=f"Fig. 2 regression; angle(W2^T, B1) = {out['angle_deg']:.0f} deg")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--fast", action="store_true", help="500 training patterns instead of 2000")
    p.add_argument("--out", default="sacramento2018_fig2_regression.png")
    p.add_argument("--cache-dir", default=None)
    p.add_argument("--target", default="cpp_standalone")
    a = p.parse_args(argv)
    n = 500 if a.fast else 2000
    out = run_regression(n_train=n, every=100 if a.fast else 200, target=a.target,
                         cache_dir=a.cache_dir)
    bp = dict(out["backprop"])
    for k, e in out["curve"]:
        print(f"patterns {k:5d}  test MSE microcircuit {e:.3e}  backprop {bp.get(k, np.nan):.3e}")
    e0, e1 = out["curve"][0][1], out["curve"][-1][1]
    print(f"drop {e0 / e1:.1f}x; ratio to backprop {e1 / out['backprop'][-1][1]:.2f}; "
          f"angle(W2^T, B1) {out['angle0_deg']:.1f} -> {out['angle_deg']:.1f} deg; "
          f"Brian2 wall time {out['time_s']:.1f} s")
    plot(out, a.out)
    print(f"figure: {a.out}")
    return out


if __name__ == "__main__":
    main()
