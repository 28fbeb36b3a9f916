"""Parameter sweep: compile once + run values vs a fresh standalone build per point.

Network: 100 pyramidal neurons (Sacramento et al. 2018) with a plastic basal
input layer (20 input neurons, all-to-all, dendritic-prediction rule),
100 ms at dt = 0.1 ms. The sweep varies the apical conductance ``g_A``.

- ``sweep``: :func:`brian_dendrites.sweep.sweep` -- one build (into an empty
  cache, so it includes the compilation), then one execution of the binary
  per point with ``pyr.g_A`` as a run value.
- ``rebuild``: what one does when parameters are namespace constants (as in
  Dendrify): a fresh ``cpp_standalone`` project in a new directory for every
  point, generated, compiled and run (``build_on_run=True``).

Usage::

    python benchmarks/bench_sweep.py            # 20 points, 20 rebuilds
    python benchmarks/bench_sweep.py --quick    # 20 sweep points, 2 rebuilds (extrapolated)
    python benchmarks/bench_sweep.py --dask     # also: the same sweep on a 2-worker LocalCluster
"""

import argparse
import shutil
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
from brian2 import Network, defaultclock, device, ms, set_device

import brian_dendrites.models as models
from brian_dendrites.models.plasticity import dendritic_prediction_rule
from brian_dendrites.sweep import NetworkSpec, sweep

N_IN, N_PYR = 20, 100
DURATION = 100 * ms


def make_objects():
    """The network's Brian2 objects (also used by the rebuild-per-point baseline)."""
    inp = models.pyramidal_neuron().make_group(N_IN, name="inp")
    inp.u = "3 + 0.1*i"
    pyr = models.pyramidal_neuron().make_group(N_PYR, name="pyr")
    syn = dendritic_prediction_rule().make_synapses(inp, pyr, name="syn", connect=True, eta=0.01 / ms)
    syn.w = "0.1*sin(i + 3*j)"
    return {"inp": inp, "pyr": pyr, "syn": syn}


def network(N=N_PYR):
    """Network factory for sweep (top level, so processes and dask can pickle it)."""
    return NetworkSpec(make_objects, DURATION, name="bench_sweep")


def mean_rate(result):
    return {"u_mean": float(result["pyr.u"].mean()), "w_mean": float(result["syn.w"].mean())}


def rebuild_point(value):
    """One point the namespace-constant way: new directory, generate, compile, run."""
    workdir = tempfile.mkdtemp(prefix="bench_rebuild_")
    t0 = time.perf_counter()
    try:
        set_device("cpp_standalone", directory=workdir, build_on_run=True)
        device.reinit()
        device.activate(directory=workdir, build_on_run=True)
        defaultclock.dt = 0.1 * ms
        objs = make_objects()
        objs["pyr"].g_A = value
        Network(list(objs.values())).run(DURATION)
        u = float(np.mean(objs["pyr"].u[:]))
    finally:
        device.reinit()
        from brian2.devices.device import reset_device

        reset_device("runtime")
        shutil.rmtree(workdir, ignore_errors=True)
    return time.perf_counter() - t0, u


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="only 2 rebuilds (total extrapolated to all points)")
    ap.add_argument("--points", type=int, default=20)
    ap.add_argument("--rebuilds", type=int, default=None, help="rebuild points actually timed")
    ap.add_argument("--dask", action="store_true", help="also run the sweep on a 2-worker LocalCluster")
    args = ap.parse_args()
    n = args.points
    n_rebuild = args.rebuilds if args.rebuilds is not None else (2 if args.quick else n)
    values = list(np.linspace(0.0, 1.0, n) / ms)

    cache = Path(tempfile.mkdtemp(prefix="bench_sweep_cache_"))
    try:
        t0 = time.perf_counter()
        df = sweep(network, {"pyr.g_A": values}, measure=mean_rate, cache_dir=cache, progress=False)
        total_sweep = time.perf_counter() - t0
        assert df["error"].isna().all(), df["error"].dropna().tolist()
        build = df.attrs["builds"][0]["build_time"]
        per_point = (total_sweep - build) / n
        elapsed = df["elapsed"]
        binary = df["binary_time"]

        # the same sweep again: the binary exists (code generation only, no compilation)
        t0 = time.perf_counter()
        warm = sweep(network, {"pyr.g_A": values}, measure=mean_rate, cache_dir=cache, progress=False)
        total_warm = time.perf_counter() - t0
        assert warm["u_mean"].equals(df["u_mean"])

        dask_row = None
        if args.dask:
            from distributed import Client, LocalCluster

            with LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                              preload=["brian2"], dashboard_address=None) as cl, Client(cl) as client:
                t0 = time.perf_counter()
                d1 = sweep(network, {"pyr.g_A": values}, measure=mean_rate, cache_dir=cache,
                           client=client, progress=False)
                first = time.perf_counter() - t0
                t0 = time.perf_counter()
                d2 = sweep(network, {"pyr.g_A": values}, measure=mean_rate, cache_dir=cache,
                           client=client, progress=False)
                second = time.perf_counter() - t0
            assert d1["u_mean"].equals(df["u_mean"]) and d2["u_mean"].equals(df["u_mean"])
            dask_row = (first, second)
    finally:
        shutil.rmtree(cache, ignore_errors=True)

    rebuild_times = []
    for k in range(n_rebuild):
        idx = int(round(k * (n - 1) / max(n_rebuild - 1, 1)))
        dt_point, u = rebuild_point(values[idx])
        rebuild_times.append(dt_point)
        assert abs(u - df["u_mean"][idx]) < 1e-9, (u, df["u_mean"][idx])
    rebuild_per = statistics.mean(rebuild_times)
    rebuild_total = rebuild_per * n
    note = "" if n_rebuild == n else f" (mean of {n_rebuild}, x{n} extrapolated)"

    print(f"\n{n} points, {N_IN}->{N_PYR} plastic network, {float(DURATION / ms):.0f} ms, cpp_standalone")
    print(f"{'':34s}{'sweep (compile once)':>22s}{'rebuild per point':>20s}")
    print(f"{'build (first point)':34s}{build:>20.2f} s{rebuild_times[0]:>18.2f} s")
    print(f"{'per point after the first build':34s}{per_point:>20.3f} s{rebuild_per:>18.2f} s")
    print(f"{'  of which the binary itself':34s}{binary.median():>20.3f} s")
    print(f"{'  worker-side run+read (median)':34s}{elapsed.median():>20.3f} s")
    print(f"{'total':34s}{total_sweep:>20.2f} s{rebuild_total:>18.2f} s{note}")
    print(f"{'ratio rebuild / sweep':34s}{rebuild_total / total_sweep:>20.1f} x")
    print(f"{'sweep again, binary cached':34s}{total_warm:>20.2f} s"
          f"  (code generation {warm.attrs['builds'][0]['build_time']:.2f} s)")
    if dask_row:
        print(f"{'dask 2 workers, first sweep':34s}{dask_row[0]:>20.2f} s  (each worker regenerates code)")
        print(f"{'dask 2 workers, second sweep':34s}{dask_row[1]:>20.2f} s  "
              f"({dask_row[1] / n * 1e3:.0f} ms per point, Simulations reused)")
    ok = per_point < 0.2
    print(f"per-point overhead target < 0.2 s: {'met' if ok else 'NOT met'} ({per_point * 1e3:.0f} ms)")


if __name__ == "__main__":
    main()
