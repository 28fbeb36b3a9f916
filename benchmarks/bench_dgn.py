"""Benchmark 6: Dendritic Gated Networks on MNIST-sized inputs, time per training sample.

Ten one-vs-all DGNs ``[784, 10, 10, 1]`` with 100 branches per neuron (the
issue's network: 21 000 branches, 7.9 M learned and 16.5 M gate weights),
gates on non-negative side information with ``theta = 1`` (~15 % of the
branches open), online learning on every sample.

Ours: :func:`brian_dendrites.circuits.dgn_network` compiled once
(cpp_standalone, dense path), run as a learner runs it: ``--chunk`` samples
per binary run with the state carried (the time includes starting the binary
and the run values' round trip; the binary's own time is printed beside it).
NumPy: :meth:`brian_dendrites.reference.ReferenceDGN.step`, the same
equations, the honest fast form (gates as one BLAS matrix-vector product per
layer over the columns of the non-zero inputs, forward and update only on the
open branches' rows; ours skips the same zero inputs and closed branches, and
stores the hyperplanes, float32 numbers as ``draw_gates`` draws them, in single
precision, computing in double as NumPy does). Before timing,
both run the same samples from zero weights and their outputs are compared.
The gates alone (NumPy's matrix-vector product of the fixed gate weights, as
both implementations compute them every sample) are timed too, to show where
NumPy's time goes (its fancy indexing copies the columns before the product;
ours reads them in place).
Memory: the binary's peak resident size as it reads it itself
(``RunResult.peak_memory``; ``getrusage`` of a child of this large Python
process reports the parent's size at ``fork``) and the NumPy arrays' bytes.

Run: ``python benchmarks/bench_dgn.py [--quick]``
"""

import argparse
import os
import tempfile
import time

for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[var] = "1"

import numpy as np  # noqa: E402

from brian_dendrites.circuits import dgn_network  # noqa: E402
from brian_dendrites.engine import Session  # noqa: E402
from brian_dendrites.gating import draw_gates  # noqa: E402
from brian_dendrites.reference import ReferenceDGN  # noqa: E402

LAYERS, B, C = [784, 10, 10, 1], 100, 10


def data(n, seed=0):
    """MNIST-like samples: sparse non-negative side information with E|z|^2 = 784."""
    rng = np.random.default_rng(seed)
    Z = rng.uniform(0, 1, (n, 784)) * (rng.uniform(size=(n, 784)) < 0.2)
    Z *= np.sqrt(784 / np.mean(np.sum(Z * Z, axis=1)))
    X = (Z - Z.mean()) / Z.std()
    y = rng.integers(0, 10, n)
    return X, Z, np.eye(C)[y]


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="one repeat, shorter runs")
    p.add_argument("--chunk", type=int, default=500)
    a = p.parse_args(argv)
    n = a.chunk
    repeats = 1 if a.quick else 3
    gates = draw_gates(784, LAYERS, B, C, theta_mean=1.0, seed=0)
    X, Z, Y = data(n)
    cache = tempfile.mkdtemp(prefix="bench_dgn_")
    session = Session(lambda: dgn_network(LAYERS, n, n_branches=B, n_classes=C, gates=gates,
                                          eta=1e-3), cache_dir=cache, name="bench_dgn")
    inputs = {"x": X, "side": Z, "target": Y, "learn": np.ones(n)}
    n_check = 50 if a.quick else 100
    ref = ReferenceDGN(LAYERS, gates, B, C, eta=1e-3)
    p_ref = ref.fit_stream(X[:n_check], Z[:n_check], Y[:n_check])
    res = session.run(inputs, carry=False)
    diff = np.abs(session.outputs(res)[:n_check] - p_ref).max()
    print(f"check: first {n_check} outputs, ours vs NumPy: max |diff| = {diff:.1e}")
    ours, binary, peak = [], [], []
    for _ in range(repeats):
        t0 = time.perf_counter()
        res = session.run(inputs, carry=True)
        ours.append((time.perf_counter() - t0) / n)
        binary.append(res.wall_time / n)
        peak.append(res.peak_memory or 0)
    ref = ReferenceDGN(LAYERS, gates, B, C, eta=1e-3)
    n_np = min(n, 100 if a.quick else 300)
    numpy_t = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        ref.fit_stream(X[:n_np], Z[:n_np], Y[:n_np])
        numpy_t.append((time.perf_counter() - t0) / n_np)
    t_ours, t_np = min(ours), min(numpy_t)
    # the gates alone: one BLAS matrix-vector product per layer over the gate weights of the
    # non-zero inputs (~20 % of 16.5 M fixed weights streamed from memory), as both compute them
    gate_t = []
    for _ in range(repeats):  # same samples and averaging as the NumPy timing above
        t0 = time.perf_counter()
        for z in Z[:n_np]:
            ref.gate_values(z)
        gate_t.append((time.perf_counter() - t0) / n_np)
    t_gate = min(gate_t)
    np_bytes = sum(w.nbytes for w in ref.W + ref.V) / 2**20
    print(f"DGN 10 x [784, 10, 10, 1] x {B} branches, online, per training sample:")
    print(f"  ours (cpp_standalone, {n} samples per run): {1e3 * t_ours:.2f} ms"
          f"  (binary's own time {1e3 * min(binary):.2f} ms)")
    print(f"  NumPy reference (BLAS, open rows only):      {1e3 * t_np:.2f} ms")
    print(f"  ratio ours / NumPy: {t_ours / t_np:.2f}x  (target <= 0.5x)")
    print(f"  of which the gates (NumPy, non-zero inputs' columns of {sum(v.size for v in ref.V) / 1e6:.1f} M weights):"
          f" {1e3 * t_gate:.2f} ms = {t_gate / t_np:.2f} of NumPy's time (its fancy-indexed columns "
          f"are copied first; ours streams them in place)")
    print(f"  memory: binary peak RSS {max(peak) / 2**20:.0f} MiB (its own VmHWM; RunResult.peak_memory);"
          f" NumPy weights and gates {np_bytes:.0f} MiB")


if __name__ == "__main__":
    main()
