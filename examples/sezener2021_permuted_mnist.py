"""Sezener et al. (2021): Dendritic Gated Networks forget less than an MLP (permuted MNIST).
=========================================================================================

Trains the Brian2 DGN (:class:`~brian_dendrites.DendriticGatedClassifier`,
ten one-vs-all networks compiled into one ``cpp_standalone`` binary) and the
best of a grid of 784-100-10 ReLU MLPs on the same stream of permuted-MNIST
tasks (one online pass per task, no task labels), prints the accuracy on
every task after every task, the mean final accuracy and the forgetting, and
draws the accuracy matrix of each model. The run is
:func:`brian_dendrites.experiments.sezener2021.dgn_permuted_mnist`; the
protocol and measured numbers are in docs/dgn.md.

Data: ``--data FILE`` (default ``../shared/data/mnist_5k.csv.gz`` beside the
repository); the package never downloads any.

Run::

    # 5 tasks x 1000 images, DGN [10, 10, 1] x 100 branches (minutes on two cores)
    python examples/sezener2021_permuted_mnist.py
    # smoke run: 2 tasks x 200 images (100 test images), DGN [2, 2, 1] x 50 branches, eta 5e-3
    python examples/sezener2021_permuted_mnist.py --fast
"""

import argparse
from pathlib import Path

import numpy as np

from brian_dendrites.experiments.sezener2021 import dgn_permuted_mnist

# sphinx-gallery runs the examples from their folder without __file__
HERE = Path(__file__).resolve().parent if "__file__" in globals() else Path.cwd()
DEFAULT_DATA = HERE.parents[1] / "shared" / "data" / "mnist_5k.csv.gz"


def plot(out, path):
    """Accuracy on each task (columns) after training on each task (rows), per model."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    table = out["table"]
    models = list(dict.fromkeys(table.model))
    fig, axes = plt.subplots(1, len(models) + 1, figsize=(4 * (len(models) + 1), 3.6))
    T = table.trained_through.max()
    for ax, model in zip(axes, models):
        d = table[table.model == model]
        M = np.full((T, T), np.nan)
        for r in d.itertuples():
            M[r.trained_through - 1, r.task - 1] = r.accuracy
        im = ax.imshow(M, vmin=0.5, vmax=1.0, cmap="viridis")
        for i in range(T):
            for j in range(T):
                ax.text(j, i, f"{M[i, j]:.2f}", ha="center", va="center", fontsize=7, color="w")
        ax.set(title=model, xlabel="task evaluated", ylabel="trained through task",
               xticks=range(T), xticklabels=range(1, T + 1), yticks=range(T),
               yticklabels=range(1, T + 1))
    fig.colorbar(im, ax=axes[len(models) - 1], fraction=0.046)
    ax = axes[-1]
    for model in models:
        d = table[(table.model == model) & (table.task == 1)]
        ax.plot(d.trained_through, d.accuracy, "o-", label=model)
    ax.set(xlabel="trained through task", ylabel="task-1 accuracy", title="forgetting of task 1",
           xticks=range(1, T + 1))
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    if __name__ != "__main__":  # run as a script (or by sphinx-gallery): the figure stays
        plt.close(fig)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--data", default=str(DEFAULT_DATA), help="MNIST csv(.gz), 784 pixels + label")
    p.add_argument("--fast", action="store_true", help="2 tasks x 200 images, a small DGN")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--clip", type=float, default=200.0, help="DGN weight clip (0.02: less forgetting)")
    p.add_argument("--out", default="sezener2021_permuted_mnist.png")
    p.add_argument("--cache-dir", default=None)
    p.add_argument("--target", default="cpp_standalone")
    a = p.parse_args(argv)
    if not Path(a.data).is_file():
        p.error(f"--data: no MNIST file at {a.data}")
    kw = dict(n_tasks=5, n_per_task=1000)
    if a.fast:
        kw = dict(n_tasks=2, n_per_task=200, n_test=100, hidden_layers=(2, 2), n_branches=50,
                  eta=5e-3, chunk=200, mlp_grid=({"lr": 0.005},))
    kw.setdefault("eta", 1e-3)
    out = dgn_permuted_mnist(a.data, seed=a.seed, w_clip=a.clip, target=a.target,
                             cache_dir=a.cache_dir, **kw)
    print(out["summary"].to_string(float_format="%.3f", index=False))
    print("wall time (s):", {k: round(v) for k, v in out["time_s"].items()})
    plot(out, a.out)
    print(f"figure: {a.out}")
    return out


if __name__ == "__main__":
    main()
