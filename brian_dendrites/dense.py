"""Dense all-to-all code path for Brian2's ``cpp_standalone`` device.

Stock Brian2 runs the per-step code of a `~brian2.synapses.synapses.Synapses`
object (its continuous state update and its ``(summed)`` variables) as a loop
over synapse indices that reads the presynaptic and postsynaptic neuron of
every synapse from the index arrays ``_synaptic_pre`` and ``_synaptic_post``.
For a fully connected layer those reads are pure overhead: synapse ``s`` of a
plain ``connect()`` between whole groups connects neuron ``s // N_post`` to
neuron ``s % N_post``.

This module provides a code object class, `DenseCPPStandaloneCodeObject`,
whose templates loop over ``(pre, post)`` pairs with computed indices instead.
Brian's ``stateupdate`` and ``summed_variable`` templates are replaced,
and, for the one ``connect()`` of `connect_dense` (``batch_size=1``), the
synapse-creation template: it creates the same synapses in the same order
but sizes the index arrays once instead of appending one synapse at a time
(on the 25 M synapses of an MNIST-sized DGN the stock loop's reallocations
cost ~0.3 s per run).  Everything else (``on_pre`` pathways, monitors, ...)
uses Brian's own templates.  The C++ statements
inside the loops are the ones Brian generates from the model strings, so the
same equations run unchanged.  Results are bit-identical to stock Brian with
GCC: each target of a postsynaptic summed variable receives its terms in the
same order as in the stock template, and the dense files carry
``#pragma GCC optimize("no-associative-math")`` so that ``-ffast-math`` cannot
re-associate products with factors that are invariant in the inner loop
(e.g. ``dt*eta*r_pre``); this did not change the speed measured here.  With
other compilers the results agree to rounding (relative differences of order
1e-16).  A summed variable onto *presynaptic* neurons sums in the stock order
as well.  Caveat: stock code is itself compiled with ``-ffast-math``, so GCC
may re-associate a product inside the stock loop; for ``dw/dt =
gate_pre*eta*err_post*r_pre`` it did, and the dense result differed from
stock by one ulp (``tests/test_dense.py`` checks such models to 1e-12).

Row gates (``connect_dense(syn, row_gate='gate')``): rows (presynaptic
neurons) whose gate variable is 0 are skipped, which `connect_dense` proves
exact from the model before connecting.  A row-gated sum onto the rows
themselves is a vectorised dot product, equal to stock to rounding.

Typical use::

    from brian2 import set_device, device
    from brian_dendrites.dense import connect_dense, apply_dense

    set_device('cpp_standalone', build_on_run=False)
    ...                                  # groups and synapses
    connect_dense(syn)                   # instead of syn.connect()
    net = Network(collect())
    apply_dense(net)                     # before net.run(...)
    net.run(duration)
    device.build(directory=D)

The guarantee
-------------
In ``cpp_standalone`` mode synapses are created inside the binary, so Python
cannot look at the indices before the build.  `is_all_to_all` therefore
accepts a `Synapses` object only when

* its source and target are whole groups (no `~brian2.groups.subgroup.Subgroup`,
  no `Synapses` as source or target), and
* it was connected with `connect_dense` (a plain ``connect()``: all pairs, no
  condition, ``p=1``, ``n=1``), and the device's queue of synapse-creation
  code holds exactly that one creation code object for it (a later
  ``connect(...)`` call on the same object makes it ineligible).

Brian's ``synapses_create_generator`` template creates the synapses of this
call with an outer loop over presynaptic neurons and an inner loop over
postsynaptic neurons, appending one synapse per pair, so that synapse ``s``
has ``i = s // N_post`` and ``j = s % N_post``; the dense creation template
(``batch_size=1``) writes the same indices directly.  The dense templates do not
trust this blindly: before every run the binary checks the index arrays once
(``O(N_pre * N_post)``) and at every step it checks the synapse count; on a
mismatch it prints an error naming the object and exits with status 1 (Brian
then raises a `RuntimeError`).  After a run, `verify_dense_order` checks the
same thing from Python.

With the runtime devices (numpy, cython) `is_all_to_all` inspects the index
arrays directly; `apply_dense` switches nothing there.
"""

import weakref

import numpy as np
from brian2 import BrianObject, Network, Subgroup, Synapses, get_device, get_logger

from ._brian_compat import (
    DIFFERENTIAL_EQUATION,
    SUBEXPRESSION,
    ArrayVariable,
    CPPCodeGenerator,
    CPPStandaloneCodeObject,
    CPPStandaloneDevice,
    get_identifiers,
    str_to_sympy,
)

__all__ = [
    "DenseCPPCodeGenerator",
    "DenseCPPStandaloneCodeObject",
    "DENSE_TEMPLATES",
    "connect_dense",
    "is_all_to_all",
    "verify_dense_order",
    "apply_dense",
    "batch_size_of",
    "dense_order",
    "batched_objects",
    "batch_mean",
    "BatchMeanCPPStandaloneCodeObject",
]

logger = get_logger(__name__)

#: Names of the Brian templates that the dense code object replaces.
DENSE_TEMPLATES = frozenset({"stateupdate", "summed_variable"})

#: Templates with which Brian creates synapses.
_CREATION_TEMPLATES = frozenset({"synapses_create_generator", "synapses_create_array"})

#: Synapses connected by `connect_dense` -> name of the creation code object
#: (standalone) or ``None`` (runtime devices).
_DENSE_CONNECTED = weakref.WeakKeyDictionary()

#: Batched synapses (`connect_dense` with ``batch_size > 1``) ->
#: ``(batch_size, n_pre, n_post)`` (the sizes of one copy of each group).
_DENSE_BATCH = weakref.WeakKeyDictionary()


#: Row-gated synapses (`connect_dense` with ``row_gate``) -> the name of the
#: source group's variable (e.g. ``'gate'``).
_DENSE_ROW_GATE = weakref.WeakKeyDictionary()

#: Block-diagonal synapses (`connect_dense` with ``blocks=C > 1``) -> ``C``.
_DENSE_BLOCKS = weakref.WeakKeyDictionary()

#: Write-gated synapses (`connect_dense` with ``write_gate``) -> ``(flag, variables)``:
#: the synaptic ``variables`` change only on steps where the shared ``flag`` is not 0.
_DENSE_WRITE_GATE = weakref.WeakKeyDictionary()


def _registered(registry, owner):
    """``registry``'s value for a code object's owner (a weak proxy), or ``None``.

    Brian2 makes the names of living objects unique, so the name identifies it.
    """
    try:
        name = owner.name
    except (AttributeError, ReferenceError):
        return None
    for obj, value in list(registry.items()):
        if obj.name == name:
            return value
    return None


def _assigned_and_used(code):
    """Names assigned (``x = ...``, ``x += ...``) and all names used in abstract ``code``."""
    blocks = code.values() if isinstance(code, dict) else [code]
    written, used = set(), set()
    for block in blocks:
        for line in str(block).splitlines():
            if "=" in line:
                written.update(get_identifiers(line.split("=", 1)[0].strip().rstrip("+-*/")))
            used.update(get_identifiers(line))
    return written, used


class DenseCPPCodeGenerator(CPPCodeGenerator):
    """C++ generator whose synapse index reads become computed indices.

    Identical to Brian's `~brian2.codegen.generators.cpp_generator.CPPCodeGenerator`,
    except that in the dense templates (`DENSE_TEMPLATES`) a read of the
    synapse index arrays ``_synaptic_pre[_idx]`` / ``_synaptic_post[_idx]``
    (under any name: ``_presynaptic_idx``, ``_postsynaptic_idx``, ``i``,
    ``j``) is replaced by the loop counters ``_dense_pre`` / ``_dense_post``
    that the dense templates define.  All other code is Brian's.
    """

    def _dense_index_name(self, varname):
        """Return the loop counter replacing ``varname``, or ``None``."""
        if self.template_name not in DENSE_TEMPLATES:
            return None
        if self.variable_indices.get(varname) != "_idx":
            return None
        owner_vars = getattr(self.owner, "variables", None)
        if owner_vars is None:
            return None
        var = self.variables[varname]
        try:
            pre, post = owner_vars["_synaptic_pre"], owner_vars["_synaptic_post"]
        except KeyError:
            return None
        if var is pre:
            return "_dense_pre"
        if var is post:
            return "_dense_post"
        return None

    def _dense_align_array(self, code):
        """Pointer name of the synaptic array the dense loops align, or ``None``.

        The first (by name) synaptic floating-point array that the abstract
        ``code`` writes, else the first one it reads.  The dense templates
        peel the first elements of every weight row so that this array is
        32-byte aligned in the vector loop (see ``dense_peel`` in
        ``dense_templates/_dense_macros.cpp``); the synaptic arrays of one
        `Synapses` object are allocated alike, so they are usually aligned
        together.
        """
        owner_vars = getattr(self.owner, "variables", {})
        skip = {id(owner_vars.get(n)) for n in ("_synaptic_pre", "_synaptic_post")}
        written, used = _assigned_and_used(code)

        def eligible(name):
            var = self.variables.get(name)
            return (isinstance(var, ArrayVariable) and not var.scalar
                    and id(var) not in skip
                    and self.variable_indices.get(name) == "_idx"
                    and np.dtype(var.dtype).kind == "f")

        for names in (sorted(written), sorted(used)):
            for name in names:
                if eligible(name):
                    return self.get_array_name(self.variables[name])
        return None

    def translate(self, code, dtype):
        """Translate as Brian does; the dense templates also get ``_dense_align_array``.

        Parameters
        ----------
        code : dict of str
            Abstract code per block.
        dtype : dtype
            The default floating point type.

        Returns
        -------
        scalar_code, vector_code, kwds
            As `CPPCodeGenerator.translate`, with ``kwds['_dense_align_array']``
            (a C++ pointer name or ``None``) for the dense templates.
        """
        scalar_code, vector_code, kwds = super().translate(code, dtype)
        if self.template_name in DENSE_TEMPLATES:
            kwds = dict(kwds)
            kwds["_dense_align_array"] = self._dense_align_array(code)
            batch = _registered(_DENSE_BATCH, self.owner)
            kwds["_dense_batch"] = batch[0] if batch else 0
            kwds["_dense_row_gate"] = self._dense_row_gate_array()
            kwds["_dense_write_gate"] = self._dense_write_gate(code, dtype)
            blocks = _registered(_DENSE_BLOCKS, self.owner) or 0
            kwds["_dense_blocks"] = blocks
            if blocks:
                kwds["_dense_cols"] = len(self.owner.target) // blocks
                kwds["_dense_block_rows"] = len(self.owner.source) // blocks
            if batch:
                kwds["_dense_n_pre"], kwds["_dense_n_post"] = batch[1], batch[2]
                kwds["_dense_written"] = self._dense_written_arrays(code)
        return scalar_code, vector_code, kwds

    def _dense_write_gate(self, code, dtype):
        """The state update without the write-gated variables, or ``None``.

        For `connect_dense`'s ``write_gate=(flag, variables)``: a dict with
        the flag's pointer (``flag``), and the scalar and vector code of the
        abstract ``code`` with the statements that compute and store the
        gated variables removed (``scalar``, ``vector``; ``empty`` when none
        is left), which the dense ``stateupdate`` template runs on steps
        where the flag is 0.
        """
        gate = _registered(_DENSE_WRITE_GATE, self.owner)
        if gate is None or self.template_name != "stateupdate" or not isinstance(code, dict):
            return None
        flag, gated = gate
        var = self.variables.get(flag)
        if not isinstance(var, ArrayVariable) or not var.scalar:
            return None  # this code object does not read the flag (not the model's update)
        new_values = {f"_{name}" for name in gated}
        reduced = {}
        for block, text in code.items():
            lines = [line for line in str(text).splitlines()
                     if ("=" not in line
                         or line.split("=", 1)[0].strip().rstrip("+-*/") not in set(gated) | new_values)]
            reduced[block] = "\n".join(lines)
        written, used = _assigned_and_used(reduced)
        if used & new_values:  # pragma: no cover - Brian's abstract code changed
            raise RuntimeError(f"write_gate of '{self.owner.name}': the state update reads the "
                               f"new value of a gated variable ({sorted(gated)}) elsewhere")
        if not written:
            return {"flag": self.get_array_name(var), "empty": True, "scalar": "", "vector": ""}
        scalar, vector, _ = super().translate(reduced, dtype)
        return {"flag": self.get_array_name(var), "empty": False,
                "scalar": scalar[None] if isinstance(scalar, dict) else scalar,
                "vector": vector[None] if isinstance(vector, dict) else vector}

    def _dense_row_gate_array(self):
        """Pointer of the source variable that gates the rows (`connect_dense`'s
        ``row_gate``), or ``None`` (no row skipping).

        ``None`` also when this code object does not read the variable (it
        then has no pointer to it); the rows are then all computed, which is
        the same result (the proof checked by `connect_dense`).
        """
        gate = _registered(_DENSE_ROW_GATE, self.owner)
        if gate is None:
            return None
        var = self.variables.get(f"{gate}_pre")
        if not isinstance(var, ArrayVariable) or var.scalar:
            return None
        return self.get_array_name(var)

    def _dense_written_arrays(self, code):
        """``(pointer, C type)`` of every synaptic array the abstract ``code`` writes.

        A batched state update keeps one value per synapse: each of these
        arrays takes the batch mean of the per-sample changes (see
        ``dense_templates/stateupdate.cpp``).
        """
        owner_vars = getattr(self.owner, "variables", {})
        skip = {id(owner_vars.get(n)) for n in ("_synaptic_pre", "_synaptic_post")}
        written, _ = _assigned_and_used(code)
        out = []
        for name in sorted(written):
            var = self.variables.get(name)
            if (isinstance(var, ArrayVariable) and not var.scalar and id(var) not in skip
                    and self.variable_indices.get(name) == "_idx"):
                out.append((self.get_array_name(var), self.c_data_type(var.dtype)))
        return out

    def translate_to_read_arrays(self, read, write, indices):
        """Translate array reads, replacing synapse index reads.

        Parameters
        ----------
        read, write, indices : set of str
            As for `CPPCodeGenerator.translate_to_read_arrays`.

        Returns
        -------
        lines : list of str
            C++ declarations, one per read variable.
        """
        lines = []
        replaced = set()
        for varname in sorted(indices) + sorted(read):
            dense_name = self._dense_index_name(varname)
            if dense_name is not None and varname not in write:
                var = self.variables[varname]
                lines.append(
                    f"const {self.c_data_type(var.dtype)} {varname} = {dense_name};"
                )
                replaced.add(varname)
        remaining_indices = set(indices) - replaced
        remaining_read = set(read) - replaced
        lines += super().translate_to_read_arrays(
            remaining_read, write, remaining_indices
        )
        # Index declarations have to come before the reads that use them.
        return lines


class DenseCPPStandaloneCodeObject(CPPStandaloneCodeObject):
    """``cpp_standalone`` code object with dense all-to-all synapse loops.

    Its templater is derived from `CPPStandaloneCodeObject.templater`: the
    templates ``stateupdate``, ``summed_variable`` and (used by
    `connect_dense` only) ``synapses_create_generator`` come from
    ``brian_dendrites/dense_templates``, every other template falls back to
    Brian's own ``cpp_standalone`` templates.  Use it only for `Synapses`
    objects for which `is_all_to_all` is true (`apply_dense` does this); the
    generated binary exits with an error if the synapses are not in dense
    all-to-all order.
    """

    templater = CPPStandaloneCodeObject.templater.derive(
        "brian_dendrites", templates_dir="dense_templates"
    )
    generator_class = DenseCPPCodeGenerator


#: Groups with a batch-mean runner (`batch_mean`) -> batch size.
_BATCH_MEAN = weakref.WeakKeyDictionary()


class BatchMeanCPPCodeGenerator(CPPCodeGenerator):
    """C++ generator of `batch_mean` runners: names the arrays to average.

    Adds ``_batch_size`` and ``_batch_arrays`` (``(pointer, C type)`` of
    every per-neuron variable the runner's code writes) to the template's
    keywords; the generated statements themselves are not used.
    """

    def translate(self, code, dtype):
        """Translate as Brian does and add the batch-mean keywords."""
        scalar_code, vector_code, kwds = super().translate(code, dtype)
        kwds = dict(kwds)
        kwds["_batch_size"] = _registered(_BATCH_MEAN, self.owner)
        names, _ = _assigned_and_used(code)
        kwds["_batch_arrays"] = [
            (self.get_array_name(self.variables[name]), self.c_data_type(self.variables[name].dtype))
            for name in sorted(names)
            if isinstance(self.variables.get(name), ArrayVariable)]
        return scalar_code, vector_code, kwds


class BatchMeanCPPStandaloneCodeObject(CPPStandaloneCodeObject):
    """``cpp_standalone`` code object of a `batch_mean` runner.

    Its ``stateupdate`` template (``brian_dendrites/batch_templates``) sets
    every named variable of a group of ``B`` sample copies to its mean over
    the copies.
    """

    templater = CPPStandaloneCodeObject.templater.derive(
        "brian_dendrites", templates_dir="batch_templates"
    )
    generator_class = BatchMeanCPPCodeGenerator


def batch_mean(group, variables, batch_size, when="end", order=-1, name=None):
    """Average learned neuron variables over the sample copies of a batched group.

    In a batched circuit (`connect_dense` with ``batch_size=B``) every group
    holds ``B`` copies of its neurons, one per sample. A learned per-neuron
    parameter (e.g. a bias ``b += dt*eta*err``) is changed by each copy's own
    update; this runner, once per step, sets every copy to the mean over
    the copies, i.e. the value at the start of the step plus the batch mean
    of the per-sample changes (the rule a batched projection applies to its
    weights). ``cpp_standalone`` only.

    Parameters
    ----------
    group : `~brian2.groups.neurongroup.NeuronGroup`
        A group of ``B * n`` neurons, sample-major.
    variables : sequence of str
        Per-neuron floating-point variables of ``group`` to average.
    batch_size : int >= 1
        ``B``; with 1 nothing is created.
    when, order : str, float
        Slot of the runner in the step (default: ``'end'``, order -1).
    name : str, optional
        Name of the runner (default: ``'<group>_batch_mean'``).

    Returns
    -------
    `~brian2.groups.group.CodeRunner` or None
        The runner (already added to ``group.contained_objects``), or
        ``None`` for ``batch_size=1``.

    Raises
    ------
    TypeError, ValueError, KeyError
        For a non-integer or non-dividing batch size, an empty list, an
        unknown, shared, constant or non-float variable.
    """
    from brian2 import NeuronGroup

    from ._validation import check_int

    if not isinstance(group, NeuronGroup):
        raise TypeError(f"group must be a brian2 NeuronGroup, got {type(group).__name__!r}")
    batch_size = check_int(batch_size, "batch_size", minimum=1)
    if isinstance(variables, str) or not variables:
        raise ValueError(f"variables must be a non-empty list of variable names, got {variables!r}")
    for v in variables:
        var = group.variables.get(v) if isinstance(v, str) else None
        if var is None:
            raise KeyError(f"variables: {group.name!r} has no variable {v!r}")
        if (not isinstance(var, ArrayVariable) or var.scalar or var.read_only
                or np.dtype(var.dtype).kind != "f"):
            raise ValueError(f"variables: {group.name}.{v} must be a writable per-neuron "
                             "floating-point variable")
    if len(group) % batch_size:
        raise ValueError(f"batch_size={batch_size} must divide the size of {group.name!r} "
                         f"({len(group)})")
    if batch_size == 1:
        return None
    kwargs = {}
    if isinstance(get_device(), CPPStandaloneDevice):
        kwargs["codeobj_class"] = BatchMeanCPPStandaloneCodeObject
    _BATCH_MEAN[group] = batch_size
    return group.run_regularly("\n".join(f"{v} = {v}" for v in variables), when=when,
                               order=order, name=name or f"{group.name}_batch_mean", **kwargs)


def _check_synapses(synapses, argname="synapses"):
    if not isinstance(synapses, Synapses):
        raise TypeError(
            f"'{argname}' must be a brian2 Synapses object, got "
            f"{type(synapses).__name__!r}."
        )


def _whole_group_problem(synapses):
    """Return why source/target are not whole neuron groups, or ``None``."""
    for role, group in (("source", synapses.source), ("target", synapses.target)):
        if isinstance(group, Subgroup):
            return f"its {role} '{group.name}' is a Subgroup"
        if isinstance(group, Synapses):
            return f"its {role} '{group.name}' is a Synapses object"
    for name in ("_source_offset", "_target_offset"):
        var = synapses.variables[name]
        if getattr(var, "array", False) or int(var.get_value()) != 0:
            return f"its {name} is not the constant 0"
    if len(synapses.source) == 0 or len(synapses.target) == 0:
        return "its source or target is empty"
    return None


def _creation_codeobjects(synapses, device):
    """Names of the queued synapse-creation code objects of ``synapses``."""
    names = []
    for func, args in device.main_queue:
        if func != "run_code_object":
            continue
        codeobj = args[0]
        if codeobj.template_name not in _CREATION_TEMPLATES:
            continue
        try:
            owner_name = codeobj.owner.name
        except ReferenceError:
            continue
        if owner_name == synapses.name:
            names.append(codeobj.name)
    return names


def _substituted(eqs, expr):
    """``expr`` (a Brian2 `Expression`) as SymPy, the model's subexpressions substituted."""
    subexpressions = {name: eq for name, eq in eqs.items() if eq.type == SUBEXPRESSION}
    e = str_to_sympy(expr.code)
    for _ in range(20):  # subexpressions of subexpressions
        names = {sym.name for sym in e.free_symbols} & set(subexpressions)
        if not names:
            break
        e = e.subs({sym: str_to_sympy(subexpressions[sym.name].expr.code)
                    for sym in e.free_symbols if sym.name in names})
    return e


def _row_gate_problem(synapses, gate):
    """Why rows of ``synapses`` cannot be skipped where ``gate_pre == 0``, or ``None``.

    Skipping row ``i`` (presynaptic neuron ``i``) is exact when every
    clock-driven right-hand side and every ``(summed)`` expression of the
    model, subexpressions substituted, is identically zero for
    ``gate_pre = 0``: a skipped synapse then keeps its values (the Euler step
    would add ``dt*0``) and adds no term to any sum (stock Brian would add
    zeros). Checked symbolically with SymPy, as Brian2 parses the model.
    """
    import sympy

    eqs = synapses.equations
    symbol = f"{gate}_pre"

    def substituted(expr):
        return _substituted(eqs, expr)

    checked = [(f"d{name}/dt", eq.expr) for name, eq in eqs.items()
               if eq.type == DIFFERENTIAL_EQUATION and "event-driven" not in eq.flags]
    # Brian2 moves the (summed) variables out of the equations into their updaters
    checked += [(name, updater.expression)
                for name, updater in sorted(synapses.summed_updaters.items())]
    if not checked:
        return "its model has no clock-driven equation and no (summed) variable to gate"
    for name, expr in checked:
        e = substituted(expr)
        if symbol not in {sym.name for sym in e.free_symbols}:
            return f"{name} = {expr.code} does not depend on {symbol}"
        at_zero = e.subs({sym: 0 for sym in e.free_symbols if sym.name == symbol})
        if sympy.simplify(at_zero) != 0:
            return (f"{name} = {expr.code} is not zero for {symbol} = 0 (multiply it by "
                    f"{symbol})")
    return None


def _write_gate_problem(synapses, flag, variables):
    """Why ``variables`` of ``synapses`` may change where ``flag == 0``, or ``None``.

    Each must be a clock-driven variable of the model whose right-hand side,
    subexpressions substituted, is identically zero for ``flag = 0`` (the
    Euler step then adds ``dt*0``: the value is unchanged). Checked
    symbolically with SymPy, as Brian2 parses the model.
    """
    import sympy

    eqs = synapses.equations
    for name in variables:
        eq = eqs.get(name)
        if eq is None or eq.type != DIFFERENTIAL_EQUATION or "event-driven" in eq.flags:
            return f"{name!r} is not a clock-driven variable of the model"
        e = _substituted(eqs, eq.expr)
        at_zero = e.subs({sym: 0 for sym in e.free_symbols if sym.name == flag})
        if sympy.simplify(at_zero) != 0:
            return f"d{name}/dt = {eq.expr.code} is not zero for {flag} = 0 (multiply it by {flag})"
    return None


def _check_write_gate(synapses, write_gate, batch_size):
    """Validated ``(flag, variables)`` of `connect_dense`'s ``write_gate``."""
    if not (isinstance(write_gate, tuple) and len(write_gate) == 2 and isinstance(write_gate[0], str)):
        raise TypeError(f"write_gate must be a tuple (flag, variables), e.g. ('last_post', ['w']), "
                        f"got {write_gate!r}")
    flag, variables = write_gate
    variables = (variables,) if isinstance(variables, str) else tuple(variables)
    if not variables or not all(isinstance(v, str) for v in variables):
        raise TypeError(f"write_gate: expected the names of the gated variables (str), got "
                        f"{write_gate[1]!r}")
    if batch_size != 1:
        raise ValueError(f"write_gate cannot be combined with batch_size={batch_size}")
    var = synapses.variables.get(flag)
    if not isinstance(var, ArrayVariable) or not var.scalar:
        raise ValueError(f"write_gate: flag {flag!r} must be a shared (scalar) variable that "
                         f"'{synapses.name}' reads, e.g. 'last_post'")
    problem = _write_gate_problem(synapses, flag, variables)
    if problem is not None:
        raise ValueError(f"write_gate: the variables {list(variables)} of '{synapses.name}' may "
                         f"change where {flag} == 0: {problem}")
    return flag, variables


def connect_dense(synapses, batch_size=1, row_gate=None, write_gate=None, blocks=1):
    """Connect all pairs of a `Synapses` object and mark it as dense.

    Calls ``synapses.connect()`` (all pairs, no condition, ``p=1``, ``n=1``)
    and records the call, so that `is_all_to_all` can later prove that
    synapse ``s`` connects presynaptic neuron ``s // N_post`` to
    postsynaptic neuron ``s % N_post``. With ``blocks=C > 1`` it connects
    the pairs of ``C`` diagonal blocks instead (see below).

    With ``batch_size=B > 1`` the source and target hold ``B`` copies of
    their neurons, sample-major (neuron ``b * n + k`` is neuron ``k`` of
    sample ``b``), and the projection keeps ONE weight per pair of the
    first copies (``n_pre * n_post`` synapses, ``n = len(group) // B``),
    shared by all samples. The dense templates then compute the summed
    input of every sample's copy from the shared weights (exactly the sums
    of ``B`` separate projections) and give every synaptic variable that
    the state update writes the batch *mean* of the ``B`` per-sample
    changes, once per step. Only the ``cpp_standalone`` dense path computes
    a batched projection: `apply_dense` refuses one it cannot switch, and
    runtime devices cannot run it (:class:`~brian_dendrites.engine.Simulation`
    says so before running).

    Parameters
    ----------
    synapses : `~brian2.synapses.synapses.Synapses`
        Synapses between two whole groups that have not been connected yet.
    batch_size : int >= 1
        Samples simulated side by side (copies per group).
    row_gate : str, optional
        Name of a per-neuron variable of the *source* group. The dense
        templates skip every row (presynaptic neuron) whose value is exactly
        0 in that step: its synapses are not updated and add no term to the
        ``(summed)`` variables (sums onto the source keep 0 there). This
        must not change the result, so the model must say so: every
        clock-driven right-hand side and every ``(summed)`` expression must
        vanish for ``<row_gate>_pre = 0`` (checked symbolically here, e.g.
        ``dw/dt = gate_pre*(...)``, ``v_pre = gate_pre*w*r_post``). For
        finite values the results then equal those of the dense path
        without skipping bit for bit, except sums onto the rows themselves
        (vectorised dot products, equal to rounding); stock code (runtime
        devices, GSL) computes the same numbers with every row. Used by the Dendritic Gated Networks, whose rows are
        branches and whose closed branches (~85 %) are skipped. Not with
        ``batch_size > 1``.
    write_gate : tuple (str, sequence of str), optional
        ``(flag, variables)``: the clock-driven ``variables`` of the model
        change only on steps where the shared variable ``flag`` (e.g.
        ``'last_post'``, a flag of the target group) is not 0, which
        `connect_dense` proves from the model (each right-hand side must
        vanish for ``flag = 0``). On the other steps the dense state update
        neither reads nor writes them (for finite values stock code computes
        ``x + 0``, the same numbers); if no variable is left, it skips the
        loop. Used by Deep Feedback Control, whose weights are fixed during
        the feedback phase and change on its last step only. Not with
        ``batch_size > 1``.
    blocks : int >= 1
        ``C > 1``: a block-diagonal projection. Source and target are cut
        into ``C`` equal consecutive blocks, and every neuron of source
        block ``c`` connects to every neuron of target block ``c`` only:
        ``n_pre * n_post / C`` synapses, synapse ``s`` joining presynaptic
        ``i = s // m`` to postsynaptic ``(i // (n_pre / C)) * m + s % m``
        with ``m = n_post / C`` (the order of ``connect(j='k for k in
        range(...)')`` over the block). A weight matrix of the
        block-diagonal connectivity is then stored without its zero
        blocks, each row contiguous (``m`` values). Used by the one-vs-all
        Dendritic Gated Networks, whose ``C`` class networks share one
        compiled network. Combines with ``row_gate`` and ``write_gate``,
        not with ``batch_size > 1``; sums onto the target run serially
        under OpenMP.

    Returns
    -------
    synapses : `~brian2.synapses.synapses.Synapses`
        The same object, for chaining.

    Raises
    ------
    TypeError
        If ``synapses`` is not a `Synapses` object, or ``batch_size`` not an
        integer.
    ValueError
        If ``synapses`` was already connected, or if its source or target is
        a `Subgroup` (or a `Synapses` object): use ``synapses.connect(...)``
        directly, the stock code path then applies; if ``batch_size < 1`` or
        does not divide both group sizes; if ``row_gate`` is not a
        per-neuron variable of the source group, or the model does not
        vanish where it is 0 (the message names the expression), or is
        combined with ``batch_size > 1``; likewise for ``write_gate`` (its
        flag must be a shared variable the synapses read); if ``blocks``
        does not divide both group sizes or is combined with
        ``batch_size > 1``.

    Examples
    --------
    >>> from brian2 import NeuronGroup, Synapses
    >>> from brian_dendrites.dense import connect_dense, is_all_to_all
    >>> pre, post = NeuronGroup(3, 'r : 1'), NeuronGroup(2, 'v : 1')
    >>> syn = connect_dense(Synapses(pre, post, 'w : 1'))
    >>> is_all_to_all(syn)
    True
    """
    from ._validation import check_int

    _check_synapses(synapses)
    batch_size = check_int(batch_size, "batch_size", minimum=1)
    if synapses._connect_called:
        raise ValueError(
            f"'synapses' ('{synapses.name}') has already been connected; "
            "connect_dense must be the only connect call of a Synapses object."
        )
    problem = _whole_group_problem(synapses)
    if problem is not None:
        raise ValueError(
            f"'synapses' ('{synapses.name}') cannot be connected densely: "
            f"{problem}. Connect whole groups, or use synapses.connect()."
        )
    n_source, n_target = len(synapses.source), len(synapses.target)
    if n_source % batch_size or n_target % batch_size:
        raise ValueError(
            f"batch_size={batch_size} must divide the sizes of the source "
            f"'{synapses.source.name}' ({n_source}) and the target "
            f"'{synapses.target.name}' ({n_target}) of '{synapses.name}' "
            "(each group holds batch_size copies of its neurons)."
        )
    if row_gate is not None:
        if not isinstance(row_gate, str):
            raise TypeError(f"row_gate must be the name of a variable of the source group "
                            f"(a str), got {type(row_gate).__name__}")
        if batch_size != 1:
            raise ValueError(f"row_gate={row_gate!r} cannot be combined with "
                             f"batch_size={batch_size} (a batched row holds every sample)")
        var = synapses.source.variables.get(row_gate)
        if not isinstance(var, ArrayVariable) or var.scalar or row_gate.startswith("_"):
            raise ValueError(f"row_gate={row_gate!r}: expected a per-neuron variable of the "
                             f"source group '{synapses.source.name}'")
        problem = _row_gate_problem(synapses, row_gate)
        if problem is not None:
            raise ValueError(f"row_gate={row_gate!r}: rows of '{synapses.name}' cannot be "
                             f"skipped where {row_gate}_pre == 0: {problem}")
    if write_gate is not None:
        write_gate = _check_write_gate(synapses, write_gate, batch_size)
    blocks = check_int(blocks, "blocks", minimum=1)
    if blocks > 1:
        if batch_size != 1:
            raise ValueError(f"blocks={blocks} cannot be combined with batch_size={batch_size}")
        if n_source % blocks or n_target % blocks:
            raise ValueError(
                f"blocks={blocks} must divide the sizes of the source "
                f"'{synapses.source.name}' ({n_source}) and the target "
                f"'{synapses.target.name}' ({n_target}) of '{synapses.name}' "
                "(equal consecutive blocks)."
            )
    n_pre, n_post = n_source // batch_size, n_target // batch_size
    if blocks > 1:  # the pairs of the diagonal blocks, pre-major, made by Brian's generator
        rows, cols = n_source // blocks, n_target // blocks
        kwargs = {"j": f"k for k in range({cols} * (i // {rows}), {cols} * (i // {rows} + 1))"}
    elif batch_size == 1:
        kwargs = {}
    else:  # pairs of the first copies, in the dense (pre-major) order, made in the binary
        kwargs = {"j": f"k for k in range({n_post} * int(i < {n_pre}))"}
    device = get_device()
    if isinstance(device, CPPStandaloneDevice):
        before = set(_creation_codeobjects(synapses, device))
        stock_class = synapses.codeobj_class
        if batch_size == 1 and blocks == 1 and stock_class is None:
            # the dense creation template: the same synapses, sized once
            synapses.codeobj_class = DenseCPPStandaloneCodeObject
        try:
            synapses.connect(namespace={}, **kwargs)
        finally:
            synapses.codeobj_class = stock_class
        new = [n for n in _creation_codeobjects(synapses, device) if n not in before]
        if len(new) != 1:  # pragma: no cover - would be a Brian change
            raise RuntimeError(
                f"Expected one synapse creation code object for "
                f"'{synapses.name}', found {len(new)}."
            )
        _DENSE_CONNECTED[synapses] = new[0]
    else:
        synapses.connect(namespace={}, **kwargs)
        _DENSE_CONNECTED[synapses] = None
    if batch_size > 1:
        _DENSE_BATCH[synapses] = (batch_size, n_pre, n_post)
    if row_gate is not None:
        _DENSE_ROW_GATE[synapses] = row_gate
    if write_gate is not None:
        _DENSE_WRITE_GATE[synapses] = write_gate
    if blocks > 1:
        _DENSE_BLOCKS[synapses] = blocks
    return synapses


def dense_order(synapses):
    """The ``(i, j)`` arrays of the dense order of a projection, synapse by synapse.

    All pairs pre-major (``i = s // N_post``, ``j = s % N_post``), or the
    pairs of the diagonal blocks for ``connect_dense(..., blocks=C)``; a
    batched projection holds the pairs of its first copies.

    Parameters
    ----------
    synapses : `~brian2.synapses.synapses.Synapses`

    Returns
    -------
    i, j : numpy.ndarray of int

    Examples
    --------
    >>> from brian2 import NeuronGroup, Synapses
    >>> from brian_dendrites.dense import connect_dense, dense_order
    >>> pre, post = NeuronGroup(4, 'r : 1'), NeuronGroup(2, 'v : 1')
    >>> i, j = dense_order(connect_dense(Synapses(pre, post, 'w : 1'), blocks=2))
    >>> i.tolist(), j.tolist()
    ([0, 1, 2, 3], [0, 0, 1, 1])
    """
    _check_synapses(synapses)
    n_pre, n_post = _copy_sizes(synapses)
    blocks = _DENSE_BLOCKS.get(synapses, 1)
    cols = n_post // blocks
    s = np.arange(n_pre * cols)
    i = s // cols
    return i, (i // (n_pre // blocks)) * cols + s % cols


def batch_size_of(synapses):
    """Samples a dense projection simulates side by side (1 unless batched).

    Parameters
    ----------
    synapses : `~brian2.synapses.synapses.Synapses`

    Returns
    -------
    int
        The ``batch_size`` given to `connect_dense` (1 for any other object).

    Raises
    ------
    TypeError
        If ``synapses`` is not a `Synapses` object.
    """
    _check_synapses(synapses)
    batch = _DENSE_BATCH.get(synapses)
    return batch[0] if batch else 1


def batched_objects(objects):
    """Names of the batched synapses and batch-mean groups among ``objects``.

    These compute what they should only as ``cpp_standalone`` code on the
    dense path (`connect_dense` with ``batch_size > 1``, `batch_mean`).

    Parameters
    ----------
    objects : `~brian2.core.network.Network` or iterable of `BrianObject`

    Returns
    -------
    list of str
    """
    names = []
    for obj in _iter_objects(objects):
        if isinstance(obj, Synapses) and obj in _DENSE_BATCH:
            names.append(obj.name)
        if obj in _BATCH_MEAN:
            names.append(obj.name)
    return names


def _copy_sizes(synapses):
    """``(n_pre, n_post)`` of one copy (the whole groups unless batched)."""
    batch = _DENSE_BATCH.get(synapses)
    if batch:
        return batch[1], batch[2]
    return len(synapses.source), len(synapses.target)


def _index_order_ok(synapses):
    """Check the index arrays of ``synapses`` (values must be available)."""
    i, j = dense_order(synapses)
    pre = np.asarray(synapses.variables["_synaptic_pre"].get_value())
    post = np.asarray(synapses.variables["_synaptic_post"].get_value())
    if pre.shape != i.shape or post.shape != pre.shape:
        return False
    return bool(np.array_equal(pre, i) and np.array_equal(post, j))


def is_all_to_all(synapses):
    """Whether the dense code path is valid for a `Synapses` object.

    Parameters
    ----------
    synapses : `~brian2.synapses.synapses.Synapses`
        The synapses to check.

    Returns
    -------
    dense : bool
        ``True`` only if source and target are whole groups and synapse
        ``s`` connects presynaptic neuron ``s // N_post`` to postsynaptic
        neuron ``s % N_post`` for all ``N_pre * N_post`` pairs (for
        ``connect_dense(..., blocks=C)``: the pairs of the diagonal blocks
        in `dense_order`).  On the
        ``cpp_standalone`` device this requires that the object was
        connected with `connect_dense` and never again (see the module
        docstring for the guarantee); on runtime devices the index arrays are
        inspected.

    Raises
    ------
    TypeError
        If ``synapses`` is not a `Synapses` object.

    Examples
    --------
    >>> from brian2 import NeuronGroup, Synapses
    >>> from brian_dendrites.dense import is_all_to_all
    >>> pre, post = NeuronGroup(3, 'r : 1'), NeuronGroup(2, 'v : 1')
    >>> syn = Synapses(pre, post, 'w : 1')
    >>> syn.connect(condition='i != j')
    >>> is_all_to_all(syn)
    False
    """
    return _ineligibility(synapses) is None


def _ineligibility(synapses):
    """Return why ``synapses`` is not dense all-to-all, or ``None``."""
    _check_synapses(synapses)
    problem = _whole_group_problem(synapses)
    if problem is not None:
        return problem
    if not synapses._connect_called:
        return "it has not been connected"
    device = get_device()
    if isinstance(device, CPPStandaloneDevice):
        if synapses not in _DENSE_CONNECTED:
            return "it was not connected with connect_dense()"
        recorded = _DENSE_CONNECTED[synapses]
        if _creation_codeobjects(synapses, device) != [recorded]:
            return "it was connected again after connect_dense()"
        return None
    if synapses in _DENSE_BATCH:
        return ("it is batched (batch_size > 1): only the cpp_standalone dense path "
                "computes it")
    if not _index_order_ok(synapses):
        return "its synapses are not all pairs in (pre, post) order"
    return None


def verify_dense_order(synapses):
    """Check after a run that synapses follow the dense all-to-all order.

    Reads the synapse indices (``synapses.i[:]``, ``synapses.j[:]``; on the
    ``cpp_standalone`` device this needs a built and run binary) and checks
    that synapse ``s`` connects ``s // N_post`` to ``s % N_post`` for all
    ``N_pre * N_post`` pairs.

    Parameters
    ----------
    synapses : `~brian2.synapses.synapses.Synapses`
        Synapses whose indices are readable (runtime, or after a standalone run).

    Returns
    -------
    ok : bool
        ``True`` if the order is the dense all-to-all order (block-diagonal
        for ``connect_dense(..., blocks=C)``, see `dense_order`).

    Raises
    ------
    TypeError
        If ``synapses`` is not a `Synapses` object.
    ValueError
        If its source or target is not a whole group (indices ``i``, ``j``
        would be relative to a subgroup).
    """
    _check_synapses(synapses)
    problem = _whole_group_problem(synapses)
    if problem is not None:
        raise ValueError(f"'synapses' ('{synapses.name}'): {problem}.")
    i0, j0 = dense_order(synapses)
    i = np.asarray(synapses.i[:])
    j = np.asarray(synapses.j[:])
    if i.shape != i0.shape or j.shape != i.shape:
        return False
    return bool(np.array_equal(i, i0) and np.array_equal(j, j0))


def _iter_objects(objects):
    if isinstance(objects, Network):
        return list(objects.objects)
    if isinstance(objects, (str, bytes)) or isinstance(objects, BrianObject):
        raise TypeError(
            "'objects' must be a brian2 Network or an iterable of Brian objects, "
            f"got {type(objects).__name__!r} (wrap a single object in a list)."
        )
    try:
        items = list(objects)
    except TypeError:
        raise TypeError(
            "'objects' must be a brian2 Network or an iterable of Brian objects, "
            f"got {type(objects).__name__!r}."
        ) from None
    for k, obj in enumerate(items):
        if not isinstance(obj, BrianObject):
            raise TypeError(
                f"'objects' must contain only Brian objects; item {k} is "
                f"{type(obj).__name__!r}."
            )
    return items


def _uses_gsl(state_updater):
    method = getattr(state_updater, "method_choice", None)
    if isinstance(method, str):
        return "gsl" in method.lower()
    return "GSL" in type(method).__name__


def apply_dense(objects):
    """Switch eligible `Synapses` to the dense ``cpp_standalone`` code path.

    For every `Synapses` object in ``objects`` for which `is_all_to_all` is
    true, the continuous state updater and the ``(summed)`` variable
    updaters get `DenseCPPStandaloneCodeObject` as their code object class.
    Everything else keeps Brian's stock code (a debug log line says why).
    Call it after the synapses have been connected (`connect_dense`) and
    before ``run()``: Brian creates the code objects during ``run()``, and
    ``device.build()`` then compiles them.

    Parameters
    ----------
    objects : `~brian2.core.network.Network` or iterable of `BrianObject`
        The objects to consider (for a `Network`, its ``objects``); objects
        that are not `Synapses` are ignored.

    Returns
    -------
    switched : list of str
        Names of the `Synapses` objects that now use the dense code path
        (empty unless the current device is ``cpp_standalone``).

    Raises
    ------
    TypeError
        If ``objects`` is not a `Network` or an iterable of `BrianObject`.
    """
    items = _iter_objects(objects)
    device = get_device()
    if not isinstance(device, CPPStandaloneDevice):
        logger.debug(
            "apply_dense: device is not cpp_standalone "
            f"({type(device).__name__}); keeping stock code for all objects."
        )
        return []
    threads = 0
    try:
        from brian2 import prefs

        threads = prefs.devices.cpp_standalone.openmp_threads
    except Exception:  # pragma: no cover
        pass
    switched = []
    seen = set()
    for obj in items:
        if not isinstance(obj, Synapses) or id(obj) in seen:
            continue
        seen.add(id(obj))
        reason = _ineligibility(obj)
        batched = obj in _DENSE_BATCH
        if batched and reason is not None:
            raise ValueError(f"apply_dense: '{obj.name}' is batched (batch_size > 1) but cannot "
                             f"use the dense code path: {reason}; stock code would compute "
                             "only the first sample's copy.")
        if reason is not None:
            logger.debug(
                f"apply_dense: keeping stock code for '{obj.name}': {reason}."
            )
            continue
        updaters = []
        su = getattr(obj, "state_updater", None)
        if su is not None:
            if _uses_gsl(su):
                if batched:
                    raise ValueError(f"apply_dense: '{obj.name}' is batched (batch_size > 1) "
                                     "but its state updater uses GSL, which the dense code "
                                     "path does not replace; use an explicit method.")
                logger.debug(
                    f"apply_dense: state updater of '{obj.name}' uses GSL; "
                    "keeping stock code for it."
                )
            else:
                updaters.append(su)
        if threads:
            logger.debug(
                f"apply_dense: '{obj.name}' with openmp_threads={threads}: updates split "
                "over presynaptic rows, sums onto postsynaptic targets over target "
                "elements, sums onto presynaptic targets serial."
            )
        updaters.extend(obj.summed_updaters.values())
        if not updaters:
            logger.debug(
                f"apply_dense: '{obj.name}' has no state update or summed "
                "variables; nothing to switch."
            )
            continue
        for updater in updaters:
            if getattr(updater, "code_objects", None):
                logger.warn(
                    f"apply_dense: '{updater.name}' already has code objects "
                    "(run() was called before apply_dense); the dense code "
                    "path applies to later run() calls only.",
                    name_suffix="after_run",
                )
            updater.codeobj_class = DenseCPPStandaloneCodeObject
        logger.debug(
            f"apply_dense: '{obj.name}' uses the dense code path for "
            f"{', '.join(u.name for u in updaters)}."
        )
        switched.append(obj.name)
    return switched
