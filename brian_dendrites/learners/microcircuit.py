"""Learner of the Sacramento et al. (2018) microcircuit in continuous time (rate mode)."""

from __future__ import annotations

import dataclasses

import numpy as np
from brian2 import ms, second

from .._validation import check_bool, check_quantity, check_time
from ..circuits import dendritic_microcircuit
from ..circuits._shapes import check_layers
from .base import Learner, Presentation, check_XY, slots_for

__all__ = ["DendriticMicrocircuitRegressor"]


class DendriticMicrocircuitRegressor(Learner):
    """Sacramento et al. (2018) microcircuit trained in continuous time (``rate`` mode).

    Each sample is presented for ``t_pattern`` with the output nudged toward
    its target potential; plasticity runs continuously (no phases), except
    during an optional settling window ``t_settle`` at the start of each
    presentation. Predictions are the output somatic potentials at the end of
    each presentation with the teacher and plasticity off.

    Parameters
    ----------
    layers : sequence of int
        ``[n_in, ..., n_out]``.
    t_pattern : Quantity (second)
        Presentation time per sample (paper: 100 ms).
    t_settle : Quantity (second)
        Plasticity off for this long at the start of every presentation
        (somata settle before the rules see them); a multiple of ``dt`` below
        ``t_pattern``.
    eta_PP, eta_IP, eta_PI, eta_TD : Quantity (1/second), optional
        Learning rates (``eta_PP`` may be one per layer); ``None``: the
        circuit's defaults (:data:`~brian_dendrites.circuits.microcircuit.LEARNING_RATES`).
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
        Scale of random initial weights ``U(-a, a)``, ``a = weight_scale/sqrt(n_pre)``.
    self_predicting : bool
        Start in the self-predicting state.
    sigma : Quantity (1/sqrt(second)), optional
        Somatic white-noise amplitude of every pyramid (paper: ``0.1/sqrt(ms)``;
        ``None``: the model's default, 0). Every run (chunk) draws its own
        noise, seeded by ``seed``, the epoch and the chunk.
    dt : Quantity (second)
        Simulation time step; ``t_pattern`` and ``t_settle`` are whole
        numbers of steps.
    epochs, shuffle, chunk, target, seed, progress, cache_dir, warm_start
        Training and engine settings shared by every learner (defaults here:
        ``chunk=20``, ``target='cpp_standalone'``); see :class:`~.base.Learner`.

    Attributes
    ----------
    session_ : Session
        The compiled circuit and its state.
    history_ : pandas.DataFrame
        ``epoch``, ``train_loss`` (MSE of the nudged outputs during training),
        ``time_s``, ``val_loss``, ``val_score`` (R²).
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
                 eta_PI=None, eta_TD=None, tau_w=None, activation="softplus_sacramento",
                 conductances=None, learn_topdown=False, weights=None, weight_scale=1.0,
                 self_predicting=True, sigma=None, dt=0.1 * ms, epochs=1, shuffle=True, chunk=20,
                 target="cpp_standalone", seed=0, progress=True, cache_dir=None, warm_start=False):
        self._store(locals())

    # ------------------------------------------------------------ hooks
    def _validate_params(self):
        check_layers(self.layers)
        check_time(self.dt, "dt")
        slots_for(self.t_pattern, self.t_settle, self.dt)
        check_bool(self.self_predicting, "self_predicting")
        check_bool(self.learn_topdown, "learn_topdown")
        if self.sigma is not None:
            check_quantity(self.sigma, "sigma", second ** -0.5,
                           "a noise amplitude in 1/sqrt(time) (e.g. 0.1/sqrt(ms))")
        # everything else is checked by the circuit builder when the session is built

    def _presentation(self):
        t_slot, learn = slots_for(self.t_pattern, self.t_settle, self.dt)
        return Presentation(t_slot=t_slot, learn=learn, nudge=(1.0,) * len(learn))

    def _run_values(self):
        if self.sigma is None:
            return {}
        return {f"pyr{k}.sigma": self.sigma for k in range(1, len(self.layers))}

    def _build_circuit(self, n_slots):
        circuit = dendritic_microcircuit(
            list(self.layers), n_patterns=n_slots, t_pattern=self._presentation().t_slot,
            activation=self.activation, conductances=self.conductances, eta_PP=self.eta_PP,
            eta_IP=self.eta_IP, eta_PI=self.eta_PI, eta_TD=self.eta_TD, tau_w=self.tau_w,
            learn_topdown=self.learn_topdown, weights=self.weights,
            weight_scale=self.weight_scale, self_predicting=self.self_predicting, seed=self.seed)
        return dataclasses.replace(circuit, dt=self.dt)

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
