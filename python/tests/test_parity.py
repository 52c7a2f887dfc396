"""Same seed, same actions: the Python package gives the Swift environment's observations and rewards bit for bit
(the Swift side is `gym-runner trace`, which steps `HoldLostFrames(LiquidCell)` directly, not through the C ABI).
Episodes last 5 to 40 steps, so the 50 steps cross episode ends: reset() without a seed continues the generator."""
import json
import subprocess

import numpy as np
import pytest

import microscope_gym

STEPS = 50


def actions(n: int) -> list[int]:
    return [(7 * i + 3) % n for i in range(STEPS)]


@pytest.mark.parametrize("env_id,seed", [("LiquidCell-v0", 11), ("LiquidCell-v2", 2**63 + 5)])
def test_fifty_steps_bit_for_bit(env_id, seed, gym_runner, tmp_path):
    env = microscope_gym.MicroscopeEnv(env_id)
    chosen = actions(env.action_space.n)
    out = tmp_path / "trace.json"
    subprocess.run(
        [str(gym_runner), "trace", "--env", env_id, "--seed", str(seed), "--actions", ",".join(map(str, chosen)),
         "--out", str(out)],
        check=True, capture_output=True, timeout=600,
    )
    trace = json.loads(out.read_text())
    assert len(trace["steps"]) == STEPS
    assert sum("next_reset" in step for step in trace["steps"]) >= 1, "the actions should cross an episode end"

    def same(python_obs, swift_obs):
        for key, value in swift_obs.items():
            expected = np.asarray(value, dtype=np.float64).astype(np.float32)
            got = python_obs[key].reshape(-1)
            assert got.dtype == np.float32
            assert np.array_equal(got.view(np.uint32), expected.view(np.uint32)), key

    obs, info = env.reset(seed=seed)
    same(obs, trace["reset"]["observation"])
    for key, value in trace["reset"]["info"].items():
        assert info[key] == value, key
    for a, step in zip(chosen, trace["steps"]):
        obs, reward, terminated, truncated, info = env.step(a)
        same(obs, step["observation"])
        assert reward == step["reward"]  # exact float64
        assert (terminated, truncated) == (step["terminated"], step["truncated"])
        for key, value in step["info"].items():
            assert info[key] == value, key
        if terminated or truncated:
            obs, info = env.reset()
            same(obs, step["next_reset"]["observation"])
            assert info == step["next_reset"]["info"]
    env.close()
