"""Shared fixtures: a per-session cache for compiled standalone projects."""

import os
from pathlib import Path

import pytest

#: Root of the shared data folder (``../shared/data`` beside the project).
DATA_DIR = Path(__file__).resolve().parents[1].parent / "shared" / "data"


#: Files holding the longest default-suite tests (measured on CI): collected first, so that
#: pytest-xdist (``--dist loadfile``) starts them first instead of leaving one worker with
#: a long file at the end while the other idles.
HEAVY_FIRST = ("test_reproductions.py", "test_dgn.py", "test_reliability_engine.py",
               "test_dense.py", "test_microcircuit.py", "test_float32.py", "test_learners.py")


def pytest_collection_modifyitems(config, items):
    rank = {name: i for i, name in enumerate(HEAVY_FIRST)}
    items.sort(key=lambda item: rank.get(item.path.name, len(rank)))  # stable: keeps file order


@pytest.fixture(scope="session")
def cache_dir(tmp_path_factory):
    """Compiled standalone projects for this test session (reused across tests).

    Under pytest-xdist the workers share one folder (the engine locks each
    project while compiling it), so no project is compiled twice.
    """
    if not os.environ.get("PYTEST_XDIST_WORKER"):
        return tmp_path_factory.mktemp("standalone_cache")
    shared = tmp_path_factory.getbasetemp().parent / "standalone_cache"
    shared.mkdir(exist_ok=True)
    return shared


#: The example scripts (run as a user runs them, by path: they are not a package).
EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


@pytest.fixture(scope="session")
def run_example():
    """``run_example(name, argv)``: an example script's ``main(argv)``, loaded from its file."""
    import runpy

    def run(name, argv):
        return runpy.run_path(str(EXAMPLES / f"{name}.py"), run_name="example")["main"](argv)

    return run


@pytest.fixture
def standalone_device(tmp_path):
    """``standalone_device(threads=0)``: cpp_standalone active (build_on_run=False, dt 0.1 ms,
    ``threads`` OpenMP threads); the build directory is ``tmp_path``. Everything is reset after
    the test (``device.reinit()``, then the runtime device and ``reinit_devices()``), which
    makes several standalone builds in one pytest process reliable.

    ``reinit_devices()`` also restores every Brian2 preference to its value at
    import (``restore_initial_state``): the codegen target the session set
    (numpy) is put back, else every later test of the worker that builds a
    Brian2 object compiled Cython under ``'auto'`` (1-2 minutes per test in a
    fresh CI environment, whose Cython cache is keyed by the new venv's Python).
    The build runs ``make`` with at most two jobs (Brian2's bare ``-j`` starts
    ~20 compilers at once; CI measured load averages of 20-30 beside the other
    worker).
    """
    from brian2 import defaultclock, get_device, ms, prefs, set_device

    from brian_dendrites._brian_compat import reinit_devices, reset_device

    target = prefs.codegen.target

    def activate(threads=0):
        set_device("cpp_standalone", build_on_run=False)
        prefs.devices.cpp_standalone.openmp_threads = threads
        prefs.devices.cpp_standalone.extra_make_args_unix = ["-j2"]
        defaultclock.dt = 0.1 * ms
        return tmp_path

    yield activate
    prefs.devices.cpp_standalone.openmp_threads = 0
    get_device().reinit()
    reset_device()
    reinit_devices()
    prefs.codegen.target = target


@pytest.fixture
def build_standalone():
    """``build_standalone(directory)``: generate, compile and run the active
    cpp_standalone project the way the engine does.

    Same steps as ``device.build(directory, compile=True, run=True)``, but the
    common headers are precompiled once (``use_precompiled_header``, whose object
    files are byte-identical to Brian2's makefile): a test project of 40-60 code
    objects compiled in 20-30 s with Brian2's makefile.
    """
    from brian2 import get_device

    from brian_dendrites._brian_compat import compile_project, use_precompiled_header

    def build(directory):
        device = get_device()
        directory = str(directory)
        device.build(directory=directory, compile=False, run=False)
        assert use_precompiled_header(directory), "the project does not look as expected"
        compile_project(device, directory)
        device.run(directory, with_output=False)

    return build


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


#: ``BD_TEST_TIMELINE=path``: one line per test appended to ``path`` (worker, start and end
#: wall-clock seconds, Brian2's codegen target during the call, 1-min load, MB available,
#: test id). Shows what ran beside a test that is slow only inside the suite.
_TIMELINE = os.environ.get("BD_TEST_TIMELINE")
_TARGET = pytest.StashKey[str]()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_call(item):
    if _TIMELINE:
        from brian2 import prefs

        item.stash[_TARGET] = prefs.codegen.target
    yield


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item, nextitem):
    if not _TIMELINE:
        yield
        return
    import time

    t0 = time.time()
    yield
    target = item.stash.get(_TARGET, "-")
    try:  # Linux; elsewhere the column is -1
        with open("/proc/meminfo") as f:
            avail = next(int(line.split()[1]) // 1024 for line in f
                         if line.startswith("MemAvailable"))
    except (OSError, StopIteration):
        avail = -1
    line = (f"{os.environ.get('PYTEST_XDIST_WORKER', 'main')}\t{t0:.1f}\t{time.time():.1f}\t"
            f"{target}\t{os.getloadavg()[0]:.1f}\t{avail}\t{item.nodeid}\n")
    with open(_TIMELINE, "a") as f:
        f.write(line)
