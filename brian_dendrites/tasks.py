"""Datasets and tasks: Sacramento teacher-student regression, MNIST, one-hot targets.

Pure NumPy; no Brian2 import. The MNIST loaders need an explicit path (the
project ships no data and never downloads any): :func:`load_mnist` reads a
CSV subset, :func:`load_mnist_idx` the four standard IDX files of the full
data set, :func:`read_idx` any one IDX file.

The task registry :data:`TASKS` (:func:`get_task`) returns :class:`Task`
records (splits, kind, a suggested network) for the learners, the rule lab
(:func:`brian_dendrites.lab.compare`) and the command line:
``teacher_student``, ``mnist`` and ``permuted_mnist`` (from a path),
``cerebellum`` (a Marr-Albus-like expansion to sparse granule-cell inputs),
and user arrays (``get_task((X, y))``).

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
    check_array,
    check_choice,
    check_int,
    check_labels,
    check_layers,
    check_per_layer,
    check_real,
    check_weight_chain,
)
from .activations import get_activation, softplus_sacramento

__all__ = ["TeacherStudentData", "teacher_student_regression", "load_mnist", "load_mnist_idx",
           "read_idx", "MNIST_IDX_FILES", "one_hot", "friedman1", "Task", "TASKS", "TASK_KINDS",
           "get_task", "teacher_student_task", "mnist_task", "permuted_mnist_task",
           "cerebellum_task", "user_task"]

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
                               weight_range=(-1.0, 1.0), output_phi=None):
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
    output_phi : callable or str, optional
        Transfer function of the output layer (default: ``phi``). Deep
        Feedback Control's toy task: ``phi='tanh', output_phi='linear'``.

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
    phi_out = phi if output_phi is None else get_activation(output_phi, "output_phi").phi
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
        r = (phi_out if k == L - 1 else phi)(U)
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
        On a malformed file or impossible split sizes, or if ``path`` is a
        directory (the IDX files are read by :func:`load_mnist_idx`).
    """
    if path is None:
        raise ValueError("path: a path to the MNIST csv(.gz) file is required")
    path = Path(path)
    if path.is_dir():
        raise ValueError(f"path: {path} is a directory; load_mnist reads one csv(.gz) file, "
                         "load_mnist_idx(directory) the four standard MNIST IDX files")
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


#: The four files of the standard MNIST distribution, by role (each may end in ``.gz``).
MNIST_IDX_FILES = {
    "train_images": "train-images-idx3-ubyte",
    "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte",
    "test_labels": "t10k-labels-idx1-ubyte",
}

# IDX type codes (third byte of the magic number) -> big-endian NumPy dtype
_IDX_DTYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def read_idx(path, ndim=None):
    """Read one IDX file (the MNIST file format), plain or gzip-compressed.

    An IDX file is a 4-byte magic number (two zero bytes, a type code, the
    number of dimensions), one big-endian 32-bit size per dimension, then the
    data in C order.

    Parameters
    ----------
    path : str or pathlib.Path
        The file, e.g. ``train-images-idx3-ubyte`` or ``train-images-idx3-ubyte.gz``
        (gzip is recognised by its content, not its name).
    ndim : int, optional
        Required number of dimensions (3 for images, 1 for labels).

    Returns
    -------
    numpy.ndarray
        The data with the shape of the header, in native byte order
        (``uint8`` for MNIST).

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    ValueError
        If the file is not an IDX file (wrong magic number or type code), is
        truncated or has trailing bytes, has the wrong number of dimensions,
        or is a damaged gzip file.

    Examples
    --------
    >>> import io, gzip, tempfile, pathlib
    >>> raw = bytes([0, 0, 8, 1, 0, 0, 0, 3, 7, 2, 1])  # three labels 7, 2, 1
    >>> with tempfile.TemporaryDirectory() as d:
    ...     p = pathlib.Path(d) / "labels-idx1-ubyte.gz"
    ...     _ = p.write_bytes(gzip.compress(raw))
    ...     read_idx(p, ndim=1)
    array([7, 2, 1], dtype=uint8)
    """
    if path is None:
        raise TypeError("path: expected the path of an IDX file, got None")
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"path: IDX file not found: {path}")
    if ndim is not None:
        ndim = check_int(ndim, "ndim", minimum=1)
    with open(path, "rb") as fh:
        gz = fh.read(2) == b"\x1f\x8b"
    try:
        with (gzip.open if gz else open)(path, "rb") as fh:
            raw = fh.read()
    except (OSError, EOFError) as exc:  # gzip.BadGzipFile is an OSError
        raise ValueError(f"path: {path} is a damaged gzip file ({exc})") from exc
    where = f"path: {path}"
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in _IDX_DTYPES or raw[3] == 0:
        magic = f"magic number 0x{raw[:4].hex()}" if raw else "empty file"
        raise ValueError(f"{where} is not an IDX file ({magic}; expected a magic number "
                         "0x0000TTDD with a type code TT and DD dimensions, e.g. 0x00000803 "
                         "for MNIST images, 0x00000801 for labels)")
    dims = raw[3]
    if ndim is not None and dims != ndim:
        raise ValueError(f"{where}: expected a {ndim}-dimensional IDX file, got {dims} "
                         f"dimensions (magic number 0x{raw[:4].hex()})")
    header = 4 + 4 * dims
    if len(raw) < header:
        raise ValueError(f"{where} is truncated: {len(raw)} bytes, shorter than its "
                         f"{header}-byte header")
    shape = tuple(int(v) for v in np.frombuffer(raw, ">u4", count=dims, offset=4))
    dtype = np.dtype(_IDX_DTYPES[raw[2]])
    need = header + int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    if len(raw) < need:
        raise ValueError(f"{where} is truncated: the header announces shape {shape} "
                         f"({need} bytes) but the file has {len(raw)} bytes")
    if len(raw) > need:
        raise ValueError(f"{where}: {len(raw) - need} bytes after the data of shape {shape} "
                         "(not an IDX file, or two files concatenated)")
    data = np.frombuffer(raw, dtype, offset=header).reshape(shape)
    return data.astype(dtype.newbyteorder("="))


def _find_idx(directory, stem):
    """The file of ``stem`` in ``directory`` (plain or ``.gz``; ``-idx`` or ``.idx``)."""
    names = [stem, stem.replace("-idx", ".idx")]
    for name in names:
        for candidate in (name, name + ".gz"):
            if (directory / candidate).is_file():
                return directory / candidate
    raise FileNotFoundError(
        f"directory: {directory} has no {stem}[.gz]; the standard MNIST files are "
        f"{', '.join(MNIST_IDX_FILES.values())} (each may be gzip-compressed). This package "
        "never downloads data: get them from the MNIST database and pass their directory")


def load_mnist_idx(directory, n_train=None, n_test=None, scale="unit"):
    """Load MNIST from the four standard IDX files (60 000 training, 10 000 test images).

    The files (see :data:`MNIST_IDX_FILES`) are ``train-images-idx3-ubyte``,
    ``train-labels-idx1-ubyte``, ``t10k-images-idx3-ubyte`` and
    ``t10k-labels-idx1-ubyte``, each plain or with ``.gz``; the variant
    ``train-images.idx3-ubyte`` is accepted too. The standard split is kept
    (training images from the training files, test images from the test
    files, in file order); nothing is downloaded.

    Parameters
    ----------
    directory : str or pathlib.Path
        The directory holding the four files.
    n_train, n_test : int, optional
        Use only the first ``n_train`` training / ``n_test`` test images
        (``None``: all). ``0`` gives an empty split.
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
        If ``directory`` or one of the four files is missing.
    ValueError
        If a file is not an MNIST IDX file (wrong magic number, truncated,
        images not 28 x 28 ``uint8``, labels not 0-9), if image and label
        counts differ, or if ``n_train``/``n_test`` exceed the files' sizes.

    Examples
    --------
    The paper-scale experiment, for users who have the files::

        Xtr, ytr, Xte, yte = load_mnist_idx("~/data/mnist")   # 60000 / 10000 images
    """
    if directory is None:
        raise TypeError("directory: expected the directory of the MNIST IDX files, got None")
    directory = Path(directory).expanduser()
    if not directory.is_dir():
        raise FileNotFoundError(f"directory: {directory} is not a directory (expected the one "
                                f"holding {', '.join(MNIST_IDX_FILES.values())}, plain or .gz)")
    if n_train is not None:
        n_train = check_int(n_train, "n_train", minimum=0)
    if n_test is not None:
        n_test = check_int(n_test, "n_test", minimum=0)
    check_choice(scale, "scale", ("unit", "raw"))
    out = []
    for split, n in (("train", n_train), ("test", n_test)):
        img_path = _find_idx(directory, MNIST_IDX_FILES[f"{split}_images"])
        lab_path = _find_idx(directory, MNIST_IDX_FILES[f"{split}_labels"])
        images = read_idx(img_path, ndim=3)
        labels = read_idx(lab_path, ndim=1)
        if images.dtype != np.uint8 or images.shape[1:] != (28, 28):
            raise ValueError(f"directory: {img_path.name} holds {images.dtype} images of shape "
                             f"{images.shape[1:]}; MNIST images are uint8 of shape (28, 28)")
        if labels.dtype != np.uint8 or (labels.size and labels.max() > 9):
            raise ValueError(f"directory: {lab_path.name} must hold uint8 labels 0-9")
        if images.shape[0] != labels.shape[0]:
            raise ValueError(f"directory: {img_path.name} has {images.shape[0]} images but "
                             f"{lab_path.name} has {labels.shape[0]} labels")
        if n is not None and n > images.shape[0]:
            raise ValueError(f"n_{split}: {n} exceeds the {images.shape[0]} images of "
                             f"{img_path.name}")
        n = images.shape[0] if n is None else n
        X = images[:n].reshape(n, 784).astype(float)
        out += [X / 255.0 if scale == "unit" else X, labels[:n].astype(int)]
    return tuple(out)


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


def friedman1(n_samples, noise=0.5, n_features=10, seed=0):
    """Friedman's regression problem #1 (Friedman 1991; as scikit-learn's ``make_friedman1``).

    ``y = 10 sin(pi x1 x2) + 20 (x3 - 0.5)^2 + 10 x4 + 5 x5 + noise N(0, 1)``,
    ``X ~ U(0, 1)^n_features`` (features beyond the fifth are irrelevant).

    Parameters
    ----------
    n_samples : int >= 1
    noise : float >= 0
        Standard deviation of the Gaussian noise.
    n_features : int >= 5
    seed : int

    Returns
    -------
    X : ndarray, shape (n_samples, n_features)
    y : ndarray, shape (n_samples,)

    Examples
    --------
    >>> X, y = friedman1(3, noise=0.0)
    >>> X.shape, bool(np.allclose(y, 10 * np.sin(np.pi * X[:, 0] * X[:, 1])
    ...     + 20 * (X[:, 2] - 0.5) ** 2 + 10 * X[:, 3] + 5 * X[:, 4]))
    ((3, 10), True)
    """
    n_samples = check_int(n_samples, "n_samples", minimum=1)
    n_features = check_int(n_features, "n_features", minimum=5)
    noise = check_real(noise, "noise", 0)
    rng = np.random.default_rng(seed)
    X = rng.uniform(size=(n_samples, n_features))
    y = (10 * np.sin(np.pi * X[:, 0] * X[:, 1]) + 20 * (X[:, 2] - 0.5) ** 2 + 10 * X[:, 3]
         + 5 * X[:, 4] + noise * rng.standard_normal(n_samples))
    return X, y


# ---------------------------------------------------------------- task registry
Task = namedtuple("Task", ["name", "X_train", "y_train", "X_test", "y_test", "kind", "layers",
                           "n_outputs", "info"])
Task.__doc__ = """A learning task: data splits, its kind and a suggested network.

Attributes
----------
name : str
    Registry name (or ``'user'`` for user arrays).
X_train, X_test : ndarray, shape (n, n_features)
    Inputs (``X_test`` may have 0 rows).
y_train, y_test : ndarray
    Targets: ``(n, n_outputs)`` floats for regression, ``(n,)`` integer labels
    ``0..n_outputs-1`` for classification.
kind : {'regression', 'classification'}
layers : tuple of int
    A suggested network ``(n_features, ..., n_outputs)``.
n_outputs : int
    Output width (classes for classification).
info : dict
    Task-specific extras (teacher weights, permutations, task ids, ...).
"""

#: Kinds of :class:`Task`.
TASK_KINDS = ("regression", "classification")


def teacher_student_task(n_train=500, n_test=200, layers=(15, 10, 10, 5), seed=0,
                         teacher_seed=11, phi="tanh", output_phi="linear", gains=1.0) -> Task:
    """Teacher-student regression: a random network of the given layers makes the targets.

    The default is Meulemans et al. (2021)'s toy task (15-10-10-5, tanh
    hidden, linear output, teacher weights and inputs uniform in [-1, 1]);
    ``phi='softplus_sacramento'``, ``output_phi=None``, ``gains=None`` and
    ``layers=(30, 20, 10)`` give Sacramento et al. (2018)'s Fig. 2 teacher
    (:func:`teacher_student_regression`). The suggested student has the
    teacher's layers.

    Parameters
    ----------
    n_train, n_test : int
        Samples of the two splits (``n_test`` may be 0).
    layers : sequence of int
        Teacher (and suggested student) layer sizes.
    seed : int
        Seed of the inputs.
    teacher_seed : int
        Seed of the teacher weights.
    phi, output_phi, gains
        As for :func:`teacher_student_regression`.

    Returns
    -------
    Task

    Examples
    --------
    >>> t = teacher_student_task(n_train=8, n_test=2)
    >>> t.X_train.shape, t.y_train.shape, t.kind, t.layers
    ((8, 15), (8, 5), 'regression', (15, 10, 10, 5))
    """
    n_train = check_int(n_train, "n_train", minimum=1)
    n_test = check_int(n_test, "n_test", minimum=0)
    layers = tuple(check_layers(layers, "layers"))
    kw = dict(phi=phi, output_phi=output_phi, gains=gains)
    teacher = teacher_student_regression(1, layers, seed=teacher_seed, **kw)
    train = teacher_student_regression(n_train, weights=teacher.weights, seed=seed + 1, **kw)
    if n_test:
        test = teacher_student_regression(n_test, weights=teacher.weights, seed=seed + 10_000,
                                          **kw)
        X_test, y_test = test.X, test.R
    else:
        X_test, y_test = np.zeros((0, layers[0])), np.zeros((0, layers[-1]))
    return Task("teacher_student", train.X, train.R, X_test, y_test, "regression", layers,
                layers[-1], {"teacher": teacher.weights})


def _mnist_arrays(path, n_train, n_test, seed):
    """MNIST from a CSV(.gz) subset or a directory of the four IDX files."""
    if path is None:
        raise ValueError("path: the MNIST tasks need path= (a csv/csv.gz subset such as "
                         "mnist_5k.csv.gz, or the directory of the four IDX files); this "
                         "package never downloads data")
    p = Path(path).expanduser()
    if not p.exists():
        raise FileNotFoundError(f"path: MNIST data not found: {p} (expected a csv/csv.gz file "
                                "or a directory with the four IDX files)")
    if p.is_dir():
        return load_mnist_idx(p, n_train=n_train, n_test=n_test)
    return load_mnist(p, n_train=n_train, n_test=n_test, seed=seed)


def mnist_task(path=None, n_train=4000, n_test=1000, seed=0, hidden=(100,)) -> Task:
    """MNIST classification from a path (a CSV subset or the IDX files' directory).

    Parameters
    ----------
    path : str or pathlib.Path
        A ``.csv``/``.csv.gz`` file (:func:`load_mnist`) or a directory with
        the four IDX files (:func:`load_mnist_idx`). Required.
    n_train, n_test : int
        Split sizes.
    seed : int
        Shuffle of the CSV subset.
    hidden : tuple of int
        Hidden sizes of the suggested network ``(784, *hidden, 10)``.

    Returns
    -------
    Task
        Pixels in [0, 1], integer labels 0-9.

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist (the message names it).
    ValueError
        If ``path`` is missing or the file is malformed.
    """
    hidden = tuple(check_int(h, "hidden[]", minimum=1) for h in hidden)
    Xtr, ytr, Xte, yte = _mnist_arrays(path, n_train, n_test, seed)
    return Task("mnist", Xtr, ytr, Xte, yte, "classification", (784, *hidden, 10), 10,
                {"path": str(path)})


def permuted_mnist_task(path=None, n_tasks=3, n_train=1000, n_test=500, seed=0,
                        hidden=(100,)) -> Task:
    """Permuted-MNIST continual learning: ``n_tasks`` fixed pixel permutations, one after another.

    Task ``t`` shows the same images with the pixels permuted by permutation
    ``t`` (task 0: the identity). The training set is the tasks' training
    images concatenated in task order (a learner trained in that order meets
    the tasks one after another); the test set holds every task's test
    images. ``info['task_train']`` / ``info['task_test']`` give each row's
    task, ``info['permutations']`` the permutations.

    Parameters
    ----------
    path : str or pathlib.Path
        As for :func:`mnist_task`. Required.
    n_tasks : int >= 1
    n_train, n_test : int
        Images per task (the same images for every task).
    seed : int
        Seed of the permutations (and the CSV shuffle).
    hidden : tuple of int
        Hidden sizes of the suggested network.

    Returns
    -------
    Task
    """
    n_tasks = check_int(n_tasks, "n_tasks", minimum=1)
    hidden = tuple(check_int(h, "hidden[]", minimum=1) for h in hidden)
    Xtr, ytr, Xte, yte = _mnist_arrays(path, n_train, n_test, seed)
    rng = np.random.default_rng([seed, 101])
    perms = [np.arange(784)] + [rng.permutation(784) for _ in range(n_tasks - 1)]
    info = {"path": str(path), "permutations": perms,
            "task_train": np.repeat(np.arange(n_tasks), len(Xtr)),
            "task_test": np.repeat(np.arange(n_tasks), len(Xte))}
    return Task("permuted_mnist", np.vstack([Xtr[:, p] for p in perms]), np.tile(ytr, n_tasks),
                np.vstack([Xte[:, p] for p in perms]), np.tile(yte, n_tasks), "classification",
                (784, *hidden, 10), 10, info)


def cerebellum_task(n_train=1000, n_test=200, n_mossy=20, n_granule=500, k=4,
                    coding_level=0.1, hidden=(10,), seed=0) -> Task:
    """A cerebellum-like regression: sparse expanded granule-cell inputs, one output.

    Marr-Albus style: ``n_mossy`` mossy fibres carry ``m ~ N(0, I)``; each of
    ``n_granule`` granule cells sums ``k`` randomly chosen mossy fibres with
    random weights ``N(0, 1)`` and fires ``max(0, h - theta)``, its threshold
    ``theta`` set so that a fraction ``coding_level`` of inputs activate it
    (the granule layer is a fixed, sparse, expanded code). The target is a
    smooth nonlinear function of the mossy input, the output of a random
    tanh teacher ``y = v . tanh(A m / sqrt(n_mossy))`` (``A``: 20 x n_mossy,
    ``v``: 20, Gaussian), standardised to mean 0 and variance 1 on the
    training set. The learner sees only the granule activity (``X``, many
    sparse non-negative features) and predicts the one output (a Purkinje
    cell); ``hidden=()`` suggests the classic linear readout.

    Parameters
    ----------
    n_train, n_test : int
        Split sizes.
    n_mossy, n_granule, k : int
        Mossy fibres, granule cells, mossy inputs per granule cell (``k <= n_mossy``).
    coding_level : float in (0, 1)
        Fraction of inputs a granule cell responds to.
    hidden : tuple of int
        Hidden sizes of the suggested network ``(n_granule, *hidden, 1)``.
    seed : int

    Returns
    -------
    Task
        ``info``: ``coding_level`` measured on the training set,
        ``mossy_train``/``mossy_test`` (the mossy inputs).

    Examples
    --------
    >>> t = cerebellum_task(n_train=200, n_test=10)
    >>> t.X_train.shape, t.y_train.shape, round(float((t.X_train > 0).mean()), 1)
    ((200, 500), (200, 1), 0.1)
    """
    n_train = check_int(n_train, "n_train", minimum=1)
    n_test = check_int(n_test, "n_test", minimum=0)
    n_mossy = check_int(n_mossy, "n_mossy", minimum=1)
    n_granule = check_int(n_granule, "n_granule", minimum=1)
    k = check_int(k, "k", minimum=1, maximum=n_mossy)
    f = check_real(coding_level, "coding_level", 0, 1, low_open=True, high_open=True)
    hidden = tuple(check_int(h, "hidden[]", minimum=1) for h in hidden)
    rng = np.random.default_rng(seed)
    J = np.zeros((n_granule, n_mossy))
    for i in range(n_granule):
        J[i, rng.choice(n_mossy, size=k, replace=False)] = rng.standard_normal(k)
    # a granule cell's input J_i . m is N(0, |J_i|^2): the threshold of coding level f
    from scipy.special import ndtri

    theta = np.linalg.norm(J, axis=1) * ndtri(1.0 - f)
    A = rng.standard_normal((20, n_mossy))
    v = rng.standard_normal(20)
    M = rng.standard_normal((n_train + n_test, n_mossy))
    G = np.maximum(0.0, M @ J.T - theta)
    y = np.tanh(M @ A.T / np.sqrt(n_mossy)) @ v
    mu, sd = y[:n_train].mean(), y[:n_train].std() or 1.0
    y = ((y - mu) / sd)[:, None]
    info = {"coding_level": float((G[:n_train] > 0).mean()), "mossy_train": M[:n_train],
            "mossy_test": M[n_train:]}
    return Task("cerebellum", G[:n_train], y[:n_train], G[n_train:], y[n_train:], "regression",
                (n_granule, *hidden, 1), 1, info)


def user_task(X, y, X_test=None, y_test=None, kind=None, hidden=(10,), name="user") -> Task:
    """A task from user arrays.

    Parameters
    ----------
    X : array, shape (n, n_features)
    y : array, shape (n,) or (n, n_outputs)
        Integer labels (classification) or real targets (regression).
    X_test, y_test : array, optional
        A test split (default: none).
    kind : {'regression', 'classification'}, optional
        Default: classification if ``y`` is 1-D and of an integer type (or
        bool), else regression.
    hidden : tuple of int
        Hidden sizes of the suggested network.
    name : str

    Returns
    -------
    Task

    Examples
    --------
    >>> t = user_task(np.zeros((4, 3)), np.array([0, 1, 2, 1]))
    >>> t.kind, t.n_outputs, t.layers
    ('classification', 3, (3, 10, 3))
    """
    X = check_array(X, "X", ndim=2)
    y_arr = np.asarray(y)
    if kind is None:
        kind = ("classification" if y_arr.ndim == 1 and (y_arr.dtype.kind in "iub")
                else "regression")
    check_choice(kind, "kind", TASK_KINDS)
    hidden = tuple(check_int(h, "hidden[]", minimum=1) for h in hidden)
    if (X_test is None) != (y_test is None):
        raise ValueError("X_test, y_test: give both or neither")

    def targets(yv, n, name_):
        if kind == "classification":
            return check_labels(yv, name_, n=n)
        yv = check_array(yv, name_)
        yv = yv[:, None] if yv.ndim == 1 else yv
        return check_array(yv, name_, ndim=2, shape=(n, None))

    y = targets(y, X.shape[0], "y")
    n_out = int(y.max()) + 1 if kind == "classification" else y.shape[1]
    if kind == "classification" and n_out < 2:
        raise ValueError("y: a classification task needs at least 2 classes")
    if X_test is None:
        X_test = np.zeros((0, X.shape[1]))
        y_test = np.zeros(0, dtype=int) if kind == "classification" else np.zeros((0, n_out))
    else:
        X_test = check_array(X_test, "X_test", ndim=2, shape=(None, X.shape[1]))
        y_test = targets(y_test, X_test.shape[0], "y_test")
        if kind == "classification" and y_test.size and y_test.max() >= n_out:
            raise ValueError(f"y_test: labels must lie in 0..{n_out - 1} (the classes of y)")
        if kind == "regression" and y_test.shape[1] != n_out:
            raise ValueError(f"y_test: expected {n_out} columns like y, got {y_test.shape[1]}")
    return Task(name, X, y, X_test, y_test, kind, (X.shape[1], *hidden, n_out), n_out, {})


#: Task name -> function returning a :class:`Task` (keyword arguments go to it).
TASKS = {
    "teacher_student": teacher_student_task,
    "mnist": mnist_task,
    "permuted_mnist": permuted_mnist_task,
    "cerebellum": cerebellum_task,
}


def get_task(task, **kw) -> Task:
    """A :class:`Task` by name, or from user arrays.

    Parameters
    ----------
    task : str, Task, (X, y) tuple or dict
        A name of :data:`TASKS` (``'teacher_student'``, ``'mnist'``,
        ``'permuted_mnist'``, ``'cerebellum'``); a :class:`Task` (returned as
        is); ``(X, y)`` or ``(X, y, X_test, y_test)``; or a dict with keys
        ``X``, ``y`` (and optionally ``X_test``, ``y_test``, ``kind``).
    **kw
        Arguments of the task's function (e.g. ``path=`` for MNIST,
        ``n_train=``), or of :func:`user_task` for arrays.

    Returns
    -------
    Task

    Raises
    ------
    KeyError
        An unknown task name (with the closest names).
    TypeError
        A ``task`` of another type, or arguments the task does not take.
    FileNotFoundError
        A data file that does not exist (MNIST).

    Examples
    --------
    >>> get_task("teacher_student", n_train=4, n_test=0).X_test.shape
    (0, 15)
    >>> get_task("teachr_student")
    Traceback (most recent call last):
    ...
    KeyError: "task: unknown name 'teachr_student' (did you mean 'teacher_student'?); ..."
    """
    import difflib

    if isinstance(task, Task):
        if kw:
            raise TypeError(f"get_task: arguments {sorted(kw)} given with a Task")
        return task
    if isinstance(task, dict):
        unknown = set(task) - {"X", "y", "X_test", "y_test", "kind", "hidden", "name"}
        if unknown or not {"X", "y"} <= set(task):
            raise ValueError(f"task: a dict task needs keys 'X' and 'y' (optionally 'X_test', "
                             f"'y_test', 'kind', 'hidden', 'name'), got {sorted(task)}")
        return user_task(**task, **kw)
    if isinstance(task, tuple):
        if len(task) not in (2, 4):
            raise ValueError(f"task: expected (X, y) or (X, y, X_test, y_test), got a tuple of "
                             f"{len(task)}")
        return user_task(*task, **kw)
    if not isinstance(task, str):
        raise TypeError(f"task: expected a task name (one of {sorted(TASKS)}), (X, y) or a dict, "
                        f"got {type(task).__name__}")
    key = task.strip().lower().replace("-", "_")
    if key not in TASKS:
        close = difflib.get_close_matches(key, list(TASKS), n=2, cutoff=0.5)
        hint = f" (did you mean {', '.join(repr(c) for c in close)}?)" if close else ""
        raise KeyError(f"task: unknown name {task!r}{hint}; known: {', '.join(sorted(TASKS))}")
    try:
        return TASKS[key](**kw)
    except TypeError as exc:
        if "unexpected keyword" in str(exc) or "positional argument" in str(exc):
            raise TypeError(f"task {key!r}: {exc}") from None
        raise
