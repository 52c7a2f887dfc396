"""The native vector environment: gym.make_vec gives it, copy i behaves as a single environment seeded s + i
(batched decoding rounds differently, so to float tolerance), and same-step autoreset follows Gymnasium."""
import gymnasium as gym
import numpy as np
import pytest
from gymnasium.vector import AutoresetMode

import microscope_gym


def test_make_vec_is_native_and_matches_single_environments():
    envs = gym.make_vec("MicroscopeGym/LiquidCell-v2", num_envs=3)
    assert isinstance(envs.unwrapped, microscope_gym.MicroscopeVectorEnv)
    assert envs.metadata["autoreset_mode"] == AutoresetMode.SAME_STEP
    assert envs.action_space == gym.spaces.MultiDiscrete([28, 28, 28])
    obs, infos = envs.reset(seed=20)
    assert obs["segment"].shape == (3, 200, 2) and obs["segment"].dtype == np.float32
    assert envs.observation_space.contains(obs)
    singles = [microscope_gym.MicroscopeEnv("LiquidCell-v2") for _ in range(3)]
    for i, env in enumerate(singles):
        o, info = env.reset(seed=20 + i)
        for k in o:
            np.testing.assert_array_equal(obs[k][i], o[k])  # reset decodes each copy alone: exact
        assert infos["damage"][i] == info["damage"] and infos["_damage"][i]
    actions = np.array([2, 13, 27])
    vobs, rewards, terminated, truncated, _ = envs.step(actions)
    for i, env in enumerate(singles):
        o, r, term, trunc, _ = env.step(int(actions[i]))
        np.testing.assert_allclose(vobs["segment"][i], o["segment"], rtol=1e-4, atol=1e-3)
        assert rewards[i] == pytest.approx(r, rel=1e-4, abs=1e-6)
        assert (terminated[i], truncated[i]) == (term, trunc)
    envs.close()
    envs.close()


def test_same_step_autoreset_reports_final_observation():
    envs = microscope_gym.MicroscopeVectorEnv(num_envs=2, env_id="LiquidCell-v0")
    envs.reset(seed=4)
    harshest = envs.unwrapped.settings.index((100.0, 25.0))  # highest dose rate: the specimen is destroyed soon
    for _ in range(40):
        obs, _, terminated, truncated, infos = envs.step(np.array([harshest, 0]))
        if terminated[0] or truncated[0]:
            break
    else:
        pytest.fail("the highest dose rate should end copy 0's episode within 40 steps")
    assert terminated[0] and infos["_final_obs"][0] and not infos["_final_obs"][1]
    final = infos["final_obs"][0]
    assert final["instrument"][3] >= 0.95 - 1e-6  # damage at the end
    assert infos["final_info"]["damage"][0] >= 0.95 and infos["final_info"]["_damage"][0]
    # The row of copy 0 is already the next episode: no damage yet beyond the search segment.
    assert obs["instrument"][0][3] < 0.95 and infos["damage"][0] < 0.95
    assert infos["final_obs"][1] is None


def test_vector_seed_lists_and_errors():
    envs = microscope_gym.MicroscopeVectorEnv(num_envs=2, env_id="LiquidCell-v0")
    a, _ = envs.reset(seed=[7, 8])
    b, _ = envs.reset(seed=7)
    np.testing.assert_array_equal(a["segment"], b["segment"])
    with pytest.raises(ValueError, match="consecutive"):
        envs.reset(seed=[7, 9])
    with pytest.raises(ValueError, match="not supported"):
        envs.reset(seed=1, options={"dose_rate": 5.0})
    with pytest.raises(ValueError, match="shape"):
        envs.step(np.array([1, 2, 3]))
    with pytest.raises(microscope_gym.EnvironmentStateError, match="not in Discrete"):
        envs.step(np.array([0, 99]))
    with pytest.raises(ValueError, match="num_envs"):
        microscope_gym.MicroscopeVectorEnv(num_envs=0, env_id="LiquidCell-v0")
