"""Figures of dendritic learning: compartments, learning curves, update angles, gates, control.

Each function takes plain data (NumPy arrays, Brian2 Quantities, pandas
DataFrames) or the package's own results (a
:class:`~brian_dendrites.engine.RunResult`, a learner's ``history_``, a fitted
:class:`~brian_dendrites.DendriticGatedClassifier`), draws into ``ax`` when one
is given (else into a new figure) and returns the matplotlib
:class:`~matplotlib.figure.Figure`:

- :func:`compartment_traces`: soma, basal and apical potentials over time
  (and an interneuron beside the pyramid it learns to track);
- :func:`learning_curves`: several rules or methods on one axis, from a tidy
  table or a dict of ``history_`` tables (mean and spread over seeds);
- :func:`angle_distributions`: the spread of update angles per rule and layer
  (rows as returned by the rule lab: ``rule, layer, angle_deg``);
- :func:`alignment_over_time`: angles (``W_IP`` vs ``W_PP``, ``W_PI`` vs
  ``-B``, ``W`` vs feedback) over training, against the 90 deg of unrelated
  directions;
- :func:`gate_map`: which dendritic branches of a DGN are open for which
  input, the open fraction per branch and neuron, the gates' hyperplanes as
  images;
- :func:`control_signal`: the DFC controller's signal ``u`` and the output
  error ``r* - r_L`` over a sample.

matplotlib (and pandas) are imported only when a function is called. Bad
data gets the package's named errors (:mod:`brian_dendrites._validation`):
``KeyError`` for a missing column (naming it and listing those present),
``ValueError`` for wrong shapes, NaN and empty data, ``TypeError`` for
wrong types, ``brian2.DimensionMismatchError`` for traces of different units.
Close the figures you no longer need (``matplotlib.pyplot.close(fig)``).
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping

import numpy as np

from ._validation import _got, _is_quantity, check_array, check_choice, check_int

__all__ = ["compartment_traces", "learning_curves", "angle_distributions", "alignment_over_time",
           "gate_map", "control_signal"]

#: Line styles told apart when several columns share one colour (one method).
_STYLES = ("-", "--", ":", "-.")
#: Columns :func:`gate_map` shows at most by default (whole neurons).
_MAX_BRANCHES = 512
#: Side-information widths drawn as images by default: MNIST (28x28).
_IMAGE_SHAPES = {784: (28, 28)}


# ---------------------------------------------------------------------------
# figures and axes
# ---------------------------------------------------------------------------
def _pyplot():
    import matplotlib.pyplot as plt

    return plt


def _root_figure(ax):
    """The Figure an Axes belongs to (also through sub-figures)."""
    from matplotlib.figure import Figure

    fig = ax.figure
    for _ in range(16):
        if isinstance(fig, Figure):
            return fig
        fig = fig.figure
    return fig  # pragma: no cover


def _axes_list(ax, name="ax") -> list:
    """``ax`` (one Axes or a sequence/array of Axes) as a list of Axes."""
    from matplotlib.axes import Axes

    if isinstance(ax, Axes):
        return [ax]
    if isinstance(ax, (str, bytes)) or not hasattr(ax, "__iter__"):
        raise TypeError(f"{name}: expected a matplotlib Axes or a sequence of Axes, got {_got(ax)}")
    axes = list(np.asarray(ax, dtype=object).ravel())
    if not axes:
        raise ValueError(f"{name}: expected at least one Axes, got none")
    for i, a in enumerate(axes):
        if not isinstance(a, Axes):
            raise TypeError(f"{name}[{i}]: expected a matplotlib Axes, got {_got(a)}")
    return axes


def _axes(ax, n, name="ax", *, sharex=True, figsize=None):
    """A figure and ``n`` axes: new ones (stacked) or those given in ``ax``."""
    if ax is None:
        fig, axes = _pyplot().subplots(n, 1, sharex=sharex, figsize=figsize, squeeze=False,
                                       layout="constrained")
        return fig, list(axes[:, 0])
    axes = _axes_list(ax, name)
    if len(axes) != n:
        want = "one Axes" if n == 1 else f"{n} Axes (one per panel)"
        raise ValueError(f"{name}: expected {want}, got {len(axes)}")
    return _root_figure(axes[0]), axes


# ---------------------------------------------------------------------------
# units
# ---------------------------------------------------------------------------
def _dims(value):
    from brian2 import get_dimensions

    return get_dimensions(value)


def _magnitudes(items, name, unit=None, default_label=None):
    """Arrays drawn on one axis, in one display unit.

    Parameters
    ----------
    items : list of (label, value)
        Quantities (all of the same dimensions) or plain arrays.
    name : str
        Argument name for messages (``name[label]``).
    unit : Brian2 unit or str, optional
        The display unit (Quantities: a Brian2 unit of their dimensions,
        default the best unit of the values), or the unit label of plain
        arrays (default ``default_label``).

    Returns
    -------
    arrays : list of ndarray
        Finite float arrays in the display unit.
    unit : Brian2 unit or None
        To convert further values (levels) to the display unit.
    label : str or None
        The unit's text for the axis label.
    """
    plain = [np.asarray(v) if _is_quantity(v) else v for _, v in items]
    arrays = [check_array(v, f"{name}[{label!r}]" if len(items) > 1 or label != name else name,
                          allow_empty=False)
              for (label, _), v in zip(items, plain)]
    dims = [_dims(v) if _is_quantity(v) else None for _, v in items]
    with_unit = [d for d in dims if d is not None and not d.is_dimensionless]
    if not with_unit:
        if unit is not None and not isinstance(unit, str):
            raise TypeError(f"{name}: plain arrays take a unit label (a str such as 'mV'), got "
                            f"{_got(unit)}; pass Brian2 Quantities to convert units")
        return arrays, None, unit if unit is not None else default_label
    from brian2 import DimensionMismatchError, Quantity

    dim = with_unit[0]
    for (label, _), d in zip(items, dims):
        if d is None or d != dim:
            got = "a plain array" if d is None or d.is_dimensionless else f"dimensions {d}"
            raise DimensionMismatchError(
                f"{name}[{label!r}]: expected the units of the other values ({dim}), got {got}",
                dim)
    if unit is None:
        unit = Quantity(np.concatenate([a.ravel() for a in arrays]), dim=dim).get_best_unit()
    elif isinstance(unit, str) or not _is_quantity(unit):
        raise TypeError(f"{name}: Quantities take a Brian2 unit to show them in (e.g. mV), got "
                        f"{_got(unit)}")
    elif _dims(unit) != dim:
        raise DimensionMismatchError(f"{name}: the display unit {unit!r} does not fit the "
                                     f"values' dimensions {dim}", _dims(unit), dim)
    scale = float(np.asarray(unit))
    return [a / scale for a in arrays], unit, str(unit)


def _axis_label(text, unit_label):
    return f"{text} ({unit_label})" if unit_label else text


# ---------------------------------------------------------------------------
# tables
# ---------------------------------------------------------------------------
def _as_frame(table, name):
    """``table`` (a DataFrame or a dict of columns) as a non-empty DataFrame."""
    import pandas as pd

    if isinstance(table, pd.DataFrame):
        df = table
    elif isinstance(table, Mapping):
        try:
            df = pd.DataFrame(dict(table))
        except ValueError as exc:
            raise ValueError(f"{name}: cannot make a table of this dict ({exc})") from None
    else:
        raise TypeError(f"{name}: expected a pandas DataFrame or a dict of columns, got {_got(table)}")
    if len(df) == 0:
        raise ValueError(f"{name}: the table is empty (columns {[str(c) for c in df.columns]})")
    return df


def _require(df, columns, name):
    """KeyError naming the first missing column and listing those present."""
    present = [str(c) for c in df.columns]
    for c in columns:
        if c is not None and c not in df.columns:
            close = difflib.get_close_matches(str(c), present, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise KeyError(f"{name}: no column {c!r}{hint}; columns present: {present}")


def _numeric(series, column, name):
    """A numeric column as floats (NaN kept); TypeError for text or booleans."""
    import pandas as pd

    if pd.api.types.is_bool_dtype(series) or not pd.api.types.is_numeric_dtype(series):
        raise TypeError(f"{name}: column {column!r} must be numeric, got dtype {series.dtype}")
    return series.to_numpy(dtype=float)


def _hue_order(df, hue, order, name):
    """Values of ``hue`` in ``order`` (default: first appearance)."""
    present = list(dict.fromkeys(df[hue]))
    if order is None:
        return present
    order = list(order)
    for v in order:
        check_choice(v, f"{name}: order", present)
    return order


def _draw_lines(ax, df, x, ys, hue, *, order, labels, name, dropna, marker, band, scale=1.0):
    """One line per (hue value, y column): colour by hue, style by column.

    Several rows with the same ``x`` in a line (seeds) are averaged; ``band``
    shades mean +- one standard deviation.
    """
    labels = dict(labels or {})
    x_values = _numeric(df[x], x, name)
    groups = [(None, np.ones(len(df), bool))] if hue is None else \
        [(key, (df[hue] == key).to_numpy()) for key in _hue_order(df, hue, order, name)]
    lines = []
    for key, rows in groups:
        color = None
        for i, col in enumerate(ys):
            xv, yv = x_values[rows], _numeric(df[col], col, name)[rows]
            bad = ~(np.isfinite(xv) & np.isfinite(yv))
            if bad.any() and not dropna:
                where = "" if key is None else f" ({hue} = {key!r})"
                raise ValueError(f"{name}: {int(bad.sum())} NaN or infinite value(s) in columns "
                                 f"{x!r}/{col!r}{where}; pass dropna=True to leave those rows out")
            xv, yv = xv[~bad], yv[~bad]
            if xv.size == 0:
                continue
            xs, inverse = np.unique(xv, return_inverse=True)
            counts = np.bincount(inverse, minlength=xs.size)
            mean = np.bincount(inverse, yv, xs.size) / counts
            col_label = labels.get(col, _pretty(col))
            if key is None:
                label = col_label
            else:
                label = str(labels.get(key, key)) + (f": {col_label}" if len(ys) > 1 else "")
            style = _STYLES[i % len(_STYLES)] if key is not None and len(ys) > 1 else "-"
            (line,) = ax.plot(xs, scale * mean, linestyle=style, marker=marker, ms=3, color=color,
                              label=label)
            if key is not None:
                color = line.get_color()
            if band and np.any(counts > 1):
                var = np.bincount(inverse, (yv - mean[inverse]) ** 2, xs.size) / np.maximum(counts - 1, 1)
                sd = np.sqrt(var)
                ax.fill_between(xs, scale * (mean - sd), scale * (mean + sd), color=line.get_color(),
                                alpha=0.2, lw=0)
            lines.append(line)
    if not lines:
        raise ValueError(f"{name}: nothing to draw (every row has NaN in {x!r} or {list(ys)})")
    return lines


def _reference_text(reference):
    return "orthogonal (90 deg)" if float(reference) == 90 else f"{float(reference):g}"


def _columns(y, name):
    """``y`` (a column name or a sequence of them) as a non-empty list."""
    ys = [y] if isinstance(y, str) or not hasattr(y, "__iter__") else list(y)
    if not ys:
        raise ValueError(f"{name}: expected at least one column, got none")
    return ys


def _pretty(column):
    return str(column).replace("_", " ")


def _series_table(data, x_name, y_name, hue_name, name, first_x):
    """A dict ``label -> 1-D series`` as a tidy table (x from a Series' index, else ``first_x + i``)."""
    import pandas as pd

    frames = []
    for key, values in data.items():
        if isinstance(values, pd.Series):
            xs = values.index.to_numpy()
            vals = check_array(values.to_numpy(), f"{name}[{key!r}]", ndim=1, allow_nan=True)
        else:
            vals = check_array(values, f"{name}[{key!r}]", ndim=1, allow_nan=True)
            xs = first_x + np.arange(vals.size)
        frames.append(pd.DataFrame({x_name: xs, y_name: vals, hue_name: key}))
    return pd.concat(frames, ignore_index=True)


# ---------------------------------------------------------------------------
# compartments
# ---------------------------------------------------------------------------
def _trace_items(source, traces, name):
    """``traces`` (dict label -> values or result key, or a list of keys) as (label, values) pairs."""
    if isinstance(traces, Mapping):
        items = list(traces.items())
    elif source is not None and not isinstance(traces, (str, bytes)) and hasattr(traces, "__iter__"):
        items = [(str(k).split(".", 1)[-1], k) for k in traces]
    else:
        raise TypeError(f"{name}: expected a dict label -> trace"
                        f"{' (or result key)' if source is not None else ''}, got {_got(traces)}")
    if not items:
        raise ValueError(f"{name}: no traces given")
    if source is None:
        return items
    out = []
    for label, key in items:
        if not isinstance(key, str):
            out.append((label, key))
            continue
        out.append((label, _result_value(source, key, f"{name}[{label!r}]")))
    return out


def _result_value(result, key, name):
    """``result[key]`` with its units when the result knows them (a RunResult)."""
    if key not in result:
        raise KeyError(f"{name}: the run result has no {key!r}; available: "
                       f"{', '.join(sorted(map(str, result)))}")
    if hasattr(result, "quantity"):
        return result.quantity(key)
    return result[key]


def _rows(values, n_t, neuron, name):
    """A trace as a 1-D array of ``n_t`` values (row ``neuron`` of a monitor's ``(n, n_t)``)."""
    if values.ndim == 1:
        if values.size != n_t:
            raise ValueError(f"{name}: expected {n_t} values (one per time point), got {values.size}")
        return values
    if values.ndim != 2 or values.shape[1] != n_t:
        raise ValueError(f"{name}: expected shape ({n_t},) or (n_recorded, {n_t}) (Brian2's "
                         f"monitor layout), got {values.shape}")
    if not 0 <= neuron < values.shape[0]:
        raise ValueError(f"neuron: {name} records {values.shape[0]} neuron(s), got neuron={neuron}")
    return values[neuron]


def _spike_ticks(ax, source, spikes, t_unit, t_label):
    """Spike times as ticks along the top of ``ax`` (in the display unit of the times)."""
    from matplotlib.transforms import blended_transform_factory

    if isinstance(spikes, str) and source is not None:
        spikes = _result_value(source, spikes, "spikes")
    if np.size(spikes) == 0:
        values = np.zeros(0)
    else:
        if _is_quantity(spikes) != (t_unit is not None):
            from brian2 import DimensionMismatchError

            raise DimensionMismatchError("spikes: expected times in the units of t (both Quantities "
                                         "or both plain numbers)")
        (values,), _, _ = _magnitudes([("spikes", spikes)], "spikes",
                                      t_unit if t_unit is not None else t_label)
        if values.ndim != 1:
            raise ValueError(f"spikes: expected a 1-D array of spike times, got shape {values.shape}")
    ax.plot(values, np.full(values.size, 0.96), "|k", ms=8,
            transform=blended_transform_factory(ax.transData, ax.transAxes),
            label=f"spikes ({values.size})")


def compartment_traces(t, traces, *, neuron=0, interneuron=None, levels=None, spikes=None,
                       unit=None, time_unit=None, ylabel="potential", ax=None, title=None):
    """Compartment potentials over time: soma, basal and apical dendrites (and an interneuron).

    Parameters
    ----------
    t : Quantity, array_like or RunResult
        Times, shape ``(n_t,)`` (a Quantity, or plain numbers in
        ``time_unit``). Or a run result
        (:class:`~brian_dendrites.engine.RunResult`): ``traces`` then names
        its keys and the times are ``'<monitor>.t'`` of the first trace's
        monitor, with units.
    traces : dict
        Label -> potentials, shape ``(n_t,)`` or ``(n_recorded, n_t)``
        (Brian2's monitor layout; row ``neuron`` is drawn), all Quantities of
        the same unit or all plain arrays; e.g. ``{'soma u': ..., 'basal
        v_B': ..., 'apical v_A': ...}``. With a run result: label -> key
        (``'mon_p.u'``) or a list of keys.
    neuron : int
        Row of 2-D traces to draw.
    interneuron : dict, optional
        A second panel below (shared time axis), same form as ``traces``: an
        interneuron's soma beside the pyramid it learns to track, e.g.
        ``{'interneuron u_I': ..., 'pyramid u_P (layer 2)': ...}``.
    levels : dict, optional
        Label -> value (a number or Quantity) drawn as dashed horizontal
        lines in the first panel (an analytic steady state, a teacher).
    spikes : Quantity or array_like, optional
        Spike times (in the units of ``t``; with a run result, a key such as
        ``'spikes.t'``), drawn as ticks along the top of the first panel.
    unit : Brian2 unit or str, optional
        Display unit of Quantities (default: Brian2's best unit of the
        values, e.g. mV), or the unit label of plain potentials (default
        ``'a.u.'``, the dimensionless rate-model potentials).
    time_unit : Brian2 unit or str, optional
        Display unit of a time Quantity (default: its best unit, e.g. ms), or
        the unit of plain times (default ``'s'``, SI as in a RunResult).
    ylabel : str
        Quantity name on the y axis; the unit is added.
    ax : Axes or sequence of 2 Axes, optional
        Where to draw (two Axes when ``interneuron`` is given).
    title : str, optional

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    TypeError
        If ``traces`` is not a dict (or list of keys with a run result), or
        ``ax`` is not an Axes.
    KeyError
        If a run result lacks a key.
    ValueError
        On NaN, empty data or a trace whose length is not ``len(t)``.
    brian2.DimensionMismatchError
        If the traces of a panel have different units (a Quantity beside a
        plain array, volts beside amperes) or ``unit`` does not fit them.

    Examples
    --------
    >>> import matplotlib.pyplot as plt
    >>> from brian2 import ms, mV
    >>> t = np.arange(200) * 0.1 * ms
    >>> u = -70 * mV + 10 * mV * (1 - np.exp(-t / (3 * ms)))
    >>> fig = compartment_traces(t, {'soma U': u, 'dendrite V': u + 2 * mV},
    ...                          levels={'rest': -70 * mV})
    >>> ax = fig.axes[0]
    >>> ax.get_xlabel(), ax.get_ylabel(), len(ax.get_lines())
    ('time (ms)', 'potential (mV)', 3)
    >>> plt.close(fig)
    """
    source = t if isinstance(t, Mapping) else None
    items = _trace_items(source, traces, "traces")
    second = None if interneuron is None else _trace_items(source, interneuron, "interneuron")
    if source is not None:
        keys = list(traces.values()) if isinstance(traces, Mapping) else list(traces)
        key = next((k for k in keys if isinstance(k, str)), None)
        if key is None or "." not in key:
            raise ValueError("traces: with a run result, give at least one key '<monitor>.<var>' "
                             "(the times are '<monitor>.t')")
        t = _result_value(source, key.split(".", 1)[0] + ".t", "t")
    neuron = check_int(neuron, "neuron", minimum=0)
    (t_values,), t_unit, t_label = _magnitudes([("t", t)], "t", time_unit, "s")
    if t_values.ndim != 1:
        raise ValueError(f"t: expected a 1-D array of times, got shape {t_values.shape}")
    n_t = t_values.size
    panels = [items] if second is None else [items, second]
    fig, axes = _axes(ax, len(panels), figsize=(8, 3.2 * len(panels) + 0.6))
    for p, (panel, a) in enumerate(zip(panels, axes)):
        name = "traces" if p == 0 else "interneuron"
        with_levels = panel + (list(levels.items()) if p == 0 and levels else [])
        arrays, disp, label = _magnitudes(with_levels, name, unit, "a.u.")
        for (lab, _), arr in zip(panel, arrays[:len(panel)]):
            a.plot(t_values, _rows(arr, n_t, neuron, f"{name}[{lab!r}]"), label=lab)
        for (lab, _), arr in zip(with_levels[len(panel):], arrays[len(panel):]):
            if arr.size != 1:
                raise ValueError(f"levels[{lab!r}]: expected one value, got shape {arr.shape}")
            a.axhline(float(arr.ravel()[0]), color="k", ls="--", lw=1, label=lab)
        if p == 0 and spikes is not None:
            _spike_ticks(a, source, spikes, t_unit, t_label)
        a.set_ylabel(_axis_label(ylabel, label))
        a.legend(loc="best", fontsize=8)
        a.grid(alpha=0.3)
    axes[-1].set_xlabel(_axis_label("time", t_label))
    if title is None:
        title = "compartment potentials" + (f" (neuron {neuron})" if neuron else "")
    axes[0].set_title(title)
    if second is not None:
        axes[1].set_title("interneuron and pyramid", fontsize=10)
    return fig


# ---------------------------------------------------------------------------
# learning curves
# ---------------------------------------------------------------------------
def _curve_table(table, x, ys, hue, name):
    """``table`` as (DataFrame, hue column): a tidy table or a dict of histories or series."""
    import pandas as pd

    if isinstance(table, Mapping) and not isinstance(table, pd.DataFrame):
        if not table:
            raise ValueError(f"{name}: the dict is empty")
        values = list(table.values())
        hue_col = hue if hue is not None else "method"
        if all(isinstance(v, pd.DataFrame) or hasattr(v, "history_") for v in values):
            frames = []
            for key, v in table.items():
                frame = v if isinstance(v, pd.DataFrame) else v.history_
                if not isinstance(frame, pd.DataFrame):
                    raise TypeError(f"{name}[{key!r}]: expected a DataFrame, got {_got(frame)}")
                frames.append(frame.assign(**{hue_col: key}))
            return pd.concat(frames, ignore_index=True), hue_col
        if x not in table and len(ys) == 1 and all(np.ndim(v) == 1 for v in values):
            return _series_table(table, x, ys[0], hue_col, name, first_x=1), hue_col
    return _as_frame(table, name), hue


def learning_curves(table, x="epoch", y="test_error", hue="method", *, order=None, labels=None,
                    logy=False, percent=False, band=True, reference=None, reference_label=None,
                    dropna=False, marker="o", xlabel=None, ylabel=None, title=None, ax=None):
    """Learning curves of several rules or methods on one axis.

    Parameters
    ----------
    table : DataFrame or dict
        A tidy table with columns ``x``, ``y`` and ``hue`` (one row per
        method and epoch, or per method, seed and epoch: seeds are averaged),
        e.g. :func:`brian_dendrites.experiments.meulemans2021.mnist_comparison`'s.
        Or a dict name -> a learner's ``history_`` table (or the learner
        itself): the names become the ``hue`` column. Or a dict name -> 1-D
        series of ``y`` values (x = 1, 2, ... for lists and arrays, the index
        of a pandas Series). A dict with an ``x`` key is read as columns.
    x, y : str
        Columns of the x axis and of the curve; ``y`` may be a list (e.g.
        ``['train_loss', 'val_loss']``: one line style per column).
    hue : str or None
        Column naming the method of each row (one colour each); None: one
        curve per ``y`` column.
    order : sequence, optional
        Methods to draw, in this order (default: all, in order of
        appearance).
    labels : dict, optional
        Legend text per method (or per ``y`` column), e.g.
        ``{'dfc': 'DFC (Brian2)'}``.
    logy : bool
        Logarithmic y axis.
    percent : bool
        Draw ``100 * y`` and add ``(%)`` to the label (error rates).
    band : bool
        Shade mean +- one standard deviation where several rows share an
        ``x`` (seeds).
    reference : float, optional
        A dotted horizontal line (chance level, zero R², a paper's number),
        in the units drawn (percent if ``percent``).
    reference_label : str, optional
    dropna : bool
        Leave out rows with NaN in ``x`` or ``y`` (epochs without
        validation) instead of raising.
    marker : str or None
        Marker of the points.
    xlabel, ylabel, title : str, optional
    ax : Axes, optional

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    KeyError
        If a column is missing (the message lists those present).
    TypeError
        If a column is not numeric, ``table`` is neither a DataFrame nor a
        dict, or ``ax`` is not an Axes.
    ValueError
        If the table is empty, or holds NaN (without ``dropna``).

    Examples
    --------
    >>> import matplotlib.pyplot as plt
    >>> import pandas as pd
    >>> table = pd.DataFrame({'method': ['dfc'] * 3 + ['backprop'] * 3,
    ...                       'epoch': [1, 2, 3] * 2,
    ...                       'test_error': [0.5, 0.3, 0.2, 0.4, 0.2, 0.1]})
    >>> fig = learning_curves(table, percent=True, labels={'dfc': 'DFC (Brian2)'})
    >>> [line.get_label() for line in fig.axes[0].get_lines()]
    ['DFC (Brian2)', 'backprop']
    >>> fig.axes[0].get_ylabel()
    'test error (%)'
    >>> plt.close(fig)
    """
    ys = _columns(y, "y")
    df, hue = _curve_table(table, x, ys, hue, "table")
    _require(df, [x, *ys, hue], "table")
    fig, (a,) = _axes(ax, 1, figsize=(6, 4))
    _draw_lines(a, df, x, ys, hue, order=order, labels=labels, name="table", dropna=dropna,
                marker=marker, band=band, scale=100.0 if percent else 1.0)
    if reference is not None:
        a.axhline(float(reference), color="grey", ls=":", lw=1, label=reference_label)
    if logy:
        a.set_yscale("log")
    if ylabel is None:
        ylabel = _pretty(ys[0]) if len(ys) == 1 else ", ".join(map(_pretty, ys))
        ylabel += " (%)" if percent else ""
    a.set(xlabel=_pretty(x) if xlabel is None else xlabel, ylabel=ylabel)
    if title:
        a.set_title(title)
    if np.issubdtype(np.asarray(df[x]).dtype, np.integer):
        from matplotlib.ticker import MaxNLocator

        a.xaxis.set_major_locator(MaxNLocator(integer=True))
    a.legend(fontsize=8)
    a.grid(alpha=0.3)
    return fig


# ---------------------------------------------------------------------------
# update angles
# ---------------------------------------------------------------------------
def angle_distributions(table, *, rule="rule", layer="layer", angle="angle_deg", step=None,
                        kind="violin", points=True, order=None, layer_order=None, labels=None,
                        reference=90.0, dropna=False, max_points=400, seed=0,
                        ylabel="update angle to -gradient (deg)", title=None, ax=None):
    """Distributions of update angles per rule and layer (violins or boxes, and the points).

    Richards et al. (2019) compare learning rules by the angle of their
    updates to the gradient: its mean is the rule's bias, its spread the
    variance. One violin (or box) per rule and layer, the layers side by
    side in colours, the single updates as jittered points; the dashed line
    at 90 deg is what an update unrelated to the gradient gets.

    Parameters
    ----------
    table : DataFrame or dict of columns
        One row per update, with columns ``rule``, ``layer`` and ``angle``
        (the rule lab's ``compare()`` rows: rule, seed, step, layer, loss,
        cosine, angle_deg, norm_ratio; one row per rule, seed, step and
        layer, so a distribution there is over seeds, and over steps unless
        ``step`` picks one).
    rule, layer, angle : str
        Column names; ``layer=None``: one distribution per rule (e.g. the
        lab's ``angle_gn_deg``: the angle to Gauss-Newton).
    step : None, 'first', 'last' or number
        Keep only the rows of this value of the column ``'step'`` (``'last'``:
        its largest value, the end of training); None: all rows.
    kind : {'violin', 'box'}
    points : bool
        Also draw the angles as jittered points (at most ``max_points`` per
        group, a seeded random subset).
    order, layer_order : sequence, optional
        Rules (x axis) and layers to draw, in order (default: all, in order
        of appearance).
    labels : dict, optional
        Display names of rules.
    reference : float or None
        Dashed horizontal line (default 90 deg: orthogonal).
    dropna : bool
        Leave out rows whose angle is NaN instead of raising (the lab gives
        NaN angles to rules that are not MLP-shaped and to diverged
        trajectories); a rule left without angles keeps its place on the
        axis, marked "no angles".
    max_points, seed : int
        Points per group and the seed of the subset and jitter.
    ylabel, title : str, optional
    ax : Axes, optional

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    KeyError
        If a column is missing (the message lists those present).
    TypeError
        If the angle column is not numeric.
    ValueError
        On an empty table, NaN (without ``dropna``), angles outside
        [0, 180], an unknown ``kind`` or a ``step`` the table does not hold.

    Examples
    --------
    >>> import matplotlib.pyplot as plt
    >>> rng = np.random.default_rng(0)
    >>> rows = {'rule': ['backprop'] * 40 + ['feedback_alignment'] * 40,
    ...         'layer': ['W1', 'W2'] * 40,
    ...         'angle_deg': np.r_[rng.uniform(0, 5, 40), rng.uniform(30, 80, 40)]}
    >>> fig = angle_distributions(rows)
    >>> ax = fig.axes[0]
    >>> [t.get_text() for t in ax.get_xticklabels()]
    ['backprop', 'feedback_alignment']
    >>> len(ax.collections)  # 4 violins, 4 sets of points, medians
    9
    >>> plt.close(fig)
    """
    kind = check_choice(kind, "kind", ("violin", "box"))
    df = _as_frame(table, "table")
    _require(df, [rule, layer, angle, None if step is None else "step"], "table")
    if step is not None:
        steps = _numeric(df["step"], "step", "table")
        if isinstance(step, str):
            step = check_choice(step, "step", ("first", "last"))
            step = np.nanmax(steps) if step == "last" else np.nanmin(steps)
        else:
            check_int(step, "step", minimum=0)
        if not np.any(steps == step):
            raise ValueError(f"step: the table has no rows of step {step!r}; steps present: "
                             f"{sorted(set(steps[np.isfinite(steps)].tolist()))}")
        df = df[steps == step]
    rules = _hue_order(df, rule, order, "table")
    layers = [None] if layer is None else _hue_order(df, layer, layer_order, "table")
    values = _numeric(df[angle], angle, "table")
    bad = ~np.isfinite(values)
    if bad.any():
        if not dropna:
            raise ValueError(f"table: {int(bad.sum())} NaN or infinite value(s) in column {angle!r}; "
                             "pass dropna=True to leave those rows out")
        df, values = df[~bad], values[~bad]
        if len(df) == 0:
            raise ValueError(f"table: every value of column {angle!r} is NaN")
    if np.any((values < 0) | (values > 180)):
        raise ValueError(f"table: column {angle!r} must hold angles in degrees in [0, 180], got "
                         f"values in [{values.min():.3g}, {values.max():.3g}]")
    labels = dict(labels or {})
    max_points = check_int(max_points, "max_points", minimum=0)
    rng = np.random.default_rng(check_int(seed, "seed", minimum=0))
    fig, (a,) = _axes(ax, 1, figsize=(1.6 + 1.3 * len(rules) * max(1, len(layers) ** 0.5), 4))
    width = 0.8 / len(layers)
    rule_col = df[rule].to_numpy()
    layer_col = None if layer is None else df[layer].to_numpy()
    data, positions, colors = [], [], []
    for i, r in enumerate(rules):
        if not np.any(rule_col == r):
            a.text(i, 45, "no angles", ha="center", va="center", color="grey", fontsize=8)
        for j, lay in enumerate(layers):
            rows = rule_col == r
            if lay is not None:
                rows &= layer_col == lay
            if rows.any():
                data.append(values[rows])
                positions.append(i - 0.4 + width * (j + 0.5))
                colors.append(f"C{j % 10}")
    if kind == "violin":
        spread = [k for k, d in enumerate(data) if np.ptp(d) > 0]
        if spread:
            parts = a.violinplot([data[k] for k in spread], [positions[k] for k in spread],
                                 widths=0.9 * width, showmedians=False, showextrema=False)
            for k, body in zip(spread, parts["bodies"]):
                body.set_facecolor(colors[k])
                body.set_edgecolor(colors[k])
                body.set_alpha(0.35)
        a.hlines([np.median(d) for d in data], [p - 0.3 * width for p in positions],
                 [p + 0.3 * width for p in positions], colors="k", lw=1.5)
    else:
        parts = a.boxplot(data, positions=positions, widths=0.7 * width, patch_artist=True,
                          showfliers=not points, manage_ticks=False,
                          medianprops=dict(color="k"))
        for box, c in zip(parts["boxes"], colors):
            box.set_facecolor(c)
            box.set_alpha(0.35)
    if points:
        for d, p, c in zip(data, positions, colors):
            if d.size > max_points:
                d = rng.choice(d, max_points, replace=False)
            jitter = rng.uniform(-0.25 * width, 0.25 * width, d.size)
            a.scatter(p + jitter, d, s=6, color=c, alpha=0.6, lw=0)
    if reference is not None:
        a.axhline(float(reference), color="grey", ls="--", lw=1)
        a.text(len(rules) - 0.45, float(reference), _reference_text(reference), color="grey",
               ha="right", va="bottom", fontsize=7)
    a.set_xticks(range(len(rules)), [str(labels.get(r, r)) for r in rules])
    a.set_xlim(-0.6, len(rules) - 0.4)
    top = max(values.max(), float(reference) if reference is not None else 0.0)
    a.set_ylim(0, min(180.0, max(10.0, 1.08 * top)))
    a.set_ylabel(ylabel)
    if layer is not None and len(layers) > 1:
        from matplotlib.patches import Patch

        a.legend(handles=[Patch(color=f"C{j % 10}", alpha=0.5, label=str(lay))
                          for j, lay in enumerate(layers)], title=_pretty(layer), fontsize=8)
    if title:
        a.set_title(title)
    a.grid(alpha=0.3, axis="y")
    return fig


def alignment_over_time(data, x=None, y=None, hue=None, *, order=None, labels=None,
                        reference=90.0, logy=False, dropna=False, marker=None, xlabel=None,
                        ylabel="angle (deg)", title=None, ax=None):
    """Alignment angles over training, with the 90 deg of unrelated directions.

    For the microcircuit: ``W_IP`` vs ``W_PP`` (interneurons copying the
    forward weights), ``W_PI`` vs ``-B`` (interneurons cancelling the
    top-down input), forward ``W`` vs feedback ``B`` (feedback alignment);
    for any rule: its updates vs the gradient over training.

    Parameters
    ----------
    data : DataFrame or dict
        A DataFrame with the ``x`` column and angle columns (one line per
        column and, with ``hue``, per value of ``hue``), e.g. a
        microcircuit learner's ``history_`` (``weight_angle_1``,
        ``error_angle_1``) or Sacramento Fig. 2's table. Or a dict
        label -> 1-D series of angles (e.g. ``{'W_PI vs -B': [...], 'W_IP
        vs W_PP': [...]}``); their x is ``x`` if it is an array, else a
        pandas Series' index or 0, 1, 2, .... A dict holding the key ``x``
        is read as columns (e.g. an experiment's output dict).
    x : str, array_like or None
        Column (or key) of the x axis; None: the table's index.
    y : str or sequence of str, optional
        Columns to draw (default: every numeric column whose name contains
        ``'angle'``).
    hue : str, optional
        Column naming the model or rule of each row (one colour each; line
        style then tells the ``y`` columns apart).
    order, labels : optional
        Order of ``hue`` values; legend text per ``hue`` value, ``y`` column
        or dict key.
    reference : float or None
        Dashed horizontal line (default 90 deg); None for quantities that are
        not angles (relative distances; then also set ``ylabel``).
    logy, dropna, marker, xlabel, ylabel, title, ax
        As in :func:`learning_curves`.

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    KeyError
        If a column is missing (the message lists those present).
    TypeError, ValueError
        As :func:`learning_curves`; ValueError also if no ``y`` is given and
        no column name contains ``'angle'``, or an ``x`` array does not
        match the series.

    Examples
    --------
    >>> import matplotlib.pyplot as plt
    >>> fig = alignment_over_time({'W_PI vs -B': [80, 40, 12, 5], 'W_IP vs W_PP': [85, 60, 30, 20]},
    ...                           x=[0, 100, 200, 300], xlabel='patterns')
    >>> ax = fig.axes[0]
    >>> len(ax.get_lines())  # two series and the 90 deg line
    3
    >>> float(ax.get_ylim()[0]), ax.get_xlabel()
    (0.0, 'patterns')
    >>> plt.close(fig)
    """
    import pandas as pd

    x_is_column = x is None or isinstance(x, str)
    if isinstance(data, Mapping) and not isinstance(data, pd.DataFrame) and not (
            isinstance(x, str) and x in data):
        if not data:
            raise ValueError("data: the dict is empty")
        if isinstance(x, str):
            raise KeyError(f"data: no key {x!r} (the x column); keys present: {[str(k) for k in data]}")
        if y is not None or hue is not None:
            raise ValueError("y, hue: only for tables; a dict label -> series draws every series")
        if x is not None:
            xs = check_array(x, "x", ndim=1)
            data = {k: pd.Series(check_array(v, f"data[{k!r}]", ndim=1, allow_nan=True, shape=xs.shape),
                                 index=xs) for k, v in data.items()}
        df = _series_table(data, "x", "value", "series", "data", first_x=0)
        x_col, ys, hue = "x", ["value"], "series"
        default_xlabel = "step"
    else:
        if not x_is_column:
            raise TypeError(f"x: with a table, expected a column name or None, got {_got(x)}")
        if isinstance(data, Mapping) and not isinstance(data, pd.DataFrame):
            # an output dict may hold scalars beside the series: keep the columns drawn
            if y is None:
                y = [k for k in data if k not in (x, hue) and "angle" in str(k)]
                if not y:
                    raise ValueError(f"data: no key contains 'angle'; pass y (keys present: "
                                     f"{[str(k) for k in data]})")
            keys = [x, *_columns(y, "y"), *([hue] if hue else [])]
            _require(pd.DataFrame(columns=list(data)), keys, "data")
            data = {k: data[k] for k in keys}
        df = _as_frame(data, "data")
        if x is None:
            df = df.reset_index()
            x_col = df.columns[0]
            default_xlabel = "step" if data.index.name is None else _pretty(data.index.name)
        else:
            x_col, default_xlabel = x, _pretty(x)
        if y is None:
            ys = [c for c in df.columns if "angle" in str(c) and c not in (x_col, hue)
                  and pd.api.types.is_numeric_dtype(df[c])]
            if not ys:
                raise ValueError(f"data: no column name contains 'angle'; pass y (columns present: "
                                 f"{[str(c) for c in df.columns]})")
        else:
            ys = _columns(y, "y")
        _require(df, [x_col, *ys, hue], "data")
    fig, (a,) = _axes(ax, 1, figsize=(6, 4))
    lines = _draw_lines(a, df, x_col, ys, hue, order=order, labels=labels, name="data",
                        dropna=dropna, marker=marker, band=True)
    if reference is not None:
        a.axhline(float(reference), color="grey", ls="--", lw=1, label=_reference_text(reference))
        top = max([float(np.max(ln.get_ydata())) for ln in lines] + [float(reference)])
        if not logy:
            a.set_ylim(min(0.0, min(float(np.min(ln.get_ydata())) for ln in lines)), 1.1 * top)
    if logy:
        a.set_yscale("log")
    a.set(xlabel=default_xlabel if xlabel is None else xlabel, ylabel=ylabel)
    if title:
        a.set_title(title)
    a.legend(fontsize=8)
    a.grid(alpha=0.3)
    return fig


# ---------------------------------------------------------------------------
# DGN gates
# ---------------------------------------------------------------------------
def _learner_gates(learner, X):
    """Gates of a fitted DGN learner: (V, theta) per layer, side information, B, layers, C.

    The learner's circuit draws its gates with
    :func:`~brian_dendrites.gating.draw_gates` from its parameters and seed
    (side information of the input's width, one network per output).
    """
    from .gating import draw_gates

    _, Z = learner.network_inputs(X)  # raises NotFittedError before fit
    layers = [int(learner.n_features_in_), *(int(n) for n in learner.hidden_layers), 1]
    C = int(learner.n_outputs_)
    pairs = draw_gates(layers[0], layers, learner.n_branches, C, learner.theta_mean,
                       learner.theta_sd, learner.seed)
    return pairs, Z, int(learner.n_branches), layers, C


def _is_gate_pairs(gates):
    return (isinstance(gates, (list, tuple)) and len(gates) > 0
            and all(isinstance(p, (list, tuple)) and len(p) == 2 for p in gates))


def gate_map(gates, X=None, *, y=None, layer=1, n_branches=None, neurons=None, image_shape=None,
             n_hyperplanes=6, title=None, ax=None):
    """Which dendritic branches of a Dendritic Gated Network are open for which input.

    Top: the gate states, one row per input (sorted by ``y`` when given),
    one column per branch (black: open), neurons separated by lines. Below:
    the fraction of inputs for which each branch is open (bars), per neuron
    (red) and over all (dashed). With hyperplanes of image inputs (28x28, or
    ``image_shape``), a row of the first branches' hyperplanes as images
    (red: side information along it opens the branch).

    Parameters
    ----------
    gates : array_like, list of (V, theta), or a fitted DGN learner
        Gate states of shape ``(n_inputs, n_gates)`` (0 closed, 1 open); or
        hyperplanes and thresholds per layer as
        :func:`brian_dendrites.gating.draw_gates` returns them, with the
        side information ``X``; or a fitted
        :class:`~brian_dendrites.DendriticGatedClassifier` /
        :class:`~brian_dendrites.DendriticGatedRegressor` with its inputs
        ``X`` (gates ``[V . z > theta]`` on the side information the
        learner computes from ``X``).
    X : array_like, shape (n_inputs, n_side or n_features), optional
        Side information (with hyperplanes) or the learner's inputs.
    y : array_like, shape (n_inputs,), optional
        Labels: inputs are sorted by them and the classes marked.
    layer : int
        Layer ``k >= 1`` whose gates are shown (hyperplanes and learners).
    n_branches : int, optional
        Branches per neuron (known from a learner): columns are grouped by
        neuron (``gating``'s layout: branch ``b`` of neuron ``n`` is column
        ``n * n_branches + b``).
    neurons : int or sequence of int, optional
        Neurons to show (needs ``n_branches``; default: all, or the first
        ones up to 512 branches).
    image_shape : tuple, False or None
        Shape to draw hyperplanes as images (default: (28, 28) for 784-wide
        side information, else none); False: no images.
    n_hyperplanes : int
        Hyperplane images drawn (the first shown branches).
    title : str, optional
    ax : Axes or sequence of Axes, optional
        One Axes: the gate states only; two: and the open fractions; more:
        the rest get hyperplane images.

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    TypeError
        If ``ax`` is not an Axes (or sequence of them).
    ValueError
        On gate states other than 0/1, NaN, wrong shapes (``X`` not
        matching the hyperplanes, ``y`` not one label per input), a layer
        out of range, a column count not a multiple of ``n_branches``,
        ``X`` missing (or given with gate states), or images without
        hyperplanes.
    NotFittedError
        If the learner is not fitted.

    Examples
    --------
    >>> import matplotlib.pyplot as plt
    >>> from brian_dendrites.gating import draw_gates
    >>> pairs = draw_gates(5, [5, 3, 1], n_branches=4, theta_mean=0.5, seed=0)
    >>> Z = np.random.default_rng(1).normal(size=(30, 5))
    >>> fig = gate_map(pairs, Z, n_branches=4, y=np.arange(30) % 3)
    >>> ax_map, ax_open = fig.axes
    >>> ax_map.get_images()[0].get_array().shape  # 30 inputs x (3 neurons x 4 branches)
    (30, 12)
    >>> len(ax_open.patches)  # one bar per branch
    12
    >>> plt.close(fig)
    """
    V = theta = sizes = None
    if hasattr(gates, "network_inputs"):
        if X is None:
            raise ValueError("X: a learner's gate map needs inputs X (the gates see the side "
                             "information the learner computes from them)")
        pairs, Z, B, sizes, n_nets = _learner_gates(gates, X)
        if n_branches is not None and check_int(n_branches, "n_branches", minimum=1) != B:
            raise ValueError(f"n_branches: the learner has {B} branches per neuron, got {n_branches}")
        n_branches = B
    elif _is_gate_pairs(gates):
        if X is None:
            raise ValueError("X: hyperplanes need the side information X, shape (n_inputs, n_side)")
        pairs, Z = list(gates), X
    else:
        pairs = None
        if X is not None:
            raise ValueError("X: only used with hyperplanes or a learner; gates are gate states "
                             "already")
        G = check_array(gates, "gates", ndim=2)
        if not np.all((G == 0) | (G == 1)):
            raise ValueError("gates: expected gate states 0 (closed) or 1 (open)")
    if pairs is not None:
        layer = check_int(layer, "layer", minimum=1, maximum=len(pairs))
        V = check_array(pairs[layer - 1][0], f"gates[{layer - 1}][0] (hyperplanes)", ndim=2)
        theta = check_array(pairs[layer - 1][1], f"gates[{layer - 1}][1] (thresholds)",
                            shape=(V.shape[0],))
        Z = check_array(Z, "X", ndim=2, shape=(None, V.shape[1]))
        G = (Z @ V.T > theta).astype(float)
    n_inputs, n_gates = G.shape
    if n_branches is not None:
        n_branches = check_int(n_branches, "n_branches", minimum=1)
        if n_gates % n_branches:
            raise ValueError(f"n_branches: {n_gates} gates are not a whole number of neurons of "
                             f"{n_branches} branches")
        n_neurons = n_gates // n_branches
        if neurons is None:
            neurons = list(range(min(n_neurons, max(1, _MAX_BRANCHES // n_branches))))
        elif np.ndim(neurons) == 0:
            neurons = [neurons]
        neurons = [check_int(n, "neurons", minimum=0, maximum=n_neurons - 1) for n in neurons]
        if not neurons:
            raise ValueError("neurons: expected at least one neuron")
        cols = np.concatenate([np.arange(n * n_branches, (n + 1) * n_branches) for n in neurons])
    else:
        if neurons is not None:
            raise ValueError("neurons: needs n_branches (branches per neuron)")
        cols = np.arange(n_gates)
    rows = np.arange(n_inputs)
    if y is not None:
        y = np.asarray(y)
        if y.shape != (n_inputs,):
            raise ValueError(f"y: expected {n_inputs} labels (one per input), got shape {y.shape}")
        rows = np.argsort(y, kind="stable")
    shown = G[np.ix_(rows, cols)]

    if image_shape is None:
        image_shape = _IMAGE_SHAPES.get(V.shape[1]) if V is not None else None
    elif image_shape is not False:
        if V is None:
            raise ValueError("image_shape: hyperplane images need hyperplanes: pass gates as "
                             "(V, theta) pairs or a learner, with X")
        image_shape = tuple(check_int(s, "image_shape", minimum=1) for s in image_shape)
        if int(np.prod(image_shape)) != V.shape[1]:
            raise ValueError(f"image_shape: {image_shape} does not hold the {V.shape[1]} values "
                             "of a hyperplane")
    n_img = 0 if not image_shape else min(check_int(n_hyperplanes, "n_hyperplanes", minimum=0),
                                          cols.size)
    if ax is None:
        fig = _pyplot().figure(figsize=(9, 7.5 if n_img else 6), layout="constrained")
        grid = fig.add_gridspec(3 if n_img else 2, 1, height_ratios=[3, 1.2, 1.4][:3 if n_img else 2])
        ax_map = fig.add_subplot(grid[0])
        axes = [ax_map, fig.add_subplot(grid[1], sharex=ax_map)]
        if n_img:
            sub = grid[2].subgridspec(1, n_img)
            axes += [fig.add_subplot(sub[0, i]) for i in range(n_img)]
    else:
        axes = _axes_list(ax)
        fig = _root_figure(axes[0])
        n_img = min(n_img, max(0, len(axes) - 2))

    a = axes[0]
    a.imshow(shown, aspect="auto", interpolation="nearest", cmap="Greys", vmin=0, vmax=1)
    a.set_ylabel("input" + (" (sorted by label)" if y is not None else ""))
    if y is not None:
        ys = y[rows]
        classes, starts = np.unique(ys, return_index=True)
        ends = np.r_[starts[1:], n_inputs] if classes.size else starts
        order = np.argsort(starts)
        a.set_yticks([(starts[i] + ends[i] - 1) / 2 for i in order], [str(classes[i]) for i in order])
        for s in sorted(starts)[1:]:
            a.axhline(s - 0.5, color="C0", lw=0.8)
    if n_branches is not None:
        centers = [(i + 0.5) * n_branches - 0.5 for i in range(len(neurons))]
        if len(neurons) <= 20:
            if sizes is not None and n_nets > 1:  # neuron c * n_k + i is neuron i of network c
                names = [f"net {n // sizes[layer]}\nn{n % sizes[layer]}" for n in neurons]
            else:
                names = [f"n{n}" for n in neurons]
            a.set_xticks(centers, names)
        for i in range(1, len(neurons)):
            a.axvline(i * n_branches - 0.5, color="C3", lw=0.8)
    if title is None:
        title = (f"gates of layer {layer}" if pairs is not None else "gates") + \
            f": {n_inputs} inputs x {cols.size} branches (black: open)"
    a.set_title(title, fontsize=10)

    frac = shown.mean(axis=0)
    if len(axes) > 1:
        b = axes[1]
        b.bar(np.arange(cols.size), frac, width=1.0, color="0.45")
        if n_branches is not None:
            per = frac.reshape(len(neurons), n_branches).mean(axis=1)
            starts = np.arange(len(neurons)) * n_branches - 0.5
            b.hlines(per, starts, starts + n_branches, colors="C3", lw=2, label="per neuron")
        b.axhline(frac.mean(), color="k", ls="--", lw=1, label=f"mean {frac.mean():.2f}")
        b.set_ylim(0, 1)
        b.set_xlim(-0.5, cols.size - 0.5)
        b.set(xlabel="branch" + (" (grouped by neuron)" if n_branches is not None else ""),
              ylabel="open fraction")
        b.legend(fontsize=7, loc="upper right")
        a.tick_params(labelbottom=False)
    else:
        a.set_xlabel("branch")
    for i, c in enumerate(axes[2:2 + n_img]):
        j = int(cols[i])
        img = V[j].reshape(image_shape)
        vmax = float(np.abs(img).max()) or 1.0
        c.imshow(img, cmap="RdBu_r", vmin=-vmax, vmax=vmax, interpolation="nearest")
        c.set_title(f"branch {j}\ntheta {theta[j]:.2g}", fontsize=7)
        c.set_xticks([])
        c.set_yticks([])
    return fig


# ---------------------------------------------------------------------------
# DFC control
# ---------------------------------------------------------------------------
def _signal_rows(values, n_t, name):
    """``(n_out, n_t)`` from ``(n_t,)``, ``(n_out, n_t)`` (monitor layout) or ``(n_t, n_out)``."""
    if values.ndim == 1 and values.size == n_t:
        return values[None, :]
    if values.ndim == 2 and values.shape[1] == n_t:
        return values
    if values.ndim == 2 and values.shape[0] == n_t:
        return values.T
    raise ValueError(f"{name}: expected shape (n_outputs, {n_t}) (Brian2's monitor layout), "
                     f"({n_t}, n_outputs) or ({n_t},), got {values.shape}")


def _end_over_start(norm):
    """Last over first positive value of an error norm (NaN if none is positive)."""
    positive = norm[norm > 0]
    return float(positive[-1] / positive[0]) if positive.size else float("nan")


def control_signal(t, u=None, errors=None, *, monitor="step_mon", sample=None, n_steps=None,
                   log=True, time_unit=None, title=None, ax=None):
    """The DFC controller over a sample: its signal ``u`` and the output error it leaves.

    In Deep Feedback Control (Meulemans et al. 2021) a PI controller drives
    the output ``r_L`` toward ``r* = r_ff - lam (r_ff - y)``; its signal
    ``u`` reaches every layer's apical compartment. Top: ``u`` per output;
    bottom: the output error ``|r* - r_L|`` (log scale: a converging
    controller shrinks it by orders of magnitude, down to ``alpha |u|``).
    :func:`brian_dendrites.circuits.dfc.control_errors` gives the same
    ratio (end over start) per sample without the time course.

    Parameters
    ----------
    t : Quantity, array_like, RunResult or None
        Times, shape ``(n_t,)`` (plain numbers are in ``time_unit``; None:
        the x axis counts steps). Or a run of a
        :func:`~brian_dendrites.circuits.dfc_network` circuit built with
        ``record_steps=True`` that read ``'step_mon.u'`` and
        ``'step_mon.err'`` (and ``'step_mon.t'`` for times); ``u`` and
        ``errors`` are then taken from it.
    u : array_like, optional
        Control signal, shape ``(n_outputs, n_t)`` (the monitor's layout),
        ``(n_t, n_outputs)`` or ``(n_t,)``.
    errors : array_like, optional
        Output error ``r* - r_L`` (``ctrl.err``), the same shape as ``u``.
    monitor : str
        Monitor name in a run result.
    sample, n_steps : int, optional
        Show only sample ``sample`` of a run of several samples of
        ``n_steps`` steps each; with ``n_steps`` alone, sample boundaries are
        marked.
    log : bool
        Logarithmic error axis showing ``|r* - r_L|`` (else the error of
        each output, linear).
    time_unit : Brian2 unit or str, optional
        As in :func:`compartment_traces` (plain times default to ``'s'``).
    title : str, optional
    ax : sequence of 2 Axes, optional

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    TypeError
        If ``u`` or ``errors`` is missing (without a run result).
    KeyError
        If a run result lacks ``'<monitor>.u'`` or ``'<monitor>.err'``.
    ValueError
        On NaN, empty data, shapes that do not match ``t`` or each other, or
        a sample out of range.

    Examples
    --------
    >>> import matplotlib.pyplot as plt
    >>> from brian2 import ms
    >>> t = np.arange(500) * 0.02 * ms
    >>> err = np.outer([0.5, -0.2], np.exp(-np.arange(500) / 50))
    >>> u = np.outer([1.0, -0.4], 1 - np.exp(-np.arange(500) / 50))
    >>> fig = control_signal(t, u, err)
    >>> ax_u, ax_e = fig.axes
    >>> len(ax_u.get_lines()) - 1, ax_e.get_yscale(), ax_e.get_xlabel()  # 2 outputs (and 0)
    (2, 'log', 'time (ms)')
    >>> plt.close(fig)
    """
    if isinstance(t, Mapping):
        if u is not None or errors is not None:
            raise ValueError("u, errors: taken from the run result; pass t alone")
        result = t
        u = _result_value(result, f"{monitor}.u", "u")
        errors = _result_value(result, f"{monitor}.err", "errors")
        t = _result_value(result, f"{monitor}.t", "t") if f"{monitor}.t" in result else None
    if u is None or errors is None:
        raise TypeError("control_signal: pass t, u and errors, or a run result with "
                        f"'{monitor}.u' and '{monitor}.err'")
    U = check_array(np.asarray(u), "u")
    n_t = U.shape[-1] if t is None else None
    if t is not None:
        (x,), _, t_label = _magnitudes([("t", t)], "t", time_unit, "s")
        if x.ndim != 1:
            raise ValueError(f"t: expected a 1-D array of times, got shape {x.shape}")
        n_t, xlabel = x.size, _axis_label("time", t_label)
    else:
        x, xlabel = np.arange(n_t), "time step"
    U = _signal_rows(U, n_t, "u")
    E = _signal_rows(check_array(np.asarray(errors), "errors"), n_t, "errors")
    if E.shape != U.shape:
        raise ValueError(f"errors: expected the shape of u {U.shape}, got {E.shape}")
    if n_steps is not None:
        n_steps = check_int(n_steps, "n_steps", minimum=1)
        if n_t % n_steps:
            raise ValueError(f"n_steps: {n_t} time points are not a whole number of samples of "
                             f"{n_steps} steps")
    if sample is not None:
        if n_steps is None:
            raise ValueError("sample: needs n_steps (steps per sample)")
        sample = check_int(sample, "sample", minimum=0, maximum=n_t // n_steps - 1)
        part = slice(sample * n_steps, (sample + 1) * n_steps)
        x, U, E = x[part], U[:, part], E[:, part]
    fig, (a_u, a_e) = _axes(ax, 2, figsize=(7, 5))
    n_out = U.shape[0]
    for i, row in enumerate(U):
        a_u.plot(x, row, lw=1, label=f"u{i + 1}" if n_out <= 10 else None)
    a_u.axhline(0, color="grey", lw=0.5)
    a_u.set_ylabel("control signal u")
    if n_out <= 10:
        a_u.legend(fontsize=7, ncol=min(n_out, 5))
    norm = np.linalg.norm(E, axis=0)
    if log:
        positive = norm > 0
        text = "|r* - r_L|"
        ratios = [_end_over_start(part) for part in
                  (np.split(norm, n_t // n_steps) if sample is None and n_steps else [norm])]
        ratios = [r for r in ratios if np.isfinite(r)]
        if len(ratios) == 1:
            text += f" (end / start {ratios[0]:.2g})"
        elif ratios:
            text += f" (end / start per sample: median {np.median(ratios):.2g})"
        a_e.plot(x, np.where(positive, norm, np.nan), "k", lw=1.2, label=text)
        a_e.set_yscale("log")
        a_e.set_ylabel("output error |r* - r_L|")
    else:
        for i, row in enumerate(E):
            a_e.plot(x, row, lw=1, label=f"e{i + 1}" if n_out <= 10 else None)
        a_e.axhline(0, color="grey", lw=0.5)
        a_e.set_ylabel("output error r* - r_L")
    if sample is None and n_steps is not None:
        for s in range(1, n_t // n_steps):
            for a in (a_u, a_e):
                a.axvline(x[s * n_steps], color="0.6", ls=":", lw=0.8)
    if a_e.get_legend_handles_labels()[0]:
        a_e.legend(fontsize=7)
    a_e.set_xlabel(xlabel)
    a_u.set_title(title if title is not None else
                  "DFC controller" + (f", sample {sample}" if sample is not None else ""))
    for a in (a_u, a_e):
        a.grid(alpha=0.3)
    return fig
