"""Tests of brian_dendrites.tasks (teacher-student data, MNIST loader, one-hot)."""
import gzip
from pathlib import Path

import numpy as np
import pytest

from brian_dendrites import tasks
from brian_dendrites.activations import softplus_sacramento

MNIST = Path(__file__).parents[1].parent / "shared" / "data" / "mnist_5k.csv.gz"
needs_mnist = pytest.mark.skipif(not MNIST.is_file(), reason=f"MNIST subset not found at {MNIST}")


# ---------------------------------------------------------------------------
# teacher-student
# ---------------------------------------------------------------------------
def test_teacher_student_formula_and_shapes():
    d = tasks.teacher_student_regression(50, seed=3)
    assert d.X.shape == (50, 30) and d.R.shape == (50, 10) and d.U.shape == (50, 10)
    W1, W2 = d.weights
    assert W1.shape == (20, 30) and W2.shape == (10, 20)
    for a in (d.X, W1, W2):
        assert a.min() >= -1 and a.max() <= 1 and a.min() < -0.8 and a.max() > 0.8
    U = 10 * softplus_sacramento(2 * d.X @ W1.T) @ W2.T
    np.testing.assert_allclose(d.U, U, rtol=1e-12)
    np.testing.assert_allclose(d.R, softplus_sacramento(U), rtol=1e-12)


def test_teacher_student_seeds_and_teacher_reuse():
    a = tasks.teacher_student_regression(20, seed=0)
    b = tasks.teacher_student_regression(20, seed=0)
    c = tasks.teacher_student_regression(20, seed=1)
    np.testing.assert_array_equal(a.X, b.X)
    assert not np.allclose(a.X, c.X)
    test = tasks.teacher_student_regression(20, seed=7, weights=a.weights)
    for w0, w1 in zip(a.weights, test.weights):
        np.testing.assert_array_equal(w0, w1)
    assert not np.allclose(test.X, a.X)
    deep = tasks.teacher_student_regression(5, layers_teacher=(4, 3, 3, 2), seed=0)
    assert deep.R.shape == (5, 2) and len(deep.weights) == 3


def test_tasks_does_not_import_the_reference():
    """Production code must not depend on the yardsticks (brian_dendrites.reference)."""
    import ast

    tree = ast.parse(Path(tasks.__file__).read_text())
    imported = [node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)]
    imported += [alias.name for node in ast.walk(tree) if isinstance(node, ast.Import)
                 for alias in node.names]
    assert imported and not [m for m in imported if "reference" in m], imported


def test_teacher_student_type_errors():
    with pytest.raises(TypeError, match="n_samples"):
        tasks.teacher_student_regression(2.5)
    with pytest.raises(TypeError, match=r"layers_teacher\[1\]"):
        tasks.teacher_student_regression(5, layers_teacher=(30, "20", 10))
    with pytest.raises(TypeError, match="phi"):
        tasks.teacher_student_regression(5, phi=3)


@pytest.mark.parametrize("kwargs,match", [
    (dict(n_samples=0), "n_samples"),
    (dict(n_samples=-3), "n_samples"),
    (dict(n_samples=5, layers_teacher=(30,)), "layers_teacher"),
    (dict(n_samples=5, layers_teacher=(30, -1, 10)), "layers_teacher"),
    (dict(n_samples=5, gains=(1.0,)), "gains"),
    (dict(n_samples=5, weights=[np.ones((3, 4)), np.ones((2, 2))]), r"weights\[1\]"),
    (dict(n_samples=5, weights=[np.full((3, 4), np.nan)]), r"weights\[0\]"),
    (dict(n_samples=5, input_range=(1, -1)), "input_range"),
])
def test_teacher_student_validation(kwargs, match):
    with pytest.raises(ValueError, match=match):
        tasks.teacher_student_regression(**kwargs)


# ---------------------------------------------------------------------------
# one-hot
# ---------------------------------------------------------------------------
def test_one_hot_values_and_errors():
    T = tasks.one_hot(np.array([2, 0, 1]), 4)
    np.testing.assert_array_equal(T, [[0.1, 0.1, 0.8, 0.1], [0.8, 0.1, 0.1, 0.1],
                                      [0.1, 0.8, 0.1, 0.1]])
    assert tasks.one_hot([1.0, 0.0], low=0, high=1).tolist() == [[0, 1], [1, 0]]
    for bad, match in (([], "empty"), ([[0, 1]], "1-D"), ([0, -1], ">= 0"), ([0.5], "integer"),
                       ([0, np.nan], "integer")):
        with pytest.raises(ValueError, match=match):
            tasks.one_hot(bad)
    with pytest.raises(ValueError, match="n_classes"):
        tasks.one_hot([0, 3], 3)
    with pytest.raises(ValueError, match="n_classes"):
        tasks.one_hot([0], -2)


# ---------------------------------------------------------------------------
# MNIST loader
# ---------------------------------------------------------------------------
def _write_csv(path, rows):
    with gzip.open(path, "wt") as fh:
        for r in rows:
            fh.write(",".join(str(v) for v in r) + "\n")


def test_load_mnist_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="not found"):
        tasks.load_mnist(tmp_path / "missing.csv.gz")
    with pytest.raises(ValueError, match="path"):
        tasks.load_mnist(None)
    bad = tmp_path / "bad.csv.gz"
    _write_csv(bad, [[0] * 10])
    with pytest.raises(ValueError, match="785 columns"):
        tasks.load_mnist(bad, n_train=1, n_test=0)
    ok = tmp_path / "ok.csv.gz"
    rng = np.random.default_rng(0)
    rows = np.concatenate([rng.integers(0, 256, (20, 784)), np.repeat(np.arange(10), 2)[:, None]],
                          axis=1)
    _write_csv(ok, rows)
    with pytest.raises(ValueError, match="n_train"):
        tasks.load_mnist(ok, n_train=15, n_test=10)
    with pytest.raises(ValueError, match="n_test"):
        tasks.load_mnist(ok, n_train=5, n_test=-1)
    with pytest.raises(ValueError, match="scale"):
        tasks.load_mnist(ok, n_train=5, n_test=5, scale="zscore")
    Xtr, ytr, Xte, yte = tasks.load_mnist(ok, n_train=12, n_test=8, seed=1)
    assert Xtr.shape == (12, 784) and Xte.shape == (8, 784)
    assert 0 <= Xtr.min() and Xtr.max() <= 1
    assert sorted(np.concatenate([ytr, yte]).tolist()) == sorted(rows[:, -1].tolist())
    rows[0, 5] = 300
    _write_csv(ok, rows)
    with pytest.raises(ValueError, match="pixel"):
        tasks.load_mnist(ok, n_train=5, n_test=5)


@needs_mnist
def test_load_mnist_real_file_is_shuffled_and_disjoint():
    Xtr, ytr, Xte, yte = tasks.load_mnist(MNIST, n_train=4000, n_test=1000, seed=0)
    assert Xtr.shape == (4000, 784) and Xte.shape == (1000, 784)
    assert Xtr.min() == 0 and Xtr.max() == 1
    assert ytr.dtype.kind == "i" and set(np.unique(yte)) == set(range(10))
    counts = np.bincount(ytr[:500], minlength=10)
    assert counts.min() > 20  # the sorted file is shuffled before splitting
    # disjoint splits: no test image appears in the training set
    train_rows = {r.tobytes() for r in Xtr}
    assert sum(r.tobytes() in train_rows for r in Xte) < 10  # (MNIST has a few duplicates)
    again = tasks.load_mnist(MNIST, n_train=100, n_test=10, seed=0)
    np.testing.assert_array_equal(again[0], Xtr[:100])
    other = tasks.load_mnist(MNIST, n_train=100, n_test=10, seed=1)
    assert not np.array_equal(other[0], again[0])
    raw = tasks.load_mnist(MNIST, n_train=10, n_test=0, seed=0, scale="raw")[0]
    np.testing.assert_allclose(raw / 255, Xtr[:10])
