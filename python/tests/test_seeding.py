"""Gymnasium's seeding rules: reset(seed=s) restarts the generator, reset() continues it, an unseeded first reset
draws its seed from np_random (so gym.make(...).reset(seed=None) differs between fresh environments)."""
import numpy as np

import microscope_gym


def flat(obs):
    return np.concatenate([obs[k].reshape(-1) for k in sorted(obs)])


def test_same_seed_same_episode_and_reset_continues():
    a = microscope_gym.MicroscopeEnv("LiquidCell-v2")
    b = microscope_gym.MicroscopeEnv("LiquidCell-v2")
    oa, _ = a.reset(seed=3)
    ob, _ = b.reset(seed=3)
    assert np.array_equal(flat(oa), flat(ob))
    assert np.array_equal(flat(a.step(5)[0]), flat(b.step(5)[0]))
    # reset() without a seed continues the generator: a new episode, the same in both.
    na, _ = a.reset()
    nb, _ = b.reset()
    assert np.array_equal(flat(na), flat(nb))
    assert not np.array_equal(flat(na), flat(oa))
    # Seeding again restarts.
    assert np.array_equal(flat(a.reset(seed=3)[0]), flat(oa))


def test_unseeded_first_reset_uses_np_random():
    a = microscope_gym.MicroscopeEnv("LiquidCell-v0")
    b = microscope_gym.MicroscopeEnv("LiquidCell-v0")
    oa, _ = a.reset()
    ob, _ = b.reset()
    assert not np.array_equal(flat(oa), flat(ob))


def test_reset_options_set_the_search_segment():
    env = microscope_gym.MicroscopeEnv("LiquidCell-v0")
    _, info = env.reset(seed=1, options={"dose_rate": 20.0, "frame_rate": 12.5})
    assert info["dose_rate"] == 20.0 and info["frame_rate"] == 12.5
