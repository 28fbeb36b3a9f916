"""Smoke tests of brian_dendrites.plots: every figure draws, is labelled, and bad data gets named errors."""

import ast
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from brian2 import DimensionMismatchError, get_dimensions, ms, mV, nA, second  # noqa: E402
from matplotlib.collections import PolyCollection  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

import brian_dendrites  # noqa: E402
from brian_dendrites import plots  # noqa: E402
from brian_dendrites.engine import RunResult  # noqa: E402
from brian_dendrites.gating import draw_gates  # noqa: E402
from brian_dendrites.learners.base import NotFittedError  # noqa: E402


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def _labels(ax):
    return [line.get_label() for line in ax.get_lines() if not line.get_label().startswith("_")]


def test_module_imports_no_plotting_library_at_import_time():
    tree = ast.parse(Path(plots.__file__).read_text())
    top = [n for n in tree.body if isinstance(n, (ast.Import, ast.ImportFrom))]
    names = [a.name for n in top if isinstance(n, ast.Import) for a in n.names]
    names += [n.module or "" for n in top if isinstance(n, ast.ImportFrom)]
    assert not [m for m in names if m.startswith(("matplotlib", "pandas"))], names
    assert set(plots.__all__) == {"compartment_traces", "learning_curves", "angle_distributions",
                                  "alignment_over_time", "gate_map", "control_signal"}


def test_doctests_of_the_module_are_collected():
    assert "brian_dendrites.plots" in brian_dendrites._doctest_module_names()


# ---------------------------------------------------------------- compartments
T = np.arange(100) * 0.1 * ms
U = -70 * mV + 5 * mV * np.sin(np.arange(100) / 10)


def test_compartment_traces_units_from_quantities():
    fig = plots.compartment_traces(T, {"soma U": U, "dendrite V": U + 1 * mV, "V*": U - 1 * mV},
                                   levels={"rest": -70 * mV})
    assert isinstance(fig, Figure) and len(fig.axes) == 1
    ax = fig.axes[0]
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("time (ms)", "potential (mV)")
    assert _labels(ax) == ["soma U", "dendrite V", "V*", "rest"]
    np.testing.assert_allclose(ax.get_lines()[0].get_ydata(), np.asarray(U / mV))
    assert ax.get_lines()[3].get_ydata()[0] == pytest.approx(-70)
    np.testing.assert_allclose(ax.get_lines()[0].get_xdata(), np.arange(100) * 0.1)
    fig = plots.compartment_traces(T, {"soma U": U}, spikes=[2.5, 7.0] * ms)
    assert _labels(fig.axes[0]) == ["soma U", "spikes (2)"]
    np.testing.assert_allclose(fig.axes[0].get_lines()[1].get_xdata(), [2.5, 7.0])
    with pytest.raises(DimensionMismatchError, match="spikes"):
        plots.compartment_traces(T, {"soma U": U}, spikes=[2.5, 7.0])


def test_compartment_traces_plain_arrays_rows_interneuron_and_given_axes():
    u = np.vstack([np.linspace(0, 1, 50), np.linspace(0, 2, 50)])  # (n_recorded, n_t)
    fig0, axes = plt.subplots(2, 1)
    fig = plots.compartment_traces(np.arange(50), {"soma u": u, "basal v_B": u[0] * 2},
                                   neuron=1, time_unit="ms",
                                   interneuron={"interneuron u_I": u[1], "pyramid u_P": u[1] + 0.1},
                                   ax=axes)
    assert fig is fig0
    assert axes[0].get_ylabel() == "potential (a.u.)" and axes[1].get_xlabel() == "time (ms)"
    np.testing.assert_allclose(axes[0].get_lines()[0].get_ydata(), u[1])
    assert _labels(axes[1]) == ["interneuron u_I", "pyramid u_P"]


def test_compartment_traces_reads_a_run_result_with_units():
    n = 40
    res = RunResult({"mon.t": np.arange(n) * 1e-4, "mon.U": np.full((2, n), -0.07),
                     "mon.V": np.full((2, n), -0.065), "spk.t": np.array([1e-3])},
                    {"mon.t": get_dimensions(second), "mon.U": get_dimensions(mV),
                     "mon.V": get_dimensions(mV), "spk.t": get_dimensions(second)}, 0.0)
    fig = plots.compartment_traces(res, ["mon.U", "mon.V"], spikes="spk.t")
    ax = fig.axes[0]
    assert _labels(ax) == ["U", "V", "spikes (1)"]
    assert ax.get_xlabel() == "time (ms)" and ax.get_ylabel() == "potential (mV)"
    assert ax.get_lines()[1].get_ydata()[0] == pytest.approx(-65)
    with pytest.raises(KeyError, match="mon.W"):
        plots.compartment_traces(res, {"w": "mon.W"})


def test_compartment_traces_named_errors():
    with pytest.raises(ValueError, match=r"traces\['soma'\].*100"):
        plots.compartment_traces(T, {"soma": U[:50]})
    bad = np.asarray(U / mV).copy()
    bad[3] = np.nan
    with pytest.raises(ValueError, match=r"traces\['soma'\].*NaN"):
        plots.compartment_traces(T, {"soma": bad})
    with pytest.raises(DimensionMismatchError, match="dendrite"):
        plots.compartment_traces(T, {"soma": U, "dendrite": np.zeros(100)})
    with pytest.raises(DimensionMismatchError):
        plots.compartment_traces(T, {"soma": U, "current": np.zeros(100) * nA})
    with pytest.raises(TypeError, match="traces"):
        plots.compartment_traces(T, U)
    with pytest.raises(ValueError, match="empty"):
        plots.compartment_traces([], {"soma": []})
    with pytest.raises(TypeError, match="ax"):
        plots.compartment_traces(T, {"soma": U}, ax="left")
    with pytest.raises(ValueError, match="2 Axes"):
        plots.compartment_traces(T, {"soma": U}, interneuron={"u_I": U}, ax=plt.subplots()[1])


# ---------------------------------------------------------------- learning curves
def _curves(seeds=1):
    rng = np.random.default_rng(0)
    return pd.DataFrame([dict(method=m, seed=s, epoch=e, test_error=b / e + 0.01 * rng.random())
                         for m, b in (("dfc", 0.5), ("backprop", 0.3), ("fa", 0.6))
                         for s in range(seeds) for e in range(1, 6)])


def test_learning_curves_one_line_per_method_and_seed_bands():
    fig = plots.learning_curves(_curves(seeds=3), percent=True, labels={"dfc": "DFC (Brian2)"},
                                reference=90, reference_label="chance")
    ax = fig.axes[0]
    assert _labels(ax) == ["DFC (Brian2)", "backprop", "fa", "chance"]
    assert ax.get_ylabel() == "test error (%)" and ax.get_xlabel() == "epoch"
    assert len(ax.get_lines()[0].get_xdata()) == 5  # seeds averaged
    assert sum(isinstance(c, PolyCollection) for c in ax.collections) == 3  # one band each
    assert ax.get_lines()[1].get_ydata()[0] == pytest.approx(100 * _curves(3).query(
        "method == 'backprop' and epoch == 1").test_error.mean())


def test_learning_curves_from_histories_series_and_into_given_axes():
    hist = {"a": pd.DataFrame({"epoch": [1, 2, 3], "train_loss": [1, .5, .3], "val_loss": [1.1, .6, .4]}),
            "b": pd.DataFrame({"epoch": [1, 2], "train_loss": [1, .7], "val_loss": [1.2, .8]})}
    fig0, ax = plt.subplots()
    fig = plots.learning_curves(hist, y=["train_loss", "val_loss"], logy=True, ax=ax)
    assert fig is fig0 and ax.get_yscale() == "log"
    assert _labels(ax) == ["a: train loss", "a: val loss", "b: train loss", "b: val loss"]
    assert [ln.get_linestyle() for ln in ax.get_lines()] == ["-", "--", "-", "--"]
    fig = plots.learning_curves({"mlp": [0.5, 0.3, 0.2], "dgn": np.array([0.6, 0.4])},
                                y="test_error")
    assert list(fig.axes[0].get_lines()[0].get_xdata()) == [1, 2, 3]


def test_learning_curves_named_errors():
    with pytest.raises(KeyError, match=r"no column 'test_eror'.*did you mean 'test_error'.*"
                                       r"columns present: \['method', 'seed', 'epoch', 'test_error'\]"):
        plots.learning_curves(_curves(), y="test_eror")
    with pytest.raises(KeyError, match="'method'"):
        plots.learning_curves({"a": pd.DataFrame({"epoch": [1]})}, y="val_loss")
    nan = _curves()
    nan.loc[2, "test_error"] = np.nan
    with pytest.raises(ValueError, match=r"1 NaN.*method = 'dfc'.*dropna"):
        plots.learning_curves(nan)
    assert len(plots.learning_curves(nan, dropna=True).axes[0].get_lines()[0].get_xdata()) == 4
    with pytest.raises(ValueError, match="empty"):
        plots.learning_curves(_curves().iloc[:0])
    with pytest.raises(TypeError, match="numeric"):
        plots.learning_curves(_curves().assign(test_error="low"))
    with pytest.raises(TypeError, match="DataFrame"):
        plots.learning_curves([1, 2, 3])
    with pytest.raises(ValueError, match="order"):
        plots.learning_curves(_curves(), order=["dfc", "bp"])


# ---------------------------------------------------------------- update angles
def _angles():
    rng = np.random.default_rng(1)
    return pd.DataFrame([dict(rule=r, seed=s, step=0, layer=lay, angle_deg=float(np.clip(rng.normal(m, 5), 0, 180)))
                         for r, m in (("backprop", 2), ("feedback_alignment", 50), ("node_perturbation", 85))
                         for lay in ("W1", "W2") for s in range(10)])


def test_angle_distributions_violins_boxes_and_points():
    fig = plots.angle_distributions(_angles())
    ax = fig.axes[0]
    bodies = [c for c in ax.collections if isinstance(c, PolyCollection)]
    assert len(bodies) == 6  # 3 rules x 2 layers
    assert [t.get_text() for t in ax.get_xticklabels()] == ["backprop", "feedback_alignment",
                                                            "node_perturbation"]
    assert ax.get_ylim()[0] == 0 and "angle" in ax.get_ylabel()
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["W1", "W2"]
    assert any(ln.get_ydata()[0] == 90 for ln in ax.get_lines())  # the orthogonal reference
    fig0, ax = plt.subplots()
    fig = plots.angle_distributions(_angles(), kind="box", layer=None, points=False, ax=ax,
                                    order=["node_perturbation", "backprop"])
    assert fig is fig0 and len(ax.patches) == 2
    assert [t.get_text() for t in ax.get_xticklabels()] == ["node_perturbation", "backprop"]


def test_angle_distributions_of_compare_rows_step_and_rules_without_angles():
    rows = pd.concat([_angles().assign(step=0), _angles().assign(step=10, angle_deg=lambda d: d.angle_deg / 2),
                      pd.DataFrame({"rule": "dgn", "seed": 0, "step": [0, 10], "layer": "W1",
                                    "angle_deg": np.nan})], ignore_index=True)
    fig = plots.angle_distributions(rows, step="last", dropna=True)
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_xticklabels()][-1] == "dgn"
    assert [t.get_text() for t in ax.texts if t.get_text() == "no angles"] == ["no angles"]
    assert sum(isinstance(c, PolyCollection) for c in ax.collections) == 6
    with pytest.raises(ValueError, match=r"no rows of step 5.*steps present: \[0.0, 10.0\]"):
        plots.angle_distributions(rows, step=5, dropna=True)
    with pytest.raises(ValueError, match="NaN.*dropna"):
        plots.angle_distributions(rows, step="first")


def test_angle_distributions_named_errors():
    with pytest.raises(KeyError, match=r"no column 'angle'.*columns present"):
        plots.angle_distributions(_angles(), angle="angle")
    with pytest.raises(ValueError, match=r"\[0, 180\]"):
        plots.angle_distributions(_angles().assign(angle_deg=-5.0))
    nan = _angles()
    nan.loc[0, "angle_deg"] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        plots.angle_distributions(nan)
    plots.angle_distributions(nan, dropna=True)
    with pytest.raises(ValueError, match="did you mean 'violin'"):
        plots.angle_distributions(_angles(), kind="violon")
    with pytest.raises(ValueError, match="empty"):
        plots.angle_distributions({"rule": [], "layer": [], "angle_deg": []})


# ---------------------------------------------------------------- alignment over time
def test_alignment_over_time_series_tables_and_dicts():
    fig = plots.alignment_over_time({"W_PI vs -B": [80, 40, 10], "W_IP vs W_PP": [85, 50, 20]},
                                    x=[0, 500, 1000])
    ax = fig.axes[0]
    assert _labels(ax) == ["W_PI vs -B", "W_IP vs W_PP", "orthogonal (90 deg)"]
    assert ax.get_ylabel() == "angle (deg)" and ax.get_ylim()[0] == 0
    assert list(ax.get_lines()[0].get_xdata()) == [0, 500, 1000]
    table = pd.DataFrame({"model": ["full"] * 3 + ["fa"] * 3, "patterns": [0, 1, 2] * 2,
                          "test_mse": 1e-3, "weight_angle": [80, 60, 45, 80, 70, 60],
                          "error_angle": [70, 50, 40, 75, 60, 50]})
    fig0, ax = plt.subplots()
    fig = plots.alignment_over_time(table, x="patterns", hue="model", ax=ax)
    assert fig is fig0 and len(ax.get_lines()) == 5  # 2 models x 2 angle columns + 90 deg
    assert ax.get_xlabel() == "patterns"
    out = {"patterns": [0, 100, 200], "pi_rel": [1.0, 0.3, 0.1], "ip_rel": [1.0, 0.5, 0.2], "time_s": 2.0}
    fig = plots.alignment_over_time(out, x="patterns", y=["pi_rel", "ip_rel"], reference=None,
                                    logy=True, ylabel="relative distance")
    assert len(fig.axes[0].get_lines()) == 2 and fig.axes[0].get_yscale() == "log"


def test_alignment_over_time_named_errors():
    with pytest.raises(ValueError, match="no column name contains 'angle'"):
        plots.alignment_over_time(pd.DataFrame({"epoch": [1, 2], "loss": [1.0, 0.5]}), x="epoch")
    with pytest.raises(KeyError, match=r"'patterns'.*columns present"):
        plots.alignment_over_time(pd.DataFrame({"epoch": [1, 2], "angle": [1.0, 0.5]}), x="patterns")
    with pytest.raises(KeyError, match="pi_rel"):
        plots.alignment_over_time({"patterns": [0, 1], "ip_rel": [1, 2]}, x="patterns", y="pi_rel")
    with pytest.raises(KeyError, match=r"no key 'pattern'.*keys present: \['patterns', 'ip_rel'\]"):
        plots.alignment_over_time({"patterns": [0, 1], "ip_rel": [1, 2]}, x="pattern")
    with pytest.raises(ValueError, match="no key contains 'angle'"):
        plots.alignment_over_time({"patterns": [0, 1], "ip_rel": [1, 2]}, x="patterns")
    with pytest.raises(ValueError, match=r"data\['a'\].*shape"):
        plots.alignment_over_time({"a": [1, 2, 3]}, x=[0, 1])
    with pytest.raises(ValueError, match="NaN"):
        plots.alignment_over_time({"a": [1, np.nan, 3]})
    with pytest.raises(ValueError, match="empty"):
        plots.alignment_over_time({})


# ---------------------------------------------------------------- DGN gates
def test_gate_map_from_gate_states_and_from_hyperplanes():
    G = (np.random.default_rng(0).random((20, 12)) < 0.3).astype(int)
    fig = plots.gate_map(G, n_branches=4, y=np.arange(20) % 2)
    ax_map, ax_open = fig.axes
    shown = ax_map.get_images()[0].get_array()
    assert shown.shape == (20, 12)
    np.testing.assert_array_equal(shown[:10], G[::2])  # sorted by label, stable
    assert len(ax_open.patches) == 12 and ax_open.get_ylabel() == "open fraction"
    np.testing.assert_allclose([p.get_height() for p in ax_open.patches], G.mean(axis=0))
    pairs = draw_gates(784, [784, 3, 1], n_branches=5, theta_mean=0.5, seed=0)
    Z = np.random.default_rng(1).normal(size=(15, 784))
    fig = plots.gate_map(pairs, Z, n_branches=5, neurons=[1, 2], n_hyperplanes=3)
    assert len(fig.axes) == 5  # map, open fraction, 3 hyperplanes as 28x28 images
    assert fig.axes[2].get_images()[0].get_array().shape == (28, 28)
    V, theta = pairs[0]
    np.testing.assert_array_equal(fig.axes[0].get_images()[0].get_array(),
                                  (Z @ V[5:15].T > theta[5:15]).astype(float))
    fig0, ax = plt.subplots()
    assert plots.gate_map(pairs, Z, layer=2, ax=ax) is fig0
    assert ax.get_images()[0].get_array().shape == (15, 5)


class _FittedDGN:
    """What gate_map reads of a fitted DendriticGatedClassifier (no Brian2 run needed)."""

    n_features_in_, n_outputs_, hidden_layers, n_branches = 4, 3, (2,), 6
    theta_mean, theta_sd, seed = 0.2, 0.1, 5

    def network_inputs(self, X):
        return X, 2 * np.asarray(X)


def test_gate_map_of_a_learner_uses_its_gates_and_side_information():
    X = np.random.default_rng(2).normal(size=(10, 4))
    fig = plots.gate_map(_FittedDGN(), X)
    V, theta = draw_gates(4, [4, 2, 1], 6, 3, 0.2, 0.1, 5)[0]
    shown = fig.axes[0].get_images()[0].get_array()
    np.testing.assert_array_equal(shown, (2 * X @ V.T > theta).astype(float))  # 3 nets x 2 neurons x 6
    assert [t.get_text() for t in fig.axes[1].get_xticklabels()][:3] == ["net 0\nn0", "net 0\nn1",
                                                                        "net 1\nn0"]
    with pytest.raises(NotFittedError):
        plots.gate_map(brian_dendrites.DendriticGatedClassifier(), X)


def test_gate_map_named_errors():
    pairs = draw_gates(5, [5, 2, 1], n_branches=3, seed=0)
    Z = np.zeros((4, 5))
    with pytest.raises(ValueError, match="0 .closed. or 1"):
        plots.gate_map(np.full((3, 4), 0.5))
    with pytest.raises(ValueError, match="NaN"):
        plots.gate_map(np.array([[0, np.nan]]))
    with pytest.raises(ValueError, match="2-D"):
        plots.gate_map(np.zeros(4))
    with pytest.raises(ValueError, match="X: hyperplanes need"):
        plots.gate_map(pairs)
    with pytest.raises(ValueError, match=r"X: expected shape \(any, 5\)"):
        plots.gate_map(pairs, np.zeros((4, 6)))
    with pytest.raises(ValueError, match="layer"):
        plots.gate_map(pairs, Z, layer=3)
    with pytest.raises(ValueError, match="n_branches"):
        plots.gate_map(np.zeros((2, 7)), n_branches=3)
    with pytest.raises(ValueError, match="y: expected 4 labels"):
        plots.gate_map(pairs, Z, y=[0, 1])
    with pytest.raises(ValueError, match="image_shape"):
        plots.gate_map(pairs, Z, image_shape=(2, 2))
    with pytest.raises(ValueError, match="X: only used"):
        plots.gate_map(np.zeros((4, 6)), Z)


# ---------------------------------------------------------------- DFC control
def test_control_signal_from_arrays_and_layouts():
    n = 200
    err = np.outer([0.5, -0.2, 0.1], np.exp(-np.arange(n) / 20))
    u = np.outer([1.0, -0.4, 0.2], 1 - np.exp(-np.arange(n) / 20))
    fig = plots.control_signal(np.arange(n) * 0.02 * ms, u, err)
    ax_u, ax_e = fig.axes
    assert _labels(ax_u) == ["u1", "u2", "u3"]
    assert ax_e.get_yscale() == "log" and ax_e.get_xlabel() == "time (ms)"
    assert "end / start" in _labels(ax_e)[0]
    np.testing.assert_allclose(ax_e.get_lines()[0].get_ydata(), np.linalg.norm(err, axis=0))
    fig0, axes = plt.subplots(2)
    fig = plots.control_signal(np.arange(n) * 2e-5, u.T, err.T, log=False, ax=axes)  # (n_t, n_out)
    assert fig is fig0 and _labels(axes[1]) == ["e1", "e2", "e3"]
    assert axes[1].get_xlabel() == "time (s)" and axes[1].get_yscale() == "linear"


def test_control_signal_reads_a_run_result_and_selects_a_sample():
    n_steps, n_samples = 50, 3
    steps = np.arange(n_steps * n_samples)
    res = RunResult({"step_mon.t": steps * 2e-5, "step_mon.u": np.vstack([np.sin(steps / 9.0)] * 2),
                     "step_mon.err": np.vstack([np.exp(-(steps % n_steps) / 5.0)] * 2)},
                    {"step_mon.t": get_dimensions(second), "step_mon.u": get_dimensions(1),
                     "step_mon.err": get_dimensions(1)}, 0.0)
    fig = plots.control_signal(res, sample=1, n_steps=n_steps)
    ax_u, ax_e = fig.axes
    assert len(ax_u.get_lines()[0].get_xdata()) == n_steps
    assert ax_u.get_lines()[0].get_xdata()[0] == pytest.approx(n_steps * 0.02)  # ms
    assert "sample 1" in ax_u.get_title()
    fig = plots.control_signal(res, n_steps=n_steps)
    assert "median" in _labels(fig.axes[1])[0]
    with pytest.raises(ValueError, match="sample"):
        plots.control_signal(res, sample=3, n_steps=n_steps)
    with pytest.raises(KeyError, match="ctrl_mon.u"):
        plots.control_signal(res, monitor="ctrl_mon")


def test_control_signal_named_errors():
    u = np.zeros((2, 10))
    with pytest.raises(TypeError, match="pass t, u and errors"):
        plots.control_signal(np.arange(10), u)
    with pytest.raises(ValueError, match=r"errors: expected the shape of u"):
        plots.control_signal(np.arange(10), u, np.zeros((3, 10)))
    with pytest.raises(ValueError, match=r"u: expected shape \(n_outputs, 12\)"):
        plots.control_signal(np.arange(12), u, u)
    with pytest.raises(ValueError, match="sample: needs n_steps"):
        plots.control_signal(np.arange(10), u, u, sample=0)
    with pytest.raises(ValueError, match="n_steps"):
        plots.control_signal(np.arange(10), u, u, n_steps=3)
    with pytest.raises(ValueError, match="NaN"):
        plots.control_signal(np.arange(10), u, np.full((2, 10), np.nan))
