"""The documentation's sources stay buildable (the Sphinx build itself runs in .ci/run).

Cheap checks of what the build relies on, without Sphinx:

- every registered model is shown on a model page (``docs/equations/``: the
  build also fails otherwise, this says which page to edit);
- the teaching notebooks are stored without outputs, have a FAST flag read
  from ``BRIAN_DENDRITES_FAST`` and are listed on the notebooks page;
- every example has a sphinx-gallery title (first docstring line underlined),
  works without ``__file__`` and a documented ``--fast`` or is quick.
"""

import ast
import json
import re
from pathlib import Path

import pytest

from brian_dendrites import models

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
NOTEBOOKS = sorted((DOCS / "notebooks").glob("*.ipynb"))
EXAMPLES = sorted((ROOT / "examples").glob("*.py"))


def _model_spec_keys():
    keys = set()
    for page in (DOCS / "equations").glob("*.md"):
        for args in re.findall(r"^```\{model-spec\}\s+(.*)$", page.read_text(), flags=re.M):
            keys.update(args.split())
    return keys


@pytest.mark.parametrize("registry", ["NEURON_MODELS", "SYNAPSE_MODELS"])
def test_every_registered_model_has_a_page(registry):
    missing = sorted(set(getattr(models, registry)) - _model_spec_keys())
    assert not missing, f"add {missing} to a model-spec directive in docs/equations/*.md"


def test_three_notebooks_listed():
    assert len(NOTEBOOKS) == 3
    index = (DOCS / "notebooks" / "index.md").read_text()
    for nb in NOTEBOOKS:
        assert nb.stem in index, nb.name


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_is_clean_and_has_fast_flag(path):
    nb = json.loads(path.read_text())
    code = ["".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "code"]
    assert all(not c.get("outputs") and c.get("execution_count") is None
               for c in nb["cells"] if c["cell_type"] == "code"), "store notebooks without outputs"
    assert 'os.environ.get("BRIAN_DENDRITES_FAST", "1") != "0"' in code[0]
    text = "".join("".join(c["source"]) for c in nb["cells"])
    assert "**Exercise" in text and "*Hint:*" in text
    for source in code:
        ast.parse(source)


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_example_is_gallery_ready(path):
    text = path.read_text()
    doc = ast.get_docstring(ast.parse(text), clean=False)
    title, underline = doc.split("\n")[:2]
    assert set(underline) == {"="} and len(underline) >= len(title), "sphinx-gallery needs a title"
    # sphinx-gallery runs examples without __file__ and with __doc__ = ""
    assert "__doc__.splitlines()" not in text
    for line in text.splitlines():
        if "__file__" in line and not line.lstrip().startswith("#"):
            assert '"__file__" in globals()' in line, line
    # figures stay open when run as a script (the gallery collects them)
    assert not re.search(r"^    plt\.close\(fig\)", text, flags=re.M), "close figures only outside __main__"
