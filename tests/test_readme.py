"""The README's code works as printed."""

import re
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"


def test_readme_python_block_runs(tmp_path, monkeypatch, cache_dir):
    monkeypatch.setenv("BRIAN_DENDRITES_CACHE", str(cache_dir))
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)
    assert blocks, "README has no python block"
    monkeypatch.chdir(tmp_path)
    namespace = {}
    exec(compile(blocks[0], "README.md", "exec"), namespace)  # noqa: S102 - our own README
    net = namespace["net"]
    assert net.epochs_done_ == 2 and len(net.history_) == 2
