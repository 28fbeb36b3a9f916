"""Sacramento et al. (2018), Fig. S1: the self-predicting state emerges from random weights.

Brian2 rate mode (the full continuous dynamics, ``cpp_standalone``). A
microcircuit starts from random weights, sees random inputs ``U(-1, 1)``
with no target, and only the interneuron rules are on: pyramid ->
interneuron (``IP``, eq. 8) and interneuron -> apical (``PI``, eq. 9).
Shown and printed:

- the RMS of the apical potentials ``v_A`` on held-out probe inputs (plasticity
  off, end of each presentation), relative to its value before learning:
  the self-predicting state has ``v_A -> 0`` (the number of the figure);
- the relative distance ``|W_PI + B| / |B|`` (``W_PI -> -B``) and
  ``|W_IP - s W_2| / |s W_2|`` with ``s`` of
  :func:`brian_dendrites.circuits.microcircuit.self_predicting_weights`.

Settings (chosen with the NumPy reference, see docs/reproductions.md): logistic
``phi`` (the softplus of the regression task gives rates of only 0.005-0.1 at
this weight scale, which makes the rules 100x slower), weights
``U(-4, 4)/sqrt(n_pre)``, ``eta_IP = 1/ms``, ``eta_PI = 0.3/ms``,
``tau_w = 3 ms``, 10 ms per pattern, no forward plasticity.

Run ``python examples/sacramento2018_self_predicting.py [--fast] [--out fig.png]``.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from brian2 import StateMonitor, ms

from brian_dendrites.circuits import dendritic_microcircuit, matrix_to_synapses, synapses_to_matrix
from brian_dendrites.circuits.microcircuit import self_predicting_weights
from brian_dendrites.engine import Simulation

SETTINGS = dict(activation="logistic", weight_scale=4.0, eta_PP=0.0, eta_IP=1.0, eta_PI=0.3,
                tau_w=3 * ms)


def run_self_predicting(layers=(8, 6, 4), n_train=200, n_probe=20, chunk=20, t_pattern=10 * ms,
                        seed=0, target="cpp_standalone", cache_dir=None, **settings):
    """Train the interneuron rules on random inputs; measure the apical potentials.

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
    target : str
        Brian2 target.
    cache_dir : path, optional
        Standalone build cache.
    **settings
        Overrides of :data:`SETTINGS` (circuit arguments).

    Returns
    -------
    dict
        ``patterns`` (trained so far), ``va_rel`` (probe RMS of ``v_A``
        relative to the start), ``pi_rel`` (``|W_PI + B|/|B|``), ``ip_rel``,
        ``va_rms0`` and ``time_s``.
    """
    if n_probe != chunk or n_train % chunk:
        raise ValueError("n_probe must equal chunk and n_train must be a multiple of chunk")
    kw = {**SETTINGS, **settings}
    layers = list(layers)
    steps = int(round(float(t_pattern / (0.1 * ms))))

    def build():
        circ = dendritic_microcircuit(layers, n_patterns=chunk, t_pattern=t_pattern, seed=seed, **kw)
        va = StateMonitor(circ.objects["pyr1"], "v_A", record=True, when="end", name="va_mon")
        build.circuit = circ
        return {**circ.objects, "va_mon": va}

    t0 = time.perf_counter()
    sim = Simulation(build, chunk * t_pattern, target=target, cache_dir=cache_dir,
                     name="selfpredicting", seed=seed)
    init = build.circuit.info["initial_weights"]
    probe0 = sim.run({"learn_in.values": np.zeros(chunk)}, read=sim.state_variables)
    # potentials and traces start at 0, weights as built (the fixed one-to-one T1 included)
    state = {k: np.asarray(probe0[k]) if k.endswith(".w") else np.zeros_like(np.asarray(probe0[k]))
             for k in sim.state_variables}
    for name in ("W1", "W2", "B1", "IP1", "PI1"):
        state[f"{name}.w"] = matrix_to_synapses(init[name])
    rng = np.random.default_rng(seed + 1)
    P = rng.uniform(-1, 1, (n_probe, layers[0]))
    X = rng.uniform(-1, 1, (n_train, layers[0]))

    def probe(st):
        res = sim.run({**st, "x_in.values": P, "learn_in.values": np.zeros(chunk)},
                      read=["va_mon.v_A"])
        va = res["va_mon.v_A"][:, steps - 1::steps]  # last step of every pattern
        return float(np.sqrt(np.mean(va ** 2)))

    def rel(st):
        n1, n2 = layers[1], layers[2]
        B = synapses_to_matrix(st["B1.w"], n1, n2)
        PI = synapses_to_matrix(st["PI1.w"], n1, n2)
        IP = synapses_to_matrix(st["IP1.w"], n2, n1)
        W2 = synapses_to_matrix(st["W2.w"], n2, n1)
        sIP = self_predicting_weights({"W1": None, "W2": W2}, {"B1": B})["IP1"]
        return (float(np.linalg.norm(PI + B) / np.linalg.norm(B)),
                float(np.linalg.norm(IP - sIP) / np.linalg.norm(sIP)))

    rms0 = probe(state)
    out = {"patterns": [0], "va_rel": [1.0], "pi_rel": [rel(state)[0]], "ip_rel": [rel(state)[1]]}
    for start in range(0, n_train, chunk):
        res = sim.run({**state, "x_in.values": X[start:start + chunk],
                       "learn_in.values": np.ones(chunk)}, read=sim.state_variables)
        state = {k: res[k] for k in sim.state_variables}
        pi, ip = rel(state)
        out["patterns"].append(start + chunk)
        out["va_rel"].append(probe(state) / rms0)
        out["pi_rel"].append(pi)
        out["ip_rel"].append(ip)
    out["va_rms0"] = rms0
    out["time_s"] = time.perf_counter() - t0
    return out


def plot(out, path):
    """Write the figure: probe RMS of ``v_A`` and weight distances vs patterns."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(1, 2, figsize=(9, 3.5))
    ax[0].semilogy(out["patterns"], out["va_rel"], "o-")
    ax[0].axhline(0.05, ls="--", c="gray", label="5 %")
    ax[0].set(xlabel="patterns", ylabel="RMS v_A / initial", title="apical potentials (probe)")
    ax[0].legend()
    ax[1].plot(out["patterns"], out["pi_rel"], "o-", label="|W_PI + B| / |B|")
    ax[1].plot(out["patterns"], out["ip_rel"], "s-", label="|W_IP - s W_2| / |s W_2|")
    ax[1].set(xlabel="patterns", ylabel="relative distance", title="weights")
    ax[1].legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--fast", action="store_true", help="small net, 100 patterns")
    p.add_argument("--out", default="sacramento2018_self_predicting.png")
    p.add_argument("--cache-dir", default=None)
    p.add_argument("--target", default="cpp_standalone")
    a = p.parse_args(argv)
    if a.fast:
        out = run_self_predicting((8, 6, 4), n_train=100, target=a.target, cache_dir=a.cache_dir)
    else:
        out = run_self_predicting((30, 20, 10), n_train=1000, target=a.target, cache_dir=a.cache_dir)
    for n, v, pi, ip in zip(out["patterns"], out["va_rel"], out["pi_rel"], out["ip_rel"]):
        print(f"patterns {n:5d}  RMS v_A / initial {v:.4f}  |W_PI+B|/|B| {pi:.3f}  "
              f"|W_IP - sW2|/|sW2| {ip:.3f}")
    print(f"initial probe RMS v_A {out['va_rms0']:.4f}; wall time {out['time_s']:.1f} s")
    plot(out, a.out)
    print(f"figure: {a.out}")
    return out


if __name__ == "__main__":
    main()
