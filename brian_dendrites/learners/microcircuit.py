"""Learner of the Sacramento et al. (2018) microcircuit in continuous time (rate mode)."""

from __future__ import annotations

import numpy as np
from brian2 import ms

from ..circuits import dendritic_microcircuit
from .base import Learner

__all__ = ["DendriticMicrocircuitRegressor"]


class DendriticMicrocircuitRegressor(Learner):
    """Sacramento et al. (2018) microcircuit trained in continuous time (``rate`` mode).

    Each sample is presented for ``t_pattern`` with the output nudged toward
    its target potential; all plasticity runs continuously (no phases).
    Predictions are the output somatic potentials at the end of each
    presentation with the teacher and plasticity off.

    Parameters
    ----------
    layers : sequence of int
        ``[n_in, ..., n_out]``.
    t_pattern : Quantity (second)
        Presentation time per sample (paper: 100 ms).
    chunk : int
        Samples per engine run (the TimedArray length; fixed at build time).
    eta_PP, eta_IP, eta_PI, eta_TD : float (1/ms)
        Learning rates (see :func:`~brian_dendrites.circuits.dendritic_microcircuit`).
    self_predicting : bool
        Start in the self-predicting state.
    target : str
        Brian2 target (``'cpp_standalone'``, ``'numpy'``, ``'cython'``).
    seed : int
        Seed of initial weights, sample order and noise.
    **circuit_kwargs
        Further arguments of :func:`~brian_dendrites.circuits.dendritic_microcircuit`
        (conductances, ``activation``, ``learn_topdown``, ``weight_scale``...).

    Examples
    --------
    >>> import numpy as np
    >>> from brian2 import ms
    >>> net = DendriticMicrocircuitRegressor([3, 4, 2], t_pattern=5*ms, chunk=4,
    ...                                      target='numpy', progress=False)
    >>> X, Y = np.ones((4, 3)), np.ones((4, 2))
    >>> net.fit(X, Y).predict(X).shape
    (4, 2)
    """

    _params = ("layers", "t_pattern", "chunk", "eta_PP", "eta_IP", "eta_PI", "eta_TD",
               "self_predicting", "target", "seed", "circuit_kwargs")

    def __init__(self, layers, t_pattern=100 * ms, chunk=20, eta_PP=1e-3, eta_IP=2e-4,
                 eta_PI=5e-4, eta_TD=0.0, self_predicting=True, target="cpp_standalone",
                 seed=0, progress=True, cache_dir=None, circuit_kwargs=None, **kwargs):
        super().__init__(chunk=chunk, target=target, seed=seed, progress=progress,
                         cache_dir=cache_dir)
        self.layers = list(layers)
        self.t_pattern = t_pattern
        self.eta_PP, self.eta_IP, self.eta_PI, self.eta_TD = eta_PP, eta_IP, eta_PI, eta_TD
        self.self_predicting = self_predicting
        self.circuit_kwargs = {**(circuit_kwargs or {}), **kwargs}
        # validate everything now (cheap: builds the Python objects, compiles nothing)
        self._discard(self._build(1))

    def _t_pattern(self):
        return self.t_pattern

    def _build(self, n_patterns):
        return dendritic_microcircuit(
            self.layers, n_patterns=n_patterns, t_pattern=self.t_pattern, eta_PP=self.eta_PP,
            eta_IP=self.eta_IP, eta_PI=self.eta_PI, eta_TD=self.eta_TD,
            self_predicting=self.self_predicting, seed=self.seed, **self.circuit_kwargs)

    def _read_keys(self):
        L = len(self.layers) - 1
        return ["out_mon.u", f"pyr{L}.u"]

    def _outputs(self, res):
        L = len(self.layers) - 1
        samples = res["out_mon.u"]  # (n_out, n_patterns): at t = 0, T, 2T, ...
        ends = np.concatenate([samples[:, 1:], res[f"pyr{L}.u"][:, None]], axis=1)
        return ends.T

    def _loss(self, out, Y):
        """Mean squared error of output potentials."""
        return float(np.mean((out - Y) ** 2))
