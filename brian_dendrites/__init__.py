"""brian_dendrites: learning in dendrites with Brian2.

Multi-compartment neuron models written as Brian2 equation strings
(:mod:`brian_dendrites.models`), validated model specifications
(:mod:`brian_dendrites.spec`) and a compile-once engine that runs them on
Brian2's ``numpy``, ``cython`` and ``cpp_standalone`` targets
(:mod:`brian_dendrites.engine`).

The stable public names are importable from here (`__all__`): the model
library ``models``; the specifications `Param`, `Update`, `Event`, `NeuronModel`,
`SynapseModel`; the biophysical cell builder `Cell`, `Soma`, `Dendrite`,
`Compartment`, `cable`, receptors `Receptor`, `AMPA`, `NMDA`, `GABA`, active
mechanisms `DendriticSpike`, `NMDAPlateau`, `BranchGate`, `IntegrateAndFire`,
`PoissonSpikes`, the preset `layer5_cell`; the engine's `Simulation`, `RunResult` and `Session`; `sweep` and
`NetworkSpec`; `Circuit`; the learners `Learner`,
`DendriticMicrocircuitRegressor`, `SteadyStateMicrocircuitClassifier`,
`DendriticGatedClassifier`, `DendriticGatedRegressor`,
`DeepFeedbackControlRegressor`, `DeepFeedbackControlClassifier`; the model batteries
`check_neuron_model` (and `check_synapse_model`); the rule laboratory's `compare`,
`bias_variance`, `get_rule`, `RULES`; the tasks `get_task`, `TASKS`, `Task`; `test`.
Figures are in :mod:`brian_dendrites.plots`, the command line in
:mod:`brian_dendrites.cli` (``brian-dendrites``).
Apart from the engine and `sweep` they are imported on first use, so
``import brian_dendrites`` costs little more than importing Brian2.

Examples
--------
>>> import brian_dendrites as bd
>>> model = bd.models.pyramidal_neuron()
>>> isinstance(model, bd.NeuronModel)
True
"""

import importlib
import sys
from importlib.machinery import PathFinder
from pathlib import Path

__version__ = "0.1.0"

#: Public name -> module that defines it (imported on first access).
_LAZY = {
    "Param": "spec",
    "Update": "spec",
    "Event": "spec",
    "NeuronModel": "spec",
    "SynapseModel": "spec",
    "Circuit": "circuits",
    "Learner": "learners",
    "DendriticMicrocircuitRegressor": "learners",
    "SteadyStateMicrocircuitClassifier": "learners",
    "DendriticGatedClassifier": "learners",
    "DendriticGatedRegressor": "learners",
    "DeepFeedbackControlRegressor": "learners",
    "DeepFeedbackControlClassifier": "learners",
    "check_neuron_model": "testing",
    "check_synapse_model": "testing",
    "compare": "lab",
    "bias_variance": "lab",
    "get_rule": "lab",
    "RULES": "lab",
    "get_task": "tasks",
    "TASKS": "tasks",
    "Task": "tasks",
    "Cell": "cells",
    "Soma": "cells",
    "Dendrite": "cells",
    "Compartment": "cells",
    "cable": "cells",
    "Receptor": "cells",
    "AMPA": "cells",
    "NMDA": "cells",
    "GABA": "cells",
    "DendriticSpike": "cells",
    "NMDAPlateau": "cells",
    "BranchGate": "cells",
    "IntegrateAndFire": "cells",
    "PoissonSpikes": "cells",
    "layer5_cell": "cells",
}

__all__ = ["__version__", "models", "Simulation", "RunResult", "Session", "DivergenceError", "sweep",
           "SweepInterrupted", "NetworkSpec", "test", *_LAZY]

#: In a source checkout the model library is the top-level ``models/`` folder
#: (setup.cfg installs it as ``brian_dendrites.models`` with ``package_dir``).
_SOURCE_ROOT = Path(__file__).resolve().parent.parent


class _SourceModelsFinder:
    """Import ``brian_dendrites.models`` from ``<checkout>/models`` (source runs)."""

    @staticmethod
    def find_spec(fullname, path=None, target=None):
        if fullname != f"{__name__}.models":
            return None
        return PathFinder.find_spec(fullname, [str(_SOURCE_ROOT)])


if (not (Path(__file__).resolve().parent / "models").is_dir()
        and (_SOURCE_ROOT / "models" / "__init__.py").is_file()
        and (_SOURCE_ROOT / "setup.cfg").is_file()
        and _SourceModelsFinder not in sys.meta_path):
    sys.meta_path.append(_SourceModelsFinder)


# The engine registers the Brian preference ``brian_dendrites.cache_dir``:
# imported eagerly so that the preference exists once the package is imported.
from .engine import DivergenceError, RunResult, Session, Simulation  # noqa: E402

# ``sweep`` is both a submodule and the function it defines: the function is
# bound eagerly so that ``brian_dendrites.sweep`` is the function whatever was
# imported first (``brian_dendrites.sweep`` the module stays in sys.modules).
from .sweep import NetworkSpec, SweepInterrupted, sweep  # noqa: E402


def __getattr__(name):
    if name == "models":
        return importlib.import_module(f"{__name__}.models")
    if name in _LAZY:
        module = importlib.import_module(f"{__name__}.{_LAZY[name]}")
        try:
            value = getattr(module, name)
        except AttributeError:
            raise AttributeError(
                f"module {__name__!r} has no attribute {name!r} "
                f"({__name__}.{_LAZY[name]} does not define it in this version)"
            ) from None
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(__all__))


def _doctest_module_names() -> list:
    """Names of the modules of this package and of its model library (for doctests)."""
    import pkgutil

    names = {__name__}
    for package in (sys.modules[__name__], importlib.import_module(f"{__name__}.models")):
        names.add(package.__name__)
        names.update(info.name for info in pkgutil.walk_packages(package.__path__, package.__name__ + "."))
    return sorted(names)


def _run_doctests(name) -> tuple:
    """Run the doctests of one module on Brian's ``numpy`` target.

    Returns
    -------
    failed, attempted : int
    report : str
        doctest's report of the failures.
    """
    import doctest

    from brian2 import prefs

    module = importlib.import_module(name)
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    report = []
    old_target = prefs.codegen.target
    prefs.codegen.target = "numpy"  # no Cython compilation for examples that choose no target
    try:
        for test in doctest.DocTestFinder(exclude_empty=True).find(module, name):
            runner.run(test, out=report.append)
    finally:
        prefs.codegen.target = old_target
    return runner.failures, runner.tries, "".join(report)


def test(*pytest_args) -> int:
    """Run the test suite of ``brian_dendrites``.

    In a source checkout (or an editable install) this runs pytest on the
    repository's ``tests/`` folder with its configuration (``setup.cfg``:
    slow tests deselected, doctests included through
    ``tests/test_doctests.py``). An installed package carries no ``tests/``
    folder; then the doctests of the installed ``brian_dendrites`` and
    ``brian_dendrites.models`` run (with :mod:`doctest`: pytest's
    ``--doctest-modules`` is patched by Brian2 and fails on packages).

    Parameters
    ----------
    *pytest_args : str
        Extra command-line arguments for pytest, e.g. ``'-x'``,
        ``'-k', 'engine'`` or ``'-m', 'slow'`` (source checkouts only).

    Returns
    -------
    int
        0 if all tests passed (pytest's exit code for a checkout).

    Examples
    --------
    >>> import brian_dendrites
    >>> brian_dendrites.test('-q', '-k', 'public_api')  # doctest: +SKIP
    0
    """
    bad = [a for a in pytest_args if not isinstance(a, str)]
    if bad:
        raise TypeError(f"pytest_args must be strings, got {bad!r}")
    tests = _SOURCE_ROOT / "tests"
    if tests.is_dir() and (_SOURCE_ROOT / "setup.cfg").is_file():
        import pytest

        return int(pytest.main([str(tests), "--rootdir", str(_SOURCE_ROOT), *pytest_args]))
    failed = attempted = 0
    for name in _doctest_module_names():
        f, t, report = _run_doctests(name)
        failed, attempted = failed + f, attempted + t
        print(report, end="")
    print(f"doctests: {attempted - failed} passed, {failed} failed")
    return int(failed > 0)
