"""Every neuron model of the library passes the model battery on all three targets."""

import pytest
from brian2 import Hz, ms

import brian_dendrites.models as models
from brian_dendrites.testing import check_neuron_model

#: parameter values that make stochastic models deterministic across targets
#: (each target has its own random generator)
DETERMINISTIC = {
    "urbanczik_senn": dict(phi_max=0 * Hz),
    "pyramidal_spiking": dict(r_max=1e-9 * Hz),  # spikes with probability ~1e-13 per step
}
SKIP = ("lastspike", "not_refractory")


@pytest.mark.parametrize("name", sorted(models.NEURON_MODELS))
def test_model_battery(name, cache_dir):
    model = models.NEURON_MODELS[name]()
    results = check_neuron_model(model, overrides=DETERMINISTIC.get(name), cache_dir=cache_dir,
                                 duration=2 * ms, skip=SKIP)
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
