"""Model specifications: validation of parameters, names and units."""

import numpy as np
import pytest
from brian2 import DimensionMismatchError, mV, ms, nS

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
    m = models.SYNAPSE_MODELS[name]()
    eqs = m.to_equations()
    summed = [e for e in eqs.values() if "summed" in e.flags]
    assert len(summed) + bool(m.on_pre) >= 1
    assert len(summed) <= 1


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
