"""Reproductions of Sacramento et al. (2018) in Brian2 rate mode, and the rule lab.

Fast tests run in the default suite; ``@pytest.mark.slow`` ones are the long
versions (``python -m pytest -m slow``). Thresholds come from measured runs
recorded in docs/reproductions.md.
"""


import numpy as np
import pytest
from brian2 import ms
from scipy.special import expit

from brian_dendrites.circuits import dendritic_microcircuit, synapses_to_matrix
from brian_dendrites.engine import Simulation
from brian_dendrites.experiments import sacramento2018
from brian_dendrites.experiments import sacramento2018_self_predicting as self_predicting
from brian_dendrites.lab import angle_deg, cosine, feedback_alignment_angles, layer_alignment, update_gradient_alignment
from brian_dendrites.reference.mlp import backprop_gradients


# ------------------------------------------------------------------ the lab
def test_cosine_and_angles_on_known_vectors():
    assert cosine([1, 0], [2, 0]) == 1.0
    assert angle_deg([1, 0], [0, 3]) == pytest.approx(90.0)
    assert angle_deg([1, 1], [-1, -1]) == pytest.approx(180.0)
    out = layer_alignment([np.eye(2)], [-np.eye(2)])  # update = -gradient
    assert out["W1"]["cosine"] == pytest.approx(1.0) and out["W1"]["angle_deg"] == pytest.approx(0.0, abs=1e-4)
    before = {"W": np.zeros((2, 2))}
    assert update_gradient_alignment(before, {"W": np.eye(2)}, {"W": np.eye(2)})["W"]["cosine"] == pytest.approx(-1.0)
    W2 = np.arange(6.0).reshape(2, 3)
    assert feedback_alignment_angles([np.ones((3, 4)), W2], [2 * W2.T]) == [pytest.approx(0.0, abs=1e-4)]


@pytest.mark.parametrize("call, match", [
    (lambda: cosine([1, 0], [0, 0]), "zero array"),
    (lambda: cosine([1, 0], [1, 0, 0]), "shapes differ"),
    (lambda: cosine([np.nan, 0], [1, 0]), "NaN"),
    (lambda: layer_alignment([np.ones(2)], [np.ones(2), np.ones(2)]), "layers"),
    (lambda: feedback_alignment_angles([np.ones((3, 4)), np.ones((2, 3))], [np.ones((2, 3))]), "shape"),
])
def test_lab_rejects_bad_input(call, match):
    with pytest.raises(ValueError, match=match):
        call()


# ------------------------------------ item 3: updates follow the backprop gradient
def _nudged_update(W1, W2, B, x, u_tgt):
    """Weight changes over one 10 ms nudged presentation after 10 ms of settling."""
    def build():
        return dendritic_microcircuit([4, 5, 3], n_patterns=2, t_pattern=10 * ms, activation="logistic",
                                      weights=dict(W1=W1, W2=W2, B1=B), self_predicting=True,
                                      eta_PP=1e-3 / ms, eta_IP=0 / ms, eta_PI=0 / ms,
                                      tau_w=30 * ms).objects

    sim = Simulation(build, 20 * ms, target="numpy", name="alignment")
    res = sim.run({"x_in.values": np.tile(x, (2, 1)), "u_target.values": np.tile(u_tgt, (2, 1)),
                   "nudge_in.values": [0, 1], "learn_in.values": [0, 1]})
    return [synapses_to_matrix(res["W1.w"], 5, 4) - W1, synapses_to_matrix(res["W2.w"], 3, 5) - W2]


def test_self_predicting_updates_align_with_backprop_gradient():
    """Self-predicting state with B = W2^T: cos(dW, -grad) > 0.99; random B: not aligned.

    The gradient is that of the MLP ``phi(c_o W2 phi(c_h W1 x))`` (the
    microcircuit's free steady state, ``c_h = 1/1.9``, ``c_o = 1/1.1``) for the
    loss whose output error is ``phi(y) - phi(u_tgt)`` (what the dendritic
    rule descends for small nudging). Measured: hidden 0.9997, output 0.9991
    (vs the plain rate-MSE gradient: 0.991, 0.991); with random B the
    hidden-layer cosine was -0.45.
    """
    rng = np.random.default_rng(0)
    W1, W2 = rng.uniform(-2, 2, (5, 4)), rng.uniform(-2, 2, (3, 5))
    x = rng.uniform(-1, 1, 4)
    u_tgt = W2 @ expit(W1 @ x / 1.9) / 1.1 + rng.normal(0, 0.5, 3)
    grads = backprop_gradients([W1 / 1.9, W2 / 1.1], x, expit(u_tgt), activation="logistic",
                               output_activation=(expit, np.ones_like))
    sym = layer_alignment(_nudged_update(W1, W2, W2.T.copy(), x, u_tgt), grads)
    assert sym["W1"]["cosine"] > 0.99 and sym["W2"]["cosine"] > 0.99
    rand = layer_alignment(_nudged_update(W1, W2, rng.uniform(-2, 2, (5, 3)), x, u_tgt), grads)
    assert rand["W1"]["cosine"] < 0.9  # the feedback, not luck, carries the alignment
    assert rand["W2"]["cosine"] > 0.99  # output layer: local error, any B


# ------------------------------------------------ item 1: self-predicting state
@pytest.mark.slow  # ~2 min on CI; the default suite checks the NumPy version (test_reference)
def test_self_predicting_state_emerges_fast(cache_dir, tmp_path, run_example):
    """The example's --fast mode: 8-6-4 net, random weights, 1000 patterns, IP and PI only.

    Measured (cpp_standalone, seed 0): |W_PI + B|/|B| 1.234 -> 0.0176, probe
    RMS of v_A 1.0 -> 0.0046 of its initial value, |W_IP - s W2|/|s W2|
    1.551 -> 0.0089; seeds 1 / 2: |W_PI + B|/|B| 0.045 / 0.0074, v_A 0.0057 /
    0.0037. 5-10 s of runs after the build. Thresholds: |W_PI + B|/|B| below
    0.15 (3x the worst seed) and v_A below 2 % (3.5x).
    """
    with pytest.raises(ValueError, match="n_train must be a multiple of chunk"):
        self_predicting.self_predicting_state(n_train=150, chunk=100)
    with pytest.raises(ValueError, match="n_probe must be at most chunk"):
        self_predicting.self_predicting_state(n_probe=200, chunk=100)
    with pytest.raises(ValueError, match="t_settle"):
        self_predicting.self_predicting_state(t_settle=10 * ms)
    with pytest.raises(ValueError, match="settings: \\['seed'\\]"):
        self_predicting.self_predicting_state(settings={"seed": 3})
    png = tmp_path / "sp.png"
    out = run_example("sacramento2018_self_predicting",
                        ["--fast", "--out", str(png), "--cache-dir", str(cache_dir)])
    assert png.stat().st_size > 0
    assert out["patterns"][-1] == 1000
    assert out["pi_rel"][0] > 1.2
    assert out["pi_rel"][-1] < 0.15
    assert out["va_rel"][-1] < 0.02
    assert out["ip_rel"][-1] < 0.1 * out["ip_rel"][0]


@pytest.mark.slow
def test_self_predicting_state_long(cache_dir):
    """2000 patterns, seeds 0-2: the self-predicting state, 50x inside the targets.

    Measured (cpp_standalone): |W_PI + B|/|B| 1.234 / 1.282 / 1.370 ->
    0.0017 / 0.0019 / 0.0014, probe RMS of v_A 0.0009 / 0.0009 / 0.0007 of its
    initial value (7-28 s of runs per seed, one binary for all seeds).
    Targets (issue 16): <= 0.1 and <= 5 %; thresholds 0.01 and 0.5 %.
    """
    for seed in (0, 1, 2):
        out = self_predicting.self_predicting_state((8, 6, 4), n_train=2000, seed=seed,
                                                    cache_dir=cache_dir)
        assert out["pi_rel"][-1] < 0.01, seed
        assert out["va_rel"][-1] < 0.005, seed


# ------------------------------------------------------ item 2: Fig. 2 regression
def _fig2_checks(out, ratio, weight_angle, error_angle):
    s = out["summary"].set_index("model")
    full, shallow = s.loc["full"], s.loc["output_only"]
    assert shallow.test_mse / full.test_mse >= ratio, s  # the hidden layer's own contribution
    assert full.weight_angle <= weight_angle, s  # W2 turned toward B1 ...
    assert full.error_angle <= error_angle, s  # ... and the hidden error toward backprop's
    assert shallow.weight_angle >= 85, s  # without hidden learning nothing aligns
    t = out["table"]
    start = t[(t.model == "full") & (t.patterns == 0)].test_mse.iloc[0]
    # the yardstick trained on the same samples does better still
    assert s.loc["backprop"].test_mse < full.test_mse < start, s
    return s


def test_fig2_ci_sized_hidden_layer_learns_through_apical_errors(cache_dir, tmp_path,
                                                                 run_example):
    """CI-sized Fig. 2: the example's ``--fast`` mode (4000 patterns of 20 ms), seed 2.

    The fast mode is what the documentation gallery runs (seed 0 there); this
    runs it as a user would and checks the effect it is named after.
    Issue targets: output-only / full >= 1.5, weight angle <= 75 deg, hidden
    error-signal angle <= 55 deg, output-only weight angle >= 85 deg.
    Measured: see docs/reproductions.md (section 2).
    """
    png = tmp_path / "fig2.png"
    out = run_example("sacramento2018_fig2_regression",
                      ["--fast", "--seed", "2", "--out", str(png), "--cache-dir", str(cache_dir)])
    assert png.stat().st_size > 0
    assert sorted(set(out["table"].patterns)) == [0, 1000, 2000, 3000, 4000]
    s = _fig2_checks(out, ratio=1.5, weight_angle=75, error_angle=55)
    assert s.loc["output_only"].test_mse / s.loc["full"].test_mse >= 1.5  # measured 2.25 (seeds 0, 1: 1.52, 1.54)


@pytest.mark.slow
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_fig2_paper_faithful(seed, cache_dir):
    """The paper's protocol: 10^4 patterns of 100 ms, noise on, default rates.

    The run of ``examples/sacramento2018_fig2_regression.py --paper --seed K``
    (tests every 1000 patterns: the same chunks, hence the same noise).
    Issue targets: output-only / full >= 3, full <= 3e-3, weight angle <= 66 deg,
    error-signal angle <= 50 deg, output-only >= 85 deg. Measured (seeds 0-2, the
    default rate schedule): ratio 3.25 / 3.79 / 5.64, full 1.91 / 2.52 / 1.95e-3,
    weight angle 62.4 / 59.1 / 62.0 deg, error angle 40.4 / 40.5 / 38.8 deg
    (docs/reproductions.md, section 2).
    """
    out = sacramento2018.fig2_regression(**sacramento2018.FIG2_PAPER, every=1000, seed=seed,
                                         cache_dir=cache_dir, log=None)
    s = _fig2_checks(out, ratio=3, weight_angle=66, error_angle=50)
    assert s.loc["full"].test_mse <= 3e-3


@pytest.mark.slow  # compiles its own binaries: ~2 min of a 2-core CI run
def test_fig2_example_runs_and_writes_its_figure(cache_dir, tmp_path, run_example):
    """The example as a user runs it, on 200 patterns (the learning claims: the CI-sized test).

    It prints the table and writes the figure; the table has the four models at
    0, 100 and 200 patterns.
    """
    png = tmp_path / "fig2.png"
    with pytest.raises(SystemExit):
        run_example("sacramento2018_fig2_regression", ["--patterns", "150"])
    out = run_example("sacramento2018_fig2_regression",
                        ["--fast", "--patterns", "200", "--out", str(png),
                         "--cache-dir", str(cache_dir)])
    assert png.stat().st_size > 0
    assert set(out["summary"].model) == {"full", "output_only", "backprop", "feedback_alignment"}
    assert sorted(set(out["table"].patterns)) == [0, 100, 200]
    assert np.all(np.isfinite(out["table"].test_mse))
