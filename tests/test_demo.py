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
    assert (
        "| model | one-step (mean over windows) | [1:1] (median) | [6:12] (median) | "
        "[13:30] (median) |" in text
    )
    assert "growth/step (2-12) | VRMSE > 1 from step | diverged |" in text
    rows = [line for line in text.splitlines() if line.startswith(("| pretrained", "| finetuned"))]
    assert len(rows) >= 2
    for row in rows[:2]:
        cells = [c.strip() for c in row.strip("|").split("|")]
        one_step, first_step, window_6_12 = (float(c) for c in cells[1:4])
        assert one_step > 0 and first_step > 0 and window_6_12 > 0
        # The quick demo's trajectories have 24 frames: 13:30 is undefined.
        assert cells[4] == "—"
        assert re.fullmatch(r"\d+\.\d+|inf", cells[-3]), cells  # growth ratio
    assert "One-step vrmse (The Well's: mean over all" in text
