"""Input populations, and Poisson spiking output for rate neurons with a presynaptic rate trace."""

from brian2 import Hz, ms

from brian_dendrites.spec import NeuronModel, Param, Update

TRACE = """
dx/dt = -x/tau_x : 1   # presynaptic spike trace, normalised so that E[x] = r
"""


def rate_input():
    """Input population: a rate ``r`` set from outside (e.g. a TimedArray).

    Returns
    -------
    NeuronModel
    """
    return NeuronModel("rate_input", "r : 1  # input rate, set once per step from outside",
                       reference="input layer")


def low_pass_input():
    """Input population whose rate follows the pattern through a low-pass filter.

    ``r_in`` is the pattern's rate at this step (set from outside, e.g. a
    TimedArray); the rate ``r`` read by the next layer (its basal drive and
    the presynaptic factor of its plasticity) relaxes toward it::

        tau_in dr/dt = r_in - r

    integrated exactly for ``r_in`` held over each step,
    ``r <- r_in + (r - r_in) exp(-dt/tau_in)``, once per step before the
    neurons read their inputs. ``tau_in = 0`` gives step inputs (``r = r_in``).

    Why: with step inputs every pattern switch makes a dendritic prediction
    jump while the soma lags it (time constant ``1/(g_L + g_B + g_A)``); the
    dendritic prediction rule turns those transients into a decay of the
    forward weights along the input covariance. All public reimplementations
    of Sacramento et al. (2018) filter their inputs with ``tau_in = 3 ms``
    (``../shared/notes/sacramento-fig2-probe.md``, section 4).

    Returns
    -------
    NeuronModel

    Examples
    --------
    >>> from brian2 import ms
    >>> float(low_pass_input()['tau_in'] / ms)
    3.0
    """
    params = [Param("tau_in", 3 * ms, "input low-pass time constant (0 = step inputs)",
                    "nonnegative")]
    return NeuronModel(
        "low_pass_input",
        "r : 1     # filtered input rate, read by the next layer\n"
        "r_in : 1  # the pattern's rate this step, set from outside",
        params=params,
        updates=[Update("r = r_in + (r - r_in)*exp(-dt/(tau_in + 1e-30*second))",
                        when="start", order=-0.5, name="low_pass")],
        reference="input low-pass filter of the Sacramento et al. (2018) reimplementations",
        doc=low_pass_input.__doc__,
    )


def with_poisson_spikes(model: NeuronModel) -> NeuronModel:
    """Make a rate neuron emit Poisson spikes at rate ``r_max * r``.

    The neuron keeps its rate ``r = phi(u)`` (so its own learning signals are
    unchanged) and in addition fires with probability ``r_max r dt`` per step.
    Each spike increments a trace ``x`` by ``1/(r_max tau_x)``, so that
    ``x`` is an unbiased, low-pass filtered estimate of ``r``
    (``E[x] = r`` for a stationary rate). Synapses then read ``x_pre``
    instead of ``r_pre``: the same plasticity rules with spike-based
    presynaptic traces.

    Parameters
    ----------
    model : NeuronModel
        A rate model with a per-step variable ``r`` (e.g.
        :func:`~brian_dendrites.models.pyramidal_neuron`).

    Returns
    -------
    NeuronModel
        A new model named ``<name>_spiking`` with parameters ``r_max``
        (rate of ``r = 1``, at most ``1/dt``) and ``tau_x`` (trace time
        constant).
    """
    if not isinstance(model, NeuronModel):
        raise TypeError(f"model must be a NeuronModel, got {type(model).__name__}")
    if "r" not in model.to_equations().names:
        raise ValueError(f"model {model.name!r} has no rate variable 'r' to spike from")
    params = list(model.params.values()) + [
        Param("r_max", 1000 * Hz, "firing rate of a neuron with r = 1 (<= 1/dt)", "positive"),
        Param("tau_x", 10 * ms, "time constant of the presynaptic spike trace x", "positive"),
    ]
    spiking = NeuronModel(
        f"{model.name}_spiking",
        model.equations + "\n" + TRACE.strip(),
        params=params,
        updates=model.updates,
        threshold="rand() < clip(r, 0, inf)*r_max*dt",
        reset="x += 1/(r_max*tau_x)",
        method=model.method,
        reference=model.reference + "; Poisson spiking with rate traces",
        doc=(model.doc or "") + "\n" + (with_poisson_spikes.__doc__ or ""),
    )
    # keep the parent's current parameter values
    return spiking.with_params(**model.values)
