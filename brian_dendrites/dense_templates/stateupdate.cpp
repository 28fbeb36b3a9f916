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
        {{ dense.dense_peel(_dense_align_array, '_dense_row') }}
        {{ dense.update_row_loop('0', '_dense_peel') }}
        {{ dense.update_row_loop('_dense_peel', '_N_post') }}
    }
{% endblock %}
