"""Plasticity rules: step-for-step equality with plain NumPy Euler code, and
identical results on the numpy, cython and cpp_standalone targets.
"""

import numpy as np
import pytest
from brian2 import NeuronGroup, SpikeGeneratorGroup, StateMonitor, TimedArray, ms, mV, pA

import brian_dendrites.models as models
from brian_dendrites.engine import Simulation

DT = 0.1e-3  # s
N_STEPS = 1000
N_IN, N_OUT = 5, 3


def _rates(seed=0):
    rng = np.random.default_rng(seed)
    return rng.uniform(0.0, 1.0, size=(N_STEPS, N_IN))


# --------------------------------------------------------------------------
# 1. Rate dendritic-prediction rule onto 3-compartment pyramids (Sacramento)
# --------------------------------------------------------------------------
def build_pyramidal_rule():
    stim = TimedArray(_rates(1), dt=0.1 * ms, name="stim")
    inp = NeuronGroup(N_IN, "r : 1", name="inp")
    inp.run_regularly("r = stim(t, i)", when="start", order=-1, name="inp_drive")
    pyr = models.pyramidal_neuron().make_group(N_OUT, name="pyr")
    pyr.v_A_td = [0.5, -0.3, 1.0]
    pyr.u = [0.2, -0.1, 0.4]
    syn = models.dendritic_prediction_rule().make_synapses(inp, pyr, name="ff", connect=True)
    syn.w = np.random.default_rng(2).normal(0, 1.0, N_IN * N_OUT)
    syn.eta = 0.05 / ms
    return {"stim": stim, "inp": inp, "pyr": pyr, "ff": syn}


def numpy_pyramidal_rule(n_steps=N_STEPS):
    """Same equations, same step order, plain NumPy (see models docs)."""
    x = _rates(1)
    gL, gB, gA = 0.1e3, 1.0e3, 0.8e3  # 1/s
    eta, tau_w, dt = 0.05e3, 30e-3, DT
    phi = lambda u: 0.1 * np.logaddexp(0, u - 3)  # noqa: E731
    W = np.random.default_rng(2).normal(0, 1.0, N_IN * N_OUT).reshape(N_IN, N_OUT).T.copy()
    D = np.zeros_like(W)
    u = np.array([0.2, -0.1, 0.4])
    vA = np.array([0.5, -0.3, 1.0])
    for n in range(n_steps):
        r_in = x[n]                      # start, order -1
        r = phi(u)                       # start, order 0
        vB = W @ r_in                    # groups, summed (order -1)
        e = r - phi(gB / (gL + gB + gA) * vB)   # groups, order -0.5
        u = u + dt * (-gL * u + gB * (vB - u) + gA * (vA - u))  # groups, order 0
        W, D = W + dt * eta * D, D + dt * (np.outer(e, r_in) - D) / tau_w  # order 1
    return u, W, D


# --------------------------------------------------------------------------
# 2. Urbanczik–Senn rate rule onto the 2-compartment conductance neuron
# --------------------------------------------------------------------------
def build_us_rate_rule():
    stim = TimedArray(_rates(3) * 40.0, dt=0.1 * ms, name="stim_us")  # Hz
    teach = TimedArray(np.linspace(0, 40, N_STEPS), dt=0.1 * ms, name="teach")  # nS
    inp = NeuronGroup(N_IN, "r : hertz", name="inp_us")
    inp.run_regularly("r = stim_us(t, i)*Hz", when="start", order=-1, name="inp_us_drive")
    # spikes are random but nothing in the rate rule depends on them
    us = models.urbanczik_senn_neuron().make_group(N_OUT, name="us")
    us.U = -70 * mV
    us.V = -65 * mV
    us.run_regularly("g_ex = teach(t)*nS", when="start", order=-1, name="us_teacher")
    syn = models.urbanczik_senn_rate_synapse().make_synapses(inp, us, name="us_syn", connect=True)
    syn.w = np.random.default_rng(4).uniform(0, 500, N_IN * N_OUT) * pA
    syn.eta = 5e3 * pA * mV  # large, so weights move visibly in 100 ms
    return {"stim_us": stim, "teach": teach, "inp_us": inp, "us": us, "us_syn": syn}


def numpy_us_rate_rule(n_steps=N_STEPS):
    x = _rates(3) * 40.0
    teach = np.linspace(0, 40, N_STEPS) * 1e-9
    gL, gD, C, EL, Eex, Ein = 30e-9, 600e-9, 300e-12, -70e-3, 0.0, -75e-3
    tau_syn, beta, theta, k, hs = 3e-3, 1 / 3e-3, -55e-3, 0.5, 15.0
    eta, tauD, tauL, taus, dt = 5e3 * 1e-12 * 1e-3, 100e-3, 10e-3, 3e-3, DT
    W = np.random.default_rng(4).uniform(0, 500, N_IN * N_OUT).reshape(N_IN, N_OUT).T * 1e-12
    D = np.zeros_like(W)
    U = np.full(N_OUT, -70e-3)
    V = np.full(N_OUT, -65e-3)
    Idend = np.zeros(N_OUT)
    gin = np.zeros(N_OUT)
    for n in range(n_steps):
        r_in = x[n]
        gex = np.full(N_OUT, teach[n])
        phi = lambda v: 150.0 / (1 + k * np.exp(beta * (theta - v)))  # noqa: E731
        rate = phi(U)
        Vs = (gL * EL + gD * V) / (gL + gD)
        phiV = phi(Vs)
        h = hs * beta / (1 + np.exp(-beta * (theta - Vs)) / k)
        Irate = (W * tau_syn) @ r_in
        dU = (-gL * (U - EL) + gD * (V - U) + gex * (Eex - U) + gin * (Ein - U)) / C
        dV = (-gL * (V - EL) + Idend + Irate) / C
        U, V = U + dt * dU, V + dt * dV
        Idend = Idend - dt * Idend / tau_syn
        err = ((rate - phiV) * h)[:, None] * r_in[None, :] * (tauL - taus)
        W, D = W + dt * eta * D, D + dt * (err - D) / tauD
    return U, V, W


def test_pyramidal_dendritic_prediction_rule_equals_numpy_step_for_step():
    sim = Simulation(build_pyramidal_rule, N_STEPS * 0.1 * ms, target="numpy", name="pyr_rule")
    res = sim.run()
    u, W, D = numpy_pyramidal_rule()
    np.testing.assert_allclose(res["pyr.u"], u, rtol=0, atol=1e-10)
    # Brian's synapse order is pre-major: w[i*N_OUT + j] = W[j, i]
    np.testing.assert_allclose(res["ff.w"], W.T.ravel(), rtol=0, atol=1e-10)
    np.testing.assert_allclose(res["ff.Delta"], D.T.ravel(), rtol=0, atol=1e-10)
    # the rule did something: weights moved by much more than the tolerance
    assert np.abs(res["ff.w"] - sim.run({"ff.eta": 0 / ms})["ff.w"]).max() > 1e-4


def test_urbanczik_senn_rate_rule_equals_numpy_step_for_step():
    sim = Simulation(build_us_rate_rule, N_STEPS * 0.1 * ms, target="numpy", name="us_rule")
    res = sim.run()
    U, V, W = numpy_us_rate_rule()
    np.testing.assert_allclose(res["us.U"], U, rtol=0, atol=1e-10)
    np.testing.assert_allclose(res["us.V"], V, rtol=0, atol=1e-10)
    np.testing.assert_allclose(res["us_syn.w"], W.T.ravel(), rtol=1e-10, atol=0)
    w0 = np.random.default_rng(4).uniform(0, 500, N_IN * N_OUT) * 1e-12
    assert np.abs(res["us_syn.w"] - w0).max() > 1e-14  # weights moved (> 0.01 fA)


# --------------------------------------------------------------------------
# 3. Deterministic spiking: the spiking rule on all three targets
# --------------------------------------------------------------------------
def build_spiking_rule():
    # spikes at fixed times; phi_max*dt >= 1 and theta far below U make the
    # "Poisson" neuron fire deterministically whenever it is not refractory
    idx = np.repeat(np.arange(N_IN), 20)
    times = (np.tile(np.arange(20), N_IN) * 4.7 + idx * 0.9 + 1.0) * ms
    inp = SpikeGeneratorGroup(N_IN, idx, times, name="sp_in")
    us = models.urbanczik_senn_neuron().with_params(
        phi_max=20 / ms, theta=-200 * mV, t_ref=7 * ms).make_group(N_OUT, name="us_sp")
    us.U = -70 * mV
    us.V = -70 * mV
    syn = models.urbanczik_senn_spiking_synapse().make_synapses(inp, us, name="sp_syn", connect=True)
    syn.w = np.linspace(50, 400, N_IN * N_OUT) * pA
    syn.eta = 1e3 * pA * mV
    return {"sp_in": inp, "us_sp": us, "sp_syn": syn,
            "sp_mon": StateMonitor(us, "V", record=True, name="sp_mon")}


BUILDS = {
    "pyramidal_rule": build_pyramidal_rule,
    "us_rate_rule": build_us_rate_rule,
    "us_spiking_rule": build_spiking_rule,
}


@pytest.fixture(scope="module")
def numpy_results():
    return {name: Simulation(b, 100 * ms, target="numpy", name=name).run()
            for name, b in BUILDS.items()}


@pytest.mark.parametrize("target", [pytest.param("cython", marks=pytest.mark.slow),
                                    "cpp_standalone"])  # cython: ~40-70 s of compiling each
@pytest.mark.parametrize("name", sorted(BUILDS))
def test_identical_results_across_targets(name, target, numpy_results, cache_dir):
    sim = Simulation(BUILDS[name], 100 * ms, target=target, name=name, cache_dir=cache_dir)
    res = sim.run()
    ref = numpy_results[name]
    compared = 0
    for key in ref:
        if key.endswith((".lastspike", ".not_refractory")) and name == "us_rate_rule":
            continue  # random spikes (different generators per target) touch only these
        if ref[key].dtype.kind not in "f":
            continue
        np.testing.assert_allclose(res[key], ref[key], rtol=1e-9, atol=1e-18, err_msg=key)
        compared += 1
    assert compared >= 5


def test_standalone_reuses_the_binary_and_changes_parameters_without_rebuild(cache_dir):
    sim = Simulation(build_pyramidal_rule, 100 * ms, target="cpp_standalone",
                     name="pyramidal_rule", cache_dir=cache_dir)
    binary = sim.project_dir / "main"
    mtime = binary.stat().st_mtime
    r1 = sim.run()
    r2 = sim.run({"ff.eta": 0 / ms, "pyr.g_A": 0.5 / ms})
    assert binary.stat().st_mtime == mtime
    u, W, _ = numpy_pyramidal_rule()
    np.testing.assert_allclose(r1["pyr.u"], u, atol=1e-10)
    w0 = np.random.default_rng(2).normal(0, 1.0, N_IN * N_OUT)
    np.testing.assert_array_equal(r2["ff.w"], w0)  # eta = 0: plasticity off, no rebuild
    assert not np.allclose(r2["pyr.u"], r1["pyr.u"])
    # a second Simulation of the same network (a new "session") reuses the cached project
    sim2 = Simulation(build_pyramidal_rule, 100 * ms, target="cpp_standalone",
                      name="pyramidal_rule", cache_dir=cache_dir)
    assert sim2.project_dir == sim.project_dir
    assert binary.stat().st_mtime == mtime
    assert sim2.build_time < 30


def test_wrong_size_synapse_array_is_refused_before_the_binary_ignores_it(cache_dir):
    sim = Simulation(build_pyramidal_rule, 100 * ms, target="cpp_standalone",
                     name="pyramidal_rule", cache_dir=cache_dir)
    with pytest.raises(ValueError, match="ff.w.*15 elements"):
        sim.run({"ff.w": np.zeros(14)})
    with pytest.raises(ValueError, match="stim.values.*shape"):
        sim.run({"stim.values": np.zeros((3, N_IN))})
