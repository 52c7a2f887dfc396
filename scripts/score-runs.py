#!/usr/bin/env python3
"""Normalised scores of `gym-runner train` run folders, grouped by a label: a hyper-parameter comparison table.

    python3 scripts/score-runs.py RUN_FOLDER... [--label-regex '^([A-Z])-']

Each folder's summary.json gives the score (agent - random) / (best fixed - random) of its selected policy on the
seeds of its final evaluation (test seeds, or tuning seeds with `train --evaluate-on tuning`; the table says which).
Folders are grouped by the first group of --label-regex matched against the folder's name (default: the whole name
up to the environment ID). Per label: the score per environment (mean over seeds, seeds in brackets) and the
interquartile mean over all runs with a 95 % stratified bootstrap interval (2,000 resamples, runs resampled within
each environment; Agarwal et al., NeurIPS 2021). Standard library only.
"""
import argparse
import json
import os
import random
import re
import sys


def iqm(xs):
    xs = sorted(xs)
    n = len(xs)
    if n == 0:
        return float("nan")
    # Mean of the middle half, with fractional weights at the quartiles (as rliable's trimmed mean for n not a multiple of 4).
    lo, hi = 0.25 * n, 0.75 * n
    total, weight = 0.0, 0.0
    for i, x in enumerate(xs):
        w = max(0.0, min(i + 1, hi) - max(i, lo))
        total += w * x
        weight += w
    return total / weight


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("folders", nargs="+")
    p.add_argument("--label-regex", default=None, help="regex whose first group is a run's label")
    p.add_argument("--seed", type=int, default=0, help="seed of the bootstrap")
    a = p.parse_args()
    rows = {}
    seeds_kind = set()
    for folder in a.folders:
        path = os.path.join(folder, "summary.json")
        if not os.path.exists(path):
            print(f"score-runs: {folder}: no summary.json yet (a run in progress?): left out", file=sys.stderr)
            continue
        try:
            with open(path) as f:
                s = json.load(f)
        except (OSError, json.JSONDecodeError) as e:
            sys.exit(f"score-runs: {path}: {e}")
        agent = s["agent"]
        mean = lambda k: s[k]["episodeReturn"]["mean"]
        gap = mean("best_fixed") - mean("random")
        if gap <= 0:
            sys.exit(f"score-runs: {path}: the best fixed setting does not beat random; no normalised score")
        score = (mean(agent) - mean("random")) / gap
        name = os.path.basename(os.path.normpath(folder))
        env = s["environment"]
        if a.label_regex:
            m = re.search(a.label_regex, name)
            if not m:
                sys.exit(f"score-runs: {name} does not match --label-regex")
            label = m.group(1)
        else:
            label = name.split("-" + env)[0]
        seeds_kind.add("tuning" if s["test_seeds"] and s["test_seeds"][0] >= 4_000_000 else "test")
        rows.setdefault(label, {}).setdefault(env, []).append((s["seed"], score, len(s["test_seeds"])))
    envs = sorted({e for r in rows.values() for e in r})
    print(f"normalised score (agent - random) / (best fixed - random) on the {'/'.join(sorted(seeds_kind))} seeds")
    print()
    print("| label | " + " | ".join(envs) + " | IQM [95 % CI] | runs |")
    print("|---|" + "---:|" * (len(envs) + 2))
    rng = random.Random(a.seed)
    for label in sorted(rows):
        cells = []
        for e in envs:
            runs = sorted(rows[label].get(e, []))
            if not runs:
                cells.append("–")
                continue
            m = sum(r[1] for r in runs) / len(runs)
            cells.append(f"{m:.2f} ({', '.join(f'{r[1]:.2f}' for r in runs)})")
        strata = [[r[1] for r in rows[label][e]] for e in envs if e in rows[label]]
        all_scores = [x for st in strata for x in st]
        boots = []
        for _ in range(2000):
            sample = [x for st in strata for x in (rng.choice(st) for _ in st)]
            boots.append(iqm(sample))
        boots.sort()
        lo, hi = boots[int(0.025 * len(boots))], boots[int(0.975 * len(boots)) - 1]
        print(f"| {label} | " + " | ".join(cells) + f" | {iqm(all_scores):.2f} [{lo:.2f}, {hi:.2f}] | {len(all_scores)} |")


if __name__ == "__main__":
    main()
