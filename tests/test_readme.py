"""The README's Python example runs as written."""

import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"


@pytest.mark.slow  # about 16 s: it trains the Deep SVDD pipeline and runs a grid search
def test_readme_example_runs(tmp_path, monkeypatch, capsys):
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)
    assert blocks, "README has no Python example"
    monkeypatch.chdir(tmp_path)
    for block in blocks:
        exec(compile(block, str(README), "exec"), {"__name__": "__readme__"})
    out = capsys.readouterr().out
    auc = float(re.search(r"ROC AUC (\d\.\d+)", out).group(1))
    assert auc > 0.95  # a synthetic scene: the README shows the API, not a quality claim
    assert (tmp_path / "deep_svdd.joblib").exists()
