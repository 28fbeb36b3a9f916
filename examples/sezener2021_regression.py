"""Sezener et al. (2021): a Dendritic Gated Network learns a nonlinear regression online.
======================================================================================

The Brian2 DGN regressor (:class:`~brian_dendrites.DendriticGatedRegressor`,
identity outputs, squared error, every neuron predicting the target from the
layer below on its open branches) and the best of a few backprop MLPs
(10-100-1 tanh, SGD, batch 1) learn Friedman's problem #1 (10 features, 5
relevant) from the same stream of samples; the test error after every
``--step`` samples is printed and drawn. The run is
:func:`brian_dendrites.experiments.sezener2021.regression_curve`.

Run::

    python examples/sezener2021_regression.py          # 3 passes over 1400 samples
    python examples/sezener2021_regression.py --fast   # 1 pass, numpy target
"""

import argparse

from brian_dendrites.experiments.sezener2021 import regression_curve


def plot(table, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5.5, 3.6))
    for model, d in table.groupby("model", sort=False):
        label = "DGN (Brian2)" if model == "dgn" else f"MLP, SGD lr {d.mlp_lr.iloc[0]:g}"
        ax.plot(d.samples, d.r2, "o-", ms=3, label=label)
    ax.axhline(0, color="grey", lw=0.5)
    ax.set(xlabel="training samples seen", ylabel="test R²", ylim=(-0.2, 1),
           title="Friedman #1, online")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    if __name__ != "__main__":  # run as a script (or by sphinx-gallery): the figure stays
        plt.close(fig)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--fast", action="store_true", help="one pass over 600 samples, numpy target")
    p.add_argument("--step", type=int, default=200)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default="sezener2021_regression.png")
    p.add_argument("--cache-dir", default=None)
    p.add_argument("--target", default="cpp_standalone")
    a = p.parse_args(argv)
    kw = dict(n_train=600, epochs=1, target="numpy") if a.fast else dict(target=a.target)
    table = regression_curve(step=a.step, seed=a.seed, cache_dir=a.cache_dir, **kw)
    last = table.groupby("model").tail(1)
    print(last[["model", "samples", "test_mse", "r2"]].to_string(index=False, float_format="%.3f"))
    plot(table, a.out)
    print(f"figure: {a.out}")
    return table


if __name__ == "__main__":
    main()
