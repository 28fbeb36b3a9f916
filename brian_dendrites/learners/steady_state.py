"""Learner of the steady-state (two-step) microcircuit: one time step per sample.

:class:`SteadyStateMicrocircuitClassifier` trains
:func:`~brian_dendrites.circuits.steady_state_microcircuit` through the
:class:`~brian_dendrites.learners.base.Learner` contract: a sample is one
slot of one time step; chunks of samples go through the circuit's
TimedArrays; weights and biases are carried from run to run. A step-decay
learning-rate schedule (``lr_decay``, ``lr_decay_epochs``) changes the
compiled network's learning rates through run values, without a rebuild.
"""

from __future__ import annotations

import numpy as np
from brian2 import ms

from .._validation import check_int, check_numeric, check_rate, check_real
from ..activations import get_activation
from ..circuits._shapes import check_layers
from ..circuits.steady_state import steady_state_microcircuit
from ..engine.simulation import check_float_dtype
from ..tasks import one_hot
from .base import Learner, Presentation, check_XY

__all__ = ["SteadyStateMicrocircuitClassifier"]

_INVERTIBLE = ("logistic", "tanh", "linear", "softplus_sacramento")


class SteadyStateMicrocircuitClassifier(Learner):
    """Sacramento et al. (2018) microcircuit in the paper's steady-state (MNIST) mode.

    Each sample is one simulation time step: a bottom-up sweep, a top-down
    sweep with the output nudged toward the target potential, then one
    online update of the forward (``W``) and pyramid-to-interneuron
    (``IP``) weights and biases (with ``batch_size > 1``: one step per
    mini-batch, one update by the batch mean). Top-down and interneuron-to-apical weights are fixed.
    Class scores are the output potentials of the bottom-up sweep
    (teacher and plasticity off).

    Parameters
    ----------
    layers : sequence of int
        ``[n_in, n_h1, ..., n_classes]`` (paper: 784-500-500-10).
    eta_PP : Quantity (1/second) or sequence of Quantity
        Initial forward learning rate (one, or one per layer); each sample
        changes the weights by ``eta_PP * t_sample`` times the rule's update.
        Default ``0.04/ms`` (0.04 per sample): online updates with 0.02-0.04
        per sample learned MNIST at least as fast per epoch as the
        reference's batch-10 rate 0.1, see docs/mnist.md. For narrower
        networks, scale a layer's rate with ``500 / n_pre`` to learn as fast
        per sample.
    eta_IP : Quantity (1/second)
        Initial interneuron learning rate (default ``0.006/ms``).
    lr_decay : float in (0, 1]
        Learning-rate schedule (step decay): every ``lr_decay_epochs``
        completed epochs all rates (``eta_PP``, ``eta_IP``, the biases') are
        multiplied by ``lr_decay``; epoch ``e`` (counted from 0 over
        :meth:`fit` and :meth:`partial_fit` calls, ``epochs_done_``) trains
        with ``lr_decay ** (e // lr_decay_epochs)`` times the initial rates
        (:meth:`learning_rate_factor`). ``1`` keeps the rates constant.
        The defaults (``0.5`` every ``5`` epochs) are for the task named
        below: with constant online rates the test error jumps by several
        points from epoch to epoch; with the schedule it settles.
    lr_decay_epochs : int >= 1
        Epochs between two decays (default 5).
    lam_out, lam_A, lam_I : float in [0, 1], optional
        Mixing factors of the top-down sweep (``None``: the models' defaults,
        conductance ratios 0.421, 0.421, 0).
    activation : str
        Rate function (paper: ``'logistic'``).
    target_rates : (float, float)
        Target rates of wrong and correct classes (paper: 0.1, 0.8); targets
        are the potentials ``phi^{-1}`` of these rates.
    weight_scale : float
        Initial weights ``U(-a, a)``, ``a = weight_scale / sqrt(n_pre)``.
    t_sample : Quantity (second)
        Simulated time per sample (the time step; only a unit choice).
    dtype : {'float64', 'float32'}
        Floating-point type of the compiled network (float32: half the
        memory traffic; docs/benchmarks.md).
    epochs, shuffle, chunk, target, seed, progress, cache_dir, warm_start, threads
        Training and engine settings shared by every learner (defaults here:
        ``target='cpp_standalone'`` and ``chunk=None``: 500 samples per run
        online, 200 mini-batches per run with ``batch_size > 1``, since a run
        costs ~0.13 s outside its steps on 784-500-500-10, docs/benchmarks.md);
        see :class:`~.base.Learner`.
    batch_size : int >= 1
        Samples per update (default 1: online, as above). With ``B > 1`` the
        circuit simulates ``B`` samples side by side in every step and
        changes every weight and bias once per step by the mean of their
        updates (the paper's MNIST procedure used ``B = 10``; one pass over
        the weights then serves ``B`` samples). The rates stay per update:
        a mini-batch of ``B`` moves the weights about as far as one online
        sample, so raise ``eta_PP``/``eta_IP`` with the batch (e.g. the
        reference's batch-10 rates 0.1/0.03 per update, docs/mnist.md).
        ``chunk`` must be a multiple of ``B``; ``cpp_standalone`` only.

    Notes
    -----
    The defaults are for MNIST in the paper's shape, 784-500-500-10, trained
    online for 20 epochs (measured on a 4000/1000-image subset in
    docs/mnist.md; the run is
    :func:`brian_dendrites.experiments.sacramento2018_mnist.mnist_comparison`).
    The schedule is applied through run values (``'W1.eta'``,
    ``'pyr1.eta_b'``, ...) before every run, so changing it does not
    recompile the network.

    Attributes
    ----------
    history_ : pandas.DataFrame
        ``epoch``, ``train_loss`` (error rate of the bottom-up predictions
        made during training, before each update), ``time_s``, ``val_loss``
        (error rate) and ``val_score`` (accuracy) on the validation data.

    References
    ----------
    Sacramento, Costa, Bengio, Senn (2018), NeurIPS, Supplementary Material
    (MNIST, steady-state approximation), eqs. (7)-(8).

    Examples
    --------
    >>> import numpy as np
    >>> clf = SteadyStateMicrocircuitClassifier([4, 6, 2], chunk=8, target='numpy',
    ...                                         progress=False, weight_scale=1.0)
    >>> X = np.random.default_rng(0).uniform(0, 1, (8, 4))
    >>> y = (X[:, 0] > 0.5).astype(int)
    >>> clf.fit(X, y).predict(X).shape
    (8,)
    """

    _estimator_type = "classifier"

    def __init__(self, layers, eta_PP=0.04 / ms, eta_IP=0.006 / ms, lr_decay=0.5,
                 lr_decay_epochs=5, lam_out=None, lam_A=None, lam_I=None, activation="logistic",
                 target_rates=(0.1, 0.8), weight_scale=6.0, t_sample=1 * ms, dtype="float64",
                 epochs=1, shuffle=True, chunk=None, target="cpp_standalone", seed=0,
                 progress=True, cache_dir=None, warm_start=False, threads=1, batch_size=1):
        self._store(locals())

    # ------------------------------------------------------------ schedule
    def _check_schedule(self):
        decay = check_real(self.lr_decay, "lr_decay", 0, 1, low_open=True)
        every = check_int(self.lr_decay_epochs, "lr_decay_epochs", minimum=1)
        return decay, every

    def learning_rate_factor(self, epoch) -> float:
        """The factor of the initial rates in epoch ``epoch`` (0-based) of the schedule.

        Parameters
        ----------
        epoch : int >= 0
            Completed epochs before the one asked for (``epochs_done_``
            while training).

        Returns
        -------
        float
            ``lr_decay ** (epoch // lr_decay_epochs)``.

        Raises
        ------
        TypeError, ValueError
            If ``epoch`` is not an integer ``>= 0``, or ``lr_decay`` /
            ``lr_decay_epochs`` are invalid.

        Examples
        --------
        >>> clf = SteadyStateMicrocircuitClassifier([784, 500, 500, 10])
        >>> [clf.learning_rate_factor(e) for e in (0, 4, 5, 19)]
        [1.0, 1.0, 0.5, 0.125]
        """
        decay, every = self._check_schedule()
        epoch = check_int(epoch, "epoch", minimum=0)
        return float(decay ** (epoch // every))

    def learning_rates(self, epoch) -> dict:
        """Run values of every learning rate in epoch ``epoch`` (0-based) of the schedule.

        Returns
        -------
        dict
            ``'W{k}.eta'`` and ``'pyr{k}.eta_b'`` (forward weights and biases
            of layer ``k``: ``eta_PP``), ``'IP{k}.eta'`` and ``'int{k}.eta_b'``
            (interneurons: ``eta_IP``), each times
            :meth:`learning_rate_factor` (Quantities, 1/second).

        Examples
        --------
        >>> from brian2 import ms
        >>> clf = SteadyStateMicrocircuitClassifier([4, 3, 2], eta_PP=[0.2/ms, 0.1/ms])
        >>> rates = clf.learning_rates(5)
        >>> rates['W1.eta'], rates['pyr2.eta_b'], rates['IP1.eta']
        (100. * hertz, 50. * hertz, 3. * hertz)
        """
        layers = check_layers(self.layers)
        L = len(layers) - 1
        f = self.learning_rate_factor(epoch)
        etas = self.eta_PP if isinstance(self.eta_PP, (list, tuple)) else [self.eta_PP] * L
        if len(etas) != L:
            raise ValueError(f"eta_PP needs one value or {L} (one per layer), got {len(etas)}")
        etas = [check_rate(e, f"eta_PP[{i}]") for i, e in enumerate(etas)]
        eta_IP = check_rate(self.eta_IP, "eta_IP")
        values = {}
        for k in range(1, L + 1):
            values[f"W{k}.eta"] = values[f"pyr{k}.eta_b"] = etas[k - 1] * f
        for k in range(1, L):
            values[f"IP{k}.eta"] = values[f"int{k}.eta_b"] = eta_IP * f
        return values

    def _run_values(self):
        """The schedule's rates for the current epoch (``epochs_done_``)."""
        return self.learning_rates(getattr(self, "epochs_done_", 0))

    # ------------------------------------------------------------ hooks
    def _chunk_size(self):
        """``chunk``, or for ``None`` 500 samples online and 200 mini-batches with batches."""
        if self.chunk is not None:
            return self.chunk
        return 500 if self.batch_size == 1 else 200 * self.batch_size

    def _validate_params(self):
        check_float_dtype(self.dtype, "dtype")
        self._check_schedule()
        layers = check_layers(self.layers)
        if layers[-1] == 1:
            raise ValueError("layers: a classifier needs at least 2 output units (one per class)")
        try:
            low, high = (float(v) for v in self.target_rates)
        except (TypeError, ValueError):
            raise ValueError(f"target_rates must be two numbers (low, high), "
                             f"got {self.target_rates!r}") from None
        if not low < high:
            raise ValueError(f"target_rates: low must be < high, got {self.target_rates!r}")
        if self.activation not in _INVERTIBLE:
            raise ValueError(f"activation {self.activation!r}: target potentials need an inverse; "
                             f"use one of {_INVERTIBLE}")
        with np.errstate(all="ignore"):
            pot = np.asarray(self._inverse()(np.array([low, high])), dtype=float)
        if not np.all(np.isfinite(pot)):
            raise ValueError(f"target_rates {self.target_rates!r} are outside the range of "
                             f"{self.activation!r} (no finite target potential)")

    def _inverse(self):
        return get_activation(self.activation, "activation").inverse

    def _presentation(self):
        return Presentation(t_slot=self.t_sample, batch_size=self.batch_size)

    def _build_circuit(self, n_slots):
        return steady_state_microcircuit(
            list(self.layers), n_samples=n_slots * self.batch_size, activation=self.activation,
            eta_PP=self.eta_PP,
            eta_IP=self.eta_IP, lam_out=self.lam_out, lam_A=self.lam_A, lam_I=self.lam_I,
            weight_scale=self.weight_scale, seed=self.seed, t_sample=self.t_sample,
            batch_size=self.batch_size)

    def _encode_targets(self, y, n, name="y"):
        """Labels (1-D ints) or target-rate rows (2-D) -> target potentials."""
        check_numeric(y, name)
        y = np.asarray(y)
        n_out = self._n_out()
        if y.ndim == 1:
            if y.shape[0] != n:
                raise ValueError(f"{name} must have {n} labels (one per sample), got {y.shape[0]}")
            if y.size and (not np.all(np.isfinite(y.astype(float))) or np.any(y < 0)
                           or np.any(y >= n_out) or np.any(y != np.round(y))):
                raise ValueError(f"{name}: labels must be integers in [0, {n_out - 1}]")
            rates = one_hot(y.astype(int), n_out, *(float(v) for v in self.target_rates))
        else:
            _, rates = check_XY(np.zeros((n, 1)), y, None, n_out, "X", name)
        with np.errstate(all="ignore"):
            U = np.asarray(self._inverse()(rates), dtype=float)
        if not np.all(np.isfinite(U)):
            raise ValueError(f"{name}: target rates outside the range of {self.activation!r}")
        return U

    def _decode(self, outputs):
        return np.argmax(outputs, axis=1)

    def _loss(self, out, Y):
        """Classification error rate: argmax of outputs vs argmax of targets."""
        return float(np.mean(np.argmax(out, axis=1) != np.argmax(Y, axis=1)))

    def _score_outputs(self, out, Y):
        """Accuracy."""
        return 1.0 - self._loss(out, Y)

    # ------------------------------------------------------------ public API
    def decision_function(self, X):
        """Output potentials of the bottom-up sweep, shape (n_samples, n_classes)."""
        return self._outputs(X)

    def score(self, X, y) -> float:
        """Accuracy on ``(X, y)`` (labels, or one row of target rates per sample)."""
        return super().score(X, y)
