"""Argument checks shared by the whole package: one place, one set of messages.

Every check takes the value and the argument's ``name``, returns the value
in a canonical form (``int``, ``float``, float array, Quantity, ...) and
raises with a message that names the argument and says what was expected.
The exception type follows one rule:

- ``TypeError``: the value has the wrong *type* (a string where a number is
  needed, a float where an integer is needed, a plain number where a Brian2
  Quantity with a unit is needed, ``True`` used as a count);
- ``brian2.DimensionMismatchError``: a Quantity with the wrong *unit*
  (a time where a rate is needed);
- ``ValueError``: the right type with a wrong *value* (negative, NaN or
  infinite, out of range, wrong shape, empty, unknown name).

Brian2 is imported only by the checks that need it (Quantities), so NumPy
code (:mod:`brian_dendrites.tasks`, :mod:`brian_dendrites.reference`) can
use this module without importing Brian2.

Examples
--------
>>> check_int(3, "n_samples", minimum=1)
3
>>> check_int(2.5, "n_samples")
Traceback (most recent call last):
    ...
TypeError: n_samples: expected an integer, got 2.5 (float)
>>> check_choice("logistc", "activation", ["logistic", "tanh"])
Traceback (most recent call last):
    ...
ValueError: activation: unknown value 'logistc'; expected one of ['logistic', 'tanh'] (did you mean 'logistic'?)
"""

from __future__ import annotations

import difflib
import numbers

import numpy as np

__all__ = [
    "check_int", "check_real", "check_positive", "check_nonnegative", "check_probability",
    "check_bool", "check_seed", "check_choice", "check_layers", "check_array", "check_XY",
    "check_weight_chain", "check_labels", "check_numeric", "check_per_layer", "check_quantity",
    "check_time", "check_rate", "check_rate_ms", "check_time_ms",
]


def _got(value):
    """``repr`` of a value and its type name, for messages."""
    text = repr(value)
    if len(text) > 80:
        text = text[:77] + "..."
    return f"{text} ({type(value).__name__})"


def _is_quantity(value):
    """True for a Brian2 Quantity (without importing Brian2)."""
    return hasattr(value, "dim") and isinstance(value, np.ndarray)


def _reject_dimensional(value, name):
    """Raise DimensionMismatchError if ``value`` is a Quantity with a unit."""
    if _is_quantity(value):
        from brian2 import DimensionMismatchError, get_dimensions

        dim = get_dimensions(value)
        if not dim.is_dimensionless:
            raise DimensionMismatchError(
                f"{name}: expected a dimensionless number, got {value!r}", dim)


# ---------------------------------------------------------------------------
# scalars
# ---------------------------------------------------------------------------
def check_int(value, name, minimum=None, maximum=None) -> int:
    """An integer (Python or NumPy, not ``bool``) in ``[minimum, maximum]``.

    Parameters
    ----------
    value : object
        The argument.
    name : str
        Its name, used in the message.
    minimum, maximum : int or None
        Inclusive bounds (None: unbounded).

    Returns
    -------
    int

    Raises
    ------
    TypeError
        If ``value`` is a bool or not integral (``2.0`` included).
    ValueError
        If ``value`` is out of range.
    """
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name}: expected an integer, got {_got(value)}")
    value = int(value)
    if (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
        raise ValueError(f"{name}: expected an integer {_range_text(minimum, maximum)}, "
                         f"got {value!r}")
    return value


def _range_text(low, high, low_open=False, high_open=False):
    if low is not None and high is not None:
        return f"in {'(' if low_open else '['}{low}, {high}{')' if high_open else ']'}"
    if low is not None:
        return f"{'>' if low_open else '>='} {low}"
    if high is not None:
        return f"{'<' if high_open else '<='} {high}"
    return ""


def check_real(value, name, minimum=None, maximum=None, *, low_open=False, high_open=False,
               finite=True) -> float:
    """A real, dimensionless number, optionally bounded.

    Parameters
    ----------
    value : object
        The argument: a Python/NumPy real or a 0-d array (``bool`` is refused).
    name : str
        Its name, used in the message.
    minimum, maximum : float or None
        Bounds (None: unbounded); inclusive unless ``low_open``/``high_open``.
    low_open, high_open : bool
        Exclude the bound itself (e.g. ``minimum=0, low_open=True``: > 0).
    finite : bool
        Refuse NaN and +-inf (default True).

    Returns
    -------
    float

    Raises
    ------
    TypeError
        If ``value`` is not a real number (a string, ``None``, a bool, an array).
    brian2.DimensionMismatchError
        If ``value`` is a Brian2 Quantity with a unit.
    ValueError
        If it is NaN/inf (with ``finite``) or out of range.
    """
    _reject_dimensional(value, name)
    if isinstance(value, np.ndarray) and value.ndim == 0:
        value = value[()]
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name}: expected a real number, got {_got(value)}")
    v = float(value)
    if finite and not np.isfinite(v):
        raise ValueError(f"{name}: expected a finite number, got {value!r}")
    bad_low = minimum is not None and (v < minimum or (low_open and v == minimum))
    bad_high = maximum is not None and (v > maximum or (high_open and v == maximum))
    if bad_low or bad_high:
        raise ValueError(f"{name}: expected a number "
                         f"{_range_text(minimum, maximum, low_open, high_open)}, got {value!r}")
    return v


def check_positive(value, name) -> float:
    """A finite number ``> 0`` (see :func:`check_real`)."""
    return check_real(value, name, 0, low_open=True)


def check_nonnegative(value, name) -> float:
    """A finite number ``>= 0`` (see :func:`check_real`)."""
    return check_real(value, name, 0)


def check_probability(value, name) -> float:
    """A number in ``[0, 1]`` (probabilities, mixing factors; see :func:`check_real`)."""
    return check_real(value, name, 0, 1)


def check_bool(value, name) -> bool:
    """``True`` or ``False`` (also NumPy bools); anything else is a TypeError."""
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name}: expected True or False, got {_got(value)}")
    return bool(value)


#: Seeds are below this bound (NumPy's legacy and Brian2's ``seed()`` take 32 bits).
SEED_BOUND = 2**32


def check_seed(seed, name="seed", allow_none=True):
    """A random seed: an integer in ``[0, 2**32)`` (or None when ``allow_none``).

    Returns
    -------
    int or None

    Raises
    ------
    TypeError
        If ``seed`` is not an integer (or is None without ``allow_none``).
    ValueError
        If it is negative or ``>= 2**32`` (Brian2's ``seed()`` takes 32 bits).
    """
    if seed is None and allow_none:
        return None
    if seed is None:
        raise TypeError(f"{name}: expected a non-negative integer seed, got None")
    return check_int(seed, name, minimum=0, maximum=SEED_BOUND - 1)


def check_choice(value, name, choices):
    """One of ``choices``; an unknown string gets a spelling suggestion.

    Parameters
    ----------
    value : object
    name : str
    choices : iterable
        The allowed values (usually strings; ``None`` may be among them).

    Returns
    -------
    object
        ``value`` unchanged.

    Raises
    ------
    TypeError
        If every choice is a string and ``value`` is not one.
    ValueError
        If ``value`` is not among ``choices`` (with ``difflib``'s closest
        match, if any).
    """
    choices = list(choices)
    try:
        if value in choices:
            return value
    except TypeError:  # unhashable or uncomparable
        pass
    listed = sorted(choices, key=str)
    if not isinstance(value, str):
        if all(isinstance(c, str) for c in choices):
            raise TypeError(f"{name}: expected one of {listed}, got {_got(value)}")
        raise ValueError(f"{name}: expected one of {listed}, got {value!r}")
    close = difflib.get_close_matches(value, [c for c in choices if isinstance(c, str)], n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    raise ValueError(f"{name}: unknown value {value!r}; expected one of {listed}{hint}")


# ---------------------------------------------------------------------------
# structures and data
# ---------------------------------------------------------------------------
def check_layers(layers, name="layers", min_len=2) -> list:
    """Layer sizes ``[n0, n1, ..., nL]``: at least ``min_len`` integers >= 1.

    Returns
    -------
    list of int

    Raises
    ------
    TypeError
        If ``layers`` is not a sequence (a string or a number) or a size is
        not an integer.
    ValueError
        If there are fewer than ``min_len`` sizes or a size is < 1.
    """
    if isinstance(layers, (str, bytes)) or not hasattr(layers, "__len__"):
        raise TypeError(f"{name}: expected a sequence of layer sizes (input, ..., output), "
                        f"got {_got(layers)}")
    sizes = list(layers)
    if len(sizes) < min_len:
        raise ValueError(f"{name}: expected at least {min_len} layer sizes (input, ..., "
                         f"output), got {sizes!r}")
    return [check_int(n, f"{name}[{i}]", minimum=1) for i, n in enumerate(sizes)]


def check_array(a, name, ndim=None, shape=None, allow_nan=False, allow_empty=False,
                dtype=float) -> np.ndarray:
    """A numeric array (dimensionless), converted to ``dtype`` and checked.

    Parameters
    ----------
    a : array_like
        The data.
    name : str
        The argument's name, used in messages.
    ndim : int, optional
        Required number of dimensions.
    shape : tuple, optional
        Required shape; entries of ``None`` are free.
    allow_nan : bool
        Accept NaN and +-inf (default False).
    allow_empty : bool
        Accept an array with no elements (default False).
    dtype : numpy dtype
        Conversion target (default float64).

    Returns
    -------
    numpy.ndarray
        ``numpy.asarray(a, dtype)`` (no copy if already of that type).

    Raises
    ------
    TypeError
        If ``a`` cannot be converted to a numeric array.
    brian2.DimensionMismatchError
        If ``a`` is a Quantity with a unit.
    ValueError
        On a wrong ``ndim``/``shape``, an empty array or NaN/inf values.
    """
    _reject_dimensional(a, name)
    check_numeric(a, name)
    try:
        arr = np.asarray(a, dtype=dtype)
    except (TypeError, ValueError):
        raise TypeError(f"{name}: expected a numeric array, got {_got(a)}") from None
    if ndim is not None and arr.ndim != ndim:
        raise ValueError(f"{name}: expected a {ndim}-D array, got shape {arr.shape}")
    if shape is not None:
        if len(shape) != arr.ndim or any(s is not None and s != t
                                         for s, t in zip(shape, arr.shape)):
            want = "(" + ", ".join("any" if s is None else str(s) for s in shape) \
                + ("," if len(shape) == 1 else "") + ")"
            raise ValueError(f"{name}: expected shape {want}, got {arr.shape}")
    if not allow_empty and arr.size == 0:
        raise ValueError(f"{name}: array is empty (shape {arr.shape})")
    if not allow_nan and not np.all(np.isfinite(arr)):
        raise ValueError(f"{name}: contains NaN or infinite values")
    return arr


def check_numeric(a, name):
    """Refuse text (even numeric strings such as ``'1.5'``) and complex numbers in array data.

    NumPy would convert numeric strings silently and drop imaginary parts
    with only a warning.

    Raises
    ------
    TypeError
        If ``a`` holds strings, bytes or complex numbers.
    """
    try:
        raw = a if isinstance(a, np.ndarray) else np.asarray(a)
    except (TypeError, ValueError):
        return  # ragged or unconvertible: the conversion reports it
    kind = raw.dtype.kind
    if kind == "O" and raw.size:
        kinds = {np.asarray(v).dtype.kind for v in raw.ravel()}
        kind = "U" if kinds & {"U", "S"} else "c" if "c" in kinds else kind
    if kind in "USV":
        raise TypeError(f"{name}: expected a numeric array, got text (dtype {raw.dtype}); "
                        "convert it to numbers first")
    if kind == "c":
        raise TypeError(f"{name}: expected real numbers, got complex values (dtype "
                        f"{raw.dtype}); pass the real part or the magnitude explicitly")


def check_XY(X, Y, n_in=None, n_out=None, names=("X", "Y")):
    """Paired data: ``X`` of shape ``(n, n_in)`` and ``Y`` of shape ``(n, n_out)``.

    Parameters
    ----------
    X, Y : array_like
        Inputs and targets, one row per sample, finite, not empty.
    n_in, n_out : int, optional
        Required widths (None: any).
    names : (str, str)
        Argument names for messages.

    Returns
    -------
    (numpy.ndarray, numpy.ndarray)
        Float arrays.

    Raises
    ------
    TypeError, ValueError
        As :func:`check_array`; ValueError also if the row counts differ.
    """
    X = check_array(X, names[0], ndim=2, shape=(None, n_in))
    Y = check_array(Y, names[1], ndim=2, shape=(X.shape[0], n_out))
    return X, Y


def check_weight_chain(weights, name="weights") -> list:
    """Weight matrices of a layered network: ``W[k]`` maps ``W[k-1]``'s rows.

    Parameters
    ----------
    weights : list or tuple of array_like
        ``W[k-1]`` of shape ``(n_k, n_{k-1})``, finite.
    name : str

    Returns
    -------
    list of numpy.ndarray

    Raises
    ------
    TypeError
        If ``weights`` is not a list/tuple.
    ValueError
        If it is empty, a matrix is not 2-D or finite, or the shapes do not chain.
    """
    if not isinstance(weights, (list, tuple)):
        raise TypeError(f"{name}: expected a list of 2-D arrays, got {_got(weights)}")
    if len(weights) == 0:
        raise ValueError(f"{name}: expected a non-empty list of 2-D arrays")
    Ws = [check_array(w, f"{name}[{i}]", ndim=2) for i, w in enumerate(weights)]
    for i in range(1, len(Ws)):
        if Ws[i].shape[1] != Ws[i - 1].shape[0]:
            raise ValueError(f"{name}[{i}]: expected {Ws[i - 1].shape[0]} columns to match "
                             f"{name}[{i - 1}] with shape {Ws[i - 1].shape}, "
                             f"got shape {Ws[i].shape}")
    return Ws


def check_labels(y, name="y", n_classes=None, n=None) -> np.ndarray:
    """Integer class labels: a non-empty 1-D array of integers ``>= 0``.

    Float arrays holding whole numbers are accepted (``[1.0, 0.0]``).

    Parameters
    ----------
    y : array_like
    name : str
    n_classes : int, optional
        Labels must be ``< n_classes``.
    n : int, optional
        Required number of labels.

    Returns
    -------
    numpy.ndarray of int

    Raises
    ------
    ValueError
        If ``y`` is not 1-D, empty, not whole numbers, or out of range.
    """
    y = np.asarray(y)
    if y.ndim != 1:
        raise ValueError(f"{name}: expected a 1-D array of labels, got shape {y.shape}")
    if n is not None and y.shape != (n,):
        raise ValueError(f"{name}: expected {n} labels, got shape {y.shape}")
    if y.size == 0:
        raise ValueError(f"{name}: array is empty")
    if not np.issubdtype(y.dtype, np.integer):
        if (not np.issubdtype(y.dtype, np.floating) or not np.all(np.isfinite(y))
                or np.any(y != np.round(y))):
            raise ValueError(f"{name}: expected integer class labels")
        y = y.astype(int)
    if y.min() < 0:
        raise ValueError(f"{name}: labels must be >= 0, got {y.min()}")
    if n_classes is not None and y.max() >= n_classes:
        raise ValueError(f"{name}: label {y.max()} is out of range for n_classes={n_classes}")
    return y


def check_per_layer(value, n, name, check=check_nonnegative) -> list:
    """A scalar broadcast to ``n`` layers, or exactly ``n`` values, each checked.

    Parameters
    ----------
    value : scalar or sequence
    n : int
        Number of layers.
    name : str
        Used as ``name`` (scalar) or ``name[i]`` (element ``i``).
    check : callable
        ``check(v, name)`` applied to every value (default
        :func:`check_nonnegative`; :func:`check_rate` for Quantities).

    Returns
    -------
    list
        ``n`` checked values.

    Raises
    ------
    TypeError
        If ``value`` is a string or ``check`` refuses a value's type.
    ValueError
        On a wrong count or a value ``check`` refuses.
    """
    if isinstance(value, (str, bytes)):
        raise TypeError(f"{name}: expected a number or one per layer, got {_got(value)}")
    if np.ndim(value) == 0:
        return [check(value, name)] * n
    vals = list(value)
    if len(vals) != n:
        raise ValueError(f"{name}: expected a scalar or {n} values (one per layer), "
                         f"got {len(vals)}")
    return [check(v, f"{name}[{i}]") for i, v in enumerate(vals)]


# ---------------------------------------------------------------------------
# Brian2 quantities
# ---------------------------------------------------------------------------
def check_quantity(value, name, unit, what, minimum=0, positive=False):
    """A scalar Brian2 Quantity with the dimensions of ``unit``, finite and bounded.

    Parameters
    ----------
    value : object
    name : str
    unit : brian2 unit or Quantity
        Defines the required dimensions (e.g. ``second``, ``1/second``).
    what : str
        How to describe it in messages, e.g. ``'a time (e.g. 100*ms)'``.
    minimum : float or None
        Lower bound of the value in SI units (default 0; None: unbounded).
    positive : bool
        Require ``> minimum`` instead of ``>= minimum``.

    Returns
    -------
    brian2.Quantity

    Raises
    ------
    TypeError
        If ``value`` is a plain number or another non-Quantity.
    brian2.DimensionMismatchError
        If its dimensions differ from ``unit``'s.
    ValueError
        If it is not a scalar, NaN/inf or out of range.
    """
    from brian2 import DimensionMismatchError, Quantity, get_dimensions

    if not isinstance(value, Quantity):
        raise TypeError(f"{name}: expected {what}, a Brian2 Quantity with a unit, "
                        f"got {_got(value)}")
    want = get_dimensions(unit)
    if value.dim != want:
        raise DimensionMismatchError(f"{name}: expected {what}, got {value!r}", value.dim, want)
    if value.ndim != 0:
        raise ValueError(f"{name}: expected a scalar, got shape {value.shape}")
    v = float(value)
    if not np.isfinite(v):
        raise ValueError(f"{name}: expected a finite value, got {value!r}")
    if minimum is not None and (v < minimum or (positive and v == minimum)):
        raise ValueError(f"{name}: expected {what} {'>' if positive else '>='} {minimum}, "
                         f"got {value!r}")
    return value


def check_time(value, name, positive=True):
    """A time Quantity (``second``), ``> 0`` (or ``>= 0`` if not ``positive``).

    See :func:`check_quantity` for the exceptions.

    Examples
    --------
    >>> from brian2 import ms
    >>> check_time(100*ms, "t_pattern")
    100. * msecond
    """
    from brian2 import second

    return check_quantity(value, name, second, "a time (e.g. 100*ms)", positive=positive)


def check_rate(value, name, positive=False):
    """A rate Quantity (``1/second``: conductances per capacitance, learning rates).

    ``>= 0`` (or ``> 0`` if ``positive``). See :func:`check_quantity`.

    Examples
    --------
    >>> from brian2 import ms
    >>> check_rate(0.1/ms, "g_L")
    100. * hertz
    """
    from brian2 import second

    return check_quantity(value, name, 1 / second, "a rate in 1/time (e.g. 0.1/ms)",
                          positive=positive)


def _in_ms(value, name, check, power, plain_check):
    """``value`` as a float in ms**power: Quantities are checked and converted."""
    if _is_quantity(value) and not value.dim.is_dimensionless:
        from brian2 import ms

        return float(check(value, name) / ms ** power)
    return plain_check(value, name)


def check_rate_ms(value, name, positive=False) -> float:
    """A rate as a float in 1/ms: a plain number (read as 1/ms) or a rate Quantity.

    For NumPy code whose unit convention is ms (the reference
    implementations): ``0.1`` and ``0.1/ms`` both give ``0.1``.

    Raises
    ------
    TypeError, brian2.DimensionMismatchError, ValueError
        As :func:`check_rate` for Quantities and :func:`check_real` for numbers.
    """
    return _in_ms(value, name, lambda v, n: check_rate(v, n, positive=positive), -1,
                  check_positive if positive else check_nonnegative)


def check_time_ms(value, name, positive=True) -> float:
    """A time as a float in ms: a plain number (read as ms) or a time Quantity.

    ``0.1`` and ``0.1*ms`` both give ``0.1`` (see :func:`check_rate_ms`).
    """
    return _in_ms(value, name, lambda v, n: check_time(v, n, positive=positive), 1,
                  check_positive if positive else check_nonnegative)
