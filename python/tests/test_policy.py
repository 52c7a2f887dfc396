"""`Policy.load` + `act` through the C library: for a policy of every agent that saves one, the actions and rewards
of Python episodes equal gym-runner's on the same observations (`gym-runner trace --policy`), and bad inputs are
refused by name."""
import json
import subprocess

import numpy as np
import pytest

import microscope_gym
from microscope_gym import InvalidArgumentError, Policy, SpecError

AGENTS = ["dqn", "ppo", "cem", "bandit", "fixed", "heuristic", "random"]
SCENARIOS = ["LiquidCell-v2", "MixedSample-v0"]


@pytest.fixture(scope="module")
def policies(tmp_path_factory, gym_runner):
    """A short training run of every agent on LiquidCell-v2 (its policy.h5 fits every scenario of the grid)."""
    root = tmp_path_factory.mktemp("policies")
    out = {}
    for agent in AGENTS:
        run = root / agent
        result = subprocess.run(
            [str(gym_runner), "train", "--agent", agent, "--env", "LiquidCell-v2", "--steps", "300", "--eval-every",
             "300", "--eval-episodes", "1", "--test-episodes", "1", "--sweep-episodes", "0", "--learning-starts", "64",
             "--rollout-steps", "64", "--out", str(run)],
            capture_output=True, text=True, timeout=600,
        )
        assert result.returncode == 0, result.stderr[-2000:]
        out[agent] = run / "policy.h5"
    return out


@pytest.mark.parametrize("env_id", SCENARIOS)
@pytest.mark.parametrize("agent", AGENTS)
def test_actions_equal_gym_runners(agent, env_id, policies, gym_runner, tmp_path):
    steps, seed = 30, 17
    trace = tmp_path / "trace.json"
    result = subprocess.run(
        [str(gym_runner), "trace", "--env", env_id, "--seed", str(seed), "--policy", str(policies[agent]), "--steps",
         str(steps), "--out", str(trace)],
        capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stderr
    swift = json.loads(trace.read_text())["steps"]
    env = microscope_gym.MicroscopeEnv(env_id)
    policy = Policy.load(policies[agent], env)
    assert policy.name == agent
    observation, _ = env.reset(seed=seed)
    for k in range(steps):
        action = policy.act(observation)
        assert action == swift[k]["action"], f"step {k}"
        observation, reward, terminated, truncated, _ = env.step(action)
        assert reward == swift[k]["reward"], f"step {k}"
        if terminated or truncated:
            observation, _ = env.reset()
    policy.close()
    env.close()


def test_bad_policies_and_observations_are_refused(policies, tmp_path):
    env = microscope_gym.MicroscopeEnv("LiquidCell-v2")
    with pytest.raises(SpecError, match="missing.h5"):
        Policy.load(tmp_path / "missing.h5", env)
    junk = tmp_path / "junk.h5"
    junk.write_bytes(b"not hdf5")
    with pytest.raises(SpecError, match="junk.h5"):
        Policy.load(junk, env)
    with pytest.raises(TypeError, match="MicroscopeEnv"):
        Policy.load(policies["dqn"], object())
    policy = Policy.load(policies["dqn"], "LiquidCell-v2")  # an ID works too
    observation, _ = env.reset(seed=1)
    with pytest.raises(ValueError, match="instrument"):
        policy.act({"features": observation["features"]})
    with pytest.raises(ValueError, match="reads 17 values"):
        policy.act({"features": observation["features"][:3], "instrument": observation["instrument"]})
    broken = dict(observation, features=np.full(12, np.nan, dtype=np.float32))
    with pytest.raises(InvalidArgumentError, match="NaN"):
        policy.act(broken)
    with pytest.raises(TypeError):
        policy.act([1, 2, 3])
    with pytest.raises(TypeError, match="load it again"):
        __import__("pickle").dumps(policy)
    policy.close()
    with pytest.raises(InvalidArgumentError, match="closed"):
        policy.act(observation)
    policy.close()
    env.close()


@pytest.mark.parametrize("agent", ["dqn", "heuristic"])
def test_a_python_recording_is_gym_runners_byte_for_byte(agent, policies, gym_runner, tmp_path):
    """The same policy on the same seeds: `env.save_recording` writes the file `gym-runner evaluate --record` does."""
    seeds = [1_000_000, 1_000_001]
    swift = tmp_path / "swift.h5"
    result = subprocess.run(
        [str(gym_runner), "evaluate", "--policy", str(policies[agent]), "--env", "MixedSample-v0", "--episodes", "2",
         "--seed", str(seeds[0]), "--record", str(swift)],
        capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stderr
    env = microscope_gym.MicroscopeEnv("MixedSample-v0")
    policy = Policy.load(policies[agent], env)
    with pytest.raises(InvalidArgumentError, match="mg_record_start"):
        env.save_recording(tmp_path / "nothing.h5")
    env.start_recording(agent=policy.name)
    for seed in seeds:
        observation, _ = env.reset(seed=seed)
        while True:
            observation, _, terminated, truncated, _ = env.step(policy.act(observation))
            if terminated or truncated:
                break
    python = tmp_path / "python.h5"
    env.save_recording(python)
    assert python.read_bytes() == swift.read_bytes()
    vector = microscope_gym.MicroscopeVectorEnv(2, "MixedSample-v0")
    with pytest.raises(InvalidArgumentError, match="single environment"):
        _native_record_start(vector)
    for x in (policy, env, vector):
        x.close()


def _native_record_start(vector):
    microscope_gym._native.check(microscope_gym._native.lib().mg_record_start(vector._handle, b"x"))


def test_a_belief_policy_acts_as_gym_runners_on_filled_frames(gym_runner, tmp_path):
    """A DQN trained with --belief reads features, instrument and belief: on an environment made with
    fill_lost_frames=True its actions are gym-runner trace's, step for step; a plain environment is refused."""
    run = tmp_path / "belief"
    result = subprocess.run(
        [str(gym_runner), "train", "--agent", "dqn", "--env", "MixedSample-v0", "--belief", "--steps", "300",
         "--eval-every", "300", "--eval-episodes", "1", "--test-episodes", "1", "--sweep-episodes", "0",
         "--learning-starts", "64", "--out", str(run)],
        capture_output=True, text=True, timeout=600,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert json.loads((run / "config.json").read_text())["observation_keys"] == ["features", "instrument", "belief"]
    steps, seed = 20, 5
    trace = tmp_path / "trace.json"
    result = subprocess.run(
        [str(gym_runner), "trace", "--env", "MixedSample-v0", "--seed", str(seed), "--policy", str(run / "policy.h5"),
         "--steps", str(steps), "--out", str(trace)],
        capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stderr
    swift = json.loads(trace.read_text())["steps"]
    env = microscope_gym.MicroscopeEnv("MixedSample-v0", fill_lost_frames=True)
    policy = Policy.load(run / "policy.h5", env)
    assert policy.keys == ("features", "instrument", "belief")
    observation, _ = env.reset(seed=seed)
    for k in range(steps):
        action = policy.act(observation)
        assert action == swift[k]["action"], f"step {k}"
        observation, reward, terminated, truncated, _ = env.step(action)
        assert reward == swift[k]["reward"], f"step {k}"
        np.testing.assert_array_equal(observation["belief"], np.float32(swift[k]["observation"]["belief"]))
        if terminated or truncated:
            break
    policy.close()
    env.close()
    plain = microscope_gym.MicroscopeEnv("MixedSample-v0")
    with pytest.raises(microscope_gym.SpecError, match="fill_lost_frames"):
        Policy.load(run / "policy.h5", plain)
    plain.close()
