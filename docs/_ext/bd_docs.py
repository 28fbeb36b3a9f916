"""Sphinx helpers of the brian_dendrites documentation.

``model-spec`` directive
    ``{model-spec} pyramidal`` (MyST) or ``.. model-spec:: pyramidal`` (reST)
    builds the registered model ``pyramidal`` with the builder that the code
    runs (``brian_dendrites.models.NEURON_MODELS`` or ``SYNAPSE_MODELS``) and
    shows ``str(model)``: equations, parameter values, per-step updates and
    events, exactly what Brian2 compiles. Nothing is copied by hand, so the
    pages cannot drift from the code.
Coverage check
    After reading, every registered model must have been shown on some page;
    a missing one is a warning (an error with ``-W``), so a new model cannot
    be added without its page entry.
``gallery_argv``
    sphinx-gallery's ``reset_argv``: examples with a ``--fast`` mode run in
    it, and their ``--out`` files go to a temporary folder (never into the
    checkout).
"""

from __future__ import annotations

import inspect
import re
import tempfile
from pathlib import Path

from docutils import nodes
from docutils.parsers.rst import directives
from sphinx import addnodes
from sphinx.util import logging
from sphinx.util.docutils import SphinxDirective

logger = logging.getLogger(__name__)

#: Where the gallery's examples write their figures and tables.
GALLERY_OUT = Path(tempfile.gettempdir()) / "brian_dendrites_gallery"


def _registries():
    from brian_dendrites import models

    return {"neuron": models.NEURON_MODELS, "synapse": models.SYNAPSE_MODELS}


def _builder_call(kind: str, key: str, builder) -> tuple[str, str | None]:
    """The Python expression that builds a registered model, and the builder's public name."""
    name = getattr(builder, "__name__", "")
    if name and name != "<lambda>":
        return f"models.{name}()", f"brian_dendrites.models.{name}"
    try:  # a lambda in the registry: show its body, e.g. ``dgn_input("identity")``
        source = inspect.getsource(builder)
        body = re.search(r"lambda\s*:\s*(.*?)\s*,?\s*$", source.strip()).group(1)
    except (OSError, TypeError, AttributeError):
        registry = "NEURON_MODELS" if kind == "neuron" else "SYNAPSE_MODELS"
        return f'models.{registry}["{key}"]()', None
    outer = re.match(r"([A-Za-z_]\w*)\(", body)
    return f"models.{body}", (f"brian_dendrites.models.{outer.group(1)}" if outer else None)


class ModelSpec(SphinxDirective):
    """Show registered models as they run: ``str(model)`` of the registry's builder."""

    required_arguments = 1
    optional_arguments = 20
    option_spec = {"kind": lambda arg: directives.choice(arg, ("neuron", "synapse"))}
    has_content = False

    def run(self):
        """One container per model: a sentence on its builder, then ``str(model)``."""
        registries = _registries()
        shown = self.env.__dict__.setdefault("bd_models_shown", {})
        out = []
        for key in self.arguments:
            kinds = [self.options["kind"]] if "kind" in self.options else [
                k for k, reg in registries.items() if key in reg]
            if len(kinds) != 1 or key not in registries[kinds[0]]:
                raise self.error(f"model-spec: {key!r} is not (or not uniquely) a registered model "
                                 f"(models.NEURON_MODELS / SYNAPSE_MODELS)")
            kind = kinds[0]
            builder = registries[kind][key]
            model = builder()
            call, public = _builder_call(kind, key, builder)
            shown.setdefault(self.env.docname, set()).add((kind, key))
            what = "NeuronModel" if kind == "neuron" else "SynapseModel"
            registry = "NEURON_MODELS" if kind == "neuron" else "SYNAPSE_MODELS"
            # nodes built directly: the directive works the same in MyST and reST pages
            intro = nodes.paragraph()
            intro += [nodes.Text("A "), nodes.literal(text=what), nodes.Text(" named "),
                      nodes.literal(text=model.name), nodes.Text(", built by "),
                      nodes.literal(text=call)]
            if public:
                xref = addnodes.pending_xref("", refdomain="py", reftype="func", reftarget=public,
                                             refexplicit=False, refwarn=False)
                xref += nodes.literal(text=public + "()", classes=["xref", "py", "py-func"])
                intro += [nodes.Text(" ("), xref, nodes.Text(")")]
            intro += [nodes.Text(", registered as "),
                      nodes.literal(text=f'models.{registry}["{key}"]'), nodes.Text(".")]
            if model.reference:
                intro += nodes.Text(f" Reference: {model.reference}.")
            how = nodes.paragraph()
            how += [nodes.Text("As printed by "), nodes.literal(text="print(model)"),
                    nodes.Text(" (the lines without "), nodes.literal(text="#"),
                    nodes.Text(" are the Brian2 equations that run):")]
            container = nodes.container(classes=["bd-model-spec"], ids=[f"model-{kind}-{key}"])
            container += [intro, how]
            text = str(model)
            block = nodes.literal_block(text, text, language="text")
            self.set_source_info(block)
            container += block
            out.append(container)
        return out


def _purge(app, env, docname):
    getattr(env, "bd_models_shown", {}).pop(docname, None)


def _merge(app, env, docnames, other):
    mine = env.__dict__.setdefault("bd_models_shown", {})
    for docname in docnames:
        if docname in getattr(other, "bd_models_shown", {}):
            mine[docname] = other.bd_models_shown[docname]


def _check_coverage(app, env):
    shown = set().union(*getattr(env, "bd_models_shown", {}).values())
    if not shown:  # a partial build that reads no model page
        return
    for kind, registry in _registries().items():
        for key in registry:
            if (kind, key) not in shown:
                logger.warning(f"registered {kind} model {key!r} is shown on no page "
                               f"(add it to a ``model-spec`` directive in docs/equations/)")


def gallery_argv(gallery_conf, script_vars):
    """Command-line arguments sphinx-gallery gives an example: ``--fast``, ``--out`` to a temp folder."""
    src = Path(script_vars["src_file"])
    text = src.read_text()
    argv = []
    if '"--fast"' in text:
        argv.append("--fast")
    if '"--out"' in text:
        GALLERY_OUT.mkdir(parents=True, exist_ok=True)
        argv += ["--out", str(GALLERY_OUT / f"{src.stem}.png")]
    return argv


def setup(app):
    """Register the directive and the coverage check."""
    app.add_directive("model-spec", ModelSpec)
    app.connect("env-purge-doc", _purge)
    app.connect("env-merge-info", _merge)
    app.connect("env-check-consistency", _check_coverage)
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
