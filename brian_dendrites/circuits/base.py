"""The circuit contract: what a builder hands to the engine and to a learner.

A builder (e.g. :func:`~brian_dendrites.circuits.dendritic_microcircuit`) is a
pure function returning a :class:`Circuit`: the named Brian2 objects plus
everything a learner or session needs to drive them without knowing the
theory behind them:

- **input roles** (``'x'``, ``'target'``, ``'nudge'``, ``'learn'``, ...) ->
  the name of the 2-D or 1-D :class:`~brian2.TimedArray` that carries them,
  one row per *slot* of ``t_slot``;
- a :class:`Readout`: which recorded variable gives the output of each slot;
- the **weight families** (:class:`WeightFamily`): all-to-all projections with
  their shapes and initial ``(n_post, n_pre)`` matrices;
- the **timing**: ``n_slots`` rows of ``t_slot`` per run, time step ``dt``;
- an optional **schedule** (rows ``(when, order, object, what)``) and free
  metadata (``info``).
"""

from __future__ import annotations

import dataclasses
from typing import Mapping

import numpy as np
from brian2 import Quantity, TimedArray, ms, second

__all__ = ["Circuit", "WeightFamily", "Readout", "matrix_to_synapses", "synapses_to_matrix",
           "check_weights", "ROLES", "SUPERVISED_INPUTS", "supervised_inputs", "drive_teacher"]

#: Input roles a learner may fill (a circuit declares the ones it has).
ROLES = {
    "x": "input rates, one row per slot (n_slots, n_in)",
    "target": "teacher's target for the output, one row per slot (n_slots, n_out)",
    "nudge": "1 while the teacher acts on the output, else 0 (n_slots,)",
    "learn": "1 while plasticity is on, 0 freezes every weight and trace (n_slots,); "
             "batched circuits: the weight of each sample's update (n_slots, batch_size)",
}


#: Role -> TimedArray name of :func:`supervised_inputs`.
SUPERVISED_INPUTS = {"x": "x_in", "target": "u_target", "nudge": "nudge_in", "learn": "learn_in"}


def supervised_inputs(n_slots, n_in, n_out, t_slot, batch_size=1) -> dict:
    """The TimedArrays of the four supervised roles, one row per slot.

    ``x_in`` ``(n_slots, n_in)`` and ``u_target`` ``(n_slots, n_out)`` start
    at 0, ``nudge_in`` at 0 (teacher off) and ``learn_in`` at 1 (plastic);
    their names are :data:`SUPERVISED_INPUTS`. A circuit reads them in its
    own code (``x_in(t, i)``, ``learn_in(t)``).

    With ``batch_size=B > 1`` a slot holds ``B`` samples side by side,
    sample-major: ``x_in`` is ``(n_slots, B*n_in)``, ``u_target``
    ``(n_slots, B*n_out)`` and ``learn_in`` ``(n_slots, B)``, the weight of
    each sample's update (read as ``learn_in(t, i // n)``); ``nudge_in``
    stays one flag per slot.

    Returns
    -------
    dict
        TimedArray name -> TimedArray.
    """
    B = int(batch_size)
    shapes = {"x_in": (n_slots, B * n_in), "u_target": (n_slots, B * n_out),
              "nudge_in": (n_slots,)}
    arrays = {name: TimedArray(np.zeros(shape), dt=t_slot, name=name) for name, shape in shapes.items()}
    arrays["learn_in"] = TimedArray(np.ones(n_slots if B == 1 else (n_slots, B)), dt=t_slot,
                                    name="learn_in")
    return arrays


def drive_teacher(group):
    """Read the teacher's roles into an output group once per step (``start`` slot, order -1).

    ``nudge = nudge_in(t)`` and ``u_tgt = u_target(t, i)``: the group needs
    variables ``u_tgt`` and ``nudge`` (the pyramidal models have them;
    ``nudge`` may be shared, so it is written first, as Brian2 requires).
    """
    group.run_regularly("nudge = nudge_in(t)\nu_tgt = u_target(t, i)", when="start", order=-1,
                        name="teacher")
    return group


def matrix_to_synapses(W: np.ndarray) -> np.ndarray:
    """Flatten a ``(n_post, n_pre)`` weight matrix into Brian2 synapse order.

    ``Synapses.connect()`` (all to all) creates synapses pre-major: synapse
    ``s`` joins pre ``s // n_post`` to post ``s % n_post``.

    Examples
    --------
    >>> matrix_to_synapses([[1, 2, 3], [4, 5, 6]])  # 2 post x 3 pre
    array([1., 4., 2., 5., 3., 6.])
    """
    W = np.asarray(W, dtype=float)
    if W.ndim != 2:
        raise ValueError(f"W must be a 2-D (n_post, n_pre) matrix, got shape {W.shape}")
    return np.ascontiguousarray(W.T).ravel()


def synapses_to_matrix(w: np.ndarray, n_post: int, n_pre: int) -> np.ndarray:
    """Inverse of :func:`matrix_to_synapses`.

    Examples
    --------
    >>> synapses_to_matrix([1, 4, 2, 5, 3, 6], 2, 3)
    array([[1., 2., 3.],
           [4., 5., 6.]])
    """
    w = np.asarray(w, dtype=float)
    if w.size != n_post * n_pre:
        raise ValueError(f"w has {w.size} synapses, expected n_post*n_pre = {n_post * n_pre}")
    return w.reshape(n_pre, n_post).T.copy()


def check_weights(weights, shapes: Mapping) -> dict:
    """Validate weight matrices against ``shapes`` (family -> ``(n_post, n_pre)``).

    Returns
    -------
    dict
        Family -> float array.

    Raises
    ------
    TypeError
        If ``weights`` is not a mapping.
    KeyError
        For an unknown family (the message lists the known ones).
    ValueError
        For a wrong shape or NaN/inf, naming the family.
    """
    if weights is None:
        return {}
    if not isinstance(weights, Mapping):
        raise TypeError(f"weights must be a dict family -> (n_post, n_pre) matrix, "
                        f"got {type(weights).__name__}")
    out = {}
    for name, W in weights.items():
        if name not in shapes:
            raise KeyError(f"weights: unknown family {name!r}; expected some of {sorted(shapes)}")
        W = np.asarray(W, dtype=float)
        if W.shape != tuple(shapes[name]):
            raise ValueError(f"weights[{name!r}] must have shape {tuple(shapes[name])} "
                             f"(n_post, n_pre), got {W.shape}")
        if not np.all(np.isfinite(W)):
            raise ValueError(f"weights[{name!r}] contains NaN or inf")
        out[name] = W
    return out


@dataclasses.dataclass(frozen=True)
class WeightFamily:
    """One all-to-all projection whose weights a learner reads and writes.

    Attributes
    ----------
    name : str
        Family name (``'W1'``, ``'B1'``, ``'IP1'``...).
    synapses : str
        Name of the Brian2 :class:`~brian2.Synapses` object (its variable
        ``w`` holds the weights in synapse order).
    shape : tuple of int
        ``(n_post, n_pre)``.
    initial : numpy.ndarray
        Initial ``(n_post, n_pre)`` matrix (the builder set it).
    plastic : bool
        Whether a rule changes it during training.
    reverse : bool
        Whether the Brian2 synapses run from the matrix's *rows* (the
        family's postsynaptic side, e.g. DGN branches) to its columns, so that
        synapse order is the matrix's row-major order (``False``: Brian2's
        usual order, rows = targets, see :func:`matrix_to_synapses`).
    """

    name: str
    synapses: str
    shape: tuple
    initial: np.ndarray
    plastic: bool = True
    reverse: bool = False

    @property
    def key(self) -> str:
        """Run-value key of the weights (``'<synapses>.w'``)."""
        return f"{self.synapses}.w"

    def to_matrix(self, w) -> np.ndarray:
        """Synapse-order values -> ``(n_post, n_pre)`` matrix."""
        if self.reverse:
            return np.asarray(w).reshape(self.shape).copy()
        return synapses_to_matrix(w, *self.shape)

    def to_synapses(self, W) -> np.ndarray:
        """``(n_post, n_pre)`` matrix -> synapse-order values (shape checked)."""
        W = check_weights({self.name: W}, {self.name: self.shape})[self.name]
        return W.ravel().copy() if self.reverse else matrix_to_synapses(W)


@dataclasses.dataclass(frozen=True)
class Readout:
    """Which recorded variable gives one output row per slot.

    Attributes
    ----------
    monitor : str
        Name of a :class:`~brian2.StateMonitor` recording ``variable``.
    variable : str
        The recorded output variable (e.g. the output somata ``u``).
    final : str, optional
        ``'group.var'`` holding the value at the end of the run. Set it when
        the monitor records at the *start* of every slot (it then sees the
        end of the previous slot; the last slot's end is the final state).
        Without it the monitor must record one value per slot, at its end.
    """

    monitor: str
    variable: str
    final: str | None = None

    @property
    def keys(self) -> list:
        """Result keys a run must return for :meth:`read`."""
        keys = [f"{self.monitor}.{self.variable}"]
        return keys + [self.final] if self.final else keys

    def read(self, result) -> np.ndarray:
        """Output at the end of every slot, shape ``(n_slots, n_out)``."""
        recorded = np.asarray(result[f"{self.monitor}.{self.variable}"])  # (n_out, n_samples)
        if self.final:
            recorded = np.concatenate([recorded[:, 1:], np.asarray(result[self.final])[:, None]],
                                      axis=1)
        return recorded.T


@dataclasses.dataclass
class Circuit:
    """A built network and what a learner needs to know to drive it.

    Attributes
    ----------
    objects : dict
        Brian2 objects by name (groups, synapses, monitors, TimedArrays).
    inputs : dict
        Input role (see :data:`ROLES`) -> TimedArray name.
    readout : Readout
        How outputs are read from a run.
    weights : dict
        Family name -> :class:`WeightFamily`.
    n_slots : int
        Rows of every input TimedArray: slots per run (fixed at build time).
    t_slot : Quantity (second)
        How long each row is held.
    dt : Quantity (second)
        The time step the circuit must run with.
    schedule : list of tuple
        Optional ``(when, order, object, what)`` rows in execution order.
    info : dict
        Free metadata: builder arguments and derived values.
    """

    objects: dict
    inputs: dict
    readout: Readout
    weights: dict
    n_slots: int
    t_slot: Quantity
    dt: Quantity = dataclasses.field(default_factory=lambda: 0.1 * ms)
    schedule: list = dataclasses.field(default_factory=list)
    info: dict = dataclasses.field(default_factory=dict)

    def __post_init__(self):
        for role, name in self.inputs.items():
            if name not in self.objects:
                raise ValueError(f"Circuit: input role {role!r} names {name!r}, which is not "
                                 f"among the objects")
        for fam in self.weights.values():
            if not isinstance(fam, WeightFamily):
                raise TypeError(f"Circuit: weights must be WeightFamily objects, got {fam!r}")
            if fam.synapses not in self.objects:
                raise ValueError(f"Circuit: weight family {fam.name!r} names synapses "
                                 f"{fam.synapses!r}, which are not among the objects")
        if not isinstance(self.readout, Readout) or self.readout.monitor not in self.objects:
            raise ValueError(f"Circuit: readout must be a Readout of one of the objects, "
                             f"got {self.readout!r}")
        for name, val in (("t_slot", self.t_slot), ("dt", self.dt)):
            if not isinstance(val, Quantity) or val.dim != second.dim or float(val) <= 0:
                raise ValueError(f"Circuit: {name} must be a positive time, got {val!r}")

    @property
    def duration(self) -> Quantity:
        """Simulated time of one run: ``n_slots * t_slot``."""
        return self.n_slots * self.t_slot

    @property
    def steps_per_slot(self) -> int:
        """Time steps per slot."""
        return int(round(float(self.t_slot / self.dt)))

    @property
    def initial_weights(self) -> dict:
        """Family -> initial ``(n_post, n_pre)`` matrix (copies)."""
        return {name: np.array(fam.initial, copy=True) for name, fam in self.weights.items()}

    def input_shape(self, role) -> tuple:
        """Shape of the TimedArray values of ``role``."""
        if role not in self.inputs:
            raise KeyError(f"this circuit has no input role {role!r}; it has {sorted(self.inputs)}")
        return tuple(np.shape(self.objects[self.inputs[role]].values))
