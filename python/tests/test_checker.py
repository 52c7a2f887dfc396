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


@pytest.mark.parametrize("env_id", ["MixedSample-v0", "MixedSensitivity-v0"])
def test_check_env_with_filled_frames(env_id):
    """The FillLostFrames observations (fill_lost_frames=True) pass Gymnasium's checker too."""
    env = gym.make(f"MicroscopeGym/{env_id}", fill_lost_frames=True).unwrapped
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        check_env(env)
    env.close()


def test_filled_frames_agree_with_held_ones_where_tracked():
    """Same seed and actions: tracked frames, features, instrument and rewards are the held environment's; tracked
    frames share one uncertainty (the noise estimate √r), lost frames have positive ones; the belief is finite."""
    held = microscope_gym.MicroscopeEnv("MixedSample-v0")
    filled = microscope_gym.MicroscopeEnv("MixedSample-v0", fill_lost_frames=True)
    assert set(filled.observation_space.spaces) == {
        "belief", "features", "instrument", "segment", "tracked", "uncertainty"}
    assert filled.observation_space["belief"].shape == (29,)
    held.reset(seed=3)
    filled.reset(seed=3)
    lost = 0
    for _ in range(4):
        a, ra, *_ = held.step(0)  # 1 e⁻/Å²/s at 3.125 frames/s: low contrast particles lose frames
        b, rb, *_ = filled.step(0)
        assert ra == rb
        for k in ("features", "instrument", "tracked"):
            np.testing.assert_array_equal(a[k], b[k])
        t = a["tracked"] == 1
        np.testing.assert_array_equal(a["segment"][t], b["segment"][t])
        assert np.all(np.isfinite(b["belief"])) and filled.observation_space.contains(b)
        if t.sum() >= 5 and (~t).any():
            lost += int((~t).sum())
            assert np.all(b["uncertainty"][t] == b["uncertainty"][t][0]) and b["uncertainty"][t][0] > 0
            assert np.all(b["uncertainty"][~t] > 0) and np.all(b["uncertainty"][~t] < 1e3)
    assert lost > 0, "1 e⁻/Å²/s at 3.125 frames/s should lose frames"
    held.close()
    filled.close()
    with pytest.raises(TypeError, match="fill_lost_frames"):
        microscope_gym.MicroscopeEnv("MixedSample-v0", fill_lost_frames="yes")
