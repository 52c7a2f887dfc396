"""Between the frames on real particles the model never saw: `gym-runner fill validate` on a fixed small subset of the
test particles, through the release binary. For random and burst losses of 30 % and subsampling by 4 (issue 32's bar)
the posterior mean must beat linear interpolation and the Brownian bridge (whose mean is the linear interpolation), the
90 % band must cover 85–95 % of the hidden true positions, and the chains must mix (at most one case in six flagged).
On these 12 particles the margins are small (−0.13, −0.07, −0.06 nm; docs/between-frames.md has the 45-particle
table with intervals: only bursts are not significant there).

Run by scripts/test.sh (pytest Tests/CLI); GYM_RUNNER overrides the binary (default .build/release/gym-runner).
"""
import json
import os
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
GYM = os.environ.get("GYM_RUNNER", str(ROOT / ".build" / "release" / "gym-runner"))
METHODS = ["latent Monte Carlo", "random walk + noise smoother", "linear interpolation", "Brownian bridge",
           "fBm + noise (no decoder)"]


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
        mean = [sum(c["rmse"][m] for c in cases) / len(cases) for m in range(len(METHODS))]
        hidden = sum(c["hiddenCoordinates"] for c in cases)
        coverage = sum(float(c["coverage"][0]) * c["hiddenCoordinates"] for c in cases) / hidden
        assert mean[0] < mean[2], f"{scenario['loss']}: RMSE {mean[0]:.3f} not below linear {mean[2]:.3f}"
        assert mean[0] < mean[3], f"{scenario['loss']}: RMSE {mean[0]:.3f} not below the bridge {mean[3]:.3f}"
        assert 0.85 <= coverage <= 0.95, f"{scenario['loss']}: band covers {coverage:.3f}"
        flagged = sum(not c["trustworthy"] for c in cases)
        assert flagged <= 2, f"{scenario['loss']}: {flagged} of 12 cases flagged untrustworthy"
        # An untrustworthy case is one whose effective sample size is below the threshold: the flag is not decoration.
        assert all(c["trustworthy"] == (c["effectiveSampleSize"] >= 30 and c["acceptanceRate"] >= 0.05)
                   for c in cases)
