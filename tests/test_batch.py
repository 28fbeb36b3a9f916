"""Mini-batches in the dense path (issue 21): one weight matrix shared by B sample copies.

A batched projection must compute, for every sample's copy, exactly the sums
B separate projections would, and change its weights by the batch mean of
the B per-sample updates; the batched steady-state microcircuit must equal
the NumPy reference trained with the same mini-batches (short last batches
included), and threads must not change a bit.
"""

import numpy as np
import pytest
from brian2 import NeuronGroup, Synapses, TimedArray, ms

from brian_dendrites.activations import ACTIVATIONS
from brian_dendrites.circuits.steady_state import steady_state_microcircuit
from brian_dendrites.dense import batch_mean, batch_size_of, connect_dense
from brian_dendrites.engine import Session, Simulation
from brian_dendrites.learners import SteadyStateMicrocircuitClassifier
from brian_dendrites.learners.base import Presentation
from brian_dendrites.reference.microcircuit import ReferenceMicrocircuit

B, N_PRE, N_POST, STEPS = 3, 7, 5, 4


def _projection_data(seed=0):
    rng = np.random.default_rng(seed)
    return (rng.uniform(0, 1, (STEPS, B * N_PRE)), rng.uniform(-1, 1, (STEPS, B * N_POST)),
            rng.uniform(-1, 1, N_PRE * N_POST))


def _batched_projection(X, E, W0):
    def build():
        x_in = TimedArray(X, dt=1 * ms, name="x_in")
        e_in = TimedArray(E, dt=1 * ms, name="e_in")
        pre = NeuronGroup(B * N_PRE, "r : 1\nback : 1", name="pre")
        pre.run_regularly("r = x_in(t, i)", when="start", name="pre_drive")
        post = NeuronGroup(B * N_POST, "v : 1\nerr : 1\nb : 1", name="post")
        # a learned per-neuron value, changed differently by every copy
        post.run_regularly("err = e_in(t, i)\nb += 0.5*err*(i % 3 + 1)", when="start", order=1,
                           name="post_drive")
        syn = Synapses(pre, post, "dw/dt = eta*err_post*r_pre : 1 (clock-driven)\n"
                                  "v_post = w*r_pre : 1 (summed)\n"
                                  "back_pre = w*err_post : 1 (summed)\neta : 1/second (shared)",
                       method="euler", name="syn")
        connect_dense(syn, batch_size=B)
        syn.w = W0
        syn.eta = 0.3 / ms
        batch_mean(post, ["b"], B)
        return dict(x_in=x_in, e_in=e_in, pre=pre, post=post, syn=syn)
    return build


def test_batched_projection_sums_every_copy_and_applies_the_mean_update(cache_dir):
    X, E, W0 = _projection_data()
    sim = Simulation(_batched_projection(X, E, W0), STEPS * ms, target="cpp_standalone",
                     dt=1 * ms, cache_dir=cache_dir, name="batch_projection")
    assert sim.dense_synapses == ["syn"]
    res = sim.run({}, read=["syn.w", "post.v", "post.b", "pre.back"])
    assert res["syn.w"].shape == (N_PRE * N_POST,)  # one weight per pair, not per copy
    W = W0.reshape(N_PRE, N_POST).copy()
    b = np.zeros(B * N_POST)
    scale = (np.arange(B * N_POST) % 3 + 1).reshape(B, N_POST)
    for t in range(STEPS):
        x, e = X[t].reshape(B, N_PRE), E[t].reshape(B, N_POST)
        b = np.tile((b.reshape(B, N_POST) + 0.5 * e * scale).mean(axis=0), B)
        v = x @ W  # every copy's sum from the shared weights (before this step's update)
        back = e @ W.T  # and onto the presynaptic side
        W = W + 0.3 * np.einsum("bi,bj->ij", x, e) / B  # the batch mean of B updates
    np.testing.assert_allclose(res["post.v"], v.ravel(), rtol=0, atol=1e-13)
    np.testing.assert_allclose(res["pre.back"], back.ravel(), rtol=0, atol=1e-13)
    np.testing.assert_allclose(res["syn.w"], W.ravel(), rtol=0, atol=1e-13)
    np.testing.assert_allclose(res["post.b"], b, rtol=0, atol=1e-13)
    assert np.abs(res["syn.w"] - W0).max() > 0.05  # the updates acted
    # every copy's bias is the same value again
    np.testing.assert_array_equal(res["post.b"].reshape(B, N_POST), res["post.b"][:N_POST][None]
                                  .repeat(B, axis=0))


def test_batched_networks_refuse_every_path_that_would_compute_one_copy():
    X, E, W0 = _projection_data()
    with pytest.raises(ValueError, match="only target='cpp_standalone'"):
        Simulation(_batched_projection(X, E, W0), STEPS * ms, target="numpy", dt=1 * ms)
    with pytest.raises(ValueError, match="batch_size"):
        steady_state_microcircuit([4, 3, 2], 10, batch_size=4)  # 10 samples, batches of 4
    pre, post = NeuronGroup(6, "r : 1"), NeuronGroup(4, "v : 1")
    with pytest.raises(ValueError, match="must divide"):
        connect_dense(Synapses(pre, post, "w : 1"), batch_size=3)
    with pytest.raises(ValueError, match="batch_size"):
        connect_dense(Synapses(pre, post, "w : 1"), batch_size=0)
    syn = connect_dense(Synapses(pre, post, "w : 1"), batch_size=2)
    assert batch_size_of(syn) == 2 and len(syn) == 3 * 2
    with pytest.raises(KeyError, match="no variable 'nope'"):
        batch_mean(post, ["nope"], 2)
    with pytest.raises(ValueError, match="must divide"):
        batch_mean(post, ["v"], 3)
    with pytest.raises(TypeError, match="NeuronGroup"):
        batch_mean(syn, ["w"], 2)
    for kwargs, match in [(dict(batch_size=0), "batch_size"),
                          (dict(batch_size=4, chunk=10), "multiple of batch_size"),
                          (dict(batch_size=2, chunk=4, target="numpy"), "cpp_standalone")]:
        clf = SteadyStateMicrocircuitClassifier([3, 2, 2], progress=False, **kwargs)
        with pytest.raises(ValueError, match=match):
            clf.fit(np.zeros((4, 3)), np.zeros(4, int))


def test_presentation_weighs_a_short_last_batch_by_its_real_samples():
    pres = Presentation(t_slot=1 * ms, batch_size=4)
    # 11 samples, 7 real: batches of 4 real, 3 real + 1 padding, 0 real
    w = pres.sample_weights(12, 7)
    np.testing.assert_allclose(w, [1, 1, 1, 1, 4 / 3, 4 / 3, 4 / 3, 0, 0, 0, 0, 0])
    X, Y = np.arange(24.0).reshape(12, 2), np.ones((12, 1))
    out = pres.inputs(X, Y, 7, learn=True)
    assert out["x"].shape == (3, 8) and out["learn"].shape == (3, 4)
    np.testing.assert_array_equal(out["x"][1], X[4:8].ravel())  # sample-major rows
    np.testing.assert_array_equal(out["nudge"], [1, 1, 0])
    np.testing.assert_array_equal(pres.sample_outputs(out["x"]), X)
    with pytest.raises(ValueError, match="whole mini-batches"):
        pres.inputs(X[:10], Y[:10], 7, learn=True)
    with pytest.raises(ValueError, match="batch_size"):
        Presentation(t_slot=1 * ms, batch_size=0)


LAYERS = [6, 5, 4, 3]
ETAS = dict(eta_PP=[0.3 / ms, 0.2 / ms, 0.1 / ms], eta_IP=0.2 / ms)


def _classification_data(n=23, seed=2):
    rng = np.random.default_rng(seed)
    return rng.uniform(0, 1, (n, LAYERS[0])), rng.integers(0, LAYERS[-1], n)


def _reference_trained(X, y, batch_size, epochs):
    ref = ReferenceMicrocircuit(LAYERS, phi="logistic", bias=True, weight_scale=2.0, seed=3)
    ref.init_self_predicting("steady_state")
    U = ACTIVATIONS["logistic"].inverse(np.where(np.eye(LAYERS[-1])[y] > 0, 0.8, 0.1))
    ref.fit_steady_state(X, U, epochs=epochs, batch_size=batch_size, shuffle=False,
                         eta_PP=[float(e * ms) for e in ETAS["eta_PP"]],
                         eta_IP=float(ETAS["eta_IP"] * ms))
    return ref


def test_batched_learner_equals_the_reference_with_the_same_mini_batches(cache_dir):
    """23 samples in batches of 4 (a last batch of 3) in runs of 8: two epochs."""
    X, y = _classification_data()
    clf = SteadyStateMicrocircuitClassifier(LAYERS, **ETAS, lr_decay=1, weight_scale=2.0, seed=3,
                                            batch_size=4, chunk=8, shuffle=False,
                                            progress=False, cache_dir=cache_dir)
    clf.fit(X, y, epochs=2)
    ref = _reference_trained(X, y, 4, 2)
    init = clf.session_.circuit.initial_weights
    for k in range(1, 4):
        np.testing.assert_allclose(clf.weights_[f"W{k}"], ref.W[k - 1], rtol=0, atol=1e-9)
        assert np.abs(clf.weights_[f"W{k}"] - init[f"W{k}"]).max() > 1e-3
        b = clf.session_.state[f"pyr{k}.b"]
        assert b.shape == (4 * LAYERS[k],)
        np.testing.assert_allclose(b, np.tile(ref.b[k - 1], 4), rtol=0, atol=1e-9)
    for k in range(1, 3):
        np.testing.assert_allclose(clf.weights_[f"IP{k}"], ref.IP[k - 1], rtol=0, atol=1e-9)
        np.testing.assert_allclose(clf.session_.state[f"int{k}.b"], np.tile(ref.bI[k - 1], 4),
                                   rtol=0, atol=1e-9)
    np.testing.assert_allclose(clf.decision_function(X), ref.predict_steady_state(X, "potential"),
                               rtol=0, atol=1e-9)
    # the online reference (batches of 1) ends elsewhere: the batches did change the updates
    assert np.abs(_reference_trained(X, y, 1, 2).W[0] - ref.W[0]).max() > 1e-3
    # one update per mini-batch: a sample's update is its weighted share of the mean
    updates = clf.sample_updates(X[:2], y[:2])
    assert len(updates) == 2 and np.abs(updates[0]["W1"]).max() > 0


@pytest.mark.slow  # an OpenMP build (~35 s); the online threaded path is in the default suite
def test_batched_threads_are_bit_identical_to_one_thread(cache_dir):
    X, y = _classification_data(16)
    kw = dict(**ETAS, lr_decay=1, weight_scale=2.0, seed=3, batch_size=4, chunk=8,
              shuffle=False, progress=False, cache_dir=cache_dir)
    one = SteadyStateMicrocircuitClassifier(LAYERS, **kw).fit(X, y, epochs=2)
    two = SteadyStateMicrocircuitClassifier(LAYERS, threads=2, **kw).fit(X, y, epochs=2)
    for name, W in one.weights_.items():
        np.testing.assert_array_equal(two.weights_[name], W, err_msg=name)
    np.testing.assert_array_equal(two.session_.state["pyr1.b"], one.session_.state["pyr1.b"])


def test_batch_size_one_is_the_online_circuit():
    """batch_size=1 builds the online circuit: 1-D learn flags, one copy per group."""
    s = Session(lambda: steady_state_microcircuit([3, 2, 2], 4, batch_size=1), target="numpy")
    assert s.circuit.input_shape("learn") == (4,) and s.circuit.input_shape("x") == (4, 3)
    assert s.circuit.info["batch_size"] == 1
