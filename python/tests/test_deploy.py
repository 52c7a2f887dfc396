"""`microscope_gym.deploy`: the controller builds the observations the environment would (so a policy acts the same
on the simulated instrument as in the environment), the safety envelope holds against a hostile policy, dry runs of
a trained DQN policy on the simulated and the replayed real test particles, and the log reads back."""
import json
import math
import subprocess

import numpy as np
import pytest

import microscope_gym
from microscope_gym import InvalidArgumentError, Policy
from microscope_gym.deploy import (
    Controller, ReplayInstrument, SafetyEnvelope, SimulatedInstrument, read_log, read_trajectories, real_test_particles,
)

ENV = "LiquidCell-v2"
OPEN = SafetyEnvelope(max_dose_rate=None, dose_budget=None, max_dose_rate_increase=None, max_lost_segments=None)


@pytest.fixture(scope="module")
def dqn_policy(tmp_path_factory, gym_runner):
    run = tmp_path_factory.mktemp("deploy") / "dqn"
    result = subprocess.run(
        [str(gym_runner), "train", "--agent", "dqn", "--env", ENV, "--steps", "600", "--eval-every", "600",
         "--eval-episodes", "1", "--test-episodes", "1", "--sweep-episodes", "0", "--learning-starts", "64",
         "--out", str(run)], capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-2000:]
    return run / "policy.h5"


class Recording:
    """A policy that remembers the observations it was shown."""

    def __init__(self, policy):
        self.policy, self.seen = policy, []

    def act(self, observation):
        self.seen.append({k: np.array(v) for k, v in observation.items()})
        return self.policy.act(observation)


class Hostile:
    """Asks for the highest dose rate of the grid at the lowest frame rate, every step."""

    def __init__(self, env):
        best = max(env.settings, key=lambda s: (s[0], -s[1]))
        self.action = env.settings.index(best)

    def act(self, observation):
        return self.action


def test_the_controller_sees_what_the_environment_shows(dqn_policy):
    env = microscope_gym.MicroscopeEnv(ENV)
    policy = Policy.load(dqn_policy, env)
    agent = Recording(policy)
    instrument = SimulatedInstrument(ENV, seed=5)
    decisions = Controller(agent, instrument, env, envelope=OPEN).run(max_steps=40)
    # The same episode in the environment itself: same seed, the same default search setting.
    twin = microscope_gym.MicroscopeEnv(ENV)
    observation, info = twin.reset(seed=5)
    for k, seen in enumerate(agent.seen):
        np.testing.assert_array_equal(seen["features"], observation["features"], err_msg=f"features, step {k}")
        np.testing.assert_array_equal(seen["instrument"], observation["instrument"], err_msg=f"instrument, step {k}")
        assert decisions[k].modelled_damage == info["damage"], f"step {k}"
        action = policy.act(observation)
        assert decisions[k + 1].action == action
        observation, _, terminated, truncated, info = twin.step(action)
        if terminated or truncated:
            break
    assert len(agent.seen) >= 2
    assert decisions[-1].stopped == "the instrument ended the acquisition (episode ended)" or len(decisions) == 41
    policy.close()


@pytest.mark.parametrize("kind", ["simulated", "replay"])
def test_a_hostile_policy_never_leaves_the_envelope(kind, repository, tmp_path):
    env = microscope_gym.MicroscopeEnv(ENV)
    envelope = SafetyEnvelope(max_dose_rate=10, dose_budget=3000, max_dose_rate_increase=2, max_lost_segments=None)
    if kind == "simulated":
        instrument = SimulatedInstrument(ENV, seed=3)
    else:
        particles = real_test_particles(repository / "data" / "aunr_lptem_300.h5",
                                   repository / "data" / "aunr_lptem_300-split.json")
        instrument = ReplayInstrument(particles, env, seed=3)
    log = tmp_path / "log.jsonl"
    decisions = Controller(Hostile(env), instrument, env, envelope=envelope, log=log).run(max_steps=200)
    applied = [d for d in decisions if d.applied_dose_rate is not None]
    assert len(applied) >= 3
    for before, after in zip(applied, applied[1:]):
        assert after.applied_dose_rate <= 10 + 1e-9
        assert after.applied_dose_rate <= 2 * before.applied_dose_rate * (1 + 1e-12)
        assert after.cumulative_dose <= 3000 * (1 + 1e-9)
    clamped = [d for d in decisions if d.clamped and d.applied_dose_rate is not None]
    assert clamped and all(d.requested_dose_rate > d.applied_dose_rate for d in clamped)
    assert any("above the maximum" in r for d in clamped for r in d.clamped)
    assert any("rises more than" in r for d in clamped for r in d.clamped)
    assert decisions[-1].stopped is not None
    # The log re-reads into the decisions made.
    assert read_log(log) == decisions
    lines = log.read_text().splitlines()
    assert len(lines) == len(decisions) and all(json.loads(l)["step"] == i for i, l in enumerate(lines))


def test_the_dose_budget_stops_the_run(tmp_path):
    env = microscope_gym.MicroscopeEnv(ENV)
    envelope = SafetyEnvelope(max_dose_rate=100, dose_budget=500, max_dose_rate_increase=None, max_lost_segments=None)
    decisions = Controller(Hostile(env), SimulatedInstrument(ENV, seed=9), env, envelope=envelope).run(max_steps=100)
    assert decisions[-1].stopped.startswith(("dose budget", "the instrument ended", "the instrument's dose rate"))
    assert all(d.cumulative_dose <= 500 * (1 + 1e-9) for d in decisions if d.cumulative_dose is not None)


def test_repeated_tracking_loss_stops_the_run():
    env = microscope_gym.MicroscopeEnv(ENV)

    class Blind(SimulatedInstrument):
        def acquire(self, frames):
            segment = super().acquire(frames)
            segment.tracked[:] = False
            return segment

    envelope = SafetyEnvelope(max_lost_segments=2, min_tracked_fraction=0.5)
    decisions = Controller(Hostile(env), Blind(ENV, seed=2), env, envelope=envelope).run(max_steps=50)
    assert "tracking lost in 2 consecutive segments" in decisions[-1].stopped
    assert len(decisions) <= 3


def test_dry_runs_of_a_trained_policy(dqn_policy, repository, tmp_path):
    env = microscope_gym.MicroscopeEnv(ENV)
    policy = Policy.load(dqn_policy, env)
    particles = real_test_particles(repository / "data" / "aunr_lptem_300.h5",
                               repository / "data" / "aunr_lptem_300-split.json")
    assert particles.shape == (45, 300, 2)
    envelope = SafetyEnvelope(max_dose_rate=50, dose_budget=20_000)
    for episode in range(20):
        for instrument in (SimulatedInstrument(ENV, seed=100 + episode),
                           ReplayInstrument(np.roll(particles, -episode, axis=0), env, seed=episode)):
            log = tmp_path / f"{type(instrument).__name__}-{episode}.jsonl"
            decisions = Controller(policy, instrument, env, envelope=envelope, log=log).run(max_steps=30)
            assert read_log(log) == decisions
            assert decisions[0].action is None and len(decisions) >= 2
            assert all(d.applied_dose_rate <= 50 for d in decisions if d.applied_dose_rate is not None)
            assert all(math.isfinite(d.modelled_damage) for d in decisions if d.modelled_damage is not None)
    policy.close()


def test_replay_follows_the_recording_and_the_camera_model(repository):
    env = microscope_gym.MicroscopeEnv(ENV)
    path = np.cumsum(np.ones((1, 2000, 2), dtype=np.float32), axis=1)  # a straight line, 1 nm per frame on each axis
    bright = ReplayInstrument(path, env, seed=1)
    bright.set_dose_rate(100)
    bright.set_frame_rate(12.5)  # every second recorded frame
    segment = bright.acquire(200)
    tracked = segment.positions[segment.tracked]
    assert segment.tracked.mean() > 0.9
    steps = np.diff(segment.positions[:, 0])
    assert abs(np.nanmedian(steps) - 2) < 0.5
    dim = ReplayInstrument(path, env, seed=1)
    dim.set_dose_rate(0.01)
    assert dim.acquire(200).tracked.mean() < bright.acquire(200).tracked.mean()
    assert bright.cumulative_dose() == pytest.approx(2 * 100 * 200 / 12.5)
    assert np.isnan(segment.positions[~segment.tracked]).all() and len(tracked) > 0
    # Exhausted recordings end the acquisition.
    short = ReplayInstrument(path[:, :250], env, seed=1)
    assert not short.acquire(200).ended
    assert short.acquire(200).ended


def test_bad_inputs_are_refused_by_name(tmp_path):
    env = microscope_gym.MicroscopeEnv(ENV)
    with pytest.raises(ValueError, match="max_dose_rate"):
        SafetyEnvelope(max_dose_rate=-1)
    with pytest.raises(ValueError, match="max_dose_rate_increase"):
        SafetyEnvelope(max_dose_rate_increase=0.5)
    with pytest.raises(ValueError, match="N×T×2"):
        ReplayInstrument(np.zeros((3, 4)), env, seed=1)
    with pytest.raises(ValueError, match="non-finite"):
        ReplayInstrument(np.full((1, 10, 2), np.nan), env, seed=1)
    with pytest.raises(InvalidArgumentError, match="missing.h5: file not found"):
        read_trajectories(tmp_path / "missing.h5")
    controller = Controller(Hostile(env), SimulatedInstrument(ENV, seed=1), env)
    from microscope_gym.deploy import Segment
    with pytest.raises(InvalidArgumentError, match="both be finite or both NaN"):
        bad = np.zeros((200, 2), dtype=np.float32)
        bad[3, 0] = np.inf
        controller.observation(Segment(bad, np.ones(200, dtype=bool)), 10, 25, 0, 0, 0)
