"""Deep Feedback Control: Brian2 circuit = NumPy reference, steady states, angles, learners."""

import warnings

import numpy as np
import pytest
from brian2 import DimensionMismatchError, ms, mV

from brian_dendrites import DeepFeedbackControlClassifier, DeepFeedbackControlRegressor
from brian_dendrites.circuits import dfc_network
from brian_dendrites.circuits.dfc import control_errors, dfc_initial_weights
from brian_dendrites.engine import DivergenceError, Session
from brian_dendrites.lab import angle_deg
from brian_dendrites.learners.dfc import ControllerWarning
from brian_dendrites.reference import ReferenceDFC
from brian_dendrites.reference.dfc import flatten_updates
from brian_dendrites.tasks import teacher_student_regression

TOY = [15, 10, 10, 5]  # the paper's toy network (Fig. 3)


def _ref(layers, w, biases=None, **kw):
    L = len(layers) - 1
    return ReferenceDFC(layers, [w[f"W{k}"] for k in range(1, L + 1)], biases,
                        [w[f"Q{k}"] for k in range(1, L + 1)], **kw)


def _toy_data(n, seed):
    """The toy teacher (tanh hidden, linear output), inputs and targets standardised-ish."""
    teacher = teacher_student_regression(1, TOY, seed=11, phi="tanh", output_phi="linear",
                                         gains=1.0)
    return teacher_student_regression(n, weights=teacher.weights, seed=seed, phi="tanh",
                                      output_phi="linear", gains=1.0)


# ------------------------------------------------- circuit = NumPy reference
@pytest.mark.parametrize("target, loss, noise", [
    ("numpy", "mse", True), ("cpp_standalone", "mse", True), ("numpy", "xent", True),
    ("numpy", "mse", False),
    pytest.param("cpp_standalone", "xent", True, marks=pytest.mark.slow),
    pytest.param("cpp_standalone", "mse", False, marks=pytest.mark.slow)])
def test_circuit_equals_numpy_reference_step_for_step(target, loss, noise, cache_dir):
    """4-3-3-2, 20 steps per sample, forward and feedback plasticity, a filtered apical
    compartment: outputs, weights, biases, potentials and control signal after 2 x 3 samples;
    squared error, or softmax cross-entropy (3 outputs, the softmax summed by synapses);
    with and without the (here zero) apical noise built. On cpp_standalone the first layer
    runs the held-input form and the others the write-gated update (docs/dfc.md, Speed).
    """
    layers, n, N = [4, 3, 3, 2 if loss == "mse" else 3], 3, 20
    rng = np.random.default_rng(1)
    w = dfc_initial_weights(layers, seed=2, feedback="random")
    biases = [rng.normal(0, 0.1, k) for k in layers[1:]]
    P = dict(alpha=0.1, k_p=1.5, lam=0.2, eta_fb=0.05, beta_fb=0.01)
    ref = _ref(layers, w, biases, n_steps=N, dt=0.02, tau_A=0.05, eta=[0.1, 0.2, 0.3],
               loss=loss, **P)
    s = Session(lambda: dfc_network(layers, n, n_steps=N, weights=w, biases=biases,
                                    tau_A=0.05 * ms, eta=[0.1, 0.2, 0.3], learn_fb=1, loss=loss,
                                    noise=noise, **P),
                target=target, cache_dir=cache_dir, name=f"dfc_equality_{loss}_{noise}")
    for run in range(2):
        X = rng.normal(size=(n, 4))
        Y = rng.normal(size=(n, 2)) if loss == "mse" else np.eye(3)[rng.integers(0, 3, n)]
        r_ff = []
        for x, y in zip(X, Y):
            ref.sample(x, y, learn=True, learn_fb=True)
            r_ff.append(ref.r_ff.copy())
        res = s.run({"x": X, "target": Y, "learn": np.ones(n)}, carry=True)
        np.testing.assert_allclose(s.outputs(res), r_ff, rtol=0, atol=1e-9)
        for k in range(1, 4):
            for fam in ("W", "Q"):
                np.testing.assert_allclose(s.weights[f"{fam}{k}"], getattr(ref, fam)[k - 1],
                                           rtol=0, atol=1e-9, err_msg=f"{fam}{k}, run {run}")
            for var in ("b", "v", "v_A"):
                np.testing.assert_allclose(s.state[f"nrn{k}.{var}"],
                                           getattr(ref, var)[k - 1], rtol=0, atol=1e-9)
        np.testing.assert_allclose(s.state["ctrl.u"], ref.u, rtol=0, atol=1e-9)
    for k in range(1, 4):  # both rules changed the weights
        assert np.abs(s.weights[f"W{k}"] - w[f"W{k}"]).max() > 1e-4
        assert np.abs(s.weights[f"Q{k}"] - w[f"Q{k}"]).max() > 1e-4


# ------------------------------------------------- steady state (DFC-SSA)
def _one_sample(feedback, cache_dir, lam=0.002, ss=1, eta=0.0, seed=0):
    """The toy network on one sample, with Q = J^T ('jacobian') or the weight product.

    500 steps of 0.04 ms (20 controller time constants): converged to 1e-6.
    The simulated steady state differs from the linearised one by O(lam):
    relative 1e-4 at lam = 0.002 (2.6e-3 at lam = 0.02).
    """
    n_steps, dt = 500, 0.04
    rng = np.random.default_rng(seed)
    x, y = rng.normal(size=15), rng.normal(size=5)
    w = dfc_initial_weights(TOY, seed=seed)
    ref = _ref(TOY, w, dt=dt, tau_A=dt, n_steps=n_steps, lam=lam, ss=ss, eta=eta)
    if feedback == "jacobian":
        ref.Q = ref.jacobian_feedback(x)
        w.update({f"Q{k}": q for k, q in enumerate(ref.Q, start=1)})
    # lam, ss and eta as run values: the three tests share one binary
    s = Session(lambda: dfc_network(TOY, 1, n_steps=n_steps, dt=dt * ms, weights=w,
                                    record_steps=True),
                target="cpp_standalone", cache_dir=cache_dir, name="dfc_toy_sample")
    values = {"ctrl.lam": lam, **{f"nrn{k}.{p}": v for k in range(1, 4)
                                  for p, v in (("ss", float(ss)), ("eta", eta))}}
    res = s.run({"x": x[None], "target": y[None], "learn": np.ones(1)}, values=values,
                carry=True, read=["step_mon.err", "step_mon.r_L", "step_mon.u"])
    return ref, s, res, x, y, w


@pytest.mark.parametrize("feedback", ["jacobian", "weight_product"])
def test_controller_reaches_the_analytic_steady_state(feedback, cache_dir):
    """u(end) = (J Q + alpha I)^{-1} delta to 1e-3; r_L = r* - alpha u; error down >= 100x."""
    ref, s, res, x, y, _ = _one_sample(feedback, cache_dir)
    u_ss = ref.steady_state_control(x, y)
    u = s.state["ctrl.u"]
    assert np.linalg.norm(u - u_ss) / np.linalg.norm(u_ss) < 1e-3
    r_star = s.state["ctrl.r_star"]
    np.testing.assert_allclose(r_star, ref.forward(x)[-1][1] + ref.output_delta(x, y), atol=1e-12)
    err = res["step_mon.err"]  # (n_out, n_steps): r* - r_L seen by the controller
    start, end = np.linalg.norm(err[:, 1]), np.linalg.norm(r_star - res["step_mon.r_L"][:, -1])
    assert end < start / 100
    np.testing.assert_allclose(res["step_mon.r_L"][:, -1], r_star - ref.alpha * u,
                               atol=1e-4 * np.linalg.norm(r_star - ref.r_ff))
    assert ref.is_stable(x)


def test_steady_state_update_is_dfc_ssa_and_closer_to_gauss_newton_than_backprop(cache_dir):
    """DFC-SS with Q = J^T in the toy setting: within 2 degrees of DFC-SSA, nearer GN than BP."""
    eta = 1e-4
    ref, s, res, x, y, w = _one_sample("jacobian", cache_dir, lam=0.05, eta=eta)
    upd = [((s.weights[f"W{k}"] - w[f"W{k}"]) / eta, s.state[f"nrn{k}.b"] / eta)
           for k in range(1, 4)]
    sim = flatten_updates(upd)
    ssa = flatten_updates(ref.ssa_update(x, y))
    gn = flatten_updates(ref.gauss_newton_update(x, y))
    bp = flatten_updates(ref.backprop_update(x, y))
    assert angle_deg(sim, ssa) < 2.0
    assert angle_deg(sim, gn) < angle_deg(sim, bp) - 5.0
    # the NumPy reference agrees, and the analytic directions are not trivially equal
    assert angle_deg(gn, bp) > 10.0


def test_unstable_feedback_is_reported_not_silent():
    """Q = -J^T violates the stability condition: control_errors and the learner say so."""
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(1, 15)), rng.normal(size=(1, 5))
    w = dfc_initial_weights(TOY, seed=0)
    ref = _ref(TOY, w)
    w.update({f"Q{k}": -q for k, q in enumerate(ref.jacobian_feedback(x[0]), start=1)})
    ref.Q = [-q for q in ref.jacobian_feedback(x[0])]
    assert not ref.is_stable(x[0])
    s = Session(lambda: dfc_network(TOY, 1, n_steps=100, dt=0.05 * ms, weights=w),
                target="numpy", name="dfc_unstable")
    keys = ["out_mon.err", "ctrl.err", "out_mon.r_star", "ctrl.r_star", "out_mon.r_ff",
            "ctrl.r_ff"]
    res = s.run({"x": x, "target": y, "learn": np.zeros(1)}, read=keys, carry=False)
    assert control_errors(res)[0] > 1.0
    s.set_weights({k: v for k, v in dfc_initial_weights(TOY, seed=0).items() if k[0] == "Q"})
    res = s.run({"x": x, "target": y, "learn": np.zeros(1)}, read=keys, carry=False)
    assert control_errors(res)[0] < 0.05
    # the learner: mildly unstable -> a warning naming the cause and a history column;
    # violently unstable -> the divergence error says why
    X, Y = rng.normal(size=(10, 15)), rng.normal(size=(10, 5))
    reg = DeepFeedbackControlRegressor(chunk=10, target="numpy", progress=False,
                                       feature_scaling="none")
    reg.fit(X, Y, epochs=0)
    Q0 = reg.weights_
    reg.set_weights({f"Q{k}": -0.1 * Q0[f"Q{k}"] for k in range(1, 4)})
    with pytest.warns(ControllerWarning, match="stability condition"):
        reg.partial_fit(X, Y)
    assert reg.history_["not_converged"].iloc[-1] > 0.5
    reg.set_weights({f"Q{k}": -3 * Q0[f"Q{k}"] for k in range(1, 4)})
    with pytest.raises(DivergenceError, match="stability condition"):
        reg.partial_fit(X, Y)


# ------------------------------------------------- sleep phase: Q learns from noise
def _q_angle(ref, X):
    return np.mean([angle_deg(np.concatenate([q.ravel() for q in ref.Q]),
                              np.concatenate([j.T.ravel() for j in ref.jacobians(x)]))
                    for x in X])


def test_sleep_phase_turns_random_feedback_into_useful_feedback(cache_dir):
    """Noise only (no target, no forward learning): the angle of Q to J^T halves and the
    controller becomes stable. The official code's feedback-phase settings, online.
    """
    n, N = 300, 50
    rng = np.random.default_rng(1)
    X = rng.normal(size=(n, 15))
    w = dfc_initial_weights(TOY, seed=0, feedback="random")
    ref = _ref(TOY, w)
    start = _q_angle(ref, X[:20])
    assert start > 80 and not any(ref.is_stable(x) for x in X[:20])
    s = Session(lambda: dfc_network(TOY, n, n_steps=N, dt=0.002 * ms, weights=w),
                target="cpp_standalone", cache_dir=cache_dir, name="dfc_sleep", seed=3)
    sleep = {"ctrl.lam": 0.0, "ctrl.alpha": 0.25, "ctrl.k_p": 0.1}
    for k in range(1, 4):
        sleep.update({f"nrn{k}.learn_fb": 1.0, f"nrn{k}.sigma": 0.01, f"nrn{k}.eta_fb": 2000.0,
                      f"nrn{k}.tau_v": 0.01 * ms, f"nrn{k}.tau_A": 0.3 * ms})
    s.run({"x": X, "target": np.zeros((n, 5)), "learn": np.zeros(n)}, values=sleep, carry=True)
    for k in range(1, 4):
        np.testing.assert_array_equal(s.weights[f"W{k}"], w[f"W{k}"])  # forward weights fixed
    ref.Q = [s.weights[f"Q{k}"] for k in range(1, 4)]
    end = _q_angle(ref, X[:20])
    assert end < start / 2
    assert all(ref.is_stable(x) for x in X[:20])  # with the training alpha (0.0015)


# ------------------------------------------------- learners
def test_regressor_with_defaults_learns_the_toy_task_beside_backprop(cache_dir):
    """Default arguments, 300 samples, 20 epochs: test MSE at least 3x below its start."""
    from brian_dendrites.reference import MLP

    train, test = _toy_data(300, seed=1), _toy_data(200, seed=2)
    reg = DeepFeedbackControlRegressor(cache_dir=cache_dir, progress=False)
    reg.fit(train.X, train.R, epochs=0)
    start = np.mean((reg.predict(test.X) - test.R) ** 2)
    reg.fit(train.X, train.R, validation_data=(test.X, test.R))
    end = np.mean((reg.predict(test.X) - test.R) ** 2)
    assert reg.epochs_done_ == 20 and (reg.history_["not_converged"] == 0).all()
    assert end < start / 3, (start, end)
    assert reg.score(test.X, test.R) > 0.6
    # backprop on the same samples (standardised the same way), as a yardstick
    mlp = MLP([15, 10, 10, 5], activation="tanh", output_activation="linear", lr=0.01, seed=0)
    Xs, Ys = reg.network_inputs(train.X), (train.R - reg.target_offset_) / reg.target_scale_
    mlp.fit(Xs, Ys, epochs=20, batch_size=1)
    bp = np.mean(((mlp.predict(reg.network_inputs(test.X)) * reg.target_scale_ + reg.target_offset_)
                  - test.R) ** 2)
    assert end < 3 * bp, (end, bp)


def test_classifier_learns_a_separable_task():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 4))
    y = np.where(X[:, 0] + 0.5 * X[:, 1] > 0, "a", "b")
    clf = DeepFeedbackControlClassifier(hidden_layers=(8,), n_steps=30, epochs=4, chunk=150,
                                        target="numpy", progress=False)
    clf.fit(X[:150], y[:150])
    assert set(clf.classes_) == {"a", "b"} and clf.n_outputs_ == 2
    assert clf.score(X[150:], y[150:]) > 0.85
    with pytest.raises(ValueError, match=r"labels \[.c.\] are not among the classes"):
        clf.score(X[:3], np.array(["a", "c", "b"]))


def test_classifier_losses_cross_entropy_and_squared_error():
    """'xent' (default): probabilities are the outputs' softmax and the loss is their
    cross-entropy; 'mse': no probabilities, squared error to one-hot targets.
    """
    rng = np.random.default_rng(0)
    X = rng.normal(size=(12, 3))
    y = (X[:, 0] > 0).astype(int)
    kw = dict(hidden_layers=(4,), n_steps=6, chunk=12, target="numpy", progress=False)
    clf = DeepFeedbackControlClassifier(**kw).fit(X, y, epochs=1)
    out = clf._outputs(X)
    p = np.exp(out) / np.exp(out).sum(axis=1, keepdims=True)
    np.testing.assert_allclose(clf.predict_proba(X), p, rtol=1e-12)
    assert clf.loss(X, y) == pytest.approx(-np.mean(np.log(p[np.arange(12), y])), rel=1e-12)
    mse = DeepFeedbackControlClassifier(output_loss="mse", **kw).fit(X, y, epochs=0)
    assert mse._loss(out, np.eye(2)[y]) == pytest.approx(np.mean((out - np.eye(2)[y]) ** 2))
    with pytest.raises(ValueError, match="predict_proba.*output_loss='mse'"):
        mse.predict_proba(X)


def test_learner_save_load_and_partial_fit(tmp_path):
    rng = np.random.default_rng(0)
    X, Y = rng.normal(size=(30, 3)), rng.normal(size=(30, 2))
    reg = DeepFeedbackControlRegressor(hidden_layers=(4,), n_steps=20, chunk=30, epochs=1,
                                       target="numpy", progress=False, variant="dfc_ss")
    reg.partial_fit(X, Y)
    path = reg.save(tmp_path / "dfc")
    again = DeepFeedbackControlRegressor.load(path)
    np.testing.assert_array_equal(again.predict(X), reg.predict(X))
    assert again.n_features_in_ == 3 and again.variant == "dfc_ss"
    reg.partial_fit(X, Y)
    assert reg.epochs_done_ == 2
    # a learner saved before the first layer's held form (W1.dw_acc, noise_A; no G, v_B0)
    old = reg.__getstate__()
    state = dict(old["_pickled_state"])
    for key in ("nrn1.G", "nrn1.v_B0"):
        del state[key]
    state["W1.dw_acc"] = np.zeros_like(state["W1.w"])
    state["nrn1.noise_A"] = np.zeros(4)
    migrated = DeepFeedbackControlRegressor.__new__(DeepFeedbackControlRegressor)
    migrated.__setstate__({**old, "_pickled_state": state})
    np.testing.assert_array_equal(migrated.predict(X), reg.predict(X))
    state["nrn1.bogus"] = np.zeros(4)  # anything else is still refused, by name
    with pytest.raises(KeyError, match="nrn1.bogus"):
        DeepFeedbackControlRegressor.__new__(DeepFeedbackControlRegressor).__setstate__(
            {**old, "_pickled_state": state})


# ------------------------------------------------- bad input
def test_bad_input_gets_named_errors():
    with pytest.raises(ValueError, match="alpha"):
        dfc_network([3, 2], 1, alpha=0.0)
    with pytest.raises(ValueError, match=r"weights\['Q1'\]"):
        dfc_network([3, 2, 2], 1, weights={"Q1": np.zeros((3, 3))})
    with pytest.raises(KeyError, match="unknown family"):
        dfc_network([3, 2], 1, weights={"B1": np.zeros((2, 3))})
    with pytest.raises(ValueError, match="n_steps"):
        dfc_network([3, 2], 1, n_steps=1)
    with pytest.raises(TypeError, match="dt"):
        dfc_network([3, 2], 1, dt=0.02)
    with pytest.raises(DimensionMismatchError):
        dfc_network([3, 2], 1, tau_v=0.2 * mV)
    with pytest.raises(ValueError, match="eta"):
        dfc_network([3, 2, 2], 1, eta=[0.1, 0.2, 0.3])
    with pytest.raises(ValueError, match="activation"):
        dfc_network([3, 2], 1, activation="softmax")
    with pytest.raises(ValueError, match="loss"):
        dfc_network([3, 2], 1, loss="hinge")
    with pytest.raises(ValueError, match="sigma=0.1 needs noise=True"):
        dfc_network([3, 2], 1, sigma=0.1, noise=False)
    with pytest.raises(ValueError, match="noise"):
        dfc_network([3, 2], 1, noise="no")
    quiet = Session(lambda: dfc_network([3, 2], 2, n_steps=3, noise=False), target="numpy",
                    name="dfc_quiet")
    with pytest.raises(KeyError, match="nrn1.sigma"):  # not built: an error, not ignored
        quiet.run({"x": np.zeros((2, 3)), "target": np.zeros((2, 2))}, values={"nrn1.sigma": 0.01})
    with pytest.raises(ValueError, match="output_loss"):
        DeepFeedbackControlClassifier(output_loss="softmax").fit(np.zeros((4, 3)), [0, 1, 0, 1])
    X, Y = np.zeros((5, 3)), np.zeros((5, 2))
    with pytest.raises(ValueError, match="variant"):
        DeepFeedbackControlRegressor(variant="dfc_ssa").fit(X, Y)
    with pytest.raises(ValueError, match="dt must be smaller than tau_v"):
        DeepFeedbackControlRegressor(dt=0.5 * ms).fit(X, Y)
    reg = DeepFeedbackControlRegressor(hidden_layers=(2,), n_steps=5, chunk=5, target="numpy",
                                       progress=False)
    reg.fit(X, Y, epochs=0)
    with pytest.raises(ValueError, match=r"y must have shape \(5,\) or \(5, 2\)"):
        reg.partial_fit(X, np.zeros((5, 3)))
    with pytest.raises(ValueError, match="3 columns|3 features|n_in|columns"):
        reg.predict(np.zeros((2, 4)))
    with warnings.catch_warnings():
        warnings.simplefilter("error", ControllerWarning)  # a converged controller: no warning
        reg.partial_fit(X, Y)


# ------------------------------------------------- the toy experiment (paper's Fig. 3 setting)
def test_toy_example_fast_mode(tmp_path, run_example, cache_dir):
    """The example's smoke run: table, figure and CSV (the learner test's binary)."""
    png = tmp_path / "toy.png"
    table = run_example("meulemans2021_toy", ["--fast", "--out", str(png),
                                              "--cache-dir", str(cache_dir)])
    assert png.stat().st_size > 0 and png.with_suffix(".csv").stat().st_size > 0
    assert set(table.method) == {"dfc", "dfc_ss", "backprop"}
    assert list(table[table.method == "dfc"].epoch) == [0, 1, 2]
    dfc = table[table.method == "dfc"]
    assert dfc.test_mse.iloc[-1] < dfc.test_mse.iloc[0]


@pytest.mark.slow
def test_toy_reproduction_dfc_learns_like_backprop_and_points_to_gauss_newton(cache_dir):
    """20 epochs of 300 samples. Measured: test MSE 2.43 -> 0.237 (DFC), 0.308 (DFC-SS),
    backprop MLP 0.158; DFC updates at ~37 deg to Gauss-Newton, ~44 deg to backprop.
    """
    from brian_dendrites.experiments.meulemans2021 import toy_alignment

    table = toy_alignment(epochs=20, n_probe=10, cache_dir=cache_dir)
    last = table.groupby("method").tail(1).set_index("method")
    first = table.groupby("method").head(1).set_index("method")
    for method in ("dfc", "dfc_ss"):
        assert last.loc[method, "test_mse"] < first.loc[method, "test_mse"] / 5
        assert last.loc[method, "test_mse"] < 2.5 * last.loc["backprop", "test_mse"]
        trained = table[(table.method == method) & (table.epoch > 0)]
        assert (trained.angle_gn < trained.angle_bp).mean() > 0.8


def test_learner_sleep_phase_makes_random_feedback_stable_and_aligned(cache_dir):
    """feedback_learning=True, random Q: the first epoch's sleep phase aligns Q with J^T
    (NumPy reference with these settings: 94 -> 60 deg after 150 samples) and the controller
    converges on every training sample; with a sleep phase that does not learn
    (``eta_fb=0``: the same compiled circuit, with its apical noise), the random Q makes the
    controller unstable (here the run overflows and the error names the stability condition).
    """
    train = _toy_data(150, seed=1)
    kw = dict(feedback="random", epochs=1, cache_dir=cache_dir, progress=False,
              feedback_learning=True)
    with pytest.raises(DivergenceError, match="stability condition"):
        DeepFeedbackControlRegressor(eta_fb=0.0, **kw).fit(train.X, train.R)
    slept = DeepFeedbackControlRegressor(**kw).fit(train.X, train.R)
    assert slept.history_["not_converged"].iloc[-1] == 0
    X = slept.network_inputs(train.X[:20])
    start = _q_angle(_ref(TOY, dfc_initial_weights(TOY, seed=0, feedback="random")), X)
    assert _q_angle(_ref(TOY, slept.weights_), X) < 0.75 * start


def test_mnist_example_fast_mode(mnist_path, tmp_path, run_example, cache_dir):
    """784-32-10, 300 images, one epoch: all four methods learn (chance: 90 % error).

    Measured: backprop 40.0 %, feedback alignment 54.7 %, DFC 64.7 %, DFC-SS 54.3 %.
    """
    png = tmp_path / "mnist.png"
    table = run_example("meulemans2021_mnist", ["--fast", "--data", str(mnist_path), "--out",
                                                str(png), "--cache-dir", str(cache_dir)])
    assert png.stat().st_size > 0
    last = table[table.epoch == 1].set_index("method").test_error
    assert set(last.index) == {"dfc", "dfc_ss", "backprop", "feedback alignment"}
    assert (last < 0.75).all(), last
    with pytest.raises(SystemExit):
        run_example("meulemans2021_mnist", ["--data", str(tmp_path / "missing.csv")])


def _mnist_last_epoch(mnist_path, cache_dir, variant):
    from brian_dendrites.experiments.meulemans2021 import mnist_comparison

    table = mnist_comparison(mnist_path, variants=(variant,), cache_dir=cache_dir)
    last = table[table.epoch == 10].set_index("method").test_error
    assert last["backprop"] < 0.09, last
    return last


@pytest.mark.slow
def test_mnist_reproduction_dfc_ss_within_two_points_of_backprop(mnist_path, cache_dir):
    """The issue's MNIST setting: 784-256-256-256-10, 4000 train / 1000 test images, 10 epochs,
    online; DFC-SS within 2 points of backprop trained in the same run from the same weights.

    Measured: DFC-SS 8.8 %, backprop 7.0 % (about 45 min on one core: 100 steps per sample).
    """
    last = _mnist_last_epoch(mnist_path, cache_dir, "dfc_ss")
    assert last["dfc_ss"] <= last["backprop"] + 0.02, last


@pytest.mark.slow
def test_mnist_reproduction_dfc_within_two_points_of_backprop(mnist_path, cache_dir):
    """As above for DFC (the update averaged over the feedback phase, applied at its end).

    Measured: DFC 8.7 %, backprop 7.0 %, feedback alignment 8.3 % (2716 s for the
    script on one core beside other jobs). With the weights changing on every
    step of the phase it was 10.1 % (docs/dfc.md).
    """
    last = _mnist_last_epoch(mnist_path, cache_dir, "dfc")
    assert last["dfc"] <= last["backprop"] + 0.02, last
