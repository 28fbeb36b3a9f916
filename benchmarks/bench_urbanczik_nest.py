"""Benchmark 3: spiking Urbanczik–Senn learning, our compiled Brian2 model vs NEST.

The protocol is the one of NEST's example ``urbanczik_synapse_example.py``
(Urbanczik & Senn 2014, Fig. 1B), run with the same inputs on both sides in
the same script. It lives in :mod:`brian_dendrites.experiments.urbanczik_senn2014`
(network, inputs, teacher, NEST's eta converted to ours, the learning
measure, the NEST network): one two-compartment neuron per column, 200
dendritic inputs forming a frozen 200 ms pattern of 10 Hz Poisson trains
repeated 104 times (2 without teacher, 100 with, 2 without: 20.8 s at
dt = 0.1 ms), a deterministic sinusoidal somatic teacher conductance and the
Urbanczik–Senn rule with NEST's example eta, initial weights and clipping.

Learning outcome: for each 200 ms repetition, the Pearson correlation of the
dendritic prediction V* with the teacher-imposed somatic potential U_M, at
the first ("early") and last ("late") teacher repetition and in the first
repetition after the teacher ("recall"); means over neurons.

Scaling: 1, 10 and 100 independent neurons. The 200 input spike trains are
shared (one source per input), every neuron has its own 200 plastic
synapses (N x 200 synapses) and its own random spikes; on the NEST side the
same: 200 spike generators -> 200 parrot neurons -> all-to-all
``urbanczik_synapse`` onto N neurons.

Timing: ours is the run of the compiled cpp_standalone binary
(``RunResult.wall_time``, single thread; compilation reported separately),
NEST is ``nest.Simulate`` with one thread (kernel reset and network
construction reported separately). Both record the same state at 1 ms. Wall
and CPU seconds are printed (CPU seconds of the binary / of
``nest.Simulate``: more robust on a loaded machine). Minimum over
``--repeats`` runs (default 1: the machine is shared).

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

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import numpy as np  # noqa: E402

from brian_dendrites.experiments.urbanczik_senn2014 import (  # noqa: E402
    RECORDED,
    Protocol,
    build_nest,
    frozen_pattern,
    make_simulation,
    nest_available,
    nest_eta_to_ours,
    nest_outcome,
    simulate_nest,
    simulation_outcome,
)


def run_nest_timed(proto: Protocol, n_neurons: int, pattern, seed=1, per_repetition=False):
    """Run the protocol in NEST; returns (build s, simulate s, simulate CPU s, outcome).

    Build: kernel reset and network construction (:func:`build_nest`);
    simulate: :func:`simulate_nest` (with ``per_repetition=True`` it includes
    the Python loop that sets the spike times before each repetition).
    """
    t0 = time.perf_counter()
    net = build_nest(proto, n_neurons, pattern, seed=seed, per_repetition=per_repetition)
    build_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    c0 = time.process_time()
    simulate_nest(net)
    sim_s = time.perf_counter() - t0
    cpu_s = time.process_time() - c0
    return build_s, sim_s, cpu_s, nest_outcome(net)


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
        sim = make_simulation(proto, n, pattern, cache_dir=cache)
        build_s = time.perf_counter() - t0
        run_s, cpu_s, res = np.inf, np.inf, None
        for _ in range(max(1, args.repeats)):
            r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
            res = sim.run(read=list(RECORDED))
            r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
            run_s = min(run_s, res.wall_time)
            cpu_s = min(cpu_s, (r1.ru_utime + r1.ru_stime) - (r0.ru_utime + r0.ru_stime))
        ours = simulation_outcome(proto, res)
        row = {"n": n, "ours_build": build_s, "ours_run": run_s, "ours_cpu": cpu_s, "ours": ours,
               "load": os.getloadavg()[0]}
        if nest_msg is None and n > args.nest_max_neurons:
            print(f"NEST not run for {n} neurons (> --nest-max-neurons {args.nest_max_neurons})")
        elif nest_msg is None:
            best, best_cpu = np.inf, np.inf
            for _ in range(max(1, args.repeats)):
                nb, ns, nc, nout = run_nest_timed(proto, n, pattern,
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
