"""Stable-Baselines3 PPO and DQN on a MicroscopeGym scenario, scored against a random policy and the best fixed setting.

Opt-in (torch is large and not a test dependency):

    swift build -c release && pip install ./python stable-baselines3 pyyaml
    python Examples/sb3/train_sb3.py --seeds 1:5 --out runs/sb3          # LiquidCell-v2, both agents, 5 seeds

The hyper-parameters come from ``hyperparams/<agent>.yml`` (rl-baselines3-zoo's layout: one entry per environment ID).
Both agents see ``MicroscopeFeatures(env)``: the ``features`` (statistics of the observed segment) and ``instrument``
(settings, dose, damage, time) keys side by side in one vector, normalised by ``VecNormalize``; the raw ``segment``
positions carry an arbitrary origin and the ``tracked`` mask is summarised in the features, so a multilayer
perceptron gets nothing from them but noise.

Scoring: the best fixed setting is chosen on selection seeds; the random policy (uniform actions, its own generator),
the best fixed setting and every trained policy then play the same held-out test seeds (paired episodes, disjoint
from every seed SB3 trains on). A run's normalised score is (policy − random) / (best fixed − random) on the test
seeds; the script prints each run's and the mean over seeds with a 95 % interval, and writes ``results.json``.
"""
import argparse
import json
import os
import time
from pathlib import Path

import gymnasium as gym
import numpy as np

import microscope_gym  # noqa: F401  (registers MicroscopeGym/<ID>)

HERE = Path(__file__).resolve().parent
KEYS = ("features", "instrument")
TEST_SEED_BASE = 3_000_000_000  # far from SB3's training seeds (seed, seed + 1, ... per copy)
SELECTION_SEED_BASE = 3_100_000_000
VALIDATION_SEED_BASE = 3_200_000_000  # --evaluate-on validation: for choosing hyper-parameters
CHECKPOINT_SEED_BASE = 3_300_000_000  # keeping the best model during training (select_every in the yml)


class MicroscopeFeatures(gym.ObservationWrapper):
    """The ``features`` and ``instrument`` keys of a MicroscopeGym observation as one float32 vector."""

    def __init__(self, env):
        super().__init__(env)
        spaces = [env.observation_space[k] for k in KEYS]
        self.observation_space = gym.spaces.Box(
            low=np.concatenate([s.low for s in spaces]).astype(np.float32),
            high=np.concatenate([s.high for s in spaces]).astype(np.float32),
            dtype=np.float32,
        )

    def observation(self, observation):
        return np.concatenate([np.asarray(observation[k], dtype=np.float32) for k in KEYS])


class BudgetsAreTerminal(gym.Wrapper):
    """Reports the end of a time or dose budget as ``terminated``.

    The registered environments mark an episode that ran out of microscope time or dose as ``truncated``, as
    Gymnasium's time limits are. But these budgets are part of the task and observed (``instrument`` holds the
    elapsed time and the cumulative dose), so nothing lies beyond them: SB3 bootstraps a truncated episode from the
    value of its last state, which gives short, low-frame-rate episodes a phantom continuation value (the project's
    own DQN converged to the lowest frame rate that way; docs/agents.md, Pardo et al., ICML 2018)."""

    def step(self, action):
        obs, reward, terminated, truncated, info = self.env.step(action)
        return obs, reward, terminated or truncated, False, info


def make(env_id: str):
    return MicroscopeFeatures(BudgetsAreTerminal(gym.make(env_id)))


def load_hyperparams(agent: str, env_id: str, folder: str) -> dict:
    """The entry for ``env_id`` of ``<folder>/<agent>.yml``, with ``policy_kwargs`` evaluated as rl-zoo does."""
    import yaml

    path = Path(folder) / f"{agent}.yml"
    table = yaml.safe_load(path.read_text())
    if env_id not in table:
        raise SystemExit(f"{path}: no entry for {env_id} (it has: {', '.join(table)})")
    params = dict(table[env_id])
    if isinstance(params.get("policy_kwargs"), str):
        params["policy_kwargs"] = eval(params["policy_kwargs"], {"dict": dict})  # rl-zoo's convention
    return params


def play(env, policy, seed: int) -> float:
    obs, _ = env.reset(seed=seed)
    total, done = 0.0, False
    while not done:
        obs, reward, terminated, truncated, _ = env.step(policy(obs))
        total += float(reward)
        done = terminated or truncated
    return total


def interval(x) -> tuple[float, float]:
    x = np.asarray(x, dtype=np.float64)
    half = 1.96 * x.std(ddof=1) / np.sqrt(len(x)) if len(x) > 1 else float("nan")
    return float(x.mean()), float(half)


def seed_list(text: str) -> list[int]:
    if ":" in text:
        first, last = (int(v) for v in text.split(":"))
        return list(range(first, last + 1))
    return [int(v) for v in text.split(",") if v.strip()]


def greedy(model, venv, normalize: bool):
    """The deterministic policy of ``model``, with ``venv``'s current observation statistics (not updated)."""

    def act(obs):
        x = np.asarray(obs, dtype=np.float32)[None]
        if normalize:
            x = venv.normalize_obs(x)
        action, _ = model.predict(x, deterministic=True)
        return int(action[0])

    return act


def keep_best_callback(env_id: str, every: int, episodes: int, normalize: bool):
    """An SB3 callback that plays ``episodes`` checkpoint-selection episodes (seeds CHECKPOINT_SEED_BASE + i, disjoint
    from the test, validation and selection seeds) with the greedy policy every ``every`` steps and keeps a copy of
    the best policy's weights and observation statistics (rl-baselines3-zoo keeps its best model the same way, with
    an ``EvalCallback``). DQN's greedy policy moves from one target-network update to the next, so the last one is a
    noisy draw; the best of several, judged on seeds of its own, is not."""
    import copy

    from stable_baselines3.common.callbacks import BaseCallback

    class KeepBest(BaseCallback):
        def __init__(self):
            super().__init__()
            self.env = make(env_id)
            self.seeds = [CHECKPOINT_SEED_BASE + i for i in range(episodes)]
            self.next_check = every
            self.best = None  # (mean return, step, weights, observation statistics)
            self.history = []

        def check(self):
            venv = self.model.get_env()
            policy = greedy(self.model, venv, normalize)
            mean = float(np.mean([play(self.env, policy, s) for s in self.seeds]))
            self.history.append((int(self.num_timesteps), mean))
            if self.best is None or mean > self.best[0]:
                rms = copy.deepcopy(venv.obs_rms) if normalize else None
                self.best = (mean, int(self.num_timesteps), copy.deepcopy(self.model.policy.state_dict()), rms)

        def _on_step(self) -> bool:
            if self.num_timesteps >= self.next_check:
                self.check()
                self.next_check += every
            return True

        def restore_best(self):
            """Checks the final model too, then loads the best weights and statistics into the model."""
            if not self.history or self.history[-1][0] != self.num_timesteps:
                self.check()
            _, _, weights, rms = self.best
            self.model.policy.load_state_dict(weights)
            if normalize:
                self.model.get_env().obs_rms = rms

    return KeepBest()


def train(agent: str, env_id: str, seed: int, params: dict, out: Path, score):
    """Trains ``agent`` and returns its greedy policy, the step count, the seconds and, with ``select_every`` in
    ``params``, what the checkpoint selection kept (with ``score(policy)``'s returns of the final model beside it)."""
    from stable_baselines3 import DQN, PPO
    from stable_baselines3.common.env_util import make_vec_env
    from stable_baselines3.common.vec_env import VecNormalize

    params = dict(params)
    steps = int(params.pop("n_timesteps"))
    n_envs = int(params.pop("n_envs", 1))
    normalize = params.pop("normalize", False)
    policy = params.pop("policy")
    select_every = int(params.pop("select_every", 0))
    select_episodes = int(params.pop("select_episodes", 10))
    venv = make_vec_env(lambda: make(env_id), n_envs=n_envs, seed=seed)
    if normalize:
        venv = VecNormalize(venv, norm_obs=True, norm_reward=False)
    cls = {"ppo": PPO, "dqn": DQN}[agent]
    model = cls(policy, venv, seed=seed, verbose=0, **params)
    keep = keep_best_callback(env_id, select_every, select_episodes, normalize) if select_every > 0 else None
    start = time.time()
    model.learn(total_timesteps=steps, progress_bar=False, callback=keep)
    seconds = time.time() - start
    selection = None
    if keep is not None:
        final_returns = score(greedy(model, venv, normalize))
        keep.restore_best()
        selection = {"kept_step": keep.best[1], "kept_mean": keep.best[0], "history": keep.history,
                     "final_model_returns": final_returns.tolist()}
    model.save(out / f"{agent}-seed{seed}.zip")
    if normalize:
        venv.training = False
        venv.save(str(out / f"{agent}-seed{seed}-vecnormalize.pkl"))
    return greedy(model, venv, normalize), steps, seconds, selection


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--env", default="MicroscopeGym/LiquidCell-v2")
    parser.add_argument("--agents", default="ppo,dqn")
    parser.add_argument("--seeds", default="1:5", help="training seeds: FIRST:LAST or a comma list")
    parser.add_argument("--timesteps", type=int, help="override n_timesteps of the hyper-parameter file")
    parser.add_argument("--selection-episodes", type=int, default=10, help="episodes per fixed setting")
    parser.add_argument("--test-episodes", type=int, default=100)
    parser.add_argument("--evaluate-on", choices=("test", "validation"), default="test",
                        help="score on the test seeds, or on validation seeds (to choose hyper-parameters)")
    parser.add_argument("--hyperparams", default=str(HERE / "hyperparams"), help="folder of <agent>.yml files")
    parser.add_argument("--out", default="runs/sb3")
    args = parser.parse_args()
    agents = [a.strip().lower() for a in args.agents.split(",") if a.strip()]
    for a in agents:
        if a not in ("ppo", "dqn"):
            raise SystemExit(f"--agents: unknown agent '{a}' (ppo, dqn)")
    seeds = seed_list(args.seeds)
    if not seeds or args.test_episodes < 2 or args.selection_episodes < 1:
        raise SystemExit("--seeds needs at least one seed, --test-episodes at least 2, --selection-episodes 1")

    import torch

    torch.set_num_threads(1)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    env = make(args.env)
    n = env.action_space.n
    settings = env.unwrapped.settings
    base = TEST_SEED_BASE if args.evaluate_on == "test" else VALIDATION_SEED_BASE
    test_seeds = [base + i for i in range(args.test_episodes)]
    selection_seeds = [SELECTION_SEED_BASE + i for i in range(args.selection_episodes)]
    results = {"env": args.env, "evaluated_on": args.evaluate_on, "seeds_scored": [test_seeds[0], test_seeds[-1]],
               "runs": {}}

    start = time.time()
    means = [np.mean([play(env, lambda _o, a=a: a, s) for s in selection_seeds]) for a in range(n)]
    best = int(np.argmax(means))
    fixed = np.array([play(env, lambda _o: best, s) for s in test_seeds])
    rng = np.random.default_rng(12345)
    random_returns = np.array([play(env, lambda _o: int(rng.integers(n)), s) for s in test_seeds])
    results["best_fixed"] = {"action": best, "dose_rate": settings[best][0], "frame_rate": settings[best][1],
                             "returns": fixed.tolist()}
    results["random"] = {"returns": random_returns.tolist()}
    gap = fixed.mean() - random_returns.mean()
    print(f"best fixed: {settings[best][0]:g} e/A^2/s at {settings[best][1]:g} frames/s, "
          "%.2f ± %.2f; random %.2f ± %.2f (%d test episodes, %.0f s)"
          % (*interval(fixed), *interval(random_returns), len(test_seeds), time.time() - start), flush=True)

    for agent in agents:
        params = load_hyperparams(agent, args.env, args.hyperparams)
        if args.timesteps:
            params["n_timesteps"] = args.timesteps
        scores = []
        for seed in seeds:
            def score_on_test_seeds(policy):
                return np.array([play(env, policy, s) for s in test_seeds])

            policy, steps, seconds, selection = train(agent, args.env, seed, params, out, score_on_test_seeds)
            returns = score_on_test_seeds(policy)
            score = (returns.mean() - random_returns.mean()) / gap
            scores.append(score)
            results["runs"][f"{agent}-seed{seed}"] = {
                "agent": agent, "seed": seed, "timesteps": steps, "train_seconds": seconds,
                "returns": returns.tolist(), "normalised_score": score,
                "minus_best_fixed": interval(returns - fixed), "checkpoint_selection": selection,
            }
            d = interval(returns - fixed)
            kept = ""
            if selection:
                final = (np.mean(selection["final_model_returns"]) - random_returns.mean()) / gap
                selection["final_model_normalised_score"] = final
                kept = f", kept step {selection['kept_step']}; the final model's score {final:.3f}"
            print(f"{agent} seed {seed}: {returns.mean():.2f}, normalised {score:.3f}, minus best fixed "
                  f"{d[0]:+.2f} ± {d[1]:.2f} (paired; {steps} steps, {seconds:.0f} s{kept})", flush=True)
        m, h = interval(scores)
        results[agent] = {"normalised_scores": scores, "mean": m, "ci95": h, "hyperparams": params}
        print(f"{agent}: normalised score {m:.3f} ± {h:.3f} over {len(scores)} seeds", flush=True)
        tmp = out / f".results.json.tmp-{os.getpid()}"
        tmp.write_text(json.dumps(results, indent=2, default=float))
        tmp.replace(out / "results.json")
    print(f"wrote {out / 'results.json'}")


if __name__ == "__main__":
    main()
