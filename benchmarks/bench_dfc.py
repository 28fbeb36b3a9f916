"""Benchmark 7: Deep Feedback Control on MNIST-sized inputs, time per training sample.

DFC (Meulemans et al. 2021) ``[784, 256, 256, 256, 10]``, tanh hidden, linear
output, 100 Euler steps of 0.05 ms per sample (the feed-forward sweep and 99
controlled steps), forward learning on every sample (``eta = 0.01`` per layer,
the update averaged over the phase, ``ss = 0``), feedback weights fixed at their
weight-product initialisation (``learn_fb = 0``).

Ours: :func:`brian_dendrites.circuits.dfc_network` compiled once
(cpp_standalone, dense path), run as a learner runs it: ``--chunk`` samples
per binary run with the state carried (the time includes starting the binary
and the run values' round trip; the binary's own time is printed beside it;
the build is timed apart and not counted). NumPy: :class:`FastDFC`, the
equations and step order of :meth:`brian_dendrites.reference.ReferenceDFC.sample`
written fast (preallocated arrays, one BLAS matrix-vector product per layer
and step into a fixed buffer, in-place ufuncs, each step's rank-1 change
accumulated in place by BLAS ``dger`` into a transposed (Fortran-ordered)
buffer, skipped on the feed-forward step where it is zero, and added to the
weights in place on the last step: the weights stay fixed during the phase;
the first layer, whose input and weights are fixed over the phase, computes
its summed input once per sample and applies its change ``G x^T``, ``G`` the
phase's sum of ``eta g``, by one ``dger``, as ours does).
Before timing, the reference, :class:`FastDFC` and ours learn the same samples
from the same weights; their outputs, weights and biases are compared.
Memory: the binary's peak resident size (its own ``VmHWM``,
``RunResult.peak_memory``) and the NumPy weights' bytes.

Run: ``python benchmarks/bench_dfc.py [--quick] [--chunk N]``
"""

import argparse
import os
import resource
import tempfile
import time

for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[var] = "1"

import numpy as np  # noqa: E402
from brian2 import ms  # noqa: E402
from scipy.linalg.blas import dger  # noqa: E402

from brian_dendrites.circuits import dfc_network  # noqa: E402
from brian_dendrites.circuits.dfc import dfc_initial_weights  # noqa: E402
from brian_dendrites.engine import Session  # noqa: E402
from brian_dendrites.reference import ReferenceDFC  # noqa: E402

N_STEPS, DT, ETA = 100, 0.05, 0.01  # steps per sample, step (ms), forward learning rate
P = dict(tau_v=0.2, tau_A=DT, tau_u=1.0, alpha=0.0015, k_p=1.5, lam=0.05)  # the circuit's defaults


class FastDFC:
    """DFC with forward learning: :meth:`ReferenceDFC.sample` (learn on, ``learn_fb`` off,
    no noise), step for step, without temporaries.

    Parameters
    ----------
    layers : list of int
        ``[n_in, n_1, ..., n_L]`` (tanh hidden, linear output).
    weights : dict
        ``W{k}`` and ``Q{k}`` of :func:`dfc_initial_weights` (copied).
    eta : float
        Forward learning rate of every layer.
    n_steps, dt, tau_v, tau_A, tau_u, alpha, k_p, lam, ss
        As in :class:`~brian_dendrites.reference.ReferenceDFC` (time in ms).
    """

    def __init__(self, layers, weights, eta, n_steps=N_STEPS, dt=DT, tau_v=0.2, tau_A=DT,
                 tau_u=1.0, alpha=0.0015, k_p=1.5, lam=0.05, ss=0):
        L = self.L = len(layers) - 1
        self.W = [np.array(weights[f"W{k}"], dtype=float, order="C") for k in range(1, L + 1)]
        self.Q = [np.array(weights[f"Q{k}"], dtype=float) for k in range(1, L + 1)]
        self.phi = [lambda a, out: np.tanh(a, out=out)] * (L - 1) + [lambda a, out: np.copyto(out, a)]
        self.eta, self.n_steps, self.ss = float(eta), n_steps, ss
        self.c_u, self.c_v, self.c_A = dt / tau_u, dt / tau_v, dt / tau_A
        self.alpha, self.k_p, self.lam = alpha, k_p, lam
        self.b, self.db, self.v, self.v_A, self.r, self.g, self.vb, self.qu, self.tmp = (
            [np.zeros(n) for n in layers[1:]] for _ in range(9))
        # the phase's accumulated weight changes, transposed (Fortran order) for dger
        self.dWT = [None] + [np.zeros((layers[k - 1], layers[k]), order="F") for k in range(2, L + 1)]
        self.G = np.zeros(layers[1])  # layer 1's eta g summed over the phase
        self.u_int, self.u, self.err, self.t_out, self.r_ff, self.r_star = (
            np.zeros(layers[-1]) for _ in range(6))

    def sample(self, x, y):
        """One sample's ``n_steps`` steps (state, biases and weights updated in place)."""
        N, L, W, Q = self.n_steps, self.L, self.W, self.Q
        u_int, u, err, t_out = self.u_int, self.u, self.err, self.t_out
        r_L = self.r[-1]
        for s in range(N):
            first = s == 0
            share = 0.0 if first else (1 - self.ss) / (N - 1) + self.ss * (s == N - 1)
            if first:  # err = u_int = u = 0
                u_int.fill(0.0)
                u.fill(0.0)
            else:
                np.subtract(self.r_star, r_L, out=err)
                np.multiply(u, -self.alpha, out=t_out)  # u_int += dt/tau_u (err - alpha u)
                t_out += err
                t_out *= self.c_u
                u_int += t_out
                np.multiply(err, self.k_p, out=u)
                u += u_int
            r_prev = x
            for i in range(L):
                vb, v, v_A, r, t, phi = self.vb[i], self.v[i], self.v_A[i], self.r[i], self.tmp[i], self.phi[i]
                if i or first:  # layer 1's input and parameters are fixed: its vb is held
                    np.dot(W[i], r_prev, out=vb)
                    vb += self.b[i]  # vb = v_B + b
                if first:  # v_A = 0, v = v_B + b, g = 0
                    v_A.fill(0.0)
                    np.copyto(v, vb)
                    phi(v, r)
                else:
                    qu = self.qu[i]
                    np.dot(Q[i], u, out=qu)
                    qu -= v_A  # v_A += dt/tau_A (qu - v_A)
                    qu *= self.c_A
                    v_A += qu
                    np.add(vb, v_A, out=t)  # v += dt/tau_v (v_B + b + v_A - v)
                    t -= v
                    t *= self.c_v
                    v += t
                    phi(v, r)
                    if share:  # g = share (r - phi(v_B + b)); self.g holds g / share
                        phi(vb, t)
                        np.subtract(r, t, out=self.g[i])
                        np.multiply(self.g[i], self.eta * share, out=t)
                        self.db[i] += t
                r_prev = r
            if first:
                np.copyto(self.r_ff, r_L)
                np.subtract(r_L, y, out=t_out)  # r* = r_L - lam (r_L - y)
                np.multiply(t_out, -self.lam, out=self.r_star)
                self.r_star += r_L
            if share:  # dW_i += eta g_i r_{i-1}^T in place: dW_i^T (Fortran order) += eta r_{i-1} g_i^T
                self.G += self.tmp[0]  # layer 1: its input is fixed, its change G x^T (G = sum eta g)
                for i in range(1, L):
                    dger(self.eta * share, self.r[i - 1], self.g[i], a=self.dWT[i], overwrite_a=True)
            if s == N - 1:  # the phase's changes are applied on its last step
                dger(1.0, x, self.G, a=W[0].T, overwrite_a=True)  # W1^T (Fortran) += x G^T
                self.G.fill(0.0)
                for i in range(L):
                    if i:
                        W[i] += self.dWT[i].T
                        self.dWT[i].fill(0.0)
                    self.b[i] += self.db[i]
                    self.db[i].fill(0.0)


def data(n, seed=0):
    """MNIST-like samples: sparse non-negative pixels standardised, one-hot targets of 10 classes."""
    rng = np.random.default_rng(seed)
    Z = rng.uniform(0, 1, (n, 784)) * (rng.uniform(size=(n, 784)) < 0.2)
    X = (Z - Z.mean()) / Z.std()
    return X, np.eye(10)[rng.integers(0, 10, n)]


def check(session, layers, w, X, Y, n_check):
    """The first ``n_check`` samples learned by the reference, :class:`FastDFC` and ours.

    Returns the max |diff| of the outputs and of the weights and biases, ours
    and FastDFC against the reference; the session is reset afterwards.
    """
    L = len(layers) - 1
    ref = ReferenceDFC(layers, [w[f"W{k}"] for k in range(1, L + 1)], None,
                       [w[f"Q{k}"] for k in range(1, L + 1)], dt=DT, n_steps=N_STEPS, eta=ETA, **P)
    fast = FastDFC(layers, w, ETA, **P)
    out_ref, out_fast = [], []
    for x, y in zip(X[:n_check], Y[:n_check]):
        ref.sample(x, y, learn=True)
        fast.sample(x, y)
        out_ref.append(ref.r_ff.copy())
        out_fast.append(fast.r_ff.copy())
    learn = (np.arange(len(X)) < n_check).astype(float)  # later samples: weights unchanged
    res = session.run({"x": X, "target": Y, "learn": learn}, carry=True)
    ours = session.outputs(res)[:n_check]
    d_out = [np.abs(ours - out_ref).max(), np.abs(np.array(out_fast) - out_ref).max()]
    d_w = [0.0, 0.0]
    for k in range(1, L + 1):
        for fam, want, got in ((f"W{k}", ref.W, fast.W), (f"Q{k}", ref.Q, fast.Q), ("b", ref.b, fast.b)):
            mine = session.state[f"nrn{k}.b"] if fam == "b" else session.weights[fam]
            d_w[0] = max(d_w[0], np.abs(mine - want[k - 1]).max())
            d_w[1] = max(d_w[1], np.abs(got[k - 1] - want[k - 1]).max())
    moved = np.abs(ref.W[0] - w["W1"]).max()
    session.reset()
    return d_out, d_w, moved


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="smaller net, one repeat")
    p.add_argument("--chunk", type=int, default=100, help="samples per binary run")
    a = p.parse_args(argv)
    layers = [784, 64, 64, 10] if a.quick else [784, 256, 256, 256, 10]
    n, repeats, n_check = a.chunk, 1 if a.quick else 3, 3
    L = len(layers) - 1
    w = dfc_initial_weights(layers, seed=0, feedback="weight_product")
    X, Y = data(n)
    cache = tempfile.mkdtemp(prefix="bench_dfc_")
    t0 = time.perf_counter()
    # noise=False as the learners without the sleep phase build it (no apical noise drawn)
    session = Session(lambda: dfc_network(layers, n, n_steps=N_STEPS, dt=DT * ms, weights=w, eta=ETA,
                                          feedback="weight_product", ss=0, noise=False),
                      cache_dir=cache, name="bench_dfc")
    t_build = time.perf_counter() - t0
    d_out, d_w, moved = check(session, layers, w, X, Y, n_check)
    print(f"check: first {n_check} samples learned from the same weights (W1 moved by {moved:.1e}), "
          f"vs ReferenceDFC: outputs max |diff| ours {d_out[0]:.1e}, FastDFC {d_out[1]:.1e}; "
          f"weights and biases ours {d_w[0]:.1e}, FastDFC {d_w[1]:.1e}")
    assert max(d_out + d_w) < 1e-9, "the implementations disagree"
    inputs = {"x": X, "target": Y, "learn": np.ones(n)}
    ours, binary = [], []
    peak = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        res = session.run(inputs, carry=True)
        ours.append((time.perf_counter() - t0) / n)
        binary.append(res.wall_time / n)
        peak.append(res.peak_memory)
    fast, numpy_t = FastDFC(layers, w, ETA, **P), []
    for _ in range(repeats):
        t0 = time.perf_counter()
        for x, y in zip(X, Y):
            fast.sample(x, y)
        numpy_t.append((time.perf_counter() - t0) / n)
    t_ours, t_np = min(ours), min(numpy_t)
    # the binary's own VmHWM (RunResult.peak_memory); not RUSAGE_CHILDREN: a child's
    # ru_maxrss starts at this Python process's resident size (taken over at exec)
    rss = "n/a" if None in peak else f"{max(peak) / 2**20:.0f} MiB"
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    np_bytes = sum(m.nbytes for m in fast.W + fast.Q) / 2**20
    print(f"DFC {layers} (tanh, linear output), {N_STEPS} steps of {DT} ms, online, "
          f"forward learning eta={ETA} x {L} layers, fixed feedback, per training sample:")
    print(f"  build (Session: generate + compile, once, not counted): {t_build:.1f} s")
    print(f"  ours (cpp_standalone, {n} samples per run): {1e3 * t_ours:.2f} ms"
          f"  (binary's own time {1e3 * min(binary):.2f} ms)")
    print(f"  NumPy fast (BLAS gemv + in-place dger):      {1e3 * t_np:.2f} ms")
    print(f"  ratio ours / NumPy: {t_ours / t_np:.2f}x  (target <= 0.5x)")
    print(f"  memory: binary peak RSS {rss}; NumPy weights {np_bytes:.1f} MiB "
          f"(this Python process: peak RSS {own:.0f} MiB)")


if __name__ == "__main__":
    main()
