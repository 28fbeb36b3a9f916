"""Sacramento et al. (2018), Fig. 3: MNIST with the dendritic microcircuit.
========================================================================

Reproduces the paper's MNIST experiment (Fig. 3, 784-500-500-10 in the
two-step steady-state approximation; paper: 1.96 % test error on full MNIST,
backprop 1.53 %) and prints, per epoch, the test error of

- the Brian2 steady-state microcircuit
  (:class:`~brian_dendrites.learners.SteadyStateMicrocircuitClassifier`,
  one time step per sample, compiled once with ``cpp_standalone``),
- the NumPy reference of the same procedure with the same online updates,
- backprop and feedback-alignment MLPs of the same shape (logistic units,
  targets 0.1/0.8, squared error as the microcircuit; Adam 1e-3,
  mini-batches of 10),

all with the learner's default schedule (every rate halved every 5 epochs),
with the time per epoch of each, and writes the learning curves to a PNG.
The run is :func:`brian_dendrites.experiments.sacramento2018_mnist.mnist_comparison`.
The number to look at: the Brian2 model's final test error and its distance
to its best epoch (docs/mnist.md lists measured values).

Data (the package never downloads any):

- ``--data FILE``: a csv(.gz) with 784 pixel columns then the label, e.g. the
  5000-image subset (4000 train / 1000 test after a fixed shuffle); default
  ``../shared/data/mnist_5k.csv.gz`` beside the repository;
- ``--idx DIR``: a directory with the four standard MNIST IDX files
  (``train-images-idx3-ubyte``, ``train-labels-idx1-ubyte``,
  ``t10k-images-idx3-ubyte``, ``t10k-labels-idx1-ubyte``, plain or ``.gz``):
  the paper-scale run on 60 000 / 10 000 images.

Run::

    # the subset (a few minutes per model on two cores)
    python examples/sacramento2018_fig3_mnist.py
    # the paper-scale experiment (60k images, 784-500-500-10, 20 epochs; 1-2 hours)
    python examples/sacramento2018_fig3_mnist.py --idx ~/data/mnist
    # smoke run: 784-100-10, 1000 / 300 images, 3 epochs, numpy target (~half a minute)
    python examples/sacramento2018_fig3_mnist.py --fast
    # the paper's mini-batches of 10 (one update per batch; cpp_standalone)
    python examples/sacramento2018_fig3_mnist.py --batch-size 10 --models brian2,reference
"""

import argparse
import sys
from pathlib import Path

import numpy as np
from brian2 import ms

from brian_dendrites.experiments.sacramento2018_mnist import (
    MNIST_BATCH_RATES,
    MNIST_FAST,
    MNIST_MODELS,
    MNIST_PAPER,
    mnist_comparison,
    mnist_summary,
)

# sphinx-gallery runs the examples from their folder without __file__
ROOT = (Path(__file__).resolve().parent if "__file__" in globals() else Path.cwd()).parent
DEFAULT_DATA = ROOT.parent / "shared" / "data" / "mnist_5k.csv.gz"


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    src = p.add_mutually_exclusive_group()
    src.add_argument("--data", default=None,
                     help="MNIST csv(.gz): 784 pixel columns then the label "
                          f"(default: {DEFAULT_DATA})")
    src.add_argument("--idx", default=None, metavar="DIR",
                     help="directory with the four standard MNIST IDX files (plain or .gz): "
                          "the paper-scale run, 60000 train / 10000 test images")
    p.add_argument("--epochs", type=int, default=None,
                   help="training epochs (default 20; 3 with --fast)")
    p.add_argument("--n-train", type=int, default=None,
                   help="training images (default: 4000 from a csv, all from --idx)")
    p.add_argument("--n-test", type=int, default=None,
                   help="test images (default: 1000 from a csv, all from --idx)")
    p.add_argument("--batch-size", type=int, default=1,
                   help="samples per microcircuit update (Brian2 and its NumPy reference; the "
                        "paper: 10); default 1 (online)")
    p.add_argument("--eta-pp", type=float, default=None,
                   help="initial forward rate per update (default 0.04 online, "
                        f"{MNIST_BATCH_RATES['eta_PP']} with mini-batches)")
    p.add_argument("--eta-ip", type=float, default=None,
                   help="initial interneuron rate per sample")
    p.add_argument("--lr-decay", type=float, default=0.5,
                   help="rates are multiplied by this every --lr-decay-epochs (1: constant)")
    p.add_argument("--lr-decay-epochs", type=int, default=5)
    p.add_argument("--models", default=",".join(MNIST_MODELS),
                   help="comma-separated subset of %(default)s")
    p.add_argument("--target", default=None, help="Brian2 target (default cpp_standalone; "
                   "numpy with --fast)")
    p.add_argument("--cache-dir", default=None, help="compiled standalone projects")
    p.add_argument("--out", default="sacramento2018_fig3_mnist.png", help="learning-curve PNG")
    p.add_argument("--fast", action="store_true",
                   help="smoke run: 784-100-10, 1000 train / 300 test images, 3 epochs, numpy")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    if args.epochs is not None and args.epochs < 1:
        p.error("--epochs must be >= 1")
    return args


def plot(result, path, fast=False):
    """Learning curves on linear percent axes; the legend gives final and best errors.

    With 8 epochs or more a second panel zooms on the second half (where the
    schedule's stability shows).
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    curves, summary = result["curves"], mnist_summary(result)
    epochs = len(next(iter(curves.values())))
    zoom = epochs >= 8
    fig, axes = plt.subplots(1, 2 if zoom else 1, figsize=(11 if zoom else 7, 4.5),
                             squeeze=False)
    ax = axes[0, 0]
    x = np.arange(1, epochs + 1)
    for name, c in curves.items():
        s = summary[name]
        ax.plot(x, 100 * np.asarray(c), marker="o", ms=4,
                label=f"{name}: final {100 * s['final']:.1f} %, best {100 * s['best']:.1f} %")
    top = 100 * max(max(c) for c in curves.values())
    if fast:  # show how far below chance the models are
        ax.axhline(90, color="grey", ls=":", lw=1)
        ax.text(1, 88, "chance (90 %)", color="grey", va="top", fontsize=9)
        top = 100
    ax.set_ylim(0, min(100, 1.08 * top))
    n_train, n_test = result["n_train"], result["n_test"]
    ax.set(xlabel="epoch", ylabel="test error (%)",
           title=f"MNIST, {'-'.join(map(str, result['layers']))}, {n_train} train / "
                 f"{n_test} test images")
    ax.legend(fontsize=8)
    if zoom:
        first = epochs // 2
        z = axes[0, 1]
        lows, highs = [], []
        for name, c in curves.items():
            tail = 100 * np.asarray(c[first:])
            z.plot(x[first:], tail, marker="o", ms=4)
            lows.append(tail.min())
            highs.append(tail.max())
        z.set_ylim(max(0.0, np.floor(min(lows)) - 0.5), np.ceil(max(highs)) + 0.5)
        z.set(xlabel="epoch", ylabel="test error (%)",
              title=f"epochs {first + 1}-{epochs} (zoom; rates x{result['lr_factors'][-1]:g} "
                    "at the end)")
        z.yaxis.set_major_locator(MaxNLocator(steps=[1, 2, 5, 10]))
    for a in axes.ravel():
        a.xaxis.set_major_locator(MaxNLocator(integer=True))
        a.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    if __name__ != "__main__":  # run as a script (or by sphinx-gallery): the figure stays
        plt.close(fig)


def main(argv=None):
    args = parse_args(argv)
    if args.idx is not None:
        data = Path(args.idx).expanduser()
        if not data.is_dir():
            sys.exit(f"MNIST IDX directory not found: {data}\nPass --idx DIR holding "
                     "train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte "
                     "and t10k-labels-idx1-ubyte (plain or .gz); this package never downloads "
                     "data.")
    else:
        data = Path(args.data) if args.data else DEFAULT_DATA
        if not data.is_file():
            sys.exit(f"MNIST file not found: {data}\nPass --data PATH to a csv(.gz) with 784 "
                     "pixel columns then the label (the 5000-image subset is "
                     "../shared/data/mnist_5k.csv.gz beside the repository), or --idx DIR "
                     "with the standard MNIST IDX files.")
    rates = dict(eta_PP=0.04, eta_IP=0.006) if args.batch_size == 1 else MNIST_BATCH_RATES
    eta_pp = rates["eta_PP"] if args.eta_pp is None else args.eta_pp
    eta_ip = rates["eta_IP"] if args.eta_ip is None else args.eta_ip
    result = mnist_comparison(
        data, epochs=args.epochs, fast=args.fast, n_train=args.n_train, n_test=args.n_test,
        eta_PP=eta_pp / ms, eta_IP=eta_ip / ms, lr_decay=args.lr_decay,
        lr_decay_epochs=args.lr_decay_epochs, models=args.models.split(","),
        target=args.target, seed=args.seed, cache_dir=args.cache_dir,
        log=lambda line: print(line, flush=True), batch_size=args.batch_size)
    curves, times, summary = result["curves"], result["times"], mnist_summary(result)
    epochs = len(next(iter(curves.values())))
    marks = sorted({1, 5, 10, 15, epochs} & set(range(1, epochs + 1)))
    head = (f"{'model':30s}" + "".join(f"{'ep ' + str(m):>7s}" for m in marks)
            + f"{'best (ep)':>11s}{'s/epoch':>9s}")
    print(f"\nTest error (%) on {result['n_test']} held-out images\n{head}\n" + "-" * len(head))
    for name, c in curves.items():
        s = summary[name]
        print(f"{name:30s}" + "".join(f"{100 * c[m - 1]:7.2f}" for m in marks)
              + f"{100 * s['best']:7.2f} ({s['best_epoch']:2d})" + f"{times[name]:9.2f}")
    print(f"paper (full MNIST, 784-500-500-10): microcircuit {100 * MNIST_PAPER['microcircuit']} %, "
          f"backprop {100 * MNIST_PAPER['backprop']} %")
    if args.fast:
        print(f"(fast mode: {MNIST_FAST}; total {result['wall_s']:.0f} s)")
    plot(result, args.out, fast=args.fast)
    print(f"learning curves written to {args.out}")
    return result


if __name__ == "__main__":
    main()
