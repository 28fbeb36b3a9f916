"""The NumPy activations (brian_dendrites.activations) against the Brian2 expressions.

Each NumPy phi must equal the expression of brian_dendrites.models.ACTIVATIONS
as Brian2 evaluates it (numpy target, no compilation); phi' must match a
central finite difference and phi^{-1}(phi(u)) = u on the invertible range.
"""
import numpy as np
import pytest
from brian2 import NeuronGroup, prefs

import brian_dendrites.models as models
from brian_dendrites import activations as act

#: potentials where phi is compared with Brian2 (both sides of every kink and
#: far into the saturating tails)
GRID = np.concatenate([np.linspace(-40.0, 40.0, 801), [-1e-9, 0.0, 1e-9, 3.0, 700.0]])


@pytest.fixture(scope="module")
def brian2_values():
    """Name -> Brian2's value of the activation expression on GRID (numpy target)."""
    old = prefs.codegen.target
    prefs.codegen.target = "numpy"
    try:
        out = {}
        for name in models.ACTIVATIONS:
            group = NeuronGroup(len(GRID), "x : 1\nr : 1", name=f"phi_{name}")
            group.x = GRID
            group.r = models.activation(name, "x")  # code generation, evaluated by Brian2
            out[name] = np.asarray(group.r[:])
        return out
    finally:
        prefs.codegen.target = old


def test_same_names_as_the_brian2_library():
    assert set(act.ACTIVATIONS) == set(models.ACTIVATIONS)


@pytest.mark.parametrize("name", sorted(models.ACTIVATIONS))
def test_numpy_phi_equals_brian2_expression(name, brian2_values):
    with np.errstate(over="ignore"):
        numpy_values = act.ACTIVATIONS[name].phi(GRID)
    # atol: the Brian2 softplus writes log(1 + exp(-|y|)), which is 0 where NumPy's
    # logaddexp (log1p) still resolves ~1e-20; rates are O(0.1), so 1e-15 is round-off
    np.testing.assert_allclose(numpy_values, brian2_values[name], rtol=1e-12, atol=1e-15,
                               err_msg=name)


@pytest.mark.parametrize("name", sorted(models.ACTIVATIONS))
def test_derivative_matches_finite_difference(name):
    phi, prime, _ = act.get_activation(name)
    u = np.linspace(-8.0, 8.0, 161)
    u = u[np.abs(u) > 1e-3]  # away from relu's kink
    h = 1e-6
    numeric = (phi(u + h) - phi(u - h)) / (2 * h)
    np.testing.assert_allclose(prime(u), numeric, rtol=1e-6, atol=1e-9, err_msg=name)


@pytest.mark.parametrize("name,low,high", [("softplus_sacramento", -20.0, 40.0),
                                           ("logistic", -20.0, 20.0), ("tanh", -8.0, 8.0),
                                           ("linear", -50.0, 50.0)])
def test_inverse_undoes_phi(name, low, high):
    phi, _, inverse = act.get_activation(name)
    u = np.linspace(low, high, 241)
    # the inverse is as accurate as phi(u) is distinguishable from its limits
    np.testing.assert_allclose(inverse(phi(u)), u, rtol=1e-6, atol=1e-6, err_msg=name)


def test_relu_has_no_inverse_and_softplus_inverse_domain():
    with pytest.raises(ValueError, match="relu is not invertible"):
        act.ACTIVATIONS["relu"].inverse(np.array([0.5]))
    with pytest.raises(ValueError, match="rates must be > 0"):
        act.softplus_sacramento_inverse(np.array([0.1, 0.0]))


def test_get_activation_forms():
    assert act.get_activation("tanh") is act.ACTIVATIONS["tanh"]
    assert act.get_activation(act.logistic).prime is act.logistic_prime
    custom = act.get_activation(np.sin)
    assert custom.phi is np.sin and custom.prime is None and custom.inverse is None
    pair = act.get_activation((np.sin, np.cos))
    assert pair.prime is np.cos and pair.inverse is None
    with pytest.raises(ValueError, match=r"phi: unknown value 'logistc'.*'logistic'"):
        act.get_activation("logistc")
    with pytest.raises(TypeError, match="activation"):
        act.get_activation(3, "activation")
    with pytest.raises(TypeError, match="phi: a tuple"):
        act.get_activation((np.sin, 2))


def test_reference_reexports_the_same_functions():
    from brian_dendrites import reference
    from brian_dendrites.reference import microcircuit

    assert reference.softplus_sacramento is act.softplus_sacramento
    assert reference.ACTIVATIONS is act.ACTIVATIONS
    assert reference.get_activation is act.get_activation
    # every re-exported lower-case name and constant is the activations module's
    others = {n for n in reference.__all__ if n.startswith("Reference")} | {
        "MLP", "backprop_gradients", "mlp_loss", "node_perturbation_updates",
        "weight_perturbation_updates"}
    assert set(act.__all__) >= set(reference.__all__) - others
    assert microcircuit.get_activation is act.get_activation  # one implementation
