"""A compiled circuit, its state, and chained runs: the engine side of the training contract.

:class:`Session` turns a pure circuit builder (``() -> Circuit``) into a
network compiled once (:class:`~brian_dendrites.engine.Simulation`) whose
state (potentials, traces, weights) is carried from one run to the next, so
that a sequence of runs equals one long run. Runs take the circuit's *input
roles* (``'x'``, ``'target'``, ``'nudge'``, ``'learn'``...) instead of
TimedArray names, and the circuit's :class:`~brian_dendrites.circuits.Readout`
turns a run into one output row per slot.

Learners (:mod:`brian_dendrites.learners`) are built on it; experiments that
are not supervised learning (e.g. the self-predicting state) use it directly.
"""

from __future__ import annotations

import contextlib
import gc
import threading
from typing import Callable, Mapping

import numpy as np
from brian2 import Group, prefs

from .._brian_compat import ArrayVariable, SummedVariableUpdater
from ..circuits.base import Circuit
from .simulation import TARGETS, RunResult, Simulation, _with_float_dtype, check_float_dtype

__all__ = ["Session", "DivergenceError"]


#: Serialises what touches Brian2's global state (device, ``prefs``,
#: ``defaultclock``, the NumPy random state): every build, and every run on a
#: runtime target. Sessions used from several threads therefore give the same
#: results as used one after another (standalone runs are separate processes
#: and run in parallel).
ENGINE_LOCK = threading.RLock()


class DivergenceError(FloatingPointError):
    """A run produced NaN or infinite state; the session kept its last finite state.

    Attributes
    ----------
    variable : str or None
        The first non-finite state variable (``'owner.var'``).
    epoch, chunk : int or None
        Where training diverged (1-based; set by learners).
    """

    def __init__(self, message, variable=None, epoch=None, chunk=None):
        super().__init__(message)
        self.variable = variable
        self.epoch = epoch
        self.chunk = chunk


@contextlib.contextmanager
def _numpy_target():
    old = prefs.codegen.target
    prefs.codegen.target = "numpy"
    try:
        yield
    finally:
        prefs.codegen.target = old


def _built_values(circuit: Circuit) -> dict:
    """Every array variable of the circuit's groups as the builder set it (no run)."""
    out = {}
    for name, obj in circuit.objects.items():
        if not isinstance(obj, Group):
            continue
        for var, v in obj.variables.items():
            if isinstance(v, ArrayVariable) and not var.startswith("_") \
                    and v.owner is not None and v.owner.name == name:
                out[f"{name}.{var}"] = np.array(v.get_value(), copy=True)
    return out


def _discard(circuit: Circuit):
    """Mark objects built only to read metadata as deliberately unused.

    Silences Brian2's "never included in a network" warning when they are
    garbage collected.
    """
    for obj in circuit.objects.values():
        if getattr(obj, "_network", "uninitialized") is None:
            obj._network = "metadata only"


class Session:
    """Compile a circuit once; run it many times, carrying its state.

    Parameters
    ----------
    build : callable
        ``build() -> Circuit``, a pure builder (called once in Brian2's
        runtime mode to read the circuit's timing and initial state, and
        once inside the compiling device).
    target : {'numpy', 'cython', 'cpp_standalone'}
        Brian2 code-generation target.
    seed : int, optional
        Seed of the simulation's random numbers (noise, Poisson spikes).
    cache_dir : path, optional
        Standalone build cache (see :func:`~brian_dendrites.engine.default_cache_dir`).
    name : str
        Label of the compiled project.
    dense : bool
        Use the dense all-to-all code path on ``cpp_standalone``.
    dtype : {numpy.float64, numpy.float32}, optional
        Floating-point type of the compiled network (Brian2's
        ``prefs.core.default_float_dtype`` for this circuit only; ``None``:
        the preference's current value, float64 unless changed); see
        :class:`~brian_dendrites.engine.Simulation`. State, weights and
        results are arrays of this type.
    threads : int
        OpenMP threads of the compiled binary (``cpp_standalone`` only; see
        :class:`~brian_dendrites.engine.Simulation`).

    Attributes
    ----------
    circuit : Circuit
        The circuit as built inside the compiling device.
    simulation : Simulation
        The compiled network.
    initial_state : dict
        ``'owner.var'`` -> array: every state variable as the builder set it.
    state : dict
        The state the next run starts from.

    Examples
    --------
    >>> import numpy as np
    >>> from brian2 import ms
    >>> from brian_dendrites.circuits import dendritic_microcircuit
    >>> s = Session(lambda: dendritic_microcircuit([3, 4, 2], n_patterns=2, t_pattern=5*ms),
    ...             target='numpy')
    >>> res = s.run({'x': np.ones((2, 3)), 'learn': np.zeros(2)})
    >>> s.outputs(res).shape  # one output row per slot
    (2, 2)
    """

    def __init__(self, build: Callable[[], Circuit], target: str = "cpp_standalone",
                 seed: int | None = None, cache_dir=None, name: str = "session",
                 dense: bool = True, dtype=None, threads: int = 1):
        if not callable(build):
            raise TypeError(f"build must be a callable returning a Circuit, got {type(build).__name__}")
        if target not in TARGETS:
            raise ValueError(f"target must be one of {TARGETS}, got {target!r}")
        dtype = check_float_dtype(dtype)
        with ENGINE_LOCK:
            with _numpy_target(), _with_float_dtype(dtype):
                probe = self._call(build)
                built = _built_values(probe)  # the state as built, before anything runs
            duration, dt = probe.duration, probe.dt
            _discard(probe)
            del probe
            gc.collect()  # frees the probe's names before the real build
            holder = {}

            def build_in_device():
                holder["circuit"] = self._call(build)
                return holder["circuit"].objects

            self.simulation = Simulation(build_in_device, duration, target=target, dt=dt,
                                         seed=seed, cache_dir=cache_dir, name=name, dense=dense,
                                         dtype=dtype, threads=threads)
        self.circuit: Circuit = holder["circuit"]
        self.initial_state = {k: built[k] for k in self.simulation.state_variables}
        self.state = dict(self.initial_state)
        self._fixed = _fixed_weight_keys(self.circuit)

    @staticmethod
    def _call(build) -> Circuit:
        circuit = build()
        if not isinstance(circuit, Circuit):
            raise TypeError(f"build must return a Circuit, got {type(circuit).__name__}")
        return circuit

    # ------------------------------------------------------------ state
    def reset(self, state: Mapping | None = None):
        """Start the next run from ``state`` (default: the initial state)."""
        if state is None:
            self.state = dict(self.initial_state)
            return
        if not isinstance(state, Mapping):
            raise TypeError(f"state must be a mapping 'owner.var' -> array, got {type(state).__name__}")
        missing = sorted(set(self.initial_state) - set(state))
        if missing:
            raise KeyError(f"state lacks {missing[:5]}{'...' if len(missing) > 5 else ''} "
                           f"({len(missing)} of {len(self.initial_state)} state variables)")
        unknown = sorted(set(state) - set(self.initial_state))
        if unknown:
            raise KeyError(f"state has unknown variables {unknown[:5]}")
        self.simulation.check_values(state)
        self.state = {k: np.asarray(v) for k, v in state.items()}

    @property
    def weights(self) -> dict:
        """Current weight matrices ``(n_post, n_pre)`` by family name."""
        return {name: fam.to_matrix(self.state[fam.key]) for name, fam in self.circuit.weights.items()}

    def set_weights(self, weights: Mapping):
        """Replace some weight matrices in the carried state (shapes checked; traces kept)."""
        if not isinstance(weights, Mapping):
            raise TypeError(f"weights must be a dict family -> (n_post, n_pre) matrix, "
                            f"got {type(weights).__name__}")
        new = {}
        for name, W in weights.items():
            if name not in self.circuit.weights:
                raise KeyError(f"unknown weight family {name!r}; known: {sorted(self.circuit.weights)}")
            fam = self.circuit.weights[name]
            new[fam.key] = fam.to_synapses(W)
        self.state.update(new)

    # ------------------------------------------------------------- runs
    def input_values(self, inputs: Mapping | None) -> dict:
        """Role -> array to run values ``'<timedarray>.values'`` (roles and shapes checked)."""
        inputs = {} if inputs is None else inputs
        if not isinstance(inputs, Mapping):
            raise TypeError(f"inputs must be a mapping role -> array, got {type(inputs).__name__}")
        out = {}
        for role, arr in dict(inputs).items():
            if role not in self.circuit.inputs:
                raise KeyError(f"inputs: this circuit has no input role {role!r}; "
                               f"it has {sorted(self.circuit.inputs)}")
            arr = np.asarray(arr, dtype=float)
            shape = self.circuit.input_shape(role)
            if arr.shape != shape:
                raise ValueError(f"inputs[{role!r}] must have shape {shape} (one row per slot), "
                                 f"got {arr.shape}")
            out[f"{self.circuit.inputs[role]}.values"] = arr
        return out

    def run(self, inputs: Mapping | None = None, values: Mapping | None = None, read=(),
            carry: bool = True, seed: int | None = None) -> RunResult:
        """One run of ``circuit.n_slots`` slots from the carried state.

        Parameters
        ----------
        inputs : mapping, optional
            Input role -> array with one row per slot (roles not given keep
            the values they were built with).
        values : mapping, optional
            Further run values (``'group.param'`` -> value), e.g. learning rates.
        read : iterable of str
            Extra variables to return; the readout's and the state's are always
            read, except the weights of families declared fixed
            (``WeightFamily.plastic`` false) whose synapses nothing can change
            (no equation, pathway or code runner besides summed variables;
            checked when the session is built), e.g. the DGN gates (16.5 M
            values on MNIST): they are passed in and kept in :attr:`state`.
        carry : bool
            If True the run's final state becomes :attr:`state`; if False
            (evaluation) the state is left unchanged.
        seed : int, optional
            Seed of this run's random numbers (noise, Poisson spikes), passed
            to :meth:`Simulation.run <brian_dendrites.engine.Simulation.run>`;
            ``None``: the session's seed (the same random numbers in every
            run). Learners give every run its own seed.

        Returns
        -------
        RunResult

        Raises
        ------
        DivergenceError
            If a carried state variable became NaN or infinite (the state is
            left at its last finite value).
        """
        run_values = {**self.state, **self.input_values(inputs), **self._checked_values(values)}
        keys = [read] if isinstance(read, str) else list(read)
        # weights that nothing in the network changes are passed in, not read back
        carried = set(self.state) - self._fixed if carry else set()
        keys = sorted(set(keys) | set(self.circuit.readout.keys) | carried)
        if self.simulation.target == "cpp_standalone":
            res = self.simulation.run(run_values, read=keys, seed=seed)
        else:
            with ENGINE_LOCK:
                res = self.simulation.run(run_values, read=keys, seed=seed)
        if carry:
            new = {k: res[k] for k in carried}
            for k, v in new.items():
                if v.dtype.kind == "f" and not np.all(np.isfinite(v)):
                    raise DivergenceError(f"the run produced NaN or inf in {k!r}; the session "
                                          "keeps the state before the run", variable=k)
            self.state = {k: new.get(k, v) for k, v in self.state.items()}
        return res

    def _checked_values(self, values) -> dict:
        """Run values as given, refusing non-whole numbers for integer variables.

        (NumPy would truncate ``1.7`` to ``1`` without a word.)
        """
        values = dict(values or {})
        for key, val in values.items():
            converted = self.simulation.check_values({key: val})[key]
            if converted.dtype.kind in "iu":
                given = np.asarray(val, dtype=float)
                if np.any(converted != given):
                    raise ValueError(f"values[{key!r}]: {key} is an integer variable, got "
                                     f"{val!r} (not a whole number)")
        return values

    def __getstate__(self):
        raise TypeError("a Session holds compiled Brian2 objects and cannot be pickled or "
                        "copied; keep its state (session.state, a dict of arrays) and build a "
                        "new Session (learners: learner.save(path) / Learner.load(path), or "
                        "pickle the learner itself)")

    def outputs(self, result) -> np.ndarray:
        """The readout of a run: one output row per slot, shape ``(n_slots, n_out)``."""
        return self.circuit.readout.read(result)

    def __repr__(self):
        return (f"<Session {self.simulation.name!r} on {self.simulation.target}: "
                f"{self.circuit.n_slots} slots x {self.circuit.t_slot}, "
                f"families {sorted(self.circuit.weights)}>")


def _fixed_weight_keys(circuit) -> set:
    """Run-value keys of the weight families that no code of the network can change.

    A family counts only if the circuit declares it fixed
    (``WeightFamily.plastic`` false) *and* its Brian2 synapses have no
    differential equation, no pathway and no code runner other than summed
    variables (checked here, so that a mislabelled family is still read back).
    """
    keys = set()
    for fam in circuit.weights.values():
        syn = circuit.objects.get(fam.synapses)
        if fam.plastic or syn is None:
            continue
        if getattr(syn, "_pathways", None) or syn.equations.diff_eq_names:
            continue
        if all(isinstance(obj, SummedVariableUpdater) for obj in syn.contained_objects):
            keys.add(fam.key)
    return keys
