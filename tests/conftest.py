"""Shared fixtures: a per-session cache for compiled standalone projects."""

from pathlib import Path

import pytest

#: Root of the shared data folder (``../shared/data`` beside the project).
DATA_DIR = Path(__file__).resolve().parents[1].parent / "shared" / "data"


@pytest.fixture(scope="session")
def cache_dir(tmp_path_factory):
    """Compiled standalone projects for this test session (reused across tests)."""
    return tmp_path_factory.mktemp("standalone_cache")


@pytest.fixture(scope="session")
def mnist_path():
    path = DATA_DIR / "mnist_5k.csv.gz"
    if not path.exists():
        pytest.skip(f"MNIST subset not found at {path}")
    return path


@pytest.fixture(scope="session", autouse=True)
def _numpy_codegen_for_incidental_builds():
    """Brian2 objects built outside a Simulation (a circuit built to read its initial weights,
    a plain Network) use the numpy target: under Brian's default ``'auto'`` each such build
    compiled Cython code (20-80 s per test on a fresh machine). Simulations set their own target.
    """
    from brian2 import prefs

    old = prefs.codegen.target
    prefs.codegen.target = "numpy"
    yield
    prefs.codegen.target = old
