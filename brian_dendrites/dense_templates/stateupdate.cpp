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
    {% if _dense_batch %}
    {{ dense.dense_order_check(batched=True) }}
    {% else %}
    {{ dense.dense_order_check() }}
    {% endif %}
{% endblock %}

{% block maincode %}
    //// MAIN CODE ////////////
    // scalar code
    const size_t _vectorisation_idx = -1;
    {{scalar_code|autoindent}}

    {% if _dense_batch %}
    // Batched projection: one value per synapse, shared by _dense_B samples.
    // Every written synaptic variable takes the batch MEAN of the per-sample
    // changes: for each synapse the update runs once per sample from the
    // value at the start of the step (restored after each sample), the
    // changes are summed, and their mean is added once.  The sample loop is
    // innermost (a compile-time trip count the compiler unrolls), so the
    // loop over the postsynaptic elements of a row vectorises.
    {{ dense.batch_sizes() }}
    {{ dense.dense_size_check() }}
    const double _dense_inv_B = 1.0 / _dense_B;
    {# (Blocks of 2 or 4 rows, which would load the postsynaptic values once
       per block, ran the 784x500 update 1.5x slower here: one row at a time.) #}
    {{ openmp_pragma('parallel-static') }}
    for (int _dense_r0 = 0; _dense_r0 < _N_pre; _dense_r0++)
    {
        {{ dense.batch_update_row(_dense_written) }}
    }
    {% else %}
    {{ dense.dense_sizes() }}
    {{ dense.dense_size_check() }}
    {% if _dense_write_gate %}
    // Write gate (connect_dense(..., write_gate=...)): on steps where the flag
    // is 0 the gated variables do not change (proved from the model), and the
    // update runs without them (or not at all).
    if ({{_dense_write_gate.flag}}[0] == 0)
    {
        {% if not _dense_write_gate.empty %}
        {{_dense_write_gate.scalar|autoindent}}
        {{ dense.update_rows(_dense_write_gate.vector) }}
        {% endif %}
    }
    else
    {% endif %}
    {
    {{ dense.update_rows() }}
    }
    {% endif %}
{% endblock %}
