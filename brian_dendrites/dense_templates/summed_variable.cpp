{# USES_VARIABLES { N, N_pre, N_post, _synaptic_pre, _synaptic_post } #}
{# Dense all-to-all variant of Brian's ``summed_variable`` template
   (brian_dendrites.dense).  Every target element receives its terms in
   increasing synapse order, exactly as in the stock template, so sums onto
   postsynaptic variables are bit-identical to stock Brian (a row-gated sum
   onto presynaptic variables is the exception, see extra_headers). #}
{% extends 'common_group.cpp' %}
{% import '_dense_macros.cpp' as dense with context %}

{% block extra_headers %}
{{ super() }}
{# A row-gated sum onto the rows (connect_dense's row_gate; e.g. a DGN branch's
   drive, one dot product per open branch): vectorised with partial sums,
   equal to stock Brian to rounding. Every other sum keeps the stock order. #}
{{ dense.dense_pragmas(reassociate=(_dense_row_gate and _index_var.name == '_synaptic_pre')) }}
{# Row blocking (below) unrolls four terms per target element.  The SLP
   vectoriser could compute those four products as one vector multiply and
   add them without fused multiply-adds, i.e. round differently from the stock
   loop, which contracts each "+= w*r" into an FMA.  Keeping it off costs
   nothing measurable here (the loop vectoriser over target elements does the
   work and keeps the per-element FMA chain). #}
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("no-tree-slp-vectorize")
#endif
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

    {# The compiler must not use its knowledge that the targets are now zero:
       with "0 + a*b + c*d" it may fuse either product into an FMA, whereas the
       stock loop (indirect indices) always rounds the first product alone. #}
#if defined(__GNUC__)
    __asm__ __volatile__("" ::: "memory");
#endif

    // scalar code
    const size_t _vectorisation_idx = -1;
    {{scalar_code|autoindent}}

    {% if _dense_batch %}
    // Batched projection: the summed input of every sample's copy from the
    // shared weights, terms in increasing synapse order for every target
    // element (as in _dense_B separate projections).
    {{ dense.batch_sizes() }}
    {{ dense.dense_size_check() }}
    {% if _dense_target_idx == '_dense_post' %}
    {{ openmp_pragma('parallel') }}
    {
        {{ dense.column_range() }}
        {% if _target_var_array not in vector_code and not _dense_row_gate %}
        int _dense_r0 = 0;
        for (; _dense_r0 + 8 <= _N_pre; _dense_r0 += 8)
        {
            {{ dense.batch_summed_block('_dense_c0', '_dense_c1', _target_var_array, 8) }}
        }
        for (int _dense_i = _dense_r0; _dense_i < _N_pre; _dense_i++)
        {% else %}
        for (int _dense_i = 0; _dense_i < _N_pre; _dense_i++)
        {% endif %}
        {
            {{ dense.batch_summed_row('_dense_c0', '_dense_c1', _target_var_array, '_dense_post') }}
        }
    }
    {% else %}
    for (int _dense_i = 0; _dense_i < _N_pre; _dense_i++)
    {
        {{ dense.batch_summed_row('0', '_N_post', _target_var_array, '_dense_pre') }}
    }
    {% endif %}
    {% else %}
    {{ dense.dense_sizes() }}
    {{ dense.dense_size_check() }}
    {{ dense.gated_rows() }}
    {% if _dense_target_idx == '_dense_post' and openmp_pragma('with_openmp') and not _dense_blocks %}
    // OpenMP: every thread takes a range of target elements (columns of the
    // weight matrix, boundaries at multiples of 8 elements) and adds their
    // terms over all rows in increasing synapse order, as one thread does:
    // the sums are bit-identical to the serial loop, with no atomics.
    {{ openmp_pragma('parallel') }}
    {
        {{ dense.column_range() }}
        {% if _target_var_array not in vector_code and not _dense_row_gate %}
        int _dense_pre0 = 0;
        for (; _dense_pre0 + 4 <= _N_pre; _dense_pre0 += 4)
        {
            {{ dense.dense_peel(_dense_align_array, '_dense_pre0 * _N_post + _dense_c0', '_dense_c1 - _dense_c0') }}
            {{ dense.summed_block_loop('_dense_c0', '_dense_c0 + _dense_peel', _target_var_array) }}
            {{ dense.summed_block_loop('_dense_c0 + _dense_peel', '_dense_c1', _target_var_array) }}
        }
        for (int _dense_pre = _dense_pre0; _dense_pre < _N_pre; _dense_pre++)
        {% else %}
        {{ dense.row_for() }}
        {% endif %}
        {
            {{ dense.row_of_loop() }}
            const int _dense_row = _dense_pre * _N_post;
            {{ dense.dense_peel(_dense_align_array, '_dense_row + _dense_c0', '_dense_c1 - _dense_c0') }}
            {{ dense.summed_row_loop('_dense_c0', '_dense_c0 + _dense_peel', _target_var_array, _dense_target_idx) }}
            {{ dense.summed_row_loop('_dense_c0 + _dense_peel', '_dense_c1', _target_var_array, _dense_target_idx) }}
        }
    }
    {% else %}
    {% if _dense_target_idx == '_dense_post' and _target_var_array not in vector_code and not _dense_row_gate and not _dense_blocks %}
    // Rows of the weight matrix are taken four at a time: each target element
    // is loaded once, receives the four terms in increasing synapse order (as
    // in the stock loop, so the sums are bit-identical) and is stored once.
    int _dense_pre0 = 0;
    for (; _dense_pre0 + 4 <= _N_pre; _dense_pre0 += 4)
    {
        {{ dense.dense_peel(_dense_align_array, '_dense_pre0 * _N_post') }}
        {{ dense.summed_block_loop('0', '_dense_peel', _target_var_array) }}
        {{ dense.summed_block_loop('_dense_peel', '_N_post', _target_var_array) }}
    }
    for (int _dense_pre = _dense_pre0; _dense_pre < _N_pre; _dense_pre++)
    {% elif _dense_target_idx == '_dense_post' and _target_var_array not in vector_code and _dense_row_gate and not _dense_blocks %}
    // Open rows four at a time (as above, over the list of open rows): a
    // DGN gate projection adds ~150 rows of 10 000 into one target array.
    int _dense_k = 0;
    for (; _dense_k + 4 <= _dense_n_rows; _dense_k += 4)
    {
        const int _dense_r4[4] = {_dense_rows[_dense_k], _dense_rows[_dense_k + 1],
                                  _dense_rows[_dense_k + 2], _dense_rows[_dense_k + 3]};
        {{ dense.dense_peel(_dense_align_array, '_dense_r4[0] * _N_post') }}
        {{ dense.summed_block_loop('0', '_dense_peel', _target_var_array, '_dense_r4[_dense_b4]') }}
        {{ dense.summed_block_loop('_dense_peel', '_N_post', _target_var_array, '_dense_r4[_dense_b4]') }}
    }
    for (; _dense_k < _dense_n_rows; _dense_k++)
    {% else %}
    {{ dense.row_for() }}
    {% endif %}
    {
        {{ dense.row_of_loop() }}
        {{ dense.row_start() }}
        {{ dense.dense_peel(_dense_align_array, '_dense_row + _dense_off', '_N_cols') }}
        {{ dense.summed_row_loop('_dense_off', '_dense_off + _dense_peel', _target_var_array, _dense_target_idx) }}
        {{ dense.summed_row_loop('_dense_off + _dense_peel', '_dense_off + _N_cols', _target_var_array, _dense_target_idx) }}
    }
    {% endif %}
    {% endif %}
{% endblock %}
