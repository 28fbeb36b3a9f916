"""Urbanczik & Senn (2014), Fig. 1B: the dendrite learns to predict the soma.

The protocol is the one of NEST's example ``urbanczik_synapse_example.py``,
shared by ``examples/urbanczik_senn2014_fig1.py`` (the figure),
``benchmarks/bench_urbanczik_nest.py`` (Brian2 vs NEST timing) and
``tests/test_urbanczik_protocol.py``:

- one or more two-compartment neurons
  (:func:`~brian_dendrites.models.urbanczik_senn.urbanczik_senn_neuron`,
  NEST ``pp_cond_exp_mc_urbanczik`` defaults: g_D 600 nS, g_L 30 nS,
  C_m 300 pF, E_L -70 mV, tau_syn 3 ms, t_ref 3 ms);
- 200 dendritic inputs: a 200 ms pattern of 10 Hz Poisson spike trains,
  drawn once on the 0.1 ms grid (frozen, :func:`frozen_pattern`) and
  repeated (by default 2 repetitions without teacher, 100 with, 2 without:
  20.8 s of simulated time at dt = 0.1 ms);
- the teacher: during the teacher repetitions the somatic excitatory and
  inhibitory conductances receive, every time step, an increment
  ``a_E sin(2 pi t / 100 ms) + b_E`` (a_E = 4.8 nS, b_E = 5.4 nS) and
  ``a_I = 18 nS`` (:meth:`Protocol.teacher_increments`). As in NEST's example
  (a spike generator firing every step with time-varying weights) this is a
  *deterministic* conductance drive, here a ``run_regularly`` operation
  reading two ``TimedArray``;
- plasticity: the Urbanczik–Senn rule with PSP traces and low-pass filtered
  weight change (tau_Delta 100 ms), NEST's example values: learning rate
  eta = 0.17 (converted by :func:`nest_eta_to_ours`), initial weights
  0.3 C_m = 90 pA, transmitted weight clipped to [0, 4.5 C_m] = [0, 1350] pA
  (:func:`clipped_urbanczik_synapse`).

Learning measure (:func:`learning_outcome`): for each 200 ms teacher
repetition, the Pearson correlation of the dendritic prediction
``V* = (g_L E_L + g_D V)/(g_L + g_D)`` with the teacher-imposed ("matching")
somatic potential ``U_M = (g_ex E_ex + g_in E_in)/(g_ex + g_in)``
(:func:`matching_potential`), both sampled every 1 ms; reported at the first
("early") and last ("late") teacher repetition and in the first repetition
after the teacher ("recall": V* against U_M of the last teacher repetition).
Values are means over neurons.

With several neurons the 200 input spike trains are shared (one source per
input); every neuron has its own 200 plastic synapses and its own random
spikes.

The Brian2 side runs through :class:`~brian_dendrites.engine.Simulation` on
``cpp_standalone`` (:func:`make_simulation`, :func:`run_protocol`). The NEST
side (:func:`build_nest`, :func:`simulate_nest`, :func:`nest_outcome`,
:func:`run_nest`) builds the same protocol with NEST's own model and
``urbanczik_synapse``; NEST is optional and imported only there.

Mapping onto NEST's synapse: NEST integrates, at every presynaptic spike,
``w = w0 + c * integral (1 - exp(-(t-s)/tau_Delta)) PI(s) ds`` with
``PI = (S - phi(V*)) h(V*) PSP`` and
``c = 15 C_m tau_s eta / (g_L (tau_L - tau_s))``. That integral equals
``w0 + c * integral Delta dt`` with ``tau_Delta dDelta/dt = -Delta + PI``,
i.e. our ``dw/dt = eta_ours * Delta`` with ``eta_ours = c`` in pA mV
(10.93 pA mV for NEST's eta = 0.17). NEST clips only the *transmitted*
weight to [Wmin, Wmax] (the integral itself is not clipped); so does
:func:`clipped_urbanczik_synapse`.

Remaining differences: our spike probability per step is ``phi(U) dt``
(NEST: ``1 - exp(-phi(U) dt)``, at most 1.5 % apart here); our neuron is
integrated with forward Euler at 0.1 ms (NEST: adaptive RKF45 in GSL); NEST
delivers inputs with a 0.1 ms delay through parrot neurons (a constant shift
of 0.2 ms); the random spike trains of the neurons differ.

Examples
--------
>>> from brian_dendrites.experiments.urbanczik_senn2014 import Protocol, frozen_pattern
>>> proto = Protocol.fast()
>>> proto.n_rep, proto.duration_ms
(20, 4000.0)
>>> idx, steps = frozen_pattern(proto, seed=0)
>>> bool(idx.max() < proto.n_inputs and steps.min() >= 1)
True

A full run (compiles a C++ project, tens of seconds the first time)::

    run = run_protocol(Protocol.fast(), n_neurons=1)
    run.outcome["early"], run.outcome["late"], run.outcome["recall"]
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np
from brian2 import (
    DimensionMismatchError,
    Hz,
    Quantity,
    SpikeGeneratorGroup,
    StateMonitor,
    TimedArray,
    get_dimensions,
    have_same_dimensions,
    ms,
    mV,
    nS,
    pA,
    pF,
)

from brian_dendrites._validation import check_int, check_real, check_seed
from brian_dendrites.engine import Simulation
from brian_dendrites.models.plasticity import urbanczik_senn_spiking_synapse
from brian_dendrites.models.urbanczik_senn import urbanczik_senn_neuron
from brian_dendrites.spec import Param, SynapseModel

__all__ = [
    "C_M",
    "E_EX",
    "E_IN",
    "E_L",
    "G_D",
    "G_L",
    "RECORDED",
    "TAU_L",
    "TAU_SYN",
    "NestNetwork",
    "Protocol",
    "ProtocolRun",
    "build_nest",
    "clipped_urbanczik_synapse",
    "frozen_pattern",
    "learning_outcome",
    "make_build",
    "make_simulation",
    "matching_potential",
    "nest_available",
    "nest_eta_to_ours",
    "nest_outcome",
    "run_nest",
    "run_protocol",
    "simulate_nest",
    "simulation_outcome",
]

# neuron constants of the protocol (NEST pp_cond_exp_mc_urbanczik, example values)
C_M = 300.0  # pF
G_L = 30.0  # nS
G_D = 600.0  # nS
E_L = -70.0  # mV
E_EX = 0.0  # mV
E_IN = -75.0  # mV
TAU_SYN = 3.0  # ms
TAU_L = C_M / G_L  # ms, membrane time constant of the dendrite (PSP kernel)

#: Monitored variables a Brian2 run must read for :func:`simulation_outcome`.
RECORDED = ("mon_v.V_star", "mon_g.g_ex", "mon_g.g_in")

_NEST_HINT = ("NEST is optional: `pip install nest-simulator` (3.10 tested); the Brian2 side "
              "of the protocol does not need it")


# ------------------------------------------------------------ validation
def _in_unit(value, unit, unit_name, argname):
    """``value`` as a float array in ``unit_name``: plain numbers or a Quantity.

    Plain numbers are taken to be in ``unit_name`` already; a Quantity must
    have the dimensions of ``unit`` (:class:`DimensionMismatchError`
    otherwise). Anything not numeric raises :class:`TypeError`.
    """
    if isinstance(value, Quantity):
        if not have_same_dimensions(value, unit):
            raise DimensionMismatchError(
                f"{argname}: expected a number in {unit_name} or a Quantity of that dimension, "
                f"got {value!r}", get_dimensions(value), get_dimensions(unit))
        return np.asarray(value / unit, dtype=float)
    if value is None or isinstance(value, (str, bytes, bool)):
        raise TypeError(f"{argname}: expected numbers in {unit_name}, got {value!r}")
    try:
        return np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        raise TypeError(f"{argname}: expected numbers in {unit_name}, "
                        f"got {type(value).__name__}") from None


def _scalar_in_unit(value, unit, unit_name, argname, lower="any"):
    """One finite number in ``unit_name``; ``lower``: 'positive', 'nonnegative' or 'any'."""
    if isinstance(value, Quantity):
        value = _in_unit(value, unit, unit_name, argname)
    return check_real(value, f"{argname} (in {unit_name})", None if lower == "any" else 0,
                      low_open=lower == "positive")


def _check_protocol(proto, argname="proto"):
    if not isinstance(proto, Protocol):
        raise TypeError(f"{argname} must be a Protocol, got {type(proto).__name__}")
    return proto


def _is_multiple(a, b):
    q = a / b
    return abs(q - round(q)) < 1e-9 * max(1.0, q)


# -------------------------------------------------------------- protocol
#: Protocol fields with units: name -> (unit, unit name, allowed values).
_FIELD_UNITS = {
    "input_rate": (Hz, "Hz", "positive"),
    "pattern_ms": (ms, "ms", "positive"),
    "dt_ms": (ms, "ms", "positive"),
    "record_dt_ms": (ms, "ms", "positive"),
    "eta": (1.0, "NEST's units (dimensionless)", "nonnegative"),
    "tau_Delta": (ms, "ms", "positive"),
    "w_init": (pA, "pA", "any"),
    "w_min": (pA, "pA", "any"),
    "w_max": (pA, "pA", "any"),
    "ampl_exc": (nS, "nS", "nonnegative"),
    "offset_exc": (nS, "nS", "nonnegative"),
    "ampl_inh": (nS, "nS", "nonnegative"),
    "teacher_period_ms": (ms, "ms", "positive"),
}
#: Integer fields: name -> smallest allowed value.
_FIELD_INTS = {"n_inputs": 1, "n_rep_pre": 0, "n_rep_teach": 1, "n_rep_post": 0}


@dataclass(frozen=True)
class Protocol:
    """The learning protocol of NEST's Urbanczik–Senn example.

    Every field with a unit takes a plain number in the unit named below or
    a Brian2 Quantity of that dimension (stored as a plain number in that
    unit). The defaults are NEST's example.

    Parameters
    ----------
    n_inputs : int
        Dendritic input spike trains (200).
    input_rate : float or Quantity
        Rate of each input's Poisson train, Hz (10).
    pattern_ms : float or Quantity
        Length of the frozen pattern, ms (200); a multiple of ``dt_ms`` and
        of ``record_dt_ms``.
    n_rep_pre, n_rep_teach, n_rep_post : int
        Pattern repetitions before (2), with (100, at least 1) and after (2)
        the teacher.
    dt_ms, record_dt_ms : float or Quantity
        Simulation time step (0.1 ms) and recording interval (1 ms, a
        multiple of ``dt_ms``).
    eta : float
        NEST's learning rate (0.17); Brian2 uses :func:`nest_eta_to_ours`.
    tau_Delta : float or Quantity
        Low-pass time constant of the weight change, ms (100).
    w_init, w_min, w_max : float or Quantity
        Initial weight and bounds of the transmitted weight, pA
        (0.3, 0 and 4.5 times C_m: 90, 0, 1350 pA).
    ampl_exc, offset_exc, ampl_inh : float or Quantity
        Teacher: per-step conductance increments, nS: excitatory
        ``ampl_exc sin(2 pi t / teacher_period_ms) + offset_exc`` (4.8, 5.4;
        ``ampl_exc <= offset_exc`` keeps it non-negative) and inhibitory
        ``ampl_inh`` (18).
    teacher_period_ms : float or Quantity
        Period of the teacher's sinusoid, ms (100: two periods per pattern).

    Raises
    ------
    TypeError
        A field has the wrong type (e.g. a float repetition count).
    brian2.DimensionMismatchError
        A Quantity has the wrong dimensions (e.g. ``pattern_ms=200*mV``).
    ValueError
        A value is out of range or the time grid does not fit together.
    """

    n_inputs: int = 200
    input_rate: float = 10.0  # Hz
    pattern_ms: float = 200.0
    n_rep_pre: int = 2  # repetitions before the teacher starts
    n_rep_teach: int = 100
    n_rep_post: int = 2  # repetitions after the teacher stops
    dt_ms: float = 0.1
    record_dt_ms: float = 1.0
    eta: float = 0.17  # NEST's learning rate (converted with nest_eta_to_ours)
    tau_Delta: float = 100.0  # ms
    w_init: float = 0.3 * C_M  # pA
    w_min: float = 0.0  # pA
    w_max: float = 4.5 * C_M  # pA
    ampl_exc: float = 0.016 * C_M  # nS per step
    offset_exc: float = 0.018 * C_M  # nS per step
    ampl_inh: float = 0.06 * C_M  # nS per step
    teacher_period_ms: float = 100.0  # two sine periods per pattern

    def __post_init__(self):
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name in _FIELD_INTS:
                value = check_int(value, f.name, minimum=_FIELD_INTS[f.name])
            else:
                unit, unit_name, lower = _FIELD_UNITS[f.name]
                value = _scalar_in_unit(value, unit, unit_name, f.name, lower)
            object.__setattr__(self, f.name, value)
        if not _is_multiple(self.pattern_ms, self.dt_ms):
            raise ValueError(f"pattern_ms ({self.pattern_ms}) must be a multiple of dt_ms "
                             f"({self.dt_ms})")
        if self.record_dt_ms < self.dt_ms or not _is_multiple(self.record_dt_ms, self.dt_ms):
            raise ValueError(f"record_dt_ms ({self.record_dt_ms}) must be a multiple of dt_ms "
                             f"({self.dt_ms})")
        if not _is_multiple(self.pattern_ms, self.record_dt_ms):
            raise ValueError(f"pattern_ms ({self.pattern_ms}) must be a multiple of record_dt_ms "
                             f"({self.record_dt_ms})")
        if self.pattern_ms / self.record_dt_ms <= _skip_samples(self) + 1:
            raise ValueError(f"pattern_ms ({self.pattern_ms}) is too short: the correlations skip "
                             f"the first {3 * TAU_SYN:g} ms of each repetition")
        if self.input_rate * self.dt_ms * 1e-3 > 1:
            raise ValueError(f"input_rate ({self.input_rate} Hz) must be at most one spike per "
                             f"step (1/dt_ms = {1e3 / self.dt_ms:g} Hz)")
        if self.w_min > self.w_max:
            raise ValueError(f"w_min ({self.w_min} pA) must not exceed w_max ({self.w_max} pA)")
        if self.ampl_exc > self.offset_exc:
            raise ValueError(f"ampl_exc ({self.ampl_exc} nS) must not exceed offset_exc "
                             f"({self.offset_exc} nS): the excitatory increment would turn negative")

    @classmethod
    def fast(cls, **changes):
        """The short protocol of the example's ``--fast`` and of the tests.

        1 + 18 + 1 repetitions (4 s of simulated time); ``changes`` override
        any other field.
        """
        return cls(**{"n_rep_pre": 1, "n_rep_teach": 18, "n_rep_post": 1, **changes})

    @property
    def n_rep(self) -> int:
        """All repetitions of the pattern."""
        return self.n_rep_pre + self.n_rep_teach + self.n_rep_post

    @property
    def duration_ms(self) -> float:
        """Simulated time, ms."""
        return self.n_rep * self.pattern_ms

    @property
    def t_start(self) -> float:
        """Time the teacher starts, ms."""
        return self.n_rep_pre * self.pattern_ms

    @property
    def t_end(self) -> float:
        """Time the teacher stops, ms."""
        return (self.n_rep_pre + self.n_rep_teach) * self.pattern_ms

    @property
    def steps_per_pattern(self) -> int:
        """Time steps of one pattern."""
        return round(self.pattern_ms / self.dt_ms)

    def teacher_increments(self, times_ms):
        """Per-step conductance increments of the teacher at ``times_ms``.

        Parameters
        ----------
        times_ms : array_like or Quantity
            Times in ms (or a time Quantity).

        Returns
        -------
        g_ex, g_in : ndarray
            Excitatory and inhibitory increments in nS (0 outside the teacher
            repetitions).
        """
        t = _in_unit(times_ms, ms, "ms", "times_ms")
        on = (t >= self.t_start) & (t < self.t_end)
        g_ex = np.where(on, self.ampl_exc * np.sin(2 * np.pi * t / self.teacher_period_ms)
                        + self.offset_exc, 0.0)
        g_in = np.where(on, self.ampl_inh, 0.0)
        return g_ex, g_in


def _skip_samples(proto):
    """Samples skipped at the start of each repetition: the conductances rise (10 ms)."""
    return round(3 * TAU_SYN / proto.record_dt_ms) + 1


def nest_eta_to_ours(eta_nest, C_m=C_M, g_L=G_L, tau_L=TAU_L, tau_s=TAU_SYN):
    """Learning rate of ``urbanczik_senn_spiking_synapse`` (pA mV) for NEST's ``eta``.

    NEST's ``urbanczik_synapse`` scales its weight integral by
    ``15 C_m tau_s eta / (g_L (tau_L - tau_s))``; in our ``dw/dt = eta Delta``
    that factor is the learning rate itself.

    Parameters
    ----------
    eta_nest : float
        NEST's (dimensionless) learning rate.
    C_m, g_L, tau_L, tau_s : float or Quantity
        Capacitance (pF), leak conductance (nS), membrane and synaptic time
        constants of the PSP kernel (ms, ``tau_L != tau_s``).

    Returns
    -------
    float
        The learning rate in pA mV.
    """
    eta_nest = _scalar_in_unit(eta_nest, 1.0, "NEST's units (dimensionless)", "eta_nest")
    C_m = _scalar_in_unit(C_m, pF, "pF", "C_m", "positive")
    g_L = _scalar_in_unit(g_L, nS, "nS", "g_L", "positive")
    tau_L = _scalar_in_unit(tau_L, ms, "ms", "tau_L", "positive")
    tau_s = _scalar_in_unit(tau_s, ms, "ms", "tau_s", "positive")
    if tau_L == tau_s:
        raise ValueError(f"tau_L and tau_s must differ, both are {tau_L} ms")
    return 15.0 * C_m * tau_s * eta_nest / (g_L * (tau_L - tau_s))


def frozen_pattern(proto: Protocol, seed=0):
    """The frozen input pattern: (indices, step numbers) of all spikes.

    Poisson spike trains on the time grid (at most one spike per input and
    step), at steps 1 .. steps_per_pattern - 1 so that every spike time lies
    strictly inside the pattern (Brian2's periodic SpikeGeneratorGroup needs
    times < period; NEST's spike generators need times > 0).

    Parameters
    ----------
    proto : Protocol
    seed : int
        Seed of the pattern's random numbers (non-negative).

    Returns
    -------
    idx : ndarray of int32
        Input index of every spike, sorted by time.
    steps : ndarray of int64
        Time step of every spike within the pattern.
    """
    _check_protocol(proto)
    rng = np.random.default_rng(check_seed(seed, allow_none=False))
    n_steps = proto.steps_per_pattern
    p = proto.input_rate * proto.dt_ms * 1e-3
    mask = rng.random((proto.n_inputs, n_steps)) < p
    mask[:, 0] = False
    idx, steps = np.nonzero(mask)
    order = np.argsort(steps, kind="stable")
    return idx[order].astype(np.int32), steps[order].astype(np.int64)


def _check_pattern(proto, pattern, pattern_seed=0):
    """``pattern`` as (idx, steps), drawn with :func:`frozen_pattern` when None."""
    pattern_seed = check_seed(pattern_seed, "pattern_seed", allow_none=False)
    if pattern is None:
        return frozen_pattern(proto, seed=pattern_seed)
    if not isinstance(pattern, (tuple, list)) or len(pattern) != 2:
        raise TypeError("pattern must be a pair (indices, steps) as returned by frozen_pattern, "
                        f"got {type(pattern).__name__}")
    idx, steps = (np.asarray(a) for a in pattern)
    if idx.ndim != 1 or idx.shape != steps.shape:
        raise ValueError(f"pattern: indices and steps must be 1-D of one length, got shapes "
                         f"{idx.shape} and {steps.shape}")
    if not (np.issubdtype(idx.dtype, np.integer) and np.issubdtype(steps.dtype, np.integer)):
        raise TypeError("pattern: indices and steps must be integer arrays")
    if idx.size and (idx.min() < 0 or idx.max() >= proto.n_inputs):
        raise ValueError(f"pattern: indices must lie in [0, {proto.n_inputs})")
    if steps.size and (steps.min() < 1 or steps.max() >= proto.steps_per_pattern):
        raise ValueError(f"pattern: steps must lie in [1, {proto.steps_per_pattern})")
    return idx, steps


def clipped_urbanczik_synapse():
    """``urbanczik_senn_spiking_synapse`` transmitting ``clip(w, W_min, W_max)``.

    Same plasticity (the weight integral itself is not clipped), as in NEST's
    ``urbanczik_synapse`` which clips the weight only when sending a spike.

    Returns
    -------
    SynapseModel
    """
    base = urbanczik_senn_spiking_synapse()
    return SynapseModel(
        base.name + "_clipped",
        base.equations,
        params=list(base.params.values()) + [
            Param("W_min", 0 * pA, "lower bound of the transmitted weight (NEST Wmin)"),
            Param("W_max", 100 * pA, "upper bound of the transmitted weight (NEST Wmax)"),
        ],
        on_pre=base.on_pre.replace("I_dend_post += w", "I_dend_post += clip(w, W_min, W_max)"),
        on_post=base.on_post,
        method=base.method,
        reference=base.reference + " (transmitted weight clipped as in NEST)",
        doc=clipped_urbanczik_synapse.__doc__,
    )


# ------------------------------------------------------------ Brian2 side
def make_build(proto: Protocol, n_neurons: int, pattern):
    """``build()`` for :class:`~brian_dendrites.engine.Simulation`.

    Parameters
    ----------
    proto : Protocol
    n_neurons : int
        Independent neurons, each with its own ``n_inputs`` plastic synapses
        from the shared inputs.
    pattern : tuple (idx, steps)
        The frozen pattern (:func:`frozen_pattern`).

    Returns
    -------
    callable
        ``build() -> dict`` with ``inputs`` (periodic SpikeGeneratorGroup),
        ``nrn`` (the neurons), ``syn`` (the plastic synapses), the teacher's
        ``teach_ex`` / ``teach_in`` TimedArrays and the monitors ``mon_v``
        (``V_star`` of all neurons) and ``mon_g`` (``g_ex``, ``g_in`` of
        neuron 0), recording every ``record_dt_ms``.
    """
    _check_protocol(proto)
    n_neurons = check_int(n_neurons, "n_neurons", minimum=1)
    idx, steps = _check_pattern(proto, pattern)
    total_steps = round(proto.duration_ms / proto.dt_ms)
    t_grid = np.arange(total_steps) * proto.dt_ms
    g_ex, g_in = proto.teacher_increments(t_grid)

    def build():
        inputs = SpikeGeneratorGroup(proto.n_inputs, idx, steps * proto.dt_ms * ms,
                                     period=proto.pattern_ms * ms, name="inputs")
        nrn = urbanczik_senn_neuron().make_group(n_neurons, name="nrn")
        nrn.U = E_L * mV
        nrn.V = E_L * mV
        teach_ex = TimedArray(g_ex * nS, dt=proto.dt_ms * ms, name="teach_ex")
        teach_in = TimedArray(g_in * nS, dt=proto.dt_ms * ms, name="teach_in")
        # like NEST's spike generators: conductance jumps after the state update
        nrn.run_regularly("g_ex += teach_ex(t)\ng_in += teach_in(t)", when="after_groups",
                          name="teacher")
        syn = clipped_urbanczik_synapse().make_synapses(
            inputs, nrn, name="syn", connect={"condition": True},
            eta=nest_eta_to_ours(proto.eta) * pA * mV, tau_Delta=proto.tau_Delta * ms,
            tau_L=TAU_L * ms, tau_s=TAU_SYN * ms,
            W_min=proto.w_min * pA, W_max=proto.w_max * pA,
        )
        syn.w = proto.w_init * pA
        mon_v = StateMonitor(nrn, "V_star", record=True, dt=proto.record_dt_ms * ms,
                             name="mon_v")
        mon_g = StateMonitor(nrn, ["g_ex", "g_in"], record=[0], dt=proto.record_dt_ms * ms,
                             name="mon_g")
        return {"inputs": inputs, "nrn": nrn, "syn": syn, "mon_v": mon_v, "mon_g": mon_g,
                "teach_ex": teach_ex, "teach_in": teach_in}

    return build


def make_simulation(proto: Protocol, n_neurons: int = 1, pattern=None, *, pattern_seed=0, seed=1,
                    cache_dir=None, name=None):
    """Compile (or reuse from the cache) the Brian2 network of the protocol.

    Parameters
    ----------
    proto : Protocol
    n_neurons : int
        Independent neurons (see :func:`make_build`).
    pattern : tuple (idx, steps), optional
        The frozen pattern; drawn with ``frozen_pattern(proto, pattern_seed)``
        when omitted.
    pattern_seed : int
        Seed of the pattern when ``pattern`` is omitted.
    seed : int
        Seed of the neurons' random spikes (compiled in: every run of the
        returned simulation is the same).
    cache_dir : path, optional
        Compiled-project cache (the engine's default when omitted).
    name : str, optional
        Simulation name (default ``urbanczik_<n_neurons>``); the same name,
        protocol and seeds reuse a cached binary.

    Returns
    -------
    Simulation
        A ``cpp_standalone`` simulation of ``proto.duration_ms``; run it with
        ``sim.run(read=RECORDED)`` and pass the result to
        :func:`simulation_outcome`.
    """
    _check_protocol(proto)
    pattern = _check_pattern(proto, pattern, pattern_seed)
    return Simulation(make_build(proto, n_neurons, pattern), proto.duration_ms * ms,
                      target="cpp_standalone", dt=proto.dt_ms * ms, seed=check_seed(seed, allow_none=False),
                      cache_dir=cache_dir, name=name or f"urbanczik_{n_neurons}", dense=False)


def simulation_outcome(proto: Protocol, result):
    """:func:`learning_outcome` of a run of :func:`make_simulation`.

    Parameters
    ----------
    proto : Protocol
        The protocol the simulation was built for.
    result : RunResult
        ``sim.run(read=...)`` including the keys of :data:`RECORDED`.

    Returns
    -------
    dict
        See :func:`learning_outcome`.
    """
    _check_protocol(proto)
    missing = [k for k in RECORDED if k not in result]
    if missing:
        raise ValueError(f"result lacks {missing}: run the simulation with read=RECORDED")
    v_star = result["mon_v.V_star"] / 1e-3  # mV, (n_neurons, n_samples)
    g_ex = result["mon_g.g_ex"][0]
    g_in = result["mon_g.g_in"][0]
    return learning_outcome(proto, v_star, g_ex, g_in)


@dataclass(frozen=True)
class ProtocolRun:
    """One Brian2 run of the protocol (:func:`run_protocol`).

    Attributes
    ----------
    protocol : Protocol
    pattern : tuple (idx, steps)
        The frozen input pattern used.
    simulation : Simulation
        The compiled simulation (``build_time`` in seconds).
    result : RunResult
        What was read (``wall_time``: seconds of the binary's run).
    outcome : dict
        :func:`learning_outcome` of the run.
    """

    protocol: Protocol
    pattern: tuple
    simulation: Simulation
    result: object
    outcome: dict


def run_protocol(proto: Protocol | None = None, n_neurons: int = 1, *, pattern=None,
                 pattern_seed=0, seed=1, cache_dir=None, name=None, read=()):
    """Build, run once and measure the protocol in Brian2.

    Parameters
    ----------
    proto : Protocol, optional
        Default: the full protocol, ``Protocol()``.
    n_neurons, pattern, pattern_seed, seed, cache_dir, name
        As for :func:`make_simulation`.
    read : sequence of str
        Variables to read besides :data:`RECORDED` (e.g. ``["syn.w"]``).

    Returns
    -------
    ProtocolRun
    """
    proto = Protocol() if proto is None else _check_protocol(proto)
    read = () if read is None else read
    if isinstance(read, str) or not all(isinstance(k, str) for k in read):
        raise TypeError(f"read must be a sequence of variable names, got {read!r}")
    pattern = _check_pattern(proto, pattern, pattern_seed)
    sim = make_simulation(proto, n_neurons, pattern, seed=seed, cache_dir=cache_dir, name=name)
    result = sim.run(read=list(RECORDED) + [k for k in read if k not in RECORDED])
    return ProtocolRun(proto, pattern, sim, result, simulation_outcome(proto, result))


# ---------------------------------------------------------------- analysis
def matching_potential(g_ex, g_in):
    """Somatic potential imposed by the teacher conductances alone (mV).

    ``U_M = (g_ex E_ex + g_in E_in) / (g_ex + g_in)``, NaN where both are 0.

    Parameters
    ----------
    g_ex, g_in : array_like or Quantity
        Excitatory and inhibitory conductances, both in one unit (or
        conductance Quantities).

    Returns
    -------
    ndarray
        ``U_M`` in mV.
    """
    g_ex = _in_unit(g_ex, nS, "nS", "g_ex")
    g_in = _in_unit(g_in, nS, "nS", "g_in")
    if g_ex.shape != g_in.shape:
        raise ValueError(f"g_ex and g_in must have one shape, got {g_ex.shape} and {g_in.shape}")
    tot = g_ex + g_in
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(tot > 0, (g_ex * E_EX + g_in * E_IN) / np.where(tot > 0, tot, 1), np.nan)


def _corr_rows(a, b):
    a = a - a.mean(axis=-1, keepdims=True)
    b = b - b.mean(axis=-1, keepdims=True)
    return (a * b).sum(-1) / np.sqrt((a * a).sum(-1) * (b * b).sum(-1))


def learning_outcome(proto: Protocol, v_star, g_ex, g_in):
    """Correlation of V* with U_M per teacher repetition (mean over neurons).

    All traces are sampled every ``record_dt_ms`` from t = 0 (or from
    ``record_dt_ms``, as NEST's multimeter: a shift by one sample does not
    matter; samples missing at the end, less than 10 ms, are padded with the
    last one). The first 10 ms of each repetition are skipped (the
    conductances rise).

    Parameters
    ----------
    proto : Protocol
    v_star : array_like or Quantity, shape (n_neurons, n_samples) or (n_samples,)
        Dendritic prediction V* in mV.
    g_ex, g_in : array_like or Quantity, shape (n_samples,)
        Somatic conductances of one neuron (one unit for both).

    Returns
    -------
    dict
        ``per_rep`` (correlation at each teacher repetition), ``early``,
        ``late``, ``recall`` (first repetition after the teacher, against U_M
        of the last teacher repetition; NaN without a post-teacher
        repetition), ``v_star`` (neuron 0, shape (n_rep, samples per
        repetition), mV) and ``u_m`` (U_M, same shape, mV).
    """
    _check_protocol(proto)
    spp = round(proto.pattern_ms / proto.record_dt_ms)
    n_tot = proto.n_rep * spp
    v_star = np.atleast_2d(_in_unit(v_star, mV, "mV", "v_star"))
    g_ex = _in_unit(g_ex, nS, "nS", "g_ex")
    g_in = _in_unit(g_in, nS, "nS", "g_in")
    if v_star.ndim != 2:
        raise ValueError(f"v_star must be 1-D or 2-D (neurons, samples), got shape {v_star.shape}")
    if g_ex.shape != (v_star.shape[1],) or g_in.shape != (v_star.shape[1],):
        raise ValueError(f"g_ex and g_in must be 1-D with v_star's {v_star.shape[1]} samples, "
                         f"got shapes {g_ex.shape} and {g_in.shape}")
    if v_star.shape[1] <= n_tot - _skip_samples(proto):
        raise ValueError(f"the traces have {v_star.shape[1]} samples, the protocol needs {n_tot} "
                         f"({proto.n_rep} x {spp}, every {proto.record_dt_ms} ms)")
    if v_star.shape[1] < n_tot:  # NEST's multimeter has no sample at t = 0
        pad = n_tot - v_star.shape[1]
        v_star = np.pad(v_star, ((0, 0), (0, pad)), mode="edge")
        g_ex = np.pad(g_ex, (0, pad), mode="edge")
        g_in = np.pad(g_in, (0, pad), mode="edge")
    v_star = v_star[:, :n_tot]
    reps_v = v_star.reshape(v_star.shape[0], proto.n_rep, spp)
    u_m = matching_potential(g_ex, g_in)[:n_tot].reshape(proto.n_rep, spp)
    teach = np.arange(proto.n_rep_pre, proto.n_rep_pre + proto.n_rep_teach)
    skip = _skip_samples(proto)
    per_rep = np.array([
        _corr_rows(reps_v[:, r, skip:], u_m[r, skip:][None, :]).mean() for r in teach
    ])
    recall = np.nan
    if proto.n_rep_post > 0:
        r = proto.n_rep_pre + proto.n_rep_teach
        recall = _corr_rows(reps_v[:, r, skip:], u_m[teach[-1], skip:][None, :]).mean()
    return {"per_rep": per_rep, "early": per_rep[0], "late": per_rep[-1], "recall": recall,
            "v_star": reps_v[0], "u_m": u_m}


# -------------------------------------------------------------------- NEST
def nest_available():
    """None if NEST can be imported, else why not (a message).

    Returns
    -------
    str or None
    """
    try:
        import nest  # noqa: F401
    except Exception as exc:  # noqa: BLE001 (ImportError, or a broken installation)
        return str(exc) or type(exc).__name__
    return None


def _import_nest():
    try:
        import nest
    except ImportError as exc:
        raise ImportError(f"the NEST side of the Urbanczik–Senn protocol needs NEST ({exc}); "
                          f"{_NEST_HINT}") from exc
    return nest


@dataclass
class NestNetwork:
    """The protocol built in NEST's kernel (:func:`build_nest`).

    Attributes
    ----------
    protocol : Protocol
    neurons, multimeter, generators : NodeCollection
        The ``pp_cond_exp_mc_urbanczik`` neurons, their multimeter and the
        input spike generators.
    input_times : list of ndarray
        Spike times (ms) of each input within one pattern.
    per_repetition : bool
        Whether :func:`simulate_nest` sets the spike times per repetition.
    """

    protocol: Protocol
    neurons: object
    multimeter: object
    generators: object
    input_times: list
    per_repetition: bool


def build_nest(proto: Protocol, n_neurons: int = 1, pattern=None, *, pattern_seed=0, seed=1,
               per_repetition=False):
    """Reset NEST's kernel and build the protocol in it (one thread).

    200 spike generators -> 200 parrot neurons -> all-to-all
    ``urbanczik_synapse`` onto ``n_neurons`` ``pp_cond_exp_mc_urbanczik``
    neurons; the teacher is a spike generator firing every step with
    time-varying weights (as NEST's example); a multimeter records ``V_m.p``,
    ``g_ex.s`` and ``g_in.s`` every ``record_dt_ms``.

    Parameters
    ----------
    proto : Protocol
    n_neurons : int
    pattern : tuple (idx, steps), optional
        The frozen pattern (default: ``frozen_pattern(proto, pattern_seed)``).
    pattern_seed : int
        Seed of the pattern when ``pattern`` is omitted.
    seed : int
        NEST's kernel seed is ``seed + 1``.
    per_repetition : bool
        False: the spike generators get the spike times of all repetitions
        now and :func:`simulate_nest` calls ``nest.Simulate`` once. True: the
        loop of NEST's example, spike times set anew before each repetition
        and ``nest.Simulate`` called once per repetition.

    Returns
    -------
    NestNetwork

    Raises
    ------
    ImportError
        NEST is not installed (it is optional).
    """
    _check_protocol(proto)
    n_neurons = check_int(n_neurons, "n_neurons", minimum=1)
    pattern = _check_pattern(proto, pattern, pattern_seed)
    seed = check_seed(seed, allow_none=False)
    nest = _import_nest()

    if hasattr(nest, "VerbosityLevel"):
        nest.verbosity = nest.VerbosityLevel.ERROR
    else:
        nest.set_verbosity("M_ERROR")
    nest.ResetKernel()
    nest.SetKernelStatus({"resolution": proto.dt_ms, "local_num_threads": 1,
                          "rng_seed": seed + 1, "print_time": False})
    nrn_params = {
        "t_ref": 3.0, "g_sp": G_D,
        "soma": {"V_m": E_L, "C_m": C_M, "E_L": E_L, "g_L": G_L, "E_ex": E_EX, "E_in": E_IN,
                 "tau_syn_ex": TAU_SYN, "tau_syn_in": TAU_SYN},
        "dendritic": {"V_m": E_L, "C_m": C_M, "E_L": E_L, "g_L": G_L,
                      "tau_syn_ex": TAU_SYN, "tau_syn_in": TAU_SYN},
        "phi_max": 0.15, "rate_slope": 0.5, "beta": 1.0 / 3.0, "theta": -55.0,
    }
    model = "pp_cond_exp_mc_urbanczik"
    receptors = nest.GetDefaults(model)["receptor_types"]
    nrn = nest.Create(model, n_neurons, params=nrn_params)

    # frozen pattern, repeated: all repetitions given to the generators at once
    idx, steps = pattern
    offsets = np.arange(proto.n_rep) * proto.pattern_ms
    gens = nest.Create("spike_generator", proto.n_inputs)
    t_in = [np.round(steps[idx == i] * proto.dt_ms, 1) for i in range(proto.n_inputs)]
    if not per_repetition:
        for i, t_i in enumerate(t_in):
            times = (t_i[None, :] + offsets[:, None]).ravel()
            gens[i].set({"spike_times": np.round(times, 1)})
    parrots = nest.Create("parrot_neuron", proto.n_inputs)
    nest.Connect(gens, parrots, "one_to_one")
    nest.Connect(parrots, nrn, "all_to_all", syn_spec={
        "synapse_model": "urbanczik_synapse", "receptor_type": receptors["dendritic_exc"],
        "tau_Delta": proto.tau_Delta, "eta": proto.eta, "weight": proto.w_init,
        "Wmin": proto.w_min, "Wmax": proto.w_max, "delay": proto.dt_ms})

    # teacher: one spike per step with time-varying weight (as NEST's example)
    t_teach = np.round(np.arange(round(proto.t_start / proto.dt_ms),
                                 round(proto.t_end / proto.dt_ms)) * proto.dt_ms, 1)
    t_teach = t_teach[t_teach > 0]
    w_ex, w_in = proto.teacher_increments(t_teach)
    sg_ex = nest.Create("spike_generator", params={"spike_times": t_teach, "spike_weights": w_ex})
    sg_in = nest.Create("spike_generator", params={"spike_times": t_teach, "spike_weights": w_in})
    nest.Connect(sg_ex, nrn, syn_spec={"receptor_type": receptors["soma_exc"], "weight": 1.0,
                                       "delay": proto.dt_ms})
    nest.Connect(sg_in, nrn, syn_spec={"receptor_type": receptors["soma_inh"], "weight": 1.0,
                                       "delay": proto.dt_ms})
    mm = nest.Create("multimeter", params={"record_from": ["V_m.p", "g_ex.s", "g_in.s"],
                                           "interval": proto.record_dt_ms})
    nest.Connect(mm, nrn)
    return NestNetwork(proto, nrn, mm, gens, t_in, bool(per_repetition))


def simulate_nest(net: NestNetwork):
    """Run the whole protocol in NEST (``nest.Simulate``) on a :func:`build_nest` network."""
    if not isinstance(net, NestNetwork):
        raise TypeError(f"net must be a NestNetwork (from build_nest), got {type(net).__name__}")
    nest = _import_nest()
    proto = net.protocol
    if net.per_repetition:
        for r in range(proto.n_rep):
            for gen, t_i in zip(net.generators, net.input_times):
                gen.spike_times = np.round(t_i + r * proto.pattern_ms, 1)
            nest.Simulate(proto.pattern_ms)
    else:
        nest.Simulate(proto.duration_ms)


def nest_outcome(net: NestNetwork):
    """:func:`learning_outcome` of a simulated :func:`build_nest` network.

    V* is computed from NEST's dendritic potential ``V_m.p`` as
    ``(g_L E_L + g_D V)/(g_L + g_D)``.
    """
    if not isinstance(net, NestNetwork):
        raise TypeError(f"net must be a NestNetwork (from build_nest), got {type(net).__name__}")
    ev = net.multimeter.events
    senders = np.asarray(ev["senders"])
    times = np.asarray(ev["times"])
    v_rows, g_ex, g_in = [], None, None
    for k, gid in enumerate(net.neurons.tolist()):
        sel = senders == gid
        o = np.argsort(times[sel], kind="stable")
        v_rows.append(np.asarray(ev["V_m.p"])[sel][o])
        if k == 0:
            g_ex = np.asarray(ev["g_ex.s"])[sel][o]
            g_in = np.asarray(ev["g_in.s"])[sel][o]
    v_star = (G_L * E_L + G_D * np.array(v_rows)) / (G_L + G_D)
    return learning_outcome(net.protocol, v_star, g_ex, g_in)


def run_nest(proto: Protocol, n_neurons: int = 1, pattern=None, *, pattern_seed=0, seed=1,
             per_repetition=False):
    """Build, simulate and measure the protocol in NEST.

    Parameters are those of :func:`build_nest`.

    Returns
    -------
    dict
        See :func:`learning_outcome`.

    Raises
    ------
    ImportError
        NEST is not installed (it is optional).
    """
    net = build_nest(proto, n_neurons, pattern, pattern_seed=pattern_seed, seed=seed,
                     per_repetition=per_repetition)
    simulate_nest(net)
    return nest_outcome(net)
