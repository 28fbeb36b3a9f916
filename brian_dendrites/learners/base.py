"""The learner side of the training contract (scikit-learn's estimator conventions).

A learner is a circuit builder plus a *presentation*: how one sample is
shown to the circuit (a few slots, each with a learning and a teacher flag)
and which slot's readout is the sample's output. :class:`Learner` implements
everything else once:

- ``__init__`` only stores parameters (``get_params``/``set_params``;
  :func:`sklearn.base.clone` works);
- :meth:`Learner.fit` validates parameters and data, builds a
  :class:`~brian_dendrites.engine.Session` (compiled once per shape, reused by
  later fits), and trains in chunks: each chunk of ``chunk`` samples is one
  run whose inputs are the presentation of those samples, starting from the
  state the previous run ended in;
- predictions are runs with the teacher and plasticity off whose state is
  discarded; :meth:`score` is higher-is-better (R² or accuracy), :meth:`loss`
  lower-is-better;
- fitted attributes end in ``_`` (``session_``, ``history_``,
  ``epochs_done_``, ``weights_``); ``save``/``load`` keep the whole state
  in one checkpoint file, written atomically.

A theory's learner subclasses :class:`Learner` and supplies
``_validate_params``, ``_build_circuit(n_slots)``, ``_presentation()``, and
``_encode_targets``/``_decode``/``_loss``/``score``.
"""

from __future__ import annotations

import contextlib
import dataclasses
import gc
import hashlib
import inspect
import json
import os
import tempfile
import time
import warnings
import zipfile
from pathlib import Path

import numpy as np
from brian2 import NeuronGroup, Quantity

from .._validation import check_array, check_bool, check_choice, check_int, check_seed, check_time
from ..circuits._shapes import weight_shapes
from ..engine import Session
from ..engine.session import ENGINE_LOCK, DivergenceError, _discard, _numpy_target
from ..engine.simulation import TARGETS

__all__ = ["Learner", "Presentation", "NotFittedError", "check_XY", "DivergenceError"]

#: Key of the JSON metadata inside a checkpoint's ``.npz``.
_META_KEY = "__brian_dendrites_meta__"
#: Rough peak bytes per synapse while building (Brian2 arrays, index arrays,
#: the session's copy of the initial state); see :meth:`Learner._check_memory`.
_BYTES_PER_SYNAPSE = 160
_UMASK = os.umask(0)
os.umask(_UMASK)


try:  # scikit-learn is optional: with it, its own checks recognise the error
    from sklearn.exceptions import NotFittedError as _NotFittedBase

    _NOT_FITTED_BASES = (_NotFittedBase,)
except ImportError:  # the same bases as scikit-learn's NotFittedError
    _NOT_FITTED_BASES = (ValueError, AttributeError)


class NotFittedError(*_NOT_FITTED_BASES):
    """The learner is used before :meth:`Learner.fit` (a ValueError and an AttributeError)."""


def check_XY(X, Y=None, n_in=None, n_out=None, name_X="X", name_Y="Y"):
    """Validate a data set: 2-D finite float arrays with matching lengths and widths.

    Returns
    -------
    X, Y : numpy.ndarray
        Float arrays (``Y`` is ``None`` if not given; a 1-D ``Y`` becomes a
        column when ``n_out == 1``).

    Raises
    ------
    TypeError
        For non-numeric data.
    ValueError
        For empty data, wrong dimensions or widths, NaN/inf, or ``len(X) != len(Y)``.
    """
    X = check_array(X, name_X, ndim=2)
    if n_in is not None and X.shape[1] != n_in:
        raise ValueError(f"{name_X} must have {n_in} features (the input layer size), got {X.shape[1]}")
    if Y is None:
        return X, None
    if n_out == 1 and np.ndim(Y) == 1:
        Y = np.asarray(Y)[:, None]
    Y = check_array(Y, name_Y, ndim=2)
    if Y.shape[0] != X.shape[0]:
        raise ValueError(f"{name_X} and {name_Y} must have the same number of samples, "
                         f"got {X.shape[0]} and {Y.shape[0]}")
    if n_out is not None and Y.shape[1] != n_out:
        raise ValueError(f"{name_Y} must have {n_out} columns (the output layer size), got {Y.shape[1]}")
    return X, Y


@dataclasses.dataclass(frozen=True)
class Presentation:
    """How one sample is shown: ``slots`` consecutive slots of ``t_slot``.

    Attributes
    ----------
    t_slot : Quantity (second)
        Duration of one slot (one row of the circuit's input TimedArrays).
    learn : tuple of float
        Plasticity flag of every slot while training (0 = a settling slot).
    nudge : tuple of float
        Teacher flag of every slot while training.
    readout_slot : int
        The slot whose end gives the sample's output.
    batch_size : int
        Samples shown side by side in the same slots (a batched circuit,
        sample-major rows; 1: one sample at a time).
    """

    t_slot: Quantity
    learn: tuple = (1.0,)
    nudge: tuple = (1.0,)
    readout_slot: int = -1
    batch_size: int = 1

    def __post_init__(self):
        if len(self.learn) != len(self.nudge) or not self.learn:
            raise ValueError("Presentation: learn and nudge need one flag per slot")
        if not -self.slots <= self.readout_slot < self.slots:
            raise ValueError(f"Presentation: readout_slot {self.readout_slot} is not one of "
                             f"{self.slots} slots")
        if isinstance(self.batch_size, bool) or not isinstance(self.batch_size, (int, np.integer)) \
                or self.batch_size < 1:
            raise ValueError(f"Presentation: batch_size must be an integer >= 1, "
                             f"got {self.batch_size!r}")

    @property
    def slots(self) -> int:
        """Slots per sample."""
        return len(self.learn)

    def sample_weights(self, n, valid) -> np.ndarray:
        """Weight of each sample's update in its mini-batch (``n`` samples, ``valid`` real).

        A batched circuit changes its weights by the mean of the weighted
        per-sample updates over the ``batch_size`` samples of a slot: real
        samples weigh ``batch_size / m`` (``m`` real samples in that
        mini-batch), padding 0, so a short last mini-batch takes the mean
        over its real samples (as a NumPy mini-batch of ``m`` samples).
        """
        B = self.batch_size
        mask = np.zeros(n)
        mask[:valid] = 1.0
        if B == 1:
            return mask
        per_batch = mask.reshape(-1, B)
        m = per_batch.sum(axis=1, keepdims=True)
        return (per_batch * np.divide(B, m, out=np.zeros_like(m), where=m > 0)).ravel()

    def inputs(self, X, Y, valid, learn) -> dict:
        """Role values of a chunk: rows repeated per slot, flags tiled, padding masked.

        ``X``, ``Y``: the chunk's samples (padding included); ``valid``: how
        many of them are real; ``learn``: training (teacher and plasticity
        per the flags) or evaluation (both off). With ``batch_size = B``
        every ``B`` consecutive samples share their slots: one row holds
        their ``B`` input vectors side by side, and ``learn`` has one
        weight per sample (:meth:`sample_weights`).
        """
        n, B = len(X), self.batch_size
        if n % B:
            raise ValueError(f"Presentation: {n} samples are not whole mini-batches of {B}")
        steps = n // B
        weights = self.sample_weights(n, valid)
        out = {"x": np.repeat(np.reshape(X, (steps, -1)), self.slots, axis=0)}
        if B == 1:
            if learn:
                out["target"] = np.repeat(Y, self.slots, axis=0)
                out["nudge"] = np.kron(weights, self.nudge)
                out["learn"] = np.kron(weights, self.learn)
            else:
                out["nudge"] = np.zeros(n * self.slots)
                out["learn"] = np.zeros(n * self.slots)
            return out
        if learn:
            any_real = (weights.reshape(steps, B) > 0).any(axis=1).astype(float)
            out["target"] = np.repeat(np.reshape(Y, (steps, -1)), self.slots, axis=0)
            out["nudge"] = np.kron(any_real, self.nudge)
            out["learn"] = (np.repeat(weights.reshape(steps, B), self.slots, axis=0)
                            * np.tile(np.asarray(self.learn, dtype=float), steps)[:, None])
        else:
            out["nudge"] = np.zeros(steps * self.slots)
            out["learn"] = np.zeros((steps * self.slots, B))
        return out

    def sample_outputs(self, outputs) -> np.ndarray:
        """One row per sample from one row per slot (a batched row holds ``batch_size``)."""
        rows = np.asarray(outputs)[self.readout_slot % self.slots::self.slots]
        return rows.reshape(rows.shape[0] * self.batch_size, -1)


def _progress(iterable, enabled, **kw):
    if not enabled:
        return iterable
    from tqdm.auto import tqdm

    return tqdm(iterable, **kw)


class Learner:
    """Base class of all learners: chunked training through one compiled session.

    Every learner takes these training and engine settings:

    epochs : int
        Passes over the data per :meth:`fit`.
    shuffle : bool
        Present the samples of every epoch in a new random order, seeded by
        ``seed`` and the epoch (else in the given order).
    chunk : int
        Samples per engine run (the TimedArray length, fixed at build time;
        the last chunk of an epoch is padded, padding does not learn).
    target : {'cpp_standalone', 'numpy', 'cython'}
        Brian2 code-generation target.
    seed : int
        Seed of initial weights, sample order and simulation noise, in
        ``[0, 2**32)``. Every run (chunk) draws its own random numbers,
        seeded by ``(seed, epoch, chunk)`` while training and ``(seed,
        chunk)`` for predictions, so the same seed gives the same weights and
        predictions bit for bit.
    progress : bool
        Progress bar over the chunks of an epoch.
    cache_dir : path, optional
        Where compiled standalone projects are kept.
    warm_start : bool
        :meth:`fit` continues from the current state instead of restarting.
    threads : int
        OpenMP threads of the compiled binary (``cpp_standalone`` only; 1:
        none). Results equal one thread's (bit for bit in the dense
        projections; noise is drawn per thread, so noisy runs differ); see
        :class:`~brian_dendrites.engine.Simulation`.

    Subclasses define ``__init__`` (storing every argument unchanged, as
    scikit-learn requires) with at least ``epochs``, ``shuffle``, ``chunk``,
    ``target``, ``seed``, ``progress``, ``cache_dir``, ``warm_start`` and
    ``threads``, and
    the hooks
    ``_validate_params() -> None``, ``_build_circuit(n_slots) -> Circuit``,
    ``_presentation() -> Presentation`` (and ``_n_in()``, ``_n_out()`` unless
    the sizes are in a ``layers`` parameter),
    ``_encode_targets(y, n, name) -> (n, n_out) array``,
    ``_decode(outputs) -> predictions``, ``_loss(outputs, Y) -> float`` and
    :meth:`score`; optionally ``_run_values() -> dict`` (run values such as
    noise amplitudes given to every run), ``_diagnostics(X, Y) -> dict``
    (extra columns of an epoch's :attr:`history_` row, e.g. alignment angles,
    from the epoch's training data and the weights after it), and
    ``_extra_reads()`` / ``_chunk_result(result, valid, learn)`` (variables
    every run also returns, and a look at each run's result, e.g. whether
    a controller converged).

    Reliability: ``save`` writes one checkpoint atomically; an interrupted
    epoch is rolled back; a diverging one raises :class:`DivergenceError`
    (epoch, chunk, variable) and keeps the last finite chunk's state;
    learners pickle and deep-copy (a fitted one rebuilds its session); builds
    and runtime-target runs hold :data:`~brian_dendrites.engine.session.ENGINE_LOCK`,
    so learners trained in threads equal learners trained in sequence.
    """

    #: 'regressor' or 'classifier' (scikit-learn's estimator type)
    _estimator_type = "regressor"
    #: Fitted attributes that are not state variables of the circuit (e.g. the
    #: input width or scaling statistics learned from the data in ``fit``): saved
    #: in the checkpoint's metadata and restored by :meth:`load` before the build.
    _fitted_attributes = ()

    # ------------------------------------------------- scikit-learn protocol
    def _store(self, arguments):
        """Store constructor arguments unchanged (``arguments``: the ``locals()`` of ``__init__``).

        scikit-learn's convention: ``__init__`` sets one attribute per
        argument, with the argument's name and value, and does nothing else.
        """
        for name in self._param_names():
            setattr(self, name, arguments[name])

    def __sklearn_tags__(self):
        """Estimator tags for scikit-learn >= 1.6 (imported only when scikit-learn asks)."""
        from sklearn.base import BaseEstimator
        from sklearn.utils import ClassifierTags, RegressorTags

        tags = BaseEstimator.__sklearn_tags__(self)
        tags.estimator_type = self._estimator_type
        tags.target_tags.required = True
        if self._estimator_type == "classifier":
            tags.classifier_tags = ClassifierTags()
        else:
            tags.regressor_tags = RegressorTags()
        return tags

    @classmethod
    def _param_names(cls):
        sig = inspect.signature(cls.__init__)
        return sorted(p.name for p in sig.parameters.values()
                      if p.name != "self" and p.kind == p.POSITIONAL_OR_KEYWORD)

    def get_params(self, deep=True) -> dict:
        """Constructor arguments by name (scikit-learn's estimator protocol)."""
        return {name: getattr(self, name) for name in self._param_names()}

    def set_params(self, **params):
        """Set constructor arguments (validated at the next :meth:`fit`); returns self."""
        valid = self._param_names()
        for name, value in params.items():
            if name not in valid:
                raise ValueError(f"{type(self).__name__} has no parameter {name!r}; "
                                 f"valid parameters: {valid}")
            setattr(self, name, value)
        return self

    def __repr__(self):
        sig = inspect.signature(type(self).__init__)
        changed = [f"{n}={getattr(self, n)!r}" for n, p in sig.parameters.items()
                   if n != "self" and (p.default is p.empty or _differs(getattr(self, n), p.default))]
        return f"{type(self).__name__}({', '.join(changed)})"

    # ------------------------------------------------------------- checks
    def _check_common(self):
        batch = check_int(getattr(self, "batch_size", 1), "batch_size", minimum=1)
        chunk = check_int(self._chunk_size(), "chunk", minimum=1)
        check_choice(self.target, "target", TARGETS)
        check_seed(self.seed, allow_none=False)
        for name in ("warm_start", "shuffle", "progress"):
            check_bool(getattr(self, name), name)
        threads = getattr(self, "threads", 1)
        check_int(threads, "threads", minimum=1)
        if threads > 1 and self.target != "cpp_standalone":
            raise ValueError(f"threads={threads} needs target='cpp_standalone' (Brian2 runs the "
                             f"{self.target!r} target in one thread)")
        if batch > 1 and self.target != "cpp_standalone":
            raise ValueError(f"batch_size={batch} needs target='cpp_standalone' (only the dense "
                             f"C++ path computes mini-batches; got target={self.target!r})")
        if chunk % batch:
            raise ValueError(f"chunk ({chunk}) must be a multiple of batch_size ({batch}): "
                             "a run holds whole mini-batches")

    def _check_fitted(self):
        if getattr(self, "session_", None) is None:
            raise NotFittedError(f"this {type(self).__name__} is not fitted yet: call fit(X, y) "
                                 "first (fit(X, y, epochs=0) builds it without training)")

    # ------------------------------------------------------------- pickling
    def __getstate__(self):
        """Parameters and, if fitted, the carried state (not the compiled session)."""
        state = {k: v for k, v in self.__dict__.items()
                 if k not in ("session_", "_session_built_for", "_model_hash_cache")}
        if getattr(self, "session_", None) is not None:
            state["_pickled_state"] = dict(self.session_.state)
        return state

    def __setstate__(self, state):
        """Restore a pickled or copied learner; a fitted one rebuilds its session.

        The compiled binary of a ``cpp_standalone`` learner is reused from the
        cache; on a machine without it, it is compiled again.
        """
        state = dict(state)
        saved = state.pop("_pickled_state", None)
        self.__dict__.update(state)
        if saved is not None:
            epochs, rows = self.epochs_done_, list(self._history_rows)
            self.session_ = None
            self._ensure_session()
            self.session_.reset(self._migrated_state(saved))
            self.epochs_done_, self._history_rows = epochs, rows

    def _migrated_state(self, saved):
        """A saved session state in the current circuit's layout (hook; default: as saved).

        Subclasses whose circuit changed its state variables map what an
        older version saved (``Session.reset`` names what is still missing).
        """
        return saved

    # ------------------------------------------------------------- engine
    def _session_key(self):
        return json.dumps(_to_json({k: v for k, v in self.get_params().items()
                                    if k not in ("progress", "warm_start", "epochs", "shuffle")}),
                          sort_keys=True)

    def _ensure_session(self):
        """Validate parameters; build (or reuse) the compiled session."""
        self._validate_params()
        self._check_common()
        key = self._session_key()
        if getattr(self, "session_", None) is not None and self._session_built_for == key:
            return self.session_
        self._check_memory()
        n_slots = self._n_slots()
        # assigned only once built: an interrupted build leaves the learner as it was
        session = Session(lambda: self._build_circuit(n_slots), target=self.target,
                          seed=self.seed, cache_dir=self.cache_dir, name=type(self).__name__,
                          dtype=getattr(self, "dtype", None), threads=getattr(self, "threads", 1))
        self.session_, self._session_built_for = session, key
        self._reset_training()
        return self.session_

    def _chunk_size(self):
        """Samples per run: the ``chunk`` parameter (a learner may derive a default for ``None``)."""
        return self.chunk

    def _n_slots(self):
        """Slots per run: ``chunk`` samples of the presentation's slots (in mini-batches)."""
        pres = self._presentation()
        return self._chunk_size() // pres.batch_size * pres.slots

    def _estimated_bytes(self) -> int:
        """Rough peak memory of building the session (synapses and input arrays)."""
        synapses = sum(a * b for a, b in weight_shapes(self.layers).values())
        batch = self._presentation().batch_size  # a slot holds a mini-batch of samples
        inputs = self._n_slots() * batch * (self._n_in() + 2 * self._n_out() + 2) * 8
        return _BYTES_PER_SYNAPSE * synapses + 4 * inputs

    def _check_memory(self):
        """Refuse, before building, a network that cannot fit in the available memory.

        Raises
        ------
        MemoryError
            With the estimated and the available memory.
        """
        need, have = self._estimated_bytes(), _available_memory()
        if have is not None and need > have:
            raise MemoryError(
                f"{type(self).__name__}(layers={list(self.layers)}, chunk={self._chunk_size()}) needs "
                f"about {_in_gib(need)} to build, but only {_in_gib(have)} of memory is "
                "available; use smaller layers or a smaller chunk")

    def _restore_fitted(self, fitted: dict):
        """Set the :attr:`_fitted_attributes` saved in a checkpoint (lists become arrays)."""
        missing = [name for name in self._fitted_attributes if name not in fitted]
        if missing:
            raise ValueError(f"the checkpoint lacks the fitted attributes {missing}")
        for name in self._fitted_attributes:
            value = fitted[name]
            setattr(self, name, np.asarray(value) if isinstance(value, list) else value)

    def _run_values(self) -> dict:
        """Run values (``'group.param'`` -> value) given to every run (override to add)."""
        return {}

    def _diagnostics(self, X, Y) -> dict:
        """Extra history columns after an epoch on ``(X, Y)`` (override to add)."""
        return {}

    def _extra_reads(self) -> tuple:
        """Result keys every run also returns (for :meth:`_chunk_result`; override to add)."""
        return ()

    def _chunk_result(self, result, valid, learn):
        """Look at one run's raw result (``valid`` real samples; override to collect)."""

    def _chunk_values(self, values, trained):
        """Run values of one training run that starts ``trained`` samples into training.

        ``trained`` counts the samples of every earlier training epoch (the
        history's ``samples`` column) and the earlier runs of this epoch.
        Override for a schedule within an epoch (e.g. a learning rate that
        decays with the samples seen); the default returns ``values``.
        """
        return values

    def _samples_trained(self) -> int:
        """Samples presented in the completed training epochs (history's ``samples``)."""
        rows = getattr(self, "_history_rows", None) or []
        return int(rows[-1].get("samples", 0)) if rows else 0

    def _run_seed(self, epoch, chunk) -> int:
        """The seed of one run: from (seed, epoch, chunk) while training, (seed, chunk) else.

        Every run draws its own random numbers (noise, spikes), and the same
        learner seed gives the same numbers again.
        """
        key = [self.seed, 1, chunk] if epoch is None else [self.seed, 0, epoch, chunk]
        return int(np.random.SeedSequence(key).generate_state(1)[0])

    def _reset_training(self):
        self.session_.reset()
        self.epochs_done_ = 0
        self._history_rows = []

    def _n_in(self):
        """Input width (learners keep their sizes in ``layers``)."""
        return list(self.layers)[0]

    def _n_out(self):
        """Output width."""
        return list(self.layers)[-1]

    def _chunk_inputs(self, X, Y, valid, learn):
        """Role values of one chunk (the presentation's; override to change it)."""
        return self._presentation().inputs(X, Y, valid, learn)

    def _before_epoch(self, X, Y, order):
        """Run before every training epoch on its data (override, e.g. for a sleep phase)."""

    def _run_chunks(self, X, Y, learn, order, values=None, carry=None, trained=None):
        """Run ``X[order]`` chunk by chunk; training (``learn``) carries the state.

        ``values`` replaces :meth:`_run_values` and ``carry`` (default:
        ``learn``) carries the state without training (a sleep phase).
        ``trained`` (training epochs only): samples trained before this call;
        each run's values then pass through :meth:`_chunk_values`.

        A training chunk whose state or outputs are not finite raises
        :class:`DivergenceError` naming the epoch, the chunk and the first
        non-finite variable; the session keeps the state after the previous
        chunk.
        """
        session = self.session_
        pres = self._presentation()
        n = len(order)
        outputs = np.empty((n, self._n_out()))
        chunk = self._chunk_size()
        starts = range(0, n, chunk)
        carry = learn if carry is None else carry
        epoch = self.epochs_done_ if carry else None
        values = self._run_values() if values is None else values
        for c, start in enumerate(_progress(starts, self.progress and learn,
                                            desc=f"epoch {self.epochs_done_ + 1}",
                                            unit="chunk", leave=False)):
            idx = order[start:start + chunk]
            valid = len(idx)
            idx_p = np.concatenate([idx, np.repeat(idx[-1:], chunk - valid)])
            inputs = self._chunk_inputs(X[idx_p], None if Y is None else Y[idx_p], valid, learn)
            before = session.state
            run_values = values if trained is None else self._chunk_values(values, trained + start)
            try:
                res = session.run(inputs, values=run_values, carry=carry, read=self._extra_reads(),
                                  seed=self._run_seed(epoch, c))
            except DivergenceError as exc:
                raise self._diverged(exc.variable, c, len(starts)) from exc
            out = pres.sample_outputs(session.outputs(res))[:valid]
            if learn and not np.all(np.isfinite(out)):
                session.state = before
                readout = session.circuit.readout
                raise self._diverged(f"{readout.monitor}.{readout.variable}", c, len(starts))
            outputs[start:start + valid] = out
            self._chunk_result(res, valid, learn)
        return outputs

    def _diverged(self, variable, chunk, n_chunks) -> DivergenceError:
        epoch = self.epochs_done_ + 1
        kept = (f"the state after chunk {chunk} of epoch {epoch}" if chunk
                else f"the state before epoch {epoch}")
        return DivergenceError(
            f"training diverged in epoch {epoch}, chunk {chunk + 1} of {n_chunks}: the run "
            f"produced NaN or inf (first non-finite variable: {variable!r}). The learner keeps "
            f"{kept}; epochs_done_ = {self.epochs_done_} counts complete epochs. Lower the "
            "learning rates or rescale X.", variable=variable, epoch=epoch, chunk=chunk + 1)

    def _outputs(self, X):
        """Readout of every sample with teacher and plasticity off (state kept)."""
        self._check_fitted()
        X, _ = check_XY(X, None, self._n_in())
        return self._run_chunks(X, None, learn=False, order=np.arange(len(X)))

    # ------------------------------------------------------------- public API
    def fit(self, X, y, epochs=None, validation_data=None):
        """Train for ``epochs`` passes over ``(X, y)`` in a seeded random order.

        Starts from the initial weights unless ``warm_start`` is set (then it
        continues like :meth:`partial_fit`). The compiled network is reused
        by later fits with the same parameters.

        Parameters
        ----------
        X : array, shape (n_samples, n_in)
        y : array
            Targets (see the subclass).
        epochs : int, optional
            Passes over the data (default: the ``epochs`` parameter); 0 builds
            the learner and sets its initial state without training.
        validation_data : tuple (X_val, y_val), optional
            Scored after every epoch (``val_loss`` and ``val_score`` in
            :attr:`history_`).

        Returns
        -------
        self
        """
        epochs = check_int(self.epochs if epochs is None else epochs, "epochs", minimum=0)
        self._validate_params()
        self._check_common()
        data = self._check_data(X, y, validation_data)  # before building or resetting anything
        fresh = getattr(self, "session_", None) is None
        self._ensure_session()
        if not fresh and not self.warm_start:
            self._reset_training()
        return self._train(data, epochs)

    def partial_fit(self, X, y, validation_data=None):
        """One more epoch over ``(X, y)``, continuing from the current state."""
        self._validate_params()
        self._check_common()
        data = self._check_data(X, y, validation_data)
        if getattr(self, "session_", None) is None or self._session_built_for != self._session_key():
            self._ensure_session()
        return self._train(data, 1)

    def _check_data(self, X, y, validation_data):
        """``(X, Y, Xv, Yv)``: validated inputs and encoded targets (``None`` without validation)."""
        if y is None:
            raise ValueError(f"{type(self).__name__} requires y to be passed, but the target y is None")
        X, _ = check_XY(X, None, self._n_in())
        Y = self._encode_targets(y, X.shape[0], "y")
        if validation_data is not None:
            if not isinstance(validation_data, (tuple, list)) or len(validation_data) != 2:
                raise ValueError("validation_data must be a tuple (X_val, y_val)")
            Xv, _ = check_XY(validation_data[0], None, self._n_in(), "X_val")
            Yv = self._encode_targets(validation_data[1], Xv.shape[0], "y_val")
            return X, Y, Xv, Yv
        return X, Y, None, None

    def _train(self, data, epochs):
        """``epochs`` epochs over ``data`` (see :meth:`_check_data`); each is all or nothing.

        An interrupted or failed epoch is rolled back (weights, ``epochs_done_``
        and history agree); a diverged one keeps the last finite chunk's state
        and raises :class:`DivergenceError`.
        """
        X, Y, Xv, Yv = data
        for _ in range(epochs):
            t0 = time.perf_counter()
            order = np.arange(len(X))
            if self.shuffle:
                order = np.random.default_rng([self.seed, self.epochs_done_]).permutation(len(X))
            start_state = self.session_.state
            try:
                self._before_epoch(X, Y, order)
                trained = self._samples_trained()
                out = self._run_chunks(X, Y, learn=True, order=order, trained=trained)
                row = {"epoch": self.epochs_done_ + 1, "train_loss": self._loss(out, Y[order]),
                       "time_s": time.perf_counter() - t0, "samples": trained + len(X)}
                if Xv is not None:
                    val = self._run_chunks(Xv, None, learn=False, order=np.arange(len(Xv)))
                    row["val_loss"] = self._loss(val, Yv)
                    row["val_score"] = self._score_outputs(val, Yv)
                row.update(self._diagnostics(X, Y))
            except DivergenceError:
                raise  # the session keeps the last finite chunk's state
            except BaseException:
                # interrupted (Ctrl-C) or failed: roll the epoch back, so that the
                # weights, epochs_done_ and the history agree
                self.session_.state = start_state
                raise
            self._history_rows.append(row)
            self.epochs_done_ += 1
        return self

    def predict(self, X):
        """Predictions for ``X`` with learning and teacher off (the state is kept)."""
        return self._decode(self._outputs(X))

    def loss(self, X, y) -> float:
        """The learner's loss on ``(X, y)`` (lower is better; see :meth:`_loss`)."""
        X, _ = check_XY(X, None, self._n_in())
        return self._loss(self._outputs(X), self._encode_targets(y, X.shape[0], "y"))

    def score(self, X, y) -> float:
        """Higher-is-better score on ``(X, y)`` (R² or accuracy; see the subclass)."""
        X, _ = check_XY(X, None, self._n_in())
        return self._score_outputs(self._outputs(X), self._encode_targets(y, X.shape[0], "y"))

    @property
    def history_(self):
        """Per-epoch table (pandas DataFrame).

        Columns: epoch, train_loss, time_s, samples (trained so far, all
        epochs), val_loss, val_score, and the learner's diagnostics.
        """
        import pandas as pd

        self._check_fitted()
        return pd.DataFrame(self._history_rows)

    @property
    def weights_(self) -> dict:
        """Current weight matrices ``(n_post, n_pre)`` by family name."""
        self._check_fitted()
        return self.session_.weights

    def sample_updates(self, X, y) -> list:
        """The weight change one training sample causes, for each sample, from the current state.

        Each sample is presented alone (the rest of its chunk is padding
        that does not learn) with learning on, by the compiled model itself,
        and the run is not carried: the learner's state does not change.
        This is how a rule's updates are compared with a gradient
        (:mod:`brian_dendrites.lab`). One run per sample.

        Parameters
        ----------
        X : array, shape (n_samples, n_in)
        y : array
            Targets as for :meth:`fit`.

        Returns
        -------
        list of dict
            Per sample: plastic family -> ``(n_post, n_pre)`` change.
        """
        self._check_fitted()
        X, _ = check_XY(X, None, self._n_in())
        Y = self._encode_targets(y, X.shape[0], "y")
        session = self.session_
        before = session.weights
        families = {name: fam for name, fam in session.circuit.weights.items() if fam.plastic}
        keys = [fam.key for fam in families.values()]
        Xf = self._features(X)
        out = []
        for i in range(len(Xf)):
            idx = np.full(self._chunk_size(), i)
            inputs = self._chunk_inputs(Xf[idx], Y[idx], 1, True)
            res = session.run(inputs, values=self._run_values(), read=keys, carry=False,
                              seed=self._run_seed(None, i))
            out.append({name: fam.to_matrix(res[fam.key]) - before[name]
                        for name, fam in families.items()})
        return out

    def _features(self, X):
        """``X`` as the circuit's input role receives it (override with a transform)."""
        return X

    def set_weights(self, weights: dict):
        """Replace some weight matrices (shapes checked; traces are kept)."""
        self._check_fitted()
        self.session_.set_weights(weights)
        return self

    def model_hash(self) -> str:
        """Hash of the circuit's model text and sizes (stored with saved learners).

        Computed from the built session if there is one, else from the
        circuit built in Brian2's runtime mode (nothing is compiled).
        """
        self._validate_params()
        self._check_common()
        key = self._session_key()
        cached = getattr(self, "_model_hash_cache", None)
        if cached is not None and cached[0] == key:
            return cached[1]
        if getattr(self, "session_", None) is not None and self._session_built_for == key:
            digest = _circuit_hash(self.session_.circuit)
        else:
            with ENGINE_LOCK, _numpy_target():
                circuit = self._build_circuit(self._n_slots())
                digest = _circuit_hash(circuit)
                _discard(circuit)
                del circuit
                gc.collect()
        self._model_hash_cache = (key, digest)
        return digest

    def save(self, path):
        """Save parameters, state (weights, traces, potentials) and history in one file.

        The checkpoint is one ``.npz`` (``path`` itself if it ends in
        ``.npz``, else ``path`` + ``'.npz'``: ``'run.v1'`` and ``'run.v2'``
        are two files) holding the state arrays and the metadata (parameters,
        epochs, history, model hash, versions) as JSON. It is written to a
        temporary file in the same folder and renamed into place, so a failed
        save leaves the previous checkpoint intact. :meth:`load` restores
        bit-identical weights, and training continues exactly as if it had
        never stopped.

        Returns
        -------
        pathlib.Path
            The file written.

        Raises
        ------
        TypeError
            If a parameter value cannot be stored as JSON (nothing is written).
        """
        import brian2

        self._check_fitted()
        target = _checkpoint_path(path)
        params = self.get_params()
        for name, value in params.items():
            try:
                json.dumps(_to_json(value))
            except (TypeError, ValueError) as exc:
                raise TypeError(f"save: parameter {name}={value!r} cannot be stored in a "
                                f"checkpoint ({exc}); nothing was written") from None
        meta = {
            "class": type(self).__name__,
            "params": _to_json(params),
            "epochs_done": self.epochs_done_,
            "history": _to_json(self._history_rows),
            "model_hash": self.model_hash(),
            "versions": {"brian2": brian2.__version__, "numpy": np.__version__},
            "fitted": {name: _to_json(getattr(self, name)) for name in self._fitted_attributes},
        }
        arrays = {k: np.asarray(v) for k, v in self.session_.state.items()}
        arrays[_META_KEY] = np.array(json.dumps(meta, indent=1))
        _atomic_savez(target, arrays)
        return target

    @classmethod
    def load(cls, path, overrides: dict | None = None):
        """Load a learner saved with :meth:`save`.

        The model hash is checked before anything is built; then the session
        is built (compiled once on ``cpp_standalone``, or reused from the
        cache) and the saved state restored.

        Parameters
        ----------
        path : path
            As given to :meth:`save`.
        overrides : dict, optional
            Parameters to change (e.g. ``{'target': 'numpy', 'progress': False}``).

        Raises
        ------
        FileNotFoundError
            If there is no checkpoint at ``path``.
        ValueError
            If the file is corrupt or truncated, holds another class, another
            model (hash) or not exactly the model's state variables.

        Warns
        -----
        UserWarning
            If it was saved with another brian2 or NumPy version.
        """
        target = _checkpoint_path(path)
        meta, arrays = _read_checkpoint(target)
        if meta["class"] != cls.__name__:
            raise ValueError(f"{target} holds a {meta['class']}, not a {cls.__name__}")
        _warn_versions(target, meta["versions"])
        params = _from_json(meta["params"])
        params.update(overrides or {})
        learner = cls(**params)
        learner._restore_fitted(meta.get("fitted", {}))
        if learner.model_hash() != meta["model_hash"]:
            raise ValueError(f"{target}: model hash differs from the saved one (model code changed)")
        learner._ensure_session()
        expected = set(learner.session_.initial_state)
        missing, unknown = sorted(expected - set(arrays)), sorted(set(arrays) - expected)
        if missing or unknown:
            raise ValueError(f"{target}: the checkpoint does not match the model's state: "
                             f"lacks {missing[:5]}{'...' if len(missing) > 5 else ''}, "
                             f"has unknown {unknown[:5]}")
        try:
            learner.session_.reset(arrays)
        except (ValueError, KeyError, TypeError) as exc:
            raise ValueError(f"{target}: saved state does not fit the model ({exc})") from None
        learner.epochs_done_ = meta["epochs_done"]
        learner._history_rows = list(meta["history"])
        return learner


def _circuit_hash(circuit) -> str:
    h = hashlib.sha256()
    for name in sorted(circuit.objects):
        obj = circuit.objects[name]
        h.update(f"{name}:{type(obj).__name__}".encode())
        h.update(str(getattr(obj, "equations", "")).encode())
        if isinstance(obj, NeuronGroup):
            h.update(str(len(obj)).encode())
    return h.hexdigest()[:16]


def _checkpoint_path(path) -> Path:
    """The checkpoint file of ``path``: itself if it ends in ``.npz``, else ``path + '.npz'``."""
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"path: expected a file path, got {type(path).__name__}")
    path = Path(path).expanduser()
    return path if path.suffix == ".npz" else path.with_name(path.name + ".npz")


def _atomic_savez(target: Path, arrays: dict):
    """``np.savez`` to a temporary file beside ``target``, synced, then renamed onto it."""
    if not target.parent.is_dir():
        raise FileNotFoundError(f"save: folder {target.parent} does not exist")
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            np.savez(f, **arrays)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o666 & ~_UMASK)
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


_META_FIELDS = ("class", "params", "epochs_done", "history", "model_hash", "versions")


def _read_checkpoint(target: Path):
    """``(metadata, state arrays)`` of a checkpoint; corrupt files raise ValueError."""
    if not target.is_file():
        raise FileNotFoundError(f"no checkpoint at {target}")
    try:
        with np.load(target, allow_pickle=False) as data:
            arrays = {k: data[k] for k in data.files}
        meta = json.loads(str(arrays.pop(_META_KEY)[()]))
    except KeyError:
        raise ValueError(f"{target}: not a brian_dendrites checkpoint (no metadata; saved "
                         "by an older version, or another program)") from None
    except (zipfile.BadZipFile, EOFError, OSError, ValueError) as exc:
        raise ValueError(f"{target}: checkpoint is corrupt or truncated "
                         f"({type(exc).__name__}: {exc})") from exc
    if not isinstance(meta, dict) or any(k not in meta for k in _META_FIELDS):
        raise ValueError(f"{target}: checkpoint metadata lacks some of {list(_META_FIELDS)}")
    return meta, arrays


def _warn_versions(target, versions):
    import brian2

    running = {"brian2": brian2.__version__, "numpy": np.__version__}
    differ = {k: (versions.get(k), v) for k, v in running.items() if versions.get(k) != v}
    if differ:
        text = ", ".join(f"{k} {old} (running {new})" for k, (old, new) in differ.items())
        warnings.warn(f"{target} was saved with {text}; results may differ slightly",
                      UserWarning, stacklevel=3)


def _in_gib(n_bytes) -> str:
    return f"{n_bytes / 2**30:.3g} GiB"


def _available_memory():
    """Available memory in bytes (``MemAvailable`` on Linux), or None if unknown."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None


def _differs(a, b) -> bool:
    try:
        return bool(np.any(np.asarray(a != b)))
    except Exception:  # noqa: BLE001 - incomparable values are different
        return True


def _to_json(v):
    if isinstance(v, Quantity):
        from brian2 import get_unit

        return {"value": np.asarray(v).tolist(), "unit": repr(get_unit(v.dim))}
    if isinstance(v, dict):
        return {k: _to_json(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_to_json(x) for x in v]
    if isinstance(v, np.ndarray):
        return v.tolist()
    if isinstance(v, (np.integer, np.floating, np.bool_)):
        return v.item()
    if isinstance(v, Path):
        return str(v)
    if isinstance(v, np.dtype) or (isinstance(v, type) and issubclass(v, np.generic)):
        return np.dtype(v).name  # np.float32 -> 'float32' (a dtype argument, stored by name)
    return v


def _from_json(v):
    if isinstance(v, dict) and set(v) == {"value", "unit"}:
        from ..spec import _parse_unit

        return np.asarray(v["value"]) * _parse_unit(v["unit"])
    if isinstance(v, dict):
        return {k: _from_json(x) for k, x in v.items()}
    if isinstance(v, list):
        return [_from_json(x) for x in v]
    return v


def slots_for(t_pattern, t_settle, dt):
    """Split a presentation of ``t_pattern`` into equal slots with a settling window.

    Returns ``(t_slot, learn_flags)``: the settling window ``t_settle`` (no
    plasticity) is a whole number of slots at the start of the presentation.

    Examples
    --------
    >>> from brian2 import ms
    >>> t_slot, learn = slots_for(12*ms, 4*ms, 0.1*ms)
    >>> print(t_slot, learn)
    4. ms (0.0, 1.0, 1.0)
    """
    check_time(t_pattern, "t_pattern")
    check_time(t_settle, "t_settle", positive=False)
    n_pat = int(round(float(t_pattern / dt)))
    n_set = int(round(float(t_settle / dt)))
    if n_pat < 1 or abs(n_pat * float(dt) - float(t_pattern)) > 1e-9 * float(t_pattern):
        raise ValueError(f"t_pattern must be a positive multiple of dt = {dt}, got {t_pattern}")
    if not 0 <= n_set < n_pat or abs(n_set * float(dt) - float(t_settle)) > 1e-9 * float(t_pattern):
        raise ValueError(f"t_settle must be a multiple of dt = {dt} in [0, t_pattern), got {t_settle}")
    step = int(np.gcd(n_pat, n_set)) if n_set else n_pat
    slots = n_pat // step
    learn = tuple(0.0 if s < n_set // step else 1.0 for s in range(slots))
    return step * dt, learn
