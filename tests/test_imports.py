"""The parts of skhsi without weights import without torch, so they load fast: the
detectors without weights, the normalisers, model files of such detectors and the command
line's paths for them run with ``torch`` (and skorch) never imported, each case in a fresh
interpreter; nodes with weights load torch on first use."""

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _run(code):
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                          text=True, check=True).stdout


def test_classical_nodes_io_metrics_datasets_and_plotting_import_without_torch():
    out = _run(
        "import sys\n"
        "from skhsi.anomaly import QuantileBinaryDecider, RXDetector\n"
        "import skhsi.io, skhsi.metrics, skhsi.datasets, skhsi.plotting, skhsi.cli\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('torch', 'skorch')))\n"
    )
    assert out.strip() == "[]"


def test_skhsi_info_runs_without_torch(tmp_path):
    import numpy as np

    from skhsi.io import write_envi

    write_envi(tmp_path / "s.hdr", np.zeros((3, 4, 5), dtype=np.int16),
               wavelengths=[400, 500, 600, 700, 800])
    out = _run(
        "import sys\n"
        "from skhsi.cli import main\n"
        f"main(['info', {str(tmp_path / 's.hdr')!r}])\n"
        "main(['info', 'indian_pines'])\n"
        "print('torch' in sys.modules)\n"
    )
    assert "3 x 4 x 5" in out and "145 x 145 x 200" in out
    assert out.strip().endswith("False")


def test_detectors_with_weights_load_torch_on_first_use():
    out = _run(
        "import sys\n"
        "import skhsi.anomaly as anomaly\n"
        "before = 'torch' in sys.modules\n"
        "cls = anomaly.DeepSVDD\n"
        "print(before, 'torch' in sys.modules, cls.__module__, 'DeepSVDD' in dir(anomaly))\n"
    )
    assert out.split() == ["False", "True", "skhsi.anomaly._deep_svdd", "True"]


_SETUP = """
import sys
import numpy as np
from skhsi.datasets import make_synthetic_scene
cube = make_synthetic_scene((40, 36, 12), random_state=0).cube
"""

CASES = {
    "import every torch-free module": """
import skhsi.anomaly, skhsi.preprocessing, skhsi.decomposition, skhsi.selection
import skhsi.classification, skhsi.representation, skhsi.spatial, skhsi.pipeline
import skhsi.persistence, skhsi.serving, skhsi.parallel, skhsi.metrics, skhsi.inspection
import skhsi.io, skhsi.plotting, skhsi.export, skhsi.cli
""",
    "the default pipeline": """
from skhsi.pipeline import make_attribute_filter_pipeline
pipe = make_attribute_filter_pipeline()
assert np.isfinite(pipe.fit_anomaly_score(cube)).all()
assert pipe.predict(cube).shape == cube.shape[:2]
""",
    "detectors without weights": """
from skhsi.anomaly import (ConsensusDetector, LocalRXDetector, LowRankSparseDetector,
                           QuantileBinaryDecider, RXDetector)
for det in (RXDetector(), LocalRXDetector(), LowRankSparseDetector(max_iter=5),
            ConsensusDetector([("rx", RXDetector()), ("local", LocalRXDetector())])):
    scores = det.fit(cube).anomaly_score(cube)
    assert np.isfinite(scores).all()
QuantileBinaryDecider().fit_transform(scores)
""",
    "the normalisers and band samplers": """
from skhsi.preprocessing import (BandpassByWavelength, BandSampler, MinMaxScalerPerBand,
                                 PerPixelStandardizer, PerPixelUnitNorm,
                                 ZScoreNormalizerGlobal)
from skhsi.spatial import SobelEdges
for step in (BandpassByWavelength(), BandSampler(4, strategy="pca-loading"),
             MinMaxScalerPerBand(), PerPixelStandardizer(), PerPixelUnitNorm(),
             ZScoreNormalizerGlobal(), SobelEdges()):
    step.fit_transform(cube)
""",
    "model files of the default and RX": """
import os, tempfile
from skhsi.anomaly import RXDetector
from skhsi.persistence import load_weights, save_weights
from skhsi.pipeline import make_attribute_filter_pipeline
with tempfile.TemporaryDirectory() as tmp:
    for est in (RXDetector().fit(cube), make_attribute_filter_pipeline().fit(cube)):
        path = os.path.join(tmp, "m.skhsi")
        save_weights(est, path)
        assert np.array_equal(load_weights(path).anomaly_score(cube), est.anomaly_score(cube))
""",
    "skhsi fit and skhsi score with such models": """
import os, tempfile
from skhsi.cli import main
with tempfile.TemporaryDirectory() as tmp:
    np.save(os.path.join(tmp, "s.npy"), cube.astype(np.float32))
    for method in ("rx", "attribute"):
        model = os.path.join(tmp, method + ".skhsi")
        assert main(["fit", os.path.join(tmp, "s.npy"), "--method", method, "--out", model,
                     "--quiet"]) == 0
        assert main(["score", model, os.path.join(tmp, "s.npy"), "--out",
                     os.path.join(tmp, method), "--quiet"]) == 0
""",
    "skhsi detect with the default": """
import os, tempfile
from skhsi.cli import main
with tempfile.TemporaryDirectory() as tmp:
    np.save(os.path.join(tmp, "s.npy"), cube.astype(np.float32))
    assert main(["detect", os.path.join(tmp, "s.npy"), "--out", tmp, "--quiet"]) == 0
""",
    "skhsi info, detect and score --help": """
from skhsi.cli import main
for command in ("info", "detect", "score", "fit"):
    try:
        main([command, "--help"])
    except SystemExit as exit:
        assert exit.code == 0
""",
}


def test_runs_without_importing_torch():
    """Every case in one fresh interpreter, in turn: after each, neither torch nor skorch
    is loaded (one process rather than one per case: the imports are the slow part)."""
    code = _SETUP
    for case in sorted(CASES):
        code += (f"\n# -- {case}\n" + textwrap.dedent(CASES[case])
                 + f"\nprint('case:', {case!r}, sorted(m for m in ('torch', 'skorch') "
                 "if m in sys.modules))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env=dict(os.environ, MPLBACKEND="Agg"), timeout=600)
    assert out.returncode == 0, out.stderr[-2000:]
    cases = [line for line in out.stdout.splitlines() if line.startswith("case: ")]
    assert len(cases) == len(CASES), out.stdout[-2000:]
    loaded = [line for line in cases if not line.endswith("[]")]
    assert not loaded, loaded  # the first case named here loaded torch
