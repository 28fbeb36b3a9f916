"""Tests of brian_dendrites._validation: one exception type per kind of mistake.

Types -> TypeError, units -> brian2.DimensionMismatchError, values -> ValueError;
every message names the argument.
"""
import numpy as np
import pytest
from brian2 import DimensionMismatchError, Hz, Quantity, ms, mV, second

from brian_dendrites import _validation as v


@pytest.mark.parametrize("value,expected", [(3, 3), (np.int64(4), 4), (0, 0)])
def test_check_int_accepts_integers(value, expected):
    out = v.check_int(value, "n", minimum=0)
    assert out == expected and type(out) is int


@pytest.mark.parametrize("value", [True, np.bool_(False), 2.0, 2.5, "3", None, np.array([1])])
def test_check_int_type_errors(value):
    with pytest.raises(TypeError, match="n_samples: expected an integer"):
        v.check_int(value, "n_samples", minimum=1)


def test_check_int_range_errors():
    with pytest.raises(ValueError, match=r"n_samples: expected an integer >= 1, got 0"):
        v.check_int(0, "n_samples", minimum=1)
    with pytest.raises(ValueError, match=r"k: expected an integer in \[0, 3\]"):
        v.check_int(4, "k", minimum=0, maximum=3)


def test_check_real_and_variants():
    assert v.check_real(np.float32(0.5), "x") == 0.5
    assert v.check_real(np.array(2.0), "x") == 2.0
    assert v.check_real(Quantity(3.0), "x") == 3.0  # dimensionless Quantity
    assert v.check_positive(1e-9, "dt") == 1e-9
    assert v.check_nonnegative(0, "eta") == 0.0
    assert v.check_probability(1, "lam_A") == 1.0
    assert v.check_real(np.inf, "x", finite=False) == np.inf
    for bad in ("0.1", None, True, [0.1], np.ones(2)):
        with pytest.raises(TypeError, match="g_B: expected a real number"):
            v.check_real(bad, "g_B")
    with pytest.raises(DimensionMismatchError, match="g_B: expected a dimensionless"):
        v.check_real(1 / ms, "g_B")
    for func, bad, match in ((v.check_real, np.nan, "finite"), (v.check_real, np.inf, "finite"),
                             (v.check_positive, 0.0, "> 0"), (v.check_nonnegative, -1, ">= 0"),
                             (v.check_probability, 1.5, r"in \[0, 1\]")):
        with pytest.raises(ValueError, match=f"arg: expected .*{match}"):
            func(bad, "arg")
    with pytest.raises(ValueError, match=r"momentum: expected a number in \[0, 1\)"):
        v.check_real(1.0, "momentum", 0, 1, high_open=True)


def test_check_bool_and_seed():
    assert v.check_bool(np.bool_(True), "plastic") is True
    with pytest.raises(TypeError, match="plastic: expected True or False"):
        v.check_bool(1, "plastic")
    assert v.check_seed(None) is None and v.check_seed(np.int32(7)) == 7
    with pytest.raises(TypeError, match="seed"):
        v.check_seed(None, allow_none=False)
    with pytest.raises(TypeError, match="seed"):
        v.check_seed(1.5)
    with pytest.raises(ValueError, match="seed"):
        v.check_seed(-1)
    assert v.check_seed(2**32 - 1) == 2**32 - 1
    with pytest.raises(ValueError, match=r"seed: expected an integer in \[0, 4294967295\]"):
        v.check_seed(2**32)  # Brian2's seed() takes 32 bits: refused here, not at the first run


def test_check_choice_suggests_and_types():
    assert v.check_choice("tanh", "activation", ["logistic", "tanh"]) == "tanh"
    assert v.check_choice(None, "output_activation", ["softmax", None]) is None
    with pytest.raises(ValueError, match=r"activation: unknown value 'logistc'.*"
                                         r"did you mean 'logistic'\?"):
        v.check_choice("logistc", "activation", ["logistic", "tanh"])
    with pytest.raises(ValueError, match="mode: unknown value 'zzz'") as info:
        v.check_choice("zzz", "mode", ["rate", "spiking"])
    assert "did you mean" not in str(info.value)
    with pytest.raises(TypeError, match="mode: expected one of"):
        v.check_choice(3, "mode", ["rate", "spiking"])
    with pytest.raises(TypeError, match="mode"):
        v.check_choice(["rate"], "mode", ["rate"])  # unhashable


def test_check_layers():
    assert v.check_layers((3, np.int64(4), 2)) == [3, 4, 2]
    for bad, match in (("32", "layers: expected a sequence"), (5, "layers: expected a sequence"),
                       ([3, 2.0], r"layers\[1\]: expected an integer")):
        with pytest.raises(TypeError, match=match):
            v.check_layers(bad)
    with pytest.raises(ValueError, match="layers_teacher: expected at least 2"):
        v.check_layers([3], "layers_teacher")
    with pytest.raises(ValueError, match=r"layers\[1\]: expected an integer >= 1"):
        v.check_layers([3, 0, 2])


def test_check_array_and_data():
    a = v.check_array([[1, 2]], "X", ndim=2, shape=(None, 2))
    assert a.dtype == float and a.shape == (1, 2)
    assert v.check_array([], "x", allow_empty=True).size == 0
    assert np.isnan(v.check_array([np.nan], "x", allow_nan=True)[0])
    with pytest.raises(TypeError, match="X: expected a numeric array"):
        v.check_array("abc", "X")
    with pytest.raises(TypeError, match="X: expected a numeric array"):
        v.check_array([[1, 2], [3]], "X")  # ragged
    with pytest.raises(DimensionMismatchError, match="X"):
        v.check_array(np.ones(3) * mV, "X")
    for text in (["1.5", "2"], np.array([1, "a"], dtype=object), [b"1"]):
        with pytest.raises(TypeError, match="X: expected a numeric array, got text"):
            v.check_array(text, "X")  # NumPy would convert numeric strings silently
    for cplx in (np.ones(2) + 1j, [1, 2j], np.array([1, 1j], dtype=object)):
        with pytest.raises(TypeError, match="X: expected real numbers, got complex"):
            v.check_array(cplx, "X")  # NumPy would drop the imaginary part with a warning
    assert v.check_array(np.array([1, 2.5], dtype=object), "X").dtype == float
    for kwargs, match in ((dict(a=np.ones(3), ndim=2), "expected a 2-D array"),
                          (dict(a=np.ones((2, 3)), shape=(None, 4)), r"expected shape \(any, 4\)"),
                          (dict(a=np.ones(3), shape=(4,)), r"expected shape \(4,\)"),
                          (dict(a=np.ones((0, 3))), "array is empty"),
                          (dict(a=[1.0, np.inf]), "contains NaN or infinite")):
        with pytest.raises(ValueError, match=f"X: {match}"):
            v.check_array(name="X", **kwargs)
    X, Y = v.check_XY(np.ones((4, 3)), np.zeros((4, 2)), n_in=3, n_out=2)
    assert X.shape == (4, 3) and Y.shape == (4, 2)
    with pytest.raises(ValueError, match=r"U_tgt: expected shape \(4, 2\)"):
        v.check_XY(np.ones((4, 3)), np.zeros((5, 2)), 3, 2, names=("X", "U_tgt"))
    with pytest.raises(ValueError, match=r"X: expected shape \(any, 2\)"):
        v.check_XY(np.ones((4, 3)), np.zeros((4, 2)), n_in=2)


def test_check_weight_chain_and_labels():
    Ws = v.check_weight_chain([np.ones((2, 3)), np.ones((1, 2))])
    assert [w.shape for w in Ws] == [(2, 3), (1, 2)]
    with pytest.raises(TypeError, match="weights: expected a list"):
        v.check_weight_chain(np.ones((2, 3)))
    with pytest.raises(ValueError, match="weights: expected a non-empty list"):
        v.check_weight_chain([])
    with pytest.raises(ValueError, match=r"weights\[1\]: expected 2 columns"):
        v.check_weight_chain([np.ones((2, 3)), np.ones((1, 3))])
    assert v.check_labels([1.0, 0.0]).tolist() == [1, 0]
    for bad, match in (([], "empty"), ([[0]], "1-D"), ([0, -1], ">= 0"), ([0.5], "integer"),
                       (["a"], "integer")):
        with pytest.raises(ValueError, match=f"y: .*{match}"):
            v.check_labels(bad)
    with pytest.raises(ValueError, match="n_classes=2"):
        v.check_labels([0, 2], n_classes=2)
    with pytest.raises(ValueError, match="y_val: expected 3 labels"):
        v.check_labels([0, 1], "y_val", n=3)


def test_check_per_layer():
    assert v.check_per_layer(0.1, 3, "eta_PP") == [0.1] * 3
    assert v.check_per_layer(np.array([0.1, 0.2]), 2, "eta_PP") == [0.1, 0.2]
    assert v.check_per_layer([1 / ms, 2 / ms], 2, "eta_PP", check=v.check_rate)[1] == 2 / ms
    with pytest.raises(ValueError, match="eta_PP: expected a scalar or 3 values"):
        v.check_per_layer([0.1, 0.2], 3, "eta_PP")
    with pytest.raises(ValueError, match=r"eta_PP\[1\]: expected .*>= 0"):
        v.check_per_layer([0.1, -0.2], 2, "eta_PP")
    with pytest.raises(TypeError, match="eta_PP"):
        v.check_per_layer("0.1", 2, "eta_PP")


def test_check_time_and_rate():
    assert v.check_time(100 * ms, "t_pattern") == 100 * ms
    assert v.check_time(0 * ms, "t_start", positive=False) == 0 * ms
    assert v.check_rate(0.1 / ms, "g_L") == 100 * Hz
    assert v.check_rate(0 * Hz, "eta_PI") == 0 * Hz
    with pytest.raises(TypeError, match=r"t_pattern: expected a time \(e.g. 100\*ms\), a Brian2 "
                                        "Quantity"):
        v.check_time(100, "t_pattern")
    with pytest.raises(TypeError, match=r"g_L: expected a rate in 1/time \(e.g. 0.1/ms\)"):
        v.check_rate(0.1, "g_L")
    with pytest.raises(DimensionMismatchError, match="t_pattern: expected a time"):
        v.check_time(10 * Hz, "t_pattern")
    with pytest.raises(DimensionMismatchError, match="eta_PP: expected a rate"):
        v.check_rate(1 * ms, "eta_PP")
    with pytest.raises(DimensionMismatchError, match="g_L"):
        v.check_rate(Quantity(0.1), "g_L")  # dimensionless Quantity
    for func, bad, match in ((v.check_time, 0 * ms, "> 0"), (v.check_time, -1 * ms, "> 0"),
                             (v.check_rate, -1 * Hz, ">= 0"), (v.check_rate, np.nan * Hz, "finite"),
                             (v.check_time, np.inf * second, "finite"),
                             (v.check_rate, np.ones(2) * Hz, "scalar")):
        with pytest.raises(ValueError, match=f"x: expected .*{match}"):
            func(bad, "x")
    with pytest.raises(ValueError, match="> 0"):
        v.check_rate(0 * Hz, "r_max", positive=True)


def test_plain_numbers_or_quantities_in_ms():
    assert v.check_rate_ms(0.1, "g_L") == 0.1
    assert v.check_rate_ms(0.1 / ms, "g_L") == pytest.approx(0.1, rel=1e-15)
    assert v.check_time_ms(30 * ms, "tau_w") == pytest.approx(30.0, rel=1e-15)
    assert v.check_time_ms(0.1, "dt") == 0.1
    with pytest.raises(DimensionMismatchError, match="tau_w: expected a time"):
        v.check_time_ms(30 * Hz, "tau_w")
    with pytest.raises(ValueError, match="g_B"):
        v.check_rate_ms(0.0, "g_B", positive=True)
    with pytest.raises(ValueError, match="dt"):
        v.check_time_ms(-0.1 * ms, "dt")
    with pytest.raises(TypeError, match="eta_IP"):
        v.check_rate_ms("0.1", "eta_IP")
