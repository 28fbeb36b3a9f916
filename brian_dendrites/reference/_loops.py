"""Loop helpers shared by the NumPy yardsticks (progress bars, shuffled mini-batches)."""

import numpy as np

__all__ = ["maybe_progress", "epoch_batches"]


def maybe_progress(iterable, progress):
    """Wrap ``iterable`` in a :func:`tqdm.auto.tqdm` bar if ``progress`` is true.

    Parameters
    ----------
    iterable : iterable
    progress : bool

    Returns
    -------
    iterable
    """
    if progress:
        from tqdm.auto import tqdm

        return tqdm(iterable)
    return iterable


def epoch_batches(n, batch_size, rng, shuffle=True):
    """Index arrays of the mini-batches of one epoch over ``n`` samples.

    Parameters
    ----------
    n : int
        Number of samples.
    batch_size : int
        Samples per batch (the last batch may be smaller).
    rng : numpy.random.Generator
        Draws the permutation (only if ``shuffle``).
    shuffle : bool
        Permute the samples (default) or keep their order.

    Returns
    -------
    list of numpy.ndarray
    """
    order = rng.permutation(n) if shuffle else np.arange(n)
    return [order[s:s + batch_size] for s in range(0, n, batch_size)]
