"""The stable public names of ``brian_dendrites``."""

import subprocess
import sys

import pytest

import brian_dendrites as bd

STABLE = {
    "models": "brian_dendrites.models",
    "Param": "brian_dendrites.spec",
    "Update": "brian_dendrites.spec",
    "NeuronModel": "brian_dendrites.spec",
    "SynapseModel": "brian_dendrites.spec",
    "Simulation": "brian_dendrites.engine.simulation",
    "RunResult": "brian_dendrites.engine.simulation",
    "Session": "brian_dendrites.engine.session",
    "DivergenceError": "brian_dendrites.engine.session",
    "SweepInterrupted": "brian_dendrites.sweep",
    "sweep": "brian_dendrites.sweep",
    "NetworkSpec": "brian_dendrites.sweep",
    "Circuit": "brian_dendrites.circuits.base",
    "Learner": "brian_dendrites.learners.base",
    "DendriticMicrocircuitRegressor": "brian_dendrites.learners.microcircuit",
    "SteadyStateMicrocircuitClassifier": "brian_dendrites.learners.steady_state",
    "check_neuron_model": "brian_dendrites.testing",
    "check_synapse_model": "brian_dendrites.testing",
}


@pytest.mark.parametrize("name", sorted(STABLE))
def test_stable_name_importable(name):
    obj = getattr(bd, name)
    module = getattr(obj, "__name__", None) if name == "models" else obj.__module__
    assert module == STABLE[name]
    assert name in bd.__all__


def test_all_is_importable():
    missing = [n for n in bd.__all__ if not hasattr(bd, n)]
    assert not missing
    assert set(STABLE) | {"__version__", "test"} <= set(bd.__all__)
    assert set(bd.__all__) <= set(dir(bd))


def test_sweep_is_the_function_whatever_was_imported_first():
    import brian_dendrites.sweep  # noqa: F401  (the submodule)
    from brian_dendrites import sweep

    assert callable(sweep) and sweep.__module__ == "brian_dendrites.sweep"
    assert bd.sweep is sys.modules["brian_dendrites.sweep"].sweep


def test_unknown_name_is_an_attribute_error():
    with pytest.raises(AttributeError, match="no attribute 'not_there'"):
        bd.not_there  # noqa: B018


def test_version_is_a_string():
    assert isinstance(bd.__version__, str) and bd.__version__.count(".") >= 1


def test_models_is_the_model_library():
    import brian_dendrites.models as models

    assert bd.models is models
    assert isinstance(models.pyramidal_neuron(), bd.NeuronModel)


def test_test_function_runs_pytest():
    """``brian_dendrites.test()`` runs pytest (here on one quick test, in a subprocess)."""
    code = ("import sys, brian_dendrites; "
            "sys.exit(brian_dendrites.test('-q', '-p', 'no:cacheprovider', '-k', "
            "'test_version_is_a_string'))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-2000:]
    assert "1 passed" in out.stdout
    with pytest.raises(TypeError, match="pytest_args"):
        bd.test(1)
