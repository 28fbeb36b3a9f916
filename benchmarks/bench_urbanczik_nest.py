"""Benchmark 3: spiking Urbanczik–Senn learning, our compiled Brian2 model vs NEST.

The protocol is the one of NEST's example ``urbanczik_synapse_example.py``
(Urbanczik & Senn 2014, Fig. 1B), run with the same inputs on both sides in
the same script:

- one two-compartment neuron (``pp_cond_exp_mc_urbanczik`` defaults:
  g_D 600 nS, g_L 30 nS, C_m 300 pF, E_L -70 mV, tau_syn 3 ms, t_ref 3 ms);
- 200 dendritic inputs: a 200 ms pattern of 10 Hz Poisson spike trains,
  drawn once on the 0.1 ms grid (frozen) and repeated 104 times
  (20.8 s of simulated time at dt = 0.1 ms);
- the teacher: during repetitions 3..102 (2 repetitions before, 2 after
  without teacher) the somatic excitatory and inhibitory conductances
  receive, every time step, an increment ``a_E sin(2 pi t / 100 ms) + b_E``
  (a_E = 4.8 nS, b_E = 5.4 nS) and ``a_I`` = 18 nS. Like NEST's example
  (a spike generator firing every step with time-varying spike weights),
  this is a *deterministic* conductance drive, not Poisson: here it is a
  ``run_regularly`` operation reading two ``TimedArray``s;
- plasticity: the Urbanczik–Senn rule with PSP traces and low-pass filtered
  weight change (tau_Delta 100 ms), NEST's example values: learning rate
  eta = 0.17, initial weights 0.3 C_m = 90 pA, transmitted weight clipped
  to [0, 4.5 C_m] = [0, 1350] pA.

Learning outcome: for each 200 ms repetition, the Pearson correlation of the
dendritic prediction ``V* = (g_L E_L + g_D V)/(g_L + g_D)`` with the
teacher-imposed ("matching") somatic potential
``U_M = (g_ex E_ex + g_in E_in)/(g_ex + g_in)`` (both recorded every 1 ms),
at the first ("early") and last ("late") teacher repetition, and in the
first repetition after the teacher is switched off ("recall", V* against
U_M of the last teacher repetition). Values are means over neurons.

Scaling: 1, 10 and 100 independent neurons. The 200 input spike trains are
shared (one source per input), every neuron has its own 200 plastic
synapses (N x 200 synapses) and its own random spikes; on the NEST side the
same: 200 spike generators -> 200 parrot neurons -> all-to-all
``urbanczik_synapse`` onto N neurons.

Mapping onto NEST's synapse: NEST integrates, at every presynaptic spike,
``w = w0 + c * integral (1 - exp(-(t-s)/tau_Delta)) PI(s) ds`` with
``PI = (S - phi(V*)) h(V*) PSP`` and
``c = 15 C_m tau_s eta / (g_L (tau_L - tau_s))``. That integral equals
``w0 + c * integral Delta dt`` with ``tau_Delta dDelta/dt = -Delta + PI``,
i.e. our ``dw/dt = eta_ours * Delta`` with
``eta_ours = c`` in pA mV (10.93 pA mV for NEST's eta = 0.17; see
:func:`nest_eta_to_ours`). NEST clips only the *transmitted* weight to
[Wmin, Wmax] (the integral itself is not clipped); we do the same in
``on_pre`` (``I_dend += clip(w, W_min, W_max)``).

Remaining differences: our spike probability per step is ``phi(U) dt``
(NEST: ``1 - exp(-phi(U) dt)``, at most 1.5 % apart here); our neuron is
integrated with forward Euler at 0.1 ms (NEST: adaptive RKF45 in GSL);
NEST delivers inputs with a 0.1 ms delay through parrot neurons (a
constant shift of 0.2 ms); random spike trains of the neurons differ.

Timing: ours is the run of the compiled cpp_standalone binary
(``RunResult.wall_time``, single thread; compilation reported separately),
NEST is ``nest.Simulate`` with one thread (network construction reported
separately). Both record the same state at 1 ms. Wall and CPU seconds are
printed (CPU seconds of the binary / of ``nest.Simulate``: more robust on a
loaded machine). Minimum over ``--repeats`` runs (default 1: the machine is
shared).

Run::

    python benchmarks/bench_urbanczik_nest.py [--quick] [--no-nest] [--repeats R]
        [--neurons 1 10 100] [--nest-max-neurons N] [--nest-per-repetition]

Why NEST is slow here: ``urbanczik_synapse`` looks up the postsynaptic
history (one entry per time step) by a linear scan from its oldest entry,
and an entry is only pruned once *every* incoming Urbanczik synapse has read
it. With a frozen pattern about e^-2 = 14 % of the inputs never spike, so
nothing is ever pruned: every presynaptic spike scans a history that grows
with simulated time (quadratic cost in the duration), and with more neurons
the histories no longer fit in cache. By default NEST is therefore run only
up to 10 neurons (``--nest-max-neurons``).

NEST is optional (``pip install nest-simulator``; 3.10 tested, it coexists
with numpy 2.3); without it the NEST columns are skipped with a message.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import tempfile
import time
from dataclasses import dataclass

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import numpy as np  # noqa: E402
from brian2 import (  # noqa: E402
    SpikeGeneratorGroup,
    StateMonitor,
    TimedArray,
    mV,
    ms,
    nS,
    pA,
)

from brian_dendrites.engine import Simulation  # noqa: E402
from brian_dendrites.models.plasticity import urbanczik_senn_spiking_synapse  # noqa: E402
from brian_dendrites.models.urbanczik_senn import urbanczik_senn_neuron  # noqa: E402
from brian_dendrites.spec import Param, SynapseModel  # noqa: E402

# neuron constants of the protocol (NEST pp_cond_exp_mc_urbanczik, example values)
C_M = 300.0  # pF
G_L = 30.0  # nS
G_D = 600.0  # nS
E_L = -70.0  # mV
E_EX = 0.0  # mV
E_IN = -75.0  # mV
TAU_SYN = 3.0  # ms
TAU_L = C_M / G_L  # ms, membrane time constant of the dendrite (PSP kernel)


@dataclass(frozen=True)
class Protocol:
    """The learning protocol of NEST's Urbanczik–Senn example (times in ms)."""

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

    @property
    def n_rep(self) -> int:
        return self.n_rep_pre + self.n_rep_teach + self.n_rep_post

    @property
    def duration_ms(self) -> float:
        return self.n_rep * self.pattern_ms

    @property
    def t_start(self) -> float:
        return self.n_rep_pre * self.pattern_ms

    @property
    def t_end(self) -> float:
        return (self.n_rep_pre + self.n_rep_teach) * self.pattern_ms

    @property
    def steps_per_pattern(self) -> int:
        return int(round(self.pattern_ms / self.dt_ms))

    def teacher_increments(self, times_ms):
        """Per-step conductance increments (nS) of the teacher at ``times_ms``."""
        t = np.asarray(times_ms, dtype=float)
        on = (t >= self.t_start) & (t < self.t_end)
        g_ex = np.where(on, self.ampl_exc * np.sin(2 * np.pi * t / self.teacher_period_ms)
                        + self.offset_exc, 0.0)
        g_in = np.where(on, self.ampl_inh, 0.0)
        return g_ex, g_in


def nest_eta_to_ours(eta_nest, C_m=C_M, g_L=G_L, tau_L=TAU_L, tau_s=TAU_SYN):
    """Learning rate of ``urbanczik_senn_spiking_synapse`` (pA mV) for NEST's ``eta``.

    NEST's ``urbanczik_synapse`` scales its weight integral by
    ``15 C_m tau_s eta / (g_L (tau_L - tau_s))`` (pF, ms, nS); in our
    ``dw/dt = eta Delta`` that factor is the learning rate itself.
    """
    return 15.0 * C_m * tau_s * eta_nest / (g_L * (tau_L - tau_s))


def frozen_pattern(proto: Protocol, seed=0):
    """The frozen input pattern: (indices, step numbers) of all spikes.

    Poisson spike trains on the time grid (at most one spike per input and
    step), at steps 1 .. steps_per_pattern - 1 so that every spike time lies
    strictly inside the pattern (Brian2's periodic SpikeGeneratorGroup needs
    times < period; NEST's spike generators need times > 0).
    """
    rng = np.random.default_rng(seed)
    n_steps = proto.steps_per_pattern
    p = proto.input_rate * proto.dt_ms * 1e-3
    mask = rng.random((proto.n_inputs, n_steps)) < p
    mask[:, 0] = False
    idx, steps = np.nonzero(mask)
    order = np.argsort(steps, kind="stable")
    return idx[order].astype(np.int32), steps[order].astype(np.int64)


def clipped_urbanczik_synapse():
    """``urbanczik_senn_spiking_synapse`` transmitting ``clip(w, W_min, W_max)``.

    Same plasticity (the weight integral itself is not clipped), as in NEST's
    ``urbanczik_synapse`` which clips the weight only when sending a spike.
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


# --------------------------------------------------------------------- ours
def make_build(proto: Protocol, n_neurons: int, pattern):
    """``build()`` for :class:`Simulation`: inputs, neurons, teacher, synapses, monitors."""
    idx, steps = pattern
    total_steps = int(round(proto.duration_ms / proto.dt_ms))
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


def ours_simulation(proto: Protocol, n_neurons: int, pattern, seed=1, cache_dir=None,
                    name=None):
    """Compile (or reuse) our network for the protocol; returns the Simulation."""
    return Simulation(make_build(proto, n_neurons, pattern), proto.duration_ms * ms,
                      target="cpp_standalone", dt=proto.dt_ms * ms, seed=seed,
                      cache_dir=cache_dir, name=name or f"urbanczik_{n_neurons}", dense=False)


def ours_outcome(proto: Protocol, result):
    """Correlations per repetition from a run of :func:`ours_simulation`."""
    v_star = result["mon_v.V_star"] / 1e-3  # mV, (n_neurons, n_samples)
    g_ex = result["mon_g.g_ex"][0]
    g_in = result["mon_g.g_in"][0]
    return learning_outcome(proto, v_star, g_ex, g_in)


# --------------------------------------------------------------- analysis
def matching_potential(g_ex, g_in):
    """Somatic potential imposed by the teacher conductances alone (mV)."""
    g_ex = np.asarray(g_ex, float)
    g_in = np.asarray(g_in, float)
    tot = g_ex + g_in
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(tot > 0, (g_ex * E_EX + g_in * E_IN) / np.where(tot > 0, tot, 1), np.nan)


def _corr_rows(a, b):
    a = a - a.mean(axis=-1, keepdims=True)
    b = b - b.mean(axis=-1, keepdims=True)
    return (a * b).sum(-1) / np.sqrt((a * a).sum(-1) * (b * b).sum(-1))


def learning_outcome(proto: Protocol, v_star, g_ex, g_in):
    """Correlation of V* with U_M per teacher repetition (mean over neurons).

    ``v_star``: (n_neurons, n_samples) in mV, ``g_ex``/``g_in``: (n_samples,)
    of one neuron, all sampled every ``record_dt_ms`` from t = 0 (or from
    ``record_dt_ms``: a shift by one sample does not matter). Returns a dict
    with ``per_rep`` (correlation at each teacher repetition), ``early``,
    ``late`` and ``recall`` (first repetition after the teacher, against U_M
    of the last teacher repetition; NaN without a post-teacher repetition).
    """
    spp = int(round(proto.pattern_ms / proto.record_dt_ms))
    n_tot = proto.n_rep * spp
    v_star = np.atleast_2d(v_star)
    if v_star.shape[1] < n_tot:  # NEST's multimeter has no sample at t = 0
        pad = n_tot - v_star.shape[1]
        v_star = np.pad(v_star, ((0, 0), (0, pad)), mode="edge")
        g_ex = np.pad(g_ex, (0, pad), mode="edge")
        g_in = np.pad(g_in, (0, pad), mode="edge")
    v_star = v_star[:, :n_tot]
    reps_v = v_star.reshape(v_star.shape[0], proto.n_rep, spp)
    u_m = matching_potential(g_ex, g_in)[: proto.n_rep * spp].reshape(proto.n_rep, spp)
    teach = np.arange(proto.n_rep_pre, proto.n_rep_pre + proto.n_rep_teach)
    # skip the first 10 ms of the first teacher repetition: the conductances rise
    skip = int(round(3 * TAU_SYN / proto.record_dt_ms)) + 1
    per_rep = np.array([
        _corr_rows(reps_v[:, r, skip:], u_m[r, skip:][None, :]).mean() for r in teach
    ])
    recall = np.nan
    if proto.n_rep_post > 0:
        r = proto.n_rep_pre + proto.n_rep_teach
        recall = _corr_rows(reps_v[:, r, skip:], u_m[teach[-1], skip:][None, :]).mean()
    return {"per_rep": per_rep, "early": per_rep[0], "late": per_rep[-1], "recall": recall,
            "v_star": reps_v[0], "u_m": u_m}


# --------------------------------------------------------------------- NEST
def nest_available():
    try:
        import nest  # noqa: F401
    except Exception as exc:  # ImportError, or a broken installation
        return str(exc) or type(exc).__name__
    return None


def run_nest(proto: Protocol, n_neurons: int, pattern, seed=1, per_repetition=False):
    """Run the protocol in NEST; returns (build s, simulate s, simulate CPU s, outcome).

    By default the spike generators get the spike times of all repetitions
    up front and one ``nest.Simulate`` call runs everything. With
    ``per_repetition=True`` the loop of NEST's example is used instead: the
    pattern's spike times are set anew before each repetition and
    ``nest.Simulate`` is called once per repetition (the simulate time then
    includes that Python loop).
    """
    import nest

    if hasattr(nest, "VerbosityLevel"):
        nest.verbosity = nest.VerbosityLevel.ERROR
    else:
        nest.set_verbosity("M_ERROR")
    nest.ResetKernel()
    t0 = time.perf_counter()
    nest.SetKernelStatus({"resolution": proto.dt_ms, "local_num_threads": 1,
                          "rng_seed": int(seed) + 1, "print_time": False})
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
    t_teach = np.round(np.arange(int(round(proto.t_start / proto.dt_ms)),
                                 int(round(proto.t_end / proto.dt_ms))) * proto.dt_ms, 1)
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
    build_s = time.perf_counter() - t0

    t0 = time.perf_counter()
    c0 = time.process_time()
    if per_repetition:
        for r in range(proto.n_rep):
            for gen, t_i in zip(gens, t_in):
                gen.spike_times = np.round(t_i + r * proto.pattern_ms, 1)
            nest.Simulate(proto.pattern_ms)
    else:
        nest.Simulate(proto.duration_ms)
    sim_s = time.perf_counter() - t0
    cpu_s = time.process_time() - c0

    ev = mm.events
    senders = np.asarray(ev["senders"])
    times = np.asarray(ev["times"])
    ids = nrn.tolist()
    v_rows, g_ex, g_in = [], None, None
    for k, gid in enumerate(ids):
        sel = senders == gid
        o = np.argsort(times[sel], kind="stable")
        v_rows.append(np.asarray(ev["V_m.p"])[sel][o])
        if k == 0:
            g_ex = np.asarray(ev["g_ex.s"])[sel][o]
            g_in = np.asarray(ev["g_in.s"])[sel][o]
    v_star = (G_L * E_L + G_D * np.array(v_rows)) / (G_L + G_D)
    return build_s, sim_s, cpu_s, learning_outcome(proto, v_star, g_ex, g_in)


# --------------------------------------------------------------------- main
def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true",
                    help="1 and 10 neurons only, 30 repetitions (26 with teacher)")
    ap.add_argument("--no-nest", action="store_true", help="skip NEST")
    ap.add_argument("--nest-per-repetition", action="store_true",
                    help="NEST: set spike times and call Simulate once per repetition, as"
                         " NEST's example does (default: all spike times up front, one Simulate)")
    ap.add_argument("--nest-max-neurons", type=int, default=10,
                    help="run NEST only up to this many neurons (default 10: NEST's time grows"
                         " superlinearly, 100 neurons would take hours on a shared machine)")
    ap.add_argument("--repeats", type=int, default=1, help="runs per timing (minimum taken)")
    ap.add_argument("--neurons", type=int, nargs="*", default=None,
                    help="neuron counts (default 1 10 100; --quick: 1 10)")
    ap.add_argument("--cache-dir", default=None, help="compiled-project cache (default: temporary)")
    args = ap.parse_args(argv)

    proto = Protocol(n_rep_teach=26) if args.quick else Protocol()
    counts = args.neurons or ([1, 10] if args.quick else [1, 10, 100])
    pattern = frozen_pattern(proto, seed=0)
    nest_msg = "--no-nest given" if args.no_nest else nest_available()
    if nest_msg is not None:
        print(f"NEST columns skipped ({nest_msg}); NEST is optional: `pip install nest-simulator`.")
    print(f"protocol: {proto.n_rep} x {proto.pattern_ms:g} ms ({proto.n_rep_teach} with teacher),"
          f" dt {proto.dt_ms} ms, {proto.n_inputs} inputs ({len(pattern[0])} spikes/pattern),"
          f" eta {proto.eta} (ours {nest_eta_to_ours(proto.eta):.3f} pA mV)")
    print(f"load average before: {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} "
          f"{os.getloadavg()[2]:.2f}")

    cache = args.cache_dir or tempfile.mkdtemp(prefix="bench_urbanczik_")
    try:
        rows = _run_all(args, proto, counts, pattern, nest_msg, cache)
    finally:
        if args.cache_dir is None:
            shutil.rmtree(cache, ignore_errors=True)
    return rows


def _run_all(args, proto, counts, pattern, nest_msg, cache):
    rows = []
    for n in counts:
        t0 = time.perf_counter()
        sim = ours_simulation(proto, n, pattern, cache_dir=cache)
        build_s = time.perf_counter() - t0
        run_s, cpu_s, res = np.inf, np.inf, None
        for _ in range(max(1, args.repeats)):
            r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
            res = sim.run(read=["mon_v.V_star", "mon_g.g_ex", "mon_g.g_in"])
            r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
            run_s = min(run_s, res.wall_time)
            cpu_s = min(cpu_s, (r1.ru_utime + r1.ru_stime) - (r0.ru_utime + r0.ru_stime))
        ours = ours_outcome(proto, res)
        row = {"n": n, "ours_build": build_s, "ours_run": run_s, "ours_cpu": cpu_s, "ours": ours,
               "load": os.getloadavg()[0]}
        if nest_msg is None and n > args.nest_max_neurons:
            print(f"NEST not run for {n} neurons (> --nest-max-neurons {args.nest_max_neurons})")
        elif nest_msg is None:
            best, best_cpu = np.inf, np.inf
            for _ in range(max(1, args.repeats)):
                nb, ns, nc, nout = run_nest(proto, n, pattern,
                                            per_repetition=args.nest_per_repetition)
                best, best_cpu = min(best, ns), min(best_cpu, nc)
            row.update(nest_build=nb, nest_run=best, nest_cpu=best_cpu, nest=nout)
            row["load"] = os.getloadavg()[0]
        rows.append(row)
        _print_row(row, header=(len(rows) == 1))
    print(f"load average after: {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} "
          f"{os.getloadavg()[2]:.2f}")
    if len(rows) > 1:
        base = rows[0]
        for r in rows[1:]:
            msg = (f"growth {base['n']} -> {r['n']} neurons: ours x{r['ours_run'] / base['ours_run']:.1f}"
                   f" (cpu x{r['ours_cpu'] / base['ours_cpu']:.1f})")
            if "nest_run" in r and "nest_run" in base:
                msg += (f", NEST x{r['nest_run'] / base['nest_run']:.1f}"
                        f" (cpu x{r['nest_cpu'] / base['nest_cpu']:.1f})")
            print(msg)
    return rows


def _print_row(r, header=False):
    if header:
        print("times: build = compile (ours) / network construction (NEST); run = wall"
              " seconds of the simulation (cpu = its CPU seconds); ratio = ours/NEST")
        print(f"{'n':>4} {'build':>7} {'run':>7} {'cpu':>7} | {'NEST bld':>8} {'run':>7} {'cpu':>7} "
              f"| {'ratio':>6} {'cpu':>6} | {'ours early/late/recall':>22} |"
              f" {'NEST early/late/recall':>22} | load")
    o = r["ours"]
    line = f"{r['n']:>4} {r['ours_build']:>6.1f}s {r['ours_run']:>6.2f}s {r['ours_cpu']:>6.2f}s | "
    corr_o = f"{o['early']:>6.2f} {o['late']:>7.2f} {o['recall']:>7.2f}"
    if "nest_run" in r:
        n = r["nest"]
        line += (f"{r['nest_build']:>7.1f}s {r['nest_run']:>6.2f}s {r['nest_cpu']:>6.2f}s | "
                 f"{r['ours_run'] / r['nest_run']:>6.3f} {r['ours_cpu'] / r['nest_cpu']:>6.3f} | "
                 f"{corr_o} | {n['early']:>6.2f} {n['late']:>7.2f} {n['recall']:>7.2f}")
    else:
        line += f"{'-':>8} {'-':>7} {'-':>7} | {'-':>6} {'-':>6} | {corr_o} | {'-':>22}"
    print(line + f" | {r['load']:.1f}", flush=True)


if __name__ == "__main__":
    main()
