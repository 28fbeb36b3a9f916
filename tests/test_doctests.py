"""Run the doctests of every module of ``brian_dendrites`` and ``models/``.

The model library is installed as ``brian_dendrites.models`` with
``package_dir`` (setup.cfg), so the modules are found by walking the imported
packages rather than the file system; ``examples/`` and ``benchmarks/`` are
not packages and are never collected. Doctests run with Brian's
``codegen.target`` set to ``'numpy'`` (no Cython compilation for examples
that do not choose a target). ``brian_dendrites.test()`` runs the same
helpers for an installed package.
"""

import pytest

import brian_dendrites


@pytest.mark.parametrize("name", brian_dendrites._doctest_module_names())
def test_doctests(name):
    failed, attempted, report = brian_dendrites._run_doctests(name)
    if not attempted:
        pytest.skip("no doctests")
    assert failed == 0, report
