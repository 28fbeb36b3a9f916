"""OpenMP threads in compiled simulations (issue 21).

The dense templates split weight updates over presynaptic rows and summed
inputs onto postsynaptic targets over target elements, each element taking
its terms in the serial order: threaded results must equal one thread bit
for bit (GCC; see tests/test_dense.py for the compiler caveat).
"""

import numpy as np
import pytest
from brian2 import Hz, Network, NeuronGroup, Synapses, defaultclock, get_device, ms

from brian_dendrites.dense import apply_dense, connect_dense
from brian_dendrites.engine import Simulation
from brian_dendrites.learners import SteadyStateMicrocircuitClassifier

RULE = """
    dDelta/dt = (err_post*r_pre - Delta)/tau_w : 1 (clock-driven)
    dw/dt = eta*Delta : 1 (clock-driven)
    v_post = w*r_pre : 1 (summed)
    eta : Hz (shared, constant)
    tau_w : second (shared, constant)
    """
POST = """
err : 1
v : 1
target = 0.5 + 0.4*sin(2*pi*20*Hz*t + 0.7*i) : 1
"""
# rows in blocks of four with 1 and 0 left over; targets split at multiples
# of 8 (37: 24 + 13 elements on two threads; 6: all on the first thread)
SHAPES = [(9, 37), (8, 6)]


def _pre(n, **name):
    pre = NeuronGroup(n, "r : 1\nrbase : 1 (constant)", **name)
    pre.rbase = 0.2 + 0.6 * np.arange(n) / n
    pre.run_regularly("r = rbase*(1 + 0.5*sin(2*pi*15*Hz*t + i))", when="start")
    return pre


def _layer(pre, n_post, dense=True, k=None):
    names = {} if k is None else dict(post=dict(name=f"post{k}"), syn=dict(name=f"syn{k}"))
    post = NeuronGroup(n_post, POST, **names.get("post", {}))
    post.run_regularly("err = target - v", when="after_groups")
    syn = Synapses(pre, post, RULE, method="euler", **names.get("syn", {}))
    if dense:
        connect_dense(syn)
    else:
        syn.connect()
    syn.eta = 5 * Hz
    syn.tau_w = 3 * ms
    return post, syn


@pytest.fixture
def two_threads(standalone_device):
    """cpp_standalone active with 2 OpenMP threads (see conftest.standalone_device)."""
    return standalone_device(threads=2)


def test_threaded_dense_templates_equal_serial_stock_code(two_threads, build_standalone):
    """With 2 OpenMP threads, dense updates and sums equal Brian2's serial summed loop."""
    net = Network()
    cases = {}
    for n_pre, n_post in SHAPES:
        pre = _pre(n_pre)
        dense, stock = _layer(pre, n_post), _layer(pre, n_post, dense=False)
        net.add(pre, *dense, *stock)
        cases[n_pre, n_post] = dense, stock
    # row-gated copies (connect_dense(row_gate=...)): the open rows split over threads
    gpre = NeuronGroup(9, "r : 1\ngate : 1")
    gpre.run_regularly("r = 0.5 + 0.3*sin(2*pi*15*Hz*t + i)\n"
                       "gate = int(sin(2*pi*40*Hz*t + 1.3*i) > 0)", when="start")
    gated = {}
    for copy in ("gated", "serial"):
        post = NeuronGroup(37, POST)
        post.run_regularly("err = target - v", when="after_groups")
        syn = Synapses(gpre, post, "dw/dt = gate_pre*eta*err_post*r_pre : 1 (clock-driven)\n"
                       "v_post = gate_pre*w*r_pre : 1 (summed)\neta : Hz (shared, constant)",
                       method="euler")
        connect_dense(syn, row_gate="gate") if copy == "gated" else syn.connect()
        syn.eta = 5 * Hz
        gated[copy] = (post, syn)
        net.add(post, syn)
    net.add(gpre)
    assert len(apply_dense([d[1] for d, _ in cases.values()] + [gated["gated"][1]])) == 3
    net.run(200 * defaultclock.dt)
    build_standalone(two_threads / "build")
    (post_g, syn_g), (post_1, syn_1) = gated["gated"], gated["serial"]
    assert np.min(np.abs(syn_1.w[:])) > 1e-6
    for a, b in ((syn_g.w[:], syn_1.w[:]), (post_g.v[:], post_1.v[:])):
        assert np.max(np.abs(a - b) / np.abs(b)) <= 1e-12  # stock: -ffast-math products
    summed = [c for c in get_device().code_objects.values()
              if c.template_name == "summed_variable" and "_dense_c0" in c.code.cpp_file]
    assert len(summed) == len(SHAPES) + 1  # the threaded dense loop was generated ...
    assert all("#pragma omp parallel" in c.code.cpp_file for c in summed)
    for shape, ((post_d, syn_d), (post_s, syn_s)) in cases.items():
        assert np.min(np.abs(syn_s.w[:])) > 1e-6, shape  # ... and the weights moved
        np.testing.assert_array_equal(syn_d.w[:], syn_s.w[:], err_msg=str(shape))
        np.testing.assert_array_equal(post_d.v[:], post_s.v[:], err_msg=str(shape))


def _build():
    objs = {}
    for k, (n_pre, n_post) in enumerate(SHAPES):
        pre = _pre(n_pre, name=f"pre{k}")
        post, syn = _layer(pre, n_post, k=k)
        objs.update({pre.name: pre, post.name: post, syn.name: syn})
    return objs


def test_simulation_threads_equal_one_thread(cache_dir):
    """``Simulation(threads=2)`` compiles with OpenMP; its results equal one thread's.

    The yardstick is the same network on the numpy target (one thread, no
    compilation): equal to 1e-12, not bit for bit (GCC compiles Brian2's
    own neuron code with ``-ffast-math``; e.g. the ``sin`` of
    ``run_regularly`` rounded one element differently in an OpenMP build).
    The dense templates themselves are bit-identical (the test above).
    """
    read = [f"syn{k}.w" for k in range(len(SHAPES))] + [f"post{k}.v" for k in range(len(SHAPES))]
    sim = Simulation(_build, 20 * ms, cache_dir=cache_dir, name="threads", threads=2)
    assert sim.threads == 2 and len(sim.dense_synapses) == len(SHAPES)
    assert "-fopenmp" in (sim.project_dir / "makefile").read_text()
    assert "omp_set_num_threads(2)" in (sim.project_dir / "main.cpp").read_text()
    threaded = sim.run(read=read)
    serial = Simulation(_build, 20 * ms, target="numpy", name="threads").run(read=read)
    for key in read:
        assert np.any(serial[key] != 0), key
        np.testing.assert_allclose(threaded[key], serial[key], rtol=1e-12, atol=0, err_msg=key)


@pytest.mark.parametrize("kwargs, match", [
    (dict(threads=0), "threads must be a positive integer"),
    (dict(threads=1.5), "threads must be a positive integer"),
    (dict(threads=True), "threads must be a positive integer"),
    (dict(threads=2, target="numpy"), "threads=2 needs target='cpp_standalone'"),
])
def test_threads_validation(kwargs, match):
    with pytest.raises(ValueError, match=match):
        Simulation(_build, 1 * ms, **kwargs)


# ------------------------------------------------------------------ learners
def _blobs(n=120, d=12, k=3, seed=3):
    rng = np.random.default_rng(seed)
    centres = rng.uniform(0, 1, (k, d))
    y = rng.integers(0, k, n)
    return np.clip(centres[y] + rng.normal(0, 0.1, (n, d)), 0, 1), y


@pytest.mark.parametrize("kwargs, match", [
    (dict(threads=0), "threads"),
    (dict(threads="2"), "threads"),
    (dict(threads=2, target="numpy"), "threads=2 needs target='cpp_standalone'"),
])
def test_learner_threads_validation(kwargs, match):
    X, y = _blobs()
    clf = SteadyStateMicrocircuitClassifier([12, 8, 3], progress=False, **kwargs)
    with pytest.raises((ValueError, TypeError), match=match):
        clf.fit(X, y, epochs=0)


@pytest.mark.slow  # two builds
def test_learner_with_two_threads_learns_as_with_one(cache_dir):
    """A learner's ``threads`` reaches its binary; training equals one thread's (no noise here)."""
    X, y = _blobs()
    fitted = {}
    for threads in (1, 2):
        clf = SteadyStateMicrocircuitClassifier([12, 8, 3], chunk=60, progress=False,
                                                cache_dir=cache_dir, threads=threads)
        clf.fit(X, y, epochs=2)
        assert clf.session_.simulation.threads == threads
        assert clf.get_params()["threads"] == threads
        fitted[threads] = clf
    assert fitted[1].history_.train_loss.iloc[-1] < fitted[1].history_.train_loss.iloc[0]
    w1, w2 = fitted[1].weights_, fitted[2].weights_
    assert set(w1) == set(w2) and w1
    for name in w1:
        np.testing.assert_allclose(w2[name], w1[name], rtol=1e-12, atol=0, err_msg=name)
