"""Sezener et al. (2021) Dendritic Gated Networks: permuted MNIST and data efficiency.

The paper's claims are qualitative (far more data-efficient than backprop
MLPs, highly resistant to forgetting); its Methods could not be retrieved, so
the protocol here is this project's (docs/dgn.md): on the shared 5000-image
MNIST subset (4000 train / 1000 test, split by ``seed``), ``n_tasks`` pixel
permutations (task 1 the identity), one online pass over ``n_per_task``
images per task, no task labels, no replay. The DGN's gates read the raw,
non-centred pixel intensities scaled to ``E|z|^2 = 784`` with one threshold
per branch (``theta_mean = 1``: ~15 % of branches open per image); the
weights read the pixels standardised with one global mean and spread (a
statistic that permutations do not change). The yardstick is a 784-H-10
ReLU MLP trained by SGD (batch 1, softmax cross-entropy) on the same stream,
the best of a learning-rate grid (constant and decaying rates), scored on the
same test images.

Metrics: ``just`` = accuracy on task t right after training on it,
``final`` = after the last task; forgetting = mean over t < T of
``just - final``; mean final = mean of ``final`` over all tasks.
"""

from __future__ import annotations

import time

import numpy as np
import pandas as pd

from .._validation import check_choice, check_int
from ..reference.mlp import MLP
from ..tasks import load_mnist

__all__ = ["permuted_mnist_tasks", "dgn_permuted_mnist", "data_efficiency", "regression_curve",
           "MLP_GRID",
           "summarise_continual"]

#: MLP learning-rate grid: constant rates and ``lr0 / (1 + t / tau)``.
MLP_GRID = ({"lr": 0.002}, {"lr": 0.003}, {"lr": 0.005}, {"lr": 0.01, "tau": 1000},
            {"lr": 0.03, "tau": 300})


def permuted_mnist_tasks(path, n_tasks=5, n_per_task=1000, seed=0, n_test=1000):
    """The task stream: permutations, training images per task, test images.

    Returns
    -------
    dict
        ``perms`` (list of index arrays, ``perms[0]`` the identity),
        ``train`` (list of ``(X, y)`` raw 0-255 pixels, already permuted),
        ``test`` (list of ``(X, y)``, the same ``n_test`` of the 1000 test
        images under each permutation).
    """
    n_tasks = check_int(n_tasks, "n_tasks", minimum=1)
    n_per_task = check_int(n_per_task, "n_per_task", minimum=1, maximum=4000)
    n_test = check_int(n_test, "n_test", minimum=1, maximum=1000)
    Xtr, ytr, Xte, yte = load_mnist(path, n_train=4000, n_test=1000, seed=seed, scale="raw")
    rng_p, rng_s = np.random.default_rng(100 + seed), np.random.default_rng(1000 + seed)
    perms = [np.arange(784)] + [rng_p.permutation(784) for _ in range(n_tasks - 1)]
    train, test = [], []
    for perm in perms:
        idx = rng_s.choice(4000, size=n_per_task, replace=False)
        train.append((Xtr[idx][:, perm], ytr[idx]))
        test.append((Xte[:n_test][:, perm], yte[:n_test]))
    return dict(perms=perms, train=train, test=test)


def summarise_continual(table) -> pd.DataFrame:
    """Mean final accuracy, forgetting, just-learned accuracy per model (and seed)."""
    rows = []
    for (model, seed), d in table.groupby(["model", "seed"]):
        T = d.trained_through.max()
        just = np.array([d[(d.trained_through == t) & (d.task == t)].accuracy.iloc[0]
                         for t in range(1, T + 1)])
        final = np.array([d[(d.trained_through == T) & (d.task == t)].accuracy.iloc[0]
                          for t in range(1, T + 1)])
        rows.append(dict(model=model, seed=seed, mean_final=final.mean(),
                         forgetting=float(np.mean(just[:-1] - final[:-1])) if T > 1 else 0.0,
                         just_learned=just.mean(), task1_final=final[0]))
    return pd.DataFrame(rows)


def _mlp_stream(stream, features, hidden, cfg, seed):
    mlp = MLP([784, hidden, 10], activation="relu", output_activation="softmax", loss="xent",
              task="classification",
              lr=cfg["lr"], seed=seed, init_scale=1.0)
    rows, t = [], 0
    for k, (X, y) in enumerate(stream["train"], start=1):
        F = features(X)
        for start in range(0, len(F), 50):
            if "tau" in cfg:
                mlp.lr = cfg["lr"] / (1.0 + t / cfg["tau"])
            mlp.fit(F[start:start + 50], y[start:start + 50], epochs=1, batch_size=1,
                    shuffle=False)
            t += len(F[start:start + 50])
        for j, (Xt, yt) in enumerate(stream["test"], start=1):
            rows.append(dict(trained_through=k, task=j, accuracy=1.0 - mlp.score(features(Xt), yt)))
    return rows


def dgn_permuted_mnist(path, n_tasks=5, n_per_task=1000, seed=0, n_test=1000, hidden_layers=(10, 10),
                       n_branches=100, theta_mean=1.0, eta=1e-3, w_clip=200.0, lr_decay=0.0,
                       mlp_hidden=100, mlp_grid=MLP_GRID, negative_control=False,
                       target="cpp_standalone", cache_dir=None, progress=True, chunk=500):
    """Permuted MNIST: the Brian2 DGN beside the best MLP of a grid, on one task stream.

    Parameters
    ----------
    path : path
        The MNIST CSV subset (``../shared/data/mnist_5k.csv.gz``).
    n_tasks, n_per_task, seed, n_test
        The stream (:func:`permuted_mnist_tasks`).
    hidden_layers, n_branches, theta_mean, eta, w_clip, lr_decay
        The DGN (:class:`~brian_dendrites.DendriticGatedClassifier`; gates on
        raw pixels, globally standardised features).
    mlp_hidden : int
        Hidden units of the MLP yardstick.
    mlp_grid : sequence of dict
        Learning rates tried (``lr``, optional ``tau``); the best mean final
        accuracy is reported as ``'mlp'``.
    negative_control : bool
        Also train a DGN with the reference codes' gating (side information
        = the standardised features, centred; thresholds 0; 10 branches;
        layers (100, 10)).
    target, cache_dir, progress, chunk
        Engine settings of the DGN learners.

    Returns
    -------
    dict
        ``table`` (model, seed, trained_through, task, accuracy),
        ``summary`` (:func:`summarise_continual`, plus ``mlp_config`` of the
        best MLP), ``time_s`` per model.
    """
    from ..learners.dgn import DendriticGatedClassifier

    check_choice(target, "target", ("cpp_standalone", "numpy", "cython"))
    stream = permuted_mnist_tasks(path, n_tasks, n_per_task, seed, n_test)
    X1 = stream["train"][0][0]
    m, s = float(X1.mean()), float(X1.std())

    def features(X):
        return (X - m) / s

    rows, times = [], {}
    variants = {"dgn": dict(hidden_layers=tuple(hidden_layers), n_branches=n_branches,
                            theta_mean=theta_mean, side_info="raw")}
    if negative_control:
        variants["dgn_centred_gates"] = dict(hidden_layers=(100, 10), n_branches=10,
                                             theta_mean=0.0, side_info="features")
    for name, kw in variants.items():
        t0 = time.perf_counter()
        clf = DendriticGatedClassifier(**kw, eta=eta, w_clip=w_clip, lr_decay=lr_decay,
                                       feature_scaling="global", shuffle=False, epochs=1,
                                       chunk=chunk, target=target, seed=seed, progress=progress,
                                       cache_dir=cache_dir)
        for k, (X, y) in enumerate(stream["train"], start=1):
            clf.partial_fit(X, y, classes=np.arange(10))
            for j, (Xt, yt) in enumerate(stream["test"], start=1):
                rows.append(dict(model=name, seed=seed, trained_through=k, task=j,
                                 accuracy=clf.score(Xt, yt)))
        times[name] = time.perf_counter() - t0
    t0 = time.perf_counter()
    best, best_cfg = None, None
    for cfg in mlp_grid:
        r = _mlp_stream(stream, features, mlp_hidden, cfg, seed)
        score = np.mean([x["accuracy"] for x in r if x["trained_through"] == n_tasks])
        if best is None or score > best[0]:
            best, best_cfg = (score, r), cfg
    rows += [dict(model="mlp", seed=seed, **x) for x in best[1]]
    times["mlp"] = time.perf_counter() - t0
    table = pd.DataFrame(rows)
    summary = summarise_continual(table)
    summary["mlp_config"] = [str(best_cfg) if mm == "mlp" else "" for mm in summary.model]
    return dict(table=table, summary=summary, time_s=times)


def data_efficiency(path, budgets=(250, 1000, 4000), seed=0, n_test=1000,
                    hidden_layers=(10, 10), n_branches=100, theta_mean=1.0, eta=1e-3,
                    feature_scaling="per_feature",
                    mlp_hidden=100, mlp_rates=(0.002, 0.005, 0.01, 0.02),
                    target="cpp_standalone", cache_dir=None, progress=True, chunk=250):
    """One online pass on (unpermuted) MNIST: test accuracy after each budget of samples.

    The Brian2 DGN (as in :func:`dgn_permuted_mnist`, but with the pixels
    standardised one by one, ``feature_scaling``, statistics of the whole
    training set: ``fit(X, y, epochs=0)``) and MLPs (784-H-10 ReLU, SGD, batch
    1, one per constant rate, on the same features; the best at each budget
    is reported) see the same samples in the same order.

    Returns
    -------
    pandas.DataFrame
        ``model`` (``'dgn'``, ``'mlp'``), ``samples``, ``accuracy`` (and
        ``mlp_lr`` of the best MLP at that budget).
    """
    from ..learners.dgn import DendriticGatedClassifier

    budgets = sorted(check_int(b, "budgets[]", minimum=1, maximum=4000) for b in budgets)
    stream = permuted_mnist_tasks(path, n_tasks=1, n_per_task=max(budgets), seed=seed,
                                  n_test=n_test)
    X, y = stream["train"][0]
    Xt, yt = stream["test"][0]
    rows = []
    clf = DendriticGatedClassifier(hidden_layers=tuple(hidden_layers), n_branches=n_branches,
                                   theta_mean=theta_mean, eta=eta,
                                   feature_scaling=feature_scaling, shuffle=False, epochs=1,
                                   chunk=chunk, target=target, seed=seed, progress=progress,
                                   cache_dir=cache_dir)
    clf.fit(X, y, epochs=0)  # the data side (scaling statistics) from the whole training set
    F, Ft = clf.network_inputs(X)[0], clf.network_inputs(Xt)[0]
    seen = 0
    for b in budgets:
        clf.partial_fit(X[seen:b], y[seen:b], classes=np.arange(10))
        seen = b
        rows.append(dict(model="dgn", samples=b, accuracy=clf.score(Xt, yt), mlp_lr=np.nan))
    best = {}
    for lr in mlp_rates:
        mlp = MLP([784, mlp_hidden, 10], activation="relu", output_activation="softmax",
                  loss="xent", task="classification", lr=lr, seed=seed)
        seen = 0
        for b in budgets:
            mlp.fit(F[seen:b], y[seen:b], epochs=1, batch_size=1, shuffle=False)
            seen = b
            acc = 1.0 - mlp.score(Ft, yt)
            if acc > best.get(b, (-1.0, None))[0]:
                best[b] = (acc, lr)
    rows += [dict(model="mlp", samples=b, accuracy=best[b][0], mlp_lr=best[b][1])
             for b in budgets]
    return pd.DataFrame(rows)


def regression_curve(n_train=1400, n_test=600, epochs=3, step=100, seed=0, noise=0.5,
                     hidden_layers=(10, 10), n_branches=100, eta=1e-3, mlp_hidden=100,
                     mlp_rates=(0.001, 0.003, 0.01, 0.03), target="cpp_standalone",
                     cache_dir=None, progress=False):
    """DGN regression (identity outputs) beside MLPs: test MSE along one online stream.

    Friedman #1 (:func:`brian_dendrites.tasks.friedman1`, 10 features), the
    training set presented ``epochs`` times in one order; after every
    ``step`` samples both models are scored on the test set. The DGN is
    :class:`~brian_dendrites.DendriticGatedRegressor` with these settings; the
    MLPs (``10-H-1`` tanh, SGD, batch 1, standardised inputs and targets as
    the DGN's) one per rate, the best final one reported.

    Returns
    -------
    pandas.DataFrame
        ``model``, ``samples``, ``test_mse`` (units of y), ``r2``.
    """
    from ..learners.dgn import DendriticGatedRegressor
    from ..tasks import friedman1

    step = check_int(step, "step", minimum=1)
    X, y = friedman1(n_train + n_test, noise=noise, seed=seed)
    Xtr, ytr, Xte, yte = X[:n_train], y[:n_train], X[n_train:], y[n_train:]
    var = float(np.var(yte))
    reg = DendriticGatedRegressor(hidden_layers=tuple(hidden_layers), n_branches=n_branches,
                                  eta=eta, shuffle=False, epochs=1, chunk=step, target=target,
                                  seed=seed, progress=progress, cache_dir=cache_dir)
    rows = []
    stream = [(e, s) for e in range(epochs) for s in range(0, n_train, step)]
    for i, (_, s) in enumerate(stream, start=1):
        reg.partial_fit(Xtr[s:s + step], ytr[s:s + step])
        mse = float(np.mean((reg.predict(Xte) - yte) ** 2))
        rows.append(dict(model="dgn", samples=i * step, test_mse=mse, r2=1 - mse / var))
    mx, sx = Xtr.mean(0), Xtr.std(0)
    my, sy = ytr.mean(), ytr.std()
    best = None
    for lr in mlp_rates:
        mlp = MLP([Xtr.shape[1], mlp_hidden, 1], activation="tanh", lr=lr, seed=seed)
        curve = []
        for i, (_, s) in enumerate(stream, start=1):
            mlp.fit((Xtr[s:s + step] - mx) / sx, ((ytr[s:s + step] - my) / sy)[:, None],
                    epochs=1, batch_size=1, shuffle=False)
            pred = mlp.predict((Xte - mx) / sx)[:, 0] * sy + my
            mse = float(np.mean((pred - yte) ** 2))
            curve.append(dict(model="mlp", samples=i * step, test_mse=mse, r2=1 - mse / var,
                              mlp_lr=lr))
        if best is None or curve[-1]["test_mse"] < best[-1]["test_mse"]:
            best = curve
    return pd.DataFrame(rows + best)
