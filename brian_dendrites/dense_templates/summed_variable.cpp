{# USES_VARIABLES { N, N_pre, N_post, _synaptic_pre, _synaptic_post } #}
{# Dense all-to-all variant of Brian's ``summed_variable`` template
   (brian_dendrites.dense).  Every target element receives its terms in
   increasing synapse order, exactly as in the stock template, so sums onto
   postsynaptic variables are bit-identical to stock Brian. #}
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
    {% set _target_var_array = get_array_name(_target_var) %}
    {% if _index_var.name == '_synaptic_post' %}
    {% set _dense_target_idx = '_dense_post' %}
    {% elif _index_var.name == '_synaptic_pre' %}
    {% set _dense_target_idx = '_dense_pre' %}
    {% else %}
    #error "brian_dendrites.dense: unexpected summed variable index {{_index_var.name}}"
    {% endif %}
    //// MAIN CODE ////////////
    const int _target_size = {{constant_or_scalar(_target_size_name, variables[_target_size_name])}};

    // Set all the target variable values to zero
    {{ openmp_pragma('parallel-static') }}
    for (int _target_idx=0; _target_idx<_target_size; _target_idx++)
    {
        {{_target_var_array}}[_target_idx + {{_target_start}}] = 0;
    }

    // scalar code
    const size_t _vectorisation_idx = -1;
    {{scalar_code|autoindent}}

    {{ dense.dense_sizes() }}
    {{ dense.dense_size_check() }}
    for (int _dense_pre = 0; _dense_pre < _N_pre; _dense_pre++)
    {
        const int _dense_row = _dense_pre * _N_post;
        for (int _dense_post = 0; _dense_post < _N_post; _dense_post++)
        {
            const int _idx = _dense_row + _dense_post;
            // vector code
            const size_t _vectorisation_idx = _idx;
            {{vector_code|autoindent}}
            {{_target_var_array}}[{{_dense_target_idx}} + {{_target_start}}] += _synaptic_var;
        }
    }
{% endblock %}
