{# Shared pieces of the dense (all-to-all) synapse templates of
   brian_dendrites.dense.  The dense templates never read the synapse index
   arrays in their main loop: synapse _idx connects presynaptic neuron
   _dense_pre = _idx / N_post to postsynaptic neuron _dense_post = _idx % N_post,
   which is the order in which Brian creates the synapses of a plain
   ``connect()`` between whole groups.  The two macros below make the binary
   refuse to run (exit code 1) if that assumption does not hold. #}

{# Block-diagonal projections (connect_dense(..., blocks=C)): row _dense_pre
   holds the _N_cols = N_post/C synapses onto the postsynaptic block
   _dense_pre / _dense_rpb (_dense_rpb = N_pre/C rows per block), which starts
   at element _dense_off.  Every row loop below runs _dense_post over
   [_dense_off, _dense_off + _N_cols) with _dense_row = _dense_pre*_N_cols -
   _dense_off, so that _idx = _dense_row + _dense_post; without blocks
   _N_cols = _N_post and _dense_off = 0. #}
{% macro dense_sizes() %}
const int _N = {{constant_or_scalar('N', variables['N'])}};
const int _N_pre = {{constant_or_scalar('N_pre', variables['N_pre'])}};
const int _N_post = {{constant_or_scalar('N_post', variables['N_post'])}};
{% if _dense_blocks %}
const int _N_cols = {{_dense_cols}};
const int _dense_rpb = {{_dense_block_rows}};
{% else %}
const int _N_cols = _N_post;
{% endif %}
{% endmacro %}

{% macro row_start() %}
{% if _dense_blocks %}
const int _dense_off = (_dense_pre / _dense_rpb) * _N_cols;
{% else %}
const int _dense_off = 0;
{% endif %}
const int _dense_row = _dense_pre * _N_cols - _dense_off;
{% endmacro %}

{% macro dense_size_check() %}
if ((long)_N != (long)_N_pre * (long)_N_cols)
{
    std::cerr << "brian_dendrites.dense: {{owner.name}} has " << _N
              << " synapses, expected " << (long)_N_pre * (long)_N_cols
              << " for the dense {{ 'block-diagonal' if _dense_blocks else 'all-to-all' }} code path." << std::endl;
    exit(1);
}
{% endmacro %}

{% macro dense_order_check(batched=False) %}
{
    {% if batched %}
    {{ batch_sizes() }}
    {% else %}
    {{ dense_sizes() }}
    {% endif %}
    {{ dense_size_check() }}
    {% set _pre_array = get_array_name(variables['_synaptic_pre']) %}
    {% set _post_array = get_array_name(variables['_synaptic_post']) %}
    for (int _s = 0; _s < _N; _s++)
    {
        const int _dense_i = _s / _N_cols;
        {% if _dense_blocks and not batched %}
        const int _dense_j = (_dense_i / _dense_rpb) * _N_cols + _s % _N_cols;
        {% else %}
        const int _dense_j = _s % _N_cols;
        {% endif %}
        if ({{_pre_array}}[_s] != _dense_i || {{_post_array}}[_s] != _dense_j)
        {
            std::cerr << "brian_dendrites.dense: synapse " << _s << " of {{owner.name}} connects "
                      << {{_pre_array}}[_s] << " -> " << {{_post_array}}[_s]
                      << ", the {{ 'batched ' if batched else '' }}dense{{ '' if batched else (' block-diagonal' if _dense_blocks else ' all-to-all') }} code path expects "
                      << _dense_i << " -> " << _dense_j << "." << std::endl;
            exit(1);
        }
    }
}
{% endmacro %}

{% macro column_range() %}
{# Inside an OpenMP parallel region: this thread's range [_dense_c0, _dense_c1)
   of target elements (boundaries at multiples of 8). #}
const int _dense_nt = {{ openmp_pragma('get_num_threads') }};
const int _dense_tid = {{ openmp_pragma('get_thread_num') }};
const int _dense_chunk = (((_N_post + _dense_nt - 1) / _dense_nt) + 7) / 8 * 8;
const int _dense_c0 = _dense_tid * _dense_chunk < _N_post ? _dense_tid * _dense_chunk : _N_post;
const int _dense_c1 = _dense_c0 + _dense_chunk < _N_post ? _dense_c0 + _dense_chunk : _N_post;
{% endmacro %}

{% macro dense_pragmas(reassociate=False) %}
#include <stdint.h>
{# With -ffast-math the compiler may re-associate products whose factors are
   loop invariant in the dense (pre, post) loops (e.g. eta*dt*r_pre) and round
   differently from the stock loop.  Keeping the association as written makes
   the dense results bit-identical to stock Brian (GCC only).
   ``reassociate``: keep -ffast-math's re-association (a sum onto the rows of
   a row-gated projection is then a vectorised dot product per row, equal to
   stock Brian's serial sum to rounding, not bit for bit). #}
#if defined(__GNUC__) && !defined(__clang__)
{% if not reassociate %}
#pragma GCC optimize("no-associative-math")
{% else %}
{# a dot product per row: unrolled with several partial sums, so that the
   additions do not wait for each other (one vector accumulator made a
   chain of dependent adds) #}
#pragma GCC optimize("unroll-loops", "variable-expansion-in-unroller")
{% endif %}
{# The dense loops stream the weight matrix through the cache.  On the AMD
   EPYC (Zen 4) machines of this project, 256-bit vectors with 32-byte aligned
   rows (dense_peel) ran the plastic 784x500 layer faster than 512-bit vectors
   with 64-byte aligned rows (0.077 vs 0.081 s, and 0.095 vs 0.100 s without
   the alignment).  Element-wise arithmetic is the same either way. #}
#if (defined(__x86_64__) || defined(__i386__)) && __GNUC__ >= 8
#pragma GCC target("prefer-vector-width=256")
#endif
#endif
{% endmacro %}

{% macro dense_peel(name, row, limit='_N_post') %}
{# Number of leading elements of a weight row to handle before the vector
   loop so that the row's synaptic array ({{name}}, chosen by
   DenseCPPCodeGenerator) is 32-byte aligned in the vector loop.  Brian's
   std::vector storage is only 16-byte aligned; unaligned 256-bit loads and
   stores that straddle cache lines made the streaming dense loops ~20 %
   slower (docs/benchmarks.md).  The peel changes no arithmetic and no order
   of additions into any target. #}
{% if name %}
int _dense_peel = (int)(((32u - ((uintptr_t)({{name}} + ({{row}})) & 31u)) & 31u) / sizeof({{name}}[0]));
if (_dense_peel > {{limit}}) _dense_peel = {{limit}};
{% else %}
const int _dense_peel = 0;
{% endif %}
{% endmacro %}

{# ---- row gates (connect_dense(..., row_gate=...)) -------------------------
   Rows (presynaptic neurons) whose gate is 0 in this step are skipped: their
   synapses keep their values and add nothing to sums (connect_dense proved
   that the model's expressions vanish there, so stock Brian computes the same
   numbers). The open rows are listed first and the row loop runs over the
   list: with a test inside the row loop GCC 12 did not vectorise an inner
   loop that calls _clip ("control flow in loop"). #}
{% macro gated_rows() %}
{% if _dense_row_gate %}
static std::vector<int> _dense_rows;
_dense_rows.clear();
for (int _dense_r = 0; _dense_r < _N_pre; _dense_r++)
    if ({{_dense_row_gate}}[_dense_r] != 0) _dense_rows.push_back(_dense_r);
const int _dense_n_rows = (int)_dense_rows.size();
{% endif %}
{% endmacro %}

{% macro row_for() %}
{% if _dense_row_gate %}
for (int _dense_k = 0; _dense_k < _dense_n_rows; _dense_k++)
{% else %}
for (int _dense_pre = 0; _dense_pre < _N_pre; _dense_pre++)
{% endif %}
{% endmacro %}

{% macro row_of_loop() %}
{% if _dense_row_gate %}
const int _dense_pre = _dense_rows[_dense_k];
{% if _dense_align_array %}
{# The open rows are scattered: the hardware prefetcher finds each row's
   stream only after its first misses, which cost ~20 % of a DGN branch's dot
   product.  Ask for the first 256 bytes of the open row two ahead (a row
   starts at element pre * _N_cols, blocks or not). #}
#if defined(__GNUC__)
if (_dense_k + 2 < _dense_n_rows)
{
    const char* _dense_next = (const char*)({{_dense_align_array}} + (size_t)_dense_rows[_dense_k + 2] * _N_cols);
    __builtin_prefetch(_dense_next);
    __builtin_prefetch(_dense_next + 64);
    __builtin_prefetch(_dense_next + 128);
    __builtin_prefetch(_dense_next + 192);
}
#endif
{% endif %}
{% endif %}
{% endmacro %}

{# The rows of a (non-batched) state update, gated rows skipped; ``code``: the
   vector code (default: the code object's own). #}
{% macro update_rows(code=None) %}
{{ gated_rows() }}
{{openmp_pragma('parallel-static')}}
{{ row_for() }}
{
    {{ row_of_loop() }}
    {{ row_start() }}
    {{ dense_peel(_dense_align_array, '_dense_row + _dense_off', '_N_cols') }}
    {{ update_row_loop('_dense_off', '_dense_off + _dense_peel', code) }}
    {{ update_row_loop('_dense_off + _dense_peel', '_dense_off + _N_cols', code) }}
}
{% endmacro %}

{% macro update_row_loop(first, last, code=None) %}
for (int _dense_post = {{first}}; _dense_post < {{last}}; _dense_post++)
{
    const int _idx = _dense_row + _dense_post;
    // vector code
    const size_t _vectorisation_idx = _idx;
    {{(vector_code if code is none else code)|autoindent}}
}
{% endmacro %}

{% macro summed_block_loop(first, last, target, pre='_dense_pre0 + _dense_b4') %}
{# Four rows at a time onto the postsynaptic elements: each target element is
   loaded once, receives the four rows' terms in increasing synapse order (as
   in the stock loop) and is stored once.  ``pre``: the row of the _dense_b4-th
   term (four consecutive rows, or four open rows of a row gate, _dense_r4). #}
for (int _dense_post = {{first}}; _dense_post < {{last}}; _dense_post++)
{
    auto _dense_acc = {{target}}[_dense_post + {{_target_start}}];
    for (int _dense_b4 = 0; _dense_b4 < 4; _dense_b4++)
    {
        const int _dense_pre = {{pre}};
        const int _idx = _dense_pre * _N_post + _dense_post;
        // vector code
        const size_t _vectorisation_idx = _idx;
        {{vector_code|autoindent}}
        _dense_acc += _synaptic_var;
    }
    {{target}}[_dense_post + {{_target_start}}] = _dense_acc;
}
{% endmacro %}

{% macro summed_row_loop(first, last, target, target_idx) %}
{% if target_idx == '_dense_pre' and _dense_row_gate %}
{# a row-gated sum onto the row's own element: a dot product in a local
   accumulator, which the compiler vectorises (re-association allowed, see
   dense_pragmas) #}
{
    auto _dense_dot = {{target}}[_dense_pre + {{_target_start}}];
    for (int _dense_post = {{first}}; _dense_post < {{last}}; _dense_post++)
    {
        const int _idx = _dense_row + _dense_post;
        // vector code
        const size_t _vectorisation_idx = _idx;
        {{vector_code|autoindent}}
        _dense_dot += _synaptic_var;
    }
    {{target}}[_dense_pre + {{_target_start}}] = _dense_dot;
}
{% else %}
for (int _dense_post = {{first}}; _dense_post < {{last}}; _dense_post++)
{
    const int _idx = _dense_row + _dense_post;
    // vector code
    const size_t _vectorisation_idx = _idx;
    {{vector_code|autoindent}}
    {{target}}[{{target_idx}} + {{_target_start}}] += _synaptic_var;
}
{% endif %}
{% endmacro %}

{# ---- batched projections (connect_dense(..., batch_size=B > 1)) ----------
   The groups hold B copies of their neurons, sample-major; the projection
   holds one weight per pair of the first copies.  _N_pre and _N_post are the
   sizes of ONE copy; a term of sample _dense_b reads the presynaptic neuron
   _dense_pre = i + _dense_b*_N_pre and the postsynaptic neuron
   _dense_post = j + _dense_b*_N_post, with the shared synapse _idx = i*_N_post + j. #}

{% macro batch_sizes() %}
const int _N = {{constant_or_scalar('N', variables['N'])}};
const int _dense_B = {{_dense_batch}};
const int _N_pre = {{_dense_n_pre}};
const int _N_post = {{_dense_n_post}};
const int _N_cols = _N_post;
{% endmacro %}

{% macro batch_summed_block(first, last, target, rows) %}
{# {{rows}} weight rows from _dense_r0, all samples at once: for a target
   column j these weights are loaded once and serve the _dense_B
   samples (the sample and row loops have compile-time trip counts and are
   unrolled, so the loop over j vectorises); every target element gets its
   terms in increasing synapse order, as in B separate projections. #}
#if defined(__GNUC__)
#pragma GCC ivdep
#endif
for (int _dense_j = {{first}}; _dense_j < {{last}}; _dense_j++)
{
    #if defined(__GNUC__) && __GNUC__ >= 8
    #pragma GCC unroll 64
    #endif
    for (int _dense_b = 0; _dense_b < _dense_B; _dense_b++)
    {
        const int _dense_post = _dense_j + _dense_b * _N_post;
        auto _dense_acc = {{target}}[_dense_post + {{_target_start}}];
        #if defined(__GNUC__) && __GNUC__ >= 8
        #pragma GCC unroll {{rows}}
        #endif
        for (int _dense_k = 0; _dense_k < {{rows}}; _dense_k++)
        {
            const int _dense_pre = _dense_r0 + _dense_k + _dense_b * _N_pre;
            const int _idx = (_dense_r0 + _dense_k) * _N_post + _dense_j;
            // vector code
            const size_t _vectorisation_idx = _idx;
            {{vector_code|autoindent}}
            _dense_acc += _synaptic_var;
        }
        {{target}}[_dense_post + {{_target_start}}] = _dense_acc;
    }
}
{% endmacro %}

{% macro batch_summed_row(first, last, target, target_idx) %}
for (int _dense_b = 0; _dense_b < _dense_B; _dense_b++)
{
    const int _dense_pre = _dense_i + _dense_b * _N_pre;
    for (int _dense_j = {{first}}; _dense_j < {{last}}; _dense_j++)
    {
        const int _dense_post = _dense_j + _dense_b * _N_post;
        const int _idx = _dense_i * _N_post + _dense_j;
        // vector code
        const size_t _vectorisation_idx = _idx;
        {{vector_code|autoindent}}
        {{target}}[{{target_idx}} + {{_target_start}}] += _synaptic_var;
    }
}
{% endmacro %}

{% macro batch_update_row(written) %}
{# The batched update of weight row _dense_r0: for every synapse, the
   generated update runs once per sample from the value at the start of the
   step (restored after each sample); the changes are summed and their mean
   added once.  The sample loop has a compile-time trip count and is
   unrolled, so the loop over postsynaptic elements vectorises. #}
#if defined(__GNUC__)
#pragma GCC ivdep
#endif
for (int _dense_j = 0; _dense_j < _N_post; _dense_j++)
{
    const int _idx = _dense_r0 * _N_post + _dense_j;
    {% for ptr, ctype in written %}
    const {{ctype}} _dense_s0_{{loop.index}} = {{ptr}}[_idx];
    {{ctype}} _dense_ds_{{loop.index}} = 0;
    {% endfor %}
    #if defined(__GNUC__) && __GNUC__ >= 8
    #pragma GCC unroll 64
    #endif
    for (int _dense_b = 0; _dense_b < _dense_B; _dense_b++)
    {
        const int _dense_pre = _dense_r0 + _dense_b * _N_pre;
        const int _dense_post = _dense_j + _dense_b * _N_post;
        // vector code
        const size_t _vectorisation_idx = _idx;
        {{vector_code|autoindent}}
        {% for ptr, ctype in written %}
        _dense_ds_{{loop.index}} += {{ptr}}[_idx] - _dense_s0_{{loop.index}};
        {{ptr}}[_idx] = _dense_s0_{{loop.index}};
        {% endfor %}
    }
    {% for ptr, ctype in written %}
    {{ptr}}[_idx] = _dense_s0_{{loop.index}} + _dense_ds_{{loop.index}} * _dense_inv_B;
    {% endfor %}
}
{% endmacro %}
