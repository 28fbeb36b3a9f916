"""Sphinx configuration of the brian_dendrites documentation.

Build (warnings are errors, as in ``.ci/run``)::

    pip install '.[docs]'
    python -m sphinx -W --keep-going -b html docs /tmp/docs_html

What the build runs:

- the model pages (``docs/equations/``) build every registered model with the
  builder the code runs and show ``str(model)`` (``docs/_ext/bd_docs.py``);
- the API reference (``docs/api/index.rst``, written here from
  ``brian_dendrites.__all__`` and the optional modules that exist) with
  autosummary and numpydoc;
- sphinx-gallery runs ``examples/*.py`` in their ``--fast`` modes
  (``BD_DOCS_GALLERY=0`` builds the gallery pages without running them);
- myst-nb executes the quickstart and the teaching notebooks
  (``docs/notebooks``) in their FAST mode; an error in a cell fails the build
  (``BD_DOCS_EXECUTE=0`` skips the execution, for drafts).

Intersphinx links to Brian2, NumPy, SciPy, matplotlib, pandas and Python
are used when their inventories can be reached (checked here with a short
timeout; ``BD_DOCS_INTERSPHINX=0`` turns them off): an offline build still
passes, with plain text instead of those links.
"""

import importlib.util
import os
import sys
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE / "_ext"))
sys.path.insert(0, str(ROOT))  # document the checkout (as the tests do: pythonpath = .)

import brian_dendrites  # noqa: E402

# -- project -----------------------------------------------------------------
project = "brian_dendrites"
author = "the brian_dendrites authors"
copyright = "the brian_dendrites authors"
version = release = brian_dendrites.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.intersphinx",
    "sphinx.ext.mathjax",
    "numpydoc",
    "myst_nb",
    "sphinx_gallery.gen_gallery",
    "bd_docs",
]

templates_path = ["_templates"]
exclude_patterns = [
    "_build",
    "**.ipynb_checkpoints",
    "auto_examples/*.ipynb",  # sphinx-gallery's notebook downloads are not pages
    "auto_examples/*.py",
    "auto_examples/*.zip",
    "sg_execution_times.rst",
]
root_doc = "index"
suppress_warnings = [
    # numpydoc "References" sections list works that the text does not cite with [1]_
    # (brian_dendrites/tasks.py, activations.py): a style, not an error
    "ref.citation",
]
source_suffix = {".rst": "restructuredtext", ".md": "myst-nb", ".ipynb": "myst-nb"}

# -- HTML ----------------------------------------------------------------------
html_theme = "pydata_sphinx_theme"
html_title = f"brian_dendrites {release}"
html_theme_options = {
    "navigation_with_keys": False,
    "show_toc_level": 2,
    "secondary_sidebar_items": ["page-toc"],
}
html_show_sourcelink = False

# -- MyST and notebooks ------------------------------------------------------
myst_enable_extensions = ["dollarmath", "amsmath", "colon_fence", "deflist"]
myst_heading_anchors = 3  # architecture.md#the-engine-compile-once-run-many
# notebooks are stored without outputs; BD_DOCS_EXECUTE=0 builds them unexecuted (quick drafts)
nb_execution_mode = "force" if os.environ.get("BD_DOCS_EXECUTE", "1") != "0" else "off"
nb_execution_timeout = 900  # per cell
nb_execution_raise_on_error = True  # a broken notebook fails the build
nb_execution_show_tb = True
nb_merge_streams = True

# -- API reference -----------------------------------------------------------
autosummary_generate = True
autosummary_imported_members = True
autodoc_default_options = {"members": True, "show-inheritance": True}
autodoc_typehints = "none"  # numpydoc docstrings carry the types
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_xref_param_type = False

#: Optional modules: documented when they exist at build time.
OPTIONAL_MODULES = ["brian_dendrites.lab", "brian_dendrites.plots", "brian_dendrites.cli",
                    "brian_dendrites.cells"]
#: Modules documented as a whole (beside the public names of ``brian_dendrites``).
MODULES = [
    "brian_dendrites.models",
    "brian_dendrites.spec",
    "brian_dendrites.circuits",
    "brian_dendrites.learners",
    "brian_dendrites.experiments",
    "brian_dendrites.reference",
    "brian_dendrites.tasks",
    "brian_dendrites.gating",
    "brian_dendrites.activations",
    "brian_dendrites.testing",
]


def _write_api_page():
    """``api/index.rst``: autosummary of ``brian_dendrites.__all__`` and of the modules."""
    public = [n for n in brian_dendrites.__all__ if not n.startswith("_") and n != "models"]
    optional = [m for m in OPTIONAL_MODULES if importlib.util.find_spec(m) is not None]
    lines = [
        ".. This file is written by docs/conf.py on every build: edit conf.py, not this file.",
        "",
        "API reference",
        "=============",
        "",
        "Public names",
        "------------",
        "",
        "Everything in ``brian_dendrites.__all__`` (importable as ``bd.<name>`` after",
        "``import brian_dendrites as bd``).",
        "",
        ".. autosummary::",
        "   :toctree: generated",
        "",
        *[f"   brian_dendrites.{name}" for name in public],
        "",
        "Modules",
        "-------",
        "",
        "The model library, the specifications, the circuits, learners and",
        "experiments, the NumPy reference code and the helpers, module by module.",
        "",
        ".. autosummary::",
        "   :toctree: generated",
        "",
        *[f"   {name}" for name in MODULES + optional],
        "",
    ]
    text = "\n".join(lines)
    # module pages leave out what the public names document (no duplicate descriptions)
    modules_of_public = {getattr(brian_dendrites, n).__module__ for n in public
                         if hasattr(getattr(brian_dendrites, n), "__module__")}
    autosummary_context.update(public_names=public, public_modules=sorted(
        m for m in MODULES if any(p == m or p.startswith(m + ".") for p in modules_of_public)))
    path = HERE / "api" / "index.rst"
    path.parent.mkdir(exist_ok=True)
    if not path.exists() or path.read_text() != text:
        path.write_text(text)


autosummary_context = {}
_write_api_page()

# -- intersphinx ---------------------------------------------------------------
_INVENTORIES = {
    "python": "https://docs.python.org/3/",
    "brian2": "https://brian2.readthedocs.io/en/stable/",
    "numpy": "https://numpy.org/doc/stable/",
    "scipy": "https://docs.scipy.org/doc/scipy/",
    "matplotlib": "https://matplotlib.org/stable/",
    "pandas": "https://pandas.pydata.org/docs/",
}


def _reachable(url, timeout=8.0):
    try:
        with urllib.request.urlopen(url + "objects.inv", timeout=timeout) as response:
            return response.status == 200
    except Exception:  # offline, proxy, DNS: build without that inventory
        return False


if os.environ.get("BD_DOCS_INTERSPHINX", "1") != "0":
    intersphinx_mapping = {k: (u, None) for k, u in _INVENTORIES.items() if _reachable(u)}
    _missing = sorted(set(_INVENTORIES) - set(intersphinx_mapping))
    if _missing:
        print(f"[conf.py] intersphinx inventories not reachable, linked as plain text: {_missing}")
else:
    intersphinx_mapping = {}
intersphinx_timeout = 20

# -- sphinx-gallery --------------------------------------------------------------
#: Examples that read the MNIST subset (their default path, beside the checkout):
#: run only when it is there; otherwise their pages are built without running them.
MNIST_EXAMPLES = ["sacramento2018_fig3_mnist", "sezener2021_permuted_mnist", "meulemans2021_mnist"]
MNIST_DATA = ROOT.parent / "shared" / "data" / "mnist_5k.csv.gz"
if MNIST_DATA.is_file():
    _run_pattern = r"/[^/]+\.py$"  # run every example (in its --fast mode)
else:
    print(f"[conf.py] {MNIST_DATA} not found: not running {MNIST_EXAMPLES}")
    _run_pattern = r"/(?!(" + "|".join(MNIST_EXAMPLES) + r")\.py$)[^/]+\.py$"

sphinx_gallery_conf = {
    "examples_dirs": str(ROOT / "examples"),
    "gallery_dirs": "auto_examples",
    "filename_pattern": _run_pattern,
    "ignore_pattern": r"__init__\.py",
    "reset_argv": "bd_docs.gallery_argv",
    "plot_gallery": os.environ.get("BD_DOCS_GALLERY", "1") != "0",
    "download_all_examples": False,
    "remove_config_comments": True,
    "image_scrapers": ("matplotlib",),
    "capture_repr": (),
    "min_reported_time": 1,
    "within_subsection_order": "FileNameSortKey",
}
