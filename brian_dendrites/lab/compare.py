"""Compare learning rules on a task: trajectories, angles to the gradient, bias and variance.

:func:`compare` trains every rule along its own trajectory, one sample at a
time, from the same initial weights per seed, and measures at regular steps
the loss and how the rule's updates point relative to the backprop gradient
(and, for DFC, to the Gauss-Newton update). :func:`bias_variance` freezes the
weights and looks at many single-sample updates of each rule: how far their
mean is from the full-batch gradient (bias) and how much they scatter
(variance), the two quantities by which Richards et al. (2019) compare
biologically plausible rules.

Both return tidy :class:`pandas.DataFrame` s (one row per measurement) for
plotting with :mod:`pandas` or :mod:`brian_dendrites.plots`.

Angles are in degrees between a rule's update ``dW`` and the *negative*
gradient ``-dL/dW`` (0: the rule moves the weights down the gradient; 90:
orthogonal; 180: up the gradient), per layer (matrices flattened) and for
all layers together (``layer = 'all'``, the concatenated vector).

References
----------
.. [1] B. A. Richards et al., "A deep learning framework for neuroscience",
   Nat. Neurosci. 22, 1761-1770, 2019 (bias and variance of learning rules).
.. [2] A. Meulemans et al., NeurIPS 2021 (DFC approximates Gauss-Newton).
"""

from __future__ import annotations

import copy
import numbers

import numpy as np
import pandas as pd

from .. import _validation as _v
from ..tasks import Task, get_task, one_hot
from .rules import Rule, get_rule, init_weights

__all__ = ["compare", "bias_variance", "COMPARE_COLUMNS", "BIAS_VARIANCE_COLUMNS"]

#: Columns of the table :func:`compare` returns.
COMPARE_COLUMNS = ("rule", "seed", "step", "layer", "loss", "cosine", "angle_deg", "norm_ratio",
                   "angle_gn_deg")

#: Columns of the table :func:`bias_variance` returns.
BIAS_VARIANCE_COLUMNS = ("rule", "seed", "layer", "n_updates", "bias_angle_deg", "bias_cosine",
                         "single_angle_deg", "spread_angle_deg", "rel_variance", "norm_ratio")


# ---------------------------------------------------------------- helpers
def _rule_specs(rules) -> list:
    """``rules`` as a list of picklable specs: a Rule, or ``(name, kwargs)``."""
    if isinstance(rules, str):
        rules = [r.strip() for r in rules.split(",") if r.strip()]
    elif isinstance(rules, Rule):
        rules = [rules]
    elif isinstance(rules, dict):
        rules = list(rules.items())
    if not hasattr(rules, "__iter__"):
        raise TypeError(f"rules: expected a rule name, a Rule or a list of them, got "
                        f"{type(rules).__name__}")
    specs = []
    for i, spec in enumerate(rules):
        if isinstance(spec, tuple) and len(spec) == 2 and isinstance(spec[1], dict):
            get_rule(spec[0], **spec[1])  # validate now, in this process
            specs.append((spec[0], dict(spec[1])))
        elif isinstance(spec, (str, Rule)):
            get_rule(spec)
            specs.append(spec)
        else:
            raise TypeError(f"rules[{i}]: expected a name, a Rule or (name, kwargs), got {spec!r}")
    if not specs:
        raise ValueError("rules: expected at least one rule")
    return specs


def _make_rule(spec) -> Rule:
    if isinstance(spec, Rule):
        return copy.deepcopy(spec)
    if isinstance(spec, tuple):
        return get_rule(spec[0], **spec[1])
    return get_rule(spec)


def _resolve_task(task, task_kw) -> Task:
    if isinstance(task, Task):
        if task_kw:
            raise TypeError("task_kw: only with a task name")
        return task
    return get_task(task, **(task_kw or {}))


def _targets(task: Task, y):
    """Network targets: one-hot (0/1) rows for classification, 2-D columns for regression."""
    if task.kind == "classification":
        return one_hot(y, task.n_outputs, low=0.0, high=1.0)
    y = np.asarray(y, dtype=float)
    return y[:, None] if y.ndim == 1 else y


def _layers(task: Task, layers):
    if layers is None:
        return list(task.layers)
    layers = _v.check_layers(layers)
    if layers[0] != task.X_train.shape[1] or layers[-1] != task.n_outputs:
        raise ValueError(f"layers: the task {task.name!r} needs {task.X_train.shape[1]} inputs "
                         f"and {task.n_outputs} outputs, got {layers}")
    return layers


def _seeds(seeds) -> list:
    if isinstance(seeds, numbers.Integral) and not isinstance(seeds, bool):
        return list(range(_v.check_int(seeds, "seeds", minimum=1)))
    if isinstance(seeds, (str, bytes)) or not hasattr(seeds, "__iter__"):
        raise TypeError(f"seeds: expected a number of seeds or a list of seeds, got {seeds!r}")
    out = [_v.check_seed(s, "seeds[]", allow_none=False) for s in seeds]
    if not out:
        raise ValueError("seeds: expected at least one seed")
    return out


def _flat(arrays):
    """Per-sample concatenation of per-layer stacks ``(n, ...)`` -> ``(n, total)``."""
    return np.concatenate([a.reshape(a.shape[0], -1) for a in arrays], axis=1)


def _angles(U, G):
    """Per-sample cosine, angle (degrees) and norm ratio of rows of ``U`` to rows of ``G``."""
    nu, ng = np.linalg.norm(U, axis=1), np.linalg.norm(G, axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        cos = np.where((nu > 0) & (ng > 0), np.sum(U * G, axis=1) / (nu * ng), np.nan)
        ratio = np.where(ng > 0, nu / ng, np.nan)
    cos = np.clip(cos, -1.0, 1.0)
    return cos, np.degrees(np.arccos(cos)), ratio


def _nanmean(a):
    a = np.asarray(a, dtype=float)
    return float(np.mean(a[np.isfinite(a)])) if np.any(np.isfinite(a)) else float("nan")


def _gauss_newton(rule, weights, X, Y):
    """Per-sample damped Gauss-Newton (minimum-norm) weight updates, per layer (biases left out)."""
    from ..reference.dfc import ReferenceDFC

    layers = [weights[0].shape[1]] + [w.shape[0] for w in weights]
    ref = ReferenceDFC(layers, weights, activation=rule.activation,
                       output_activation=rule.output_activation, lam=1.0)
    per = [ref.gauss_newton_update(x, y) for x, y in zip(X, Y)]
    return [np.stack([p[k][0] for p in per]) for k in range(len(weights))]


def _measure(rule, weights, Xp, Yp, Xe, Ye):
    """Rows (without rule/seed/step) of one measurement: loss on the evaluation set, angles on probes."""
    loss = rule.loss(weights, Xe, Ye)
    names = list(rule.layer_names)
    if not rule.mlp_shaped:
        return [dict(layer=name, loss=loss, cosine=np.nan, angle_deg=np.nan, norm_ratio=np.nan,
                     angle_gn_deg=np.nan) for name in [*names, "all"]]
    U = rule.sample_updates(weights, Xp, Yp)
    G = [-g for g in rule.gradients(weights, Xp, Yp)]
    GN = _gauss_newton(rule, weights, Xp, Yp) if rule.gauss_newton else None
    rows = []
    for k, name in enumerate([*names, "all"]):
        u = _flat(U) if name == "all" else U[k].reshape(len(Xp), -1)
        g = _flat(G) if name == "all" else G[k].reshape(len(Xp), -1)
        cos, ang, ratio = _angles(u, g)
        gn = np.nan
        if GN is not None:
            d = _flat(GN) if name == "all" else GN[k].reshape(len(Xp), -1)
            gn = _nanmean(_angles(u, d)[1])
        rows.append(dict(layer=name, loss=loss, cosine=_nanmean(cos), angle_deg=_nanmean(ang),
                         norm_ratio=_nanmean(ratio), angle_gn_deg=gn))
    return rows


def _seed_job(job, cache=None):
    """One seed of :func:`compare`: every rule's trajectory and measurements (runs in a worker)."""
    task, seed = job["task"], job["seed"]
    X, Y = task.X_train, _targets(task, task.y_train)
    if len(task.X_test):
        Xe, Ye = task.X_test[:job["n_eval"]], _targets(task, task.y_test)[:job["n_eval"]]
    else:
        Xe, Ye = X[:job["n_eval"]], Y[:job["n_eval"]]
    rng = np.random.default_rng(seed)
    probe = rng.permutation(len(X))[:job["n_probe"]]
    Xp, Yp = X[probe], Y[probe]
    n_cycles = -(-job["steps"] // len(X)) if job["steps"] else 0
    order = np.concatenate([rng.permutation(len(X)) for _ in range(n_cycles)] or [np.zeros(0, int)])
    shared = init_weights(job["layers"], seed, job["weight_scale"])
    rows = []
    for spec in job["rules"]:
        rule = _make_rule(spec)
        own = rule.init_weights(job["layers"], seed, X, Y) if not rule.mlp_shaped else None
        W = [w.copy() for w in (own if own is not None else shared)]
        rule.start(W, X, Y, seed)
        every = job["measure_every"]
        steps = range(job["steps"] + 1)
        if job.get("step_progress"):  # this process only (serial): a bar per rule
            from tqdm.auto import tqdm

            steps = tqdm(steps, desc=f"{rule.name} (seed {seed})", unit="step", leave=False)
        for step in steps:
            if step % every == 0 or step == job["steps"]:
                for row in _measure(rule, W, Xp, Yp, Xe, Ye):
                    rows.append(dict(rule=rule.name, seed=seed, step=step, **row))
                if not np.isfinite(rows[-1]["loss"]):
                    break  # diverged: no further steps
            if step < job["steps"]:
                i = order[step]
                W = rule.apply(W, [u[0] for u in rule.sample_updates(W, X[i:i + 1], Y[i:i + 1])])
                if not all(np.all(np.isfinite(w)) for w in W):  # diverged: one NaN row, stop
                    rows += [dict(rule=rule.name, seed=seed, step=step + 1, layer=name,
                                  loss=np.nan, cosine=np.nan, angle_deg=np.nan,
                                  norm_ratio=np.nan, angle_gn_deg=np.nan)
                             for name in [*rule.layer_names, "all"]]
                    break
    return {"rows": rows}


def _executor(executor):
    from ..sweep import _Dask, _Pool, _Serial

    if executor is None or (isinstance(executor, numbers.Integral) and not isinstance(executor, bool)
                            and executor == 1):
        return _Serial()
    if isinstance(executor, numbers.Integral) and not isinstance(executor, bool):
        return _Pool(_v.check_int(executor, "executor", minimum=1))
    if hasattr(executor, "submit") and hasattr(executor, "run"):
        return _Dask(executor)
    raise TypeError(f"executor: expected None (this process), a number of worker processes or a "
                    f"dask.distributed.Client, got {type(executor).__name__}")


def _run_jobs(jobs, executor, progress, desc):
    ex = _executor(executor)
    from tqdm.auto import tqdm

    results = [None] * len(jobs)
    try:
        with tqdm(total=len(jobs), disable=not progress, desc=desc, unit="seed") as bar:
            for i, out in ex.map_unordered(_seed_job if desc == "compare" else _bias_job,
                                           [(i, (job,)) for i, job in enumerate(jobs)]):
                if "rows" not in out:
                    raise RuntimeError(f"{desc}: seed {jobs[i]['seed']} failed in its worker: "
                                       f"{out.get('error')}")
                results[i] = out["rows"]
                bar.update(1)
    except BaseException:
        ex.close(abort=True)
        raise
    ex.close()
    return [row for rows in results for row in rows]


# ---------------------------------------------------------------- compare
def compare(rules, task="teacher_student", seeds=5, steps=1000, measure_every=100, n_probe=20,
            n_eval=500, layers=None, weight_scale=1.0, task_kw=None, executor=None,
            progress=False) -> pd.DataFrame:
    """Train rules on a task from the same weights; loss and update angles along the way.

    For every seed: the initial weights (:func:`~brian_dendrites.lab.rules.init_weights`
    of ``layers``, the seed), the order of the training samples and a probe
    set of ``n_probe`` training samples are drawn once and shared by all
    rules. Each rule then takes ``steps`` online steps (one sample each,
    ``W <- W + dW``) along its own trajectory. At step 0, every
    ``measure_every`` steps and at the end the rule is measured: its loss on
    (up to ``n_eval`` samples of) the test set (the training set if the task
    has none), and on the probe samples its per-sample updates from the
    current weights (not applied) against the per-sample backprop gradients
    of the rule's network.

    Parameters
    ----------
    rules : str, Rule, or list of them (or of ``(name, kwargs)``)
        Rule names of :data:`~brian_dendrites.lab.rules.RULES` (or aliases
        ``bp``, ``fa``, ``np``, ``wp``; one string may list several,
        ``'bp,fa'``), rule objects, or ``(name, kwargs)`` pairs, e.g.
        ``('dfc', {'target': 'numpy'})``.
    task : str, Task, (X, y) or dict
        A task of :func:`~brian_dendrites.tasks.get_task` (default the
        teacher-student regression); classification targets become one-hot
        0/1 rows.
    seeds : int or sequence of int
        Number of seeds (``0..seeds-1``) or the seeds.
    steps : int >= 0
        Training samples per trajectory.
    measure_every : int >= 1
        Steps between measurements.
    n_probe : int >= 1
        Probe samples of the angle measurements.
    n_eval : int >= 1
        Evaluation samples of the loss.
    layers : sequence of int, optional
        Network sizes (default: the task's suggestion).
    weight_scale : float
        Scale of the initial weights.
    task_kw : dict, optional
        Arguments of :func:`~brian_dendrites.tasks.get_task` for a task name.
    executor : None, int or dask.distributed.Client
        Where the seeds run: in this process (None or 1), in that many local
        worker processes, or on a dask cluster (the executors of
        :func:`brian_dendrites.sweep`; workers end with the call, also on
        Ctrl-C or an error).
    progress : bool
        A progress bar over seeds (and, in this process, over each rule's steps).

    Returns
    -------
    pandas.DataFrame
        Tidy rows ``rule, seed, step, layer, loss, cosine, angle_deg,
        norm_ratio, angle_gn_deg`` (:data:`COMPARE_COLUMNS`), one per
        measurement and layer (``W1``, ``W2``, ..., and ``all``):

        - ``loss``: the rule's mean loss (``0.5 ||r_L - y||^2`` for the MLP
          rules; see each rule) on the evaluation samples;
        - ``cosine``, ``angle_deg``: means over the probe samples of the
          cosine and angle between the rule's update and the negative
          gradient of the same sample;
        - ``norm_ratio``: mean ``||dW|| / ||dL/dW||`` (the rule's effective
          learning rate; ``lr`` for backprop);
        - ``angle_gn_deg``: mean angle to the damped Gauss-Newton
          (minimum-norm) update of the same sample, computed by
          :meth:`~brian_dendrites.reference.ReferenceDFC.gauss_newton_update`
          (weights only), for DFC rules; NaN for the others.

        Rules that are not MLP-shaped (``dgn``) have NaN angles. A
        trajectory whose loss became NaN/inf stops there.

    Raises
    ------
    KeyError
        Unknown rule or task name.
    TypeError, ValueError
        Malformed arguments (named).

    Examples
    --------
    >>> df = compare(["backprop", "fa"], "teacher_student", seeds=1, steps=20, measure_every=10,
    ...              n_probe=4, task_kw=dict(n_train=50, n_test=20))
    >>> sorted(df["rule"].unique()), [int(s) for s in sorted(df["step"].unique())]
    (['backprop', 'feedback_alignment'], [0, 10, 20])
    >>> float(df.query("rule == 'backprop'")["angle_deg"].max()) < 1e-6
    True
    """
    specs = _rule_specs(rules)
    task = _resolve_task(task, task_kw)
    seeds = _seeds(seeds)
    steps = _v.check_int(steps, "steps", minimum=0)
    measure_every = _v.check_int(measure_every, "measure_every", minimum=1)
    n_probe = _v.check_int(n_probe, "n_probe", minimum=1)
    n_eval = _v.check_int(n_eval, "n_eval", minimum=1)
    layers = _layers(task, layers)
    weight_scale = _v.check_nonnegative(weight_scale, "weight_scale")
    _v.check_bool(progress, "progress")
    serial = executor is None or (isinstance(executor, numbers.Integral) and executor == 1)
    jobs = [dict(task=task, seed=seed, rules=specs, steps=steps, measure_every=measure_every,
                 n_probe=n_probe, n_eval=n_eval, layers=layers, weight_scale=weight_scale,
                 step_progress=bool(progress and serial)) for seed in seeds]
    rows = _run_jobs(jobs, executor, progress, "compare")
    df = pd.DataFrame(rows, columns=list(COMPARE_COLUMNS))
    df.attrs.update(task=task.name, layers=list(layers), steps=steps)
    return df


# ------------------------------------------------------------ bias/variance
def _bias_job(job, cache=None):
    """One seed of :func:`bias_variance` (runs in a worker)."""
    task, seed = job["task"], job["seed"]
    X, Y = task.X_train, _targets(task, task.y_train)
    if job["n_batch"] is not None:
        X, Y = X[:job["n_batch"]], Y[:job["n_batch"]]
    rng = np.random.default_rng([seed, 3])
    N = max(job["n_updates"])
    idx = rng.integers(0, len(X), size=N)
    rows = []
    for spec in job["rules"]:
        rule = _make_rule(spec)
        if not rule.mlp_shaped:
            raise ValueError(f"bias_variance: rule {rule.name!r} is not an MLP (no gradient "
                             "of the same network to compare with)")
        W = job["weights"] if job["weights"] is not None else init_weights(
            job["layers"], seed, job["weight_scale"])
        W = [np.asarray(w, dtype=float).copy() for w in W]
        rule.start(W, X, Y, seed)
        U = rule.sample_updates(W, X[idx], Y[idx])
        g = [-x for x in rule.gradient(W, X, Y)]
        names = list(rule.layer_names)
        for k, name in enumerate([*names, "all"]):
            u = _flat(U) if name == "all" else U[k].reshape(N, -1)
            gv = np.concatenate([x.ravel() for x in g]) if name == "all" else g[k].ravel()
            single = _angles(u, np.broadcast_to(gv, u.shape))[1]
            for n in job["n_updates"]:
                mean = u[:n].mean(axis=0)
                cos, ang, ratio = _angles(mean[None], gv[None])
                spread = _angles(u[:n], np.broadcast_to(mean, (n, mean.size)))[1]
                m2 = float(mean @ mean)
                var = float(np.mean(np.sum((u[:n] - mean) ** 2, axis=1)))
                rows.append(dict(rule=rule.name, seed=seed, layer=name, n_updates=int(n),
                                 bias_angle_deg=float(ang[0]), bias_cosine=float(cos[0]),
                                 single_angle_deg=_nanmean(single[:n]),
                                 spread_angle_deg=_nanmean(spread),
                                 rel_variance=var / m2 if m2 > 0 else np.nan,
                                 norm_ratio=float(ratio[0])))
    return {"rows": rows}


def bias_variance(rules, task="teacher_student", n_updates=(1, 10, 100, 1000), seeds=1,
                  weights=None, n_batch=None, layers=None, weight_scale=1.0, task_kw=None,
                  executor=None, progress=False) -> pd.DataFrame:
    r"""Bias and variance of rules' single-sample updates relative to the full-batch gradient.

    For a fixed weight state ``W`` (``weights``, else the initial weights of
    each seed) and the training set ``D`` (its first ``n_batch`` samples),
    every rule makes ``N = max(n_updates)`` single-sample updates
    ``u_1..u_N`` from ``W``, on samples drawn uniformly with replacement
    from ``D`` (the same draws for every rule of a seed; stochastic rules
    draw their own noise). The yardstick is the negative full-batch
    gradient ``-g``, ``g = (1/|D|) sum_{(x,y) in D} dL/dW``. For every ``n``
    in ``n_updates``, with the mean update ``m_n = (1/n) sum_{i<=n} u_i``:

    - ``bias_angle_deg`` = angle(``m_n``, ``-g``): the bias (Richards et al.
      2019, Fig. 3). For an unbiased rule it shrinks toward 0 as ``n``
      grows; for a biased one it levels off above 0;
    - ``bias_cosine``: its cosine;
    - ``single_angle_deg`` = mean over ``i <= n`` of angle(``u_i``, ``-g``):
      how far a single update is from the gradient;
    - ``spread_angle_deg`` = mean over ``i <= n`` of angle(``u_i``, ``m_n``);
    - ``rel_variance`` = ``(1/n) sum_i ||u_i - m_n||^2 / ||m_n||^2``: the
      trace of the updates' covariance normalised by the squared norm of
      their mean (scale-free; 0 for identical updates);
    - ``norm_ratio`` = ``||m_n|| / ||g||``.

    Angles are in degrees, per layer and for all layers (``'all'``).
    Backprop's own single-sample updates differ from ``-g`` by sampling
    alone: compare a rule's numbers with backprop's row.

    Parameters
    ----------
    rules : str, Rule, or list of them (or of ``(name, kwargs)``)
        As for :func:`compare` (MLP-shaped rules only).
    task : str, Task, (X, y) or dict
        As for :func:`compare`.
    n_updates : sequence of int
        Numbers of updates averaged (prefixes of the same draws).
    seeds : int or sequence of int
        Seeds (initial weights if ``weights`` is None, sample draws, noise).
    weights : list of ndarray, optional
        The fixed weight state (default: :func:`~brian_dendrites.lab.rules.init_weights`).
    n_batch : int, optional
        Use the first ``n_batch`` training samples as ``D`` (default all).
    layers, weight_scale, task_kw, executor, progress
        As for :func:`compare`.

    Returns
    -------
    pandas.DataFrame
        Tidy rows :data:`BIAS_VARIANCE_COLUMNS`: ``rule, seed, layer,
        n_updates, bias_angle_deg, bias_cosine, single_angle_deg,
        spread_angle_deg, rel_variance, norm_ratio``.

    References
    ----------
    Richards et al. (2019), Nat. Neurosci. 22, Box 1 and Fig. 3 (bias and
    variance of learning rules' updates relative to the gradient).

    Examples
    --------
    >>> df = bias_variance(["np"], "teacher_student", n_updates=(10, 2000),
    ...                    task_kw=dict(n_train=50, n_test=1))
    >>> a = df.query("layer == 'all'").set_index("n_updates")["bias_angle_deg"]
    >>> bool(a[2000] < a[10])
    True
    """
    specs = _rule_specs(rules)
    task = _resolve_task(task, task_kw)
    seeds = _seeds(seeds)
    if isinstance(n_updates, numbers.Integral):
        n_updates = [n_updates]
    n_updates = sorted({_v.check_int(n, "n_updates[]", minimum=1) for n in n_updates})
    if not n_updates:
        raise ValueError("n_updates: expected at least one number of updates")
    layers = _layers(task, layers)
    if weights is not None:
        weights = _v.check_weight_chain(weights, "weights")
        shape = [weights[0].shape[1]] + [w.shape[0] for w in weights]
        if shape != list(layers):
            raise ValueError(f"weights: shapes give layers {shape}, the task needs {layers}")
    if n_batch is not None:
        n_batch = _v.check_int(n_batch, "n_batch", minimum=1)
    weight_scale = _v.check_nonnegative(weight_scale, "weight_scale")
    jobs = [dict(task=task, seed=seed, rules=specs, n_updates=n_updates, weights=weights,
                 n_batch=n_batch, layers=layers, weight_scale=weight_scale) for seed in seeds]
    rows = _run_jobs(jobs, executor, progress, "bias_variance")
    return pd.DataFrame(rows, columns=list(BIAS_VARIANCE_COLUMNS))
