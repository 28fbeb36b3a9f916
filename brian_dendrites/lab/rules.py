"""Learning rules as objects the lab can compare: weights and samples in, weight updates out.

Richards et al. (2019) describe a learning system as architecture x learning
rule x objective, and compare rules by how their updates relate to the true
gradient. Here a *rule* is an object with a name that turns the current
weights of a network and a batch of samples into per-sample weight updates
``dW`` (the direction and size the rule would move the weights, each from
the same weights):

- ``rule.start(weights, X, Y, seed)`` prepares a trajectory (draws fixed
  random feedback, seeds the noise, builds a Brian2 learner);
- ``rule.sample_updates(weights, X, Y)`` returns, per layer, an array
  ``(n_samples, n_post, n_pre)``: sample ``i``'s update from ``weights``;
- ``rule.update(weights, X, Y)`` is their mean (a batch's update);
- ``rule.loss(weights, X, Y)`` and ``rule.gradients(weights, X, Y)`` (per
  sample ``dL/dW``) describe the network and objective the rule is
  compared on; for the multilayer perceptron rules (``mlp_shaped``) the
  network is ``r_k = phi(W_k r_{k-1})`` (no biases; tanh hidden, linear
  output by default) and the loss ``0.5 ||r_L - y||^2``.

Weights are lists ``[W_1, ..., W_L]`` of ``(n_post, n_pre)`` matrices for
MLP-shaped rules; a rule with another architecture (``dgn``) keeps its own
list (see :attr:`Rule.layer_names`) and is compared on its loss only.

The registry :data:`RULES` maps names to factories (:func:`get_rule`):

============================  ==============================================
``backprop``                  ``-lr dL/dW`` (:func:`~brian_dendrites.reference.mlp.backprop_gradients`)
``feedback_alignment``        errors sent down through fixed random ``B_k`` (Lillicrap et al. 2016)
``node_perturbation``         noise on every unit, update from the loss change
``weight_perturbation``       noise on every weight, update from the loss change
``dfc``, ``dfc_ss``           Deep Feedback Control, the compiled Brian2 model
``microcircuit``              the Sacramento et al. (2018) microcircuit, compiled
``dgn``                       Dendritic Gated Network, compiled (loss only)
============================  ==============================================

The Brian2 rules run the compiled model itself: their updates are
:meth:`Learner.sample_updates <brian_dendrites.learners.base.Learner.sample_updates>`
after :meth:`~brian_dendrites.learners.base.Learner.set_weights`, not a
re-implementation.

References
----------
.. [1] B. A. Richards et al., "A deep learning framework for neuroscience",
   Nat. Neurosci. 22, 1761-1770, 2019.
.. [2] T. P. Lillicrap, D. Cownden, D. B. Tweed, C. J. Akerman, Nat. Commun. 7,
   13276, 2016 (feedback alignment).
.. [3] A. Meulemans et al., "Credit assignment in neural networks through deep
   feedback control", NeurIPS 2021.
.. [4] J. Sacramento, R. Ponte Costa, Y. Bengio, W. Senn, NeurIPS 2018.
.. [5] E. Sezener et al., "A rapid and efficient learning rule for biological
   neural circuits", bioRxiv 2021 (Dendritic Gated Networks).
"""

from __future__ import annotations

import difflib
import functools

import numpy as np

from .. import _validation as _v
from ..activations import get_activation
from ..reference.mlp import MLP, backprop_gradients
from ..reference.perturbation import (
    mlp_forward,
    node_perturbation_updates,
    weight_perturbation_updates,
)

__all__ = ["Rule", "Backprop", "FeedbackAlignment", "NodePerturbation", "WeightPerturbation",
           "DeepFeedbackControlRule", "MicrocircuitRule", "DendriticGatedRule", "RULES",
           "RULE_ALIASES", "get_rule", "init_weights"]


def init_weights(layers, seed=0, scale=1.0) -> list:
    """Random initial weights of an MLP: ``U(-a, a)``, ``a = scale sqrt(6/(n_pre + n_post))``.

    The same draw for the same ``(layers, seed, scale)``: every MLP-shaped rule
    of a :func:`~brian_dendrites.lab.compare` seed starts from these weights.

    Parameters
    ----------
    layers : sequence of int
        ``[n_0, ..., n_L]``.
    seed : int
    scale : float >= 0

    Returns
    -------
    list of ndarray
        ``W_k`` of shape ``(n_k, n_{k-1})``.

    Examples
    --------
    >>> [w.shape for w in init_weights([3, 4, 2])]
    [(4, 3), (2, 4)]
    """
    layers = _v.check_layers(layers)
    scale = _v.check_nonnegative(scale, "scale")
    rng = np.random.default_rng(_v.check_seed(seed))
    out = []
    for n_pre, n_post in zip(layers[:-1], layers[1:]):
        a = scale * np.sqrt(6.0 / (n_pre + n_post))
        out.append(rng.uniform(-a, a, size=(n_post, n_pre)))
    return out


def _as_batch(weights, X, Y):
    """Checked ``(weights, X (n, n_0), Y (n, n_L))``; single samples become batches of one."""
    Ws = _v.check_weight_chain(weights, "weights")
    n_in, n_out = Ws[0].shape[1], Ws[-1].shape[0]
    X = _v.check_array(X, "X")
    if X.ndim == 1:
        X = X[None, :]
    X = _v.check_array(X, "X", shape=(None, n_in))
    Y = _v.check_array(Y, "Y")
    if Y.ndim == 1:
        Y = Y[None, :] if (X.shape[0] == 1 and Y.shape[0] == n_out) else Y[:, None]
    Y = _v.check_array(Y, "Y", shape=(X.shape[0], n_out))
    return Ws, X, Y


class Rule:
    """Base class of the lab's learning rules (see the module docstring).

    Subclasses set :attr:`name` and implement :meth:`sample_updates`; the
    defaults of :meth:`loss` and :meth:`gradients` are those of the bias-free
    MLP with :attr:`activation` / :attr:`output_activation` and the loss
    ``0.5 ||r_L - y||^2`` (per sample; batches average).

    Attributes
    ----------
    name : str
        Registry name (the ``rule`` column of :func:`~brian_dendrites.lab.compare`).
    mlp_shaped : bool
        The weights are the MLP chain ``[W_1, ..., W_L]`` and angles to the
        backprop gradient are defined.
    gauss_newton : bool
        :func:`~brian_dendrites.lab.compare` also reports the angle to the
        damped Gauss-Newton (minimum-norm) update (DFC).
    activation, output_activation : str
        The network's hidden and output rate functions.
    """

    name = "rule"
    mlp_shaped = True
    gauss_newton = False
    activation = "tanh"
    output_activation = "linear"

    def __repr__(self):
        params = {k: v for k, v in vars(self).items() if not k.startswith("_")}
        return f"{type(self).__name__}({', '.join(f'{k}={v!r}' for k, v in params.items())})"

    # --------------------------------------------------------------- protocol
    def init_weights(self, layers, seed=0):
        """The rule's own initial weights, or None to use the lab's (:func:`init_weights`)."""
        return None

    @property
    def layer_names(self):
        """Names of the weight matrices (``W1``, ``W2``, ...), set by :meth:`start`."""
        return getattr(self, "_names", None)

    def start(self, weights, X, Y, seed=0):
        """Prepare a trajectory from ``weights`` on data like ``(X, Y)`` (returns self)."""
        self._names = [f"W{k + 1}" for k in range(len(weights))]
        return self

    def sample_updates(self, weights, X, Y) -> list:
        """Per-sample updates from ``weights``: per layer ``(n_samples, n_post, n_pre)``."""
        raise NotImplementedError

    def update(self, weights, X, Y) -> list:
        """The mean of :meth:`sample_updates` over the batch (per layer ``(n_post, n_pre)``)."""
        return [u.mean(axis=0) for u in self.sample_updates(weights, X, Y)]

    def apply(self, weights, updates) -> list:
        """``weights + updates`` (new arrays)."""
        return [np.asarray(w, dtype=float) + u for w, u in zip(weights, updates)]

    def loss(self, weights, X, Y) -> float:
        """Mean over samples of ``0.5 ||r_L - y||^2``."""
        Ws, X, Y = _as_batch(weights, X, Y)
        _, r = mlp_forward(Ws, X, self.activation, self.output_activation)
        return float(np.mean(0.5 * np.sum((r[-1] - Y) ** 2, axis=1)))

    def gradients(self, weights, X, Y) -> list:
        """Per-sample gradients ``dL_i/dW_k`` (per layer ``(n_samples, n_post, n_pre)``)."""
        Ws, X, Y = _as_batch(weights, X, Y)
        grads = [backprop_gradients(Ws, x, y, activation=self.activation,
                                    output_activation=self.output_activation)
                 for x, y in zip(X, Y)]
        return [np.stack([g[k] for g in grads]) for k in range(len(Ws))]

    def gradient(self, weights, X, Y) -> list:
        """The batch-mean gradient (full-batch gradient for the whole data set)."""
        return [g.mean(axis=0) for g in self.gradients(weights, X, Y)]


class Backprop(Rule):
    """Backpropagation: ``dW = -lr dL/dW`` per sample (the yardstick: angle 0).

    Parameters
    ----------
    lr : float >= 0
        Learning rate.
    sign : {1, -1}
        ``-1`` flips the update (gradient *ascent*): a deliberately wrong rule
        whose angle to the gradient is 180 degrees, to check that a
        comparison can fail (named ``'backprop_flipped'``).
    """

    name = "backprop"

    def __init__(self, lr=0.05, sign=1):
        self.lr = _v.check_nonnegative(lr, "lr")
        self.sign = _v.check_choice(sign, "sign", (1, -1))
        self.name = "backprop" if sign == 1 else "backprop_flipped"

    def sample_updates(self, weights, X, Y):
        """Per-sample updates from ``weights`` (see :meth:`Rule.sample_updates`)."""
        return [-self.sign * self.lr * g for g in self.gradients(weights, X, Y)]


class FeedbackAlignment(Rule):
    """Feedback alignment (Lillicrap et al. 2016): errors travel down fixed random ``B_k``.

    The hidden error is ``delta_k = (B_k delta_{k+1}) * phi'(a_k)`` instead of
    backprop's ``W_{k+1}^T delta_{k+1}``; ``B_k`` (shape ``(n_k, n_{k+1})``) is
    drawn by :meth:`start` from the seed, as
    :class:`~brian_dendrites.reference.mlp.MLP` with ``feedback='fa'`` draws it
    (that class computes the updates). The output layer's update equals
    backprop's; the hidden layers' start near 90 degrees and align as the
    forward weights come to agree with the feedback.

    Parameters
    ----------
    lr : float >= 0
        Learning rate.
    feedback_scale : float >= 0
        Scale of the random feedback (the MLP's ``init_scale``).
    """

    name = "feedback_alignment"

    def __init__(self, lr=0.05, feedback_scale=1.0):
        self.lr = _v.check_nonnegative(lr, "lr")
        self.feedback_scale = _v.check_nonnegative(feedback_scale, "feedback_scale")

    def start(self, weights, X, Y, seed=0):
        """Prepare a trajectory from ``weights`` (see :meth:`Rule.start`); returns self."""
        super().start(weights, X, Y, seed)
        layers = [weights[0].shape[1]] + [w.shape[0] for w in weights]
        self._mlp = MLP(layers, activation=self.activation,
                        output_activation=self.output_activation, feedback="fa", bias=False,
                        init_scale=self.feedback_scale, seed=seed)
        return self

    @property
    def feedback(self) -> list:
        """The fixed feedback matrices ``B_k`` (after :meth:`start`)."""
        return self._mlp.G

    def sample_updates(self, weights, X, Y):
        """Per-sample updates from ``weights`` (see :meth:`Rule.sample_updates`)."""
        if getattr(self, "_mlp", None) is None:
            raise RuntimeError("feedback_alignment: call start(weights, X, Y, seed) first "
                               "(it draws the fixed feedback matrices)")
        Ws, X, Y = _as_batch(weights, X, Y)
        self._mlp.W = [w.copy() for w in Ws]
        per = [self._mlp.gradients(X[i:i + 1], Y[i:i + 1])[0] for i in range(len(X))]
        return [-self.lr * np.stack([p[k] for p in per]) for k in range(len(Ws))]


class _Perturbation(Rule):
    _default_sigma = 1e-2
    _default_lr = 2e-3

    def __init__(self, lr=None, sigma=None):
        self.lr = _v.check_nonnegative(self._default_lr if lr is None else lr, "lr")
        self.sigma = _v.check_positive(self._default_sigma if sigma is None else sigma, "sigma")

    def start(self, weights, X, Y, seed=0):
        """Prepare a trajectory from ``weights`` (see :meth:`Rule.start`); returns self."""
        super().start(weights, X, Y, seed)
        self._rng = np.random.default_rng([_v.check_seed(seed), 7])
        return self

    def _generator(self):
        if getattr(self, "_rng", None) is None:
            self._rng = np.random.default_rng()
        return self._rng


class NodePerturbation(_Perturbation):
    """Node perturbation: Gaussian noise on every pre-activation, update from the loss change.

    ``dW_k = -lr (L~ - L)/sigma^2 xi_k r_{k-1}^T``
    (:func:`~brian_dendrites.reference.perturbation.node_perturbation_updates`):
    unbiased to first order in ``sigma`` (its mean is ``-lr dL/dW``), with a
    variance that grows with the number of units.

    Parameters
    ----------
    lr : float >= 0
        Learning rate (default 0.002). Smaller than backprop's: the variance
        of the estimate grows with the number of units, and on the default
        teacher-student task (15-10-10-5) ``lr = 0.01`` diverged within 1000
        samples while 0.002-0.005 learned.
    sigma : float > 0
        Noise amplitude (default 0.01).
    """

    name = "node_perturbation"

    def sample_updates(self, weights, X, Y):
        """Per-sample updates from ``weights`` (see :meth:`Rule.sample_updates`)."""
        Ws, X, Y = _as_batch(weights, X, Y)
        return node_perturbation_updates(Ws, X, Y, self.sigma, self.lr, self._generator(),
                                         self.activation, self.output_activation)


class WeightPerturbation(_Perturbation):
    """Weight perturbation: Gaussian noise on every weight, update from the loss change.

    ``dW_k = -lr (L(W + Xi) - L(W))/sigma^2 Xi_k``
    (:func:`~brian_dendrites.reference.perturbation.weight_perturbation_updates`):
    unbiased to first order, with a variance that grows with the number of
    weights (larger than node perturbation's).

    Parameters
    ----------
    lr : float >= 0
        Learning rate (default 0.001; the variance grows with the number of
        weights, so it learns slowly and diverges at backprop's rates).
    sigma : float > 0
        Noise amplitude (default 0.001).
    """

    name = "weight_perturbation"
    _default_sigma = 1e-3
    _default_lr = 1e-3

    def sample_updates(self, weights, X, Y):
        """Per-sample updates from ``weights`` (see :meth:`Rule.sample_updates`)."""
        Ws, X, Y = _as_batch(weights, X, Y)
        return weight_perturbation_updates(Ws, X, Y, self.sigma, self.lr, self._generator(),
                                           self.activation, self.output_activation)


# ------------------------------------------------------------------ Brian2 rules
class _LearnerRule(Rule):
    """A Brian2 learner as a rule: set its weights, run one sample per update, read the change.

    Targets and inputs are given to the learner in the network's own units
    (no feature scaling; the standardisation of regression targets is set
    to the identity after the build).
    """

    def __init__(self, target="cpp_standalone", cache_dir=None, **learner_kw):
        self.target = target
        self.cache_dir = cache_dir
        self.learner_kw = learner_kw

    def __getstate__(self):  # a started rule pickles without its learner (rebuilt by start)
        return {k: v for k, v in self.__dict__.items() if k != "learner"}

    def _check_started(self):
        if getattr(self, "learner", None) is None:
            raise RuntimeError(f"{self.name}: call start(weights, X, Y, seed) first (it builds "
                               "the Brian2 learner)")

    def _identity_targets(self):
        learner = self.learner
        if hasattr(learner, "target_offset_"):
            learner.target_offset_ = np.zeros(learner.n_outputs_)
            learner.target_scale_ = np.ones(learner.n_outputs_)

    def _stack(self, updates, names):
        return [np.stack([u[name] for u in updates]) for name in names]

    def sample_updates(self, weights, X, Y):
        """Per-sample updates from ``weights`` (see :meth:`Rule.sample_updates`)."""
        self._check_started()
        Ws, X, Y = self._batch(weights, X, Y)
        self._set(Ws)
        return self._stack(self.learner.sample_updates(X, Y), self.layer_names)

    def _batch(self, weights, X, Y):
        return _as_batch(weights, X, Y)


class DeepFeedbackControlRule(_LearnerRule):
    """Deep Feedback Control (Meulemans et al. 2021) through the compiled Brian2 model.

    :meth:`start` builds a :class:`~brian_dendrites.learners.DeepFeedbackControlRegressor`
    with the network's hidden sizes (``chunk=1``, no feature scaling,
    identity target scaling) and sets its feedback weights to the weight
    product ``Q_i = W_{i+1}^T ... W_L^T`` of the starting weights
    (:meth:`~brian_dendrites.reference.ReferenceDFC.weight_product_feedback`);
    ``Q`` then stays fixed. Each update is the forward-weight change one
    sample causes in the compiled model (the controller drives the output
    toward ``r* = r_ff - lam (r_ff - y)``). The biases of the DFC neurons
    stay at their initial 0 (the updates are read, not carried), so the
    network is the bias-free MLP of the other rules. The lab also reports
    the angle to the damped Gauss-Newton update, which DFC approximates.

    Parameters
    ----------
    variant : {'dfc', 'dfc_ss'}
        Update averaged over the feedback phase, or at its end.
    target : {'cpp_standalone', 'numpy', 'cython'}
        Brian2 target (``'numpy'`` needs no compiler; slower per sample).
    cache_dir : path, optional
        Where compiled projects are kept.
    **learner_kw
        Further arguments of the learner (``eta``, ``lam``, ``n_steps``, ...).
    """

    gauss_newton = True

    def __init__(self, variant="dfc", target="cpp_standalone", cache_dir=None, **learner_kw):
        super().__init__(target=target, cache_dir=cache_dir, **learner_kw)
        self.variant = _v.check_choice(variant, "variant", ("dfc", "dfc_ss"))
        self.name = variant

    def start(self, weights, X, Y, seed=0):
        """Prepare a trajectory from ``weights`` (see :meth:`Rule.start`); returns self."""
        import brian_dendrites as bd  # the public learner, looked up when a rule starts

        Ws, X, Y = _as_batch(weights, X, Y)
        super().start(Ws, X, Y, seed)
        layers = [Ws[0].shape[1]] + [w.shape[0] for w in Ws]
        kw = dict(hidden_layers=tuple(layers[1:-1]), variant=self.variant, chunk=1,
                  feature_scaling="none", target=self.target, cache_dir=self.cache_dir,
                  progress=False, seed=0, activation=self.activation)
        kw.update(self.learner_kw)
        self.learner = bd.DeepFeedbackControlRegressor(**kw)
        self.learner.fit(X[:1], Y[:1], epochs=0)
        self._identity_targets()
        # weight-product feedback: Q_L = I, Q_i = W_{i+1}^T Q_{i+1}
        Q = [np.eye(layers[-1])]
        for W in Ws[:0:-1]:
            Q.insert(0, W.T @ Q[0])
        self.learner.set_weights({f"Q{k + 1}": q for k, q in enumerate(Q)})
        return self

    def _set(self, Ws):
        self.learner.set_weights({f"W{k + 1}": w for k, w in enumerate(Ws)})


class MicrocircuitRule(_LearnerRule):
    """The dendritic cortical microcircuit (Sacramento et al. 2018) through the compiled model.

    A :class:`~brian_dendrites.learners.DendriticMicrocircuitRegressor`
    (rate mode, ``chunk=1``) in the self-predicting state: before every
    update the lab's forward weights are set, the interneuron weights are
    those of the self-predicting state
    (:func:`~brian_dendrites.circuits.microcircuit.self_predicting_weights`:
    ``PI_k = -B_k``, ``IP_k = c W_{k+1}``), and each sample is presented for
    ``t_pattern`` (plasticity off during ``t_settle``) with the output nudged
    toward the target potential ``y``.

    Its network is the microcircuit's free steady state, an MLP with
    attenuated potentials: ``r_k = phi(c_k W_k r_{k-1})`` with ``c_k =
    g_B/(g_L + g_B + g_A)`` for hidden and ``g_B/(g_L + g_B)`` for the output
    layer; the output potential ``u_L = c_L W_L r_{L-1}`` is compared with the
    target potential: loss ``0.5 ||u_L - y||^2``. The "backprop gradient" it is
    compared with is what the dendritic rule descends for small nudging
    (measured in ``tests/test_reproductions.py``): the rate error
    ``phi(u_L) - phi(y)`` sent down by backprop through the attenuated
    network, ``delta_L = phi(u_L) - phi(y)``, ``delta_k = c_{k+1} W_{k+1}^T
    delta_{k+1} * phi'(c_k W_k r_{k-1})``, ``dL/dW_k = c_k delta_k r_{k-1}^T``.

    Parameters
    ----------
    feedback : {'symmetric', 'random'}
        Top-down weights ``B_k``: ``W_{k+1}^T`` (reset before every update:
        the lab transports the weights, so the circuit is compared with
        backprop itself; cosines near 1 in the self-predicting state) or
        fixed random ``U(-1, 1)`` drawn from the seed (feedback alignment in
        the circuit).
    activation : str
        Rate function of every pyramid (default ``'logistic'``).
    t_pattern, t_settle : Quantity
        Presentation per sample and its settling window (default 10 ms, 5 ms).
    eta_PP : Quantity (1/second)
        Forward learning rate (default ``1e-3/ms``; the update of one sample
        is small, as the linearisation needs).
    tau_w : Quantity
        Low-pass time constant of the weight updates (default 30 ms).
    target, cache_dir
        Brian2 target and cache.
    **learner_kw
        Further arguments of the learner.
    """

    name = "microcircuit"

    def __init__(self, feedback="symmetric", activation="logistic", t_pattern=None,
                 t_settle=None, eta_PP=None, tau_w=None, target="cpp_standalone", cache_dir=None,
                 **learner_kw):
        super().__init__(target=target, cache_dir=cache_dir, **learner_kw)
        self.feedback = _v.check_choice(feedback, "feedback", ("symmetric", "random"))
        self.activation = activation
        get_activation(activation, "activation")
        self.output_activation = activation
        self.t_pattern, self.t_settle, self.eta_PP, self.tau_w = t_pattern, t_settle, eta_PP, tau_w

    def start(self, weights, X, Y, seed=0):
        """Prepare a trajectory from ``weights`` (see :meth:`Rule.start`); returns self."""
        from brian2 import ms

        import brian_dendrites as bd  # the public learner, looked up when a rule starts

        Ws, X, Y = _as_batch(weights, X, Y)
        super().start(Ws, X, Y, seed)
        if len(Ws) < 2:
            raise ValueError("microcircuit: needs at least one hidden layer (layers of length >= 3)")
        layers = [Ws[0].shape[1]] + [w.shape[0] for w in Ws]
        kw = dict(t_pattern=10 * ms if self.t_pattern is None else self.t_pattern,
                  t_settle=5 * ms if self.t_settle is None else self.t_settle,
                  eta_PP=1e-3 / ms if self.eta_PP is None else self.eta_PP,
                  eta_IP=0 / ms, eta_PI=0 / ms,
                  tau_w=30 * ms if self.tau_w is None else self.tau_w, tau_in=0 * ms,
                  activation=self.activation, self_predicting=True, chunk=1,
                  target=self.target, cache_dir=self.cache_dir, progress=False, seed=0)
        kw.update(self.learner_kw)
        self.learner = bd.DendriticMicrocircuitRegressor(layers, **kw)
        self.learner.fit(X[:1], Y[:1], epochs=0)
        g = {k: float(v * ms) for k, v in self.learner.session_.circuit.info["conductances"].items()}
        L = len(Ws)
        self._c = ([g["g_B"] / (g["g_L"] + g["g_B"] + g["g_A"])] * (L - 1)
                   + [g["g_B"] / (g["g_L"] + g["g_B"])])
        rng = np.random.default_rng([_v.check_seed(seed), 11])
        self._B = [rng.uniform(-1, 1, size=(layers[k + 1], layers[k + 2])) for k in range(L - 1)]
        return self

    def _set(self, Ws):
        from ..circuits.microcircuit import self_predicting_weights

        W = {f"W{k + 1}": w for k, w in enumerate(Ws)}
        B = {f"B{k + 1}": (Ws[k + 1].T.copy() if self.feedback == "symmetric" else self._B[k])
             for k in range(len(Ws) - 1)}
        sp = self_predicting_weights(W, B, self.learner.session_.circuit.info["conductances"])
        self.learner.set_weights({**W, **B, **sp})

    def _potentials(self, Ws, X):
        phi = get_activation(self.activation).phi
        r = X
        for k, W in enumerate(Ws):
            u = self._c[k] * r @ W.T
            r = phi(u)
        return u

    def loss(self, weights, X, Y):
        """Mean over samples of ``0.5 ||u_L - y||^2`` (output potentials vs target potentials)."""
        self._check_started()
        Ws, X, Y = _as_batch(weights, X, Y)
        return float(np.mean(0.5 * np.sum((self._potentials(Ws, X) - Y) ** 2, axis=1)))

    def gradients(self, weights, X, Y):
        """Per-sample backprop of the rate error through the attenuated network (see the class)."""
        self._check_started()
        Ws, X, Y = _as_batch(weights, X, Y)
        phi = get_activation(self.activation)
        scaled = [c * w for c, w in zip(self._c, Ws)]
        grads = [backprop_gradients(scaled, x, phi.phi(y), activation=self.activation,
                                    output_activation=(phi.phi, np.ones_like))
                 for x, y in zip(X, Y)]
        return [c * np.stack([g[k] for g in grads]) for k, c in enumerate(self._c)]


class DendriticGatedRule(_LearnerRule):
    """Dendritic Gated Networks (Sezener et al. 2021) through the compiled Brian2 model.

    A :class:`~brian_dendrites.learners.DendriticGatedRegressor` (``chunk=1``,
    no feature scaling, identity target scaling). Its architecture is not an
    MLP: every neuron has ``n_branches`` gated branches, each with its own
    weights onto the layer below, and every neuron (not only the output)
    predicts the target. So the weights are the learner's own families
    (:attr:`layer_names`; its own initial weights, :meth:`init_weights`), and
    :func:`~brian_dendrites.lab.compare` reports its loss (mean
    ``0.5 ||y_hat - y||^2`` of the predictions) with angles to backprop NaN:
    there is no backprop gradient of the same network to compare with.

    Parameters
    ----------
    hidden_layers : tuple of int, optional
        Default: the hidden sizes of the lab's layers.
    n_branches : int
        Branches per neuron (default 10).
    target, cache_dir
        Brian2 target and cache.
    **learner_kw
        Further arguments of the learner (``eta``, ...).
    """

    name = "dgn"
    mlp_shaped = False

    def __init__(self, hidden_layers=None, n_branches=10, target="cpp_standalone",
                 cache_dir=None, **learner_kw):
        super().__init__(target=target, cache_dir=cache_dir, **learner_kw)
        self.hidden_layers, self.n_branches = hidden_layers, n_branches

    def _build(self, layers, X, Y, seed):
        import brian_dendrites as bd  # the public learner, looked up when a rule starts

        hidden = tuple(layers[1:-1]) if self.hidden_layers is None else tuple(self.hidden_layers)
        kw = dict(hidden_layers=hidden, n_branches=self.n_branches, chunk=1,
                  feature_scaling="none", target=self.target, cache_dir=self.cache_dir,
                  progress=False, seed=_v.check_seed(seed))
        kw.update(self.learner_kw)
        self.learner = bd.DendriticGatedRegressor(**kw)
        self.learner.fit(X, Y, epochs=0)
        self._identity_targets()
        fams = self.learner.session_.circuit.weights
        self._names = sorted(name for name, fam in fams.items() if fam.plastic)

    def init_weights(self, layers, seed=0, X=None, Y=None):
        """The learner's own initial weights (builds the learner; ``X``, ``Y`` give the widths)."""
        if X is None or Y is None:
            return None
        X = _v.check_array(X, "X", ndim=2)
        Y = _v.check_array(Y, "Y")
        self._build(layers, X, Y, seed)
        w = self.learner.weights_
        return [w[name] for name in self._names]

    def start(self, weights, X, Y, seed=0):
        """Prepare a trajectory from ``weights`` (see :meth:`Rule.start`); returns self."""
        X = _v.check_array(X, "X", ndim=2)
        Y = _v.check_array(Y, "Y")
        if getattr(self, "learner", None) is None:
            layers = [X.shape[1], *(self.hidden_layers or ()), Y.shape[1] if Y.ndim == 2 else 1]
            self._build(layers, X, Y, seed)
        return self

    def _batch(self, weights, X, Y):
        X = _v.check_array(X, "X")
        Y = _v.check_array(Y, "Y")
        if X.ndim == 1:
            X, Y = X[None, :], Y.reshape(1, -1)
        if Y.ndim == 1:
            Y = Y[:, None]
        names = self.layer_names
        if len(weights) != len(names):
            raise ValueError(f"weights: expected {len(names)} matrices ({names}), got {len(weights)}")
        return [np.asarray(w, dtype=float) for w in weights], X, Y

    def _set(self, Ws):
        self.learner.set_weights(dict(zip(self.layer_names, Ws)))

    def loss(self, weights, X, Y):
        """Mean over samples of ``0.5 ||y_hat - y||^2`` (the compiled network's predictions)."""
        self._check_started()
        Ws, X, Y = self._batch(weights, X, Y)
        self._set(Ws)
        pred = np.asarray(self.learner.predict(X)).reshape(len(X), -1)
        return float(np.mean(0.5 * np.sum((pred - Y) ** 2, axis=1)))

    def gradients(self, weights, X, Y):
        """Not defined (not an MLP): NaN arrays of the weights' shapes."""
        Ws, X, _ = self._batch(weights, X, Y)
        return [np.full((len(X), *w.shape), np.nan) for w in Ws]


#: Rule name -> factory (keyword arguments go to the factory).
RULES = {
    "backprop": Backprop,
    "feedback_alignment": FeedbackAlignment,
    "node_perturbation": NodePerturbation,
    "weight_perturbation": WeightPerturbation,
    "dfc": functools.partial(DeepFeedbackControlRule, "dfc"),
    "dfc_ss": functools.partial(DeepFeedbackControlRule, "dfc_ss"),
    "microcircuit": MicrocircuitRule,
    "dgn": DendriticGatedRule,
}

#: Short names accepted by :func:`get_rule`.
RULE_ALIASES = {"bp": "backprop", "fa": "feedback_alignment", "np": "node_perturbation",
                "wp": "weight_perturbation"}


def get_rule(name, **kw) -> Rule:
    """A rule by registry name (or alias), built with ``kw``; a :class:`Rule` is returned as is.

    Parameters
    ----------
    name : str or Rule
        A key of :data:`RULES` or :data:`RULE_ALIASES`.
    **kw
        Arguments of the rule (``lr``, ``sigma``, ``target``, ...).

    Returns
    -------
    Rule

    Raises
    ------
    KeyError
        For an unknown name (with the closest names).
    TypeError
        For a name that is not a string, or arguments the rule does not take.

    Examples
    --------
    >>> get_rule("fa", lr=0.1).name
    'feedback_alignment'
    >>> get_rule("backprp")
    Traceback (most recent call last):
    ...
    KeyError: "rule: unknown name 'backprp' (did you mean 'backprop'?); known: ..."
    """
    if isinstance(name, Rule):
        if kw:
            raise TypeError(f"get_rule: arguments {sorted(kw)} given with a Rule instance")
        return name
    if not isinstance(name, str):
        raise TypeError(f"rule: expected a rule name (one of {sorted(RULES)}) or a Rule, "
                        f"got {type(name).__name__}")
    key = RULE_ALIASES.get(name.strip().lower(), name.strip().lower())
    if key not in RULES:
        close = difflib.get_close_matches(key, [*RULES, *RULE_ALIASES], n=3, cutoff=0.5)
        hint = f" (did you mean {', '.join(repr(c) for c in close)}?)" if close else ""
        raise KeyError(f"rule: unknown name {name!r}{hint}; known: {', '.join(sorted(RULES))}")
    try:
        return RULES[key](**kw)
    except TypeError as exc:
        raise TypeError(f"rule {key!r}: {exc}") from None
