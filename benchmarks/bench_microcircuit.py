"""Benchmark 2: the 784-500-500-10 dendritic microcircuit in ``rate`` mode.

Per-sample time (100 ms of full continuous dynamics, dt = 0.1 ms, all four
plasticity rules on) of our compiled Brian2 circuit (cpp_standalone, dense
all-to-all path) beside the plain NumPy implementation of exactly the same
equations with in-place BLAS (``brian_dendrites.reference.ReferenceMicrocircuit``),
measured in the same run, single-threaded, repeats interleaved (ours float64,
NumPy float64, ours float32, NumPy float32, ours float64, ...) and the minimum
of each kept; plus the peak memory of the simulating process. Ours in float32
is the same circuit compiled with ``Simulation(..., dtype=np.float32)``
(Brian2's ``default_float_dtype``), compared with NumPy in float32.

Second table: one epoch in the paper's ``steady_state`` (MNIST) mode on
MNIST-shaped random data (4000 samples of 784 inputs, 10 classes; the real
images are not needed for a timing): our
`~brian_dendrites.learners.SteadyStateMicrocircuitClassifier` online (one
update per sample) and with mini-batches of 10 (``batch_size=10``: one
step and one update per mini-batch, issue 21), one binary run per chunk of
1000 samples or per epoch (the epoch time includes preparing the chunks and
reading the results), beside ``ReferenceMicrocircuit.fit_steady_state`` with
batch size 1 (the same procedure) and 10 (the paper's), interleaved,
minimum of the repeats; the ratio column compares each of ours with NumPy
at the same batch size. ``--threads 2`` adds the batched learner with two
OpenMP threads; the table also gives what one binary run costs outside its
simulated steps.

Run: ``python benchmarks/bench_microcircuit.py [--quick] [--steady-state] [--threads 2]``
"""

import argparse
import os
import resource
import sys
import tempfile
import time

# one thread for BLAS and for the binary: an honest single-core comparison
for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[var] = "1"

import numpy as np  # noqa: E402
from brian2 import ms  # noqa: E402

from brian_dendrites.circuits import dendritic_microcircuit  # noqa: E402
from brian_dendrites.engine import Simulation  # noqa: E402
from brian_dendrites.reference import ReferenceMicrocircuit  # noqa: E402

LAYERS = [784, 500, 500, 10]


#: Peak memory (bytes) of every timed binary run (``RunResult.peak_memory``).
BINARY_PEAKS = []

def numpy_timer(n_steps, dtype):
    """Return ``timer()``: one 1000-step NumPy run of the reference circuit, in seconds."""
    net = ReferenceMicrocircuit(LAYERS, phi="logistic", seed=0, dtype=dtype,
                                eta_PP=1e-3, eta_IP=1e-3, eta_PI=5e-4)
    rng = np.random.default_rng(0)
    X = np.repeat(rng.uniform(0, 1, (1, LAYERS[0])), n_steps, axis=0)
    U = np.repeat(rng.uniform(0, 1, (1, LAYERS[-1])), n_steps, axis=0)

    def timer():
        t0 = time.perf_counter()
        net.run(X, U, record=())
        return time.perf_counter() - t0

    net.run(X[:2], U[:2], record=())
    check_state_dtype(net, dtype)
    return timer


def check_state_dtype(net, dtype):
    """Warn if a float32 reference run keeps state in float64 (then it is no float32 yardstick)."""
    state = [getattr(net, "x", None)] + list(net.u) + list(net.uI)
    wrong = sorted({str(a.dtype) for a in state if a is not None and a.dtype != dtype})
    if wrong:
        print(f"WARNING: the NumPy reference run in {np.dtype(dtype).name} keeps state in "
              f"{', '.join(wrong)} (promoted arithmetic): its time is not an honest "
              f"{np.dtype(dtype).name} time")


def brian_timer(n_patterns, cache_dir, dtype=np.float64, threads=1):
    """Build (or reuse) the compiled circuit in ``dtype``; return ``(timer, build_s, dense)``.

    ``timer()`` runs ``n_patterns`` samples and returns the wall time per
    sample (binary start, reading the run values, writing results included).
    """
    def build():
        return dendritic_microcircuit(LAYERS, n_patterns=n_patterns, t_pattern=100 * ms,
                                      activation="logistic", eta_PP=1e-3 / ms, eta_IP=1e-3 / ms,
                                      eta_PI=5e-4 / ms, seed=0).objects

    t0 = time.perf_counter()
    sim = Simulation(build, n_patterns * 100 * ms, target="cpp_standalone",
                     cache_dir=cache_dir, name="bench_mc", dtype=dtype, threads=threads)
    build_time = time.perf_counter() - t0
    rng = np.random.default_rng(0)
    values = {"x_in.values": rng.uniform(0, 1, (n_patterns, LAYERS[0])),
              "u_target.values": rng.uniform(0, 1, (n_patterns, LAYERS[-1])),
              "nudge_in.values": np.ones(n_patterns)}

    def timer():
        res = sim.run(values, read=["pyr3.u"])
        BINARY_PEAKS.append(res.peak_memory)
        return res.wall_time / n_patterns

    return timer, build_time, sim.dense_synapses


#: samples per binary run of the steady-state learner
SS_CHUNK = 1000
#: mini-batch of the paper's MNIST procedure (and of the reference's default)
SS_BATCH = 10


def steady_state_timers(n_samples, cache_dir, seed=0, threads=(1,)):
    """Return ``({name: timer}, build_s, run_overhead_s)``; ``timer()`` trains one epoch.

    Rows: our learner online and with mini-batches of :data:`SS_BATCH` (runs
    of :data:`SS_CHUNK` samples, and one run per epoch), optionally with more
    OpenMP threads; the NumPy reference online and with the same
    mini-batches (its updates are in-place BLAS ``dgemm``). Learning rates:
    0.04/0.006 online, 0.1/0.03 per batch-10 update (docs/mnist.md); the
    rates do not change the arithmetic.

    ``n_samples`` must be a multiple of :data:`SS_CHUNK`: a partial chunk is
    padded (simulated, learning off), which would charge ours for samples
    NumPy never sees. ``run_overhead_s`` is what one binary run of the
    batched learner costs outside its simulated steps (a run of one
    mini-batch).
    """
    if n_samples % SS_CHUNK:
        raise ValueError(f"n_samples must be a multiple of {SS_CHUNK}, got {n_samples}")
    from scipy.special import logit

    from brian_dendrites.learners import SteadyStateMicrocircuitClassifier
    from brian_dendrites.tasks import one_hot

    rng = np.random.default_rng(seed)
    X = rng.uniform(0, 1, (n_samples, LAYERS[0]))
    y = rng.integers(0, LAYERS[-1], n_samples)
    U = logit(one_hot(y, LAYERS[-1]))
    build_time = 0.0

    def learner(batch_size, chunk, n_threads=1):
        nonlocal build_time
        rates = dict(eta_PP=0.04 / ms, eta_IP=0.006 / ms) if batch_size == 1 else \
            dict(eta_PP=0.1 / ms, eta_IP=0.03 / ms)
        clf = SteadyStateMicrocircuitClassifier(LAYERS, chunk=chunk, progress=False,
                                                cache_dir=cache_dir, seed=seed,
                                                batch_size=batch_size, threads=n_threads,
                                                lr_decay=1, **rates)
        t0 = time.perf_counter()
        clf.fit(X[:1], y[:1], epochs=0)  # compiles (or reuses) the binary
        build_time += time.perf_counter() - t0
        return clf

    def ours(clf):
        def timer():
            clf.partial_fit(X, y)
            return float(clf.history_.time_s.iloc[-1])
        return timer

    def numpy(batch_size):
        ref = ReferenceMicrocircuit(LAYERS, phi="logistic", bias=True, weight_scale=6.0, seed=seed)
        ref.init_self_predicting("steady_state")

        def timer():
            return ref.fit_steady_state(X, U, epochs=1, batch_size=batch_size,
                                        eta_PP=0.04 if batch_size == 1 else 0.1,
                                        eta_IP=0.006 if batch_size == 1 else 0.03)[-1]["time"]
        return timer

    timers = {"ours online": ours(learner(1, SS_CHUNK)),
              f"ours batch {SS_BATCH}": ours(learner(SS_BATCH, SS_CHUNK)),
              f"ours batch {SS_BATCH}, one run per epoch": ours(learner(SS_BATCH, n_samples))}
    for n in threads:
        if n > 1:
            timers[f"ours batch {SS_BATCH}, {n} threads"] = ours(learner(SS_BATCH, SS_CHUNK, n))
    timers["NumPy online (batch 1)"] = numpy(1)
    timers[f"NumPy batch {SS_BATCH}"] = numpy(SS_BATCH)

    one_batch = learner(SS_BATCH, SS_BATCH)
    overhead = []
    for _ in range(5):
        one_batch.partial_fit(X[:SS_BATCH], y[:SS_BATCH])
        overhead.append(float(one_batch.history_.time_s.iloc[-1]))
    return timers, build_time, min(overhead)


def steady_state_table(n_samples, repeats, cache_dir, threads=(1,)):
    """Print the steady-state table; return rows ``(name, s/sample, ratio vs NumPy same batch)``."""
    timers, build, overhead = steady_state_timers(n_samples, cache_dir, threads=threads)
    best = {k: np.inf for k in timers}
    for _ in range(repeats):  # interleaved: every implementation sees the same load
        for key, timer in timers.items():
            best[key] = min(best[key], timer())
    print(f"\nsteady_state mode, {LAYERS}, {n_samples} MNIST-shaped samples per epoch; "
          f"builds {build:.1f} s; load average {os.getloadavg()[0]:.1f}")
    print(f"one binary run of the batch-{SS_BATCH} learner outside its steps (a run of one "
          f"mini-batch): {1e3 * overhead:.0f} ms")
    print(f"{'implementation':44s} {'s/epoch':>8s} {'ms/sample':>10s} {'vs NumPy same batch':>20s}")
    rows = []
    for name, t in best.items():
        yardstick = best["NumPy online (batch 1)"] if "online" in name else \
            best[f"NumPy batch {SS_BATCH}"]
        print(f"{name:44s} {t:8.3f} {1e3 * t / n_samples:10.3f} {t / yardstick:20.2f}")
        rows.append((f"steady_state: {name}", t / n_samples, t / yardstick))
    return rows


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer steps and repeats")
    parser.add_argument("--cache-dir", default=os.path.join(tempfile.gettempdir(), "bd_bench"))
    parser.add_argument("--steady-state", action="store_true",
                        help="only the steady-state (MNIST procedure) table")
    parser.add_argument("--threads", type=int, nargs="*", default=[1],
                        help="also time our rate-mode circuit and the batched learner with "
                             "these OpenMP thread counts")
    args = parser.parse_args(argv)
    repeats = 2 if args.quick else 5
    if args.steady_state:
        n_samples = SS_CHUNK if args.quick else 4 * SS_CHUNK
        return steady_state_table(n_samples, repeats, args.cache_dir, threads=args.threads)
    n_patterns = 2 if args.quick else 10
    n_steps = 1000
    timers, builds = {}, {}
    for dtype in (np.float64, np.float32):
        name = np.dtype(dtype).name
        timers[f"ours {name}"], builds[name], dense = brian_timer(n_patterns, args.cache_dir,
                                                                  dtype)
        timers[f"np {name}"] = numpy_timer(n_steps, dtype)
    for n in args.threads:
        if n > 1:
            timers[f"ours float64 {n} threads"], builds[f"float64, {n} threads"], _ = \
                brian_timer(n_patterns, args.cache_dir, np.float64, threads=n)
    # interleaved repeats: every implementation sees the same machine load
    best = {k: np.inf for k in timers}
    for _ in range(repeats):
        for key, timer in timers.items():
            best[key] = min(best[key], timer())
    np64 = best["np float64"]
    # the binaries' own VmHWM (RunResult.peak_memory); RUSAGE_CHILDREN would report this
    # Python process's size at fork
    peak_mb = (f"{max(BINARY_PEAKS) / 2**20:.0f} MB" if BINARY_PEAKS and None not in BINARY_PEAKS
               else "n/a")
    np_peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    rows = []
    for name in ("float64", "float32"):
        ours, numpy = best[f"ours {name}"], best[f"np {name}"]
        rows.append((f"brian_dendrites cpp_standalone (dense), {name}", ours, ours / np64,
                     ours / numpy))
        rows.append((f"NumPy in-place BLAS, {name}", numpy, numpy / np64, 1.0))
    for n in args.threads:
        if n > 1:
            ours = best[f"ours float64 {n} threads"]
            rows.append((f"brian_dendrites cpp_standalone (dense), float64, {n} threads", ours,
                         ours / np64, ours / np64))
    print(f"Benchmark 2: microcircuit {LAYERS}, rate mode, 100 ms per sample (1000 steps), "
          f"all rules on, single thread; load average {os.getloadavg()[0]:.1f}")
    print(f"build (first time, or cache reuse): "
          f"{', '.join(f'{k} {v:.1f} s' for k, v in builds.items())}; "
          f"dense projections: {', '.join(dense)}")
    print(f"{'implementation':52s} {'s/sample':>9s} {'vs NumPy f64':>12s} {'vs NumPy same dtype':>20s}")
    for name, t, ratio, same in rows:
        print(f"{name:52s} {t:9.3f} {ratio:12.2f} {same:20.2f}")
    print(f"peak memory: binary {peak_mb}, this Python process (NumPy) {np_peak:.0f} MB")
    rows = [(name, t, ratio) for name, t, ratio, _ in rows]

    n_samples = SS_CHUNK if args.quick else 4 * SS_CHUNK  # whole chunks: no padding
    rows += steady_state_table(n_samples, repeats, args.cache_dir, threads=args.threads)
    return rows


if __name__ == "__main__":
    sys.exit(0 if main() else 1)
