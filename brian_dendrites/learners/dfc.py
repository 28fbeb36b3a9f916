"""Learners of Deep Feedback Control (Meulemans et al. 2021): regressor and classifier.

Both train :func:`~brian_dendrites.circuits.dfc_network` through the
:class:`~brian_dendrites.learners.base.Learner` contract: one sample is one
slot of ``n_steps`` time steps (the feed-forward sweep, then the feedback
phase in which the controller drives the output to its target and every
neuron learns from its somatic-minus-basal rate). What they add is the data
side and one check:

- the input width comes from ``X`` in :meth:`fit` (``n_features_in_``),
  features are standardised with the first data's statistics;
- regression: targets standardised (``target_offset_``, ``target_scale_``),
  squared error; classification: one output per class, one-hot targets,
  squared error, predictions by the largest output;
- after every training run the relative control error left at the end of
  each feedback phase is checked (:func:`~brian_dendrites.circuits.dfc.control_errors`):
  ``history_['not_converged']`` is the fraction of samples whose controller
  did not at least halve the output error, and a warning names the cause
  when it is not 0 (an unstable feedback ``Q``, too few steps, a too large
  ``dt``).
"""

from __future__ import annotations

import warnings

import numpy as np
from brian2 import ms
from scipy.special import log_softmax, softmax

from .._validation import (
    check_choice,
    check_int,
    check_nonnegative,
    check_real,
    check_time,
)
from ..circuits.dfc import (
    CONTROL_READOUTS,
    DFC_ACTIVATIONS,
    DFC_LOSSES,
    control_errors,
    dfc_network,
    dfc_weight_shapes,
)
from ..engine.simulation import check_float_dtype
from ._data import (
    FEATURE_SCALING,
    DataSized,
    StandardisedRegression,
    check_hidden_layers,
    fit_classes,
    label_indices,
)
from .base import _BYTES_PER_SYNAPSE, Learner, Presentation

__all__ = ["DeepFeedbackControlRegressor", "DeepFeedbackControlClassifier", "DFC_VARIANTS",
           "ControllerWarning"]

#: Learning-rule variants: the update averaged over the feedback phase, or at its end.
DFC_VARIANTS = ("dfc", "dfc_ss")

#: A sample counts as not converged when its controller left more than this
#: fraction of the initial output error ``|r* - r_ff|``.
CONVERGENCE_TOLERANCE = 0.5


class ControllerWarning(RuntimeWarning):
    """The feedback controller did not drive the output to its target."""


class _DeepFeedbackControl(DataSized, Learner):
    """Shared machinery of the DFC learners (see the subclasses)."""

    def __init__(self, hidden_layers=(10, 10), activation="tanh", variant="dfc", eta=5.0,
                 lam=0.3, k_p=1.5, alpha=0.0015, n_steps=100, dt=0.05 * ms, tau_v=0.2 * ms,
                 feedback="weight_product", feedback_learning=False, eta_fb=200.0, sigma_fb=0.01,
                 feature_scaling="per_feature", dtype="float64", epochs=20, shuffle=True,
                 chunk=100, target="cpp_standalone", seed=0, progress=True, cache_dir=None,
                 warm_start=False, threads=1):
        self._store(locals())

    # ------------------------------------------------------------ checks
    def _validate_params(self):
        check_hidden_layers(self.hidden_layers)
        check_choice(self.activation, "activation", DFC_ACTIVATIONS)
        check_choice(self.variant, "variant", DFC_VARIANTS)
        check_nonnegative(self.eta, "eta")
        check_nonnegative(self.lam, "lam")
        check_nonnegative(self.k_p, "k_p")
        check_real(self.alpha, "alpha", 0, None, low_open=True)
        check_int(self.n_steps, "n_steps", minimum=2)
        dt = check_time(self.dt, "dt")
        tau_v = check_time(self.tau_v, "tau_v")
        if not dt < tau_v:
            raise ValueError(f"dt must be smaller than tau_v (forward Euler is unstable "
                             f"otherwise), got dt={dt} and tau_v={tau_v}")
        check_choice(self.feedback, "feedback", ("weight_product", "random"))
        check_choice(self.feedback_learning, "feedback_learning", (False, True))
        check_nonnegative(self.eta_fb, "eta_fb")
        check_real(self.sigma_fb, "sigma_fb", 0, None, low_open=True)
        check_choice(self.feature_scaling, "feature_scaling", FEATURE_SCALING)
        check_float_dtype(self.dtype, "dtype")

    def _layers(self):
        return [self._n_in(), *(int(n) for n in self.hidden_layers), self._n_out()]

    # ------------------------------------------------------------ data side
    def network_inputs(self, X):
        """Features as the network receives them: ``(X - feature_offset_) / feature_scale_``.

        (Not named ``transform``: scikit-learn would take the learner for a transformer.)
        """
        return self._scaled(X)

    def _run_chunks(self, X, Y, learn, order, values=None, carry=None, trained=None):
        return super()._run_chunks(self._features(X), Y, learn, order, values, carry, trained)

    def _features(self, X):
        return self.network_inputs(X)

    def _chunk_inputs(self, X, Y, valid, learn):
        mask = np.zeros(len(X))
        mask[:valid] = 1.0
        out = {"x": X, "learn": mask if learn else np.zeros(len(X))}
        if learn:
            out["target"] = Y
        return out

    def _presentation(self):
        return Presentation(t_slot=int(self.n_steps) * self.dt)

    def _build_circuit(self, n_slots):
        # tunables are run values (_run_values): learners that differ only in them
        # share one compiled binary
        return dfc_network(self._layers(), n_slots, n_steps=self.n_steps, dt=self.dt,
                           activation=self.activation, output_activation="linear",
                           feedback=self.feedback, seed=self.seed, loss=self._output_loss(),
                           noise=bool(self.feedback_learning))

    def _output_loss(self):
        return "mse"

    #: The sleep phase's controller and apical settings (the official code's
    #: feedback phase, with the learner's dt and tau_v).
    SLEEP = {"alpha": 0.25, "k_p": 0.1, "tau_A": 0.3 * ms}

    def _sleep_values(self):
        values = {**self._run_values(), "ctrl.lam": 0.0, "ctrl.alpha": self.SLEEP["alpha"],
                  "ctrl.k_p": self.SLEEP["k_p"]}
        for k in range(1, len(self.hidden_layers) + 2):
            values.update({f"nrn{k}.learn_fb": 1.0, f"nrn{k}.eta_fb": float(self.eta_fb),
                           f"nrn{k}.sigma": float(self.sigma_fb),
                           f"nrn{k}.tau_A": self.SLEEP["tau_A"]})
        return values

    def _before_epoch(self, X, Y, order):
        """Sleep phase (``feedback_learning``): ``Q`` learns from noise on the epoch's inputs."""
        if self.feedback_learning:
            self._run_chunks(X, None, learn=False, order=order, values=self._sleep_values(),
                             carry=True)

    def _run_values(self):
        values = {"ctrl.alpha": float(self.alpha), "ctrl.k_p": float(self.k_p),
                  "ctrl.lam": float(self.lam)}
        layers = self._layers()
        for k in range(1, len(layers)):
            values.update({f"nrn{k}.eta": float(self.eta) / layers[k - 1],
                           f"nrn{k}.tau_v": self.tau_v,
                           f"nrn{k}.ss": float(self.variant == "dfc_ss")})
        return values

    def _session_key(self):
        return super()._session_key() + f"|{self._n_in()}|{self._n_out()}"

    #: State variables of the circuit before 2026-12-01 that are zero or redrawn at every
    #: sample boundary (where a saved state is taken): the first layer's change accumulator
    #: (now the neuron's ``G``) and the apical noise (not built without the sleep phase).
    _LEGACY_TRANSIENT = ("W1.dw_acc", ".noise_A")
    #: Variables the current circuit recomputes on every sample's first step.
    _RECOMPUTED = ("nrn1.G", "nrn1.v_B0")

    def _migrated_state(self, saved):
        """A state saved before the first layer's held form (2026-12-01), in today's layout.

        Drops the variables of :attr:`_LEGACY_TRANSIENT` that the circuit no
        longer has and fills those of :attr:`_RECOMPUTED` from the initial
        state; anything else that does not match still gets
        ``Session.reset``'s error.
        """
        init = self.session_.initial_state
        out = {k: v for k, v in saved.items()
               if k in init or not any(k == t or k.endswith(t) for t in self._LEGACY_TRANSIENT)}
        for key in self._RECOMPUTED:
            if key in init and key not in out:
                out[key] = init[key]
        return out

    def _estimated_bytes(self):
        synapses = sum(a * b for a, b in dfc_weight_shapes(self._layers()).values())
        inputs = self._n_slots() * (self._n_in() + self._n_out() + 1) * 8
        return _BYTES_PER_SYNAPSE * synapses + 4 * inputs

    # ------------------------------------------------------------ convergence
    def _extra_reads(self):
        return tuple(key for r in CONTROL_READOUTS.values() for key in r.keys)

    def _chunk_result(self, result, valid, learn):
        if not learn:
            return
        ratios = control_errors(result)[:valid]
        bad = ~(ratios <= CONVERGENCE_TOLERANCE) & ~np.isnan(ratios)
        counts = getattr(self, "_convergence_counts", [0, 0])
        self._convergence_counts = [counts[0] + int(bad.sum()), counts[1] + valid]

    def _diagnostics(self, X, Y):
        bad, total = getattr(self, "_convergence_counts", [0, 0])
        self._convergence_counts = [0, 0]
        fraction = bad / total if total else 0.0
        if bad:
            warnings.warn(
                f"{type(self).__name__}: the feedback controller did not converge for {bad} of "
                f"{total} samples in epoch {self.epochs_done_ + 1} (it left more than "
                f"{CONVERGENCE_TOLERANCE:g} of the output error): their updates are not DFC's. "
                "Causes: feedback weights Q violating the stability condition (eigenvalues of "
                "J Q with real part below -alpha), too few n_steps, or a too large dt.",
                ControllerWarning, stacklevel=4)
        return {"not_converged": fraction}

    def _diverged(self, variable, chunk, n_chunks):
        exc = super()._diverged(variable, chunk, n_chunks)
        exc.args = (exc.args[0] + " In a DFC network the usual cause is an unstable controller: "
                    "feedback weights Q violating the stability condition (eigenvalues of J Q "
                    "with real part below -alpha), or a too large dt.",)
        return exc

    # ------------------------------------------------------------ fitting
    def fit(self, X, y, epochs=None, validation_data=None):
        """Train ``epochs`` online passes over ``(X, y)`` (see :meth:`Learner.fit`)."""
        self._convergence_counts = [0, 0]
        return super().fit(X, y, epochs=epochs, validation_data=validation_data)


class DeepFeedbackControlRegressor(StandardisedRegression, _DeepFeedbackControl):
    """Deep Feedback Control regressor (Meulemans et al. 2021) in Brian2.

    A feedback controller drives the network's output toward
    ``r* = r_ff - lam (r_ff - y)`` through apical feedback ``Q u``; every
    neuron learns from the difference of its somatic and basal rates. With
    the defaults it learns the paper's toy task (a 15-10-10-5 tanh teacher
    with linear output) online: see ``tests/test_dfc.py``. Targets are
    standardised with the first ``y`` seen; predictions are in ``y``'s units.

    Parameters
    ----------
    hidden_layers : sequence of int
        Hidden layer sizes (default ``(10, 10)``); the input and output widths
        come from the data.
    activation : str
        Hidden rate function (paper: ``'tanh'``); the output is linear.
    variant : {'dfc', 'dfc_ss'}
        ``'dfc'``: the update averaged over the feedback phase; ``'dfc_ss'``:
        the update at its end (the steady state). Either way the weights stay
        fixed during the phase and change once, on its last step (as in the
        official code; docs/dfc.md).
    eta : float
        Forward learning rate per sample, divided by each layer's fan-in:
        ``W_k += (eta/n_{k-1}) (phi(v) - phi(v_B)) r_{k-1}^T`` (averaged over the
        phase). A weight change ``dv r^T`` moves the layer's basal potential by
        ``dv |r|^2``; dividing by the fan-in keeps that step comparable across
        layers and input widths (default 5). ``eta*lam`` sets the step:
        1.5 (the defaults) learned the toy task and MNIST; 3 diverged on the
        toy task.
    lam : float
        Output target step ``r* = r_ff - lam (r_ff - y)`` (default 0.3).
    k_p, alpha : float
        Proportional gain and leak of the controller (paper's toy: 1.5, 0.0015).
    n_steps : int
        Time steps per sample (1 feed-forward + ``n_steps - 1`` controlled).
    dt, tau_v : Quantity
        Time step and somatic time constant (controller's: 1 ms). The
        defaults (0.05 ms, 0.2 ms, 100 steps: 5 controller time constants)
        bring the output within 2 % of its steady state; the paper's
        simulations use 0.02 and 1000 steps.
    feedback : {'weight_product', 'random'}
        Initial feedback weights ``Q``: the product of the transposed forward
        weights (stable) or random.
    feedback_learning : bool
        Before every epoch, a sleep phase over the epoch's inputs: no target
        (``lam = 0``), apical noise ``sigma_fb``, forward weights fixed, and
        ``Q`` learns ``dQ = eta_fb (-v_A u^T)`` (the paper's feedback rule;
        controller ``alpha = 0.25``, ``k_p = 0.1``, ``tau_A = 0.3 ms`` as in the
        official code's feedback phase). Off: ``Q`` stays fixed.
    eta_fb, sigma_fb : float
        Feedback learning rate per sample (includes the paper's ``1/sigma^2``)
        and noise amplitude of the sleep phase.
    feature_scaling : {'per_feature', 'global', 'none'}
        Standardise each input with the first data's mean and spread, or
        all with one mean and spread, or not.
    dtype : {'float64', 'float32'}
        Floating-point type of the simulation.
    epochs, shuffle, chunk, target, seed, progress, cache_dir, warm_start, threads
        See :class:`~brian_dendrites.learners.base.Learner`.

    Attributes
    ----------
    n_features_in_, n_outputs_ : int
    history_ : pandas.DataFrame
        ``train_loss``/``val_loss`` mean squared error, ``val_score`` R²,
        ``not_converged`` fraction of training samples whose controller did
        not converge.

    Examples
    --------
    >>> import numpy as np
    >>> X = np.random.default_rng(0).normal(size=(20, 3))
    >>> reg = DeepFeedbackControlRegressor(hidden_layers=(4,), n_steps=20, chunk=20,
    ...                                    target='numpy', progress=False)
    >>> reg.fit(X, X[:, :2], epochs=1).predict(X[:3]).shape
    (3, 2)
    """

    _fitted_attributes = DataSized._fitted_attributes + StandardisedRegression._target_attributes


class DeepFeedbackControlClassifier(_DeepFeedbackControl):
    """Deep Feedback Control classifier (Meulemans et al. 2021) in Brian2.

    One linear output per class. With ``output_loss='xent'`` (default, the paper's)
    the output target is a gradient step of the cross-entropy of the
    outputs' softmax, ``r* = r_ff - lam (softmax(r_ff) - y)``, and
    :meth:`predict_proba` gives the softmax; with ``output_loss='mse'`` the outputs
    are trained toward one-hot targets (0/1) by squared error. The
    prediction is the class of the largest output.

    Parameters
    ----------
    hidden_layers, activation, variant, eta, lam, k_p, alpha, n_steps, dt, tau_v
        As for :class:`DeepFeedbackControlRegressor`.
    feedback, feedback_learning, eta_fb, sigma_fb, feature_scaling, dtype
        As for :class:`DeepFeedbackControlRegressor`.
    output_loss : {'xent', 'mse'}
        Output loss (default ``'xent'``): cross-entropy of the outputs'
        softmax, or squared error to one-hot targets.
    epochs, shuffle, chunk, target, seed, progress, cache_dir, warm_start, threads
        See :class:`~brian_dendrites.learners.base.Learner`.

    Attributes
    ----------
    classes_ : ndarray
    n_features_in_, n_outputs_ : int
    history_ : pandas.DataFrame
        ``train_loss``/``val_loss`` (cross-entropy, or mean squared error to
        the one-hot targets), ``val_score`` accuracy, ``not_converged`` (see
        the regressor).

    Examples
    --------
    >>> import numpy as np
    >>> X = np.random.default_rng(0).normal(size=(20, 3))
    >>> clf = DeepFeedbackControlClassifier(hidden_layers=(4,), n_steps=20, chunk=20,
    ...                                     target='numpy', progress=False)
    >>> clf.fit(X, X[:, 0] > 0, epochs=1).predict(X[:3]).dtype
    dtype('bool')
    >>> clf.predict_proba(X[:3]).sum(axis=1).round(6).tolist()
    [1.0, 1.0, 1.0]
    """

    def __init__(self, hidden_layers=(10, 10), activation="tanh", variant="dfc", eta=5.0,
                 lam=0.3, k_p=1.5, alpha=0.0015, n_steps=100, dt=0.05 * ms, tau_v=0.2 * ms,
                 feedback="weight_product", feedback_learning=False, eta_fb=200.0, sigma_fb=0.01,
                 feature_scaling="per_feature", dtype="float64", output_loss="xent", epochs=20,
                 shuffle=True, chunk=100, target="cpp_standalone", seed=0, progress=True,
                 cache_dir=None, warm_start=False, threads=1):
        self._store(locals())

    def _validate_params(self):
        super()._validate_params()
        check_choice(self.output_loss, "output_loss", DFC_LOSSES)

    def _output_loss(self):
        return self.output_loss

    _estimator_type = "classifier"
    _fitted_attributes = DataSized._fitted_attributes + ("classes_",)

    def _fit_targets(self, y, n, classes=None):
        self.classes_ = fit_classes(y, classes)
        self.n_outputs_ = int(self.classes_.size)

    def _encode_targets(self, y, n, name="y"):
        return np.eye(self.n_outputs_)[label_indices(self.classes_, y, n, name)]

    def _decode(self, outputs):
        return np.asarray(self.classes_)[np.argmax(outputs, axis=1)]

    def _loss(self, out, Y):
        """Mean cross-entropy of the outputs' softmax, or mean squared error to the one-hot
        targets (``output_loss``).
        """
        out = np.asarray(out, dtype=float)
        if self.output_loss == "mse":
            return float(np.mean((out - Y) ** 2))
        return float(np.mean(-np.sum(Y * log_softmax(out, axis=1), axis=1)))

    def predict_proba(self, X):
        """Class probabilities: the softmax of the outputs (``output_loss='xent'`` only).

        Columns follow ``classes_``.

        Raises
        ------
        ValueError
            With ``output_loss='mse'``: its outputs are not probabilities.
        """
        if self.output_loss != "xent":
            raise ValueError("predict_proba: this classifier was trained with output_loss='mse', "
                             "whose outputs are not probabilities; use output_loss='xent'")
        return softmax(self._outputs(X), axis=1)

    def _score_outputs(self, out, Y):
        """Accuracy."""
        return float(np.mean(np.argmax(out, axis=1) == np.argmax(Y, axis=1)))

    def partial_fit(self, X, y, classes=None, validation_data=None):
        """One online pass over ``(X, y)``; ``classes`` (all labels) on the first call."""
        return self._partial_fit(X, y, validation_data, classes)

    def score(self, X, y) -> float:
        """Accuracy on ``(X, y)``."""
        return super().score(X, y)
