"""Benchmark: a 784 -> 500 dense plastic rate layer, 1000 steps, one thread.

Every step of every implementation computes the same equations in the same
order (Brian's schedule):

1. summed input ``v_j = sum_i w_ij r_i``        (summed variable, ``groups`` slot, order -1)
2. weight update ``w_ij += dt*eta*err_j*r_i``    (synaptic state update, ``groups`` slot, order 0;
   Brian writes it as ``dw/dt = eta*err_post*r_pre : 1 (clock-driven)``)
3. error ``err_j = target_j - v_j``              (``run_regularly`` of the post group, ``after_groups``)

with fixed random presynaptic rates ``r`` and targets.  Compared:

* stock Brian2 ``cpp_standalone``,
* the same Brian2 model with `brian_dendrites.dense.apply_dense` (dense all-to-all loops),
* NumPy with ``np.outer``,
* NumPy with in-place BLAS: ``scipy.linalg.blas.dger`` / ``sger`` (``overwrite_a=True`` on a
  Fortran-ordered weight matrix) and ``dgemv`` / ``sgemv`` for the summed input.

Brian times are the binary's own network-run time (``results/last_run_info.txt``), NumPy
times the 1000-step loop.  Both binaries are compiled first; then the repeats of every
implementation are interleaved (NumPy BLAS, stock, dense, NumPy BLAS, ...) so that all see the
same machine load, and the minimum of each is reported (``np.outer``: three repeats).  The
compile time is reported separately.  BLAS is limited to one thread.

Run ``python benchmarks/bench_dense_layer.py`` (add ``--quick`` for fewer repeats).
``--threads N`` also builds the dense layer with N OpenMP threads
(``devices.cpp_standalone.openmp_threads``; weight updates split over rows, the
summed input over target neurons) and prints its speed-up over one thread and
whether its weights equal the one-thread weights bit for bit. NumPy stays on
one thread (BLAS threads would be a different comparison).
"""

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import shutil  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402

import numpy as np  # noqa: E402
from scipy.linalg import blas  # noqa: E402

N_PRE, N_POST, N_STEPS = 784, 500, 1000
DT = 1e-4  # second
ETA = 0.5  # 1/second


def make_data(seed=1234):
    """Presynaptic rates, targets and initial weights (float64).

    Parameters
    ----------
    seed : int
        Seed of the NumPy generator.

    Returns
    -------
    r : ndarray, shape (N_PRE,)
    target : ndarray, shape (N_POST,)
    w0 : ndarray, shape (N_PRE, N_POST)
    """
    rng = np.random.default_rng(seed)
    r = rng.random(N_PRE)
    target = rng.random(N_POST)
    w0 = rng.normal(0, 0.05, size=(N_PRE, N_POST))
    return r, target, w0


def numpy_outer(r, target, w0, dtype):
    """The layer with ``np.outer``; returns (seconds, final weights)."""
    r, target = r.astype(dtype), target.astype(dtype)
    w = w0.astype(dtype)
    err = np.zeros(N_POST, dtype=dtype)
    alpha = dtype(DT * ETA)
    t0 = time.perf_counter()
    for _ in range(N_STEPS):
        v = r @ w
        w += alpha * np.outer(r, err)
        err = target - v
    return time.perf_counter() - t0, w


def numpy_blas(r, target, w0, dtype):
    """The layer with in-place BLAS ger/gemv; returns (seconds, final weights)."""
    ger = blas.dger if dtype == np.float64 else blas.sger
    gemv = blas.dgemv if dtype == np.float64 else blas.sgemv
    r, target = r.astype(dtype), target.astype(dtype)
    w = np.asfortranarray(w0.astype(dtype))
    err = np.zeros(N_POST, dtype=dtype)
    alpha = float(DT * ETA)
    t0 = time.perf_counter()
    for _ in range(N_STEPS):
        v = gemv(1.0, w, r, trans=1)
        w = ger(alpha, r, err, a=w, overwrite_a=True)
        err = target - v
    elapsed = time.perf_counter() - t0
    return elapsed, w


def brian_layer(r, target, w0, dtype, dense, directory, threads=0):
    """Build the layer in cpp_standalone, run it once, and return how to time it.

    Returns
    -------
    compile_time : float
        Seconds for ``device.build(..., run=False)`` (code generation + compilation).
    w : ndarray, shape (N_PRE, N_POST)
        Final weights of the first run.
    timer : callable
        ``timer()`` runs the compiled binary again with the same run values and
        returns its own network-run time (``results/last_run_info.txt``), so that
        repeats of Brian and of NumPy can be interleaved under the same load.
    switched : list of str
        What `apply_dense` switched (empty for stock).

    ``threads``: OpenMP threads of the binary (0: none).
    """
    import subprocess

    import brian2 as b2
    from brian2 import Network, NeuronGroup, Synapses, device, prefs, second
    from brian2.devices.device import reinit_devices, reset_device, set_device

    from brian_dendrites.dense import apply_dense, connect_dense

    set_device("cpp_standalone", build_on_run=False)
    try:
        prefs.devices.cpp_standalone.openmp_threads = threads
        prefs.core.default_float_dtype = dtype
        b2.defaultclock.dt = DT * second
        pre = NeuronGroup(N_PRE, "r : 1 (constant)", name="pre")
        pre.r = r
        post = NeuronGroup(
            N_POST, "err : 1\nv : 1\ntarget : 1 (constant)", name="post"
        )
        post.target = target
        post.run_regularly("err = target - v", when="after_groups")
        syn = Synapses(
            pre,
            post,
            """dw/dt = eta*err_post*r_pre : 1 (clock-driven)
               v_post = w*r_pre : 1 (summed)
               eta : 1/second (shared, constant)""",
            method="euler",
            name="layer",
        )
        if dense:
            connect_dense(syn)
        else:
            syn.connect()
        syn.eta = ETA / second
        net = Network(pre, post, syn)
        switched = apply_dense(net) if dense else []
        net.run(N_STEPS * DT * second, namespace={})
        t0 = time.perf_counter()
        device.build(directory=directory, compile=True, run=False)
        compile_time = time.perf_counter() - t0
        # synapse s connects i = s // N_POST to j = s % N_POST in both
        # variants, so the C-order ravel of w0 is the initial weight vector
        w_init = np.ascontiguousarray(w0, dtype=dtype).ravel()
        device.run(directory=directory, with_output=False, run_args={syn.w: w_init})
        w = np.asarray(syn.w[:]).reshape(N_PRE, N_POST)
        # the same command line again (the value file is now in static_arrays)
        name, string_value, _, _ = device._prepare_variableview_run_arg(syn.w, w_init)
        results = os.path.join(directory, "results_timing")
        os.makedirs(results, exist_ok=True)
        cmd = [os.path.join(directory, "main"), "--results_dir", results + os.sep,
               f"{name}={string_value}"]
    finally:
        prefs.devices.cpp_standalone.openmp_threads = 0
        device.reinit()
        reset_device()
        reinit_devices()

    def timer():
        subprocess.run(cmd, cwd=directory, check=True, stdout=subprocess.DEVNULL)
        with open(os.path.join(results, "last_run_info.txt")) as f:
            return float(f.read().split()[0])

    return compile_time, w, timer, switched


def main(argv=None):
    """Run the benchmark and print the table.

    Parameters
    ----------
    argv : list of str, optional
        Command line arguments (``--quick``, ``--build-dir DIR``).
    """
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repeats")
    parser.add_argument(
        "--build-dir", default=None, help="where to build (default: a temporary dir)"
    )
    parser.add_argument("--threads", type=int, default=0,
                        help="also time the dense layer with this many OpenMP threads (>= 2)")
    args = parser.parse_args(argv)
    if args.threads == 1 or args.threads < 0:
        parser.error(f"--threads must be at least 2 (or 0: off), got {args.threads}")
    # Brian's post-run NaN check compares float32 arrays with 1e50
    warnings.filterwarnings("ignore", "overflow encountered in cast")
    repeats = 3 if args.quick else 10
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

    r, target, w0 = make_data()
    root = args.build_dir or tempfile.mkdtemp(prefix="bench_dense_")
    rows = []
    try:
        for dtype in (np.float64, np.float32):
            name = np.dtype(dtype).name
            builds = {}
            variants = [("stock", False, 0), ("dense", True, 0)]
            if args.threads:
                variants.append(("threads", True, args.threads))
            for label, dense, threads in variants:
                directory = os.path.join(root, f"{label}_{name}")
                builds[label] = brian_layer(r, target, w0, dtype, dense, directory, threads)
            # interleave the repeats so that every implementation sees the
            # same machine load; keep the minimum of each
            times = {"outer": [], "blas": [], **{label: [] for label in builds}}
            w_blas = None
            for rep in range(repeats):
                if rep < 3:  # np.outer is slow and never close
                    times["outer"].append(numpy_outer(r, target, w0, dtype)[0])
                t_b, w_b = numpy_blas(r, target, w0, dtype)
                times["blas"].append(t_b)
                w_blas = w_b if w_blas is None else w_blas
                for label in builds:
                    times[label].append(builds[label][2]())
            outer, t_blas = min(times["outer"]), min(times["blas"])
            res = {label: (builds[label][0], min(times[label]), builds[label][1],
                           builds[label][3]) for label in builds}
            assert res["dense"][3] == ["layer"], res["dense"][3]
            w_stock, w_dense = res["stock"][2], res["dense"][2]
            scale = np.max(np.abs(w_blas))
            rows.append(
                dict(
                    dtype=name,
                    stock=res["stock"][1],
                    dense=res["dense"][1],
                    outer=outer,
                    blas=t_blas,
                    compile_stock=res["stock"][0],
                    compile_dense=res["dense"][0],
                    identical=bool(np.array_equal(w_stock, w_dense)),
                    dense_vs_stock=float(np.max(np.abs(w_dense - w_stock)) / scale),
                    brian_vs_blas=float(np.max(np.abs(w_dense - w_blas)) / scale),
                )
            )
            if args.threads:
                rows[-1].update(threads=res["threads"][1],
                                threads_identical=bool(np.array_equal(res["threads"][2], w_dense)))
    finally:
        if args.build_dir is None:
            shutil.rmtree(root, ignore_errors=True)

    print(
        f"\n{N_PRE}->{N_POST} dense plastic rate layer, {N_STEPS} steps, one thread, "
        f"min of {repeats} runs (seconds)"
    )
    header = (
        f"{'dtype':8s} {'stock':>8s} {'dense':>8s} {'np.outer':>9s} {'ger':>8s} "
        f"{'dense/ger':>9s} {'stock/ger':>9s} {'compile s/d':>12s}  w: dense==stock, "
        "max|dense-stock|, max|brian-ger| (rel.)"
    )
    print(header)
    for row in rows:
        print(
            f"{row['dtype']:8s} {row['stock']:8.3f} {row['dense']:8.3f} "
            f"{row['outer']:9.3f} {row['blas']:8.3f} {row['dense'] / row['blas']:9.2f} "
            f"{row['stock'] / row['blas']:9.2f} "
            f"{row['compile_stock']:5.1f}/{row['compile_dense']:<5.1f}  "
            f"{row['identical']!s:5s} {row['dense_vs_stock']:.1e} {row['brian_vs_blas']:.1e}"
        )
    if args.threads:
        print(f"\ndense layer with {args.threads} OpenMP threads (on {os.cpu_count()} cores)")
        for row in rows:
            print(f"{row['dtype']:8s} {row['threads']:8.3f} s vs {row['dense']:.3f} s on one thread: "
                  f"{row['dense'] / row['threads']:.2f}x faster, {row['threads'] / row['blas']:.2f}x "
                  f"one-thread BLAS; weights equal to one thread's bit for bit: "
                  f"{row['threads_identical']}")
    return rows


if __name__ == "__main__":
    main()
