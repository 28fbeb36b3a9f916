{# USES_VARIABLES { N, N_pre, N_post, _synaptic_pre, _synaptic_post } #}
{# ALLOWS_SCALAR_WRITE #}
{# Dense all-to-all variant of Brian's ``stateupdate`` template for Synapses
   (brian_dendrites.dense).  Same generated scalar/vector code as the stock
   template; the loop runs over (pre, post) pairs with computed indices. #}
{% extends 'common_group.cpp' %}
{% import '_dense_macros.cpp' as dense with context %}

{% block extra_headers %}
{{ super() }}
{{ dense.dense_pragmas() }}
{% endblock %}

{% block before_code %}
    // brian_dendrites.dense: verify the all-to-all synapse order once per run
    {{ dense.dense_order_check() }}
{% endblock %}

{% block maincode %}
    //// MAIN CODE ////////////
    // scalar code
    const size_t _vectorisation_idx = -1;
    {{scalar_code|autoindent}}

    {{ dense.dense_sizes() }}
    {{ dense.dense_size_check() }}
    {{openmp_pragma('parallel-static')}}
    for (int _dense_pre = 0; _dense_pre < _N_pre; _dense_pre++)
    {
        const int _dense_row = _dense_pre * _N_post;
        for (int _dense_post = 0; _dense_post < _N_post; _dense_post++)
        {
            const int _idx = _dense_row + _dense_post;
            // vector code
            const size_t _vectorisation_idx = _idx;
            {{vector_code|autoindent}}
        }
    }
{% endblock %}
