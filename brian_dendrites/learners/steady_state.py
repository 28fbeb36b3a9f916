"""Learner for the steady-state (two-step) microcircuit: one time step per sample.

:class:`SteadyStateMicrocircuitClassifier` trains
:func:`~brian_dendrites.circuits.steady_state.steady_state_microcircuit`
through the compile-once :class:`~brian_dendrites.learners.Learner` machinery:
chunks of samples go through the circuit's TimedArrays, one simulation time
step per sample, weights and biases are carried from run to run.
"""

from __future__ import annotations


import numpy as np
from brian2 import Quantity, ms, second

from ..circuits.steady_state import STEADY_STATE_DEFAULTS, steady_state_microcircuit
from .base import Learner, check_XY
from ..reference.microcircuit import get_activation
from ..tasks import one_hot

__all__ = ["SteadyStateMicrocircuitClassifier"]


class SteadyStateMicrocircuitClassifier(Learner):
    """Sacramento et al. (2018) microcircuit in the paper's steady-state (MNIST) mode.

    Each sample is one simulation time step: a bottom-up sweep, a top-down
    sweep with the output nudged toward the target potential, then one
    online update of the forward (``W``) and pyramid-to-interneuron
    (``IP``) weights and biases (mini-batches of one sample; Brian2 has no
    batch dimension). Top-down and interneuron-to-apical weights are fixed.
    Class scores are the output potentials of the bottom-up sweep
    (teacher and plasticity off).

    Parameters
    ----------
    layers : sequence of int
        ``[n_in, n_h1, ..., n_classes]`` (paper: 784-500-500-10).
    eta_PP : float or sequence of float
        Forward learning rate per sample (one, or one per layer; default
        0.04). Online updates with 0.02-0.04 learned MNIST at least as fast
        per epoch as the reference's batch-10 rate 0.1 (which averages 10
        samples per update), see docs/mnist.md.
    eta_IP : float
        Interneuron learning rate per sample (default 0.006).
    lam_out, lam_A, lam_I : float in [0, 1]
        Mixing factors of the top-down sweep (defaults: conductance ratios
        0.421, 0.421, 0).
    activation : str
        Rate function (paper: ``'logistic'``).
    target_rates : (float, float)
        Target rates of wrong and correct classes (paper: 0.1, 0.8); targets
        are the potentials ``phi^{-1}`` of these rates.
    w_scale : float
        Initial weights ``U(-a, a)``, ``a = w_scale / sqrt(n_pre)``.
    chunk : int
        Samples per engine run (fixed at build time).
    target : str
        ``'cpp_standalone'`` (default), ``'numpy'`` or ``'cython'``.
    seed : int
        Seed of initial weights and of the sample order.
    progress : bool
        Progress bar over chunks.
    cache_dir : path, optional
        Where compiled standalone projects are kept.
    t_sample : Quantity (second)
        Simulated time per sample (the time step; only a unit choice).

    Attributes
    ----------
    history : pandas.DataFrame
        ``epoch``, ``train_loss`` (error rate of the bottom-up predictions
        made during training, before each update), ``time_s``, ``val_loss``
        (error rate on the validation data).

    References
    ----------
    Sacramento, Costa, Bengio, Senn (2018), NeurIPS, Supplementary Material
    (MNIST, steady-state approximation), eqs. (7)-(8).

    Examples
    --------
    >>> import numpy as np
    >>> clf = SteadyStateMicrocircuitClassifier([4, 6, 2], chunk=8, target='numpy',
    ...                                         progress=False, w_scale=1.0)
    >>> X = np.random.default_rng(0).uniform(0, 1, (8, 4))
    >>> y = (X[:, 0] > 0.5).astype(int)
    >>> clf.fit(X, y, epochs=1).predict(X).shape
    (8,)
    """

    _params = ("layers", "eta_PP", "eta_IP", "lam_out", "lam_A", "lam_I", "activation",
               "target_rates", "w_scale", "chunk", "target", "seed", "t_sample")

    def __init__(self, layers, eta_PP=0.04, eta_IP=0.006, lam_out=STEADY_STATE_DEFAULTS["lam_out"],
                 lam_A=STEADY_STATE_DEFAULTS["lam_A"], lam_I=STEADY_STATE_DEFAULTS["lam_I"],
                 activation="logistic", target_rates=(0.1, 0.8), w_scale=6.0, chunk=500,
                 target="cpp_standalone", seed=0, progress=True, cache_dir=None, t_sample=1 * ms):
        if not isinstance(t_sample, Quantity) or t_sample.dim != second.dim or float(t_sample) <= 0:
            raise ValueError(f"t_sample must be a positive time (e.g. 1*ms), got {t_sample!r}")
        super().__init__(chunk=chunk, target=target, seed=seed, progress=progress,
                         cache_dir=cache_dir, dt=t_sample)
        if isinstance(layers, (str, bytes)) or not hasattr(layers, "__len__"):
            raise TypeError(f"layers must be a sequence of layer sizes, got {layers!r}")
        self.layers = list(layers)
        if len(self.layers) >= 1 and self.layers[-1] == 1:
            raise ValueError("layers: a classifier needs at least 2 output units (one per class)")
        self.eta_PP, self.eta_IP = eta_PP, eta_IP
        self.lam_out, self.lam_A, self.lam_I = lam_out, lam_A, lam_I
        self.activation = activation
        try:
            low, high = (float(v) for v in target_rates)
        except (TypeError, ValueError):
            raise ValueError(f"target_rates must be two numbers (low, high), got {target_rates!r}") from None
        if not low < high:
            raise ValueError(f"target_rates: low must be < high, got {target_rates!r}")
        self.target_rates = (low, high)
        self.w_scale = w_scale
        self.t_sample = t_sample
        # validate everything now (builds Python objects only, compiles nothing)
        self._discard(self._build(1))
        inverse = get_activation(activation)[2] if activation in ("logistic", "tanh", "linear",
                                                                   "softplus_sacramento") else None
        if inverse is None:
            raise ValueError(f"activation {activation!r}: target potentials need an inverse; "
                             "use 'logistic', 'tanh', 'linear' or 'softplus_sacramento'")
        with np.errstate(all="ignore"):
            pot = np.asarray(inverse(np.array([low, high])), dtype=float)
        if not np.all(np.isfinite(pot)):
            raise ValueError(f"target_rates {target_rates!r} are outside the range of "
                             f"{activation!r} (no finite target potential)")
        self._inverse = inverse

    # ------------------------------------------------------------ Learner hooks
    def _t_pattern(self):
        return self.t_sample

    def _build(self, n_patterns):
        return steady_state_microcircuit(
            self.layers, n_samples=n_patterns, activation=self.activation, eta_PP=self.eta_PP,
            eta_IP=self.eta_IP, lam_out=self.lam_out, lam_A=self.lam_A, lam_I=self.lam_I,
            w_scale=self.w_scale, seed=self.seed, t_sample=self.t_sample)

    def _read_keys(self):
        return ["out_mon.u_bu"]

    def _outputs(self, res):
        return np.asarray(res["out_mon.u_bu"]).T  # (n_samples, n_out), one row per step

    def _loss(self, out, Y):
        """Classification error rate: argmax of outputs vs argmax of targets."""
        return float(np.mean(np.argmax(out, axis=1) != np.argmax(Y, axis=1)))

    # ------------------------------------------------------------ targets
    def _targets(self, y, n, name="y"):
        """Labels (1-D ints) or target-rate rows (2-D) -> target potentials."""
        y = np.asarray(y)
        if y.ndim == 1:
            if y.shape[0] != n:
                raise ValueError(f"{name} must have {n} labels (one per sample), got {y.shape[0]}")
            if y.size and (not np.all(np.isfinite(y.astype(float))) or np.any(y < 0)
                           or np.any(y >= self._n_out()) or np.any(y != np.round(y))):
                raise ValueError(f"{name}: labels must be integers in [0, {self._n_out() - 1}]")
            rates = one_hot(y.astype(int), self._n_out(), *self.target_rates)
        else:
            _, rates = check_XY(np.zeros((n, 1)), y, None, self._n_out(), "X", name)
        with np.errstate(all="ignore"):
            U = np.asarray(self._inverse(rates), dtype=float)
        if not np.all(np.isfinite(U)):
            raise ValueError(f"{name}: target rates outside the range of {self.activation!r}")
        return U

    # ------------------------------------------------------------ public API
    def fit(self, X, y, epochs=1, validation_data=None):
        """Train online (one sample per step) for ``epochs`` passes.

        Parameters
        ----------
        X : array, shape (n_samples, n_in)
            Input rates.
        y : array of int, shape (n_samples,), or array (n_samples, n_classes)
            Class labels, or target rates per class.
        epochs : int
        validation_data : tuple (X_val, y_val), optional
            Error rate recorded per epoch as ``val_loss``.

        Returns
        -------
        self
        """
        X, _ = check_XY(X, None, self._n_in())
        U = self._targets(y, X.shape[0])
        if validation_data is not None:
            if not isinstance(validation_data, (tuple, list)) or len(validation_data) != 2:
                raise ValueError("validation_data must be a tuple (X_val, y_val)")
            Xv, _ = check_XY(validation_data[0], None, self._n_in(), "X_val")
            validation_data = (Xv, self._targets(validation_data[1], Xv.shape[0], "y_val"))
        return super().fit(X, U, epochs=epochs, validation_data=validation_data)

    def decision_function(self, X):
        """Output potentials of the bottom-up sweep, shape (n_samples, n_classes)."""
        return super().predict(X)

    def predict(self, X):
        """Predicted class labels (argmax of :meth:`decision_function`)."""
        return np.argmax(self.decision_function(X), axis=1)

    def score(self, X, y) -> float:
        """Error rate on ``(X, y)`` (a loss, as everywhere in :class:`Learner`).

        ``y``: integer labels, or one row of targets (rates or potentials) per
        sample, whose argmax is the class.
        """
        X, _ = check_XY(X, None, self._n_in())
        U = self._targets(y, X.shape[0]) if np.ndim(y) == 1 else \
            check_XY(X, y, self._n_in(), self._n_out(), "X", "y")[1]
        # argmax of target rates = argmax of target potentials (phi is increasing)
        return self._loss(self.decision_function(X), U)
