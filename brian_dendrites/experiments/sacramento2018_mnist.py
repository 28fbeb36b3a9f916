"""Sacramento et al. (2018), Fig. 3: MNIST with the steady-state microcircuit.

:func:`mnist_comparison` trains, on the same images and with the same
learning-rate schedule, the Brian2 steady-state microcircuit
(:class:`~brian_dendrites.learners.SteadyStateMicrocircuitClassifier`), its
NumPy reference (:meth:`~brian_dendrites.reference.ReferenceMicrocircuit.fit_steady_state`)
and backprop and feedback-alignment MLPs of the same shape, and records each
one's test error per epoch. :func:`load_mnist_data` reads the data from a
CSV subset, the four standard IDX files or arrays; nothing is downloaded.
``examples/sacramento2018_fig3_mnist.py`` prints and plots the run,
``tests/test_mnist.py`` checks its numbers, docs/mnist.md lists them.

References
----------
J. Sacramento, R. Ponte Costa, Y. Bengio, W. Senn, "Dendritic cortical
microcircuits approximate the backpropagation algorithm", NeurIPS 2018,
Fig. 3 and Supplementary Material (MNIST, steady-state approximation):
784-500-500-10, 1.96 % test error (backprop 1.53 %) on full MNIST.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
from brian2 import ms

from .._validation import (
    check_array,
    check_bool,
    check_choice,
    check_int,
    check_labels,
    check_layers,
    check_positive,
    check_rate,
    check_seed,
)

__all__ = ["MNIST_LAYERS", "MNIST_PAPER", "MNIST_FAST", "MNIST_MODELS", "MNIST_BATCH_RATES", "load_mnist_data",
           "mnist_comparison", "mnist_summary"]

#: The paper's network.
MNIST_LAYERS = (784, 500, 500, 10)
#: The paper's test errors on full MNIST (60 000 training images).
MNIST_PAPER = {"microcircuit": 0.0196, "backprop": 0.0153}
#: The fast mode: one hidden layer of 100 (a deep net this narrow needs
#: several thousand online samples before it leaves chance), 1000 training
#: and 300 test images, 3 epochs, Brian2's numpy target (no compilation).
MNIST_FAST = dict(layers=(784, 100, 10), n_train=1000, n_test=300, epochs=3, target="numpy")
#: Initial rates per update with mini-batches of 10 (``batch_size=10``; measured
#: on the subset, docs/mnist.md); online the learner's defaults (0.04, 0.006) apply.
MNIST_BATCH_RATES = dict(eta_PP=0.1, eta_IP=0.03)
#: Model keys -> curve names in the results.
MNIST_MODELS = {"brian2": "brian2 steady state (online)",
                "reference": "numpy reference (online)",
                "backprop": "backprop",
                "fa": "feedback alignment"}


def load_mnist_data(data, n_train=None, n_test=None, seed=0):
    """MNIST as ``(X_train, y_train, X_test, y_test)`` from a file, a directory or arrays.

    Parameters
    ----------
    data : path or tuple
        A ``.csv``/``.csv.gz`` file (784 pixel columns then the label, e.g.
        the 5000-image subset; shuffled with ``seed`` and split, see
        :func:`~brian_dendrites.tasks.load_mnist`), a directory holding the
        four standard IDX files (the standard 60 000 / 10 000 split, see
        :func:`~brian_dendrites.tasks.load_mnist_idx`), or a tuple of four
        arrays ``(X_train, y_train, X_test, y_test)`` with pixels in [0, 1].
    n_train, n_test : int, optional
        Split sizes (``None``: 4000 / 1000 for a CSV file, everything for
        IDX files and arrays; the first ``n`` images otherwise).
    seed : int
        Shuffle of a CSV file.

    Returns
    -------
    tuple of ndarray
        ``X_train (n_train, 784)``, ``y_train``, ``X_test (n_test, 784)``, ``y_test``.

    Raises
    ------
    TypeError
        If ``data`` is neither a path nor a tuple of four arrays.
    FileNotFoundError
        If the path does not exist.
    ValueError
        On malformed data (see the loaders) or sizes beyond the data.
    """
    from ..tasks import load_mnist, load_mnist_idx

    if isinstance(data, (tuple, list)):
        if len(data) != 4:
            raise TypeError(f"data: expected (X_train, y_train, X_test, y_test), got a "
                            f"{type(data).__name__} of {len(data)} items")
        out = []
        for split, X, y in (("train", *data[:2]), ("test", *data[2:])):
            X = check_array(X, f"data: X_{split}", ndim=2, shape=(None, 784))
            y = check_labels(y, f"data: y_{split}", n_classes=10, n=X.shape[0])
            if X.min() < 0 or X.max() > 1:
                raise ValueError(f"data: X_{split} pixels must lie in [0, 1] (divide by 255)")
            n = {"train": n_train, "test": n_test}[split]
            if n is not None:
                n = check_int(n, f"n_{split}", minimum=1, maximum=X.shape[0])
            out += [X[:n], y[:n]]
        return tuple(out)
    if not isinstance(data, (str, Path)):
        raise TypeError(f"data: expected a path (csv(.gz) file or directory of IDX files) or "
                        f"(X_train, y_train, X_test, y_test), got {type(data).__name__}")
    path = Path(data).expanduser()
    if path.is_dir():
        return load_mnist_idx(path, n_train=n_train, n_test=n_test)
    return load_mnist(path, n_train=4000 if n_train is None else n_train,
                      n_test=1000 if n_test is None else n_test, seed=seed)


def mnist_comparison(data, epochs=None, fast=False, *, layers=None, n_train=None, n_test=None,
                     eta_PP=0.04 / ms, eta_IP=0.006 / ms, lr_decay=0.5, lr_decay_epochs=5,
                     mlp_lr=1e-3, models=tuple(MNIST_MODELS), target=None, chunk=1000, seed=0,
                     cache_dir=None, log=print, batch_size=1) -> dict:
    """Fig. 3: the steady-state microcircuit on MNIST beside its NumPy reference, backprop and FA.

    Trains, on the same images, (1) the Brian2 steady-state microcircuit
    (:class:`~brian_dendrites.learners.SteadyStateMicrocircuitClassifier`,
    one time step per sample, online updates), (2) the NumPy reference of the
    same procedure with the same online updates, (3) backprop and (4)
    feedback-alignment MLPs of the same shape (logistic units, targets
    0.1/0.8, squared error as the microcircuit; Adam, mini-batches of 10),
    and records each one's test error and time per epoch. All four follow
    the learner's step-decay schedule: in epoch ``e`` (from 0) every
    learning rate is ``lr_decay ** (e // lr_decay_epochs)`` times its initial
    value (:meth:`~brian_dendrites.learners.SteadyStateMicrocircuitClassifier.learning_rate_factor`).

    Parameters
    ----------
    data : path or tuple
        See :func:`load_mnist_data`: the CSV subset (4000 / 1000 images),
        a directory with the standard IDX files (the paper-scale run,
        60 000 / 10 000 images) or arrays.
    epochs : int >= 1, optional
        Training epochs (default 20; 3 in the fast mode).
    fast : bool
        Smoke run with the settings of :data:`MNIST_FAST` (784-100-10, 1000 /
        300 images, 3 epochs, numpy target: well below chance in about half a
        minute); ``layers``, ``n_train``, ``n_test``, ``target`` and
        ``epochs`` given explicitly override them.
    layers : sequence of int, optional
        Network shape (default :data:`MNIST_LAYERS`, 784-500-500-10).
    n_train, n_test : int, optional
        Split sizes (see :func:`load_mnist_data`).
    eta_PP, eta_IP : Quantity (1/second)
        Initial microcircuit learning rates (per sample: times ``t_sample`` =
        1 ms); ``eta_PP`` may be one per layer.
    lr_decay : float in (0, 1]
        Factor applied to every rate every ``lr_decay_epochs`` epochs (1:
        constant rates).
    lr_decay_epochs : int >= 1
    mlp_lr : float > 0
        Initial Adam learning rate of the MLPs.
    models : iterable of str
        Which of ``'brian2'``, ``'reference'``, ``'backprop'``, ``'fa'`` to run
        (default all four).
    target : str, optional
        Brian2 target (default ``'cpp_standalone'``; ``'numpy'`` when ``fast``).
    chunk : int
        Samples per Brian2 run (default 1000; rounded down to whole
        mini-batches).
    seed : int
        Seed of initial weights and sample order (the CSV subset is always
        split with seed 0, so every seed sees the same images).
    cache_dir : path, optional
        Standalone build cache.
    log : callable or None
        Receives one progress line per epoch (``print`` by default).
    batch_size : int >= 1
        Samples per microcircuit update, for the Brian2 model (one step per
        mini-batch, the batch mean of the updates; ``cpp_standalone``, the
        default target also in the fast mode) and for its NumPy reference
        (the paper used 10). The rates are per update: raise them with the
        batch (docs/mnist.md). The MLPs keep their own mini-batches of 10.

    Returns
    -------
    dict
        ``curves`` (curve name -> test error per epoch, fractions),
        ``times`` (name -> median seconds per training epoch), ``layers``,
        ``n_train``, ``n_test``, ``lr_factors`` (the schedule's factor per
        epoch), ``build_s`` and ``dense`` (Brian2 build time and dense
        projections; ``None`` without the Brian2 model), ``wall_s``.

    Raises
    ------
    TypeError, ValueError
        On invalid arguments (named) or data (see :func:`load_mnist_data`).

    Examples
    --------
    The paper-scale run, for users who have the four IDX files (about 1-2
    hours on two cores)::

        out = mnist_comparison("~/data/mnist", epochs=20)
    """
    from ..learners import SteadyStateMicrocircuitClassifier

    t_start = time.perf_counter()
    check_bool(fast, "fast")
    batch_size = check_int(batch_size, "batch_size", minimum=1)
    if fast:
        epochs = MNIST_FAST["epochs"] if epochs is None else epochs
        layers = MNIST_FAST["layers"] if layers is None else layers
        n_train = MNIST_FAST["n_train"] if n_train is None else n_train
        n_test = MNIST_FAST["n_test"] if n_test is None else n_test
        if target is None and batch_size == 1:  # mini-batches run only on cpp_standalone
            target = MNIST_FAST["target"]
    epochs = check_int(20 if epochs is None else epochs, "epochs", minimum=1)
    layers = check_layers(MNIST_LAYERS if layers is None else layers, "layers")
    if layers[0] != 784 or layers[-1] != 10:
        raise ValueError(f"layers: MNIST needs 784 inputs and 10 outputs, got {layers}")
    models = [check_choice(m, "models", tuple(MNIST_MODELS)) for m in
              ([models] if isinstance(models, str) else list(models))]
    if not models:
        raise ValueError(f"models: expected at least one of {list(MNIST_MODELS)}")
    check_rate(eta_IP, "eta_IP")
    mlp_lr = check_positive(mlp_lr, "mlp_lr")
    seed = check_seed(seed, allow_none=False)
    target = "cpp_standalone" if target is None else target
    log = log or (lambda *a, **k: None)
    # the learner validates the rates and the schedule and computes the factors
    clf = SteadyStateMicrocircuitClassifier(layers, eta_PP=eta_PP, eta_IP=eta_IP,
                                            lr_decay=lr_decay, lr_decay_epochs=lr_decay_epochs,
                                            chunk=chunk, target=target, seed=seed, progress=False,
                                            cache_dir=cache_dir, warm_start=True,
                                            batch_size=batch_size)
    factors = [clf.learning_rate_factor(e) for e in range(epochs)]
    rates = clf.learning_rates(0)  # validates eta_PP against the layers
    Xtr, ytr, Xte, yte = load_mnist_data(data, n_train, n_test)
    chunk = min(check_int(chunk, "chunk", minimum=1), len(Xtr))
    clf.set_params(chunk=max(batch_size, chunk // batch_size * batch_size))
    log(f"{len(Xtr)} train / {len(Xte)} test images, layers {'-'.join(map(str, layers))}, "
        f"{epochs} epochs, mini-batches of {batch_size}, rates x{lr_decay} every "
        f"{lr_decay_epochs} epochs")
    curves, times = {}, {}
    build_s = dense = None

    def curve_name(key):
        return MNIST_MODELS[key].replace("online", f"batch {batch_size}") if batch_size > 1 \
            else MNIST_MODELS[key]

    if "brian2" in models:
        name = curve_name("brian2")
        t0 = time.perf_counter()
        clf.fit(Xtr[:1], ytr[:1], epochs=0)  # compile (or reuse the cached binary)
        build_s = time.perf_counter() - t0
        dense = sorted(clf.session_.simulation.dense_synapses)
        log(f"{name}: build {build_s:.1f} s, dense projections {dense}")
        for ep in range(epochs):
            clf.partial_fit(Xtr, ytr, validation_data=(Xte, yte))
            row = clf.history_.iloc[-1]
            log(f"  epoch {ep + 1:2d}: test error {100 * row.val_loss:5.2f} %  "
                f"(rates x{factors[ep]:g}, {row.time_s:.1f} s)")
        curves[name] = [float(v) for v in clf.history_.val_loss]
        times[name] = float(np.median(clf.history_.time_s))

    if "reference" in models:
        from ..activations import logistic_inverse
        from ..reference.microcircuit import ReferenceMicrocircuit
        from ..tasks import one_hot

        name = curve_name("reference")
        ref = ReferenceMicrocircuit(layers, phi="logistic", bias=True, weight_scale=6.0,
                                    seed=seed)
        ref.init_self_predicting("steady_state")
        U = logistic_inverse(one_hot(ytr, 10))
        eta_pp = [float(rates[f"W{k}.eta"] * ms) for k in range(1, len(layers))]
        eta_ip = float(eta_IP * ms)
        errors, secs = [], []
        for ep, f in enumerate(factors):  # the same schedule, one epoch per call
            row = ref.fit_steady_state(Xtr, U, epochs=1, batch_size=batch_size,
                                       eta_PP=[e * f for e in eta_pp], eta_IP=eta_ip * f,
                                       X_val=Xte, y_val=yte)[0]
            errors.append(row["val_error"])
            secs.append(row["time"])
            log(f"  {name} epoch {ep + 1:2d}: test error {100 * row['val_error']:5.2f} % "
                f"({row['time']:.1f} s)")
        curves[name], times[name] = errors, float(np.median(secs))

    for key, feedback in (("backprop", "backprop"), ("fa", "fa")):
        if key not in models:
            continue
        from ..reference.mlp import MLP

        name = MNIST_MODELS[key]
        mlp = MLP(layers, activation="logistic", output_activation="logistic", loss="mse",
                  task="classification", optimizer="adam", lr=mlp_lr, feedback=feedback,
                  target_low=0.1, target_high=0.8, seed=seed)
        for f in factors:
            mlp.lr = mlp_lr * f
            mlp.fit(Xtr, ytr, epochs=1, batch_size=10, X_val=Xte, Y_val=yte)
        curves[name] = [float(r["val_score"]) for r in mlp.history]  # the error rate
        times[name] = float(np.median([r["time"] for r in mlp.history]))
        log(f"  {name}: test error {100 * curves[name][-1]:5.2f} % after {epochs} epochs "
            f"(best {100 * min(curves[name]):.2f} %)")
    return {"curves": curves, "times": times, "layers": layers, "n_train": len(Xtr),
            "n_test": len(Xte), "lr_factors": factors, "build_s": build_s, "dense": dense,
            "batch_size": batch_size, "wall_s": time.perf_counter() - t_start}


def mnist_summary(result) -> dict:
    """Final and best test error of every curve of :func:`mnist_comparison`.

    Parameters
    ----------
    result : dict
        The return value of :func:`mnist_comparison` (its ``curves``).

    Returns
    -------
    dict
        Curve name -> ``{'final', 'best', 'best_epoch' (1-based), 'gap'}``
        (fractions; ``gap = final - best``).

    Raises
    ------
    TypeError
        If ``result`` has no ``curves`` mapping.

    Examples
    --------
    >>> s = mnist_summary({"curves": {"m": [0.3, 0.07, 0.072]}})
    >>> s["m"]["best_epoch"], round(s["m"]["gap"], 3)
    (2, 0.002)
    """
    curves = result.get("curves") if isinstance(result, dict) else None
    if not isinstance(curves, dict):
        raise TypeError("result: expected the dict returned by mnist_comparison (with 'curves')")
    out = {}
    for name, c in curves.items():
        c = check_array(c, f"result['curves'][{name!r}]", ndim=1)
        best = int(np.argmin(c))
        out[name] = {"final": float(c[-1]), "best": float(c[best]), "best_epoch": best + 1,
                     "gap": float(c[-1] - c[best])}
    return out
