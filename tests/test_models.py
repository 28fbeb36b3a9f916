"""Physics of the model library: fixed points, time constants, firing rates.

Analytic checks run on the ``numpy`` runtime target (no compilation); the
long spiking run uses the compiled ``cpp_standalone`` engine.
"""

import numpy as np
import pytest
from brian2 import Network, SpikeMonitor, StateMonitor, defaultclock, ms, mV, nA, pA, prefs, second

import brian_dendrites.models as models
from brian_dendrites.engine import Simulation


@pytest.fixture(autouse=True)
def _numpy_target():
    old_target, old_dt = prefs.codegen.target, defaultclock.dt
    prefs.codegen.target = "numpy"
    yield
    prefs.codegen.target, defaultclock.dt = old_target, old_dt


def _run(objs, duration, dt=0.1 * ms):
    defaultclock.dt = dt
    net = Network(objs)
    net.run(duration)
    return net


def test_pyramidal_fixed_point_matches_analytic():
    m = models.pyramidal_neuron()
    g = m.make_group(4)
    vB = np.array([0.5, 1.0, -2.0, 3.0])
    vA_td = np.array([0.0, 0.7, 1.5, -1.0])
    vA_int = np.array([0.0, -0.2, 0.3, 2.0])
    g.v_B, g.v_A_td, g.v_A_int = vB, vA_td, vA_int
    _run([g], 30 * ms)
    gL, gB, gA = 0.1, 1.0, 0.8
    expected = (gB * vB + gA * (vA_td + vA_int)) / (gL + gB + gA)
    np.testing.assert_allclose(g.u[:], expected, atol=1e-6)
    # the per-step rate variable is phi(u) of the (converged) soma
    np.testing.assert_allclose(g.r[:], 0.1 * np.log1p(np.exp(expected - 3)), atol=1e-6)


def test_output_pyramid_is_nudged_to_analytic_fixed_point():
    m = models.pyramidal_neuron().with_params(g_A=0 / ms)
    g = m.make_group(3)
    g.v_B = [1.0, 2.0, -1.0]
    g.u_tgt = [0.0, 3.0, 1.0]
    g.nudge = 1
    _run([g], 30 * ms)
    gL, gB, gS = 0.1, 1.0, 0.8
    expected = (gB * np.array([1.0, 2.0, -1.0]) + gS * np.array([0.0, 3.0, 1.0])) / (gL + gB + gS)
    np.testing.assert_allclose(g.u[:], expected, atol=1e-6)


def test_pyramidal_relaxes_with_the_effective_time_constant():
    # tau_eff = 1/(g_L + g_B + g_A) = 1/1.9 ms; a small dt makes Euler close to exp
    dt = 0.002 * ms
    g = models.pyramidal_neuron().make_group(1)
    g.v_B = 1.0
    mon = StateMonitor(g, "u", record=0, when="end")
    _run([g, mon], 2 * ms, dt=dt)
    tau = 1 / 1.9  # ms
    u_inf = 1.0 / 1.9
    t = mon.t / ms + dt / ms  # recorded after the step
    u = mon.u[0]
    # exact solution of the Euler recursion ...
    n = np.arange(1, len(t) + 1)
    np.testing.assert_allclose(u, u_inf * (1 - (1 - float(dt / ms) / tau) ** n), atol=1e-12)
    # ... and the analytic exponential within the Euler error O(dt/tau)
    np.testing.assert_allclose(u, u_inf * (1 - np.exp(-t / tau)), atol=2e-3 * u_inf)
    # time constant estimated from the trace
    k = np.searchsorted(t, tau)
    tau_est = -t[k] / np.log(1 - u[k] / u_inf)
    assert tau_est == pytest.approx(tau, rel=5e-3)


def test_interneuron_fixed_point_and_time_constant():
    g = models.sst_interneuron().make_group(2)
    g.v_D = [1.0, -0.5]
    g.u_T = [2.0, 0.5]
    mon = StateMonitor(g, "u", record=0, when="end")
    dt = 0.002 * ms
    _run([g, mon], 20 * ms, dt=dt)
    gL, gD, gS = 0.1, 1.0, 0.8
    expected = (gD * np.array([1.0, -0.5]) + gS * np.array([2.0, 0.5])) / (gL + gD + gS)
    np.testing.assert_allclose(g.u[:], expected, atol=1e-6)
    tau = 1 / (gL + gD + gS)
    t = mon.t / ms + dt / ms
    k = np.searchsorted(t, tau)
    tau_est = -t[k] / np.log(1 - mon.u[0][k] / expected[0])
    assert tau_est == pytest.approx(tau, rel=5e-3)


def test_urbanczik_senn_soma_settles_on_the_dendritic_prediction():
    m = models.urbanczik_senn_neuron().with_params(phi_max=0 / ms)  # silent: pure subthreshold
    g = m.make_group(3)
    g.U = -70 * mV
    g.V = -70 * mV
    I = np.array([0.0, 150.0, 450.0]) * pA
    g.I_rate = I
    mon = StateMonitor(g, "V", record=2, when="end")
    dt = 0.02 * ms
    _run([g, mon], 300 * ms, dt=dt)
    gL, gD, EL = 30e-9, 600e-9, -70e-3
    V_inf = EL + np.asarray(I) / gL
    U_inf = (gL * EL + gD * V_inf) / (gL + gD)
    np.testing.assert_allclose(g.V_[:], V_inf, atol=1e-9)
    np.testing.assert_allclose(g.U_[:], U_inf, atol=1e-9)
    # the per-step prediction V* equals the somatic fixed point (Urbanczik & Senn 2014)
    np.testing.assert_allclose(g.V_star_[:], U_inf, atol=1e-9)
    # dendritic time constant C_m/g_L = 10 ms
    t = mon.t / ms + 0.02
    v = (mon.V_[0] - EL) / (V_inf[2] - EL)
    k = np.searchsorted(t, 10.0)
    assert -t[k] / np.log(1 - v[k]) == pytest.approx(10.0, rel=2e-3)


def test_gated_branch_gate_is_the_half_space_indicator():
    from brian2 import NeuronGroup

    rng = np.random.default_rng(3)
    n_in, n_branch = 6, 40
    z = rng.normal(size=n_in)
    hyper = rng.normal(size=(n_branch, n_in))
    inputs = NeuronGroup(n_in, "r : 1")
    inputs.r = z
    br = models.gated_branch().make_group(n_branch)
    br.v_ff = rng.normal(size=n_branch)
    gate_syn = models.static_pathway(target="v_gate").make_synapses(inputs, br, connect=True)
    gate_syn.w = hyper.T.ravel()  # synapse order: pre-major, post-minor
    _run([inputs, br, gate_syn], 0.3 * ms)
    expected = (hyper @ z > 0).astype(float)
    np.testing.assert_array_equal(br.gate[:], expected)
    np.testing.assert_allclose(br.h[:], expected * br.v_ff[:])
    assert 0 < expected.sum() < n_branch  # both sides of the half-spaces are exercised


def _rate_net(t_ref):
    """200 silent-input Urbanczik–Senn neurons clamped at 5 potential levels."""
    def build():
        g = models.urbanczik_senn_neuron().make_group(200, name="us")
        g.U = -70 * mV
        g.V = -70 * mV
        g.I_rate = np.repeat([300.0, 450.0, 500.0, 550.0, 650.0], 40) * pA
        return {"us": g, "spikes": SpikeMonitor(g, name="spikes")}

    return build


def test_poisson_neuron_mean_rate_equals_phi_of_U(cache_dir):
    """Long run: spike counts per potential level match phi(U) (dead-time corrected)."""
    sim = Simulation(_rate_net(3 * ms), 20 * second, target="cpp_standalone", seed=11,
                     cache_dir=cache_dir, name="rate_test")
    dt = 0.1e-3
    levels = np.repeat(np.arange(5), 40)
    for t_ref in (3e-3, 0.0):
        res = sim.run({"us.t_ref": t_ref * second})
        U = res["us.U"]
        phi = 150.0 / (1 + 0.5 * np.exp((-55e-3 - U) / 3e-3))  # Hz, NEST defaults
        t_settle = 0.2  # s: the soma settles within ~50 ms (dendritic tau 10 ms)
        keep = res["spikes.t"] > t_settle
        counts = np.bincount(levels[res["spikes.i"][keep]], minlength=5)
        T = 20.0 - t_settle
        # Bernoulli spiking per step with a dead time of t_ref/dt steps:
        # mean ISI = t_ref - dt + 1/phi (t_ref > 0), 1/phi (t_ref = 0)
        phi_lvl = np.array([phi[levels == k].mean() for k in range(5)])
        isi = (t_ref - dt if t_ref > 0 else 0.0) + 1 / phi_lvl
        expected = 40 * T / isi
        z = (counts - expected) / np.sqrt(expected)
        assert np.all(np.abs(z) < 4.5), (t_ref, counts, expected)
        assert counts[-1] > 10000  # the high level really is tested


@pytest.mark.parametrize(
    "bad, exc, match",
    [
        ({"us.t_ref": -1 * ms}, ValueError, "t_ref.*>= 0"),
        ({"us.t_ref": 3 * mV}, Exception, "t_ref.*wrong units"),
        ({"us.I_rate": np.ones(3) * nA}, ValueError, "us.I_rate.*200 elements"),
        ({"us.nope": 1.0}, KeyError, "unknown variable 'us.nope'"),
        ({"us.I_rate": np.full(200, np.nan) * nA}, ValueError, "NaN"),
        ({"spikes.t": np.zeros(3) * ms}, ValueError, "read-only"),
    ],
)
def test_engine_rejects_bad_run_values(bad, exc, match):
    sim = Simulation(_rate_net(3 * ms), 1 * ms, target="numpy", name="rate_bad")
    with pytest.raises(exc, match=match):
        sim.run(bad)
