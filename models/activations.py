"""Rate activation functions phi(x) as Brian2 expressions.

Each entry is a dimensionless Brian2 expression in the placeholder ``x``;
models substitute their own variable with
:func:`brian_dendrites.spec.substitute_expression` (Brian2's word
substitution, not string templating).

- ``'softplus_sacramento'``: ``0.1 log(1 + exp(x - 3))``, the transfer function
  of the regression experiment of Sacramento et al. (2018), Fig. 2. Written in
  the overflow-free form ``0.1 (max(y, 0) + log(1 + exp(-|y|)))``, y = x - 3.
- ``'logistic'``: ``1 / (1 + exp(-x))`` (Sacramento et al. 2018, MNIST).
- ``'tanh'``, ``'linear'``, ``'relu'``.
"""

ACTIVATIONS = {
    "softplus_sacramento": "0.1*(clip(x - 3, 0, inf) + log(1 + exp(-abs(x - 3))))",
    "logistic": "1/(1 + exp(-x))",
    "tanh": "tanh(x)",
    "linear": "x",
    "relu": "clip(x, 0, inf)",
}


def activation(name, variable="u"):
    """Return the Brian2 expression of activation ``name`` applied to ``variable``.

    Parameters
    ----------
    name : str
        One of :data:`ACTIVATIONS`.
    variable : str
        Identifier or expression to apply it to.

    Examples
    --------
    >>> activation('logistic', 'u')
    '1/(1 + exp(-u))'
    """
    from brian_dendrites.spec import substitute_expression

    if name not in ACTIVATIONS:
        raise ValueError(
            f"activation: unknown name {name!r}; expected one of {sorted(ACTIVATIONS)}"
        )
    return substitute_expression(ACTIVATIONS[name], x=variable)
