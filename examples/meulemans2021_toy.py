"""Meulemans et al. (2021), Fig. 3 setting: Deep Feedback Control on the toy teacher-student task.
===============================================================================================

A 15-10-10-5 network (tanh hidden, linear output) learns a teacher of the same
shape online, with the Brian2 DFC learners (``'dfc'``: the update averaged over
the feedback phase; ``'dfc_ss'``: at its steady state) and, in the same run,
a backprop MLP of the same shape on the same samples. After every epoch the
test error and the angles of the compiled model's per-sample updates to the
damped Gauss-Newton (minimum-norm) update and to the backprop gradient are
recorded (:func:`brian_dendrites.experiments.meulemans2021.toy_alignment`).
DFC's updates point closer to Gauss-Newton than to the gradient, as the
paper's theory says. Writes a two-panel figure and the table as CSV.

Run::

    python examples/meulemans2021_toy.py           # 20 epochs of 300 samples (~1.5 min)
    python examples/meulemans2021_toy.py --fast    # 2 epochs of 100 samples
"""

import argparse
from pathlib import Path

from brian_dendrites.experiments.meulemans2021 import toy_alignment

LABELS = {"dfc": "DFC (Brian2)", "dfc_ss": "DFC-SS (Brian2)", "backprop": "backprop MLP"}


def plot(table, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(9, 3.6))
    for method, d in table.groupby("method", sort=False):
        ax1.plot(d.epoch, d.test_mse, "o-", ms=3, label=LABELS.get(method, method))
        if method != "backprop":
            line, = ax2.plot(d.epoch, d.angle_gn, "o-", ms=3,
                             label=f"{LABELS[method]} to Gauss-Newton")
            ax2.plot(d.epoch, d.angle_bp, "s--", ms=3, color=line.get_color(),
                     label=f"{LABELS[method]} to backprop")
    ax1.set(xlabel="epoch", ylabel="test MSE", yscale="log", title="toy teacher-student")
    ax2.set(xlabel="epoch", ylabel="angle of the update (deg)", ylim=(0, 90),
            title="update directions")
    ax1.legend(fontsize=8)
    ax2.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    if __name__ != "__main__":  # run as a script (or by sphinx-gallery): the figure stays
        plt.close(fig)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--fast", action="store_true", help="2 epochs of 100 samples")
    p.add_argument("--epochs", type=int, default=20)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default="meulemans2021_toy.png")
    p.add_argument("--cache-dir", default=None)
    p.add_argument("--target", default="cpp_standalone")
    a = p.parse_args(argv)
    if a.fast:
        kw = dict(n_train=100, n_test=100, epochs=2, n_probe=2)
    else:
        kw = dict(epochs=a.epochs)
    table = toy_alignment(seed=a.seed, cache_dir=a.cache_dir, target=a.target, **kw)
    last = table.groupby("method").tail(1)
    print(last.to_string(index=False, float_format="%.3f"))
    plot(table, a.out)
    csv = Path(a.out).with_suffix(".csv")
    table.to_csv(csv, index=False)
    print(f"figure: {a.out}\ntable: {csv}")
    return table


if __name__ == "__main__":
    main()
