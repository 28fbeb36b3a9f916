"""Engine chaining and the learner: compile once, carry state, save/load, padding."""

import numpy as np
import pytest
from brian2 import ms

from brian_dendrites.circuits import dendritic_microcircuit
from brian_dendrites.engine import Simulation
from brian_dendrites.learners import DendriticMicrocircuitRegressor

LAYERS = [3, 4, 2]
ETAS = dict(eta_PP=0.05 / ms, eta_IP=0.02 / ms, eta_PI=0.02 / ms)


def _data(n=6, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.uniform(0, 3, (n, LAYERS[0]))
    return X, X @ rng.uniform(-1, 1, (LAYERS[0], LAYERS[-1])) + 2


def _build(n_patterns):
    return lambda: dendritic_microcircuit(LAYERS, n_patterns=n_patterns, t_pattern=5 * ms,
                                          seed=1, **ETAS).objects


# cpp_standalone compiles two binaries (~2 min on CI): slow suite; chunked standalone training
# is checked in the default suite by test_standalone_learner_matches_numpy_learner
@pytest.mark.parametrize("target", ["numpy", pytest.param("cpp_standalone", marks=pytest.mark.slow)])
def test_chained_runs_are_bit_identical_to_one_long_run(target, cache_dir):
    X, Y = _data(6)
    ones = np.ones(6)
    long = Simulation(_build(6), 30 * ms, target=target, cache_dir=cache_dir, name="chain6")
    ref = long.run({"x_in.values": X, "u_target.values": Y, "nudge_in.values": ones})
    short = Simulation(_build(2), 10 * ms, target=target, cache_dir=cache_dir, name="chain2")
    state = {}
    for c in range(3):
        sl = slice(2 * c, 2 * c + 2)
        res = short.run({**state, "x_in.values": X[sl], "u_target.values": Y[sl],
                         "nudge_in.values": ones[sl]})
        state = {k: res[k] for k in short.state_variables}
    for key in short.state_variables:
        if key.split(".")[0] in ("out_mon",):
            continue
        np.testing.assert_array_equal(res[key], ref[key], err_msg=key)
    assert np.abs(ref["W1.w"] - _build(6)()["W1"].w[:]).max() > 1e-4


def test_learner_learns_and_reports_history():
    rng = np.random.default_rng(0)
    X = rng.uniform(0, 1, (8, 3))
    Y = X @ rng.uniform(-1, 1, (3, 2))
    net = DendriticMicrocircuitRegressor(LAYERS, t_pattern=5 * ms, chunk=4, target="numpy",
                                         progress=False, eta_PP=0.2 / ms, eta_IP=0.2 / ms,
                                         eta_PI=0.2 / ms, activation="linear", tau_w=2 * ms,
                                         weight_init="fan_in", tau_in=0 * ms)
    before = net.fit(X, Y, epochs=0).loss(X, Y)  # epochs=0: built, not trained
    net.fit(X, Y, epochs=3, validation_data=(X, Y))
    hist = net.history_
    assert list(hist.columns) == ["epoch", "train_loss", "time_s", "samples", "val_loss", "val_score",
                                  "weight_angle_1", "error_angle_1"]
    assert list(hist.epoch) == [1, 2, 3]
    assert hist.val_loss.iloc[-1] < 0.1 * before  # measured: 0.79 -> 0.016 in 4 epochs
    assert hist.val_loss.is_monotonic_decreasing
    assert hist.val_score.iloc[-1] > 0.8  # R²: 0.83 measured
    assert net.score(X, Y) == pytest.approx(hist.val_score.iloc[-1])
    assert net.predict(X).shape == (8, 2)


def test_padding_patterns_are_masked_out_of_learning():
    X, Y = _data(5)
    kw = dict(t_pattern=5 * ms, target="numpy", progress=False, **ETAS)
    exact = DendriticMicrocircuitRegressor(LAYERS, chunk=5, **kw).fit(X, Y)
    padded = DendriticMicrocircuitRegressor(LAYERS, chunk=8, **kw).fit(X, Y)  # 3 pads
    for name, W in exact.weights_.items():
        np.testing.assert_allclose(padded.weights_[name], W, rtol=0, atol=1e-13, err_msg=name)
    unmasked = DendriticMicrocircuitRegressor(LAYERS, chunk=8, **kw)
    unmasked._chunk_inputs = lambda X_, Y_, valid, learn: (  # pads learn as real samples
        DendriticMicrocircuitRegressor._chunk_inputs(unmasked, X_, Y_, 8, learn))
    unmasked.fit(X, Y)
    assert np.abs(unmasked.weights_["W1"] - exact.weights_["W1"]).max() > 1e-6


def test_save_load_restores_weights_and_continues_identically(tmp_path):
    X, Y = _data(6)
    kw = dict(t_pattern=5 * ms, chunk=4, target="numpy", progress=False, **ETAS)
    a = DendriticMicrocircuitRegressor(LAYERS, **kw).fit(X, Y, epochs=1)
    a.save(tmp_path / "net")
    b = DendriticMicrocircuitRegressor.load(tmp_path / "net", overrides={"progress": False})
    for name, W in a.weights_.items():
        np.testing.assert_array_equal(b.weights_[name], W)
    a.partial_fit(X, Y)
    b.partial_fit(X, Y)
    for name, W in a.weights_.items():
        np.testing.assert_array_equal(b.weights_[name], W)
    assert b.epochs_done_ == 2 and len(b.history_) == 2


def test_fit_restarts_unless_warm_start_and_reuses_the_compiled_session():
    X, Y = _data(6)
    kw = dict(t_pattern=5 * ms, chunk=4, target="numpy", progress=False, **ETAS)
    a = DendriticMicrocircuitRegressor(LAYERS, **kw).fit(X, Y, epochs=2)
    session = a.session_
    once = DendriticMicrocircuitRegressor(LAYERS, **kw).fit(X, Y, epochs=2).weights_
    a.fit(X, Y, epochs=2)  # scikit-learn: fit starts again from the initial weights
    assert a.session_ is session and a.epochs_done_ == 2
    for name, W in once.items():
        np.testing.assert_array_equal(a.weights_[name], W)
    a.set_params(warm_start=True).fit(X, Y, epochs=1)
    assert a.epochs_done_ == 3 and a.session_ is session
    a.set_params(eta_PP=0.01 / ms).fit(X, Y)  # a changed parameter builds a new session
    assert a.session_ is not session and a.epochs_done_ == 1


def test_estimator_contract_without_scikit_learn():
    net = DendriticMicrocircuitRegressor(LAYERS, chunk=0, target="gpu")  # stores, checks nothing
    assert net.get_params()["chunk"] == 0 and net.get_params()["target"] == "gpu"
    assert not any(k.endswith("_") for k in vars(net))
    with pytest.raises(ValueError, match="no parameter 'eta'"):
        net.set_params(eta=1)
    from brian_dendrites.learners.base import NotFittedError
    with pytest.raises(NotFittedError, match="fit"):
        net.predict(np.ones((2, 3)))
    with pytest.raises(AttributeError):  # NotFittedError is also an AttributeError (hasattr)
        net.weights_


def test_scikit_learn_clone_and_grid_search_pick_the_best_model():
    sklearn = pytest.importorskip("sklearn")
    from sklearn.base import clone
    from sklearn.model_selection import GridSearchCV

    net = DendriticMicrocircuitRegressor(LAYERS, t_pattern=5 * ms, chunk=4, target="numpy",
                                         progress=False, activation="linear", tau_w=2 * ms,
                                         eta_IP=0.2 / ms, eta_PI=0.2 / ms, epochs=2)
    twin = clone(net)
    assert twin is not net and twin.get_params() == net.get_params()
    rng = np.random.default_rng(0)
    X = rng.uniform(0, 1, (8, 3))
    Y = X @ rng.uniform(-1, 1, (3, 2))
    grid = GridSearchCV(net, {"eta_PP": [0 / ms, 0.2 / ms]}, cv=2).fit(X, Y)
    # score is higher-is-better (R²): learning beats not learning
    assert grid.best_params_["eta_PP"] == 0.2 / ms, grid.cv_results_["mean_test_score"]
    assert sklearn.__version__


def test_standalone_learner_matches_numpy_learner(cache_dir):
    X, Y = _data(6)
    kw = dict(t_pattern=5 * ms, chunk=4, progress=False, cache_dir=cache_dir, **ETAS)
    a = DendriticMicrocircuitRegressor(LAYERS, target="numpy", **kw).fit(X, Y, epochs=2)
    b = DendriticMicrocircuitRegressor(LAYERS, target="cpp_standalone", **kw).fit(X, Y, epochs=2)
    # every plastic and feedback family ran on the dense path, one-to-one nudging did not
    assert set(b.session_.simulation.dense_synapses) == {"W1", "W2", "B1", "IP1", "PI1"}
    np.testing.assert_allclose(b.predict(X), a.predict(X), rtol=1e-9)
    for name, W in a.weights_.items():
        np.testing.assert_allclose(b.weights_[name], W, rtol=1e-9, atol=1e-15)


@pytest.mark.parametrize("X, Y, match", [
    (np.ones((4, 3)), np.ones((5, 2)), "same number of samples"),
    (np.ones((4, 3)), np.full((4, 2), np.nan), "NaN"),
    (np.ones((0, 3)), np.ones((0, 2)), "empty"),
    (np.ones((4, 2)), np.ones((4, 2)), "3 features"),
    (np.ones(4), np.ones((4, 2)), "2-D"),
])
def test_learner_rejects_bad_data(X, Y, match):
    net = DendriticMicrocircuitRegressor(LAYERS, t_pattern=5 * ms, chunk=4, target="numpy",
                                         progress=False)
    with pytest.raises(ValueError, match=match):
        net.fit(X, Y)


@pytest.mark.parametrize("kwargs, exc, match", [
    (dict(layers=[3, 0, 2]), ValueError, r"layers\[1\].*>= 1"),
    (dict(chunk=0), ValueError, "chunk"),
    (dict(chunk=2.5), TypeError, "chunk"),
    (dict(target="gpu"), ValueError, "target"),
    (dict(t_settle=5 * ms), ValueError, "t_settle"),
    (dict(eta_PP=0.1), TypeError, "eta_PP"),
    (dict(eta_IP=-1 / ms), ValueError, "eta_IP"),
])
def test_learner_rejects_bad_settings_in_fit(kwargs, exc, match):
    kw = dict(layers=LAYERS, t_pattern=5 * ms, chunk=2, target="numpy", progress=False)
    net = DendriticMicrocircuitRegressor(**{**kw, **kwargs})  # __init__ only stores
    with pytest.raises(exc, match=match):
        net.fit(np.ones((2, 3)), np.ones((2, 2)))


def test_learner_rejects_bad_epochs():
    net = DendriticMicrocircuitRegressor(LAYERS, t_pattern=5 * ms, chunk=2, target="numpy",
                                         progress=False)
    with pytest.raises(ValueError, match="epochs"):
        net.fit(np.ones((2, 3)), np.ones((2, 2)), epochs=-1)
