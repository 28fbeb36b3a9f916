"""The engine: the one place that talks to Brian2 devices.

- :class:`Simulation` (:mod:`.simulation`): compile a network once, run it
  many times with new values through Brian2's ``run_args`` protocol.
- :class:`Session` (:mod:`.session`): a compiled :class:`~brian_dendrites.circuits.Circuit`
  with its initial state and chained runs (the training contract).
- :func:`cache_info` and :func:`prune_cache`: what the cache of compiled
  standalone projects holds, and removing from it.
"""

from .session import DivergenceError, Session
from .simulation import (
    TARGETS,
    RunResult,
    Simulation,
    cache_info,
    default_cache_dir,
    prune_cache,
)

__all__ = ["TARGETS", "Simulation", "RunResult", "default_cache_dir", "Session", "DivergenceError",
           "cache_info", "prune_cache"]
