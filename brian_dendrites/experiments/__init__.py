"""Reusable experiment runs: what examples, tests, benchmarks and the command line share.

Each module runs one reproduction (a paper's figure or protocol) through the
public API and returns plain numbers and tables; examples are thin scripts
that call them and plot. Import the submodules explicitly, e.g.
``from brian_dendrites.experiments import sacramento2018``.
"""
