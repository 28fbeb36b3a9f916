"""Learner of the Sacramento et al. (2018) microcircuit in continuous time (rate mode)."""

from __future__ import annotations

import dataclasses

import numpy as np
from brian2 import ms, second

from .._validation import check_bool, check_positive, check_quantity, check_time
from ..activations import get_activation
from ..circuits import dendritic_microcircuit
from ..circuits._shapes import check_layers
from ..circuits.microcircuit import DECAY_PATTERNS, default_learning_rates
from ..engine.simulation import check_float_dtype
from ..lab import error_signal_angles, feedback_alignment_angles
from .base import Learner, Presentation, check_XY, slots_for

__all__ = ["DendriticMicrocircuitRegressor"]


class DendriticMicrocircuitRegressor(Learner):
    """Sacramento et al. (2018) microcircuit trained in continuous time (``rate`` mode).

    Each sample is presented for ``t_pattern`` with the output nudged toward
    its target potential; plasticity runs continuously (no phases), except
    during an optional settling window ``t_settle`` at the start of each
    presentation. Inputs reach the first layer through a low-pass filter
    (``tau_in``). Predictions are the output somatic potentials at the end of
    each presentation with the teacher and plasticity off.

    **What the defaults are for.** The paper's teacher-student regression
    (Fig. 2): inputs U(-1, 1), target *potentials* of a teacher network of the
    same form (``u_trgt = 10 W2 phi(2 W1 x)``, rates ``phi(u_trgt)``), the
    paper's sparse softplus ``phi(u) = 0.1 log(1 + exp(u - 3))``, weights
    U(-1, 1), started self-predicting, top-down weights fixed. There the
    defaults learn in the hidden layer too: over 5000 presentations the
    test error falls about 2.5-3x (a feedback-alignment MLP with the same
    feedback weights, on the same samples, 2.8-3.3x), ends 2-3x below output-only
    learning, and the forward weights align with the feedback
    (``history_``'s angles; docs/reproductions.md, section 2). The rates
    start high and decay with the presentations (``decay_patterns``). For
    other pattern lengths the default rates scale as ``100 ms / t_pattern``
    (:func:`~brian_dendrites.circuits.microcircuit.default_learning_rates`);
    below ~20 ms little is learned whatever the rates. Other activations,
    target scales or weight scales need their own rates: keep
    ``eta_PP`` of hidden layers >= 2.4x the output layer's, ``eta_PI`` 0 once
    self-predicting (its rule cancels the teaching signal).

    Parameters
    ----------
    layers : sequence of int
        ``[n_in, ..., n_out]``.
    t_pattern : Quantity (second)
        Presentation time per sample (the paper's 100 ms; at 20 ms the
        default rates are 5x larger and a presentation is 5x cheaper, but
        each one teaches less).
    t_settle : Quantity (second)
        Plasticity off for this long at the start of every presentation
        (somata settle before the rules see them); a multiple of ``dt`` below
        ``t_pattern``.
    eta_PP, eta_IP, eta_PI, eta_TD : Quantity (1/second), optional
        Initial learning rates (``eta_PP`` may be one per layer); ``None``:
        the circuit's defaults for this ``t_pattern``
        (:func:`~brian_dendrites.circuits.microcircuit.default_learning_rates`).
    decay_patterns : int or None
        Learning-rate schedule: after ``n`` training presentations (all
        epochs; the history's ``samples``) every rate is its initial value
        times ``1 / (1 + n / decay_patterns)`` (half after
        ``decay_patterns``), changed between runs of ``chunk`` samples
        through run values (no rebuild). ``None``: constant rates.
    tau_w : Quantity (second), optional
        Low-pass time constant of the weight updates (``None``: the rule's).
    activation : str
        Rate function (a key of :data:`brian_dendrites.models.ACTIVATIONS`).
    conductances : dict, optional
        Overrides of ``g_L, g_B, g_A, g_D, g_som``.
    learn_topdown : bool
        Learn the top-down weights (paper eq. 10).
    weights : dict, optional
        Initial ``(n_post, n_pre)`` matrices by family (``W1``, ``B1``...).
    weight_scale : float
        Scale ``s`` of random initial weights.
    weight_init : {'uniform', 'fan_in'}
        U(-s, s) (the paper's) or U(-s, s)/sqrt(n_pre).
    self_predicting : bool
        Start in the self-predicting state.
    tau_in : Quantity (second)
        Input low-pass time constant (``0*ms``: step inputs;
        :func:`~brian_dendrites.models.low_pass_input`).
    sigma : Quantity (1/sqrt(second)), optional
        Somatic white-noise amplitude of every pyramid (paper: ``0.1/sqrt(ms)``;
        ``None``: the model's default, 0). Every run (chunk) draws its own
        noise, seeded by ``seed``, the epoch and the chunk.
    dt : Quantity (second)
        Simulation time step; ``t_pattern`` and ``t_settle`` are whole
        numbers of steps.
    dtype : {'float64', 'float32'}
        Floating-point type of the compiled network (float32: half the
        memory traffic; docs/benchmarks.md).
    epochs, shuffle, chunk, target, seed, progress, cache_dir, warm_start, threads
        Training and engine settings shared by every learner (defaults here:
        ``chunk=100``, ``target='cpp_standalone'``); see :class:`~.base.Learner`.

    Attributes
    ----------
    session_ : Session
        The compiled circuit and its state.
    history_ : pandas.DataFrame
        ``epoch``, ``train_loss`` (MSE of the nudged outputs during training),
        ``time_s``, ``val_loss``, ``val_score`` (R²), and per hidden layer k
        ``weight_angle_k`` (degrees between ``W_{k+1}^T`` and ``B_k``,
        :func:`~brian_dendrites.lab.feedback_alignment_angles`) and
        ``error_angle_k`` (mean angle between the hidden error signal the
        feedback weights carry and backprop's, on up to 256 of the epoch's
        samples, :func:`~brian_dendrites.lab.error_signal_angles`).
    weights_ : dict
        Current weight matrices.
    epochs_done_ : int

    Examples
    --------
    >>> import numpy as np
    >>> from brian2 import ms
    >>> net = DendriticMicrocircuitRegressor([3, 4, 2], t_pattern=5*ms, chunk=4,
    ...                                      target='numpy', progress=False)
    >>> X, Y = np.ones((4, 3)), np.ones((4, 2))
    >>> net.fit(X, Y).predict(X).shape
    (4, 2)
    """

    def __init__(self, layers, t_pattern=100 * ms, t_settle=0 * ms, eta_PP=None, eta_IP=None,
                 eta_PI=None, eta_TD=None, decay_patterns=DECAY_PATTERNS, tau_w=None, activation="softplus_sacramento",
                 conductances=None, learn_topdown=False, weights=None, weight_scale=1.0,
                 weight_init="uniform", self_predicting=True, tau_in=3 * ms, sigma=None,
                 dt=0.1 * ms, dtype="float64", epochs=1, shuffle=True, chunk=100,
                 target="cpp_standalone", seed=0, progress=True, cache_dir=None,
                 warm_start=False, threads=1):
        self._store(locals())

    # ------------------------------------------------------------ hooks
    def _validate_params(self):
        check_layers(self.layers)
        check_time(self.dt, "dt")
        check_float_dtype(self.dtype, "dtype")
        slots_for(self.t_pattern, self.t_settle, self.dt)
        check_bool(self.self_predicting, "self_predicting")
        check_bool(self.learn_topdown, "learn_topdown")
        if self.decay_patterns is not None:
            check_positive(self.decay_patterns, "decay_patterns")
        if self.sigma is not None:
            check_quantity(self.sigma, "sigma", second ** -0.5,
                           "a noise amplitude in 1/sqrt(time) (e.g. 0.1/sqrt(ms))")
        # everything else is checked by the circuit builder when the session is built

    def _rate_factor(self, trained):
        """The schedule's factor of every learning rate after ``trained`` presentations."""
        if self.decay_patterns is None:
            return 1.0
        return 1.0 / (1.0 + trained / self.decay_patterns)

    def _chunk_values(self, values, trained):
        f = self._rate_factor(trained)
        if f == 1.0:
            return values
        info = self.session_.circuit.info
        L = len(self.layers) - 1
        scaled = dict(values)
        for k in range(1, L + 1):
            scaled[f"W{k}.eta"] = info["eta_PP"][k - 1] * f
        for k in range(1, L):
            scaled[f"IP{k}.eta"] = info["eta_IP"] * f
            scaled[f"PI{k}.eta"] = info["eta_PI"] * f
            if self.learn_topdown:
                scaled[f"B{k}.eta"] = info["eta_TD"] * f
        return scaled

    def _presentation(self):
        t_slot, learn = slots_for(self.t_pattern, self.t_settle, self.dt)
        return Presentation(t_slot=t_slot, learn=learn, nudge=(1.0,) * len(learn))

    def _run_values(self):
        if self.sigma is None:
            return {}
        return {f"pyr{k}.sigma": self.sigma for k in range(1, len(self.layers))}

    def _build_circuit(self, n_slots):
        # default rates for the whole presentation (a slot is shorter with a settling window)
        rates = default_learning_rates(self.layers, self.t_pattern, self.self_predicting)
        given = dict(eta_PP=self.eta_PP, eta_IP=self.eta_IP, eta_PI=self.eta_PI, eta_TD=self.eta_TD)
        rates.update({k: v for k, v in given.items() if v is not None})
        circuit = dendritic_microcircuit(
            list(self.layers), n_patterns=n_slots, t_pattern=self._presentation().t_slot,
            activation=self.activation, conductances=self.conductances, **rates, tau_w=self.tau_w,
            learn_topdown=self.learn_topdown, weights=self.weights,
            weight_scale=self.weight_scale, weight_init=self.weight_init,
            self_predicting=self.self_predicting, tau_in=self.tau_in, seed=self.seed)
        return dataclasses.replace(circuit, dt=self.dt)

    def _diagnostics(self, X, Y):
        """Weight and hidden error-signal angles (degrees) per hidden layer."""
        L = len(self.layers) - 1
        if L < 2:
            return {}
        W = self.weights_
        forward = [W[f"W{k}"] for k in range(1, L + 1)]
        feedback = [W[f"B{k}"] for k in range(1, L)]
        g = {k: float(v * ms) for k, v in self.session_.circuit.info["conductances"].items()}
        c = ([g["g_B"] / (g["g_L"] + g["g_B"] + g["g_A"])] * (L - 1)
             + [g["g_B"] / (g["g_L"] + g["g_B"])])
        phi = get_activation(self.activation).phi
        Xs, Ys = X[:256], Y[:256]
        r = Xs
        for k in range(L):
            r = phi(c[k] * r @ forward[k].T)
        out = {}
        angles = feedback_alignment_angles(forward, feedback)
        errors = error_signal_angles(forward, feedback, Xs, r - phi(Ys), self.activation, c)
        for k in range(1, L):
            out[f"weight_angle_{k}"] = angles[k - 1]
            out[f"error_angle_{k}"] = errors[k - 1]
        return out

    def _encode_targets(self, y, n, name="y"):
        return check_XY(np.zeros((n, self._n_in())), y, None, self._n_out(), "X", name)[1]

    def _decode(self, outputs):
        return outputs

    def _loss(self, out, Y):
        """Mean squared error of output potentials."""
        return float(np.mean((out - Y) ** 2))

    def _score_outputs(self, out, Y):
        """Coefficient of determination R² (uniform average over outputs, as scikit-learn)."""
        ss_res = np.sum((Y - out) ** 2, axis=0)
        ss_tot = np.sum((Y - Y.mean(axis=0)) ** 2, axis=0)
        with np.errstate(divide="ignore", invalid="ignore"):
            r2 = np.where(ss_tot > 0, 1 - ss_res / ss_tot, np.where(ss_res > 0, 0.0, 1.0))
        return float(np.mean(r2))
