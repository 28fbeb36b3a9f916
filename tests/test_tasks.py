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


# ---------------------------------------------------------------------------
# MNIST IDX files
# ---------------------------------------------------------------------------
def _idx_bytes(data, type_code=0x08):
    data = np.asarray(data)
    head = bytes([0, 0, type_code, data.ndim]) + b"".join(
        int(n).to_bytes(4, "big") for n in data.shape)
    return head + data.astype(data.dtype.newbyteorder(">")).tobytes()


def _write_idx_set(directory, n_train=7, n_test=3, gz=(), seed=0):
    """Tiny MNIST-shaped IDX files; ``gz``: roles to gzip. Returns the arrays written."""
    rng = np.random.default_rng(seed)
    arrays = {"train_images": rng.integers(0, 256, (n_train, 28, 28), dtype=np.uint8),
              "train_labels": rng.integers(0, 10, n_train, dtype=np.uint8),
              "test_images": rng.integers(0, 256, (n_test, 28, 28), dtype=np.uint8),
              "test_labels": rng.integers(0, 10, n_test, dtype=np.uint8)}
    for role, a in arrays.items():
        name = tasks.MNIST_IDX_FILES[role]
        raw = _idx_bytes(a)
        if role in gz:
            (directory / (name + ".gz")).write_bytes(gzip.compress(raw))
        else:
            (directory / name).write_bytes(raw)
    return arrays


@pytest.mark.parametrize("gz", [(), ("train_images", "train_labels", "test_images",
                                     "test_labels"), ("train_images", "test_labels")])
def test_load_mnist_idx_reads_plain_and_gzip_files(tmp_path, gz):
    a = _write_idx_set(tmp_path, gz=gz)
    Xtr, ytr, Xte, yte = tasks.load_mnist_idx(tmp_path)
    assert Xtr.shape == (7, 784) and Xte.shape == (3, 784) and ytr.dtype.kind == "i"
    np.testing.assert_array_equal(Xtr * 255, a["train_images"].reshape(7, 784))
    np.testing.assert_array_equal(Xte * 255, a["test_images"].reshape(3, 784))
    np.testing.assert_array_equal(ytr, a["train_labels"])
    np.testing.assert_array_equal(yte, a["test_labels"])
    Xtr2, ytr2, Xte2, yte2 = tasks.load_mnist_idx(str(tmp_path), n_train=4, n_test=0, scale="raw")
    np.testing.assert_array_equal(Xtr2, a["train_images"][:4].reshape(4, 784))
    np.testing.assert_array_equal(ytr2, a["train_labels"][:4])
    assert Xte2.shape == (0, 784) and yte2.shape == (0,)


def test_read_idx_types_and_doc_variant_names(tmp_path):
    f = tmp_path / "x.idx"
    data = np.arange(-6, 6, dtype=np.int16).reshape(3, 4)
    f.write_bytes(_idx_bytes(data, 0x0B))
    out = tasks.read_idx(f, ndim=2)
    np.testing.assert_array_equal(out, data)
    assert out.dtype == np.int16 and out.dtype.isnative
    floats = np.array([1.5, -2.25])
    f.write_bytes(_idx_bytes(floats, 0x0E))
    np.testing.assert_array_equal(tasks.read_idx(f), floats)
    # the dotted variant of the names (train-images.idx3-ubyte) is found too
    a = _write_idx_set(tmp_path, n_train=2, n_test=2)
    for name in tasks.MNIST_IDX_FILES.values():
        (tmp_path / name).rename(tmp_path / name.replace("-idx", ".idx"))
    np.testing.assert_array_equal(tasks.load_mnist_idx(tmp_path)[1], a["train_labels"])


def test_idx_errors_name_the_problem(tmp_path):
    a = _write_idx_set(tmp_path)
    img = tmp_path / tasks.MNIST_IDX_FILES["train_images"]
    lab = tmp_path / tasks.MNIST_IDX_FILES["train_labels"]
    good_img, good_lab = img.read_bytes(), lab.read_bytes()
    # wrong magic number: a CSV, or a byte order mark where the zeros belong
    img.write_bytes(b"1,2,3\n" + good_img[6:])
    with pytest.raises(ValueError, match=r"not an IDX file \(magic number 0x312c322c"):
        tasks.load_mnist_idx(tmp_path)
    img.write_bytes(bytes([0, 0, 0x42, 3]) + good_img[4:])  # unknown type code
    with pytest.raises(ValueError, match="not an IDX file"):
        tasks.read_idx(img)
    img.write_bytes(b"")
    with pytest.raises(ValueError, match="empty file"):
        tasks.read_idx(img)
    # images and labels swapped: wrong number of dimensions
    img.write_bytes(good_lab)
    with pytest.raises(ValueError, match="expected a 3-dimensional IDX file, got 1"):
        tasks.load_mnist_idx(tmp_path)
    # truncated data, truncated header, trailing bytes
    img.write_bytes(good_img[:-10])
    with pytest.raises(ValueError, match=r"truncated: the header announces shape \(7, 28, 28\)"):
        tasks.load_mnist_idx(tmp_path)
    img.write_bytes(good_img[:9])
    with pytest.raises(ValueError, match="truncated: 9 bytes, shorter than its 16-byte header"):
        tasks.read_idx(img)
    img.write_bytes(good_img + b"\0\0")
    with pytest.raises(ValueError, match="2 bytes after the data"):
        tasks.read_idx(img)
    # a damaged gzip file
    img.unlink()
    gzimg = tmp_path / (img.name + ".gz")
    gzimg.write_bytes(gzip.compress(good_img)[:-12])
    with pytest.raises(ValueError, match="damaged gzip file"):
        tasks.load_mnist_idx(tmp_path)
    gzimg.unlink()
    img.write_bytes(good_img)
    # mismatched counts between images and labels
    lab.write_bytes(_idx_bytes(a["train_labels"][:5]))
    with pytest.raises(ValueError, match="has 7 images but train-labels-idx1-ubyte has 5 labels"):
        tasks.load_mnist_idx(tmp_path)
    # labels out of range, images of the wrong size or type
    lab.write_bytes(_idx_bytes(np.full(7, 12, dtype=np.uint8)))
    with pytest.raises(ValueError, match="labels 0-9"):
        tasks.load_mnist_idx(tmp_path)
    lab.write_bytes(good_lab)
    img.write_bytes(_idx_bytes(np.zeros((7, 20, 20), dtype=np.uint8)))
    with pytest.raises(ValueError, match=r"shape \(20, 20\); MNIST images are uint8 of shape"):
        tasks.load_mnist_idx(tmp_path)
    img.write_bytes(good_img)
    # sizes, scale, missing files and directories
    with pytest.raises(ValueError, match="n_train: 8 exceeds the 7 images"):
        tasks.load_mnist_idx(tmp_path, n_train=8)
    with pytest.raises(ValueError, match="n_test"):
        tasks.load_mnist_idx(tmp_path, n_test=-1)
    with pytest.raises(ValueError, match="scale"):
        tasks.load_mnist_idx(tmp_path, scale="zscore")
    (tmp_path / tasks.MNIST_IDX_FILES["test_labels"]).unlink()
    with pytest.raises(FileNotFoundError, match=r"no t10k-labels-idx1-ubyte\[.gz\].*never downloads"):
        tasks.load_mnist_idx(tmp_path)
    with pytest.raises(FileNotFoundError, match="not a directory"):
        tasks.load_mnist_idx(tmp_path / "nowhere")
    with pytest.raises(TypeError, match="directory"):
        tasks.load_mnist_idx(None)
    with pytest.raises(FileNotFoundError, match="IDX file not found"):
        tasks.read_idx(tmp_path / "nowhere")
    with pytest.raises(ValueError, match="is a directory; load_mnist reads one csv"):
        tasks.load_mnist(tmp_path)
