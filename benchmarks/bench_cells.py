"""Benchmark 8: 1000 five-compartment cells, ours vs Dendrify vs NEURON (issue 20).

The cells (the same in all three simulators): soma 25 x 25 um; two basal
dendrites 150 x 1 um; an apical trunk 250 x 2.5 um and a tuft 200 x 1 um on
the trunk; cm 1 uF/cm2, g_L 40 uS/cm2, E_L -70 mV, Ra 150 ohm cm, one
compartment per section, couplings between compartment centres
(half cylinders). Every compartment is passive (leak only, no spikes). Each
dendrite has one AMPA receptor (conductance, rise 0.2 ms, decay 2 ms,
E = 0 mV, difference of exponentials normalised so that one event peaks at
its weight, 0.5 nS). Input: 100 Poisson sources at 10 Hz; every dendrite of
every cell receives each source with probability 0.1 (four independent
connectivity draws, about 10 synapses per dendrite, 40 000 in all). 1 s of
biological time at dt = 0.1 ms.

What each side runs
-------------------
- **ours**: :func:`brian_dendrites.cells.Cell` (one ``NeuronGroup`` of N
  cells, forward Euler, the cell's default), :meth:`Cell.synapse_model` per
  dendrite, compiled once by :class:`brian_dendrites.engine.Simulation` on
  ``cpp_standalone``. Parameter changes are run values (no rebuild).
- **Dendrify** 2.2 (``pip install dendrify``): ``Soma``/``Dendrite`` with
  ``model='passive'``, ``synapse('AMPA', t_rise, t_decay, scale_g=True)``,
  ``NeuronModel.make_neurongroup(method='euler')`` (its default), Brian2
  ``Synapses`` with ``on_pre='s_AMPA_x_<dendrite> += 1.0'``, on
  ``cpp_standalone`` in its own project. Its parameters are namespace
  constants compiled into the code: a parameter change is a rebuild.
- **NEURON** (``pip install neuron``): five ``Section`` objects per cell
  (``nseg = 1``, ``pas``), ``Exp2Syn`` (tau1 0.2 ms, tau2 2 ms) per
  dendrite, fixed step (``cvode`` off, implicit Euler, one thread).

The same equations: ``C dv/dt = g_L (E_L - v) + sum_k g_k (v_k - v) + g_AMPA
(E_AMPA - v)`` per compartment and a normalised difference of exponentials
for ``g_AMPA``. Differences: the integration scheme (both Brian2 sides:
forward Euler, also for the synaptic states; NEURON: backward Euler for the
membrane, exact exponentials for ``Exp2Syn``); Dendrify writes the
difference of exponentials as ``dx/dt = -x/tau_decay + s/ms``,
``ds/dt = -s/tau_rise`` (ours: two decaying states), which forward Euler
discretises differently (same charge per event); in NEURON the two basal
dendrites share the soma's 0-end node and the trunk uses its 1 end, which
differs from the pairwise half-cylinder couplings by the soma's half
resistance (3.8e4 ohm against 1.4e8 ohm of a basal half: 3e-4 relative).

Inputs are frozen: the 100 spike trains (Bernoulli draws per 0.1 ms step,
as Brian2's ``PoissonGroup``) and the connectivity are drawn once with NumPy
and given to all three (``SpikeGeneratorGroup`` in both Brian2 projects,
``PatternStim`` in NEURON with a NetCon delay of one step, which delivers
an event at the same step as Brian2's synapses do). So the three can be
compared cell by cell: before any timing the script checks the somatic
potential (mean over 10 recorded cells x 1000 samples at 1 ms, and the
final ``v_soma`` of every cell).

Timing
------
- *run*: wall seconds of one execution of the compiled binary (both Brian2
  sides started the same way, by the engine's ``standalone_command``;
  process start, loading the arrays, 10 000 steps, writing the results), in
  brackets the binary's own network time (``last_run_info.txt``). NEURON:
  ``finitialize`` + ``continuerun(1000)``. Repeats are interleaved
  (ours, Dendrify, NEURON, ours, ...); the minimum is reported.
- *build*: ours: :attr:`Simulation.build_time` (code generation +
  compilation); Dendrify: ``device.build`` (the same); NEURON: creating the
  sections, synapses and NetCons.
- *sweep, per point*: 20 values of the soma-trunk coupling. Ours: one
  ``Simulation.run({'cells.g_soma_trunk': g})`` per point (the engine's
  run-value path, wall seconds per point seen from Python, nothing
  recompiled). Dendrify: ``add_params`` with the new coupling, new objects,
  ``device.build`` + run in its existing project directory, in two
  workflows: (A) a loop in one Python process (Brian2 numbers code objects
  per process, the file names change, ``make`` recompiles everything) and
  (B) a new Python process per point (stable names: only the changed files
  are recompiled, Dendrify's best case; process start included). A few
  points of each are timed (``--rebuilds``), the faster workflow's mean is
  extrapolated to 20 points (said so in the table). NEURON: a parameter
  change needs no rebuild either; its per-point time is its run time. Every
  Dendrify rebuild point is checked against our sweep at the same value.

Usage::

    python benchmarks/bench_cells.py [--quick] [--cells N] [--repeats R]
        [--rebuilds K] [--no-dendrify] [--no-neuron] [--variants]

``--quick``: 100 cells, 2 repeats, 1 Dendrify rebuild. ``--variants`` also
builds our cells with Brian2's ``PoissonGroup`` drawing the trains in the
binary, with ``method='exponential_euler'``, with 2 OpenMP threads
(``Simulation(threads=2)``), and a copy of our project
with the element loops as Brian2 generated them (without the engine's
``#pragma GCC ivdep``, see :func:`scalar_copy`), and times them beside the
main binary (where the time goes). Dendrify and NEURON are optional: a
missing one is skipped with a message.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import numpy as np  # noqa: E402
from brian2 import (  # noqa: E402
    Hz,
    PoissonGroup,
    SpikeGeneratorGroup,
    StateMonitor,
    cm,
    ms,
    mV,
    nS,
    ohm,
    siemens,
    uF,
    um,
    uS,
)

from brian_dendrites.cells import Cell, Dendrite, Soma  # noqa: E402
from brian_dendrites.engine import Simulation  # noqa: E402
from brian_dendrites.engine.simulation import standalone_command  # noqa: E402

DT_MS = 0.1
DURATION_MS = 1000.0
N_SRC = 100
RATE_HZ = 10.0
P_CONN = 0.1
W_NS = 0.5
N_REC = 10
E_L_MV = -70.0
#: name -> (length um, diameter um)
GEOMETRY = {"soma": (25.0, 25.0), "basal1": (150.0, 1.0), "basal2": (150.0, 1.0),
            "trunk": (250.0, 2.5), "tuft": (200.0, 1.0)}
DENDRITES = ("basal1", "basal2", "trunk", "tuft")
LINKS = (("soma", "basal1"), ("soma", "basal2"), ("soma", "trunk"), ("trunk", "tuft"))
#: agreement tolerances on the somatic potential (mV)
TOL_MEAN_BRIAN = 0.05   # ours vs Dendrify: mean over recorded cells and time
TOL_MEAN_NEURON = 0.2   # ours vs NEURON
TOL_FINAL_BRIAN = 0.2   # max over cells of |final v_soma difference|
TOL_FINAL_NEURON = 1.0
SWEEP_POINTS = 20


def _quiet_brian():
    from brian2 import prefs

    prefs.logging.console_log_level = "ERROR"


# --------------------------------------------------------------------- inputs
def make_inputs(n_cells, seed=0):
    """Frozen Poisson trains (on the dt grid) and connectivity, shared by all three."""
    rng = np.random.default_rng(seed)
    n_steps = int(round(DURATION_MS / DT_MS))
    steps, idx = np.nonzero(rng.random((n_steps, N_SRC)) < RATE_HZ * DT_MS * 1e-3)
    times_ms = steps * DT_MS
    conns = {}
    for d in DENDRITES:
        i, j = np.nonzero(rng.random((N_SRC, n_cells)) < P_CONN)
        conns[d] = (i.astype(np.int32), j.astype(np.int32))
    return {"n": n_cells, "idx": idx.astype(np.int32), "times_ms": times_ms, "conns": conns}


def _membrane_kw():
    return dict(cm=1 * uF / cm**2, g_L=40 * uS / cm**2, Ra=150 * ohm * cm, E_L=E_L_MV * mV)


# ------------------------------------------------------------------------ ours
def ours_cell(method="euler"):
    """The five-compartment passive cell with brian_dendrites.cells."""
    kw = _membrane_kw()
    comps = [Soma(length=GEOMETRY["soma"][0] * um, diameter=GEOMETRY["soma"][1] * um, **kw)]
    comps += [Dendrite(d, length=GEOMETRY[d][0] * um, diameter=GEOMETRY[d][1] * um,
                       receptors=["AMPA"], **kw) for d in DENDRITES]
    return Cell(comps, list(LINKS), name="bench_cell", method=method)


def ours_simulation(inputs, cache, source="generator", method="euler", name="bench_cells",
                    threads=1):
    """Build (compile) our network once; returns the Simulation."""
    cell = ours_cell(method)
    n = inputs["n"]

    def build():
        g = cell.make_group(n, name="cells")
        if source == "generator":
            src = SpikeGeneratorGroup(N_SRC, inputs["idx"], inputs["times_ms"] * ms, name="src")
        else:
            src = PoissonGroup(N_SRC, RATE_HZ * Hz, name="src")
        objs = {"cells": g, "src": src}
        for d in DENDRITES:
            i, j = inputs["conns"][d]
            syn = cell.synapse_model(d, "AMPA").make_synapses(src, g, name=f"ampa_{d}",
                                                              connect=dict(i=i, j=j))
            syn.w = W_NS * nS
            objs[syn.name] = syn
        objs["mon"] = StateMonitor(g, "v_soma", record=range(min(N_REC, n)), dt=1 * ms,
                                   name="mon")
        return objs

    return Simulation(build, DURATION_MS * ms, target="cpp_standalone", dt=DT_MS * ms, seed=1,
                      cache_dir=cache, name=name, threads=threads)


def binary_timer(project_dir):
    """``timer()`` runs the compiled binary in ``project_dir`` as the engine does.

    Returns (wall seconds of the process, its CPU seconds (user + system),
    network seconds from last_run_info.txt).
    """
    results = Path(tempfile.mkdtemp(prefix="results_", dir=project_dir))
    cmd, env = standalone_command(project_dir, ["--results_dir", str(results) + os.sep])

    def timer():
        r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
        t0 = time.perf_counter()
        subprocess.run(cmd, cwd=project_dir, env=env, check=True, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)
        wall = time.perf_counter() - t0
        r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = (r1.ru_utime + r1.ru_stime) - (r0.ru_utime + r0.ru_stime)
        net = float((results / "last_run_info.txt").read_text().split()[0])
        return wall, cpu, net

    return timer


def scalar_copy(project_dir, dest):
    """Our compiled project copied to ``dest`` with its element loops as Brian2 wrote them.

    The engine marks element loops that carry no dependency with ``#pragma
    GCC ivdep`` (:func:`brian_dendrites._brian_compat.mark_independent_loop`),
    which lets GCC vectorise the neuron state update; this copy removes the
    pragma again and runs ``make``, to show what it is worth. Returns the
    compilation seconds.
    """
    shutil.copytree(project_dir, dest, ignore=shutil.ignore_patterns("results*"))
    for f in (Path(dest) / "code_objects").glob("*.cpp"):
        text = f.read_text()
        if "#pragma GCC ivdep\n" in text:
            f.write_text("".join(line for line in text.splitlines(keepends=True)
                                 if line.strip() != "#pragma GCC ivdep"))
    t0 = time.perf_counter()
    subprocess.run(["make"], cwd=dest, check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)
    return time.perf_counter() - t0


def summary(v_rec_mv, v_final_mv):
    """(mean of the recorded somatic potential, final v_soma of all cells), in mV."""
    return float(np.mean(v_rec_mv)), np.asarray(v_final_mv, dtype=float)


def ours_summary(res):
    return summary(np.asarray(res["mon.v_soma"]) / 1e-3, np.asarray(res["cells.v_soma"]) / 1e-3)


# -------------------------------------------------------------------- Dendrify
def dendrify_available():
    try:
        import dendrify  # noqa: F401
    except Exception as exc:  # ImportError, or a broken installation
        return f"dendrify not importable ({exc})"
    return None


def _dendrify_objects(inputs, g_soma_trunk=None):
    import dendrify as dd
    from brian2 import Synapses

    soma = dd.Soma("soma", model="passive", length=GEOMETRY["soma"][0] * um,
                   diameter=GEOMETRY["soma"][1] * um)
    dends = {d: dd.Dendrite(d, model="passive", length=GEOMETRY[d][0] * um,
                            diameter=GEOMETRY[d][1] * um) for d in DENDRITES}
    for d in dends.values():
        d.synapse("AMPA", tag="x", g=W_NS * nS, t_rise=0.2 * ms, t_decay=2 * ms, scale_g=True)
    comps = {"soma": soma, **dends}
    model = dd.NeuronModel([(comps[a], comps[b]) for a, b in LINKS], cm=1 * uF / cm**2,
                           gl=40 * uS / cm**2, r_axial=150 * ohm * cm, v_rest=E_L_MV * mV)
    if g_soma_trunk is not None:
        model.add_params({"g_soma_trunk": g_soma_trunk, "g_trunk_soma": g_soma_trunk})
    group = model.make_neurongroup(inputs["n"], method="euler", name="cells")
    src = SpikeGeneratorGroup(N_SRC, inputs["idx"], inputs["times_ms"] * ms, name="src")
    objs = [group, src]
    for d in DENDRITES:
        i, j = inputs["conns"][d]
        syn = Synapses(src, group, on_pre=f"s_AMPA_x_{d} += 1.0", name=f"ampa_{d}")
        syn.connect(i=i, j=j)
        objs.append(syn)
    mon = StateMonitor(group, "V_soma", record=range(min(N_REC, inputs["n"])), dt=1 * ms,
                       name="mon")
    objs.append(mon)
    return model, group, mon, objs


def dendrify_build_run(inputs, directory, g_soma_trunk=None):
    """Build Dendrify's network in ``directory`` and run it once.

    Returns (build seconds, total seconds from objects to results, summary,
    the model's coupling g_soma_trunk in siemens).
    """
    from brian2 import Network, defaultclock, device, set_device
    from brian2.devices.device import reinit_devices, reset_device

    t_start = time.perf_counter()
    set_device("cpp_standalone", directory=directory, build_on_run=False)
    try:
        device.reinit()
        device.activate(directory=directory, build_on_run=False)
        defaultclock.dt = DT_MS * ms
        model, group, mon, objs = _dendrify_objects(inputs, g_soma_trunk)
        g_st = float(model.parameters["g_soma_trunk"])
        Network(*objs).run(DURATION_MS * ms)
        t0 = time.perf_counter()
        device.build(directory=directory, compile=True, run=False)
        build_s = time.perf_counter() - t0
        device.run(directory=directory, with_output=False)
        out = summary(np.asarray(mon.V_soma) / 1e-3, np.asarray(group.V_soma[:]) / 1e-3)
        total = time.perf_counter() - t_start
    finally:
        device.reinit()
        reset_device()
        reinit_devices()
    return build_s, total, out, g_st


# ---------------------------------------------------------------------- NEURON
def neuron_available():
    try:
        import neuron  # noqa: F401
    except Exception as exc:  # ImportError, or a broken installation
        return f"neuron not importable ({exc})"
    return None


class NeuronNet:
    """The same cells, synapses and frozen inputs in NEURON (fixed step, one thread)."""

    def __init__(self, inputs):
        from neuron import h

        h.load_file("stdrun.hoc")
        self.h = h
        t0 = time.perf_counter()
        n = inputs["n"]
        self.cells = []
        for c in range(n):
            secs = {}
            for name, (length, diam) in GEOMETRY.items():
                sec = h.Section(name=f"{name}_{c}")
                sec.L, sec.diam, sec.nseg = length, diam, 1
                sec.cm, sec.Ra = 1.0, 150.0
                sec.insert("pas")
                sec.g_pas, sec.e_pas = 40e-6, E_L_MV
                secs[name] = sec
            secs["basal1"].connect(secs["soma"](0))
            secs["basal2"].connect(secs["soma"](0))
            secs["trunk"].connect(secs["soma"](1))
            secs["tuft"].connect(secs["trunk"](1))
            syns = {}
            for d in DENDRITES:
                s = h.Exp2Syn(secs[d](0.5))
                s.tau1, s.tau2, s.e = 0.2, 2.0, 0.0
                syns[d] = s
            self.cells.append((secs, syns))
        self.pc = h.ParallelContext()
        self.netcons = []
        for d in DENDRITES:
            for i, j in zip(*inputs["conns"][d]):
                nc = self.pc.gid_connect(int(i), self.cells[j][1][d])
                nc.delay = DT_MS  # delivered at the same step as Brian2's on_pre
                nc.weight[0] = W_NS * 1e-3  # uS
                self.netcons.append(nc)
        self.tvec = h.Vector(inputs["times_ms"])
        self.gvec = h.Vector(inputs["idx"].astype(float))
        self.stim = h.PatternStim()
        self.stim.play(self.tvec, self.gvec)
        self.recs = [h.Vector().record(self.cells[k][0]["soma"](0.5)._ref_v, 1.0)
                     for k in range(min(N_REC, n))]
        h.dt = DT_MS
        h.steps_per_ms = 1 / DT_MS
        h.cvode_active(0)
        h.tstop = DURATION_MS
        self.build_time = time.perf_counter() - t0

    def run(self):
        """One simulation; returns wall and CPU seconds of finitialize + continuerun."""
        h = self.h
        c0 = time.process_time()
        t0 = time.perf_counter()
        h.finitialize(E_L_MV)
        h.continuerun(DURATION_MS)
        return time.perf_counter() - t0, time.process_time() - c0

    def summary(self):
        """(mean recorded somatic potential, final v_soma of every cell), in mV."""
        rec = np.array([np.array(r)[: int(DURATION_MS)] for r in self.recs])
        final = [secs["soma"](0.5).v for secs, _ in self.cells]
        return summary(rec, final)


# ------------------------------------------------------------------------ main
def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="100 cells, 2 repeats, 1 rebuild")
    ap.add_argument("--cells", type=int, default=None, help="number of cells (default 1000)")
    ap.add_argument("--repeats", type=int, default=None, help="interleaved timing repeats")
    ap.add_argument("--rebuilds", type=int, default=None,
                    help="Dendrify rebuild points timed per workflow (default 2, --quick 1)")
    ap.add_argument("--no-dendrify", action="store_true")
    ap.add_argument("--no-neuron", action="store_true")
    ap.add_argument("--variants", action="store_true",
                    help="also time our cells with PoissonGroup input and exponential_euler")
    ap.add_argument("--build-dir", default=None,
                    help="keep all projects here (default: a temporary directory, removed)")
    ap.add_argument("--dendrify-point", type=float, default=None, help=argparse.SUPPRESS)
    ap.add_argument("--dendrify-dir", default=None, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.dendrify_point is not None:
        return _dendrify_point(args)
    n = args.cells or (100 if args.quick else 1000)
    repeats = args.repeats or (2 if args.quick else 10)
    n_rebuild = args.rebuilds if args.rebuilds is not None else (1 if args.quick else 2)
    _quiet_brian()

    d_msg = "--no-dendrify given" if args.no_dendrify else dendrify_available()
    n_msg = "--no-neuron given" if args.no_neuron else neuron_available()
    if d_msg:
        print(f"Dendrify columns skipped ({d_msg}); Dendrify is optional: `pip install dendrify`.")
    if n_msg:
        print(f"NEURON columns skipped ({n_msg}); NEURON is optional: `pip install neuron`.")
    load0 = os.getloadavg()
    print(f"{n} cells x 5 compartments, {N_SRC} Poisson sources at {RATE_HZ:g} Hz, p = {P_CONN},"
          f" AMPA {W_NS} nS peak, {DURATION_MS / 1000:g} s at dt {DT_MS} ms; {os.cpu_count()} cores")
    print(f"load average before: {load0[0]:.2f} {load0[1]:.2f} {load0[2]:.2f}", flush=True)

    inputs = make_inputs(n)
    n_syn = sum(len(i) for i, _ in inputs["conns"].values())
    print(f"frozen input: {len(inputs['idx'])} source spikes, {n_syn} synapses")
    if args.build_dir:
        root = Path(args.build_dir).resolve()
        root.mkdir(parents=True, exist_ok=True)
    else:
        root = Path(tempfile.mkdtemp(prefix="bench_cells_"))
    try:
        return _run(args, inputs, n, repeats, n_rebuild, d_msg, n_msg, root, str(root / "cache"))
    finally:
        if not args.build_dir:
            shutil.rmtree(root, ignore_errors=True)


def _run(args, inputs, n, repeats, n_rebuild, d_msg, n_msg, root, cache):
    rows = {}
    # ---- build everything first
    sim = ours_simulation(inputs, cache)
    rows["ours"] = {"build": sim.build_time}
    res = sim.run(read=["mon.v_soma", "cells.v_soma"])
    ours_sum = ours_summary(res)
    timers = {"ours": binary_timer(sim.project_dir)}
    g_default = float(ours_cell()["g_soma_trunk"])
    if args.variants:
        for label, kw in (("ours, PoissonGroup input", dict(source="poisson")),
                          ("ours, exponential_euler", dict(method="exponential_euler")),
                          ("ours, 2 OpenMP threads", dict(threads=2))):
            vs = ours_simulation(inputs, cache, name="bench_cells_var", **kw)
            rows[label] = {"build": vs.build_time}
            timers[label] = binary_timer(vs.project_dir)
        label = "ours, scalar loop (no ivdep)"
        vdir = root / "scalar"
        shutil.rmtree(vdir, ignore_errors=True)
        rows[label] = {"build": scalar_copy(sim.project_dir, vdir)}
        timers[label] = binary_timer(vdir)
    sums = {"ours": ours_sum}
    if d_msg is None:
        ddir = str(root / "dendrify")
        b, _tot, dsum, g_d = dendrify_build_run(inputs, ddir)
        rows["Dendrify"] = {"build": b}
        sums["Dendrify"] = dsum
        timers["Dendrify"] = binary_timer(ddir)
        if abs(g_d - g_default) > 1e-12 * g_default:
            print(f"coupling soma-trunk differs: ours {g_default:.6g} S, Dendrify {g_d:.6g} S")
    nrn = None
    if n_msg is None:
        nrn = NeuronNet(inputs)
        rows["NEURON"] = {"build": nrn.build_time}
        nrn.run()
        sums["NEURON"] = nrn.summary()

    # ---- physics first: the somatic potential agrees
    print("\nagreement (somatic potential, mV): mean over "
          f"{min(N_REC, n)} recorded cells x {int(DURATION_MS)} samples at 1 ms; "
          f"final v_soma of all {n} cells")
    ok = True
    if len(sums) == 1:
        print("  no peer simulator available: nothing to compare")
    for peer, tol_mean, tol_final in (("Dendrify", TOL_MEAN_BRIAN, TOL_FINAL_BRIAN),
                                      ("NEURON", TOL_MEAN_NEURON, TOL_FINAL_NEURON)):
        if peer not in sums:
            continue
        dm = sums[peer][0] - ours_sum[0]
        df = np.max(np.abs(sums[peer][1] - ours_sum[1]))
        good = abs(dm) <= tol_mean and df <= tol_final
        ok &= good
        print(f"  ours mean {ours_sum[0]:.4f} (rest {E_L_MV:g}) | {peer} {sums[peer][0]:.4f}:"
              f" diff {dm:+.2e} (tol {tol_mean}); final v_soma max |diff| {df:.2e}"
              f" (tol {tol_final}) -> {'agree' if good else 'DISAGREE'}")
    if not ok:
        print("the simulators disagree beyond the stated tolerances: timings not comparable")

    # ---- interleaved timing
    runs = {k: [] for k in timers}
    if nrn is not None:
        runs["NEURON"] = []
    for _ in range(repeats):
        for key, timer in timers.items():
            runs[key].append(timer())
        if nrn is not None:
            runs["NEURON"].append(nrn.run() + (np.nan,))
    load_run = os.getloadavg()[0]
    for key, vals in runs.items():
        rows[key]["run"] = min(v[0] for v in vals)
        rows[key]["cpu"] = min(v[1] for v in vals)
        rows[key]["net"] = min(v[2] for v in vals)
        rows[key]["runs"] = [v[0] for v in vals]

    # ---- sweep: 20 values of the soma-trunk coupling
    values = np.linspace(0.5, 2.0, SWEEP_POINTS) * g_default
    sweep_means = []
    t0 = time.perf_counter()
    for v in values:
        r = sim.run({"cells.g_soma_trunk": v * siemens}, read=["mon.v_soma"])
        sweep_means.append(float(np.mean(r["mon.v_soma"])) / 1e-3)
    rows["ours"]["sweep"] = (time.perf_counter() - t0) / SWEEP_POINTS
    rows["ours"]["sweep_note"] = "one build, run values"
    if d_msg is None and n_rebuild > 0:
        rows["Dendrify"].update(_dendrify_sweep(inputs, ddir, values, sweep_means, n_rebuild))
    if nrn is not None:
        rows["NEURON"]["sweep"] = rows["NEURON"]["run"]
        rows["NEURON"]["sweep_note"] = "no rebuild (a run per point)"

    _print_table(rows, n, load_run)
    return rows


def _dendrify_sweep(inputs, ddir, values, sweep_means, n_rebuild):
    """Time Dendrify's rebuild per point in its two workflows; returns the row entries.

    A: a loop in this process, rebuilding in the existing project (Brian2
    numbers the code objects per process, so the file names change and
    ``make`` recompiles everything). B: one new Python process per point in
    the same project (stable names: only the changed files are recompiled,
    Dendrify's best case); the first such point is a warm-up (its file names
    may differ from this process's last build) and is not counted. The
    faster of the two is the per-point figure.
    """
    picks = [int(round(k * (SWEEP_POINTS - 1) / max(n_rebuild, 1))) for k in range(n_rebuild + 1)]
    loop, fresh = [], []
    for k, idx in enumerate(picks[:n_rebuild]):
        b, tot, dsum, _ = dendrify_build_run(inputs, ddir, g_soma_trunk=values[idx] * siemens)
        loop.append(tot)
        _report_point("A, loop in this process", values[idx], b, tot, dsum[0], sweep_means[idx])
    for k, idx in enumerate(picks):
        t0 = time.perf_counter()
        out = subprocess.run([sys.executable, os.path.abspath(__file__), "--cells",
                              str(inputs["n"]), "--dendrify-point", repr(float(values[idx])),
                              "--dendrify-dir", ddir], capture_output=True, text=True)
        wall = time.perf_counter() - t0
        if out.returncode != 0:
            print(f"Dendrify point in a new process failed:\n{out.stderr[-2000:]}")
            break
        line = [ln for ln in out.stdout.splitlines() if ln.startswith("POINT ")][-1]
        b, tot, mean = (float(x) for x in line.split()[1:4])
        if k > 0:
            fresh.append(wall)
        _report_point("B, new process" + (" (warm-up, not counted)" if k == 0
                                          else ""), values[idx], b, wall, mean, sweep_means[idx])
    entries = {}
    a = statistics.mean(loop) if loop else np.inf
    bb = statistics.mean(fresh) if fresh else np.inf
    entries["sweep"] = min(a, bb)
    entries["sweep_note"] = (f"rebuild per point, x{SWEEP_POINTS} extrapolated from the faster of"
                             f" A (loop in one process, mean of {len(loop)}: {a:.1f} s) and B"
                             f" (a new process per point, incremental make, mean of {len(fresh)}:"
                             f" {bb:.1f} s)")
    return entries


def _report_point(how, g, build_s, total_s, mean, ours_mean):
    print(f"Dendrify rebuild {how}: g_soma_trunk = {g / 1e-9:.3f} nS, build {build_s:.1f} s,"
          f" point {total_s:.1f} s; mean v_soma {mean:.4f} mV, ours (sweep) {ours_mean:.4f} mV"
          f" (diff {mean - ours_mean:+.2e})", flush=True)


def _dendrify_point(args):
    """Child process of workflow B: one Dendrify build + run; prints the times."""
    _quiet_brian()
    inputs = make_inputs(args.cells)
    b, tot, dsum, _ = dendrify_build_run(inputs, args.dendrify_dir,
                                         g_soma_trunk=args.dendrify_point * siemens)
    print(f"POINT {b!r} {tot!r} {dsum[0]!r}")


def _print_table(rows, n, load_run):
    print(f"\n{n} cells, 1 s at dt 0.1 ms. run: wall seconds of one execution of the binary"
          " (NEURON: finitialize + continuerun), its CPU seconds, and the binary's own network"
          " time; each the minimum over the interleaved repeats. sweep: seconds per point of a"
          f" {SWEEP_POINTS}-point sweep of g_soma_trunk; {SWEEP_POINTS} points: build +"
          f" {SWEEP_POINTS} x per point")
    print(f"{'':26s} {'run wall':>9s} {'cpu':>7s} {'network':>8s} {'build':>7s} {'sweep/pt':>9s}"
          f" {'20 points':>10s}  load")
    for key, r in rows.items():
        net = f"{r['net']:8.3f}" if np.isfinite(r.get("net", np.nan)) else f"{'-':>8s}"
        sweep = r.get("sweep")
        sw = f"{sweep:9.3f}" if sweep is not None else f"{'-':>9s}"
        total = f"{r['build'] + SWEEP_POINTS * sweep:10.1f}" if sweep is not None else f"{'-':>10s}"
        print(f"{key:26s} {r['run']:9.3f} {r['cpu']:7.3f} {net} {r['build']:7.1f} {sw} {total}"
              f"  {load_run:.1f}")
    for key, r in rows.items():
        if "sweep_note" in r:
            print(f"  sweep, {key}: {r['sweep_note']}")
    for key, r in rows.items():
        print(f"  {key}, wall of every repeat (s): {', '.join(f'{x:.3f}' for x in r['runs'])}")
    ours = rows["ours"]
    for peer, target in (("Dendrify", 1.0), ("NEURON", 0.1)):
        if peer not in rows:
            continue
        p = rows[peer]
        parts = []
        for col, label in (("run", "run wall"), ("cpu", "cpu"), ("net", "network time")):
            if np.isfinite(p.get(col, np.nan)):
                ratio = ours[col] / p[col]
                parts.append(f"{label} {ratio:.3f} ({'met' if ratio <= target else 'NOT met'})")
        line = f"ours / {peer} (target <= {target}): " + ", ".join(parts)
        if "sweep" in p and "sweep" in ours:
            line += f"; sweep per point {ours['sweep'] / p['sweep']:.4f}"
        print(line)
    load = os.getloadavg()
    print(f"load average after: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")


if __name__ == "__main__":
    main()
