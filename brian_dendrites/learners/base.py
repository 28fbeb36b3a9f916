"""Learners: scikit-learn-like estimators on top of the compile-once engine.

A learner holds a circuit shape, compiles it once (one binary per shape and
chunk length) and trains by feeding chunks of samples through the circuit's
TimedArrays with :meth:`brian_dendrites.engine.Simulation.run`, carrying
weights, plasticity traces and neuron state from one run into the next. No
recompilation and no per-sample Python happen during training.

:class:`Learner` holds what every theory shares (validation, chunking,
history, progress bar, save/load); a subclass says only how samples are
presented to its circuit.
"""

from __future__ import annotations

import hashlib
import json
import numbers
import time
from pathlib import Path

import numpy as np
from brian2 import NeuronGroup, Quantity, ms

from ..circuits import matrix_to_synapses, synapses_to_matrix
from ..engine import Simulation

__all__ = ["Learner", "check_XY"]


def check_XY(X, Y=None, n_in=None, n_out=None, name_X="X", name_Y="Y"):
    """Validate a data set: 2-D finite float arrays with matching lengths.

    Raises
    ------
    ValueError
        For empty data, wrong dimensions or widths, NaN/inf, or ``len(X) != len(Y)``.
    """
    X = np.asarray(X, dtype=float)
    if X.ndim != 2:
        raise ValueError(f"{name_X} must be a 2-D array (n_samples, n_features), got shape {X.shape}")
    if X.shape[0] == 0:
        raise ValueError(f"{name_X} is empty: at least one sample is needed")
    if n_in is not None and X.shape[1] != n_in:
        raise ValueError(f"{name_X} must have {n_in} features (the input layer size), got {X.shape[1]}")
    if not np.all(np.isfinite(X)):
        raise ValueError(f"{name_X} contains NaN or infinite values")
    if Y is None:
        return X, None
    Y = np.asarray(Y, dtype=float)
    if Y.ndim == 1 and n_out == 1:
        Y = Y[:, None]
    if Y.ndim != 2:
        raise ValueError(f"{name_Y} must be a 2-D array (n_samples, n_outputs), got shape {Y.shape}")
    if Y.shape[0] != X.shape[0]:
        raise ValueError(f"{name_X} and {name_Y} must have the same number of samples, "
                         f"got {X.shape[0]} and {Y.shape[0]}")
    if n_out is not None and Y.shape[1] != n_out:
        raise ValueError(f"{name_Y} must have {n_out} columns (the output layer size), got {Y.shape[1]}")
    if not np.all(np.isfinite(Y)):
        raise ValueError(f"{name_Y} contains NaN or infinite values")
    return X, Y


def _progress(iterable, enabled, **kw):
    if not enabled:
        return iterable
    from tqdm.auto import tqdm

    return tqdm(iterable, **kw)


class Learner:
    """Base class: chunked training through one compiled simulation.

    Subclasses implement ``_build`` (returns a circuit for ``n_patterns``),
    ``_read_keys`` and ``_outputs`` (read predictions from a run result),
    and may override ``_chunk_values`` (TimedArray values for one chunk).
    """

    #: attributes saved by :meth:`save` (constructor arguments)
    _params: tuple = ()

    def __init__(self, chunk=20, target="cpp_standalone", seed=0, progress=True,
                 cache_dir=None, dt=0.1 * ms):
        if isinstance(chunk, bool) or not isinstance(chunk, numbers.Integral) or chunk < 1:
            raise ValueError(f"chunk must be a positive integer (patterns per run), got {chunk!r}")
        if not isinstance(seed, numbers.Integral) or seed < 0:
            raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
        self.chunk = int(chunk)
        self.target = target
        self.seed = int(seed)
        self.progress = bool(progress)
        self.cache_dir = cache_dir
        self.dt = dt
        self.epochs_done = 0
        self.history_rows: list[dict] = []
        self._sim = None
        self._state = None

    def _chunk_values(self, X, Y, valid, learn):
        """TimedArray values for one chunk (the circuits' shared input protocol).

        ``x_in`` inputs, ``u_target`` targets with the teacher ``nudge_in`` on
        for the ``valid`` patterns while learning, and ``learn_in`` = 1 for
        them (0 freezes plasticity during padding and prediction).
        """
        mask = np.zeros(self.chunk)
        mask[:valid] = 1.0
        values = {"x_in.values": X, "learn_in.values": mask if learn else np.zeros(self.chunk)}
        if Y is not None and learn:
            values["u_target.values"] = Y
            values["nudge_in.values"] = mask
        else:
            values["nudge_in.values"] = np.zeros(self.chunk)
        return values

    def _n_in(self):
        """Input width (subclasses keep their sizes in ``self.layers``)."""
        return self.layers[0]

    def _n_out(self):
        """Output width."""
        return self.layers[-1]

    @staticmethod
    def _discard(circuit):
        """Mark objects built only to validate arguments as deliberately unused
        (silences Brian2's "never included in a network" warning)."""
        for obj in circuit.objects.values():
            if getattr(obj, "_network", "uninitialized") is None:
                obj._network = "validation only"

    # -------------------------------------------------------------- engine
    @property
    def simulation(self) -> Simulation:
        """The compiled simulation (built on first use, once per learner)."""
        if self._sim is None:
            def build():  # objects must be created inside the engine's device
                self._circuit = self._build(self.chunk)
                return self._circuit.objects

            duration = self.chunk * self._t_pattern()
            self._sim = Simulation(build, duration, target=self.target,
                                   dt=self.dt, seed=self.seed, cache_dir=self.cache_dir,
                                   name=type(self).__name__)
            res = None
            if self._state is None:
                res = self._sim.run(read=self._sim.state_variables)
                self._state = self._initial_state(res)
        return self._sim

    def _initial_state(self, res):
        """State before training, from a probe run (which learns the keys).

        Potentials and traces start at 0 as built; learned weight families are
        reset to their initial values; fixed pathways keep theirs.
        """
        state = {k: np.zeros_like(np.asarray(res[k])) for k in self._sim.state_variables}
        for k in state:
            if k.endswith(".w"):
                state[k] = np.asarray(res[k])
        for name, W in self._circuit.info["initial_weights"].items():
            if f"{name}.w" in state:
                state[f"{name}.w"] = matrix_to_synapses(W)
        return state

    def _run_chunks(self, X, Y, learn, order):
        sim = self.simulation
        n = len(order)
        outputs = np.empty((n, self._n_out()))
        starts = range(0, n, self.chunk)
        for start in _progress(starts, self.progress and learn, desc=f"epoch {self.epochs_done + 1}",
                               unit="chunk", leave=False):
            idx = order[start:start + self.chunk]
            valid = len(idx)
            pad = self.chunk - valid
            idx_p = np.concatenate([idx, np.repeat(idx[-1:], pad)]) if pad else idx
            values = dict(self._state)
            values.update(self._chunk_values(X[idx_p], None if Y is None else Y[idx_p], valid, learn))
            res = sim.run(values, read=sorted(set(self._sim.state_variables) | set(self._read_keys())))
            outputs[start:start + valid] = self._outputs(res)[:valid]
            if learn:
                self._state = {k: res[k] for k in self._sim.state_variables}
        return outputs

    # ------------------------------------------------------------- public API
    def fit(self, X, Y, epochs=1, validation_data=None):
        """Train for ``epochs`` passes over ``(X, Y)`` in a seeded random order.

        Parameters
        ----------
        X : array, shape (n_samples, n_in)
        Y : array, shape (n_samples, n_out)
        epochs : int
        validation_data : tuple (X_val, Y_val), optional
            Scored after every epoch (``val_loss`` in :attr:`history`).

        Returns
        -------
        self
        """
        X, Y = check_XY(X, Y, self._n_in(), self._n_out())
        if isinstance(epochs, bool) or not isinstance(epochs, numbers.Integral) or epochs < 1:
            raise ValueError(f"epochs must be a positive integer, got {epochs!r}")
        if validation_data is not None:
            if not isinstance(validation_data, (tuple, list)) or len(validation_data) != 2:
                raise ValueError("validation_data must be a tuple (X_val, Y_val)")
            Xv, Yv = check_XY(*validation_data, self._n_in(), self._n_out(), "X_val", "Y_val")
        for _ in range(int(epochs)):
            t0 = time.perf_counter()
            rng = np.random.default_rng([self.seed, self.epochs_done])
            order = rng.permutation(len(X))
            out = self._run_chunks(X, Y, learn=True, order=order)
            row = {"epoch": self.epochs_done + 1, "train_loss": self._loss(out, Y[order]),
                   "time_s": time.perf_counter() - t0}
            if validation_data is not None:
                row["val_loss"] = self.score(Xv, Yv)
            self.history_rows.append(row)
            self.epochs_done += 1
        return self

    def predict(self, X):
        """Outputs for ``X`` with learning and teacher off (state is not kept)."""
        X, _ = check_XY(X, None, self._n_in())
        self.simulation  # builds (and sets the initial state) on first use
        saved = self._state
        try:
            return self._run_chunks(X, None, learn=False, order=np.arange(len(X)))
        finally:
            self._state = saved

    def score(self, X, Y) -> float:
        """Loss on ``(X, Y)`` (see :meth:`_loss`)."""
        X, Y = check_XY(X, Y, self._n_in(), self._n_out())
        return self._loss(self.predict(X), Y)

    @property
    def history(self):
        """Per-epoch table (pandas DataFrame): epoch, train_loss, val_loss, time_s."""
        import pandas as pd

        return pd.DataFrame(self.history_rows)

    def weights(self) -> dict:
        """Current weight matrices ``(n_post, n_pre)`` by family name."""
        self.simulation
        return {name: synapses_to_matrix(self._state[f"{syn}.w"], n_post, n_pre)
                for name, (syn, n_post, n_pre) in self._circuit.weights.items()}

    def set_weights(self, weights: dict):
        """Replace some weight matrices (shapes checked; traces are kept)."""
        self.simulation
        if not isinstance(weights, dict):
            raise TypeError("weights must be a dict family -> (n_post, n_pre) matrix")
        for name, W in weights.items():
            if name not in self._circuit.weights:
                raise KeyError(f"unknown weight family {name!r}; known: {sorted(self._circuit.weights)}")
            syn, n_post, n_pre = self._circuit.weights[name]
            W = np.asarray(W, dtype=float)
            if W.shape != (n_post, n_pre):
                raise ValueError(f"weights[{name!r}] must have shape {(n_post, n_pre)}, got {W.shape}")
            if not np.all(np.isfinite(W)):
                raise ValueError(f"weights[{name!r}] contains NaN or inf")
            self._state[f"{syn}.w"] = matrix_to_synapses(W)

    def model_hash(self) -> str:
        """Hash of the circuit's model text and sizes (stored with saved learners)."""
        self.simulation
        h = hashlib.sha256()
        for name in sorted(self._circuit.objects):
            obj = self._circuit.objects[name]
            h.update(f"{name}:{type(obj).__name__}".encode())
            h.update(str(getattr(obj, "equations", "")).encode())
            if isinstance(obj, NeuronGroup):
                h.update(str(len(obj)).encode())
        return h.hexdigest()[:16]

    def save(self, path):
        """Save parameters, state (weights, traces, potentials) and history.

        Writes ``path`` as ``.npz`` (arrays) and ``path.json`` (parameters,
        model hash, versions). :meth:`load` restores bit-identical weights, and
        training continues exactly as if it had never stopped.
        """
        import brian2

        path = Path(path)
        self.simulation
        np.savez(path.with_suffix(".npz"), **{k: np.asarray(v) for k, v in self._state.items()})
        meta = {
            "class": type(self).__name__,
            "params": {k: _to_json(getattr(self, k)) for k in self._params},
            "epochs_done": self.epochs_done,
            "history": self.history_rows,
            "model_hash": self.model_hash(),
            "versions": {"brian2": brian2.__version__, "numpy": np.__version__},
        }
        path.with_suffix(".json").write_text(json.dumps(meta, indent=1))
        return path.with_suffix(".npz")

    @classmethod
    def load(cls, path, **overrides):
        """Load a learner saved with :meth:`save` (``overrides``: e.g. ``target``)."""
        path = Path(path)
        meta = json.loads(path.with_suffix(".json").read_text())
        if meta["class"] != cls.__name__:
            raise ValueError(f"{path} holds a {meta['class']}, not a {cls.__name__}")
        params = {k: _from_json(v) for k, v in meta["params"].items()}
        params.update(overrides)
        learner = cls(**params)
        with np.load(path.with_suffix(".npz")) as data:
            learner._state = {k: data[k] for k in data.files}
        learner.epochs_done = meta["epochs_done"]
        learner.history_rows = meta["history"]
        if learner.model_hash() != meta["model_hash"]:
            raise ValueError(f"{path}: model hash differs from the saved one (model code changed)")
        return learner


def _to_json(v):
    if isinstance(v, Quantity):
        from brian2.units.fundamentalunits import get_unit

        return {"value": np.asarray(v).tolist(), "unit": repr(get_unit(v.dim))}
    if isinstance(v, dict):
        return {k: _to_json(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_to_json(x) for x in v]
    if isinstance(v, np.ndarray):
        return v.tolist()
    if isinstance(v, Path):
        return str(v)
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
