"""Sacramento et al. (2018), Fig. 2: teacher-student regression learned by the microcircuit.

Brian2 rate mode (full continuous dynamics, ``cpp_standalone``). Student
30-50-10 with 10 interneurons, teacher 30-20-10,
``r_trgt = phi(10 W2 phi(2 W1 r0))``, ``phi(u) = 0.1 log(1 + exp(u - 3))``;
top-down weights fixed, self-predicting start, all rules on, output nudged
toward the teacher's potential. Each sample lasts 12 ms: 4 ms of settling
(plasticity off), then 8 ms of learning.

Printed and plotted: the noise-free test error (MSE of output rates against
``r_trgt`` on 300 unseen patterns) against the number of training patterns,
beside a backprop MLP of the student's shape trained online on the same
samples from the same initial weights, and the angle between ``W2^T`` and
``B1``. The run itself is :func:`brian_dendrites.experiments.sacramento2018.fig2_regression`
(settings and why in its docstring and docs/reproductions.md).

Run ``python examples/sacramento2018_fig2_regression.py [--fast] [--out fig.png]``.
"""

import argparse

import numpy as np

from brian_dendrites.experiments.sacramento2018 import fig2_regression


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
    out = fig2_regression(n_train=500 if a.fast else 2000, every=100 if a.fast else 200,
                          target=a.target, cache_dir=a.cache_dir)
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
