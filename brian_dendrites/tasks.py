"""Datasets and tasks: Sacramento teacher-student regression, MNIST subset, one-hot targets.

Pure NumPy; no Brian2 import. The MNIST loader needs an explicit path (the
project ships no data).

References
----------
.. [1] J. Sacramento, R. Ponte Costa, Y. Bengio, W. Senn, "Dendritic
   cortical microcircuits approximate the backpropagation algorithm",
   NeurIPS 2018, Fig. 2 (teacher-student regression), Fig. 3 (MNIST).
.. [2] Y. LeCun, C. Cortes, C. J. C. Burges, The MNIST database.
"""
import functools
import gzip
from collections import namedtuple
from pathlib import Path

import numpy as np

from ._validation import (
    check_choice,
    check_int,
    check_labels,
    check_layers,
    check_per_layer,
    check_real,
    check_weight_chain,
)
from .activations import get_activation, softplus_sacramento

__all__ = ["TeacherStudentData", "teacher_student_regression", "load_mnist", "one_hot"]

TeacherStudentData = namedtuple("TeacherStudentData", ["X", "R", "U", "weights"])
TeacherStudentData.__doc__ = """Teacher-student data set.

Attributes
----------
X : ndarray, shape (n_samples, n0)
    Input rates ``r0``.
R : ndarray, shape (n_samples, nL)
    Target rates ``r_trgt = phi(U)``.
U : ndarray, shape (n_samples, nL)
    Target potentials (teacher output potentials, dimensionless).
weights : list of ndarray
    Teacher weights ``W[k-1]`` of shape ``(n_k, n_{k-1})`` (without gains).
"""


def teacher_student_regression(n_samples, layers_teacher=(30, 20, 10), seed=0, gains=None,
                               weights=None, phi=softplus_sacramento, input_range=(-1.0, 1.0),
                               weight_range=(-1.0, 1.0)):
    r"""Sacramento et al. (2018) Fig. 2 teacher network and its data.

    ``r_trgt = phi(a_L W_L phi(... phi(a_1 W_1 r0)))`` with default gains ``a_k``
    ``(2, 10)`` for a 2-layer teacher, i.e. ``r_trgt = phi(10 W2 phi(2 W1 r0))``,
    inputs ``r0 ~ U(-1, 1)`` and teacher weights ``~ U(-1, 1)``.

    Parameters
    ----------
    n_samples : int
        Number of input patterns (> 0).
    layers_teacher : sequence of int
        Teacher layer sizes ``[n0, ..., nL]`` (default ``(30, 20, 10)``);
        ignored when ``weights`` is given.
    seed : int or None
        Seeds the teacher weights (unless given) and then the inputs.
    gains : float or sequence of float, optional
        One gain ``a_k`` per teacher layer (or one for all); default ``(2, 10)`` for two layers,
        otherwise all ones.
    weights : list of ndarray, optional
        Reuse a teacher (e.g. for a test set: pass ``train.weights`` and a
        different ``seed``).
    phi : callable or str
        Transfer function (default :func:`softplus_sacramento`).
    input_range, weight_range : (float, float)
        Uniform ranges for inputs and teacher weights.

    Returns
    -------
    TeacherStudentData
        ``X`` (inputs), ``R`` (target rates), ``U`` (target potentials),
        ``weights`` (teacher).

    References
    ----------
    Sacramento et al. 2018, Fig. 2 and its Methods (teacher network).

    Examples
    --------
    >>> d = teacher_student_regression(5, seed=1)
    >>> d.X.shape, d.R.shape, d.U.shape
    ((5, 30), (5, 10), (5, 10))
    """
    n_samples = check_int(n_samples, "n_samples", minimum=1)
    phi = get_activation(phi, "phi").phi
    for name, rng_ in (("input_range", input_range), ("weight_range", weight_range)):
        if len(rng_) != 2 or not np.all(np.isfinite(rng_)) or not rng_[0] < rng_[1]:
            raise ValueError(f"{name}: expected (low, high) with low < high, got {rng_!r}")
    rng = np.random.default_rng(seed)
    if weights is None:
        layers = check_layers(layers_teacher, "layers_teacher")
        weights = [rng.uniform(*weight_range, size=(layers[k + 1], layers[k]))
                   for k in range(len(layers) - 1)]
    else:
        weights = check_weight_chain(weights, "weights")
    L = len(weights)
    if gains is None:
        gains = (2.0, 10.0) if L == 2 else (1.0,) * L
    gains = check_per_layer(gains, L, "gains", check=check_real)
    X = rng.uniform(*input_range, size=(n_samples, weights[0].shape[1]))
    r = X
    for k in range(L):
        U = gains[k] * (r @ weights[k].T)
        r = phi(U)
    return TeacherStudentData(X=X, R=r, U=U, weights=weights)


def load_mnist(path, n_train=4000, n_test=1000, seed=0, scale="unit"):
    """Load an MNIST CSV subset (``784`` pixels 0-255 then the label per row).

    Rows are shuffled with a fixed permutation (``seed``) before splitting,
    because the shipped file is sorted by label.

    Parameters
    ----------
    path : str or pathlib.Path
        A ``.csv`` or ``.csv.gz`` file (e.g. ``../shared/data/mnist_5k.csv.gz``).
    n_train, n_test : int
        Sizes of the two disjoint splits (``n_train + n_test`` <= rows).
    seed : int
        Seed of the shuffle.
    scale : {'unit', 'raw'}
        ``'unit'``: pixels / 255 in [0, 1]; ``'raw'``: 0-255 as floats.

    Returns
    -------
    X_train : ndarray, shape (n_train, 784)
    y_train : ndarray of int, shape (n_train,)
    X_test : ndarray, shape (n_test, 784)
    y_test : ndarray of int, shape (n_test,)

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    ValueError
        On a malformed file or impossible split sizes.
    """
    if path is None:
        raise ValueError("path: a path to the MNIST csv(.gz) file is required")
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"path: MNIST file not found: {path} (expected a csv or csv.gz "
                                "with 784 pixel columns then the label)")
    n_train = check_int(n_train, "n_train", minimum=0)
    n_test = check_int(n_test, "n_test", minimum=0)
    if n_train + n_test == 0:
        raise ValueError("n_train, n_test: at least one split must be non-empty")
    check_choice(scale, "scale", ("unit", "raw"))
    st = path.stat()
    data = _read_csv(str(path.resolve()), st.st_mtime_ns, st.st_size)
    if not np.all(np.isfinite(data)):
        raise ValueError(f"path: {path} contains NaN or infinite values")
    pixels, labels = data[:, :784], data[:, 784]
    if pixels.min() < 0 or pixels.max() > 255:
        raise ValueError(f"path: pixel values must lie in [0, 255], got [{pixels.min()}, "
                         f"{pixels.max()}]")
    if np.any(labels != np.round(labels)) or labels.min() < 0 or labels.max() > 9:
        raise ValueError("path: labels (last column) must be integers 0-9")
    if n_train + n_test > data.shape[0]:
        raise ValueError(f"n_train + n_test: {n_train} + {n_test} exceeds the {data.shape[0]} "
                         f"rows of {path}")
    order = np.random.default_rng(seed).permutation(data.shape[0])
    X = pixels[order] / (255.0 if scale == "unit" else 1.0)
    y = labels[order].astype(int)
    return X[:n_train], y[:n_train], X[n_train:n_train + n_test], y[n_train:n_train + n_test]


@functools.lru_cache(maxsize=2)
def _read_csv(path, mtime_ns, size):
    """Parse a numeric CSV(.gz) once per (path, mtime, size); callers never modify the result."""
    opener = gzip.open if path.endswith(".gz") else open
    try:
        with opener(path, "rt") as fh:
            data = np.loadtxt(fh, delimiter=",", ndmin=2)
    except (OSError, ValueError, EOFError, UnicodeDecodeError) as exc:
        raise ValueError(f"path: could not parse {path} as a numeric CSV: {exc}") from exc
    if data.shape[1] != 785:
        raise ValueError(f"path: expected 785 columns (784 pixels + label) in {path}, got "
                         f"{data.shape[1]}")
    data.setflags(write=False)
    return data


def one_hot(y, n_classes=None, low=0.1, high=0.8):
    """Target matrix with ``high`` at the label and ``low`` elsewhere.

    Parameters
    ----------
    y : array_like of int, shape (n_samples,)
        Class labels in ``[0, n_classes)``.
    n_classes : int, optional
        Default ``max(y) + 1``.
    low, high : float
        Values for wrong and correct classes (defaults 0.1 and 0.8, the
        target rates of Sacramento et al. 2018 on MNIST).

    Returns
    -------
    ndarray, shape (n_samples, n_classes)

    Examples
    --------
    >>> one_hot([0, 2], 3, low=0, high=1)
    array([[1., 0., 0.],
           [0., 0., 1.]])
    """
    y = check_labels(y, "y")
    n_classes = check_int(int(y.max()) + 1 if n_classes is None else n_classes, "n_classes",
                          minimum=1)
    y = check_labels(y, "y", n_classes=n_classes)
    low, high = check_real(low, "low"), check_real(high, "high")
    T = np.full((y.size, n_classes), low)
    T[np.arange(y.size), y] = high
    return T
