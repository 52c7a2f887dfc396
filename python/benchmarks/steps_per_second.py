"""Environment steps per second through the Python package against the same figure of the Swift package.

Runs the protocol of `gym-runner perf bench --env ID` (random actions, reset(seed=1), auto-reset, SECONDS of stepping)
in Python and in Swift, alternating ROUNDS times, and prints the medians and their ratio.

    python python/benchmarks/steps_per_second.py [--env LiquidCell-v0] [--seconds 5] [--rounds 3]
"""
import argparse
import os
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

import microscope_gym

ROOT = Path(__file__).resolve().parents[2]


def python_rate(env_id: str, seconds: float) -> float:
    env = microscope_gym.MicroscopeEnv(env_id)
    rng = np.random.default_rng(7)
    env.reset(seed=1)
    steps, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        _, _, terminated, truncated, _ = env.step(int(rng.integers(env.action_space.n)))
        steps += 1
        if terminated or truncated:
            env.reset()
    rate = steps / (time.perf_counter() - start)
    env.close()
    return rate


def swift_rate(gym_runner: str, env_id: str, seconds: float) -> float:
    out = subprocess.run(
        [gym_runner, "bench", "--env", env_id, "--seconds", str(seconds), "--vector", "1"],
        check=True, capture_output=True, text=True,
    ).stdout
    match = re.search(r"single environment: ([0-9.]+) steps/s", out)
    if not match:
        sys.exit(f"cannot read the steps/s of gym-runner perf bench from: {out!r}")
    return float(match.group(1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--env", default="LiquidCell-v0")
    parser.add_argument("--seconds", type=float, default=5)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--gym-runner", default=os.environ.get("GYM_RUNNER", str(ROOT / ".build/release/gym-runner")))
    args = parser.parse_args()
    py, sw = [], []
    for r in range(args.rounds):
        py.append(python_rate(args.env, args.seconds))
        sw.append(swift_rate(args.gym_runner, args.env, args.seconds))
        print(f"round {r + 1}/{args.rounds}: Python {py[-1]:.1f} steps/s, Swift {sw[-1]:.1f} steps/s", flush=True)
    p, s = statistics.median(py), statistics.median(sw)
    print(f"{args.env} one environment, median of {args.rounds}: Python {p:.1f} steps/s, Swift {s:.1f} steps/s, "
          f"Python/Swift {100 * p / s:.1f} %")


if __name__ == "__main__":
    main()
