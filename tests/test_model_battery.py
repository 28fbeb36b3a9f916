"""Every model of the library passes its battery on numpy and cpp_standalone; the
neuron batteries run on cython too in the slow suite (Cython's first compile costs
~20 s per code object: 3-5 minutes of a fresh CI run for the library).
"""

import pytest
from brian2 import Hz, ms

import brian_dendrites.models as models
from brian_dendrites.spec import Param, SynapseModel
from brian_dendrites.testing import check_neuron_model, check_synapse_model, synapse_interface

#: parameter values for the battery: they make stochastic models deterministic across
#: targets (each target has its own random generator), or let a parameter act on the
#: battery's random states
DETERMINISTIC = {
    "urbanczik_senn": dict(phi_max=0 * Hz),
    "pyramidal_spiking": dict(r_max=1e-9 * Hz),  # spikes with probability ~1e-13 per step
    "dgn_branch": dict(w_clip=0.5),  # the clip binds on random biases, so it can act
    "dgn_input": dict(eps=0.3),  # clip at logit(0.7) = 0.85 binds on random inputs in [0, 1)
    "dgn_soma": dict(eps=0.3),
    "dfc_neuron": dict(eta_fb=0.1, learn_fb=1.0),  # both act on fb = learn_fb*eta_fb*avg
    "dfc_neuron_linear": dict(eta_fb=0.1, learn_fb=1.0),
    "dfc_neuron_held_quiet": dict(eta_fb=0.1, learn_fb=1.0),
}
SKIP = ("lastspike", "not_refractory")
#: parameters that cannot act once DETERMINISTIC has switched spiking off
INERT = {"urbanczik_senn": ("t_ref",), "pyramidal_spiking": ("r_max",),
         # tau_u sets only the noise's time unit (noise off); beta_fb acts through the
         # feedback synapses (dfc_feedback reads beta_fb_post)
         "dfc_neuron": ("tau_u", "beta_fb"), "dfc_neuron_linear": ("tau_u", "beta_fb"),
         "dfc_neuron_held_quiet": ("beta_fb",)}


#: Models of one circuit that tests/test_dgn.py compiles together on cpp_standalone (against
#: the NumPy reference): their default-suite batteries run on numpy only (one compile instead
#: of seven); the slow suite runs them on every target.
DGN_MODELS = {"dgn_branch", "dgn_input", "dgn_input_identity", "dgn_soma", "dgn_soma_identity",
              "side_information", "dgn_rule", "dgn_rule_masked", "branch_to_soma"}


#: Likewise for Deep Feedback Control (tests/test_dfc.py, the circuit-equality test).
DFC_MODELS = {"dfc_neuron", "dfc_neuron_linear", "dfc_neuron_held_quiet", "dfc_input", "dfc_controller",
              "dfc_controller_xent", "dfc_forward", "dfc_forward_held", "dfc_feedback", "dfc_softmax"}


def _default_targets(name):
    return ("numpy",) if name in DGN_MODELS | DFC_MODELS else ("numpy", "cpp_standalone")


@pytest.mark.parametrize("targets", [None,
                                     pytest.param(("numpy", "cython", "cpp_standalone"),
                                                  marks=pytest.mark.slow)],
                         ids=["numpy-standalone", "all-targets"])
@pytest.mark.parametrize("name", sorted(models.NEURON_MODELS))
def test_model_battery(name, targets, cache_dir):
    model = models.NEURON_MODELS[name]()
    targets = targets or _default_targets(name)
    results = check_neuron_model(model, targets=targets, overrides=DETERMINISTIC.get(name),
                                 cache_dir=cache_dir, duration=2 * ms, skip=SKIP,
                                 inert=INERT.get(name, ()))
    assert set(results) == set(targets)


def test_one_model_battery_on_cython_in_the_default_suite(cache_dir):
    """Brian's default runtime target stays covered by the default suite (one small model)."""
    results = check_neuron_model(models.low_pass_input(), cache_dir=cache_dir, duration=2 * ms)
    assert set(results) == {"numpy", "cython", "cpp_standalone"}


def test_battery_catches_a_target_mismatch(cache_dir, monkeypatch):
    """The battery can fail: a 1e-6 relative error on one target is caught."""
    from brian_dendrites import engine

    original = engine.Simulation.run

    def perturbed(self, values=None, read=None):
        res = original(self, values, read)
        if self.target == "cpp_standalone":
            res._values["g.u"] = res._values["g.u"] * (1 + 1e-6)
        return res

    monkeypatch.setattr(engine.Simulation, "run", perturbed)
    with pytest.raises(AssertionError, match="g.u differs between numpy and cpp_standalone"):
        check_neuron_model(models.sst_interneuron(), targets=("numpy", "cpp_standalone"),
                           cache_dir=cache_dir, duration=2 * ms)


#: Where the units of the pre/post variables a synapse model reads come from.
SYNAPSE_PARTNERS = {
    "urbanczik_senn_rate": dict(post_model=models.urbanczik_senn_neuron(), units={"r_pre": Hz}),
    "urbanczik_senn_spiking": dict(post_model=models.urbanczik_senn_neuron()),
}


@pytest.mark.parametrize("name", sorted(models.SYNAPSE_MODELS))
def test_synapse_model_battery(name, cache_dir):
    model = models.SYNAPSE_MODELS[name]()
    targets = _default_targets(name)
    results = check_synapse_model(model, targets=targets, cache_dir=cache_dir,
                                  **SYNAPSE_PARTNERS.get(name, {}))
    assert set(results) == set(targets)
    if "w" in model.to_equations():  # a projection with weights
        assert results["numpy"]["syn.w"].size == 6  # 3 x 2, all to all


def test_synapse_interface_reads_units_from_the_partner_model():
    face = synapse_interface(models.urbanczik_senn_spiking_synapse(),
                             post_model=models.urbanczik_senn_neuron())
    assert face["pre"] == {}
    assert str(face["post"]["h_V"]) == str((1 / models.urbanczik_senn_neuron()["beta"]).dim ** -1)
    with pytest.raises(ValueError, match="not pre/post identifiers"):
        synapse_interface(models.static_pathway(), units={"x_pre": Hz})
    with pytest.raises(TypeError, match="SynapseModel"):
        check_synapse_model(models.sst_interneuron())


def test_synapse_battery_catches_a_target_mismatch(cache_dir, monkeypatch):
    """The synapse battery can fail: a 1e-6 relative error in the weights is caught."""
    from brian_dendrites import engine

    original = engine.Simulation.run

    def perturbed(self, values=None, read=None):
        res = original(self, values, read)
        if self.target == "cpp_standalone":
            res._values["syn.w"] = res._values["syn.w"] * (1 + 1e-6)
        return res

    monkeypatch.setattr(engine.Simulation, "run", perturbed)
    with pytest.raises(AssertionError, match="syn.w differs between numpy and cpp_standalone"):
        check_synapse_model(models.steady_state_rule(), cache_dir=cache_dir)


def test_synapse_battery_catches_a_parameter_that_changes_nothing():
    """A parameter the equations ignore (a namespace-constant in disguise) fails the battery."""
    broken = SynapseModel("broken_rule", "dw/dt = 0.5*err_post*r_pre/ms : 1 (clock-driven)\n"
                                         "I_post = w*r_pre : 1 (summed)",
                          params=[Param("eta", 1.0 / ms, "ignored learning rate")])
    with pytest.raises(AssertionError, match="eta has no effect"):
        check_synapse_model(broken, targets=("numpy",))
