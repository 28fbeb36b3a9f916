{# Shared pieces of the dense (all-to-all) synapse templates of
   brian_dendrites.dense.  The dense templates never read the synapse index
   arrays in their main loop: synapse _idx connects presynaptic neuron
   _dense_pre = _idx / N_post to postsynaptic neuron _dense_post = _idx % N_post,
   which is the order in which Brian creates the synapses of a plain
   ``connect()`` between whole groups.  The two macros below make the binary
   refuse to run (exit code 1) if that assumption does not hold. #}

{% macro dense_sizes() %}
const int _N = {{constant_or_scalar('N', variables['N'])}};
const int _N_pre = {{constant_or_scalar('N_pre', variables['N_pre'])}};
const int _N_post = {{constant_or_scalar('N_post', variables['N_post'])}};
{% endmacro %}

{% macro dense_size_check() %}
if ((long)_N != (long)_N_pre * (long)_N_post)
{
    std::cerr << "brian_dendrites.dense: {{owner.name}} has " << _N
              << " synapses, expected N_pre*N_post = " << (long)_N_pre * (long)_N_post
              << " for the dense all-to-all code path." << std::endl;
    exit(1);
}
{% endmacro %}

{% macro dense_order_check() %}
{
    {{ dense_sizes() }}
    {{ dense_size_check() }}
    {% set _pre_array = get_array_name(variables['_synaptic_pre']) %}
    {% set _post_array = get_array_name(variables['_synaptic_post']) %}
    for (int _s = 0; _s < _N; _s++)
    {
        if ({{_pre_array}}[_s] != _s / _N_post || {{_post_array}}[_s] != _s % _N_post)
        {
            std::cerr << "brian_dendrites.dense: synapse " << _s << " of {{owner.name}} connects "
                      << {{_pre_array}}[_s] << " -> " << {{_post_array}}[_s]
                      << ", the dense all-to-all code path expects "
                      << _s / _N_post << " -> " << _s % _N_post << "." << std::endl;
            exit(1);
        }
    }
}
{% endmacro %}

{% macro dense_pragmas() %}
{# With -ffast-math the compiler may re-associate products whose factors are
   loop invariant in the dense (pre, post) loops (e.g. eta*dt*r_pre) and round
   differently from the stock loop.  Keeping the association as written makes
   the dense results bit-identical to stock Brian (GCC only). #}
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("no-associative-math")
{# The dense loops stream the weight matrix through the cache; rows of N_post
   elements are rarely 64-byte aligned, and on the AMD EPYC machines of this
   project 256-bit vectors ran the plastic 784x500 layer ~5 % faster than
   512-bit ones (docs/benchmarks.md).  Element-wise arithmetic is unchanged. #}
#if (defined(__x86_64__) || defined(__i386__)) && __GNUC__ >= 8
#pragma GCC target("prefer-vector-width=256")
#endif
#endif
{% endmacro %}
