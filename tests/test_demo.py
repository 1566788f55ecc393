import os
import re

import pytest

from keras_wavelit.demo import run_demo


@pytest.mark.slow
def test_quick_demo_writes_the_report(tmp_path):
    # The main job's whole pipeline at its smallest settings.
    out = os.path.join(str(tmp_path), "report")
    path = run_demo(out_dir=out, quick=True, verbose=0)
    assert os.path.exists(path)
    for name in (
        "rollout_frames.png",
        "vrmse_vs_step.png",
        "error_spectra.png",
        "training_pretraining.png",
        "training_finetuning.png",
    ):
        assert os.path.getsize(os.path.join(out, name)) > 1000, name
    with open(path) as f:
        text = f.read()
    rows = [line for line in text.splitlines() if line.startswith(("| pretrained", "| finetuned"))]
    assert len(rows) >= 2
    values = [float(v) for row in rows for v in re.findall(r"\| (\d+\.\d+)", row)]
    assert values and all(v >= 0 for v in values)
