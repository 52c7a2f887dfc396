#!/usr/bin/env python3
"""Paired comparison of training runs that share their test seeds.

usage: python3 scripts/paired-runs.py BASE_RUN OTHER_RUN [BASE_RUN OTHER_RUN ...]

Each argument is a `gym-runner train` run folder. Runs trained with the same --seed and --test-episodes are tested on
the same episode seeds (1,000,000 + i), so their per-episode returns (summary.json: AGENT.returns, the policy selected
on the validation seeds; AGENT_final.returns, the last one) pair up. Prints, per pair, each run's mean return, its
paired difference from the best fixed setting and OTHER - BASE, each with a 95 % Student-t interval, then the
difference of the per-seed means over the pairs (a t interval over seeds). Standard library only.
"""

import json
import math
import sys
from pathlib import Path
from statistics import NormalDist


# Two-sided 95 % Student-t quantiles t(0.975, dof) for dof = 1 ... 30 (standard tables); above 30 the Cornish-Fisher
# expansion about the normal quantile is accurate to 1e-4.
T975 = [12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.160, 2.145, 2.131,
        2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042]


def t975(dof: int) -> float:
    """The 0.975 quantile of Student's t with dof degrees of freedom."""
    if dof <= 0:
        raise ValueError("need at least two values for an interval")
    if dof <= len(T975):
        return T975[dof - 1]
    z, v = NormalDist().inv_cdf(0.975), float(dof)
    return (z + (z**3 + z) / (4 * v) + (5 * z**5 + 16 * z**3 + 3 * z) / (96 * v**2)
            + (3 * z**7 + 19 * z**5 + 17 * z**3 - 15 * z) / (384 * v**3))


def interval(values):
    n = len(values)
    mean = sum(values) / n
    sd = math.sqrt(sum((x - mean) ** 2 for x in values) / (n - 1))
    return mean, t975(n - 1) * sd / math.sqrt(n)


def load(run: str):
    path = Path(run) / "summary.json"
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError) as error:
        sys.exit(f"paired-runs: cannot read {path}: {error}")


def main(argv):
    if len(argv) < 2 or len(argv) % 2:
        sys.exit("usage: paired-runs.py BASE_RUN OTHER_RUN [BASE_RUN OTHER_RUN ...]")
    seed_differences = []
    for base_run, other_run in zip(argv[0::2], argv[1::2]):
        base, other = load(base_run), load(other_run)
        if base["test_seeds"] != other["test_seeds"] or base["agent"] != other["agent"]:
            sys.exit(f"paired-runs: {base_run} and {other_run} are not paired; train the same --agent with the "
                     "same --seed and --test-episodes")
        fixed = base["best_fixed"]["returns"]
        print(f"{base_run} vs {other_run} ({len(fixed)} test episodes, best fixed "
              f"{base['best_fixed_setting']['dose_rate']:g} e/Å²/s at {base['best_fixed_setting']['frame_rate']:g} "
              f"frames/s: {sum(fixed) / len(fixed):.2f})")
        agent = base["agent"]
        for key in (agent, f"{agent}_final"):
            b, o = base[key]["returns"], other[key]["returns"]
            parts = []
            for name, r in (("base", b), ("other", o)):
                m, h = interval([x - y for x, y in zip(r, fixed)])
                parts.append(f"{name} {sum(r) / len(r):6.2f} (− fixed {m:+.2f} ± {h:.2f})")
            d = interval([x - y for x, y in zip(o, b)])
            print(f"  {key:9s} {'  '.join(parts)}  other − base {d[0]:+.2f} ± {d[1]:.2f}")
            if key == agent:
                seed_differences.append(sum(o) / len(o) - sum(b) / len(b))
    if len(seed_differences) > 1:
        m, h = interval(seed_differences)
        print(f"over {len(seed_differences)} pairs of runs: other − base {m:+.2f} ± {h:.2f} (t interval over seeds)")


if __name__ == "__main__":
    main(sys.argv[1:])
