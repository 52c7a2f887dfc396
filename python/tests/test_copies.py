"""Copies with meaning: `copy.deepcopy`, `copy.copy`, `pickle` and `cloudpickle` give an independent environment that
continues exactly as the original would, in this process or another; `clone_state`/`restore_state` rewind."""
import copy
import pickle

import cloudpickle
import gymnasium as gym
import numpy as np
import pytest

import microscope_gym
from microscope_gym import InvalidArgumentError

from conftest import run_python

IDS = microscope_gym.registered_ids()


def rollout(env, actions):
    """Steps through `actions` (resetting without a seed when an episode ends): every output, exactly."""
    out = []
    for a in actions:
        obs, reward, terminated, truncated, info = env.step(a)
        out.append(({k: v.tobytes() for k, v in obs.items()}, reward, terminated, truncated, info))
        if terminated or truncated:
            obs, info = env.reset()
            out.append(({k: v.tobytes() for k, v in obs.items()}, info))
    return out


def actions_for(env, n=8, seed=0):
    return [int(a) for a in np.random.default_rng(seed).integers(0, env.action_space.n, n)]


@pytest.mark.parametrize("env_id", IDS)
def test_every_scenario_deepcopies_and_pickles_exactly(env_id):
    env = gym.make(f"MicroscopeGym/{env_id}")
    env.reset(seed=5)
    rollout(env, actions_for(env, 3, seed=1))
    copies = [
        copy.deepcopy(env), pickle.loads(pickle.dumps(env)), cloudpickle.loads(cloudpickle.dumps(env)),
        copy.copy(env.unwrapped),
    ]
    actions = actions_for(env, 10, seed=2)
    expected = rollout(env, actions)
    for c in copies:
        assert c.unwrapped._handle != env.unwrapped._handle
        assert rollout(c, actions) == expected
        c.close()
    env.close()


def test_a_collected_copy_leaves_the_original_alive():
    e = microscope_gym.MicroscopeEnv("LiquidCell-v0")
    e.reset(seed=1)
    d = copy.deepcopy(e)
    del d
    e.step(3)  # used to raise "unknown or closed environment handle": the copy had closed the shared handle
    e.close()


def test_copies_are_independent():
    e = microscope_gym.MicroscopeEnv("LiquidCell-v2")
    e.reset(seed=3)
    d = copy.deepcopy(e)
    e.step(0)
    e.step(27)
    # The copy has not seen the original's steps: it continues from the state at the copy.
    fresh = microscope_gym.MicroscopeEnv("LiquidCell-v2")
    fresh.reset(seed=3)
    assert rollout(d, [5, 6]) == rollout(fresh, [5, 6])
    for x in (e, d, fresh):
        x.close()


def test_python_seeding_state_travels_with_the_copy():
    e = microscope_gym.MicroscopeEnv("LiquidCell-v2")
    e.reset()  # first reset without a seed draws the Swift seed from np_random
    d = pickle.loads(pickle.dumps(e))
    assert e.np_random.integers(0, 2**62) == d.np_random.integers(0, 2**62)
    e.close()
    d.close()


def test_clone_and_restore_state_rewind():
    e = microscope_gym.MicroscopeEnv("MixedSample-v0")
    e.reset(seed=8)
    state = e.clone_state()
    assert isinstance(state, bytes)
    first = rollout(e, [1, 9, 20])
    e.restore_state(state)
    assert rollout(e, [1, 9, 20]) == first
    other = microscope_gym.MicroscopeEnv("LiquidCell-v2")
    with pytest.raises(InvalidArgumentError, match="another environment spec"):
        other.restore_state(state)
    with pytest.raises(InvalidArgumentError, match="format tag"):
        e.restore_state(b"\0" * 64)
    with pytest.raises(InvalidArgumentError):
        e.restore_state(state[:-8])
    with pytest.raises(TypeError, match="bytes"):
        e.restore_state("not bytes")
    vector = microscope_gym.MicroscopeVectorEnv(2, "MixedSample-v0")
    with pytest.raises(InvalidArgumentError, match="copies"):
        vector.restore_state(state)
    for x in (e, other, vector):
        x.close()


def test_closed_environments_refuse_to_copy():
    e = microscope_gym.MicroscopeEnv("LiquidCell-v0")
    e.close()
    with pytest.raises(TypeError, match="closed"):
        copy.deepcopy(e)
    with pytest.raises(TypeError, match="closed"):
        pickle.dumps(e)


def test_vector_deepcopy_and_pickle_continue_exactly():
    envs = gym.make_vec("MicroscopeGym/LiquidCell-v2", num_envs=3)
    envs.reset(seed=4)
    envs.step([1, 2, 3])
    copies = [copy.deepcopy(envs), pickle.loads(pickle.dumps(envs))]
    actions = [[5, 6, 7], [27, 27, 27], [0, 13, 26]] * 3
    expected = [envs.step(a) for a in actions]
    for c in copies:
        for a, (o, r, t, tr, _) in zip(actions, expected):
            o2, r2, t2, tr2, _ = c.step(a)
            assert all(np.array_equal(o[k], o2[k]) for k in o)
            assert np.array_equal(r, r2) and np.array_equal(t, t2) and np.array_equal(tr, tr2)
        c.close()
    envs.close()


def test_a_pickled_environment_continues_in_another_process(tmp_path):
    """The unpickled environment drives its own new handle, with vector environments open in that process (which
    used to crash it: the handle number pointed at the vector)."""
    e = microscope_gym.MicroscopeEnv("MixedSensitivity-v0")
    e.reset(seed=12)
    e.step(4)
    (tmp_path / "env.pkl").write_bytes(pickle.dumps(e))
    expected = rollout(e, [3, 8, 15, 22])
    (tmp_path / "expected.pkl").write_bytes(pickle.dumps(expected))
    code = f"""
import pickle, sys
sys.path.insert(0, {str(tmp_path)!r})
import microscope_gym
sys.path.insert(0, {str(__import__('pathlib').Path(__file__).parent)!r})
from test_copies import rollout
opened = [microscope_gym.MicroscopeVectorEnv(8, "LiquidCell-v2"), microscope_gym.MicroscopeVectorEnv(2, "LiquidCell-v2")]
for v in opened:
    v.reset(seed=1)
env = pickle.loads(open({str(tmp_path / 'env.pkl')!r}, 'rb').read())
expected = pickle.loads(open({str(tmp_path / 'expected.pkl')!r}, 'rb').read())
assert rollout(env, [3, 8, 15, 22]) == expected
for v in opened:
    v.step([0] * v.num_envs)
print("same")
"""
    result = run_python(code)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip().endswith("same")
    e.close()
