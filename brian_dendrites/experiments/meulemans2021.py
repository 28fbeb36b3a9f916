"""Meulemans et al. (2021) Deep Feedback Control: the toy teacher-student experiment, MNIST.

The paper's toy setting (its Fig. 3): a 15-10-10-5 network, tanh hidden
layers, linear output, trained on a teacher of the same shape. Here: a fixed
teacher (uniform weights in [-1, 1], inputs uniform in [-1, 1]), ``n_train``
samples, online learning (one sample at a time), the learners'
standardisation of inputs and targets.

:func:`toy_alignment` trains the DFC learners (``'dfc'`` and ``'dfc_ss'``)
and reports after every epoch the test error and how the compiled model's
per-sample weight updates (:meth:`~brian_dendrites.learners.base.Learner.sample_updates`)
point relative to the damped Gauss-Newton (minimum-norm) update and the
backprop gradient computed by :class:`~brian_dendrites.reference.ReferenceDFC`
from the same weights (angles in degrees; 0: the same direction), beside a
backprop MLP of the same shape trained on the same samples (SGD, one sample
at a time) in the same call.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .._validation import check_int
from ..lab.alignment import angle_deg
from ..reference.dfc import ReferenceDFC
from ..reference.mlp import MLP
from ..tasks import load_mnist, teacher_student_regression

__all__ = ["TOY_LAYERS", "toy_task", "toy_alignment", "update_angles", "mnist_comparison",
           "MNIST_DFC"]

#: The paper's toy network (Fig. 3).
TOY_LAYERS = (15, 10, 10, 5)


def toy_task(n_train=300, n_test=200, seed=0, teacher_seed=11):
    """Training and test sets of the toy teacher (tanh hidden, linear output).

    Returns
    -------
    X_train, Y_train, X_test, Y_test : ndarray
    """
    check_int(n_train, "n_train", minimum=1)
    check_int(n_test, "n_test", minimum=1)
    kw = dict(phi="tanh", output_phi="linear", gains=1.0)
    teacher = teacher_student_regression(1, TOY_LAYERS, seed=teacher_seed, **kw)
    train = teacher_student_regression(n_train, weights=teacher.weights, seed=seed + 1, **kw)
    test = teacher_student_regression(n_test, weights=teacher.weights, seed=seed + 10_000, **kw)
    return train.X, train.R, test.X, test.R


def _reference_of(learner):
    """A :class:`ReferenceDFC` holding a fitted DFC learner's current weights."""
    W, state = learner.weights_, learner.session_.state
    L = len(learner.hidden_layers) + 1
    layers = [learner.n_features_in_, *learner.hidden_layers, learner.n_outputs_]
    return ReferenceDFC(layers, [W[f"W{k}"] for k in range(1, L + 1)],
                        [state[f"nrn{k}.b"] for k in range(1, L + 1)],
                        [W[f"Q{k}"] for k in range(1, L + 1)], activation=learner.activation,
                        lam=learner.lam, alpha=learner.alpha, k_p=learner.k_p)


def update_angles(learner, X, y) -> dict:
    """Mean angles of the learner's per-sample forward-weight updates to Gauss-Newton and backprop.

    Parameters
    ----------
    learner : DeepFeedbackControlRegressor
        Fitted; its state does not change.
    X, y : array
        Probe samples (raw, as given to ``fit``).

    Returns
    -------
    dict
        ``angle_gn``, ``angle_bp`` (degrees, means over the samples) and
        ``angle_gn_bp`` (between the two analytic directions).
    """
    updates = learner.sample_updates(X, y)
    ref = _reference_of(learner)
    Xs = learner.network_inputs(X)
    Ys = learner._encode_targets(y, len(X))
    L = len(ref.W)
    rows = []
    for upd, x, t in zip(updates, Xs, Ys):
        sim = np.concatenate([upd[f"W{k}"].ravel() for k in range(1, L + 1)])
        gn = np.concatenate([d[0].ravel() for d in ref.gauss_newton_update(x, t)])
        bp = np.concatenate([d[0].ravel() for d in ref.backprop_update(x, t)])
        rows.append((angle_deg(sim, gn), angle_deg(sim, bp), angle_deg(gn, bp)))
    gn_, bp_, both = np.mean(rows, axis=0)
    return {"angle_gn": float(gn_), "angle_bp": float(bp_), "angle_gn_bp": float(both)}


def toy_alignment(n_train=300, n_test=200, epochs=20, variants=("dfc", "dfc_ss"), n_probe=10,
                  seed=0, mlp_lr=0.01, learner_kw=None, target="cpp_standalone", cache_dir=None,
                  progress=False) -> pd.DataFrame:
    """Train DFC learners and a backprop MLP on the toy task; errors and angles per epoch.

    Parameters
    ----------
    n_train, n_test : int
        Samples of the toy teacher.
    epochs : int
        Online passes over the training set.
    variants : sequence of {'dfc', 'dfc_ss'}
        DFC learners to train (default arguments otherwise, plus ``learner_kw``).
    n_probe : int
        Training samples whose update directions are measured after every epoch.
    seed : int
        Seed of the data split, the learners and the MLP.
    mlp_lr : float
        The MLP's SGD learning rate (one sample at a time).
    learner_kw : dict, optional
        Extra arguments of :class:`~brian_dendrites.DeepFeedbackControlRegressor`.
    target, cache_dir, progress
        Passed to the learners.

    Returns
    -------
    pandas.DataFrame
        Tidy rows ``method, epoch, test_mse, angle_gn, angle_bp, angle_gn_bp``
        (angles NaN for the MLP), epoch 0 is the untrained network.
    """
    from ..learners.dfc import DeepFeedbackControlRegressor

    epochs = check_int(epochs, "epochs", minimum=1)
    n_probe = check_int(n_probe, "n_probe", minimum=1)
    Xtr, Ytr, Xte, Yte = toy_task(n_train, n_test, seed)
    rows = []
    for variant in variants:
        reg = DeepFeedbackControlRegressor(variant=variant, seed=seed, target=target,
                                           cache_dir=cache_dir, progress=progress,
                                           **(learner_kw or {}))
        reg.fit(Xtr, Ytr, epochs=0)
        for epoch in range(epochs + 1):
            if epoch:
                reg.partial_fit(Xtr, Ytr)
            mse = float(np.mean((reg.predict(Xte) - Yte) ** 2))
            rows.append({"method": variant, "epoch": epoch, "test_mse": mse,
                         **update_angles(reg, Xtr[:n_probe], Ytr[:n_probe])})
    # backprop on the same standardised samples, one at a time
    mlp = MLP(list(TOY_LAYERS), activation="tanh", output_activation="linear", lr=mlp_lr,
              seed=seed)
    Xs, Ys = reg.network_inputs(Xtr), reg._encode_targets(Ytr, len(Ytr))
    for epoch in range(epochs + 1):
        if epoch:
            mlp.fit(Xs, Ys, epochs=1, batch_size=1)
        pred = mlp.predict(reg.network_inputs(Xte)) * reg.target_scale_ + reg.target_offset_
        rows.append({"method": "backprop", "epoch": epoch,
                     "test_mse": float(np.mean((pred - Yte) ** 2)), "angle_gn": np.nan,
                     "angle_bp": np.nan, "angle_gn_bp": np.nan})
    return pd.DataFrame(rows)


#: The MNIST comparison's DFC settings (beside the learner's defaults): one
#: spread for all pixels, softmax cross-entropy (the paper's loss), and the step
#: ``eta*lam = 10`` that NumPy DFC-SSA with plain SGD learned fastest with on the
#: subset (``eta*lam = 20`` diverged).
MNIST_DFC = dict(feature_scaling="global", output_loss="xent", eta=10.0, lam=1.0)


def mnist_comparison(path, n_train=4000, n_test=1000, epochs=10, hidden=(256, 256, 256),
                     variants=("dfc", "dfc_ss"), seed=0, mlp_lr=0.005, learner_kw=None,
                     target="cpp_standalone", cache_dir=None, progress=False) -> pd.DataFrame:
    """DFC classifiers beside backprop and feedback alignment on the MNIST subset.

    All methods see the same standardised images (one mean and spread for
    all pixels) in the same number of epochs, start from the same forward
    weights (the DFC learner's Xavier initialisation), learn online (one
    sample at a time, plain SGD) with the same loss: the cross-entropy of
    the softmax of linear outputs (the paper's; it used Adam and
    mini-batches for all methods). The DFC settings are :data:`MNIST_DFC`
    (``learner_kw`` overrides them); its feedback weights stay at their
    weight-product initialisation.

    Parameters
    ----------
    path : str or path
        The MNIST CSV subset (``../shared/data/mnist_5k.csv.gz``).
    n_train, n_test, epochs : int
    hidden : tuple of int
        Hidden layer sizes (paper: three of 256, tanh).
    variants : sequence of {'dfc', 'dfc_ss'}
    seed : int
        Seed of the split, the weights and the sample order.
    mlp_lr : float
        SGD learning rate of the backprop and feedback-alignment MLPs
        (0.005: backprop's best of 0.002, 0.005, 0.01 on the subset).
    learner_kw : dict, optional
        Arguments of :class:`~brian_dendrites.DeepFeedbackControlClassifier`
        (over :data:`MNIST_DFC`).
    target, cache_dir, progress
        Passed to the learners.

    Returns
    -------
    pandas.DataFrame
        Tidy rows ``method, epoch, test_error, time_s`` (epoch 0: untrained).
    """
    import time

    from ..learners.dfc import DeepFeedbackControlClassifier

    epochs = check_int(epochs, "epochs", minimum=1)
    Xtr, ytr, Xte, yte = load_mnist(path, n_train=n_train, n_test=n_test, seed=seed)
    kw = {**MNIST_DFC, **(learner_kw or {})}
    rows, clf = [], None
    for variant in variants:
        clf = DeepFeedbackControlClassifier(hidden_layers=tuple(hidden), variant=variant,
                                            seed=seed, target=target, cache_dir=cache_dir,
                                            progress=progress, **kw)
        clf.fit(Xtr, ytr, epochs=0)
        t0 = time.perf_counter()
        for epoch in range(epochs + 1):
            if epoch:
                clf.partial_fit(Xtr, ytr)
            rows.append({"method": variant, "epoch": epoch,
                         "test_error": 1.0 - clf.score(Xte, yte),
                         "time_s": time.perf_counter() - t0})
    if clf is None:  # no DFC variant: the same data side and weights as the learner's
        clf = DeepFeedbackControlClassifier(hidden_layers=tuple(hidden), seed=seed,
                                            target="numpy", progress=False, **kw)
        clf.fit(Xtr, ytr, epochs=0)
    init = [clf.session_.circuit.weights[f"W{k}"].initial for k in range(1, len(hidden) + 2)]
    Xs, Xts = clf.network_inputs(Xtr), clf.network_inputs(Xte)
    Y = np.eye(10)[ytr]
    xent = kw["output_loss"] == "xent"
    for method, feedback in (("backprop", "backprop"), ("feedback alignment", "fa")):
        mlp = MLP([784, *hidden, 10], activation="tanh",
                  output_activation=None if xent else "linear", loss="xent" if xent else "mse",
                  task="classification", lr=mlp_lr, feedback=feedback, seed=seed)
        mlp.W = [w.copy() for w in init]
        t0 = time.perf_counter()
        for epoch in range(epochs + 1):
            if epoch:
                mlp.fit(Xs, Y, epochs=1, batch_size=1)
            rows.append({"method": method, "epoch": epoch,
                         "test_error": float(np.mean(mlp.predict(Xts) != yte)),
                         "time_s": time.perf_counter() - t0})
    return pd.DataFrame(rows)
