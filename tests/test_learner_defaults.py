"""Defaults are part of the product: a learner built with default arguments learns its task.

The microcircuit regressor's docstring names the paper's teacher-student
regression; the slow test runs it on a shape and seed that no setting was
tuned on (the defaults were chosen on 30-50-10 students, seeds 0-4, in
../shared/notes/sacramento-fig2-probe.md and docs/reproductions.md, and
checked on a 30-60-5 student, seed 7).
"""

import numpy as np
import pytest
from brian2 import ms

from brian_dendrites.activations import softplus_sacramento as phi
from brian_dendrites.circuits.microcircuit import default_learning_rates
from brian_dendrites.experiments.sacramento2018 import fig2_mlp_baseline
from brian_dendrites.learners import DendriticMicrocircuitRegressor
from brian_dendrites.tasks import teacher_student_regression


def test_default_rates_scale_with_the_pattern_length_and_keep_their_ratios():
    r100 = default_learning_rates([30, 50, 10], 100 * ms)
    r20 = default_learning_rates([30, 50, 10], 20 * ms)
    for a, b in zip(r100["eta_PP"], r20["eta_PP"]):
        assert float(b / a) == pytest.approx(5.0)
    hidden, out = r100["eta_PP"]
    assert float(hidden / out) >= 2.4  # the hidden error is attenuated (~0.42) on its way
    assert float(r100["eta_PI"]) == 0  # self-predicting start: the PI rule would cancel errors
    assert float(default_learning_rates([30, 50, 10], self_predicting=False)["eta_PI"]) > 0
    deep = default_learning_rates([5, 4, 4, 3], 100 * ms)["eta_PP"]
    assert len(deep) == 3 and deep[0] == deep[1] == hidden
    with pytest.raises(ValueError, match="t_pattern"):
        default_learning_rates([3, 2], -1 * ms)


def test_a_settling_window_does_not_change_the_default_rates():
    """Rates follow the presentation, not the (shorter) slot a settling window creates."""
    a = DendriticMicrocircuitRegressor([3, 4, 2], t_pattern=10 * ms, chunk=2, target="numpy",
                                       progress=False)
    b = DendriticMicrocircuitRegressor([3, 4, 2], t_pattern=10 * ms, t_settle=5 * ms, chunk=2,
                                       target="numpy", progress=False)
    X, Y = np.zeros((2, 3)), np.zeros((2, 2))
    ea, eb = (n.fit(X, Y, epochs=0).session_.circuit.info["eta_PP"] for n in (a, b))
    assert [float(e) for e in ea] == [float(e) for e in eb]
    assert float(ea[0] * ms) == pytest.approx(10.0)  # 1.0/ms at 100 ms, x10 at 10 ms


def test_rates_decay_with_the_presentations_across_chunks_epochs_and_partial_fits(monkeypatch):
    """Every training run gets the initial rates times 1 / (1 + n / decay_patterns)."""
    net = DendriticMicrocircuitRegressor([3, 4, 2], t_pattern=2 * ms, chunk=2, decay_patterns=4,
                                         target="numpy", progress=False, shuffle=False)
    X, Y = np.zeros((4, 3)), np.zeros((4, 2))
    net.fit(X, Y, epochs=0)
    session, seen = net.session_, []
    real_run = session.run

    def run(inputs, values=None, **kw):
        if kw.get("carry"):
            seen.append(values)
        return real_run(inputs, values=values, **kw)

    monkeypatch.setattr(session, "run", run)
    net.fit(X, Y, epochs=2)
    net.partial_fit(X[:2], Y[:2])
    info = session.circuit.info
    hidden, out = (float(e * ms) for e in info["eta_PP"])
    factors = [1 / (1 + n / 4) for n in (0, 2, 4, 6, 8)]  # chunks of 2 over 2 epochs, then 1
    assert len(seen) == 5
    for f, values in zip(factors, seen):
        if f == 1.0:
            assert "W1.eta" not in (values or {})  # the circuit's own rates
            continue
        assert float(values["W1.eta"] * ms) == pytest.approx(hidden * f)
        assert float(values["W2.eta"] * ms) == pytest.approx(out * f)
        assert float(values["IP1.eta"] * ms) == pytest.approx(float(info["eta_IP"] * ms) * f)
    assert list(net.history_.samples) == [4, 8, 10]
    # a new fit starts the schedule again (no warm start)
    seen.clear()
    net.fit(X, Y, epochs=1)
    assert "W1.eta" not in (seen[0] or {})
    assert float(seen[1]["W1.eta"] * ms) == pytest.approx(hidden / 1.5)


@pytest.mark.parametrize("bad", [0, -3, float("nan")])
def test_decay_patterns_is_validated(bad):
    net = DendriticMicrocircuitRegressor([3, 4, 2], t_pattern=2 * ms, decay_patterns=bad,
                                         target="numpy", progress=False)
    with pytest.raises(ValueError, match="decay_patterns"):
        net.fit(np.zeros((2, 3)), np.zeros((2, 2)))


def test_history_records_both_alignment_angles():
    net = DendriticMicrocircuitRegressor([3, 4, 2], t_pattern=5 * ms, chunk=4, target="numpy",
                                         progress=False)
    rng = np.random.default_rng(0)
    net.fit(rng.uniform(-1, 1, (4, 3)), rng.uniform(0, 2, (4, 2)))
    row = net.history_.iloc[-1]
    assert 0 <= row.weight_angle_1 <= 180 and 0 <= row.error_angle_1 <= 180


@pytest.mark.slow
def test_default_regressor_learns_an_untuned_teacher_student_task(cache_dir):
    """Teacher 40-20-6, student 40-70-6, seed 23: defaults only (100 ms patterns).

    This task was first run after the defaults were chosen (on 30-50-10
    students, and checked on 30-20-5 / 30-60-5 seed 7). Measured (5000
    presentations, 2026-11-30, ~1-2 min per circuit on a loaded machine): test
    MSE of rates 9.88e-3 -> 3.91e-3 (2.5x; decay_patterns=1500: 4.32e-3; the
    earlier constant default rates 4.17e-3), output-only learning 9.33e-3,
    weight angle 58 deg, error-signal angle 42 deg; on the same samples from the same weights a
    feedback-alignment MLP with the circuit's B reaches 3.26e-3 (3.0x, best
    of lr 1, 2, 3, 5) and backprop 2.94e-3 (3.4x). The issue asks for 3x
    below the start within 5000 presentations: not reached (docs/reproductions.md,
    section 2); the thresholds here are what the defaults do, with margin.
    """
    n = 5000
    train = teacher_student_regression(n, layers_teacher=(40, 20, 6), seed=23)
    test = teacher_student_regression(300, seed=1023, weights=train.weights)

    def rate_mse(net):
        return float(np.mean((phi(net.predict(test.X)) - test.R) ** 2))

    layers = [40, 70, 6]
    net = DendriticMicrocircuitRegressor(layers, cache_dir=cache_dir, progress=False)
    e0 = rate_mse(net.fit(train.X, train.U, epochs=0))
    W0 = net.weights_
    e1 = rate_mse(net.fit(train.X, train.U))
    out_rate = default_learning_rates(layers)["eta_PP"][1]
    shallow = DendriticMicrocircuitRegressor(layers, eta_PP=[0 / ms, out_rate],
                                             cache_dir=cache_dir, progress=False)
    e_shallow = rate_mse(shallow.fit(train.X, train.U))
    fa = fig2_mlp_baseline(W0, W0["B1"], train.X, train.R, test.X, test.R, 3.0, "fa", every=n)
    e_fa = fa["test_mse"][-1]
    assert e1 <= e0 / 1.8, (e0, e1, e_shallow, e_fa)
    assert e1 * 1.6 < e_shallow, (e0, e1, e_shallow, e_fa)
    assert e1 < 1.6 * e_fa, (e0, e1, e_shallow, e_fa)  # within 1.6x of feedback alignment
    assert net.history_.error_angle_1.iloc[-1] < 55
