"""Stable-Baselines3 PPO and DQN on MicroscopeGym/LiquidCell-v0, against the best fixed setting.

Opt-in (torch is large and not a test dependency):

    swift build -c release --product MicroscopeGymC && pip install ./python stable-baselines3
    python Examples/sb3/train_sb3.py --timesteps 20000 --out runs/sb3

Both agents use ``MultiInputPolicy`` on the dictionary observation restricted to ``features`` and ``instrument``
(the raw positions of ``segment`` carry an arbitrary origin; the Swift DQN sees the same two keys), normalised by
``VecNormalize``. The best fixed setting is chosen on selection seeds; every policy is then scored on the same
held-out test seeds (paired episodes), and the script prints mean returns with 95 % confidence intervals.
"""
import argparse
import json
import os
import time
from pathlib import Path

import gymnasium as gym
import numpy as np
from gymnasium.wrappers import FilterObservation

import microscope_gym  # noqa: F401  (registers MicroscopeGym/<ID>)

KEYS = ["features", "instrument"]


def make(env_id: str):
    return FilterObservation(gym.make(env_id), KEYS)


def episode_return(env, policy, seed: int) -> float:
    obs, _ = env.reset(seed=seed)
    total, done = 0.0, False
    while not done:
        obs, reward, terminated, truncated, _ = env.step(policy(obs))
        total += reward
        done = terminated or truncated
    return total


def summary(returns) -> dict:
    x = np.asarray(returns, dtype=np.float64)
    half = 1.96 * x.std(ddof=1) / np.sqrt(len(x)) if len(x) > 1 else float("nan")
    return {"mean": float(x.mean()), "ci95": float(half), "n": int(len(x)), "returns": x.tolist()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--env", default="MicroscopeGym/LiquidCell-v0")
    parser.add_argument("--timesteps", type=int, default=20000, help="training steps per agent")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--selection-episodes", type=int, default=5, help="episodes per fixed setting to pick the best")
    parser.add_argument("--test-episodes", type=int, default=20)
    parser.add_argument("--agents", default="ppo,dqn")
    parser.add_argument("--out", default="runs/sb3")
    args = parser.parse_args()

    import torch
    from stable_baselines3 import DQN, PPO
    from stable_baselines3.common.env_util import make_vec_env
    from stable_baselines3.common.vec_env import VecNormalize

    torch.set_num_threads(1)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    env = make(args.env)
    n = env.action_space.n
    settings = env.unwrapped.settings
    test_seeds = [100_000 + i for i in range(args.test_episodes)]
    selection_seeds = [200_000 + i for i in range(args.selection_episodes)]
    results = {"env": args.env, "timesteps": args.timesteps, "seed": args.seed, "test_seeds": test_seeds}

    # Best fixed setting, chosen on the selection seeds, scored on the test seeds.
    start = time.time()
    means = [np.mean([episode_return(env, lambda _o, a=a: a, s) for s in selection_seeds]) for a in range(n)]
    best = int(np.argmax(means))
    results["best_fixed"] = {"action": best, "dose_rate": settings[best][0], "frame_rate": settings[best][1],
                             **summary([episode_return(env, lambda _o: best, s) for s in test_seeds])}
    print(f"best fixed: {settings[best][0]:g} e/A^2/s at {settings[best][1]:g} frames/s "
          f"({time.time() - start:.0f} s)", flush=True)

    for name in [a.strip().lower() for a in args.agents.split(",") if a.strip()]:
        start = time.time()
        venv = VecNormalize(make_vec_env(lambda: make(args.env), n_envs=1, seed=args.seed), norm_reward=False)
        if name == "ppo":
            model = PPO("MultiInputPolicy", venv, seed=args.seed, n_steps=512, batch_size=64, verbose=0)
        elif name == "dqn":
            model = DQN("MultiInputPolicy", venv, seed=args.seed, learning_starts=1000, buffer_size=20000,
                        exploration_fraction=0.3, target_update_interval=500, verbose=0)
        else:
            raise SystemExit(f"--agents: unknown agent '{name}' (ppo, dqn)")
        model.learn(total_timesteps=args.timesteps, progress_bar=False)
        venv.training = False
        model.save(out / f"{name}.zip")
        venv.save(str(out / f"{name}-vecnormalize.pkl"))

        def policy(obs, model=model, venv=venv):
            batch = {k: np.asarray(v)[None] for k, v in obs.items()}
            action, _ = model.predict(venv.normalize_obs(batch), deterministic=True)
            return int(action[0])

        results[name] = {"train_seconds": time.time() - start,
                         **summary([episode_return(env, policy, s) for s in test_seeds])}
        r = results[name]
        print(f"{name}: {r['mean']:.2f} ± {r['ci95']:.2f} over {r['n']} test episodes "
              f"({r['train_seconds']:.0f} s)", flush=True)

    b = results["best_fixed"]
    print(f"best fixed: {b['mean']:.2f} ± {b['ci95']:.2f}")
    for name in ("ppo", "dqn"):
        if name in results:
            diff = np.asarray(results[name]["returns"]) - np.asarray(b["returns"])
            results[name]["paired_difference"] = summary(diff)
            print(f"{name} − best fixed (paired): {diff.mean():.2f} ± {1.96 * diff.std(ddof=1) / np.sqrt(len(diff)):.2f}")
    tmp = out / f".results.json.tmp-{os.getpid()}"
    tmp.write_text(json.dumps(results, indent=2))
    tmp.replace(out / "results.json")
    print(f"wrote {out / 'results.json'}")


if __name__ == "__main__":
    main()
