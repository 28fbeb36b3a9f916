"""Biophysical cells (brian_dendrites.cells): the physics, the model library, targets, errors.

Analytic checks solve the coupled-compartment circuit with NumPy independently of
the cell's own code; the cable checks compare with the discrete cable formula, the
continuous cable and Brian2's SpatialNeuron; the active checks measure what the
parameters promise (threshold, duration, refractory period, NMDA coincidence).
"""

import math

import numpy as np
import pytest
from brian2 import (
    Cylinder,
    DimensionMismatchError,
    Equations,
    Hz,
    Network,
    NeuronGroup,
    SpatialNeuron,
    SpikeGeneratorGroup,
    SpikeMonitor,
    StateMonitor,
    TimedArray,
    amp,
    cm,
    defaultclock,
    mM,
    mS,
    ms,
    mV,
    nS,
    ohm,
    pA,
    pF,
    second,
    seed,
    start_scope,
    uF,
    um,
    uS,
)

import brian_dendrites.models as models
from brian_dendrites.cells import (
    AMPA,
    BranchGate,
    Cell,
    Dendrite,
    DendriticSpike,
    IntegrateAndFire,
    NMDAPlateau,
    PoissonSpikes,
    Receptor,
    Soma,
    cable,
)
from brian_dendrites.spec import Event, NeuronModel
from brian_dendrites.testing import check_neuron_model


@pytest.fixture(autouse=True)
def _scope():
    start_scope()
    defaultclock.dt = 0.1 * ms
    yield
    defaultclock.dt = 0.1 * ms


def l5_cell(**kw):
    """Soma, basal, apical trunk and tuft: the issue's five-compartment geometry (4 here)."""
    return Cell([Soma(length=25 * um, diameter=25 * um, spikes=IntegrateAndFire()),
                 Dendrite("basal", length=150 * um, diameter=1 * um, receptors=["AMPA"]),
                 Dendrite("trunk", length=250 * um, diameter=2.5 * um,
                          receptors=["AMPA", "GABA"]),
                 Dendrite("tuft", length=200 * um, diameter=1 * um,
                          receptors=["AMPA", "NMDA"], active=DendriticSpike())],
                [("soma", "basal"), ("soma", "trunk"), ("trunk", "tuft")], **kw)


# ---------------------------------------------------------------------------
# text: one readable equation set
# ---------------------------------------------------------------------------
def test_one_readable_equation_set_named_after_compartments():
    cell = l5_cell()
    text = cell.equations_text()
    eqs = Equations(text)
    for c in ("soma", "basal", "trunk", "tuft"):
        assert f"v_{c}" in eqs.diff_eq_names
        assert f"I_ext_{c}" in eqs.parameter_names
    assert "dv_tuft/dt = (g_L_tuft*(E_L_tuft - v_tuft) + I_axial_tuft + I_syn_tuft + " \
           "I_ext_tuft)/C_tuft : volt" in text
    assert "I_axial_trunk = g_soma_trunk*(v_soma - v_trunk) + g_trunk_tuft*(v_tuft - v_trunk)" \
        in text
    assert "B_NMDA_tuft = 1/(1 + Mg/K_Mg*exp(-k_Mg*v_tuft)) : 1" in text
    # every parameter is a constant variable (run values change it without a rebuild)
    for name in cell.params:
        assert "constant" in eqs[name].flags
    printed = str(cell)
    assert "# event dspike_tuft" in printed and "# on dspike_tuft" in printed
    assert "# threshold: v_soma > V_th" in printed
    # the print-out without its comments is the equations Brian2 compiles
    code = "\n".join(ln.split("#")[0] for ln in printed.splitlines() if ln.split("#")[0].strip())
    assert Equations(code) == cell.to_equations()
    assert "\\frac" in cell._repr_latex_()


def test_geometry_conventions():
    """C = cm pi d L; coupling = center to center (half cylinders) or one whole cylinder."""
    soma = Soma(length=20 * um, diameter=20 * um, cm=1 * uF / cm**2, Ra=100 * ohm * cm)
    dend = Dendrite("d", length=200 * um, diameter=2 * um, g_L=50 * uS / cm**2,
                    Ra=200 * ohm * cm)
    half = Cell([soma, dend], [("soma", "d")])
    whole = Cell([soma, dend], [("soma", "d", "cylinder_d")])
    area = math.pi * 2e-6 * 200e-6
    assert float(half["C_d"]) == pytest.approx(1e-2 * area, rel=1e-12)  # 1 uF/cm2 = 1e-2 F/m2
    assert float(half["g_L_d"]) == pytest.approx(0.5 * area, rel=1e-12)  # 50 uS/cm2 = 0.5 S/m2
    r_half = lambda ra, L, d: ra * (L / 2) / (math.pi * d**2 / 4)  # noqa: E731
    r = r_half(1.0, 20e-6, 20e-6) + r_half(2.0, 200e-6, 2e-6)  # Ra in ohm*m
    assert float(half["g_soma_d"]) == pytest.approx(1 / r, rel=1e-12)
    assert float(whole["g_soma_d"]) == pytest.approx(1 / (2 * r_half(2.0, 200e-6, 2e-6)),
                                                     rel=1e-12)
    explicit = Cell([Soma(cm=100 * pF, g_L=5 * nS), Dendrite("d", cm=50 * pF, g_L=2 * nS)],
                    [("soma", "d", 10 * nS)])
    assert explicit["C_soma"] == 100 * pF and explicit["g_soma_d"] == 10 * nS


# ---------------------------------------------------------------------------
# passive physics
# ---------------------------------------------------------------------------
def _simulate(cell, duration, dt=0.1 * ms, currents=None, record=None, **values):
    start_scope()
    group = cell.make_group(1, dt=dt, **values)
    for c, cur in (currents or {}).items():
        setattr(group, f"I_ext_{c}", cur)
    mon = StateMonitor(group, record or [], record=0, dt=dt) if record else None
    net = Network(group, *([mon] if mon is not None else []))
    net.run(duration)
    return group, mon


def test_passive_input_resistance_and_time_constant():
    """Soma input resistance and membrane time constant = the coupled circuit's values."""
    cell = Cell([Soma(length=20 * um, diameter=20 * um, g_L=5 * nS),  # a leakier soma
                 Dendrite("apical", length=300 * um, diameter=2 * um, g_L=100 * uS / cm**2),
                 Dendrite("basal", length=150 * um, diameter=1 * um, g_L=100 * uS / cm**2)],
                [("soma", "apical"), ("soma", "basal")])
    # the circuit, written out here from the geometry (independent of the cell's code)
    area = lambda L, d: math.pi * d * L  # noqa: E731
    r_half = lambda L, d: 1.5 * (L / 2) / (math.pi * d**2 / 4)  # Ra 150 ohm cm = 1.5 ohm m  # noqa: E731
    C = np.array([area(20e-6, 20e-6), area(300e-6, 2e-6), area(150e-6, 1e-6)]) * 1e-2
    gl = np.array([5e-9, area(300e-6, 2e-6), area(150e-6, 1e-6)])
    gl[1:] *= 1.0  # 100 uS/cm2 = 1 S/m2
    ga = 1 / (r_half(20e-6, 20e-6) + r_half(300e-6, 2e-6))
    gb = 1 / (r_half(20e-6, 20e-6) + r_half(150e-6, 1e-6))
    G = np.diag(gl) + np.array([[ga + gb, -ga, -gb], [-ga, ga, 0], [-gb, 0, gb]])
    R_in = np.linalg.inv(G)[0, 0]
    lam = np.sort(np.linalg.eigvals(G / C[:, None]).real)
    tau = 1 / lam[0]
    assert float(cell.input_resistance()) == pytest.approx(R_in, rel=1e-12)
    assert float(cell.time_constants()[0]) == pytest.approx(tau, rel=1e-12)

    I = 20 * pA  # noqa: E741
    dt = 0.1 * ms
    group, mon = _simulate(cell, 40 * tau * second, dt, {"soma": I}, ["v_soma"])
    v = mon.v_soma[0] / mV + 70
    # input resistance from the steady state
    assert v[-1] * 1e-3 / float(I) == pytest.approx(R_in, rel=1e-9)
    # time constant from the late approach to it: Euler maps exp(-dt/tau) to 1 - dt/tau
    dev = v[-1] - v
    k = np.arange(int(5 * tau / float(dt)), int(10 * tau / float(dt)))
    ratio = np.median(dev[k + 1] / dev[k])
    assert ratio == pytest.approx(1 - float(dt) / tau, rel=1e-9)
    tau_measured = -float(dt) / math.log(ratio)
    assert tau_measured == pytest.approx(tau, rel=float(dt) / tau)  # Euler's O(dt) bias


def _chain(n, **kw):
    comps, links = cable("d", n, 500 * um, 2 * um, g_L=1 * mS / cm**2, **kw)
    return Cell(comps, links)


def _discrete_cable(n, x_inject=0):
    """Steady state of n equal segments, current into segment 0, sealed far end (cosh)."""
    h = 500e-6 / n
    g_a = math.pi * (2e-6) ** 2 / 4 / (1.5 * h)
    g_m = 10.0 * math.pi * 2e-6 * h  # 1 mS/cm2 = 10 S/m2
    mu = math.acosh(1 + g_m / (2 * g_a))
    k = np.arange(n)
    return np.cosh(mu * (n - 0.5 - k)) / math.cosh(mu * (n - 0.5))


def test_chain_attenuation_equals_discrete_cable():
    n = 10
    cell = _chain(n)
    group, _ = _simulate(cell, 30 * ms, 0.025 * ms, {"d_0": 50 * pA})  # 30 tau_m
    v = np.array([float(getattr(group, f"v_d_{k}")[0]) for k in range(n)]) + 0.070
    np.testing.assert_allclose(v / v[0], _discrete_cable(n), rtol=1e-9)
    ss = cell.steady_state({"d_0": 50 * pA})
    np.testing.assert_allclose([float(ss[f"d_{k}"]) + 0.070 for k in range(n)], v, rtol=1e-9)


def test_many_segments_approach_the_continuous_cable_and_spatial_neuron():
    """Discrete -> continuous as O(h^2); SpatialNeuron's cylinder is the same circuit."""
    lam = math.sqrt(2e-6 / (4 * 1.5 * 10.0))  # sqrt(d Rm / (4 Ra)) with Rm = 0.1 ohm m2
    L = 500e-6
    errors = {}
    for n in (10, 20, 80):
        cell = _chain(n)
        ss = cell.steady_state({"d_0": 50 * pA})
        v = np.array([float(ss[f"d_{k}"]) + 0.070 for k in range(n)])
        np.testing.assert_allclose(v / v[0], _discrete_cable(n), rtol=1e-9)
        x = (np.arange(n) + 0.5) * L / n
        cont = np.cosh((L - x) / lam) / np.cosh((L - x[0]) / lam)
        errors[n] = np.max(np.abs(v / v[0] - cont))
    assert errors[80] < 1e-4  # measured 2.0e-5 (10: 1.3e-3, 20: 3.3e-4)
    assert errors[20] / errors[80] == pytest.approx(16, rel=0.05)  # second order in h
    # Brian2's SpatialNeuron on the same cylinder, 80 compartments, to its steady state
    n = 80
    start_scope()
    morpho = Cylinder(length=L * 1e6 * um, diameter=2 * um, n=n)
    neuron = SpatialNeuron(morpho, "Im = gL*(EL - v) : amp/meter**2\n"
                                   "I : amp (point current)\n"
                                   "gL : siemens/meter**2\nEL : volt",
                           Cm=1 * uF / cm**2, Ri=150 * ohm * cm, method="exponential_euler")
    neuron.gL, neuron.EL, neuron.v = 1 * mS / cm**2, -70 * mV, -70 * mV
    neuron.I[0] = 50 * pA
    net = Network(neuron)
    net.run(15 * ms)
    v_sn = np.asarray(neuron.v) + 0.070
    np.testing.assert_allclose(v_sn, v, rtol=1e-4)  # measured 1.7e-6 (its settling)


# ---------------------------------------------------------------------------
# active dendrites
# ---------------------------------------------------------------------------
def test_dendritic_spike_threshold_duration_and_refractory_period():
    spike = DendriticSpike(threshold=-50 * mV, g_Na=20 * nS, g_K=30 * nS, duration=1.5 * ms,
                           fall=2.5 * ms, refractory=12 * ms)
    cell = Cell([Soma(length=20 * um, diameter=20 * um),
                 Dendrite("d", length=200 * um, diameter=1 * um, active=spike)],
                [("soma", "d")])
    assert "dspike_d" in cell.events
    dt = 0.1 * ms
    start_scope()
    group = cell.make_group(1, dt=dt)
    group.I_ext_d = 60 * pA  # a sustained depolarisation: spikes repeat every t_ref_ds
    mon = StateMonitor(group, ["v_d", "I_ds_d", "t_ds_d"], record=0)
    net = Network(group, mon)
    net.run(40 * ms)
    v, I_ds, t_ds = mon.v_d[0] / mV, mon.I_ds_d[0] / pA, mon.t_ds_d[0] / ms
    onsets = np.unique(t_ds[t_ds > 0])
    assert len(onsets) >= 3
    # the first event fires at the step where v_d crosses the threshold (the monitor
    # records at the start of a step, the event is checked after its update)
    k = int(round(onsets[0] / 0.1))
    assert v[k] <= -50 < v[k + 1]
    for t0 in onsets:
        k = int(round(t0 / 0.1))
        # Na current for exactly `duration`, then K for `fall`
        na = I_ds[k + 1:k + 1 + 15]
        assert np.all(na > 0) and np.all(I_ds[k + 1 + 15:k + 1 + 40] < 0)
        assert I_ds[k + 1 + 40] == 0 and I_ds[k] == 0
        # the voltage rises during the spike
        assert v[k + 15] > v[k] + 10
    # under sustained depolarisation the next spike comes exactly t_ref_ds later
    np.testing.assert_allclose(np.diff(onsets), 12, atol=1e-9)
    # durations are variables: a run value changes the window, no rebuild
    group.t_Na_ds_d = 0.5 * ms
    start = float(net.t / ms)
    net.run(20 * ms)
    t_ds, I_ds = mon.t_ds_d[0] / ms, mon.I_ds_d[0] / pA
    later = np.unique(t_ds[(t_ds > start)])
    k = int(round(later[0] / 0.1))
    assert np.all(I_ds[k + 1:k + 6] > 0) and I_ds[k + 6] < 0


@pytest.fixture(scope="module")
def nmda_cell():
    return Cell([Soma(length=25 * um, diameter=25 * um),
                 Dendrite("tuft", length=200 * um, diameter=1 * um, receptors=["AMPA", "NMDA"])],
                [("soma", "tuft")])


def _nmda_trials(cell, Mg=None):
    """Four cells, one protocol each; peak (mV) and time above -40 mV (ms) of v_tuft."""
    # cell 0: 4 coincident inputs; 1: 8 coincident; 2: 8 inputs 25 ms apart; 3: 8 coincident
    # without NMDA
    protocols = [(4, 0), (8, 0), (8, 25), (8, 0)]
    idx, times, post = [], [], []
    for j, (n, gap) in enumerate(protocols):
        first = len(idx)
        idx += list(range(first, first + n))
        times += list(10 + np.arange(n) * gap)
        post += [j] * n
    start_scope()
    group = cell.make_group(len(protocols))
    if Mg is not None:
        group.Mg = Mg
    source = SpikeGeneratorGroup(len(idx), np.array(idx), np.array(times) * ms)
    syn = cell.synapse_model("tuft", ("AMPA", "NMDA")).make_synapses(source, group)
    syn.connect(i=np.arange(len(idx)), j=np.array(post))
    syn.w_AMPA = 0.5 * nS
    syn.w_NMDA = np.where(np.array(post) == 3, 0, 1) * nS
    mon = StateMonitor(group, "v_tuft", record=True)
    Network(group, source, syn, mon).run(260 * ms)
    v = mon.v_tuft / mV
    return v.max(axis=1), (v > -40).sum(axis=1) * 0.1


def test_nmda_plateau_needs_coincident_input_above_threshold(nmda_cell):
    peak, above = _nmda_trials(nmda_cell)
    # 4 coincident inputs: below threshold (measured peak -48.9 mV)
    assert above[0] == 0 and peak[0] < -45
    # 8 coincident inputs: the Mg block opens, a plateau (measured 94 ms above -40 mV)
    assert above[1] > 50 and peak[1] > -25
    # the same 8 inputs, not coincident (25 ms apart): no plateau; without NMDA: none
    assert above[2] == 0 and above[3] == 0
    # without Mg the block is gone: 4 inputs depolarise much more
    peak_no_mg, _ = _nmda_trials(nmda_cell, Mg=0 * mM)
    assert peak_no_mg[0] > peak[0] + 10


# ---------------------------------------------------------------------------
# the model library, rebuilt with the builder
# ---------------------------------------------------------------------------
def urbanczik_senn_cell():
    """NEST's pp_cond_exp_mc_urbanczik as a Cell (defaults of models.urbanczik_senn_neuron)."""
    tau_syn = 3 * ms
    return Cell([Soma(cm=300 * pF, g_L=30 * nS, E_L=-70 * mV, spikes=PoissonSpikes(),
                      receptors=[Receptor("ex", tau_decay=tau_syn, E=0 * mV),
                                 Receptor("inh", tau_decay=tau_syn, E=-75 * mV)]),
                 Dendrite("dendrite", cm=300 * pF, g_L=30 * nS, E_L=-70 * mV,
                          receptors=[Receptor("dend", tau_decay=tau_syn, kind="current")])],
                [("soma", "dendrite", 600 * nS, 0 * nS)], name="us_cell")


def _us_run(use_cell, n=4, duration=100 * ms):
    start_scope()
    seed(7)
    rng = np.random.default_rng(3)
    if use_cell:
        cell = urbanczik_senn_cell()
        post = cell.make_group(n, name="post")
        rate_syn = cell.urbanczik_senn_synapse("dendrite", "rate", receptor="dend")
        spk_syn = cell.urbanczik_senn_synapse("dendrite", "spiking", receptor="dend")
        names = dict(U="v_soma", V="v_dendrite", g_ex="g_ex_soma", g_in="g_inh_soma",
                     I_dend="I_dend_dendrite")
    else:
        post = models.urbanczik_senn_neuron().make_group(n, name="post")
        post.U = post.V = -70 * mV
        rate_syn = models.urbanczik_senn_rate_synapse()
        spk_syn = models.urbanczik_senn_spiking_synapse()
        names = dict(U="U", V="V", g_ex="g_ex", g_in="g_in", I_dend="I_dend")
    setattr(post, names["g_ex"], rng.uniform(20, 60, n) * nS)
    setattr(post, names["g_in"], rng.uniform(10, 30, n) * nS)
    rates = NeuronGroup(5, "r : hertz", name="rates")
    rates.r = rng.uniform(5, 50, 5) * Hz
    steps = np.sort(rng.choice(int(duration / (0.1 * ms)), 60, replace=False))
    spikes = SpikeGeneratorGroup(5, rng.integers(0, 5, 60), steps * 0.1 * ms, name="spikes")
    s_rate = rate_syn.make_synapses(rates, post, connect={"p": 1}, name="s_rate")
    s_spk = spk_syn.make_synapses(spikes, post, connect={"p": 1}, name="s_spk")
    s_rate.w = rng.uniform(0, 200, 20) * pA
    s_spk.w = rng.uniform(0, 300, 20) * pA
    mon = StateMonitor(post, [names["U"], names["V"]], record=True)
    out = SpikeMonitor(post)
    net = Network(post, rates, spikes, s_rate, s_spk, mon, out)
    net.run(duration)
    return (getattr(mon, names["U"]) / mV, getattr(mon, names["V"]) / mV,
            np.asarray(s_rate.w), np.asarray(s_spk.w), np.asarray(out.t / ms))


def test_urbanczik_senn_neuron_and_rule_reproduced_by_the_builder():
    """Same trajectories (potentials, Poisson spikes, rate and spiking weights) to 1e-12."""
    ref = _us_run(False)
    got = _us_run(True)
    for a, b, what in zip(ref, got, ("U", "V", "w rate", "w spiking", "spike times")):
        np.testing.assert_allclose(b, a, rtol=1e-12, atol=0, err_msg=what)
    assert np.ptp(ref[0]) > 5 and len(ref[4]) > 5  # the soma moves and spikes


def test_urbanczik_senn_cell_params_match_the_library_model():
    cell = urbanczik_senn_cell()
    us = models.urbanczik_senn_neuron()
    pairs = dict(C_soma="C_m", g_L_soma="g_L", g_soma_dendrite="g_D", g_dendrite_soma="g_ps",
                 phi_max="phi_max", k="k", beta="beta", theta="theta", h_scale="h_scale",
                 t_ref="t_ref", tau_decay_dend="tau_syn", E_ex="E_ex", E_inh="E_in")
    for ours, theirs in pairs.items():
        assert np.allclose(float(cell[ours]), float(us[theirs]), rtol=1e-15), ours


# ---------------------------------------------------------------------------
# targets and run values (the model battery)
# ---------------------------------------------------------------------------
def small_active_cell():
    return Cell([Soma(length=25 * um, diameter=25 * um, spikes=IntegrateAndFire()),
                 Dendrite("tuft", length=200 * um, diameter=1 * um,
                          receptors=["AMPA", "NMDA", "GABA"], active=DendriticSpike())],
                [("soma", "tuft")])


def _active_network(cell):
    # few objects: each costs compiled files (this is the default suite's standalone leg)
    def build():
        group = cell.make_group(3, name="g")
        group.I_ext_soma = np.array([0.1, 0.2, 0.3]) * 1e-9 * amp
        src = SpikeGeneratorGroup(1, np.zeros(8, int), np.arange(8) * 0.2 * ms + 5 * ms,
                                  name="src")
        syn = cell.synapse_model("tuft", ("AMPA", "NMDA", "GABA")).make_synapses(
            src, group, connect={"p": 1}, name="syn")
        syn.w_AMPA, syn.w_NMDA, syn.w_GABA = 1 * nS, 1.5 * nS, 0.5 * nS
        return {"g": group, "src": src, "syn": syn}
    return build


def test_numpy_and_cpp_standalone_agree(cache_dir):
    """One standalone compile: an active cell with AMPA, NMDA, GABA synapses, same on both."""
    from brian_dendrites.engine import Simulation

    build = _active_network(small_active_cell())
    sims = {target: Simulation(build, 40 * ms, target=target, cache_dir=cache_dir,
                               name="cells_active") for target in ("numpy", "cpp_standalone")}
    res = {target: sim.run() for target, sim in sims.items()}
    for key, val in res["numpy"].items():
        if np.asarray(val).dtype.kind == "f":
            np.testing.assert_allclose(res["cpp_standalone"][key], val, rtol=1e-9, atol=1e-300,
                                       err_msg=key)
    # somatic spikes and a dendritic spike happened (their last times)
    assert np.all(res["numpy"]["g.lastspike"] > 0.005) and np.all(res["numpy"]["g.t_ds_tuft"] > 0)
    # a run value changes a coupling without a rebuild, on both targets
    runs = {target: sim.run({"g.g_soma_tuft": 5 * nS}) for target, sim in sims.items()}
    np.testing.assert_allclose(runs["cpp_standalone"]["g.v_tuft"], runs["numpy"]["g.v_tuft"],
                               rtol=1e-9)
    assert not np.allclose(runs["numpy"]["g.v_tuft"], res["numpy"]["g.v_tuft"])


@pytest.mark.slow
def test_model_battery_of_a_cell(cache_dir):
    """The library's model battery: targets agree; every parameter acts at run time."""
    # the battery draws every state at random, t_ds_tuft (a time) in [0, 1) s, i.e. a
    # dendritic spike "in the future": none fires within the run. Dendritic spikes and
    # somatic spikes agree across targets (and their parameters act) in the default suite
    # (test_numpy_and_cpp_standalone_agree, test_dendritic_spike_...).
    inert = ("V_reset", "t_ref") + tuple(f"{p}_ds_tuft" for p in (
        "theta", "g_Na", "g_K", "t_Na", "t_K", "t_ref", "E_Na", "E_K"))
    results = check_neuron_model(small_active_cell(), targets=("numpy", "cpp_standalone"), n=2,
                                 duration=5 * ms, cache_dir=cache_dir,
                                 skip=("lastspike", "not_refractory"), inert=inert)
    assert set(results) == {"numpy", "cpp_standalone"}


# ---------------------------------------------------------------------------
# events in the spec
# ---------------------------------------------------------------------------
def test_neuron_model_events_are_printed_and_installed():
    model = NeuronModel("ev", "dv/dt = (1 - v)/(10*ms) : 1\nn_ev : 1",
                        events={"half": Event("v > 0.5 and n_ev == 0", "n_ev += 1",
                                              doc="crossed one half")})
    text = str(model)
    assert "# event half  (crossed one half): v > 0.5 and n_ev == 0" in text
    assert "# on half (run_on_event, when='resets', order=0): n_ev += 1" in text
    group = model.make_group(2)
    Network(group).run(10 * ms)
    assert list(group.n_ev) == [1, 1]
    with pytest.raises(ValueError, match="'spike'"):
        NeuronModel("bad", "v : 1", events={"spike": "v > 1"})
    with pytest.raises(TypeError, match="events\\['e'\\]"):
        NeuronModel("bad", "v : 1", events={"e": 3})


# ---------------------------------------------------------------------------
# bad input: named errors
# ---------------------------------------------------------------------------
@pytest.mark.parametrize("make, error, match", [
    (lambda: Dendrite("d", length=0 * um, diameter=1 * um), ValueError, "length"),
    (lambda: Dendrite("d", length=10 * um, diameter=-1 * um), ValueError, "diameter"),
    (lambda: Dendrite("d", length=10 * um), ValueError, "both length and diameter"),
    (lambda: Dendrite("d", length=10 * ms, diameter=1 * um), DimensionMismatchError, "length"),
    (lambda: Dendrite("d", length=10, diameter=1 * um), TypeError, "length"),
    (lambda: Dendrite("d", cm=1 * uF / cm**2), ValueError, "needs the geometry"),
    (lambda: Dendrite("d", cm=0 * pF, g_L=1 * nS), ValueError, "cm"),
    (lambda: Dendrite("d", cm=1 * pF, g_L=-1 * nS), ValueError, "g_L"),
    (lambda: Dendrite("d", cm=1 * pF, g_L=1 * mV), DimensionMismatchError, "g_L"),
    (lambda: Dendrite("d", cm=1 * pF, g_L=1 * nS, receptors=["AMAP"]), KeyError, "AMPA"),
    (lambda: Dendrite("d", length=10 * um, diameter=1 * um, Ra=0 * ohm * cm), ValueError, "Ra"),
    (lambda: Receptor("X", tau_decay=1 * ms, tau_rise=2 * ms), ValueError, "tau_rise"),
    (lambda: DendriticSpike(duration=0 * ms), ValueError, "duration"),
    (lambda: Receptor("axial", tau_decay=1 * ms), ValueError, "reserved"),
    (lambda: Cell([Dendrite("a", cm=1 * pF, g_L=1 * nS), Dendrite("b_c", cm=1 * pF, g_L=1 * nS),
                   Dendrite("a_b", cm=1 * pF, g_L=1 * nS), Dendrite("c", cm=1 * pF, g_L=1 * nS)],
                  [("a", "b_c", 1 * nS), ("a_b", "c", 1 * nS)]), ValueError, "ambiguous"),
    (lambda: Cell([Soma(cm=1 * pF, g_L=1 * nS), Dendrite("apical", cm=1 * pF, g_L=1 * nS)],
                  [("soma", "apicl", 1 * nS)]), KeyError, "Did you mean 'apical'"),
    (lambda: Cell([Soma(cm=1 * pF, g_L=1 * nS), Dendrite("d", cm=1 * pF, g_L=1 * nS)],
                  [("soma", "d", 1 * nS), ("d", "soma", 2 * nS)]), ValueError, "twice"),
    (lambda: Cell([Soma(cm=1 * pF, g_L=1 * nS), Dendrite("d", cm=1 * pF, g_L=1 * nS)],
                  [("soma", "d", 0 * nS)]), ValueError, "connections\\[0\\]: g"),
    (lambda: Cell([Soma(cm=1 * pF, g_L=1 * nS), Dendrite("d", cm=1 * pF, g_L=1 * nS)],
                  [("soma", "d", 1 * pF)]), DimensionMismatchError, "connections\\[0\\]"),
    (lambda: Cell([Soma(cm=1 * pF, g_L=1 * nS), Dendrite("d", cm=1 * pF, g_L=1 * nS)],
                  [("soma", "d")]), ValueError, "no geometry"),
    (lambda: Cell([Soma(cm=1 * pF, g_L=1 * nS), Dendrite("d", cm=1 * pF, g_L=1 * nS)], []),
     ValueError, "not connected"),
    (lambda: Cell([Soma(cm=1 * pF, g_L=1 * nS), Soma(cm=1 * pF, g_L=1 * nS)], []),
     ValueError, "used twice"),
    (lambda: l5_cell().synapse_model("tuft", "GABA"), KeyError, "no receptor 'GABA'"),
    (lambda: l5_cell().with_params(C_soma=-1 * pF), ValueError, "C_soma"),
    (lambda: l5_cell().with_params(g_soma_trunk=1 * mV), DimensionMismatchError, "g_soma_trunk"),
])
def test_bad_input_raises_a_named_error(make, error, match):
    with pytest.raises(error, match=match):
        make()


def test_builders_are_pure():
    a, b = l5_cell(), l5_cell()
    assert a.equations_text() == b.equations_text()
    c = a.with_params(g_trunk_tuft=1 * nS)
    assert a["g_trunk_tuft"] != c["g_trunk_tuft"] and a["g_trunk_tuft"] == b["g_trunk_tuft"]


@pytest.mark.parametrize("shared", [True, False])
def test_per_neuron_parameters(shared):
    cell = Cell([Soma(cm=100 * pF, g_L=5 * nS), Dendrite("d", cm=50 * pF, g_L=2 * nS)],
                [("soma", "d", 10 * nS)], shared=shared)
    flags = cell.to_equations()["g_soma_d"].flags
    assert ("shared" in flags) == shared
    if not shared:
        group = cell.make_group(3, g_soma_d=np.array([1, 2, 3]) * nS)
        assert list(np.asarray(group.g_soma_d) / 1e-9) == pytest.approx([1, 2, 3])


def test_exponential_euler_for_passive_cells():
    """Stiff chains: exponential Euler is stable where Euler would need dt < 2 C/g."""
    comps, links = cable("d", 8, 200 * um, 1 * um)
    cell = Cell(comps, links, method="exponential_euler")
    group, _ = _simulate(cell, 5 * ms, 0.1 * ms, {"d_0": 10 * pA})
    assert np.all(np.isfinite(np.asarray(group.v_d_0)))
    assert AMPA.double


# ---------------------------------------------------------------------------
# NEURON, the field's reference simulator (optional)
# ---------------------------------------------------------------------------
def test_passive_cell_agrees_with_neuron():
    """Same geometry, matched segments: R_in, tau, attenuation (issue: 1 %; measured 6e-13,
    2e-8, 2e-13: the same circuit).
    """
    neuron = pytest.importorskip("neuron")
    h = neuron.h
    h.load_file("stdrun.hoc")
    geometry = {"soma": (25, 25, 1, 2e-4), "basal": (150, 1, 3, 1e-4),
                "trunk": (250, 2.5, 5, 1e-4), "tuft": (200, 1, 4, 1e-4)}  # um, um, nseg, S/cm2
    secs = {}
    for name, (L, d, nseg, g) in geometry.items():
        s = h.Section(name=f"cells_{name}")
        s.L, s.diam, s.nseg, s.cm, s.Ra = L, d, nseg, 1, 150
        s.insert("pas")
        for seg in s:
            seg.pas.g, seg.pas.e = g, -70
        secs[name] = s
    # one dendrite per soma end: each couples to the soma centre through its own half soma
    secs["basal"].connect(secs["soma"](0), 0)
    secs["trunk"].connect(secs["soma"](1), 0)
    secs["tuft"].connect(secs["trunk"](1), 0)
    stim = h.IClamp(secs["soma"](0.5))
    stim.delay, stim.dur, stim.amp = 0, 1e9, 0.02  # nA
    rec = {name: h.Vector().record(secs[name](1 - 0.5 / geometry[name][2])._ref_v)
           for name in geometry}
    h.dt = 0.025
    h.finitialize(-70)
    h.continuerun(300)
    v_nrn = {name: np.array(vec.to_python()) for name, vec in rec.items()}
    R_nrn = (v_nrn["soma"][-1] + 70) / 0.02 * 1e6  # ohm
    dev = v_nrn["soma"][-1] - v_nrn["soma"]
    k = np.arange(int(60 / 0.025), int(100 / 0.025))
    ratio = np.median(dev[k + 1] / dev[k])  # backward Euler: 1/(1 + dt/tau)
    tau_nrn = 0.025e-3 / (1 / ratio - 1)

    comps, links = [Soma(length=25 * um, diameter=25 * um, g_L=200 * uS / cm**2)], []
    for name in ("basal", "trunk", "tuft"):
        L, d, nseg, g = geometry[name]
        c, lk = cable(name, nseg, L * um, d * um, g_L=g * 1e6 * uS / cm**2)
        comps, links = comps + c, links + lk
    cell = Cell(comps, links + [("soma", "basal_0"), ("soma", "trunk_0"),
                                ("trunk_4", "tuft_0")])
    assert float(cell.input_resistance()) == pytest.approx(R_nrn, rel=1e-9)
    assert float(cell.time_constants()[0]) == pytest.approx(tau_nrn, rel=1e-6)
    ss = cell.steady_state({"soma": 20 * pA})
    for name, last in (("basal", "basal_2"), ("trunk", "trunk_4"), ("tuft", "tuft_3")):
        att = (float(ss[last]) + 0.070) / (float(ss["soma"]) + 0.070)
        att_nrn = (v_nrn[name][-1] + 70) / (v_nrn["soma"][-1] + 70)
        assert att == pytest.approx(att_nrn, rel=1e-9), name


@pytest.mark.slow
def test_l5_example_fast_mode(tmp_path, run_example):
    """The example's --fast mode: coincidence gives the burst, each input alone does not."""
    out = run_example("biophysical_l5_bac_firing", ["--fast", "--out", str(tmp_path / "f.png")])
    assert list(out["count"][:2]) == [0, 0] and out["count"][2] >= 3
    assert list(out["dspikes"]) == [0, 0, 1]
    assert np.all(np.diff(out["rates"]) >= 0) and out["rates"][-1] > 100
    assert (tmp_path / "f.png").exists()


@pytest.mark.slow
def test_coupling_sweep_example_fast_mode(tmp_path, run_example):
    """Compile once, 6 couplings: each input alone never fires the soma; together they do."""
    table = run_example("biophysical_coupling_sweep",
                        ["--fast", "--target", "numpy", "--out", str(tmp_path / "s.png")])
    assert len(table) == 6 and table["error"].isna().all()
    assert (table["soma alone"] == 0).all() and (table["tuft alone"] == 0).all()
    assert (table["both"] >= 1).all() and table["both"].iloc[-1] == 6


def test_gated_branch_on_a_dendrite_of_a_cell():
    """DGN gate on a dendrite: a closed gate blocks the input and freezes the weights."""
    cell = Cell([Soma(length=20 * um, diameter=20 * um),
                 Dendrite("b", length=100 * um, diameter=1 * um, gate=BranchGate(theta=0.5))],
                [("soma", "b")])
    # the gate is the library's gated_branch update, renamed by Brian2's substitution
    update = {u.name: u for u in cell.updates}["gate_b"]
    assert update.code == "gate_b = int(v_gate_b > theta_gate_b)"
    assert (update.when, update.order) == ("groups", -0.5)
    start_scope()
    group = cell.make_group(2)
    group.v_gate_b = [1.0, 0.0]  # open in cell 0, closed in cell 1
    group.err = 0.5
    pre = NeuronGroup(3, "r : 1")
    pre.r = [0.2, 0.5, 1.0]
    rule = cell.gated_branch_synapse("b")
    syn = rule.make_synapses(pre, group, connect={"p": 1})
    syn.w = 20 * pA
    Network(group, pre, syn).run(10 * ms)
    w = np.asarray(syn.w).reshape(3, 2)  # (pre, post)
    expected = 20e-12 - float(rule["eta"]) * 0.5 * np.array([0.2, 0.5, 1.0]) * 10e-3
    np.testing.assert_allclose(w[:, 0], expected, rtol=1e-12)
    np.testing.assert_allclose(w[:, 1], 20e-12, rtol=0)
    assert list(group.gate_b) == [1, 0]
    assert float(group.v_b[0]) > -0.069 and float(group.v_b[1]) == pytest.approx(-0.070)
    with pytest.raises(ValueError, match="has no gate"):
        l5_cell().gated_branch_synapse("tuft")


def test_event_driven_nmda_plateau_threshold_duration_and_mg_block():
    plateau = NMDAPlateau(threshold=-50 * mV, g=5 * nS, duration=30 * ms, refractory=100 * ms)
    cell = Cell([Soma(length=20 * um, diameter=20 * um),
                 Dendrite("d", length=200 * um, diameter=1 * um, active=plateau)],
                [("soma", "d")])
    assert "# event plateau_d  (NMDA-like plateau of d): v_d > theta_pl_d" in str(cell)
    out = {}
    for mg in (1 * mM, 50 * mM):
        start_scope()
        group = cell.make_group(1, Mg=mg)
        drive = TimedArray(np.r_[np.zeros(10), np.ones(3), np.zeros(70)] * 100 * pA, dt=1 * ms)
        group.run_regularly("I_ext_d = drive(t)", when="start")
        mon = StateMonitor(group, ["v_d", "I_pl_d"], record=0)
        Network(group, mon).run(80 * ms, namespace={"drive": drive})
        out[float(mg / mM)] = (mon.v_d[0] / mV, mon.I_pl_d[0] / pA, float(group.t_pl_d[0] / ms))
    v, I_pl, t_on = out[1.0]
    k = int(round(t_on / 0.1))
    assert v[k] <= -50 < v[k + 1]  # starts at the threshold crossing
    open_steps = np.nonzero(I_pl > 0)[0]
    assert open_steps[0] == k + 1 and len(open_steps) == 300  # lasts `duration` exactly
    assert np.all(v[k + 1:k + 301] > -50)  # self-sustained while open (Mg block relieved)
    assert v[-1] < v[k + 300] - 15  # and decays after it
    v_blocked = out[50.0][0]
    assert v_blocked[k + 150] < -60  # 50 mM Mg blocks the same plateau conductance
