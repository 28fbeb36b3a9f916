"""The steady-state (two-step) microcircuit: reference agreement, rate-mode limit, learning."""

import numpy as np
import pytest
from brian2 import ms

from brian_dendrites.circuits import dendritic_microcircuit, synapses_to_matrix
from brian_dendrites.circuits.steady_state import (
    steady_state_init,
    steady_state_lambdas,
    steady_state_microcircuit,
    steady_state_schedule,
)
from brian_dendrites.engine import Simulation
from brian_dendrites.learners import DendriticMicrocircuitRegressor, SteadyStateMicrocircuitClassifier
from brian_dendrites.reference.microcircuit import ReferenceMicrocircuit

LAYERS = [5, 4, 3, 2]
N = 12
KW = dict(eta_PP=[0.3 / ms, 0.2 / ms, 0.1 / ms], eta_IP=0.2 / ms, lam_out=0.4, lam_A=0.5, lam_I=0.3)


def _data(n=N, seed=1):
    rng = np.random.default_rng(seed)
    return rng.uniform(0, 1, (n, LAYERS[0])), rng.uniform(-2, 2, (n, LAYERS[-1]))


@pytest.mark.parametrize("target", ["numpy", "cpp_standalone"])
def test_steady_state_equals_numpy_reference_sample_for_sample(target, cache_dir):
    X, U = _data()
    sim = Simulation(lambda: steady_state_microcircuit(LAYERS, N, seed=3, weight_scale=2.0,
                                                       **KW).objects,
                     N * ms, target=target, dt=1 * ms, cache_dir=cache_dir, name="ss_ref")
    if target == "cpp_standalone":  # every all-to-all projection on the dense path
        assert sorted(sim.dense_synapses) == ["B1", "B2", "IP1", "IP2", "PI1", "PI2",
                                              "W1", "W2", "W3"]
    res = sim.run({"x_in.values": X, "u_target.values": U, "nudge_in.values": np.ones(N)})
    ref = ReferenceMicrocircuit(LAYERS, phi="logistic", bias=True, weight_scale=2.0, seed=3)
    ref.init_self_predicting("steady_state")
    init = steady_state_init(LAYERS, 2.0, 3)
    np.testing.assert_array_equal(init["W1"], ref.W[0])  # same seed, same draws
    outs = []
    for n in range(N):  # online: one sample per update
        outs.append(ref.predict_steady_state(X[n:n + 1], "potential")[0])
        ref.steady_state_step(X[n:n + 1], U[n:n + 1], eta_PP=[e * ms for e in KW["eta_PP"]],
                              eta_IP=KW["eta_IP"] * ms,
                              lam_out=KW["lam_out"], lam_A=KW["lam_A"], lam_I=KW["lam_I"])
    np.testing.assert_allclose(res["out_mon.u_bu"].T, outs, rtol=0, atol=1e-9)
    moved = 0.0
    for k in range(1, 4):
        W = synapses_to_matrix(res[f"W{k}.w"], LAYERS[k], LAYERS[k - 1])
        np.testing.assert_allclose(W, ref.W[k - 1], rtol=0, atol=1e-9, err_msg=f"W{k}")
        np.testing.assert_allclose(res[f"pyr{k}.b"], ref.b[k - 1], rtol=0, atol=1e-9)
        moved = max(moved, np.abs(W - init[f"W{k}"]).max())
    for k in range(1, 3):
        W = synapses_to_matrix(res[f"IP{k}.w"], LAYERS[k + 1], LAYERS[k])
        np.testing.assert_allclose(W, ref.IP[k - 1], rtol=0, atol=1e-9, err_msg=f"IP{k}")
        np.testing.assert_allclose(res[f"int{k}.b"], ref.bI[k - 1], rtol=0, atol=1e-9)
    assert moved > 1e-3  # measured 9.9e-3: the updates acted


def test_learning_flag_and_zero_rates_freeze_weights():
    X, U = _data(4)
    sim = Simulation(lambda: steady_state_microcircuit(LAYERS, 4, seed=3, **KW).objects,
                     4 * ms, target="numpy", dt=1 * ms, name="ss_frozen")
    init = steady_state_init(LAYERS, 6.0, 3)
    res = sim.run({"x_in.values": X, "u_target.values": U, "nudge_in.values": np.ones(4),
                   "learn_in.values": np.zeros(4)})
    np.testing.assert_array_equal(synapses_to_matrix(res["W1.w"], 4, 5), init["W1"])
    res = sim.run({"x_in.values": X, "u_target.values": U, "nudge_in.values": np.ones(4),
                   "W2.eta": 0 / ms})
    np.testing.assert_array_equal(synapses_to_matrix(res["W2.w"], 3, 4), init["W2"])
    assert np.abs(synapses_to_matrix(res["W1.w"], 4, 5) - init["W1"]).max() > 1e-4


def test_schedule_orders_the_sweeps():
    rows = steady_state_schedule(3)
    names = [r[2] for r in rows]
    orders = [r[1] for r in rows if r[0] == "groups"]
    assert orders == sorted(orders) and len(set(orders)) == len(orders)
    # bottom-up layer by layer, then top-down from the output, then the updates
    assert names.index("pyr1 bottom-up") < names.index("W2 (summed)") < names.index(
        "pyr3 bottom-up") < names.index("pyr3 top-down") < names.index("int2 top-down") < \
        names.index("pyr2 top-down") < names.index("pyr1 top-down") < names.index(
        "W*, IP* (state update)")
    # the built objects run in exactly this order
    circuit = steady_state_microcircuit([3, 4, 3, 2], 1)
    built = {}
    for obj in circuit.objects.values():
        for o in getattr(obj, "contained_objects", []):
            built[o.name] = (o.when, o.order)
    expected = {}
    for when, order, what, _ in rows:
        name = what.split(" ")[0]
        if what.endswith("(summed)"):
            syn = circuit.objects[name]
            expected[next(iter(syn.summed_updaters.values())).name] = (when, order)
        elif what.endswith("bottom-up") or what.endswith("top-down"):
            expected[f"{name}_{what.split(' ')[1].replace('-', '_')}"] = (when, order)
    for name in ("W1", "W2", "W3", "IP1", "IP2"):
        expected[f"{name}_stateupdater"] = ("groups", rows[-2][1])
    assert len(expected) == 9 + 5 + 5 + 5  # summed, bottom-up, top-down, weight updates
    assert {k: built[k] for k in expected} == expected
    with pytest.raises(ValueError, match="L: expected an integer >= 1"):
        steady_state_schedule(0)


def _weak_feedback_error(g_A, with_teacher):
    """Max |u_L(rate mode) - u_L(steady state)| for apical coupling g_A (1/ms).

    Weak-feedback limit: leak g_L = 0 and apical coupling g_A -> 0, plasticity
    off, self-predicting start. Without teacher the rate mode settles at
    ``u_k = g_B/(g_B + g_A) v_B`` (hidden) and ``u_L = v_B`` (output), the
    steady state's bottom-up sweep has ``u_k = v_B``: they differ by O(g_A).
    With teacher (g_som = 0.8/ms) the steady state uses the same conductance
    ratios (lam_out = g_som/(g_B + g_som), lam_A = g_A/(g_B + g_A),
    lam_I = g_som/(g_D + g_som)).
    """
    layers, n, T = [4, 5, 3], 3, 20 * ms
    rng = np.random.default_rng(0)
    X, U = rng.uniform(0, 1, (n, 4)), rng.uniform(-1, 1, (n, 3))
    init = steady_state_init(layers, 2.0, seed=4)
    WB = {k: v for k, v in init.items() if k[0] in "WB"}
    g_B, g_D, g_som = 1.0, 1.0, 0.8
    if not with_teacher:
        rate = DendriticMicrocircuitRegressor(layers, t_pattern=T, chunk=n, target="numpy",
                                              progress=False, eta_PP=0 / ms, eta_IP=0 / ms,
                                              eta_PI=0 / ms, activation="logistic",
                                              conductances=dict(g_L=0 / ms, g_A=g_A / ms),
                                              weights=WB)
        steady = SteadyStateMicrocircuitClassifier(layers, chunk=n, target="numpy",
                                                   progress=False, weight_scale=2.0, seed=4,
                                                   lam_A=g_A / (g_B + g_A))
        rate.fit(X, U, epochs=0)
        steady.fit(X, np.zeros(n, dtype=int), epochs=0)
        assert np.array_equal(steady.weights_["W1"], WB["W1"])
        return np.abs(rate.predict(X) - steady.decision_function(X)).max()
    rate_sim = Simulation(lambda: dendritic_microcircuit(
        layers, n, t_pattern=T, activation="logistic",
        conductances=dict(g_L=0 / ms, g_A=g_A / ms, g_som=g_som / ms), eta_PP=0 / ms,
        eta_IP=0 / ms, eta_PI=0 / ms, weights=WB, self_predicting=True).objects,
        n * T, target="numpy", name="rate_weak")
    r = rate_sim.run({"x_in.values": X, "u_target.values": U, "nudge_in.values": np.ones(n)},
                     read=["out_mon.u", "pyr2.u"])
    u_rate = np.concatenate([r["out_mon.u"][:, 1:], r["pyr2.u"][:, None]], axis=1).T
    ss_sim = Simulation(lambda: steady_state_microcircuit(
        layers, n, eta_PP=0 / ms, eta_IP=0 / ms, lam_out=g_som / (g_B + g_som),
        lam_A=g_A / (g_B + g_A), lam_I=g_som / (g_D + g_som), weights=WB, weight_scale=2.0,
        seed=4).objects,
        n * ms, target="numpy", dt=1 * ms, name="ss_weak")
    s = ss_sim.run({"x_in.values": X, "u_target.values": U, "nudge_in.values": np.ones(n)},
                   read=["out_mon.u"])
    return np.abs(u_rate - s["out_mon.u"].T).max()


@pytest.mark.parametrize("with_teacher", [False, True])
def test_steady_state_matches_rate_mode_in_weak_feedback_limit(with_teacher):
    strong, weak = _weak_feedback_error(0.4, with_teacher), _weak_feedback_error(0.004, with_teacher)
    # measured (g_A 0.4, 0.04, 0.004 /ms): no teacher 4.9e-2, 6.1e-3, 6.3e-4; with teacher
    # 2.7e-2, 3.4e-3, 3.5e-4: first order in g_A
    assert weak < 1e-3
    assert strong > 30 * weak


def _prototypes(n=200, seed=0):
    rng = np.random.default_rng(seed)
    P = rng.uniform(0, 1, (3, 10))
    y = rng.integers(0, 3, n)
    return np.clip(P[y] + rng.normal(0, 0.15, (n, 10)), 0, 1), y


def test_classifier_learns_above_chance():
    X, y = _prototypes()
    clf = SteadyStateMicrocircuitClassifier([10, 20, 3], eta_PP=0.3 / ms, eta_IP=0.06 / ms,
                                            weight_scale=1.0, chunk=150, target="numpy",
                                            progress=False)
    before = clf.fit(X[:150], y[:150], epochs=0).loss(X[150:], y[150:])
    clf.fit(X[:150], y[:150], epochs=3, validation_data=(X[150:], y[150:]))
    hist = clf.history_
    assert list(hist.columns) == ["epoch", "train_loss", "time_s", "samples", "val_loss", "val_score"]
    # measured: val error 0.70 before (chance 0.67), 0.52 / 0.08 / 0.0 after 1 / 2 / 3 epochs
    assert before > 0.3
    assert hist.val_loss.iloc[-1] < 0.1
    assert clf.predict(X[:5]).shape == (5,)
    assert clf.loss(X[150:], y[150:]) == hist.val_loss.iloc[-1]
    assert clf.score(X[150:], y[150:]) == hist.val_score.iloc[-1] == 1 - hist.val_loss.iloc[-1]


@pytest.mark.parametrize("kwargs, exc, match", [
    (dict(layers=[3]), ValueError, "at least 2 layer sizes"),
    (dict(eta_PP=-0.1 / ms), ValueError, "eta_PP"),
    (dict(eta_PP=0.1), TypeError, "eta_PP"),
    (dict(eta_PP=[0.1 / ms] * 3), ValueError, "one per layer"),
    (dict(lam_out=1.5), ValueError, "lam_out"),
    (dict(weights={"W9": np.zeros((2, 2))}), KeyError, "unknown family"),
    (dict(weights={"W1": np.zeros((2, 2))}), ValueError, "must have shape"),
    (dict(t_sample=1.0), TypeError, "t_sample"),
    (dict(activation="softmax"), ValueError, "activation"),
    (dict(n_samples=0), ValueError, "n_samples"),
    (dict(weight_scale=float("nan")), ValueError, "weight_scale"),
])
def test_circuit_rejects_bad_arguments(kwargs, exc, match):
    args = dict(layers=[3, 4, 2], n_samples=2)
    args.update(kwargs)
    with pytest.raises(exc, match=match):
        steady_state_microcircuit(**args)


def test_classifier_rejects_bad_inputs():
    X2, y2 = np.ones((2, 3)), [0, 1]
    for kwargs, match in ((dict(layers=[3, 2], target_rates=(0.8, 0.1)), "target_rates"),
                          (dict(layers=[3, 2], target_rates=(0.0, 1.0)), "outside the range"),
                          (dict(layers=[3, 1]), "needs at least 2 output"),
                          (dict(layers=[3, 2], activation="relu"), "inverse")):
        clf = SteadyStateMicrocircuitClassifier(**kwargs, target="numpy")  # __init__ only stores
        with pytest.raises(ValueError, match=match):
            clf.fit(X2, y2)
    clf = SteadyStateMicrocircuitClassifier([3, 4, 2], chunk=2, target="numpy", progress=False)
    with pytest.raises(ValueError, match="labels must be integers in"):
        clf.fit(X2, [0, 2])
    with pytest.raises(ValueError, match="3 features"):
        clf.fit(np.ones((2, 4)), y2)
    with pytest.raises(ValueError, match="2 labels"):
        clf.fit(X2, [0, 1, 1])
    clf.fit(X2, y2)
    with pytest.raises(ValueError, match="NaN"):
        clf.predict(np.full((2, 3), np.nan))


def test_steady_state_is_its_own_builder_with_the_papers_mixing_factors():
    with pytest.raises(ValueError, match="steady_state_microcircuit"):
        dendritic_microcircuit([4, 3, 2], n_patterns=5, mode="steady_state")
    lam = steady_state_lambdas()
    assert lam["lam_out"] == pytest.approx(0.8 / 1.9) and lam["lam_A"] == pytest.approx(0.8 / 1.9)
    assert steady_state_lambdas({"g_A": 0 / ms})["lam_A"] == 0
    c = steady_state_microcircuit([4, 3, 2], n_samples=5)
    assert float(c.objects["pyr1"].lam_A[:]) == pytest.approx(lam["lam_A"])  # the models' defaults
    assert c.dt == c.t_slot == 1 * ms and c.n_slots == 5


# ---------------------------------------------------------------------------
# learning-rate schedule
# ---------------------------------------------------------------------------
def test_schedule_factors_rates_and_params():
    clf = SteadyStateMicrocircuitClassifier([784, 500, 500, 10])
    assert clf.get_params()["lr_decay"] == 0.5 and clf.get_params()["lr_decay_epochs"] == 5
    assert [clf.learning_rate_factor(e) for e in range(11)] == [1.0] * 5 + [0.5] * 5 + [0.25]
    clf.set_params(lr_decay=0.8, lr_decay_epochs=1)
    assert clf.learning_rate_factor(3) == pytest.approx(0.8 ** 3)
    rates = clf.set_params(eta_PP=[0.1 / ms, 0.2 / ms, 0.3 / ms], eta_IP=0.05 / ms).learning_rates(2)
    assert sorted(rates) == ["IP1.eta", "IP2.eta", "W1.eta", "W2.eta", "W3.eta", "int1.eta_b",
                             "int2.eta_b", "pyr1.eta_b", "pyr2.eta_b", "pyr3.eta_b"]
    assert float(rates["W2.eta"] * ms) == pytest.approx(0.2 * 0.64)
    assert float(rates["pyr3.eta_b"] * ms) == pytest.approx(0.3 * 0.64)
    assert float(rates["int1.eta_b"] * ms) == pytest.approx(0.05 * 0.64)
    assert SteadyStateMicrocircuitClassifier([3, 2], lr_decay=1).learning_rate_factor(99) == 1.0
    sklearn_base = pytest.importorskip("sklearn.base")
    twin = sklearn_base.clone(clf)
    assert twin.lr_decay == 0.8 and twin.lr_decay_epochs == 1


@pytest.mark.parametrize("kwargs, exc, match", [
    (dict(lr_decay=0), ValueError, "lr_decay"),
    (dict(lr_decay=1.5), ValueError, "lr_decay"),
    (dict(lr_decay="half"), TypeError, "lr_decay"),
    (dict(lr_decay_epochs=0), ValueError, "lr_decay_epochs"),
    (dict(lr_decay_epochs=2.5), TypeError, "lr_decay_epochs"),
])
def test_schedule_rejects_bad_values(kwargs, exc, match):
    clf = SteadyStateMicrocircuitClassifier([3, 4, 2], target="numpy", progress=False, **kwargs)
    with pytest.raises(exc, match=match):
        clf.fit(np.ones((2, 3)), [0, 1])
    with pytest.raises(exc, match=match):
        clf.learning_rate_factor(0)
    with pytest.raises(ValueError, match="epoch"):
        SteadyStateMicrocircuitClassifier([3, 2]).learning_rate_factor(-1)


def test_schedule_equals_reference_trained_epoch_by_epoch_with_decayed_rates():
    """Two epochs with rates x1 then x0.5 = the NumPy reference called twice with those rates."""
    from brian_dendrites.activations import logistic_inverse
    from brian_dendrites.tasks import one_hot

    layers, n = [5, 4, 3, 2], 6
    rng = np.random.default_rng(4)
    X, y = rng.uniform(0, 1, (n, 5)), np.array([0, 1, 1, 0, 1, 0])
    lam = dict(lam_out=0.4, lam_A=0.5, lam_I=0.0)
    eta_pp, eta_ip = [0.3, 0.2, 0.1], 0.2
    clf = SteadyStateMicrocircuitClassifier(
        layers, eta_PP=[e / ms for e in eta_pp], eta_IP=eta_ip / ms, lr_decay=0.5,
        lr_decay_epochs=1, weight_scale=2.0, seed=3, chunk=n, shuffle=False, target="numpy",
        progress=False, **lam)
    clf.fit(X, y, epochs=2)
    ref = ReferenceMicrocircuit(layers, phi="logistic", bias=True, weight_scale=2.0, seed=3)
    ref.init_self_predicting("steady_state")
    U = logistic_inverse(one_hot(y, 2))
    for f in (1.0, 0.5):
        ref.fit_steady_state(X, U, epochs=1, batch_size=1, eta_PP=[e * f for e in eta_pp],
                             eta_IP=eta_ip * f, shuffle=False, **lam)
    weights = clf.weights_
    for k in range(1, 4):
        np.testing.assert_allclose(weights[f"W{k}"], ref.W[k - 1], rtol=0, atol=1e-9)
        np.testing.assert_allclose(clf.session_.state[f"pyr{k}.b"], ref.b[k - 1], rtol=0,
                                   atol=1e-9)
    for k in range(1, 3):
        np.testing.assert_allclose(weights[f"IP{k}"], ref.IP[k - 1], rtol=0, atol=1e-9)
    # constant rates give other weights: the schedule acted
    const = ReferenceMicrocircuit(layers, phi="logistic", bias=True, weight_scale=2.0, seed=3)
    const.init_self_predicting("steady_state")
    const.fit_steady_state(X, U, epochs=2, batch_size=1, eta_PP=eta_pp, eta_IP=eta_ip,
                           shuffle=False, **lam)
    assert np.abs(const.W[0] - weights["W1"]).max() > 1e-4
