"""float32 networks: ``Simulation(..., dtype=np.float32)`` / ``Session(..., dtype=...)``.

The microcircuit compiled in float32 against the NumPy reference in float32
(same equations and step order), the float64 build unchanged, both binaries
kept side by side in the cache, and the argument checks.
"""

import numpy as np
import pytest
from brian2 import NeuronGroup, ms, prefs

from brian_dendrites.circuits import dendritic_microcircuit
from brian_dendrites.engine import Session, Simulation, cache_info
from brian_dendrites.engine.simulation import check_float_dtype
from brian_dendrites.reference.microcircuit import ReferenceMicrocircuit

LAYERS = [4, 5, 3]
ETAS = dict(eta_PP=[0.05 / ms, 0.03 / ms], eta_IP=0.02 / ms, eta_PI=0.01 / ms)
N_PATTERNS, STEPS = 2, 100  # patterns of 10 ms, dt = 0.1 ms
WEIGHTS = ("W1", "W2", "B1", "IP1", "PI1")
READ = ["pyr1.u", "pyr2.u", "int1.u"] + [f"{name}.w" for name in WEIGHTS]


def _build():
    return dendritic_microcircuit(LAYERS, n_patterns=N_PATTERNS, t_pattern=10 * ms, seed=5,
                                  **ETAS)


def _inputs():
    rng = np.random.default_rng(0)
    X = rng.uniform(0, 2, (N_PATTERNS, LAYERS[0]))
    U = rng.uniform(0, 1.5, (N_PATTERNS, LAYERS[-1]))
    return {"x": X, "target": U, "nudge": np.ones(N_PATTERNS), "learn": np.ones(N_PATTERNS)}


def _reference(weights, dtype):
    ref = ReferenceMicrocircuit(LAYERS, eta_PP=ETAS["eta_PP"], eta_IP=ETAS["eta_IP"],
                                eta_PI=ETAS["eta_PI"], seed=0, dtype=dtype)
    ref.set_weights(W=[weights["W1"], weights["W2"]], B=[weights["B1"]],
                    IP=[weights["IP1"]], PI=[weights["PI1"]])
    inputs = _inputs()
    ref.run(np.repeat(inputs["x"], STEPS, axis=0), np.repeat(inputs["target"], STEPS, axis=0),
            record=())
    return ref


def _final(session, result):
    """Somata and weight matrices at the end of a run, by name."""
    out = {"pyr1.u": result["pyr1.u"], "pyr2.u": result["pyr2.u"], "int1.u": result["int1.u"]}
    for name in WEIGHTS:
        out[name] = session.circuit.weights[name].to_matrix(result[f"{name}.w"])
    return out


def _reference_final(ref):
    out = {"pyr1.u": ref.u[0], "pyr2.u": ref.u[1], "int1.u": ref.uI[0]}
    out.update(W1=ref.W[0], W2=ref.W[1], B1=ref.B[0], IP1=ref.IP[0], PI1=ref.PI[0])
    return out


@pytest.fixture(scope="module")
def runs(cache_dir):
    """The circuit compiled in float64 and in float32, run once each from the same state."""
    out = {}
    for dtype in (np.float64, np.float32):
        session = Session(_build, dtype=dtype, cache_dir=cache_dir, name="f32test")
        res = session.run(_inputs(), read=READ, carry=False)
        out[np.dtype(dtype).name] = (session, res)
    return out


def test_float32_circuit_equals_numpy_reference_in_float32(runs):
    session64, res64 = runs["float64"]
    session32, res32 = runs["float32"]
    assert session32.simulation.dtype == np.float32
    assert prefs.core.default_float_dtype is np.float64  # restored after the build
    weights0 = session64.weights  # the initial weights (state before any carried run)
    ours64, ours32 = _final(session64, res64), _final(session32, res32)
    ref64 = _reference_final(_reference(weights0, np.float64))
    ref32 = _reference_final(_reference(weights0, np.float32))
    gap32, gap64 = 0.0, 0.0
    for key in ours32:
        raw = f"{key}.w" if key in WEIGHTS else key
        assert res32[raw].dtype == np.float32 and res64[raw].dtype == np.float64, key
        # float64: the same numbers as NumPy to rounding
        np.testing.assert_allclose(ours64[key], ref64[key], rtol=0, atol=1e-12, err_msg=key)
        # float32: the same numbers as NumPy in float32, to float32 rounding
        # (200 steps; values of order 1, float32 epsilon 1.2e-7; measured 2.4e-7)
        np.testing.assert_allclose(ours32[key], ref32[key], rtol=0, atol=1e-5, err_msg=key)
        gap32 = max(gap32, np.max(np.abs(ours32[key] - ref32[key])))
        gap64 = max(gap64, np.max(np.abs(ours32[key] - ours64[key])))
    # the float32 binary really computed in float32: it is off the float64 run by
    # far more than float64 rounding (measured 2.3e-6), and it follows NumPy's
    # float32 arithmetic much more closely than the float64 run (measured 7x)
    assert gap64 > 1e-7
    assert gap32 < gap64 / 2
    # and plasticity acted, so the weights were compared after real updates
    moved = max(np.abs(ours32[k] - weights0[k]).max() for k in ("W1", "W2", "IP1", "PI1"))
    assert moved > 1e-5


def test_float32_session_state_and_readout_are_float32(runs):
    session32, res32 = runs["float32"]
    assert all(v.dtype == np.float32 for v in session32.initial_state.values()
               if v.dtype.kind == "f")
    out = session32.outputs(res32)
    assert out.shape == (N_PATTERNS, LAYERS[-1]) and out.dtype == np.float32
    # a carried run continues from float32 state
    session32.run(_inputs(), carry=True)
    assert all(v.dtype == np.float32 for v in session32.state.values() if v.dtype.kind == "f")
    session32.reset()


def test_cache_keeps_both_binaries_and_float64_is_the_default(runs, cache_dir):
    session64, res64 = runs["float64"]
    session32, _ = runs["float32"]
    dir64, dir32 = session64.simulation.project_dir, session32.simulation.project_dir
    assert dir64 != dir32
    rows = cache_info(cache_dir)
    ours = rows[rows.project.str.startswith("f32test_")]
    assert sorted(ours.path) == sorted([str(dir64), str(dir32)])
    assert ours.valid.all()
    # float64 is the default (Brian2's preference), with the same binary as before
    # the option existed: dtype=None reuses it, and gives bit-identical results
    again = Session(_build, cache_dir=cache_dir, name="f32test")
    assert again.simulation.dtype == np.float64
    assert again.simulation.project_dir == dir64
    res = again.run(_inputs(), read=READ, carry=False)
    for key in res64:
        np.testing.assert_array_equal(res[key], res64[key], err_msg=key)
    # and the float32 binary is reused too (no recompilation)
    mtime = (dir32 / "main").stat().st_mtime
    again32 = Session(_build, cache_dir=cache_dir, name="f32test", dtype="float32")
    assert again32.simulation.project_dir == dir32
    assert (dir32 / "main").stat().st_mtime == mtime


def _leaky_build():
    g = NeuronGroup(3, "dv/dt = (I - v)/(10*ms) : 1\nI : 1 (constant)", name="g")
    return {"g": g}


def test_runtime_target_float32_and_prefs_restored():
    sim = Simulation(_leaky_build, 20 * ms, target="numpy", dtype=np.float32)
    assert prefs.core.default_float_dtype is np.float64
    res = sim.run({"g.I": [0.5, 1.0, 2.0]})
    assert prefs.core.default_float_dtype is np.float64
    assert res["g.v"].dtype == np.float32
    # Brian2 integrates this linear equation exactly
    expected = np.array([0.5, 1.0, 2.0]) * (1 - np.exp(-2.0))
    np.testing.assert_allclose(res["g.v"], expected, rtol=2e-5)
    sim64 = Simulation(_leaky_build, 20 * ms, target="numpy")
    v64 = sim64.run({"g.I": [0.5, 1.0, 2.0]})["g.v"]
    assert v64.dtype == np.float64
    assert np.max(np.abs(res["g.v"] - v64)) > 1e-9  # really float32 arithmetic


def test_run_values_outside_float32_range_are_refused():
    sim = Simulation(_leaky_build, 1 * ms, target="numpy", dtype="float32")
    with pytest.raises(ValueError, match=r"values\['g.I'\].*float32"):
        sim.run({"g.I": 1e39})
    sim.run({"g.I": 1e38})  # representable


@pytest.mark.parametrize("dtype, exc", [
    ("int32", ValueError), (np.float16, ValueError), (np.int64, ValueError),
    (3, TypeError), (True, TypeError), ("double precision", TypeError), ([np.float32], TypeError),
])
def test_dtype_is_validated(dtype, exc):
    with pytest.raises(exc, match="dtype"):
        check_float_dtype(dtype)
    with pytest.raises(exc, match="dtype"):
        Simulation(_leaky_build, 1 * ms, target="numpy", dtype=dtype)
    with pytest.raises(exc, match="dtype"):
        Session(_build, target="numpy", dtype=dtype)


@pytest.mark.parametrize("dtype", [np.float32, "float32", "f4", np.dtype(np.float32),
                                   np.float64, float, "float64", None])
def test_dtype_spellings(dtype):
    expected = np.float32 if dtype in (np.float32, "float32", "f4") or (
        isinstance(dtype, np.dtype) and dtype == np.float32) else np.float64
    assert check_float_dtype(dtype) == expected


def test_microcircuit_learners_take_a_float32_dtype(tmp_path):
    """The learners build float32 networks (numpy target here) and store the dtype by name."""
    from brian_dendrites import DendriticMicrocircuitRegressor, SteadyStateMicrocircuitClassifier

    rng = np.random.default_rng(0)
    X = rng.uniform(0, 1, (4, 3))
    reg = DendriticMicrocircuitRegressor([3, 4, 2], t_pattern=2 * ms, chunk=4, target="numpy",
                                         progress=False, dtype=np.float32)
    reg.fit(X, rng.uniform(0, 1, (4, 2)))
    assert reg.session_.state["W1.w"].dtype == np.float32
    assert DendriticMicrocircuitRegressor.load(reg.save(tmp_path / "r")).dtype == "float32"
    clf = SteadyStateMicrocircuitClassifier([3, 4, 2], chunk=4, target="numpy", progress=False,
                                            dtype="float32", weight_scale=1.0)
    clf.fit(X, np.array([0, 1, 0, 1]))
    assert clf.session_.state["W1.w"].dtype == np.float32
    with pytest.raises(ValueError, match="dtype"):
        SteadyStateMicrocircuitClassifier([3, 4, 2], dtype="int8").fit(X, np.array([0, 1, 0, 1]))
