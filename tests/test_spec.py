"""Model specifications: validation of parameters, names and units."""

import numpy as np
import pytest
from brian2 import DimensionMismatchError, ms, mV, nS

import brian_dendrites.models as models
from brian_dendrites.spec import NeuronModel, Param, SynapseModel, substitute_expression


@pytest.mark.parametrize("name", sorted(models.NEURON_MODELS))
def test_every_neuron_model_parses_and_declares_parameters_as_variables(name):
    m = models.NEURON_MODELS[name]()
    eqs = m.to_equations()
    for p in m.params:
        assert p in eqs.names, f"{name}: parameter {p} is not a variable"
        assert "constant" in eqs[p].flags
    assert m.reference, f"{name} must cite its source"


@pytest.mark.parametrize("name", sorted(models.SYNAPSE_MODELS))
def test_every_synapse_model_has_one_summed_pathway_or_event(name):
    """At most one summed pathway per direction: onto post, and back onto pre (DGN's error)."""
    m = models.SYNAPSE_MODELS[name]()
    eqs = m.to_equations()
    summed = [e for e in eqs.values() if "summed" in e.flags]
    assert len(summed) + bool(m.on_pre) >= 1
    onto_post = [e for e in summed if e.varname.endswith("_post")]
    onto_pre = [e for e in summed if e.varname.endswith("_pre")]
    assert len(onto_post) <= 1 and len(onto_pre) <= 1 and len(summed) == len(onto_post) + len(onto_pre)


def test_with_params_returns_new_model_and_keeps_the_old():
    m = models.pyramidal_neuron()
    m2 = m.with_params(g_A=0.5 / ms)
    assert float(m2["g_A"]) == pytest.approx(500.0)
    assert float(m["g_A"]) == pytest.approx(800.0)


def test_unknown_parameter_name_is_named_with_a_suggestion():
    with pytest.raises(KeyError, match="g_B.*Known parameters"):
        models.pyramidal_neuron().with_params(g_BB=1 / ms)


def test_wrong_units_raise_dimension_mismatch():
    with pytest.raises(DimensionMismatchError, match="g_B"):
        models.pyramidal_neuron().with_params(g_B=1 * mV)
    with pytest.raises(DimensionMismatchError, match="tau_syn"):
        models.urbanczik_senn_neuron().with_params(tau_syn=3 * nS)


def test_negative_time_constant_and_capacitance_rejected():
    with pytest.raises(ValueError, match="tau_syn.*> 0"):
        models.urbanczik_senn_neuron().with_params(tau_syn=-3 * ms)
    with pytest.raises(ValueError, match="tau_w.*> 0"):
        models.dendritic_prediction_rule().with_params(tau_w=0 * ms)
    with pytest.raises(ValueError, match="g_L.*>= 0"):
        models.pyramidal_neuron().with_params(g_L=-0.1 / ms)


def test_nan_and_non_numbers_rejected():
    with pytest.raises(ValueError, match="finite"):
        models.pyramidal_neuron().with_params(g_B=np.nan / ms)
    with pytest.raises(TypeError, match="g_B"):
        models.pyramidal_neuron().with_params(g_B="1/ms")


def test_shared_parameter_rejects_arrays():
    with pytest.raises(ValueError, match="shared"):
        models.pyramidal_neuron().with_params(g_B=np.ones(3) / ms)


def test_make_group_validates_size_and_overrides():
    m = models.sst_interneuron()
    with pytest.raises(ValueError, match="N must be a positive integer"):
        m.make_group(0)
    with pytest.raises(KeyError, match="g_X"):
        m.make_group(2, g_X=1 / ms)
    g = m.make_group(2, g_D=2 / ms)
    assert float(g.g_D[:]) == pytest.approx(2000.0)


def test_param_declaration_and_bounds():
    p = Param("tau", 10 * ms, bounds="positive")
    assert p.declaration() == "tau : second (shared, constant)"
    with pytest.raises(ValueError, match="bounds"):
        Param("tau", 10 * ms, bounds="sometimes")
    with pytest.raises(DimensionMismatchError):
        Param("beta", 1 / mV, unit="volt")


def test_model_definition_errors_surface_at_definition():
    with pytest.raises(Exception, match="broken"):
        NeuronModel("broken", "du/dt = -u/tau : 1\nu : 1")
    with pytest.raises(ValueError, match="declared twice"):
        SynapseModel("s", "w : 1", params=[Param("a", 1.0), Param("a", 2.0)])


def test_activation_lookup_and_substitution():
    assert models.activation("logistic", "u") == "1/(1 + exp(-u))"
    assert substitute_expression("exp(x) + x2", x="v") == "exp(v) + x2"
    with pytest.raises(ValueError, match="unknown name 'sigmoidal'"):
        models.activation("sigmoidal")


def test_printing_shows_the_equations_that_run():
    text = str(models.pyramidal_neuron())
    assert "du/dt = -g_L*u + g_B*(v_B - u)" in text
    assert "g_B : hertz (shared, constant)" in text
    assert "e_B = r -" in text


def test_pathway_names_are_validated():
    with pytest.raises(ValueError, match="target"):
        models.dendritic_prediction_rule(target="v B")
    m = models.dendritic_prediction_rule(target="v_A_int", error="e_A", pre_rate="r")
    assert "v_A_int_post = w*r_pre" in m.equations
    assert "e_A_post" in m.equations


# --------------------------------------------------------------------------
# print(model): everything that runs, non-equation lines commented
# --------------------------------------------------------------------------
ALL_MODELS = [("neuron", k) for k in sorted(models.NEURON_MODELS)] + \
    [("synapse", k) for k in sorted(models.SYNAPSE_MODELS)]


@pytest.mark.parametrize("kind,name", ALL_MODELS)
def test_printout_without_comments_is_the_brian2_equations(kind, name):
    from brian2 import Equations

    registry = models.NEURON_MODELS if kind == "neuron" else models.SYNAPSE_MODELS
    m = registry[name]()
    text = str(m)
    stripped = "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("#"))
    assert Equations(stripped) == Equations(m.equations_text())
    assert Equations(stripped) == m.to_equations()
    for section in ("# --- equations ---", "# --- per-step updates" if m.updates else "",
                    "# --- parameter values" if m.params else ""):
        assert section in text
    for u in m.updates:  # every line of multi-line code is commented
        for line in u.code.splitlines():
            assert f"#     {line.strip()}" in text or f"): {line.strip()}" in text
    if kind == "neuron":
        assert "# threshold:" in text and "# reset:" in text and "# refractory:" in text
        if m.threshold:
            assert str(m.threshold) in text
    else:
        assert "# on_pre:" in text and "# on_post:" in text


def test_printout_shows_pathways_events_and_display_units():
    spiking = str(models.urbanczik_senn_spiking_synapse())
    assert "#     I_dend_post += w" in spiking and "#     psp_s += 1" in spiking
    assert "# on_post: Delta += h_V_post*(psp_L - psp_s)/tau_Delta" in spiking
    assert "eta       = 4.5*pA*mV (>= 0)  learning rate" in spiking
    neuron = str(models.urbanczik_senn_neuron())
    assert "# refractory: t_ref" in neuron and "# threshold: rand() <" in neuron
    assert "beta    = 0.333333333333/mV" in neuron and "C_m     = 300*pF (> 0)" in neuron
    pyr = str(models.pyramidal_neuron())
    assert "# g_L   = 0.1/ms (>= 0)  somatic leak conductance" in pyr
    assert "# errors (when='groups', order=-0.5):\n#     e_B = r -" in pyr
    assert "#     e_A = -v_A" in pyr
    poisson = str(models.NEURON_MODELS["pyramidal_spiking"]())
    assert "# reset: x += 1/(r_max*tau_x)" in poisson


def test_param_display_unit():
    p = Param("g", 0.1 / ms, display_unit="1/second")
    assert p.format(p.default) == "100/second"
    assert Param("tau", 10 * ms).format(20 * ms) == "20*ms"
    with pytest.raises(DimensionMismatchError, match="display_unit"):
        Param("tau", 10 * ms, display_unit="mV")
    with pytest.raises(TypeError, match="display_unit"):
        Param("tau", 10 * ms, display_unit=3)


def test_update_is_validated():
    from brian_dendrites.spec import Update

    with pytest.raises(ValueError, match="when must be one of"):
        Update("x = 1", when="sometime")
    with pytest.raises(ValueError, match="order must be a finite number"):
        Update("x = 1", order=np.nan)
    with pytest.raises(TypeError, match="code"):
        Update("")
    with pytest.raises(ValueError, match="identifier"):
        Update("x = 1", name="two words")
    with pytest.raises(ValueError, match="declared twice"):
        NeuronModel("n", "x : 1", updates=[Update("x = 1", name="a"), Update("x = 2", name="a")])


def test_update_orders_install_named_updates_at_other_slots():
    m = models.steady_state_pyramidal()
    g = m.make_group(2, name="ss_pyr_orders",
                     update_orders={"top_down": ("groups", 7), "bottom_up": ("start", 2)})
    slots = {o.name: (o.when, o.order) for o in g.contained_objects}
    assert slots["ss_pyr_orders_top_down"] == ("groups", 7)
    assert slots["ss_pyr_orders_bottom_up"] == ("start", 2)
    default = {o.name: (o.when, o.order) for o in m.make_group(2, name="ss_pyr_d").contained_objects}
    assert default["ss_pyr_d_bottom_up"] == ("groups", 0)
    with pytest.raises(KeyError, match="no update named 'bottomup'.*bottom_up, top_down"):
        m.make_group(2, update_orders={"bottomup": ("groups", 1)})
    with pytest.raises(TypeError, match="tuple"):
        m.make_group(2, update_orders={"bottom_up": 3})
    with pytest.raises(ValueError, match="when must be one of"):
        m.make_group(2, update_orders={"bottom_up": ("later", 3)})
    with pytest.raises(TypeError, match="mapping"):
        m.make_group(2, update_orders=[("bottom_up", ("groups", 1))])


# --------------------------------------------------------------------------
# make_synapses without connect: per-synapse values are never dropped silently
# --------------------------------------------------------------------------
def _per_synapse_model():
    from brian_dendrites.spec import Update

    return SynapseModel("gain_pathway", "w : 1\nI_post = gain*w*r_pre : 1 (summed)",
                        params=[Param("gain", 2.0, "per-synapse gain", shared=False),
                                Param("eta", 0.5, "shared rate")],
                        updates=[Update("w = w + eta", when="start", name="grow")])


def _pair(tag):
    from brian2 import NeuronGroup

    return (NeuronGroup(3, "r : 1", name=f"pre_{tag}"),
            NeuronGroup(3, "I : 1", name=f"post_{tag}"))


def test_make_synapses_without_connect_rejects_parameter_values():
    m = _per_synapse_model()
    pre, post = _pair("a")
    with pytest.raises(ValueError, match="gain cannot be set before the synapses are connected"):
        m.make_synapses(pre, post, gain=3.0)
    with pytest.raises(ValueError, match="model.install"):
        m.make_synapses(pre, post, eta=3.0)
    with pytest.raises(TypeError, match="connect"):
        m.make_synapses(pre, post, connect="all")


def test_install_after_connect_sets_values_and_updates():
    from brian2.utils.logger import catch_logs

    m = _per_synapse_model()
    pre, post = _pair("b")
    with catch_logs(only_from=("brian_dendrites",)) as logs:
        syn = m.make_synapses(pre, post, name="gain_syn")
    assert any("model.install(syn)" in msg for _, _, msg in logs)
    with pytest.raises(ValueError, match="not connected"):
        m.install(syn)
    syn.connect(j="i")
    with pytest.raises(ValueError, match="not made from"):
        models.dendritic_prediction_rule().install(syn)
    assert m.install(syn, gain=np.array([1.0, 2.0, 3.0]), eta=0.125) is syn
    assert list(syn.gain[:]) == [1.0, 2.0, 3.0] and float(syn.eta[:]) == 0.125
    assert "gain_syn_grow" in [o.name for o in syn.contained_objects]
    with pytest.raises(ValueError, match="already"):
        m.install(syn)
    with pytest.raises(TypeError, match="Synapses"):
        m.install(pre)
