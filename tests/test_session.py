"""The training contract's engine side: typed circuits and sessions."""

import numpy as np
import pytest
from brian2 import ms

from brian_dendrites.circuits import Circuit, Readout, WeightFamily, dendritic_microcircuit
from brian_dendrites.engine import DivergenceError, Session

LAYERS = [3, 4, 2]
ETAS = dict(eta_PP=0.05 / ms, eta_IP=0.02 / ms, eta_PI=0.02 / ms)


def _session(n_patterns, **kw):
    return Session(lambda: dendritic_microcircuit(LAYERS, n_patterns=n_patterns, t_pattern=5 * ms,
                                                  seed=1, **{**ETAS, **kw}),
                   target="numpy", name=f"sess{n_patterns}")


def _data(n=4, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.uniform(0, 3, (n, LAYERS[0]))
    return X, X @ rng.uniform(-1, 1, (LAYERS[0], LAYERS[-1])) + 2


def test_circuit_describes_its_inputs_readout_families_and_timing():
    c = dendritic_microcircuit(LAYERS, n_patterns=3, t_pattern=5 * ms, seed=1)
    assert c.inputs == {"x": "x_in", "target": "u_target", "nudge": "nudge_in", "learn": "learn_in"}
    assert c.input_shape("x") == (3, 3) and c.input_shape("nudge") == (3,)
    assert c.n_slots == 3 and c.duration == 15 * ms and c.steps_per_slot == 50
    assert set(c.weights) == {"W1", "W2", "B1", "IP1", "PI1"}
    assert not c.weights["B1"].plastic and c.weights["W1"].plastic
    assert c.weights["W1"].shape == (4, 3) and c.weights["W1"].key == "W1.w"
    assert c.readout.keys == ["out_mon.u", "pyr2.u"]
    with pytest.raises(KeyError, match="no input role 'z'"):
        c.input_shape("z")


def test_readout_returns_the_end_of_every_slot():
    r = Readout("mon", "u", final="out.u")
    res = {"mon.u": np.array([[0.0, 1.0, 2.0]]), "out.u": np.array([3.0])}
    np.testing.assert_array_equal(r.read(res), [[1.0], [2.0], [3.0]])
    assert Readout("mon", "u").read(res).shape == (3, 1)


def test_circuit_rejects_inconsistent_descriptions():
    c = dendritic_microcircuit(LAYERS, n_patterns=1, t_pattern=5 * ms)
    fam = WeightFamily("W9", "nowhere", (1, 1), np.zeros((1, 1)))
    with pytest.raises(ValueError, match="input role 'x' names 'missing'"):
        Circuit(c.objects, {"x": "missing"}, c.readout, {}, 1, 5 * ms)
    with pytest.raises(ValueError, match="W9"):
        Circuit(c.objects, c.inputs, c.readout, {"W9": fam}, 1, 5 * ms)
    with pytest.raises(ValueError, match="t_slot"):
        Circuit(c.objects, c.inputs, c.readout, {}, 1, -5 * ms)
    with pytest.raises(ValueError, match="shape"):
        c.weights["W1"].to_synapses(np.zeros((3, 4)))


def test_chained_session_runs_equal_one_long_run_and_start_as_built():
    X, Y = _data(4)
    long = _session(4)
    assert set(long.initial_state) == set(long.simulation.state_variables)
    for name, fam in long.circuit.weights.items():  # the state as built: initial weights
        np.testing.assert_array_equal(long.weights[name], fam.initial)
    assert np.all(long.initial_state["pyr1.u"] == 0)
    ref = long.run({"x": X, "target": Y, "nudge": np.ones(4)})
    short = _session(2)
    for c in range(2):
        sl = slice(2 * c, 2 * c + 2)
        res = short.run({"x": X[sl], "target": Y[sl], "nudge": np.ones(2)})
    fixed = {fam.key for fam in short.circuit.weights.values() if not fam.plastic}
    assert fixed == short._fixed == {"B1.w"}  # the feedback weights: passed in, not read back
    for key in short.state:
        if key in fixed:
            assert key not in res.keys()
            np.testing.assert_array_equal(short.state[key], short.initial_state[key])
        else:
            np.testing.assert_array_equal(res[key], ref[key], err_msg=key)
    # the declaration is true: asked for, the binary's fixed weights are those passed in
    again = short.run({"x": X[:2], "target": Y[:2], "nudge": np.ones(2)}, read=sorted(fixed))
    for key in fixed:
        np.testing.assert_array_equal(again[key], short.state[key], err_msg=key)
    np.testing.assert_array_equal(short.outputs(res), long.outputs(ref)[2:])
    assert np.abs(short.weights["W1"] - short.circuit.weights["W1"].initial).max() > 1e-5  # plasticity acted


def test_evaluation_runs_leave_the_state_alone_and_reset_restores_it():
    X, Y = _data(2)
    s = _session(2)
    s.run({"x": X, "target": Y, "nudge": np.ones(2)})
    trained = {k: v.copy() for k, v in s.state.items()}
    a = s.outputs(s.run({"x": X, "learn": np.zeros(2)}, carry=False))
    b = s.outputs(s.run({"x": X, "learn": np.zeros(2)}, carry=False))
    np.testing.assert_array_equal(a, b)
    for k, v in trained.items():
        np.testing.assert_array_equal(s.state[k], v)
    s.reset()
    np.testing.assert_array_equal(s.weights["W1"], s.circuit.weights["W1"].initial)
    with pytest.raises(KeyError, match="lacks"):
        s.reset({"W1.w": trained["W1.w"]})


def test_session_checks_roles_shapes_weights_and_builders():
    s = _session(2)
    with pytest.raises(KeyError, match="no input role 'teacher'"):
        s.run({"teacher": np.ones((2, 2))})
    with pytest.raises(ValueError, match=r"inputs\['x'\] must have shape \(2, 3\)"):
        s.run({"x": np.ones((3, 3))})
    with pytest.raises(KeyError, match="unknown weight family 'W7'"):
        s.set_weights({"W7": np.zeros((2, 2))})
    with pytest.raises(ValueError, match=r"W1.*\(4, 3\)"):
        s.set_weights({"W1": np.zeros((3, 4))})
    s.set_weights({"W1": np.full((4, 3), 0.5)})
    assert np.all(s.weights["W1"] == 0.5)
    with pytest.raises(TypeError, match="Circuit"):
        Session(lambda: {}, target="numpy")
    with pytest.raises(ValueError, match="target"):
        Session(lambda: None, target="gpu")


def test_divergence_raises_and_keeps_the_last_finite_state():
    X, Y = _data(2)
    s = _session(2, eta_PP=1e9 / ms, activation="linear")
    before = {k: v.copy() for k, v in s.state.items()}
    with np.errstate(all="ignore"), pytest.raises(DivergenceError, match="NaN or inf in"):
        s.run({"x": 100 * X, "target": 100 * Y, "nudge": np.ones(2)})
    for k, v in before.items():
        np.testing.assert_array_equal(s.state[k], v)


def test_integer_variables_refuse_fractions_and_runs_take_a_seed():
    from brian2 import NeuronGroup

    def build():
        c = dendritic_microcircuit(LAYERS, n_patterns=1, t_pattern=5 * ms)
        objects = {**c.objects, "cnt": NeuronGroup(1, "n : integer (constant)", name="cnt")}
        return Circuit(objects, c.inputs, c.readout, c.weights, c.n_slots, c.t_slot)

    s = Session(build, target="numpy", name="sess_int")
    assert s.run(values={"cnt.n": 2.0}, read=["cnt.n"], carry=False)["cnt.n"][0] == 2
    with pytest.raises(ValueError, match=r"values\['cnt.n'\]: .*integer.*1.7"):
        s.run(values={"cnt.n": 1.7})
    noisy = {"pyr1.sigma": 0.5 / ms ** 0.5, "pyr2.sigma": 0.5 / ms ** 0.5}
    out = [s.outputs(s.run({"x": np.ones((1, 3))}, values=noisy, carry=False, seed=seed))
           for seed in (1, 1, 2)]
    np.testing.assert_array_equal(out[0], out[1])
    assert np.abs(out[0] - out[2]).max() > 1e-6


def test_weights_declared_fixed_but_changed_by_a_rule_are_still_read_back():
    """A mislabelled family (plastic=False on a projection with a rule) is carried as usual."""
    import dataclasses

    def build():
        c = dendritic_microcircuit(LAYERS, n_patterns=2, t_pattern=5 * ms, seed=1, **ETAS)
        c.weights["W1"] = dataclasses.replace(c.weights["W1"], plastic=False)
        return c

    s = Session(build, target="numpy")
    assert "W1.w" not in s._fixed and "B1.w" in s._fixed
    X, Y = _data(2)
    res = s.run({"x": X, "target": Y, "nudge": np.ones(2)})
    assert "W1.w" in res.keys()
    assert np.abs(s.state["W1.w"] - s.initial_state["W1.w"]).max() > 0
