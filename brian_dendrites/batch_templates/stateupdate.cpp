{# USES_VARIABLES { N } #}
{# ALLOWS_SCALAR_WRITE #}
{# Batch mean of neuron variables (brian_dendrites.dense.batch_mean).  The
   group holds _B copies of its neurons, sample-major (neuron b*_n + k is
   neuron k of sample b).  Every variable the runner's code names
   (``b = b``) is set, in every copy, to the mean over the copies: a learned
   parameter that each sample's copy changed by its own update ends the
   step at its start value plus the mean change, shared again by all copies.
   The generated code itself is not run. #}
{% extends 'common_group.cpp' %}

{% block maincode %}
    //// MAIN CODE ////////////
    const int _N = {{constant_or_scalar('N', variables['N'])}};
    const int _B = {{_batch_size}};
    const int _n = _N / _B;
    if (_n * _B != _N)
    {
        std::cerr << "brian_dendrites.dense: {{owner.name}} has " << _N
                  << " neurons, not a multiple of batch_size " << _B << "." << std::endl;
        exit(1);
    }
    {% for ptr, ctype in _batch_arrays %}
    for (int _k = 0; _k < _n; _k++)
    {
        double _sum = 0.0;
        for (int _b = 0; _b < _B; _b++)
            _sum += {{ptr}}[_b * _n + _k];
        const {{ctype}} _mean = ({{ctype}})(_sum / _B);
        for (int _b = 0; _b < _B; _b++)
            {{ptr}}[_b * _n + _k] = _mean;
    }
    {% endfor %}
{% endblock %}
