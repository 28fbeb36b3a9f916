"""Learners of Dendritic Gated Networks (Sezener et al. 2021): classifier and regressor.

Both train :func:`~brian_dendrites.circuits.dgn_network` through the
:class:`~brian_dendrites.learners.base.Learner` contract: one sample is one
slot of one time step, the gated rule updates every layer once per sample.
What they add is only the data side:

- the input width is taken from ``X`` in :meth:`fit` (``n_features_in_``);
- features for the weights are scaled with statistics of the first data
  seen (``feature_scaling``); the gates' side information is the raw input
  scaled so that ``E|z|^2`` equals the number of features (``side_info='raw'``,
  not centred, so gates follow the data's mean image) or the scaled features;
- classification: one network per class (one-vs-all; one network for two
  classes), predictions by the largest output; regression: one network per
  target column with identity outputs.

These fitted statistics are saved with the learner (``save``/``load``).
"""

from __future__ import annotations

import warnings

import numpy as np
from brian2 import ms

from .._validation import (
    check_choice,
    check_int,
    check_nonnegative,
    check_real,
    check_time,
)
from ..circuits.dgn import dgn_network, dgn_weight_shapes
from ..engine.simulation import check_float_dtype
from ._data import (
    FEATURE_SCALING,
    DataSized,
    StandardisedRegression,
    check_hidden_layers,
    fit_classes,
    label_indices,
)
from .base import Learner, Presentation, check_XY

__all__ = ["DendriticGatedClassifier", "DendriticGatedRegressor"]

SIDE_INFO = ("raw", "features")


class _DendriticGated(DataSized, Learner):
    """Shared machinery of the DGN learners (see the subclasses)."""

    _output = "sigmoid"
    _fitted_attributes = DataSized._fitted_attributes + ("side_scale_",)

    # ------------------------------------------------------------ checks
    def _validate_params(self):
        check_hidden_layers(self.hidden_layers)
        check_int(self.n_branches, "n_branches", minimum=1)
        check_nonnegative(self.eta, "eta")
        check_real(self.theta_mean, "theta_mean")
        check_nonnegative(self.theta_sd, "theta_sd")
        check_choice(self.side_info, "side_info", SIDE_INFO)
        check_choice(self.feature_scaling, "feature_scaling", FEATURE_SCALING)
        check_real(self.w_clip, "w_clip", 0, None, low_open=True)
        check_nonnegative(self.lr_decay, "lr_decay")
        check_time(self.t_sample, "t_sample")
        check_float_dtype(self.dtype, "dtype")

    def _layers(self):
        return [self._n_in(), *(int(n) for n in self.hidden_layers), 1]

    # ------------------------------------------------------------ data side
    def _fit_scaling(self, X):
        """Scaling statistics from the first data seen (``X`` validated)."""
        super()._fit_scaling(X)
        mean_sq = float(np.mean(np.sum(X * X, axis=1)))
        self.side_scale_ = float(np.sqrt(X.shape[1] / mean_sq)) if mean_sq > 0 else 1.0

    def network_inputs(self, X):
        """Features and side information of ``X`` as the network receives them.

        Returns
        -------
        features, side : ndarray, shape (n_samples, n_features_in_)
            ``(X - feature_offset_) / feature_scale_`` and the gates' side
            information (``X * side_scale_`` for ``side_info='raw'``, else
            the features).
        """
        X, _ = check_XY(X, None, self._n_in())
        F = self._scaled(X)
        Z = X * self.side_scale_ if self.side_info == "raw" else F
        return F, Z

    def _features(self, X):
        return np.hstack(self.network_inputs(X))

    def _run_chunks(self, X, Y, learn, order, values=None, carry=None, trained=None):
        return super()._run_chunks(self._features(X), Y, learn, order, values, carry, trained)

    def _chunk_inputs(self, X, Y, valid, learn):
        n, d = len(X), self._n_in()
        mask = np.zeros(n)
        mask[:valid] = 1.0
        out = {"x": X[:, :d], "side": X[:, d:], "learn": mask if learn else np.zeros(n)}
        if learn:
            out["target"] = Y
        return out

    def _presentation(self):
        return Presentation(t_slot=self.t_sample)

    def _build_circuit(self, n_slots):
        return dgn_network(self._layers(), n_slots, n_branches=self.n_branches,
                           n_classes=self._n_out(), output=self._output, n_side=self._n_in(),
                           theta_mean=self.theta_mean, theta_sd=self.theta_sd, eta=self.eta,
                           eps=getattr(self, "eps", 0.01), w_clip=self.w_clip,
                           lr_decay=self.lr_decay, seed=self.seed, t_sample=self.t_sample)

    def _session_key(self):
        return super()._session_key() + f"|{self._n_in()}|{self._n_out()}"

    def _migrated_state(self, saved):
        """A state saved before the block-diagonal layout (2026-12-01), in today's layout.

        Then the projections ``W{k}`` (``k >= 2``) of a multi-class network
        were all-to-all over every class's layer below with a fixed 0/1
        ``mask``: their weights are cut to each branch's own class block
        (:func:`~brian_dendrites.circuits.dgn.dgn_full_to_block`; the
        entries outside were 0 and never learned) and the masks dropped. Gate
        hyperplanes saved in double precision are now stored in single
        precision (drawn as float32 numbers since); if the saved ones are
        not, they are rounded (relative change < 6e-8: a gate can change
        only for inputs within ~1e-7 of its threshold) and a warning says
        so. Anything else that does not match still gets ``Session.reset``'s
        error.
        """
        from ..circuits.dgn import dgn_full_to_block

        init = self.session_.initial_state
        out = {k: v for k, v in saved.items()
               if k in init or not (k.startswith("W") and k.endswith(".mask"))}
        layers, B, C = self._layers(), self.n_branches, self._n_out()
        for k in range(2, len(layers)):
            key = f"W{k}.w"
            w = np.asarray(out.get(key, ()))
            rows = C * layers[k] * B
            if key in init and w.size == rows * C * layers[k - 1] != init[key].size:
                out[key] = dgn_full_to_block(w.reshape(rows, C * layers[k - 1]), C, layers[k],
                                             B, layers[k - 1]).ravel()
        rounded = [key for key, v in out.items()
                   if key in init and key.startswith("G") and init[key].dtype == np.float32
                   and np.asarray(v).dtype == np.float64
                   and not np.array_equal(np.asarray(v).astype(np.float32), v)]
        if rounded:
            warnings.warn(f"{type(self).__name__}: the saved gate hyperplanes {rounded} are "
                          "rounded to single precision (relative change < 6e-8), as this "
                          "version stores them; a gate changes only for inputs within ~1e-7 "
                          "of its threshold", UserWarning, stacklevel=3)
        return out

    def _estimated_bytes(self):
        shapes = dgn_weight_shapes(self._layers(), self.n_branches, self._n_out(), self._n_in())
        synapses = sum(a * b for a, b in shapes.values())
        inputs = self._n_slots() * (2 * self._n_in() + self._n_out() + 1) * 8
        return _DGN_BYTES_PER_SYNAPSE * synapses + 4 * inputs


#: Rough peak bytes per synapse of a DGN learner (Python process and binary
#: together). Measured 2026-11-30 on the MNIST-shaped classifier with default
#: arguments (25.4 M synapses, 600 samples): Python peak 1180 MiB, whole process
#: tree at most 1447 MiB (~57 B per synapse), the binary alone 416-625 MiB
#: (``RunResult.peak_memory``). Its synapses carry one weight (and a mask), fewer
#: arrays than the microcircuit's, for which the learners' shared 160 B holds.
_DGN_BYTES_PER_SYNAPSE = 80


class DendriticGatedClassifier(_DendriticGated):
    """Dendritic Gated Network classifier (Sezener et al. 2021), one-vs-all, in Brian2.

    Every class has its own network of layers ``hidden_layers + (1,)``; every
    neuron has ``n_branches`` dendritic branches, each gated by a fixed random
    half-space of the side information, and every neuron learns online to
    predict the class itself (log loss) from the layer below, on its open
    branches only: no backpropagation, no feedback pathway.

    Parameters
    ----------
    hidden_layers : sequence of int
        Hidden layer sizes of each class's network (default ``(10, 10)``).
    n_branches : int
        Branches per neuron (default 100).
    eta : float
        Learning rate per sample (default 1e-2).
    theta_mean, theta_sd : float
        Gate thresholds (mean, spread) on unit-norm hyperplanes; with side
        information of ``E|z|^2 = n_features`` about 15 % of branches open
        per input at ``theta_mean = 1`` (the default).
    side_info : {'raw', 'features'}
        Gates on the raw input scaled to ``E|z|^2 = n_features`` (not centred;
        the default), or on the scaled features (centred: every branch then
        opens for about half of all inputs).
    feature_scaling : {'per_feature', 'global', 'none'}
        Standardise each feature, or all with one mean and spread, or not.
    eps : float in (0, 0.5)
        Outputs are clipped to ``[eps, 1 - eps]``; samples predicted within
        ``eps`` of their target do not change the weights.
    w_clip : float
        Weights are clipped to ``[-w_clip, w_clip]`` (GLN library: 200).
    lr_decay : float
        ``eta_t = eta / (1 + lr_decay * samples learned)``.
    t_sample : Quantity
        Simulated time per sample (a unit choice).
    dtype : {'float64', 'float32'}
        Floating-point type of the compiled network (float32 halves the
        memory traffic of the weight and gate loops).
    epochs, shuffle, chunk, target, seed, progress, cache_dir, warm_start, threads
        See :class:`~brian_dendrites.learners.base.Learner` (defaults here:
        ``epochs=3``, ``chunk=500``).

    Notes
    -----
    The defaults are for small tabular and image data sets such as
    scikit-learn's ``load_digits`` (8x8 digits): three epochs reach the
    accuracy of a tuned logistic regression (tests/test_dgn.py). On MNIST
    and for continual learning see docs/dgn.md.

    Attributes
    ----------
    classes_ : ndarray
        Class labels.
    n_features_in_ : int
    history_ : pandas.DataFrame
        ``train_loss`` is the error rate of the predictions made during
        training (before each update); ``val_loss``/``val_score`` error rate
        and accuracy.

    Examples
    --------
    >>> import numpy as np
    >>> X = np.random.default_rng(0).normal(size=(40, 3))
    >>> y = (X[:, 0] > 0).astype(int)
    >>> clf = DendriticGatedClassifier(hidden_layers=(2,), n_branches=4, chunk=40,
    ...                                target='numpy', progress=False, epochs=2)
    >>> clf.fit(X, y).predict(X[:3]).shape
    (3,)
    """

    _estimator_type = "classifier"
    _output = "sigmoid"
    _fitted_attributes = _DendriticGated._fitted_attributes + ("classes_",)

    def __init__(self, hidden_layers=(10, 10), n_branches=100, eta=1e-2, theta_mean=1.0,
                 theta_sd=0.0, side_info="raw", feature_scaling="per_feature", eps=0.01,
                 w_clip=200.0, lr_decay=0.0, t_sample=1 * ms, dtype="float64", epochs=3,
                 shuffle=True, chunk=500, target="cpp_standalone", seed=0, progress=True,
                 cache_dir=None, warm_start=False, threads=1):
        self._store(locals())

    def _validate_params(self):
        super()._validate_params()
        check_real(self.eps, "eps", 0, 0.5, low_open=True, high_open=True)

    def _fit_targets(self, y, n, classes=None):
        self.classes_ = fit_classes(y, classes)
        self.n_outputs_ = 1 if self.classes_.size == 2 else int(self.classes_.size)

    def _encode_targets(self, y, n, name="y"):
        idx = label_indices(self.classes_, y, n, name)
        if self.n_outputs_ == 1:
            return (idx == 1).astype(float)[:, None]
        return np.eye(self.n_outputs_)[idx]

    def _decode(self, outputs):
        return self.classes_[self._class_index(outputs)]

    def _class_index(self, outputs):
        outputs = np.asarray(outputs)
        return (outputs[:, 0] > 0.5).astype(int) if self.n_outputs_ == 1 else outputs.argmax(1)

    def _loss(self, out, Y):
        """Error rate."""
        truth = (Y[:, 0] > 0.5).astype(int) if self.n_outputs_ == 1 else Y.argmax(1)
        return float(np.mean(self._class_index(out) != truth))

    def _score_outputs(self, out, Y):
        """Accuracy."""
        return 1.0 - self._loss(out, Y)

    def predict_proba(self, X):
        """Class probabilities, shape ``(n_samples, n_classes)``.

        Two classes: ``[1 - p, p]`` of the single network; more: the
        one-vs-all outputs normalised to sum to 1.
        """
        p = self._outputs(X)
        if self.n_outputs_ == 1:
            return np.hstack([1.0 - p, p])
        return p / p.sum(axis=1, keepdims=True)

    def partial_fit(self, X, y, classes=None, validation_data=None):
        """One online pass over ``(X, y)``, continuing from the current state.

        The first call fits the data side (width, scaling, classes); give
        ``classes`` there if ``y`` does not hold every class (a stream of
        tasks). Later calls keep them.
        """
        return self._partial_fit(X, y, validation_data, classes)

    def score(self, X, y) -> float:
        """Accuracy on ``(X, y)``."""
        return super().score(X, y)


class DendriticGatedRegressor(StandardisedRegression, _DendriticGated):
    """Dendritic Gated Network regressor (Sezener et al. 2021) in Brian2.

    One network per target column, identity outputs, squared error: every
    neuron learns online to predict the target from the layer below on its
    open branches (``dw = -eta g (r - y) h``). Targets are standardised with
    the mean and spread of the first ``y`` seen (``target_offset_``,
    ``target_scale_``); predictions are in the units of ``y``.

    Parameters
    ----------
    hidden_layers, n_branches, theta_mean, theta_sd, side_info, feature_scaling, w_clip, lr_decay, t_sample, dtype
        As for :class:`DendriticGatedClassifier`.
    eta : float
        Learning rate per sample (default 1e-3). With identity outputs one
        step changes a prediction by about ``eta * open branches * |h|^2``
        (``|h|^2 ~ n_features`` for standardised features): keep that below
        1, i.e. lower ``eta`` for wide inputs or many branches.
    epochs, shuffle, chunk, target, seed, progress, cache_dir, warm_start, threads
        See :class:`~brian_dendrites.learners.base.Learner`.

    Attributes
    ----------
    n_features_in_, n_outputs_ : int
    history_ : pandas.DataFrame
        ``train_loss``/``val_loss`` mean squared error, ``val_score`` R².

    Examples
    --------
    >>> import numpy as np
    >>> X = np.random.default_rng(0).normal(size=(40, 3))
    >>> reg = DendriticGatedRegressor(hidden_layers=(2,), n_branches=4, chunk=40,
    ...                               target='numpy', progress=False)
    >>> reg.fit(X, X[:, 0]).predict(X[:3]).shape
    (3,)
    """

    _output = "identity"

    def __init__(self, hidden_layers=(10, 10), n_branches=100, eta=1e-3, theta_mean=1.0,
                 theta_sd=0.0, side_info="raw", feature_scaling="per_feature", w_clip=200.0,
                 lr_decay=0.0, t_sample=1 * ms, dtype="float64", epochs=3, shuffle=True,
                 chunk=500, target="cpp_standalone", seed=0, progress=True, cache_dir=None,
                 warm_start=False, threads=1):
        self._store(locals())

    _fitted_attributes = (_DendriticGated._fitted_attributes
                          + StandardisedRegression._target_attributes)
