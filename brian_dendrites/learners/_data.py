"""The data side shared by learners whose sizes come from the data (DGN, DFC).

Mixins for :class:`~brian_dendrites.learners.base.Learner` subclasses:

- :class:`DataSized`: the input width ``n_features_in_`` and the feature
  standardisation come from the first ``X`` given to ``fit`` (scikit-learn
  style), the output width from ``y``; saved with the learner.
- :class:`StandardisedRegression`: targets standardised with the first
  ``y``'s mean and spread, squared error, R² as the score.
- :func:`fit_classes`, :func:`label_indices`: class labels and their checks.
"""

from __future__ import annotations

import numpy as np

from .._validation import check_array, check_choice, check_int
from .base import NotFittedError, check_XY

__all__ = ["DataSized", "StandardisedRegression", "check_hidden_layers", "fit_classes",
           "label_indices", "FEATURE_SCALING"]

#: Feature standardisation modes: each feature, all features with one mean and spread, none.
FEATURE_SCALING = ("per_feature", "global", "none")


def check_hidden_layers(hidden):
    """Validate a sequence of hidden layer sizes (each an int >= 1)."""
    if isinstance(hidden, (str, bytes)) or not hasattr(hidden, "__len__"):
        raise TypeError(f"hidden_layers: expected a sequence of layer sizes, e.g. (10, 10), "
                        f"got {hidden!r}")
    for i, n in enumerate(hidden):
        check_int(n, f"hidden_layers[{i}]", minimum=1)


def fit_classes(y, classes=None) -> np.ndarray:
    """The sorted class labels of ``y`` (or ``classes``), at least two."""
    labels = np.unique(np.asarray(y) if classes is None else np.asarray(classes))
    if labels.size < 2:
        raise ValueError(f"{'classes' if classes is not None else 'y'}: got {labels.size} class "
                         f"{labels.tolist()}; a classifier needs at least 2 classes")
    if classes is not None:
        unknown = np.setdiff1d(np.asarray(y), labels)
        if unknown.size:
            raise ValueError(f"y: labels {unknown.tolist()[:5]} are not among the classes "
                             f"{labels.tolist()}")
    return labels


def label_indices(classes, y, n, name="y") -> np.ndarray:
    """Index of every label of ``y`` in ``classes`` (a named error for unknown labels)."""
    y = np.asarray(y)
    if y.ndim != 1 or y.shape[0] != n:
        raise ValueError(f"{name} must be a 1-D array of {n} labels (one per sample), "
                         f"got shape {y.shape}")
    try:
        idx = np.clip(np.searchsorted(classes, y), 0, len(classes) - 1)
        bad = classes[idx] != y
    except TypeError:  # labels of another type than the classes (numbers vs strings)
        raise ValueError(f"{name}: labels {np.unique(y).tolist()[:5]} are not among the "
                         f"classes {classes.tolist()} this classifier was fitted with") from None
    if np.any(bad):
        raise ValueError(f"{name}: labels {np.unique(y[bad]).tolist()[:5]} are not among the "
                         f"classes {classes.tolist()} this classifier was fitted with")
    return idx


class DataSized:
    """Input width and feature scaling from the first data (a mixin before ``Learner``).

    Needs the parameter ``feature_scaling`` (one of :data:`FEATURE_SCALING`)
    and the hook ``_fit_targets(y, n, classes)`` (sets ``n_outputs_``).
    """

    _fitted_attributes = ("n_features_in_", "n_outputs_", "feature_offset_", "feature_scale_")

    def _fitted(self):
        return getattr(self, "n_features_in_", None) is not None

    def _n_in(self):
        if not self._fitted():
            raise NotFittedError(f"this {type(self).__name__} is not fitted yet: call fit(X, y) "
                                 "first (its input width comes from X)")
        return int(self.n_features_in_)

    def _n_out(self):
        return int(self.n_outputs_)

    def _fit_scaling(self, X):
        """Width and standardisation statistics from ``X`` (validated)."""
        mode = check_choice(self.feature_scaling, "feature_scaling", FEATURE_SCALING)
        self.n_features_in_ = int(X.shape[1])
        if mode == "per_feature":
            offset, scale = X.mean(axis=0), X.std(axis=0)
        elif mode == "global":
            offset, scale = np.full(X.shape[1], X.mean()), np.full(X.shape[1], X.std())
        else:
            offset, scale = np.zeros(X.shape[1]), np.ones(X.shape[1])
        self.feature_offset_ = offset
        self.feature_scale_ = np.where(scale > 1e-12 * max(1.0, float(np.max(scale))), scale, 1.0)

    def _scaled(self, X):
        """``(X - feature_offset_) / feature_scale_`` of a validated ``X``."""
        X, _ = check_XY(X, None, self._n_in())
        return (X - self.feature_offset_) / self.feature_scale_

    def _prepare(self, X, y, classes=None):
        """Fit the data side (width, scaling, targets)."""
        if y is None:
            raise ValueError(f"{type(self).__name__} requires y to be passed, but the target y "
                             "is None")
        X, _ = check_XY(X, None)
        self._fit_targets(y, X.shape[0], classes)
        self._fit_scaling(X)

    def fit(self, X, y, epochs=None, validation_data=None):
        """Train ``epochs`` online passes over ``(X, y)`` (see :meth:`Learner.fit`).

        Unless ``warm_start`` continues a fitted learner, the input width,
        the scaling statistics and the output width (classifiers: the
        classes) come from ``(X, y)``.
        """
        self._validate_params()
        if not (self.warm_start and self._fitted()):
            self._prepare(X, y)
        return super().fit(X, y, epochs=epochs, validation_data=validation_data)

    def _partial_fit(self, X, y, validation_data=None, classes=None):
        """One online pass; the first call fits the data side."""
        self._validate_params()
        if not self._fitted():
            self._prepare(X, y, classes)
        return super().partial_fit(X, y, validation_data=validation_data)


class StandardisedRegression:
    """Regression targets standardised with the first ``y`` (a mixin before a ``DataSized``).

    Fitted attributes ``target_offset_``, ``target_scale_``; loss: mean squared
    error in the units of ``y``; score: R².
    """

    _target_attributes = ("target_offset_", "target_scale_")

    def _fit_targets(self, y, n, classes=None):
        y = check_array(y, "y")
        if y.ndim not in (1, 2):
            raise ValueError(f"y must be 1-D or 2-D, got shape {y.shape}")
        Y = y[:, None] if y.ndim == 1 else y
        self.n_outputs_ = int(Y.shape[1])
        scale = Y.std(axis=0)
        self.target_offset_ = Y.mean(axis=0)
        self.target_scale_ = np.where(scale > 0, scale, 1.0)

    def _encode_targets(self, y, n, name="y"):
        y = check_array(y, name)
        if y.ndim == 1:
            y = y[:, None]
        if y.ndim != 2 or y.shape != (n, self.n_outputs_):
            raise ValueError(f"{name} must have shape ({n},) or ({n}, {self.n_outputs_}) (the "
                             f"width of the y given to fit), got {np.shape(y)}")
        return (y - self.target_offset_) / self.target_scale_

    def _decode(self, outputs):
        outputs = np.asarray(outputs) * self.target_scale_ + self.target_offset_
        return outputs[:, 0] if self.n_outputs_ == 1 else outputs

    def _loss(self, out, Y):
        """Mean squared error (in the units of y)."""
        return float(np.mean(((np.asarray(out) - Y) * self.target_scale_) ** 2))

    def _score_outputs(self, out, Y):
        """R² (averaged over outputs; invariant to the targets' scaling)."""
        out = np.asarray(out)
        ss_res = np.sum((Y - out) ** 2, axis=0)
        ss_tot = np.sum((Y - Y.mean(axis=0)) ** 2, axis=0)
        ss_tot = np.where(ss_tot > 0, ss_tot, 1.0)
        return float(np.mean(1.0 - ss_res / ss_tot))

    def partial_fit(self, X, y, validation_data=None):
        """One online pass over ``(X, y)``, continuing from the current state."""
        return self._partial_fit(X, y, validation_data)

    def score(self, X, y) -> float:
        """R² on ``(X, y)``."""
        return super().score(X, y)
