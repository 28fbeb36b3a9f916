{# USES_VARIABLES { _synaptic_pre, _synaptic_post, N_incoming, N_outgoing, N,
                    N_pre, N_post, _source_offset, _target_offset } #}
{# WRITES_TO_READ_ONLY_VARIABLES { _synaptic_pre, _synaptic_post,
                                   N_incoming, N_outgoing, N } #}
{# Dense variant of Brian's ``synapses_create_generator`` template, used only
   by ``connect_dense`` for its own condition-free all-to-all ``connect()``
   (one copy, offsets 0, no earlier synapses).  It creates the same synapses
   in the same order as the stock template (synapse s = (s / N_post,
   s % N_post)) and the same counts, but sizes every array once instead of
   growing the index vectors one synapse at a time: on 25 M synapses (a DGN
   on MNIST) the stock loop's reallocations and per-synapse counter updates
   cost ~0.3 s per run. #}
{% extends 'common_synapses.cpp' %}

{% block extra_headers %}
{{ super() }}
#include <iostream>
{% endblock %}

{% block maincode %}
    const size_t _N_pre = {{constant_or_scalar('N_pre', variables['N_pre'])}};
    const size_t _N_post = {{constant_or_scalar('N_post', variables['N_post'])}};
    const size_t _old = {{_dynamic__synaptic_pre}}.size();
    if (_old != 0 || (long)_source_offset != 0 || (long)_target_offset != 0)
    {
        std::cerr << "brian_dendrites.dense: the dense all-to-all creation of {{owner.name}} "
                  << "expects no earlier synapses and zero offsets." << std::endl;
        exit(1);
    }
    if (_N_pre != 0 && _N_post > (size_t)2147483647 / _N_pre)
    {
        std::cerr << "brian_dendrites.dense: {{owner.name}} would have " << _N_pre << " x "
                  << _N_post << " synapses, more than Brian2's 32-bit synapse indices allow."
                  << std::endl;
        exit(1);
    }
    const size_t _n_new = _N_pre * _N_post;
    {{_dynamic_N_incoming}}.assign(_N_post, (int32_t)_N_pre);
    {{_dynamic_N_outgoing}}.assign(_N_pre, (int32_t)_N_post);
    {{_dynamic__synaptic_pre}}.resize(_n_new);
    {{_dynamic__synaptic_post}}.resize(_n_new);
    int32_t* const _dense_pre = _n_new ? &{{_dynamic__synaptic_pre}}[0] : 0;
    int32_t* const _dense_post = _n_new ? &{{_dynamic__synaptic_post}}[0] : 0;
    for (size_t _i = 0; _i < _N_pre; _i++)
    {
        int32_t* const _pre_row = _dense_pre + _i * _N_post;
        int32_t* const _post_row = _dense_post + _i * _N_post;
        for (size_t _j = 0; _j < _N_post; _j++)
        {
            _pre_row[_j] = (int32_t)_i;
            _post_row[_j] = (int32_t)_j;
        }
    }

	// now resize all registered variables (as the stock template)
	const int32_t newsize = {{_dynamic__synaptic_pre}}.size();
    {% for varname in owner._registered_variables | variables_to_array_names(access_data=False) | sort %}
    {{varname}}.resize(newsize);
    {% endfor %}
	// Also update the total number of synapses
	{{N}} = newsize;
{% endblock %}
