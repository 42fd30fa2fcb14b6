"""The parts of skhsi without weights import without torch, so they load fast."""

import subprocess
import sys
from pathlib import Path

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
