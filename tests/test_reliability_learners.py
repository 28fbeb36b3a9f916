"""Issue 15, learner side: nothing lost, nothing repeated.

Checkpoints are atomic and checked, divergence and interrupts leave a
consistent learner, time grids and arguments get named errors, learners
pickle and train safely in threads, and every run draws its own noise.
"""

import copy
import json
import os
import pickle
import threading

import numpy as np
import pytest
from brian2 import ms, prefs

import brian_dendrites.learners.base as base
from brian_dendrites.circuits import dendritic_microcircuit
from brian_dendrites.engine import Session
from brian_dendrites.engine.session import DivergenceError
from brian_dendrites.learners import DendriticMicrocircuitRegressor as R
from brian_dendrites.learners import SteadyStateMicrocircuitClassifier as C

LAYERS = [3, 4, 2]
KW = dict(t_pattern=2 * ms, chunk=4, target="numpy", progress=False, shuffle=False,
          eta_PP=0.05 / ms, eta_IP=0.02 / ms, eta_PI=0.02 / ms)
NOISE = 0.5 / ms ** 0.5


def _data(n=6, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.uniform(0, 3, (n, 3))
    return X, X @ rng.uniform(-1, 1, (3, 2)) + 2


def _same_weights(a, b):
    assert a.keys() == b.keys()
    for name in a:
        np.testing.assert_array_equal(a[name], b[name], err_msg=name)


def _rewrite(path, drop=(), **meta_changes):
    """Rewrite a checkpoint without some arrays and with changed metadata."""
    with np.load(path) as data:
        arrays = {k: data[k] for k in data.files if k not in drop}
    meta = json.loads(str(arrays[base._META_KEY][()]))
    meta.update(meta_changes)
    arrays[base._META_KEY] = np.array(json.dumps(meta))
    np.savez(path, **arrays)


# --------------------------------------------------------------- checkpoints
def test_failed_save_leaves_the_previous_checkpoint_loadable(tmp_path, monkeypatch):
    X, Y = _data()
    a = R(LAYERS, **KW).fit(X, Y)
    written = a.save(tmp_path / "run")
    assert written == tmp_path / "run.npz"
    saved = a.weights_
    a.partial_fit(X, Y)

    real_savez = np.savez

    def disk_full(file, **arrays):  # writes part of a checkpoint, then the disk is full
        real_savez(file, **arrays)
        if hasattr(file, "truncate"):
            file.truncate(200)
        else:
            os.truncate(file, 200)
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(np, "savez", disk_full)
    with pytest.raises(OSError, match="No space"):
        a.save(tmp_path / "run")
    monkeypatch.setattr(np, "savez", real_savez)
    b = R.load(tmp_path / "run")
    _same_weights(b.weights_, saved)
    assert b.epochs_done_ == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run.npz"]  # no temporary left

    a.cache_dir = {"not": {1, 2}}  # a value JSON cannot encode: refused before writing
    with pytest.raises(TypeError, match="cache_dir"):
        a.save(tmp_path / "run")
    c = R.load(tmp_path / "run")
    _same_weights(c.weights_, saved)
    assert c.epochs_done_ == 1


def test_versioned_names_are_separate_checkpoints_and_numpy_params_save(tmp_path):
    X, Y = _data()
    a = R(np.array(LAYERS), **KW).fit(X, Y)  # NumPy integers in the parameters
    a.save(tmp_path / "run.v1")
    first = a.weights_
    a.partial_fit(X, Y)
    a.save(tmp_path / "run.v2")
    v1, v2 = R.load(tmp_path / "run.v1"), R.load(tmp_path / "run.v2")
    assert (v1.epochs_done_, v2.epochs_done_) == (1, 2)
    _same_weights(v1.weights_, first)
    _same_weights(v2.weights_, a.weights_)
    assert len(v2.history_) == 2


def test_load_rejects_missing_keys_corrupt_files_and_warns_on_versions(tmp_path, monkeypatch):
    X, Y = _data()
    path = R(LAYERS, **KW).fit(X, Y).save(tmp_path / "net.npz")
    good = path.read_bytes()

    _rewrite(path, drop=("W1.w",))
    with pytest.raises(ValueError, match=r"lacks \['W1.w'\]"):
        R.load(path)

    path.write_bytes(good[: len(good) // 2])  # truncated
    with pytest.raises(ValueError, match="net.npz.*corrupt or truncated"):
        R.load(path)
    path.write_bytes(b"not a zip file at all")
    with pytest.raises(ValueError, match="corrupt or truncated"):
        R.load(path)

    path.write_bytes(good)
    _rewrite(path, versions={"brian2": "2.0", "numpy": "1.0"})
    with pytest.warns(UserWarning, match="numpy 1.0"):
        R.load(path)

    path.write_bytes(good)
    _rewrite(path, model_hash="0" * 16)

    def no_build(*args, **kwargs):
        raise AssertionError("load built a session to check the model hash")

    monkeypatch.setattr(base, "Session", no_build)
    with pytest.raises(ValueError, match="model hash"):
        R.load(path)


# --------------------------------------------------------------- divergence
def test_divergence_names_epoch_chunk_variable_and_keeps_the_last_finite_chunk():
    X, Y = _data(8)
    bad = X.copy()
    bad[5] = 1e200  # the second chunk overflows
    a = R(LAYERS, **KW)
    with pytest.raises(DivergenceError, match=r"epoch 1, chunk 2 of 2.*first non-finite") as err:
        a.fit(bad, Y)
    assert (err.value.epoch, err.value.chunk) == (1, 2) and err.value.variable
    first_chunk = R(LAYERS, **KW).fit(X[:4], Y[:4])
    _same_weights(a.weights_, first_chunk.weights_)
    assert a.epochs_done_ == 0 and len(a.history_) == 0
    assert np.all(np.isfinite(a.predict(X)))  # still usable
    a.set_params(warm_start=True).partial_fit(X[4:], Y[4:])
    assert a.epochs_done_ == 1 and len(a.history_) == 1

    single = R(LAYERS, **KW)  # everything in one chunk: reported the same way
    initial = single.fit(X[:4], Y[:4], epochs=0).weights_
    with pytest.raises(DivergenceError, match=r"epoch 1, chunk 1 of 1"):
        single.fit(bad[2:6], Y[:4])
    _same_weights(single.weights_, initial)
    assert single.epochs_done_ == 0


# --------------------------------------------------------------- interrupts
def test_interrupted_epoch_is_rolled_back_and_training_resumes_identically(monkeypatch):
    X, Y = _data(6)
    a = R(LAYERS, warm_start=True, **KW).fit(X, Y)  # one epoch done
    done = a.weights_
    run, calls = a.session_.run, []

    def interrupted(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return run(*args, **kwargs)

    monkeypatch.setattr(a.session_, "run", interrupted)
    with pytest.raises(KeyboardInterrupt):
        a.fit(X, Y)  # interrupted in the second chunk
    _same_weights(a.weights_, done)
    assert a.epochs_done_ == 1 and len(a.history_) == 1
    monkeypatch.setattr(a.session_, "run", run)
    a.fit(X, Y)
    twin = R(LAYERS, **KW).fit(X, Y, epochs=2)
    _same_weights(a.weights_, twin.weights_)
    assert a.epochs_done_ == 2


def test_interrupted_first_build_leaves_a_learner_that_builds_again(monkeypatch):
    X, Y = _data(4)
    calls = []

    def interrupted_once(*args, **kwargs):
        calls.append(1)
        if len(calls) == 1:
            raise KeyboardInterrupt
        return Session(*args, **kwargs)

    monkeypatch.setattr(base, "Session", interrupted_once)
    a = R(LAYERS, **KW)
    with pytest.raises(KeyboardInterrupt):
        a.fit(X, Y)
    assert getattr(a, "session_", None) is None
    a.fit(X, Y)
    assert a.epochs_done_ == 1 and len(calls) == 2


# --------------------------------------------------------------- time grids
@pytest.mark.parametrize("t_pattern", [0.05 * ms, 0.25 * ms])
def test_time_grid_off_the_time_step_is_refused(t_pattern):
    with pytest.raises(ValueError, match="t_pattern"):
        R(LAYERS, **{**KW, "t_pattern": t_pattern}).fit(*_data(4))


def test_regressor_exposes_dt_and_refuses_unsupported_modes():
    X, Y = _data(4)
    coarse = R(LAYERS, **KW).fit(X, Y, epochs=0)
    fine = R(LAYERS, dt=0.05 * ms, **KW).fit(X, Y)
    assert fine.session_.simulation.n_steps == 2 * coarse.session_.simulation.n_steps
    assert np.all(np.isfinite(fine.predict(X)))
    with pytest.raises(ValueError, match="t_pattern"):
        R(LAYERS, dt=0.3 * ms, **KW).fit(X, Y)
    with pytest.raises(TypeError, match="mode"):
        R(LAYERS, mode="steady_state", **KW)


def test_numpy_learner_never_compiles_cython(tmp_path):
    X, Y = _data(4)
    old = prefs.codegen.target, prefs["codegen.runtime.cython.cache_dir"]
    prefs.codegen.target = "cython"  # any code generated outside the learner's target would compile
    prefs["codegen.runtime.cython.cache_dir"] = str(tmp_path / "cython")
    try:
        a = R(LAYERS, **KW).fit(X, Y)
        a.predict(X)
        R.load(a.save(tmp_path / "m")).predict(X)
    finally:
        prefs.codegen.target, prefs["codegen.runtime.cython.cache_dir"] = old
    built = list((tmp_path / "cython").rglob("*")) if (tmp_path / "cython").exists() else []
    assert not built


# --------------------------------------------------------------- named errors
@pytest.mark.parametrize("kwargs, exc, match", [
    (dict(conductances={"g_L": 0 / ms, "g_B": 0 / ms}), ValueError, r"g_L \+ g_B"),
    (dict(conductances={"g_L": 0 / ms, "g_D": 0 / ms}), ValueError, "g_D"),
    (dict(conductances={"g_D": 0 / ms}), ValueError, "g_D"),  # self-predicting state
    (dict(weight_scale=float("nan")), ValueError, "weight_scale"),
    (dict(seed=2**32), ValueError, "seed"),
    (dict(self_predicting="no"), TypeError, "self_predicting"),
    (dict(learn_topdown="yes"), TypeError, "learn_topdown"),
    (dict(sigma=0.1), TypeError, "sigma"),
])
def test_bad_settings_get_named_errors_before_building(kwargs, exc, match):
    with pytest.raises(exc, match=match):
        R([3, 4, 4, 2], **{**KW, **kwargs}).fit(*_data(4))


@pytest.mark.parametrize("X, y, match", [
    (np.array([["1", "2", "3"]] * 4), None, "X: .*text"),
    (np.ones((4, 3)) + 1j, None, "X: .*complex"),
    (None, np.array([["a", "b"]] * 4), "y: .*text"),
])
def test_text_and_complex_data_are_refused(X, y, match):
    X0, Y0 = _data(4)
    with pytest.raises(TypeError, match=match):
        R(LAYERS, **KW).fit(X0 if X is None else X, Y0 if y is None else y)


def test_classifier_refuses_text_labels():
    clf = C([3, 4, 2], chunk=4, target="numpy", progress=False)
    with pytest.raises(TypeError, match="y: .*text"):
        clf.fit(np.ones((4, 3)), np.array(["cat", "dog", "cat", "dog"]))


def test_out_of_memory_sizes_fail_before_building(monkeypatch):
    monkeypatch.setattr(base, "_available_memory", lambda: 1000)
    monkeypatch.setattr(base, "Session", None)  # building would fail differently
    with pytest.raises(MemoryError, match=r"needs about .* GiB.*available"):
        R(LAYERS, **KW).fit(*_data(4))


# --------------------------------------------------------------- copies, threads
def test_learners_pickle_and_deepcopy_and_continue_identically():
    X, Y = _data(6)
    a = R(LAYERS, **KW).fit(X, Y)
    for b in (pickle.loads(pickle.dumps(a)), copy.deepcopy(a)):
        assert b.session_ is not a.session_ and b.epochs_done_ == 1 and len(b.history_) == 1
        np.testing.assert_array_equal(b.predict(X), a.predict(X))
        b.partial_fit(X, Y)
    a.partial_fit(X, Y)
    _same_weights(b.weights_, a.weights_)
    unfitted = pickle.loads(pickle.dumps(R(LAYERS, **KW)))
    assert getattr(unfitted, "session_", None) is None
    with pytest.raises(TypeError, match="cannot be pickled.*save"):
        pickle.dumps(a.session_)


def test_learners_trained_in_threads_equal_learners_trained_in_sequence():
    data = [_data(8, seed) for seed in (1, 2)]
    sequential = [R(LAYERS, seed=s, **KW).fit(*d, epochs=2).weights_ for s, d in enumerate(data)]
    out = [None, None]

    def train(i):
        out[i] = R(LAYERS, seed=i, **KW).fit(*data[i], epochs=2).weights_

    threads = [threading.Thread(target=train, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(o is not None for o in out), "a training thread raised"  # threads swallow errors
    for got, want in zip(out, sequential):
        _same_weights(got, want)


# --------------------------------------------------------------- randomness per run
def test_every_chunk_draws_its_own_noise_and_the_seed_reproduces_it():
    X = np.ones((4, 3))
    Y = np.ones((4, 2))
    kw = {**KW, "chunk": 2, "sigma": NOISE}
    a = R(LAYERS, **kw).fit(X, Y)
    p = a.predict(X)
    assert np.abs(p[:2] - p[2:]).max() > 1e-6  # chunk 1 and chunk 2 see different noise
    np.testing.assert_array_equal(a.predict(X), p)  # predictions are reproducible
    b = R(LAYERS, **kw).fit(X, Y)
    _same_weights(a.weights_, b.weights_)
    np.testing.assert_array_equal(b.predict(X), p)
    quiet = R(LAYERS, **{**KW, "chunk": 2}).fit(X, Y).predict(X)
    np.testing.assert_array_equal(quiet[:2], quiet[2:])  # without noise the chunks agree


def test_session_divergence_names_the_variable():
    s = Session(lambda: dendritic_microcircuit(LAYERS, n_patterns=1, t_pattern=2 * ms),
                target="numpy")
    before = dict(s.state)
    with pytest.raises(DivergenceError) as err:
        s.run({"x": np.full((1, 3), 1e200), "learn": np.ones(1)})
    assert err.value.variable in before and err.value.variable in str(err.value)
    assert all(s.state[k] is before[k] for k in before)
