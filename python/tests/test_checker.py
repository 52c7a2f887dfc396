"""Gymnasium's own checker passes for every registered environment, with its warnings turned into errors."""
import warnings

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

import microscope_gym

IDS = microscope_gym.registered_ids()


def test_every_spec_is_registered(repository):
    files = sorted(p.stem for p in (repository / "Environments").glob("*.json"))
    assert IDS == files
    for env_id in IDS:
        assert f"MicroscopeGym/{env_id}" in gym.registry


@pytest.mark.parametrize("env_id", IDS)
def test_check_env(env_id):
    env = gym.make(f"MicroscopeGym/{env_id}").unwrapped  # as the README's command (the spec gives render checks)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        check_env(env)
    env.close()


def test_spaces_and_observations():
    env = gym.make("MicroscopeGym/LiquidCell-v2")
    space = env.observation_space
    assert set(space.spaces) == {"features", "instrument", "segment", "tracked"}
    assert space["segment"].shape == (200, 2) and space["tracked"].shape == (200,)
    assert all(box.dtype == np.float32 and np.all(np.isfinite(box.low)) for box in space.spaces.values())
    assert env.action_space == gym.spaces.Discrete(28)
    first, info = env.reset(seed=5)
    second, _, _, _, _ = env.step(3)
    assert all(first[k] is not second[k] and not np.shares_memory(first[k], second[k]) for k in first)
    assert space.contains(first) and space.contains(second)
    # Lost frames hold the last tracked position; tracked marks detections.
    t = second["tracked"]
    assert set(np.unique(t)) <= {0.0, 1.0}
    assert set(info) == set(env.unwrapped.info_keys)
    # Action a = dose index × frame rates + frame index (LiquidCell-v2: 7 dose rates × 4 frame rates).
    assert env.unwrapped.settings[0] == (1.0, 3.125) and env.unwrapped.settings[27] == (100.0, 25.0)
    env.close()
    env.close()  # idempotent
