"""Between the frames on real particles the model never saw: `gym-runner fill validate` on a fixed small subset of the
test particles, through the release binary. The latent Monte Carlo's posterior mean must beat linear interpolation
and the Brownian bridge (whose mean is the linear interpolation) for random and burst losses of 30 % and for
subsampling by 4, and its 90 % band must cover 85–95 % of the hidden true positions (docs/between-frames.md).

Run by scripts/test.sh (pytest Tests/CLI); GYM_RUNNER overrides the binary (default .build/release/gym-runner).
"""
import json
import os
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
GYM = os.environ.get("GYM_RUNNER", str(ROOT / ".build" / "release" / "gym-runner"))
METHODS = ["latent Monte Carlo", "random walk + noise smoother", "linear interpolation", "Brownian bridge"]


def test_fill_beats_interpolation_and_is_calibrated_on_test_particles(tmp_path):
    out = tmp_path / "fill.json"
    r = subprocess.run([GYM, "fill", "validate", "--particles", "12", "--losses", "random:0.3,burst:0.3,every:4",
                        "--seed", "1", "--json", str(out)], capture_output=True, text=True, timeout=900, cwd=tmp_path)
    assert r.returncode == 0, r.stderr[-2000:]
    report = json.loads(out.read_text())
    assert report["methods"] == METHODS
    split = json.loads((ROOT / "data" / "aunr_lptem_300-split.json").read_text())
    assert report["particles"] == split["test"][:12]
    for scenario in report["scenarios"]:
        cases = scenario["cases"]
        assert len(cases) == 12
        mean = [sum(c["rmse"][m] for c in cases) / len(cases) for m in range(4)]
        hidden = sum(c["hiddenCoordinates"] for c in cases)
        coverage = sum(float(c["coverage"][0]) * c["hiddenCoordinates"] for c in cases) / hidden
        assert mean[0] < mean[2], f"{scenario['loss']}: RMSE {mean[0]:.3f} not below linear {mean[2]:.3f}"
        assert mean[0] < mean[3], f"{scenario['loss']}: RMSE {mean[0]:.3f} not below the bridge {mean[3]:.3f}"
        assert 0.85 <= coverage <= 0.95, f"{scenario['loss']}: band covers {coverage:.3f}"
        assert all(c["trustworthy"] for c in cases), scenario["loss"]
