"""Meulemans et al. (2021), Table 1 setting on the MNIST subset: DFC beside backprop and FA.
=========================================================================================

784-256-256-256-10 networks (tanh hidden, linear output) learn the shared
5000-image MNIST subset (4000 train / 1000 test) online: the Brian2 DFC and
DFC-SS classifiers (:class:`~brian_dendrites.DeepFeedbackControlClassifier`,
settings :data:`~brian_dendrites.experiments.meulemans2021.MNIST_DFC`) and, in
the same run, backprop and feedback-alignment MLPs from the same initial
weights with the same loss (cross-entropy of the outputs' softmax, the
paper's), the same images and plain SGD
(:func:`brian_dendrites.experiments.meulemans2021.mnist_comparison`). The
paper (full MNIST, Adam, 100 epochs): backprop 2.08 %, DFC 2.25 %, DFC-SS
2.29 % test error. Prints the test error per epoch, writes the figure and the
table as CSV.

Data: ``--data FILE`` (default ``../shared/data/mnist_5k.csv.gz`` beside the
checkout).

Run::

    python examples/meulemans2021_mnist.py               # 10 epochs (about 30 min per DFC variant)
    python examples/meulemans2021_mnist.py --fast        # 1 epoch of 300 images, 784-32-10
"""

import argparse
from pathlib import Path

from brian_dendrites.experiments.meulemans2021 import mnist_comparison

# sphinx-gallery runs the examples from their folder without __file__
HERE = Path(__file__).resolve().parent if "__file__" in globals() else Path.cwd()
DEFAULT_DATA = HERE.parents[1] / "shared" / "data" / "mnist_5k.csv.gz"
LABELS = {"dfc": "DFC (Brian2)", "dfc_ss": "DFC-SS (Brian2)", "backprop": "backprop MLP",
          "feedback alignment": "feedback alignment MLP"}


def plot(table, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5.5, 3.6))
    for method, d in table.groupby("method", sort=False):
        ax.plot(d.epoch, 100 * d.test_error, "o-", ms=3, label=LABELS.get(method, method))
    ax.set(xlabel="epoch", ylabel="test error (%)", ylim=(0, 100), title="MNIST subset, online")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    if __name__ != "__main__":  # run as a script (or by sphinx-gallery): the figure stays
        plt.close(fig)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--data", default=str(DEFAULT_DATA), help="MNIST csv(.gz), 784 pixels + label")
    p.add_argument("--fast", action="store_true", help="1 epoch of 300 images, 784-32-10")
    p.add_argument("--epochs", type=int, default=10)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default="meulemans2021_mnist.png")
    p.add_argument("--cache-dir", default=None)
    p.add_argument("--target", default="cpp_standalone")
    a = p.parse_args(argv)
    if not Path(a.data).is_file():
        p.error(f"--data: no MNIST file at {a.data}")
    kw = dict(n_train=300, n_test=300, epochs=1, hidden=(32,)) if a.fast else dict(epochs=a.epochs)
    table = mnist_comparison(a.data, seed=a.seed, target=a.target, cache_dir=a.cache_dir,
                             progress=not a.fast, **kw)
    print(table.pivot(index="epoch", columns="method", values="test_error")
          .to_string(float_format=lambda v: f"{100 * v:.1f} %"))
    plot(table, a.out)
    csv = Path(a.out).with_suffix(".csv")
    table.to_csv(csv, index=False)
    print(f"figure: {a.out}\ntable: {csv}")
    return table


if __name__ == "__main__":
    main()
