"""Dendritic Gated Networks: gates, Brian2 circuit = NumPy reference, learners, bad input."""

import numpy as np
import pytest
from brian2 import DimensionMismatchError, ms

from brian_dendrites import DendriticGatedClassifier, DendriticGatedRegressor
from brian_dendrites.circuits import dgn_network
from brian_dendrites.circuits.dgn import dgn_block_to_full, dgn_full_to_block
from brian_dendrites.engine import Session
from brian_dendrites.gating import draw_gates, open_fraction
from brian_dendrites.reference import ReferenceDGN

LAYERS, B, C, N_SIDE = [5, 3, 2, 1], 4, 3, 6
#: clip binds (|w| reaches 0.3), the rate decays, thresholds spread around 0.2
PARAMS = dict(eta=0.05, lr_decay=0.01, w_clip=0.3)


def _data(n, seed=0, n_in=5, n_side=N_SIDE, n_classes=C):
    rng = np.random.default_rng(seed)
    X = rng.normal(0, 2, (n, n_in))
    Z = rng.normal(0, 1, (n, n_side))
    Y = (rng.uniform(size=(n, n_classes)) > 0.5) * 1.0
    return X, Z, Y


def _gates(seed=3, layers=LAYERS, n_classes=C):
    return draw_gates(N_SIDE, layers, B, n_classes, theta_mean=0.2, theta_sd=0.5, seed=seed)


# ---------------------------------------------------------------- gates
def test_gates_have_unit_norm_and_open_at_the_configured_rate():
    """v.z ~ N(0, 1) for z ~ N(0, I): P(open) = 1 - Phi(m / sqrt(1 + sd^2))."""
    gates = draw_gates(40, [40, 50, 1], n_branches=40, theta_mean=0.5, theta_sd=0.5, seed=1)
    V, theta = gates[0]
    np.testing.assert_allclose(np.linalg.norm(V, axis=1), 1.0, rtol=1e-6)
    assert V.dtype == np.float64
    np.testing.assert_array_equal(V.astype(np.float32), V)  # float32 numbers (stored so)
    assert theta.std() == pytest.approx(0.5, rel=0.05) and theta.mean() == pytest.approx(0.5, abs=0.02)
    Z = np.random.default_rng(2).standard_normal((500, 40))
    measured = np.mean(Z @ V.T > theta)
    assert measured == pytest.approx(open_fraction(0.5, 0.5), abs=0.01)  # 0.327
    assert open_fraction(1.0, 0.0) == pytest.approx(0.1587, abs=1e-4)
    again = draw_gates(40, [40, 50, 1], n_branches=40, theta_mean=0.5, theta_sd=0.5, seed=1)
    np.testing.assert_array_equal(again[0][0], V)


def test_block_layout_round_trips():
    rng = np.random.default_rng(0)
    local = rng.normal(size=(C * 2 * B, 3))
    full = dgn_block_to_full(local, C, 2, B, 3)
    assert full.shape == (C * 2 * B, C * 3)
    assert np.count_nonzero(full) == local.size
    np.testing.assert_array_equal(dgn_full_to_block(full, C, 2, B, 3), local)


# ------------------------------------------------- circuit = NumPy reference
@pytest.mark.parametrize("target", ["numpy", "cpp_standalone"])
def test_circuit_equals_numpy_reference_for_one_epoch(target, cache_dir):
    """Three one-vs-all networks 5-3-2-1, 4 branches, 40 samples: outputs, weights, biases.

    The compiled network gets drawn gates (float32 numbers, stored in single
    precision); the numpy target gates that are not (stored in double).
    """
    n = 40
    X, Z, Y = _data(n)
    gates = _gates()
    if target == "numpy":
        gates = [(V * (1 + 1e-12), theta) for V, theta in gates]
    ref = ReferenceDGN(LAYERS, gates, B, C, **PARAMS)
    p_ref = ref.fit_stream(X, Z, Y)
    s = Session(lambda: dgn_network(LAYERS, n, n_branches=B, n_classes=C, n_side=N_SIDE,
                                    gates=gates, **PARAMS),
                target=target, cache_dir=cache_dir, name="dgn_equality")
    stored = np.float64 if target == "numpy" else np.float32
    assert all(s.state[f"G{k}.w"].dtype == stored for k in range(1, len(LAYERS)))
    res = s.run({"x": X, "side": Z, "target": Y, "learn": np.ones(n)}, carry=True)
    np.testing.assert_allclose(s.outputs(res), p_ref, rtol=0, atol=1e-9)
    for k in range(1, len(LAYERS)):
        W = s.weights[f"W{k}"]  # one row per branch, its own class's layer below
        assert W.shape == ref.W[k - 1].shape
        np.testing.assert_allclose(W, ref.W[k - 1], rtol=0, atol=1e-9, err_msg=f"W{k}")
        np.testing.assert_allclose(s.state[f"br{k}.beta"], ref.beta[k - 1], rtol=0, atol=1e-9)
    assert np.abs(ref.W[0]).max() == pytest.approx(0.3)  # the clip bound
    assert s.state["br1.n_learned"] == n and ref.t == n
    # the compiled network keeps going like the reference (state carried between runs)
    X2, Z2, Y2 = _data(n, seed=1)
    res = s.run({"x": X2, "side": Z2, "target": Y2, "learn": np.ones(n)}, carry=True)
    np.testing.assert_allclose(s.outputs(res), ref.fit_stream(X2, Z2, Y2), rtol=0, atol=1e-9)


def test_regression_circuit_equals_numpy_reference():
    layers, n = [4, 3, 1], 30
    rng = np.random.default_rng(4)
    X, Z = rng.normal(size=(n, 4)), rng.normal(size=(n, N_SIDE))
    Y = X[:, :1] - 0.5 * X[:, 1:2]
    gates = draw_gates(N_SIDE, layers, B, 1, theta_mean=0.0, seed=2)
    ref = ReferenceDGN(layers, gates, B, 1, output="identity", eta=0.02)
    p_ref = ref.fit_stream(X, Z, Y)
    s = Session(lambda: dgn_network(layers, n, n_branches=B, output="identity", n_side=N_SIDE,
                                    gates=gates, eta=0.02), target="numpy", name="dgn_reg")
    res = s.run({"x": X, "side": Z, "target": Y, "learn": np.ones(n)}, carry=True)
    np.testing.assert_allclose(s.outputs(res), p_ref, rtol=0, atol=1e-12)
    assert np.abs(p_ref[-10:] - Y[-10:]).mean() < np.abs(Y[-10:]).mean()  # it learns


def test_gates_stay_fixed_and_only_open_branches_learn():
    """One sample: rows of closed branches and the gate projections do not change."""
    gates = _gates(seed=5)
    X, Z, Y = _data(1, seed=6)
    s = Session(lambda: dgn_network(LAYERS, 1, n_branches=B, n_classes=C, n_side=N_SIDE,
                                    gates=gates, eta=0.1), target="numpy", name="dgn_mask")
    G0 = {k: s.weights[f"G{k}"] for k in range(1, 4)}
    s.run({"x": X, "side": Z, "target": Y, "learn": np.ones(1)}, carry=True)
    open_ = [V @ Z[0] > th for V, th in gates]
    for k in range(1, 4):
        np.testing.assert_array_equal(s.weights[f"G{k}"], G0[k])
        np.testing.assert_array_equal(s.state[f"br{k}.gate"], open_[k - 1])
        beta = s.state[f"br{k}.beta"]
        assert np.all(beta[~open_[k - 1]] == 0), f"closed branches of layer {k} learned"
    changed = np.any(s.weights["W1"] != 0, axis=1)
    assert np.array_equal(changed, open_[0])  # every open first-layer branch learned (err != 0)
    # learn = 0 freezes everything
    W1 = s.weights["W1"].copy()
    s.run({"x": X, "side": Z, "target": 1 - Y, "learn": np.zeros(1)}, carry=True)
    np.testing.assert_array_equal(s.weights["W1"], W1)


# ------------------------------------------------------------- bad input
@pytest.mark.parametrize("kwargs, error, match", [
    (dict(n_branches=0), ValueError, "n_branches"),
    (dict(eps=0.5), ValueError, "eps"),
    (dict(eps=0.0), ValueError, "eps"),
    (dict(w_clip=0.0), ValueError, "w_clip"),
    (dict(theta_sd=-1.0), ValueError, "theta_sd"),
    (dict(eta=np.nan), ValueError, "eta"),
    (dict(output="softmax"), ValueError, "output"),
    (dict(n_side=7, gates=_gates()), ValueError, "hyperplanes"),
    (dict(gates=_gates()[:2]), ValueError, "3 \\(V, theta\\) pairs"),
    (dict(weights={"W9": np.zeros((1, 1))}), KeyError, "unknown family"),
    (dict(weights={"W2": np.ones((C * 2 * B, C * 3))}), ValueError, r"shape \(24, 3\)"),
    (dict(t_sample=1.0), TypeError, "t_sample"),
    (dict(t_sample=-1 * ms), ValueError, "t_sample"),
])
def test_circuit_rejects_bad_arguments(kwargs, error, match):
    args = dict(n_branches=B, n_classes=C, n_side=N_SIDE)
    args.update(kwargs)
    with pytest.raises(error, match=match):
        dgn_network(LAYERS, 10, **args)


def test_circuit_rejects_quantities_where_numbers_are_expected():
    with pytest.raises(DimensionMismatchError):
        dgn_network(LAYERS, 10, eta=1e-3 / ms)


def test_learner_rejects_bad_input():
    X = np.random.default_rng(0).normal(size=(20, 3))
    y = (X[:, 0] > 0).astype(int)
    clf = DendriticGatedClassifier(hidden_layers=(2,), n_branches=3, chunk=20, target="numpy",
                                   progress=False, epochs=1)
    with pytest.raises(ValueError, match="not fitted"):
        clf.predict(X)
    with pytest.raises(ValueError, match="at least 2 classes"):
        clf.fit(X, np.zeros(20))
    clf.fit(X, y)
    with pytest.raises(ValueError, match="3 features"):
        clf.predict(X[:, :2])
    with pytest.raises(ValueError, match=r"labels \[2\] are not among the classes \[0, 1\]"):
        clf.score(X, np.where(y == 1, 2, 0))
    with pytest.raises(ValueError, match="NaN"):
        clf.predict(np.full((2, 3), np.nan))
    for name, value, error in (("hidden_layers", (0,), ValueError), ("hidden_layers", 5, TypeError),
                               ("side_info", "rawish", ValueError), ("eps", 0.7, ValueError),
                               ("feature_scaling", "minmax", ValueError),
                               ("n_branches", 2.5, TypeError)):
        bad = DendriticGatedClassifier(**{name: value}, target="numpy", progress=False)
        with pytest.raises(error, match=name):
            bad.fit(X, y)
    reg = DendriticGatedRegressor(hidden_layers=(2,), n_branches=3, chunk=20, target="numpy",
                                  progress=False, epochs=1).fit(X, X[:, :2])
    assert reg.predict(X).shape == (20, 2)
    with pytest.raises(ValueError, match="shape"):
        reg.score(X, X[:, :3])


# ------------------------------------------------------------- learners
def test_classifier_partial_fit_save_load_and_probabilities(tmp_path):
    """A stream in two parts equals one pass; save/load keeps scaling, classes and weights."""
    rng = np.random.default_rng(1)
    X = rng.normal(size=(60, 4)) + 1.0
    y = np.array(["a", "b", "c"])[np.argmax(X[:, :3], axis=1)]
    kw = dict(hidden_layers=(3,), n_branches=5, chunk=30, target="numpy", progress=False,
              shuffle=False, eta=0.05, theta_mean=0.0)
    one = DendriticGatedClassifier(**kw, epochs=1).fit(X, y)
    two = DendriticGatedClassifier(**kw)
    two.partial_fit(X[:30], y[:30], classes=["a", "b", "c"])
    two.partial_fit(X[30:], y[30:])
    # same scaling only if both saw the same first data: refit `one` as a stream to compare
    three = DendriticGatedClassifier(**kw)
    three.partial_fit(X, y)
    np.testing.assert_array_equal(three.weights_["W1"], one.weights_["W1"])
    assert two.epochs_done_ == 2 and list(two.classes_) == ["a", "b", "c"]
    proba = one.predict_proba(X)
    assert proba.shape == (60, 3)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    before = two.score(X, y)
    for _ in range(8):
        two.partial_fit(X, y)
    assert two.score(X, y) > before  # measured 0.9 -> 1.0
    assert two.score(X, y) >= 0.95
    path = one.save(tmp_path / "dgn")
    back = DendriticGatedClassifier.load(path)
    assert list(back.classes_) == ["a", "b", "c"] and back.n_features_in_ == 4
    np.testing.assert_array_equal(back.predict_proba(X), proba)
    np.testing.assert_array_equal(back.feature_offset_, one.feature_offset_)
    # a learner saved before the block-diagonal layout: W2 over every class's layer below
    # with a mask, gates in double precision
    old = one.__getstate__()
    state = dict(old["_pickled_state"])
    local = one.weights_["W2"]
    assert local.shape == (3 * 1 * 5, 3) and np.abs(local).max() > 0
    full = dgn_block_to_full(local, 3, 1, 5, 3)
    state["W2.w"], state["W2.mask"] = full.ravel(), (full != 0).ravel() * 1.0
    state["G1.w"] = state["G1.w"].astype(np.float64) * (1 + 1e-9)
    migrated = DendriticGatedClassifier.__new__(DendriticGatedClassifier)
    with pytest.warns(UserWarning, match=r"'G1.w'.*rounded to single precision"):
        migrated.__setstate__({**old, "_pickled_state": state})
    np.testing.assert_array_equal(migrated.weights_["W2"], local)
    np.testing.assert_array_equal(migrated.predict_proba(X), proba)
    state["G1.w"] = old["_pickled_state"]["G1.w"]
    state["W2.w"] = state["W2.w"][:-1]  # anything else is still refused, by name
    with pytest.raises(ValueError, match="W2.w"):
        DendriticGatedClassifier.__new__(DendriticGatedClassifier).__setstate__(
            {**old, "_pickled_state": state})


def test_classifier_defaults_beat_tuned_logistic_regression_on_digits(cache_dir):
    """Default arguments, 3 epochs on scikit-learn's 8x8 digits (70/30 split, seed 0).

    Measured: DGN test accuracy 0.963 / 0.989 / 0.987 after epochs 1-3; logistic
    regression on standardised pixels, best of C in {0.01, 0.1, 1, 10}: 0.961.
    """
    sklearn = pytest.importorskip("sklearn")  # noqa: F841 - the yardstick and the data set
    from sklearn.datasets import load_digits
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import train_test_split
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    X, y = load_digits(return_X_y=True)
    Xtr, Xte, ytr, yte = train_test_split(X, y, test_size=0.3, random_state=0)
    logreg = max(make_pipeline(StandardScaler(), LogisticRegression(C=c, max_iter=3000))
                 .fit(Xtr, ytr).score(Xte, yte) for c in (0.01, 0.1, 1, 10))
    clf = DendriticGatedClassifier(progress=False, cache_dir=cache_dir)
    clf.fit(Xtr, ytr, validation_data=(Xte, yte))
    hist = clf.history_
    assert len(hist) == 3
    assert hist.val_score.iloc[-1] >= logreg, (hist.val_score.tolist(), logreg)
    assert hist.val_score.iloc[0] > 0.9  # data efficiency: one online pass
    assert clf.score(Xte, yte) == pytest.approx(hist.val_score.iloc[-1])


def test_regressor_defaults_beat_ridge_regression_on_friedman1():
    """Default arguments, 3 epochs, scikit-learn's Friedman #1 (10 features, 1400/600, noise 0.5).

    Measured: R² 0.61 / 0.83 / 0.85 after epochs 1-3 (numpy target; the compiled
    target equals it, see the equality tests); ridge regression 0.746.
    """
    pytest.importorskip("sklearn")
    from sklearn.datasets import make_friedman1
    from sklearn.linear_model import RidgeCV
    from sklearn.model_selection import train_test_split

    X, y = make_friedman1(n_samples=2000, noise=0.5, random_state=0)
    Xtr, Xte, ytr, yte = train_test_split(X, y, test_size=0.3, random_state=0)
    ridge = RidgeCV().fit(Xtr, ytr).score(Xte, yte)
    reg = DendriticGatedRegressor(progress=False, target="numpy")
    reg.fit(Xtr, ytr, validation_data=(Xte, yte))
    assert reg.history_.val_score.iloc[-1] >= ridge + 0.05, (reg.history_.val_score.tolist(), ridge)
    pred = reg.predict(Xte)
    assert pred.shape == yte.shape and abs(pred.mean() - yte.mean()) < 0.5  # units of y


# ------------------------------------------------------------- reproductions
def test_permuted_mnist_example_fast_mode(mnist_path, tmp_path, run_example):
    """The example's smoke run: 2 tasks x 200 images; it prints the table and draws the figure."""
    png = tmp_path / "pm.png"
    out = run_example("sezener2021_permuted_mnist",
                        ["--fast", "--data", str(mnist_path), "--out", str(png),
                         "--target", "numpy"])
    assert png.stat().st_size > 0
    s = out["summary"].set_index("model")
    assert set(s.index) == {"dgn", "mlp"}
    assert len(out["table"]) == 2 * 2 * 2
    assert s.loc["dgn", "just_learned"] > 0.5  # chance: 0.1
    with pytest.raises(SystemExit):
        run_example("sezener2021_permuted_mnist", ["--data", str(tmp_path / "missing.csv")])


def test_regression_example_fast_mode(tmp_path, run_example):
    """One pass over 600 Friedman #1 samples: both curves drawn, the DGN beats predicting the mean."""
    png = tmp_path / "reg.png"
    table = run_example("sezener2021_regression", ["--fast", "--out", str(png)])
    assert png.stat().st_size > 0
    assert set(table.model) == {"dgn", "mlp"}
    dgn = table[table.model == "dgn"]
    assert list(dgn.samples) == [200, 400, 600]
    assert dgn.r2.iloc[-1] > 0.4  # measured 0.70 (R² 0 = predicting the mean)


@pytest.mark.slow
def test_permuted_mnist_dgn_forgets_less_than_the_best_mlp(mnist_path, cache_dir):
    """5 tasks x 1000 images, DGN [784, 10, 10, 1] x 100 branches, 1000 test images, seeds 0-2.

    The issue's targets: mean final >= 0.83, forgetting <= 0.05, margin over the best MLP of
    the grid >= +0.03 on every seed. Measured 2026-11-30 (docs/dgn.md), seeds 0 / 1 / 2: DGN
    mean final 0.870 / 0.889 / 0.885, forgetting 0.001 / 0.007 / 0.013; best MLP 0.815 /
    0.855 / 0.841; margins +0.055 / +0.034 / +0.044. About 7 min per seed on one core.
    """
    from brian_dendrites.experiments.sezener2021 import dgn_permuted_mnist

    for seed in (0, 1, 2):
        s = dgn_permuted_mnist(mnist_path, seed=seed, cache_dir=cache_dir,
                               progress=False)["summary"].set_index("model")
        dgn, mlp = s.loc["dgn"], s.loc["mlp"]
        assert dgn.mean_final >= 0.83, (seed, s)
        assert dgn.forgetting <= 0.05, (seed, s)
        assert dgn.mean_final - mlp.mean_final >= 0.03, (seed, s)


@pytest.mark.slow
def test_permuted_mnist_dgn_with_weight_clip_keeps_what_it_learned(mnist_path, cache_dir):
    """The issue's ambitious variant: weights clipped to +-0.02, mean final >= 0.85 and
    forgetting <= 0.025 on seeds 0-2. Measured 2026-11-30 (docs/dgn.md), seeds 0 / 1 / 2: mean
    final 0.872 / 0.892 / 0.888, forgetting 0.000 / 0.007 / 0.010. About 7 min per seed.
    """
    from brian_dendrites.experiments.sezener2021 import dgn_permuted_mnist

    for seed in (0, 1, 2):
        s = dgn_permuted_mnist(mnist_path, seed=seed, w_clip=0.02, cache_dir=cache_dir,
                               progress=False)["summary"].set_index("model")
        dgn = s.loc["dgn"]
        assert dgn.mean_final >= 0.85 and dgn.forgetting <= 0.025, (seed, s)


@pytest.mark.slow
def test_dgn_is_more_data_efficient_than_the_best_mlp(mnist_path, cache_dir):
    """One online pass, DGN [784, 10, 10, 1] x 100: accuracy after 250 / 1000 / 4000 images.

    Measured, seeds 0 / 1 / 2: 250 images 0.828 / 0.819 / 0.834, 1000: 0.892 / 0.888 / 0.912,
    4000: 0.925 / 0.938 / 0.930; best MLP at each budget 0.754-0.772, 0.839-0.862, 0.886-0.909.
    """
    from brian_dendrites.experiments.sezener2021 import data_efficiency

    for seed in (0, 1, 2):
        df = data_efficiency(mnist_path, seed=seed, cache_dir=cache_dir, progress=False)
        dgn = df[df.model == "dgn"].set_index("samples").accuracy
        mlp = df[df.model == "mlp"].set_index("samples").accuracy
        assert dgn[250] >= 0.80 and dgn[1000] >= 0.86 and dgn[4000] >= 0.91, (seed, df)
        assert np.all(dgn > mlp), (seed, df)


def test_float32_learner_follows_the_float64_one_and_saves(tmp_path):
    X = np.random.default_rng(3).normal(size=(40, 3))
    y = (X[:, 0] + X[:, 1] > 0).astype(int)
    kw = dict(hidden_layers=(2,), n_branches=4, chunk=40, target="numpy", progress=False,
              epochs=2, eta=0.05, theta_mean=0.0)
    f64 = DendriticGatedClassifier(**kw).fit(X, y)
    f32 = DendriticGatedClassifier(**kw, dtype=np.float32).fit(X, y)
    assert f32.session_.state["W1.w"].dtype == np.float32
    np.testing.assert_allclose(f32.predict_proba(X), f64.predict_proba(X), atol=1e-5)
    back = DendriticGatedClassifier.load(f32.save(tmp_path / "f32"))
    assert back.dtype == "float32"
    np.testing.assert_array_equal(back.predict_proba(X), f32.predict_proba(X))
    with pytest.raises(ValueError, match="dtype"):
        DendriticGatedClassifier(**{**kw, "epochs": 1}, dtype="float16").fit(X, y)
