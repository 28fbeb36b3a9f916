"""Sacramento et al. (2018), Fig. S1: the self-predicting state emerges from random weights.
=========================================================================================

Brian2 rate mode (full continuous dynamics, ``cpp_standalone``). A
microcircuit starts from random weights, sees random inputs ``U(-1, 1)`` with
no target, and only the interneuron rules are on: pyramid -> interneuron
(``IP``, eq. 8) and interneuron -> apical (``PI``, eq. 9), each pattern held
10 ms with plasticity off for its first 5 ms. Printed and plotted: the RMS of
the apical potentials ``v_A`` on held-out probe inputs relative to its
initial value (the self-predicting state has ``v_A -> 0``), and the distances
``|W_PI + B|/|B|`` and ``|W_IP - s W_2|/|s W_2|``.
The run is
:func:`brian_dendrites.experiments.sacramento2018_self_predicting.self_predicting_state`
(settings and why in its module and docs/reproductions.md).

Run ``python examples/sacramento2018_self_predicting.py [--fast] [--seed S] [--out fig.png]``
(``--fast``: 1000 patterns; default 2000).
"""

import argparse

from brian_dendrites.experiments.sacramento2018_self_predicting import self_predicting_state


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
    ax[1].semilogy(out["patterns"], out["pi_rel"], "o-", label="|W_PI + B| / |B|")
    ax[1].semilogy(out["patterns"], out["ip_rel"], "s-", label="|W_IP - s W_2| / |s W_2|")
    ax[1].axhline(0.1, ls="--", c="gray", label="0.1")
    ax[1].set(xlabel="patterns", ylabel="relative distance", title="weights")
    ax[1].legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    if __name__ != "__main__":  # run as a script (or by sphinx-gallery): the figure stays
        plt.close(fig)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--fast", action="store_true", help="1000 patterns instead of 2000")
    p.add_argument("--seed", type=int, default=0, help="initial weights (inputs: seed + 1)")
    p.add_argument("--out", default="sacramento2018_self_predicting.png")
    p.add_argument("--cache-dir", default=None)
    p.add_argument("--target", default="cpp_standalone")
    a = p.parse_args(argv)
    out = self_predicting_state((8, 6, 4), n_train=1000 if a.fast else 2000, seed=a.seed,
                                target=a.target, cache_dir=a.cache_dir)
    for n, v, pi, ip in zip(out["patterns"], out["va_rel"], out["pi_rel"], out["ip_rel"]):
        print(f"patterns {n:5d}  RMS v_A / initial {v:.4f}  |W_PI+B|/|B| {pi:.4f}  "
              f"|W_IP - sW2|/|sW2| {ip:.4f}")
    print(f"initial probe RMS v_A {out['va_rms0']:.4f}; wall time {out['time_s']:.1f} s "
          f"({out['run_s']:.1f} s after the build)")
    plot(out, a.out)
    print(f"figure: {a.out}")
    return out


if __name__ == "__main__":
    main()
