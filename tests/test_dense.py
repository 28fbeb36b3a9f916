"""Tests for brian_dendrites.dense (the dense all-to-all cpp_standalone path).

Every standalone test builds one binary in which a *dense* copy (switched with
`apply_dense`) and a *stock* copy of the same model run side by side, and
compares them.  The device is reset after each test by the ``standalone``
fixture (``device.reinit()`` on the standalone device, then
``reset_device()`` back to the runtime device and ``reinit_devices()``),
which makes several standalone builds in one pytest process reliable.
"""

import os
import re

import numpy as np
import pytest
from brian2 import (
    Hz,
    Network,
    NeuronGroup,
    StateMonitor,
    Synapses,
    defaultclock,
    get_device,
    ms,
    prefs,
)

from brian_dendrites.dense import (
    DenseCPPStandaloneCodeObject,
    apply_dense,
    connect_dense,
    dense_order,
    is_all_to_all,
    verify_dense_order,
)

SHAPES = [(3, 5), (7, 2), (1, 4)]
# The dense templates keep GCC from re-associating (see dense_templates/
# _dense_macros.cpp), which makes them bit-identical to stock Brian with GCC.
# With another compiler only the 1e-12 tolerance is guaranteed.
EXPECT_BIT_IDENTICAL = "clang" not in os.environ.get("CXX", "") + os.environ.get("CC", "")
N_STEPS = 200

SYNAPSE_MODELS = {
    # (a) rate Urbanczik-Senn
    "rate_us": """
        dw/dt = eta*err_post*r_pre : 1 (clock-driven)
        v_post = w*r_pre : 1 (summed)
        eta : Hz (shared, constant)
        """,
    # (b) low-pass filtered update
    "lowpass": """
        dDelta/dt = (err_post*r_pre - Delta)/tau_w : 1 (clock-driven)
        dw/dt = eta*Delta : 1 (clock-driven)
        v_post = w*r_pre : 1 (summed)
        eta : Hz (shared, constant)
        tau_w : second (shared, constant)
        """,
    # (c) event-free spiking variant: presynaptic trace x of a spiking group
    "spiking_trace": """
        dw/dt = eta*err_post*x_pre : 1 (clock-driven)
        v_post = w*x_pre : 1 (summed)
        eta : Hz (shared, constant)
        """,
}

POST_EQS = """
err : 1
v : 1
target = 0.5 + 0.4*sin(2*pi*20*Hz*t + 0.7*i) : 1
"""


@pytest.fixture
def standalone(standalone_device):
    """cpp_standalone active, one thread (see conftest.standalone_device)."""
    return standalone_device()


def _pre_group(n, kind):
    if kind == "spiking_trace":
        pre = NeuronGroup(
            n,
            """dv/dt = (I - v)/(5*ms) : 1
               dx/dt = -x/(10*ms) : 1
               I : 1 (constant)""",
            threshold="v > 1",
            reset="v = 0; x += 1",
            method="exact",
        )
        pre.I = 1.2 + 0.5 * np.arange(n) / n
    else:
        pre = NeuronGroup(n, "r : 1\nrbase : 1 (constant)")
        pre.rbase = 0.2 + 0.6 * np.arange(n) / n
        pre.run_regularly(
            "r = rbase*(1 + 0.5*sin(2*pi*15*Hz*t + i))", when="start"
        )
    return pre


def _layer(pre, n_post, kind, connect="dense", err_uses_v=True):
    """A plastic layer onto a new post group with a per-neuron error.

    ``err`` is a post neuron variable updated once per step; ``pre`` may be
    shared by several layers (synapses only read from it).
    """
    post = NeuronGroup(n_post, POST_EQS)
    post.run_regularly(
        "err = target - v" if err_uses_v else "err = target - 0.3",
        when="after_groups",
    )
    syn = Synapses(pre, post, SYNAPSE_MODELS[kind], method="euler")
    if connect == "dense":
        connect_dense(syn)
    elif connect == "full":
        syn.connect()
    elif connect == "p":
        syn.connect(p=0.5)
    elif connect == "condition":
        syn.connect(condition="i != j")
    elif connect == "arrays":
        syn.connect(i=[0, 2, 1, 2, 0], j=[1, 0, 3, 3, 4])
    elif connect == "dense_then_more":
        connect_dense(syn)
        syn.connect(i=0, j=0)
    else:  # pragma: no cover - test helper misuse
        raise ValueError(connect)
    # w starts at 0; eta is a shared variable (no extra code objects, which
    # keeps the number of compiled files, hence the test time, down)
    syn.eta = 5 * Hz
    if kind == "lowpass":
        syn.tau_w = 3 * ms
    return post, syn


def _cpp_code(syn, templates=("stateupdate", "summed_variable")):
    """Generated C++ of the state updater and summed updaters of ``syn``."""
    codes = {}
    for codeobj in get_device().code_objects.values():
        if codeobj.owner.name == syn.name and codeobj.template_name in templates:
            codes[codeobj.template_name] = (type(codeobj), codeobj.code.cpp_file)
    return codes


def _max_rel_diff(a, b):
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    assert a.shape == b.shape
    scale = np.maximum(np.abs(b), 1e-300)
    return float(np.max(np.abs(a - b) / scale)) if a.size else 0.0


@pytest.mark.parametrize("kind", sorted(SYNAPSE_MODELS))
def test_dense_equals_stock(standalone, kind, build_standalone):
    layers = {}
    net = Network()
    for n_pre, n_post in SHAPES:
        pre = _pre_group(n_pre, kind)
        net.add(pre)
        for copy, connect in (("dense", "dense"), ("stock", "full")):
            post, syn = _layer(pre, n_post, kind, connect=connect)
            layers[(n_pre, n_post), copy] = (post, syn)
            net.add(post, syn)
    dense_syns = [layers[s, "dense"][1] for s in SHAPES]
    stock_syns = [layers[s, "stock"][1] for s in SHAPES]
    # stock copies are eligible too, but we only switch the dense copies
    switched = apply_dense(dense_syns)
    assert switched == [syn.name for syn in dense_syns]
    net.run(N_STEPS * defaultclock.dt)
    build_standalone(standalone / "build")

    for syn in dense_syns:
        codes = _cpp_code(syn)
        assert set(codes) == {"stateupdate", "summed_variable"}
        for cls, code in codes.values():
            assert cls is DenseCPPStandaloneCodeObject
            assert "_dense_pre" in code and "_synaptic_pre[_idx]" not in code
        # rows are peeled to align the first written synaptic array (the
        # update) or the first read one (the sum)
        aligned = {
            template: re.findall(r"uintptr_t\)\(_ptr_array_(\w+?) \+", code)
            for template, (_, code) in codes.items()
        }
        first_written = "Delta" if kind == "lowpass" else "w"
        assert aligned["stateupdate"] == [f"{syn.name}_{first_written}"]
        assert set(aligned["summed_variable"]) == {f"{syn.name}_w"}
    for syn in stock_syns:
        for cls, code in _cpp_code(syn).values():
            assert cls is not DenseCPPStandaloneCodeObject
            assert "_dense_pre" not in code
    # connect_dense creates its synapses with the dense template (sized once), stock
    # connect() with Brian's (one push_back per synapse)
    creation = ("synapses_create_generator",)
    for syns, dense_creation in ((dense_syns, True), (stock_syns, False)):
        for syn in syns:
            (cls, code), = _cpp_code(syn, creation).values()
            assert (cls is DenseCPPStandaloneCodeObject) == dense_creation
            assert ("push_back" not in code) == dense_creation

    for shape in SHAPES:
        post_d, syn_d = layers[shape, "dense"]
        post_s, syn_s = layers[shape, "stock"]
        assert verify_dense_order(syn_d) and verify_dense_order(syn_s)
        # the dense creation made exactly the stock synapses and counts
        for var in ("i", "j", "N_incoming", "N_outgoing", "N"):
            np.testing.assert_array_equal(getattr(syn_d, var)[:], getattr(syn_s, var)[:])
        w_d, w_s = syn_d.w[:], syn_s.w[:]
        assert len(w_d) == shape[0] * shape[1]
        # the rule really changed the weights, differently per synapse
        assert np.min(np.abs(w_s)) > 1e-6 and len(np.unique(w_s)) == len(w_s)
        assert _max_rel_diff(w_d, w_s) <= 1e-12
        if EXPECT_BIT_IDENTICAL:
            np.testing.assert_array_equal(w_d, w_s)
        # v is the summed input of the last step (its error feeds back into w)
        assert _max_rel_diff(post_d.v[:], post_s.v[:]) <= 1e-12
        assert np.all(post_s.v[:] != 0)
        if EXPECT_BIT_IDENTICAL:
            np.testing.assert_array_equal(post_d.v[:], post_s.v[:])
        if kind == "lowpass":
            assert _max_rel_diff(syn_d.Delta[:], syn_s.Delta[:]) <= 1e-12


#: How each copy of a layer is connected.
CONNECT = {"dense": connect_dense, "stock": lambda syn: syn.connect(),
           "gated": lambda syn: connect_dense(syn, row_gate="gate")}


def _err_layer(pre, n_post, eqs, connect):
    """A post group with ``err = target - v`` and a plastic projection from ``pre``."""
    post = NeuronGroup(n_post, POST_EQS)
    post.run_regularly("err = target - v", when="after_groups")
    syn = Synapses(pre, post, eqs, method="euler")
    connect(syn)
    syn.eta = 5 * Hz
    return post, syn


def test_dense_summed_blocks_and_presynaptic_target(standalone, build_standalone):
    """Summed variables onto post (rows taken four at a time: 2, 2 and 1 blocks
    with 1, 0 and 0 remainder rows) and onto pre (plain loop) equal stock
    Brian bit for bit; one binary for all shapes.
    """
    eqs = """
        dw/dt = eta*err_post*r_pre : 1 (clock-driven)
        v_post = w*r_pre : 1 (summed)
        fb_pre = w*err_post : 1 (summed)
        eta : Hz (shared, constant)
        """
    net = Network()
    cases = {}
    for n_pre, n_post in ((9, 3), (8, 6), (4, 1)):
        pre = NeuronGroup(n_pre, "r : 1\nfb : 1\nfb2 : 1\nrbase : 1 (constant)")
        pre.rbase = 0.2 + 0.6 * np.arange(n_pre) / n_pre
        # the rates depend on the dense copy's presynaptic sum: both copies read them
        pre.run_regularly("r = rbase*(1 + 0.5*sin(2*pi*15*Hz*t + i)) + 0.1*fb",
                          when="start")
        net.add(pre)
        copies = {}
        for copy, fb in (("dense", "fb"), ("stock", "fb2")):
            copies[copy] = _err_layer(pre, n_post, eqs.replace("fb_pre", fb + "_pre"),
                                      CONNECT[copy])
            net.add(*copies[copy])
        cases[n_pre, n_post] = (pre, copies)
    dense_syns = [copies["dense"][1] for _, copies in cases.values()]
    assert apply_dense(dense_syns) == [syn.name for syn in dense_syns]
    net.run(N_STEPS * defaultclock.dt)
    build_standalone(standalone / "build")
    for shape, (pre, copies) in cases.items():
        (post_d, syn_d), (post_s, syn_s) = copies["dense"], copies["stock"]
        assert "_dense_pre" in _cpp_code(syn_d)["summed_variable"][1]
        assert np.min(np.abs(syn_s.w[:])) > 1e-6
        for a, b in ((syn_d.w[:], syn_s.w[:]), (post_d.v[:], post_s.v[:]),
                     (pre.fb[:], pre.fb2[:])):
            assert np.all(b != 0), shape
            assert _max_rel_diff(a, b) <= 1e-12, shape
            if EXPECT_BIT_IDENTICAL:
                np.testing.assert_array_equal(a, b)


ROW_GATED = """
    dw/dt = gate_pre*eta*err_post*r_pre : 1 (clock-driven)
    v_post = gate_pre*w*r_pre : 1 (summed)
    {fb}_pre = gate_pre*w*err_post : 1 (summed)
    eta : Hz (shared, constant)
    """


def _gated_pre(n):
    """Rows with a gate that opens and closes over time (about half of them open)."""
    pre = NeuronGroup(n, "r : 1\nfb : 1\nfb2 : 1\nfb3 : 1\ngate : 1\nrbase : 1 (constant)")
    pre.rbase = 0.2 + 0.6 * np.arange(n) / n
    pre.run_regularly("r = rbase*(1 + 0.5*sin(2*pi*15*Hz*t + i))\n"
                      "gate = int(sin(2*pi*40*Hz*t + 1.3*i) > 0)", when="start")
    return pre


def test_row_gated_rows_are_skipped_and_change_nothing(standalone, build_standalone):
    """connect_dense(row_gate='gate'): rows whose gate is 0 are skipped in the update,
    in the sums onto post (open rows taken four at a time) and onto pre. Updates and sums
    onto post equal the dense path without skipping bit for bit, and stock Brian
    (every row, indirect indices) to rounding: stock code is compiled with
    -ffast-math, whose re-association of ``eta*err*r*gate`` products differs by an
    ulp here. The sums onto the rows are vectorised dot products (to rounding).
    """
    net = Network()
    cases = {}
    for n_pre, n_post in ((9, 3), (1, 5), (6, 13)):
        pre = _gated_pre(n_pre)
        net.add(pre)
        copies = {}
        for copy, fb in (("gated", "fb"), ("dense", "fb2"), ("stock", "fb3")):
            copies[copy] = _err_layer(pre, n_post, ROW_GATED.format(fb=fb), CONNECT[copy])
            net.add(*copies[copy])
        cases[n_pre, n_post] = (pre, copies)
    gate_mon = {shape: StateMonitor(pre, "gate", record=True) for shape, (pre, _) in cases.items()}
    net.add(*gate_mon.values())
    switched = [copies[c][1] for _, copies in cases.values() for c in ("gated", "dense")]
    assert apply_dense(switched) == [syn.name for syn in switched]
    net.run(N_STEPS * defaultclock.dt)
    build_standalone(standalone / "build")
    for shape, (pre, copies) in cases.items():
        (post_g, syn_g), (post_d, syn_d), (post_s, syn_s) = (copies[c] for c in
                                                              ("gated", "dense", "stock"))
        skip = f"if (_ptr_array_{pre.name}_gate[_dense_r] != 0) _dense_rows.push_back"
        codes = _cpp_code(syn_g)
        for template in ("stateupdate", "summed_variable"):
            assert skip in codes[template][1]
        assert skip not in "".join(code for _, code in _cpp_code(syn_d).values())
        gates = gate_mon[shape].gate[:]
        assert 0 < gates.mean() < 1 and np.all(gates.min(axis=1) == 0)  # every row skipped
        assert np.min(np.abs(syn_s.w[:])) > 1e-6
        for g, d, st in ((syn_g.w[:], syn_d.w[:], syn_s.w[:]),
                         (post_g.v[:], post_d.v[:], post_s.v[:])):
            np.testing.assert_array_equal(g, d, err_msg=str(shape))
            assert _max_rel_diff(g, st) <= 1e-12, shape
        # the sum onto the rows is a vectorised dot product per open row
        sums = {c.name: c.code.cpp_file for c in get_device().code_objects.values()
                if c.owner.name == syn_g.name and c.template_name == "summed_variable"}
        assert len(sums) == 2
        for name, code in sums.items():
            assert ("_dense_dot +=" in code) == name.endswith("fb_pre_codeobject"), name
            # the sum onto post takes the open rows four at a time
            assert ("_dense_r4[_dense_b4]" in code) == name.endswith("v_post_codeobject"), name
        np.testing.assert_array_equal(pre.fb3[:] != 0, pre.gate[:] != 0)  # closed: 0
        assert _max_rel_diff(pre.fb[:], pre.fb3[:]) <= 1e-12, shape


def _block_pairs(syn, blocks):
    """Stock connect of the diagonal blocks (the order `connect_dense(..., blocks=C)` uses)."""
    rows, cols = len(syn.source) // blocks, len(syn.target) // blocks
    syn.connect(j=f"k for k in range({cols}*(i // {rows}), {cols}*(i // {rows} + 1))")


def test_block_diagonal_projections_equal_stock(standalone, build_standalone):
    """connect_dense(blocks=C): only the pairs of the C diagonal blocks exist; the
    dense update and the sums onto post and pre (with and without a row gate)
    equal stock Brian on the same block pairs to rounding (stock code re-associates
    the ``gate*eta*err*r`` product, see the row-gate test), and the gated copy
    equals the ungated dense one bit for bit except its dot products onto the rows.
    """
    net = Network()
    cases = {}
    for n_pre, n_post, blocks in ((6, 4, 2), (9, 3, 3), (4, 8, 4), (10, 15, 5)):
        pre = _gated_pre(n_pre)
        net.add(pre)
        copies = {}
        for copy, fb, connect in (
                ("gated", "fb", lambda syn, b=blocks: connect_dense(syn, row_gate="gate", blocks=b)),
                ("dense", "fb2", lambda syn, b=blocks: connect_dense(syn, blocks=b)),
                ("stock", "fb3", lambda syn, b=blocks: _block_pairs(syn, b))):
            copies[copy] = _err_layer(pre, n_post, ROW_GATED.format(fb=fb), connect)
            net.add(*copies[copy])
        cases[n_pre, n_post, blocks] = (pre, copies)
    switched = [copies[c][1] for _, copies in cases.values() for c in ("gated", "dense")]
    assert apply_dense(switched) == [syn.name for syn in switched]
    net.run(N_STEPS * defaultclock.dt)
    build_standalone(standalone / "build")
    for shape, (pre, copies) in cases.items():
        n_pre, n_post, blocks = shape
        (post_g, syn_g), (post_d, syn_d), (post_s, syn_s) = (copies[c] for c in
                                                              ("gated", "dense", "stock"))
        for syn in (syn_g, syn_d, syn_s):
            assert len(syn) == n_pre * n_post // blocks
            np.testing.assert_array_equal(syn.i[:] // (n_pre // blocks),
                                          syn.j[:] // (n_post // blocks))
        assert verify_dense_order(syn_d) and verify_dense_order(syn_g)
        np.testing.assert_array_equal(syn_s.j[:], syn_d.j[:])  # the same pairs, same order
        np.testing.assert_array_equal(syn_s.i[:], syn_d.i[:])
        assert "_dense_off" in _cpp_code(syn_d)["stateupdate"][1]
        assert np.min(np.abs(syn_s.w[:])) > 1e-6
        for g, d, st in ((syn_g.w[:], syn_d.w[:], syn_s.w[:]),
                         (post_g.v[:], post_d.v[:], post_s.v[:])):
            np.testing.assert_array_equal(g, d, err_msg=str(shape))
            assert _max_rel_diff(d, st) <= 1e-12, shape
        is_open = pre.gate[:] != 0
        assert 0 < is_open.sum() < n_pre and np.all(pre.fb2[:][is_open] != 0), shape
        for fb in (pre.fb[:], pre.fb2[:]):  # closed rows: 0 in every copy
            assert _max_rel_diff(fb, pre.fb3[:]) <= 1e-12, shape


def test_block_diagonal_validation_and_order():
    pre, post = NeuronGroup(6, "r : 1\ngate : 1"), NeuronGroup(4, "v : 1")
    with pytest.raises(ValueError, match="blocks=4 must divide"):
        connect_dense(Synapses(pre, post, "w : 1"), blocks=4)
    with pytest.raises(ValueError, match="blocks=2 cannot be combined with batch_size"):
        connect_dense(Synapses(NeuronGroup(8, "r : 1"), post, "w : 1"), batch_size=2, blocks=2)
    with pytest.raises(ValueError, match="blocks"):
        connect_dense(Synapses(pre, post, "w : 1"), blocks=0)
    syn = connect_dense(Synapses(pre, post, "w : 1"), blocks=2)
    assert is_all_to_all(syn)
    i, j = dense_order(syn)
    assert i.tolist() == [0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5]
    assert j.tolist() == [0, 1, 0, 1, 0, 1, 2, 3, 2, 3, 2, 3]
    i, j = dense_order(connect_dense(Synapses(pre, post, "w : 1")))  # all pairs
    assert i.tolist() == list(np.arange(24) // 4) and j.tolist() == list(np.arange(24) % 4)


@pytest.mark.parametrize("eqs, match", [
    ("dw/dt = eta*r_pre : 1 (clock-driven)\nv_post = gate_pre*w : 1 (summed)",
     r"dw/dt = eta\*r_pre does not depend on gate_pre"),
    ("dw/dt = gate_pre*eta*r_pre : 1 (clock-driven)\nv_post = (gate_pre + 1)*w : 1 (summed)",
     r"v_post = \(gate_pre \+ 1\)\*w is not zero for gate_pre = 0"),
    ("dw/dt = gate_pre*eta*r_pre : 1 (clock-driven)\nv_post = s : 1 (summed)\ns = w*r_pre : 1",
     "v_post = s does not depend on gate_pre"),
    ("w : 1", "no clock-driven equation"),
])
def test_row_gate_proof_is_checked(eqs, match):
    pre = NeuronGroup(3, "r : 1\ngate : 1")
    post = NeuronGroup(2, "v : 1")
    syn = Synapses(pre, post, eqs + "\neta : Hz (shared, constant)")
    with pytest.raises(ValueError, match=match):
        connect_dense(syn, row_gate="gate")
    assert not syn._connect_called  # refused before connecting
    syn2 = Synapses(pre, post, "dw/dt = gate_pre*s/second : 1 (clock-driven)\n"
                               "s = w*r_pre : 1\nv_post = gate_pre*s : 1 (summed)")
    assert is_all_to_all(connect_dense(syn2, row_gate="gate"))  # subexpressions substituted


WRITE_GATED = {
    # the DFC form: an accumulator every step, the weight on flagged steps only
    "acc": """
        dw/dt = last_post*(acc + c*err_post*r_pre)/dt : 1 (clock-driven)
        dacc/dt = ((1 - last_post)*c*err_post*r_pre - last_post*acc)/dt : 1 (clock-driven)
        v_post = w*r_pre : 1 (summed)
        c : 1 (shared, constant)
        """,
    # only the gated variable: the update loop is skipped on the other steps
    "only": """
        dw/dt = last_post*c*err_post*r_pre/dt : 1 (clock-driven)
        v_post = w*r_pre : 1 (summed)
        c : 1 (shared, constant)
        """,
}


def _flagged_post(n_post, period):
    post = NeuronGroup(n_post, POST_EQS + "last : 1 (shared)")
    post.run_regularly(f"last = int(timestep(t, dt) % {period} == {period - 1})\nerr = target - v",
                       when="start")
    return post


def test_write_gated_variables_change_only_with_the_flag(standalone, build_standalone):
    """connect_dense(write_gate=('last_post', ['w'])): on steps where the flag is 0
    the update neither reads nor writes w (or is skipped when w is all it updates).
    Equal to the dense path without the gate bit for bit, and to stock Brian to
    rounding; the weights did change on the flagged steps.
    """
    net = Network()
    cases = {}
    for kind, eqs in WRITE_GATED.items():
        pre = NeuronGroup(7, "r : 1\nrbase : 1 (constant)")
        pre.rbase = 0.2 + 0.6 * np.arange(7) / 7
        pre.run_regularly("r = rbase*(1 + 0.5*sin(2*pi*15*Hz*t + i))", when="start")
        copies = {}
        for copy in ("gated", "dense", "stock"):
            post = _flagged_post(5, period=4)
            syn = Synapses(pre, post, eqs, method="euler")
            {"gated": lambda x: connect_dense(x, write_gate=("last_post", ["w"])),
             "dense": connect_dense, "stock": lambda x: x.connect()}[copy](syn)
            syn.c = 0.05
            syn.w = "0.1*(i - j)/7"
            copies[copy] = (post, syn)
            net.add(post, syn)
        net.add(pre)
        cases[kind] = copies
    switched = [c[x][1] for c in cases.values() for x in ("gated", "dense")]
    assert apply_dense(switched) == [syn.name for syn in switched]
    net.run(N_STEPS * defaultclock.dt + 2 * defaultclock.dt)  # ends just after a flagged step
    build_standalone(standalone / "build")
    for kind, copies in cases.items():
        (post_g, syn_g), (post_d, syn_d), (post_s, syn_s) = (copies[c] for c in
                                                              ("gated", "dense", "stock"))
        code = _cpp_code(syn_g)["stateupdate"][1]
        assert f"if (_ptr_array_{post_g.name}_last[0] == 0)" in code, kind
        assert "write_gate" not in _cpp_code(syn_d)["stateupdate"][1]
        assert np.abs(syn_s.w[:] - (0.1 * (syn_s.i[:] - syn_s.j[:]) / 7)).min() > 1e-6, kind
        np.testing.assert_array_equal(syn_g.w[:], syn_d.w[:], err_msg=kind)
        assert _max_rel_diff(syn_g.w[:], syn_s.w[:]) <= 1e-12, kind
        np.testing.assert_array_equal(post_g.v[:], post_d.v[:], err_msg=kind)
        if kind == "acc":
            assert np.all(syn_s.acc[:] != 0)  # accumulated since the last flagged step
            np.testing.assert_array_equal(syn_g.acc[:], syn_d.acc[:])
            assert _max_rel_diff(syn_g.acc[:], syn_s.acc[:]) <= 1e-12


def test_write_gate_validation():
    pre = NeuronGroup(3, "r : 1")
    post = NeuronGroup(2, "v : 1\nlast : 1 (shared)\nflag : 1")
    good = "dw/dt = last_post*r_pre/second : 1 (clock-driven)"
    with pytest.raises(ValueError, match=r"may change where last_post == 0: dw/dt = r_pre/second"):
        connect_dense(Synapses(pre, post, "dw/dt = r_pre/second : 1 (clock-driven)"),
                      write_gate=("last_post", ["w"]))
    with pytest.raises(ValueError, match="'u' is not a clock-driven variable"):
        connect_dense(Synapses(pre, post, good + "\nu : 1"), write_gate=("last_post", ["u"]))
    with pytest.raises(ValueError, match="must be a shared"):
        connect_dense(Synapses(pre, post, good.replace("last_post", "flag_post")),
                      write_gate=("flag_post", ["w"]))
    with pytest.raises(ValueError, match="must be a shared"):
        connect_dense(Synapses(pre, post, good), write_gate=("nope", ["w"]))
    with pytest.raises(TypeError, match="write_gate must be a tuple"):
        connect_dense(Synapses(pre, post, good), write_gate="last_post")
    with pytest.raises(TypeError, match="names of the gated variables"):
        connect_dense(Synapses(pre, post, good), write_gate=("last_post", [1]))
    with pytest.raises(ValueError, match="cannot be combined with batch_size=2"):
        connect_dense(Synapses(NeuronGroup(4, "r : 1"), NeuronGroup(2, "last : 1 (shared)"), good),
                      batch_size=2, write_gate=("last_post", "w"))
    syn = Synapses(pre, post, good)
    assert is_all_to_all(connect_dense(syn, write_gate=("last_post", "w")))


def test_row_gate_validation():
    pre = NeuronGroup(4, "r : 1\ngate : 1\nshared_gate : 1 (shared)")
    post = NeuronGroup(2, "v : 1")
    eqs = "dw/dt = gate_pre*r_pre/second : 1 (clock-driven)"
    with pytest.raises(ValueError, match="per-neuron variable of the source group"):
        connect_dense(Synapses(pre, post, eqs), row_gate="nope")
    with pytest.raises(ValueError, match="per-neuron variable"):
        connect_dense(Synapses(pre, post, eqs.replace("gate_pre", "shared_gate_pre")),
                      row_gate="shared_gate")
    with pytest.raises(TypeError, match="row_gate must be the name"):
        connect_dense(Synapses(pre, post, eqs), row_gate=1)
    with pytest.raises(ValueError, match="cannot be combined with batch_size=2"):
        connect_dense(Synapses(pre, post, eqs), batch_size=2, row_gate="gate")


@pytest.fixture
def float32_prefs():
    """Build with Brian2's ``default_float_dtype = float32`` (restored after)."""
    old = prefs.core.default_float_dtype
    prefs.core.default_float_dtype = np.float32
    yield
    prefs.core.default_float_dtype = old


# Brian2's post-run check for invalid states compares float32 arrays with 1e50
@pytest.mark.filterwarnings("ignore:overflow encountered in cast:RuntimeWarning")
def test_dense_equals_stock_in_float32(standalone, float32_prefs, build_standalone):
    """float32 weights and traces: the dense loops (4-byte elements, rows peeled
    to 32-byte alignment in steps of one float) equal stock Brian bit for bit,
    also with rows of odd length.
    """
    kind = "lowpass"
    net = Network()
    layers = {}
    for n_pre, n_post in SHAPES + [(6, 13)]:
        pre = _pre_group(n_pre, kind)
        net.add(pre)
        for copy, connect in (("dense", "dense"), ("stock", "full")):
            layers[(n_pre, n_post), copy] = _layer(pre, n_post, kind, connect=connect)
            net.add(*layers[(n_pre, n_post), copy])
    dense_syns = [syn for (shape, copy), (_, syn) in layers.items() if copy == "dense"]
    assert apply_dense(dense_syns) == [syn.name for syn in dense_syns]
    net.run(N_STEPS * defaultclock.dt)
    build_standalone(standalone / "build")
    for syn in dense_syns:
        _, code = _cpp_code(syn)["stateupdate"]
        assert "float* __restrict  _ptr_array_" in code or "float* const _array_" in code
    for shape in SHAPES + [(6, 13)]:
        post_d, syn_d = layers[shape, "dense"]
        post_s, syn_s = layers[shape, "stock"]
        assert syn_d.w[:].dtype == np.float32 and syn_d.Delta[:].dtype == np.float32
        assert np.min(np.abs(syn_s.w[:])) > 1e-6 and len(np.unique(syn_s.w[:])) > 1
        for a, b in ((syn_d.w[:], syn_s.w[:]), (syn_d.Delta[:], syn_s.Delta[:]),
                     (post_d.v[:], post_s.v[:])):
            assert _max_rel_diff(a, b) <= 1e-6, shape
            if EXPECT_BIT_IDENTICAL:
                np.testing.assert_array_equal(a, b)


def test_fallback_for_sparse_connectivity(standalone, build_standalone):
    kind = "rate_us"
    n_pre, n_post = 3, 5
    # err does not depend on the summed input, so w of pair (i, j) does not
    # depend on which other pairs exist: compare with a full stock layer.
    pre = _pre_group(n_pre, kind)
    ref = _layer(pre, n_post, kind, connect="full", err_uses_v=False)
    cases = {
        c: _layer(pre, n_post, kind, connect=c, err_uses_v=False)
        for c in ("p", "condition", "arrays", "dense_then_more")
    }
    net = Network(pre, *ref, *[o for objs in cases.values() for o in objs])
    sparse_syns = [objs[1] for objs in cases.values()]
    assert not any(is_all_to_all(syn) for syn in sparse_syns)
    assert apply_dense(net) == []  # the full stock layer was not connect_dense'd
    assert apply_dense(sparse_syns) == []
    net.run(N_STEPS * defaultclock.dt)
    build_standalone(standalone / "build")

    ref_syn = ref[1]
    ref_w = ref_syn.w[:].reshape(n_pre, n_post)
    assert np.min(np.abs(ref_w)) > 1e-6
    for case, (_, syn) in cases.items():
        for cls, code in _cpp_code(syn).values():
            assert cls is not DenseCPPStandaloneCodeObject
            assert "_dense_pre" not in code
        i, j = syn.i[:], syn.j[:]
        assert len(i) > 0
        assert not verify_dense_order(syn), case
        np.testing.assert_array_equal(syn.w[:], ref_w[i, j])
    assert len(cases["dense_then_more"][1]) == n_pre * n_post + 1
    assert len(cases["condition"][1]) == n_pre * n_post - min(n_pre, n_post)


def test_binary_refuses_non_dense_order(standalone, build_standalone):
    """Forcing the dense class onto sparse synapses makes the binary fail."""
    pre = _pre_group(3, "rate_us")
    post, syn = _layer(pre, 5, "rate_us", connect="condition")
    assert not is_all_to_all(syn)
    syn.state_updater.codeobj_class = DenseCPPStandaloneCodeObject
    net = Network(pre, post, syn)
    net.run(10 * defaultclock.dt)
    with pytest.raises(RuntimeError):
        build_standalone(standalone / "build")


def test_is_all_to_all_standalone_bookkeeping(standalone):
    pre = NeuronGroup(4, "r : 1")
    post = NeuronGroup(3, "v : 1")
    syn = Synapses(pre, post, "w : 1")
    assert not is_all_to_all(syn)  # not connected yet
    connect_dense(syn)
    assert is_all_to_all(syn)
    with pytest.raises(ValueError, match="already been connected"):
        connect_dense(syn)
    syn.connect(i=0, j=1)
    assert not is_all_to_all(syn)
    # a plain syn.connect() is not enough in standalone mode: no record
    syn2 = Synapses(pre, post, "w : 1")
    syn2.connect()
    assert not is_all_to_all(syn2)
    # subgroups are refused
    syn3 = Synapses(pre[:2], post, "w : 1")
    with pytest.raises(ValueError, match="Subgroup"):
        connect_dense(syn3)
    assert not is_all_to_all(syn3)


def test_runtime_device_checks_arrays():
    # numpy target: the default ('auto' = cython) would compile the synapse
    # creation code for over a minute on a fresh machine, for no test value
    old_target = prefs.codegen.target
    prefs.codegen.target = "numpy"
    try:
        _check_runtime_arrays()
    finally:
        prefs.codegen.target = old_target


def _check_runtime_arrays():
    pre = NeuronGroup(4, "r : 1")
    post = NeuronGroup(3, "v : 1")
    full = Synapses(pre, post, "w : 1")
    full.connect()
    sparse = Synapses(pre, post, "w : 1")
    sparse.connect(condition="i != j")
    reversed_ = Synapses(pre, post, "w : 1")
    s = np.arange(12)
    reversed_.connect(i=s[::-1] // 3, j=s[::-1] % 3)
    assert is_all_to_all(full)
    assert verify_dense_order(full)
    blocked = connect_dense(Synapses(pre, NeuronGroup(4, "v : 1"), "w : 1"), blocks=2)
    assert len(blocked) == 8 and is_all_to_all(blocked) and verify_dense_order(blocked)
    assert not is_all_to_all(sparse)
    assert not verify_dense_order(sparse)
    assert not is_all_to_all(reversed_)
    assert not verify_dense_order(reversed_)
    # nothing is switched outside cpp_standalone
    net = Network(pre, post, full, sparse, reversed_, blocked, blocked.target)
    assert apply_dense(net) == []
    net.run(0 * ms)  # (runtime device, so the objects count as used)
    assert full.state_updater is None or full.state_updater.codeobj_class is None


def test_input_validation():
    pre = NeuronGroup(2, "r : 1")
    with pytest.raises(TypeError, match="'synapses'"):
        is_all_to_all(pre)
    with pytest.raises(TypeError, match="'synapses'"):
        connect_dense("syn")
    with pytest.raises(TypeError, match="'synapses'"):
        verify_dense_order(None)
    with pytest.raises(TypeError, match="'objects'"):
        apply_dense("synapses")
    with pytest.raises(TypeError, match="'objects'"):
        apply_dense(3)
    with pytest.raises(TypeError, match="'objects'"):
        apply_dense([pre, 1])
    with pytest.raises(TypeError, match="'objects'"):
        apply_dense(pre)
