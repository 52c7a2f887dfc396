"""Closed-loop control of a microscope by a trained policy, inside a safety envelope the policy cannot bypass.

The pieces (docs/python.md, "Deployment"):

- `Instrument`: what an adapter for a real microscope implements: set the dose rate and the frame rate, acquire a
  segment (positions in nm and a tracked mask), read the cumulative dose. No vendor code lives here.
- `SafetyEnvelope`: limits checked before every setting reaches the instrument: the highest dose rate, a
  cumulative dose budget, the largest increase of the dose rate per step, and a stop after repeated tracking loss.
  It clamps (and says why) or stops (and says why).
- `Controller`: runs a `Policy` closed-loop at the instrument's cadence. It builds the observation the policy was
  trained on from the measured segment and readings, through the same Swift code the environment uses
  (``mg_observe``), with the damage of the spec's nominal particle modelled from the dose history (the instrument
  cannot measure damage). Every decision is one JSON line of the log; `read_log` reads them back.
- `SimulatedInstrument`: a MicroscopeGym environment behind the protocol (dry runs, tests).
- `ReplayInstrument`: recorded real trajectories played back at the requested frame rate, with frames lost and
  localisation noise at the requested dose by the spec's camera model.
"""
from __future__ import annotations

import ctypes
import dataclasses
import json
import math
import os
from dataclasses import dataclass, field
from typing import IO, Optional, Protocol, Sequence, Union

import numpy as np

from . import _native
from .env import MicroscopeEnv
from .policy import Policy


@dataclass
class Segment:
    """One acquisition: ``positions`` frames×2 (nm; NaN where the particle was not tracked) and ``tracked``."""

    positions: np.ndarray
    tracked: np.ndarray
    #: The instrument can acquire no more (the simulated specimen ended its episode, the recording ran out).
    ended: bool = False
    #: What the instrument wants logged with the segment (e.g. which recorded particle it came from).
    note: str = ""


class Instrument(Protocol):
    """What a microscope adapter implements. Settings are continuous; an instrument that has only some values takes
    the nearest one that does not exceed a requested dose rate, and reports what it applied."""

    def set_dose_rate(self, rate: float) -> float:
        """Sets the dose rate (e⁻/Å²/s); returns the rate applied."""

    def set_frame_rate(self, rate: float) -> float:
        """Sets the frame rate (frames/s); returns the rate applied."""

    def acquire(self, frames: int) -> Segment:
        """Records `frames` frames at the current settings."""

    def cumulative_dose(self) -> float:
        """The dose delivered so far (e⁻/Å²), as the instrument measures it."""


@dataclass
class SafetyEnvelope:
    """Limits that no policy decision passes. ``None`` switches a limit off."""

    #: Highest dose rate (e⁻/Å²/s) ever applied.
    max_dose_rate: Optional[float] = 50.0
    #: Cumulative dose (e⁻/Å²) not to exceed: a segment that would cross it gets a lower dose rate, or the run stops.
    dose_budget: Optional[float] = None
    #: Largest factor by which the dose rate may rise from one segment to the next (decreases are always allowed).
    max_dose_rate_increase: Optional[float] = 4.0
    #: Stop after this many consecutive segments tracked in less than `min_tracked_fraction` of their frames.
    max_lost_segments: Optional[int] = 3
    min_tracked_fraction: float = 0.2

    def __post_init__(self):
        for name in ("max_dose_rate", "dose_budget", "max_dose_rate_increase"):
            value = getattr(self, name)
            if value is not None and not (math.isfinite(value) and value > 0):
                raise ValueError(f"SafetyEnvelope.{name} must be positive and finite (or None), got {value}")
        if self.max_dose_rate_increase is not None and self.max_dose_rate_increase < 1:
            raise ValueError("SafetyEnvelope.max_dose_rate_increase is a factor ≥ 1")
        if self.max_lost_segments is not None and self.max_lost_segments < 1:
            raise ValueError("SafetyEnvelope.max_lost_segments must be ≥ 1 (or None)")
        if not 0 <= self.min_tracked_fraction <= 1:
            raise ValueError("SafetyEnvelope.min_tracked_fraction lies in [0, 1]")

    def apply(self, dose_rate: float, frame_rate: float, *, previous_dose_rate: Optional[float],
              cumulative_dose: float, frames: int, lost_segments: int) -> tuple[float, list[str], Optional[str]]:
        """The dose rate allowed for a requested one, the reasons it was lowered, and a reason to stop (or None)."""
        reasons: list[str] = []
        if self.max_lost_segments is not None and lost_segments >= self.max_lost_segments:
            return dose_rate, reasons, (f"tracking lost in {lost_segments} consecutive segments "
                                        f"(< {self.min_tracked_fraction:.0%} of frames tracked)")
        allowed = dose_rate
        if self.max_dose_rate is not None and allowed > self.max_dose_rate:
            allowed = self.max_dose_rate
            reasons.append(f"dose rate {dose_rate:g} above the maximum {self.max_dose_rate:g}")
        if (self.max_dose_rate_increase is not None and previous_dose_rate is not None
                and allowed > previous_dose_rate * self.max_dose_rate_increase):
            allowed = previous_dose_rate * self.max_dose_rate_increase
            reasons.append(f"dose rate rises more than ×{self.max_dose_rate_increase:g} in one step")
        if self.dose_budget is not None:
            remaining = self.dose_budget - cumulative_dose
            duration = frames / frame_rate
            if remaining <= 0:
                return allowed, reasons, f"dose budget {self.dose_budget:g} e⁻/Å² spent"
            if allowed * duration > remaining:
                allowed = remaining / duration
                reasons.append(f"the segment would cross the dose budget {self.dose_budget:g} e⁻/Å²")
        return allowed, reasons, None


@dataclass
class Decision:
    """One line of a controller's log."""

    step: int
    #: The policy's action (None for the search segment the run starts with).
    action: Optional[int]
    requested_dose_rate: float
    requested_frame_rate: float
    applied_dose_rate: Optional[float] = None
    applied_frame_rate: Optional[float] = None
    clamped: list[str] = field(default_factory=list)
    stopped: Optional[str] = None
    tracked_fraction: Optional[float] = None
    cumulative_dose: Optional[float] = None
    modelled_damage: Optional[float] = None
    elapsed_time: Optional[float] = None
    note: str = ""


@dataclass
class NominalCamera:
    """The spec's camera and damage laws for its nominal particle at one setting, over `duration` seconds."""

    electrons_per_frame: float
    localization_precision_nm: float
    tracking_probability: float
    effective_dose: float

    @staticmethod
    def of(env: MicroscopeEnv, dose_rate: float, frame_rate: float, duration: float) -> "NominalCamera":
        out = [ctypes.c_double() for _ in range(4)]
        _native.check(_native.lib().mg_nominal_camera(
            env._require_open(), dose_rate, frame_rate, duration, *(ctypes.byref(v) for v in out)))
        return NominalCamera(*(v.value for v in out))


def read_log(path: Union[str, os.PathLike]) -> list[Decision]:
    """The decisions of a controller log (JSON lines), in order."""
    with open(path, encoding="utf-8") as f:
        return [Decision(**json.loads(line)) for line in f if line.strip()]


class Controller:
    """Runs `policy` on `instrument` for the environment `env` (its spec: segment length, settings grid, camera and
    damage laws), within `envelope`, writing every decision to `log` (a path or a text file)."""

    def __init__(self, policy: Policy, instrument: Instrument, env: Union[str, MicroscopeEnv],
                 envelope: Optional[SafetyEnvelope] = None, log: Union[str, os.PathLike, IO[str], None] = None):
        self.policy = policy
        self.instrument = instrument
        self.env = MicroscopeEnv(env) if isinstance(env, str) else getattr(env, "unwrapped", env)
        if not isinstance(self.env, MicroscopeEnv):
            raise TypeError(f"env must be a MicroscopeEnv or an environment ID, got {type(env).__name__}")
        self.envelope = envelope or SafetyEnvelope()
        self.frames = int(self.env.layout.shapes[self.env.layout.keys.index("segment")][0])
        self._log_target = log
        self.decisions: list[Decision] = []

    # -- the model of what the instrument cannot measure -------------------------------------------------------
    def _damage(self, effective_dose: float) -> float:
        d = ctypes.c_double()
        _native.check(_native.lib().mg_nominal_damage(self.env._require_open(), effective_dose, ctypes.byref(d)))
        return d.value

    def observation(self, segment: Segment, dose_rate: float, frame_rate: float, cumulative_dose: float,
                    damage: float, elapsed_time: float) -> dict[str, np.ndarray]:
        """The observation the policy reads (``features``, ``instrument``) for a measured segment and readings."""
        positions = np.array(segment.positions, dtype=np.float32, copy=True).reshape(self.frames, 2)
        positions[~np.asarray(segment.tracked, dtype=bool)] = np.nan
        features = np.zeros(len(self.env.observation_space["features"].low), dtype=np.float32)
        instrument = np.zeros(len(self.env.observation_space["instrument"].low), dtype=np.float32)
        f32 = ctypes.POINTER(ctypes.c_float)
        _native.check(_native.lib().mg_observe(
            self.env._require_open(), positions.ctypes.data_as(f32), self.frames, dose_rate, frame_rate,
            cumulative_dose, damage, elapsed_time, features.ctypes.data_as(f32), instrument.ctypes.data_as(f32)))
        return {"features": features, "instrument": instrument}

    # -- the loop --------------------------------------------------------------------------------------------
    def run(self, max_steps: int, search_setting: Optional[tuple[float, float]] = None) -> list[Decision]:
        """Acquires the search segment (default: the grid's lowest dose rate at its highest frame rate, as the
        environment's reset), then up to `max_steps` policy decisions; stops early when the envelope or the
        instrument says so. Returns the decisions (also in `self.decisions` and the log)."""
        if max_steps < 0:
            raise ValueError("max_steps must be ≥ 0")
        settings = self.env.settings
        d0, f0 = search_setting or (min(d for d, _ in settings), max(f for _, f in settings))
        log = open(self._log_target, "w", encoding="utf-8") if isinstance(self._log_target, (str, os.PathLike)) \
            else self._log_target
        self.decisions = []
        effective, elapsed, lost, previous = 0.0, 0.0, 0, None
        try:
            request, action = (d0, f0), None
            for step in range(max_steps + 1):
                d_req, f_req = request
                decision = Decision(step=step, action=action, requested_dose_rate=d_req, requested_frame_rate=f_req)
                cumulative = float(self.instrument.cumulative_dose())
                # The frame rate first: the segment lasts frames / (the frame rate the instrument applied), and the
                # envelope checks the budget with that duration. A frame rate alone delivers no dose.
                f = float(self.instrument.set_frame_rate(f_req))
                allowed, decision.clamped, decision.stopped = self.envelope.apply(
                    d_req, f, previous_dose_rate=previous, cumulative_dose=cumulative, frames=self.frames,
                    lost_segments=lost)
                if decision.stopped is None:
                    d = float(self.instrument.set_dose_rate(allowed))
                    if d > allowed * (1 + 1e-9):
                        # The instrument cannot go as low as allowed: nothing is acquired at a setting above it.
                        decision.applied_frame_rate = f
                        decision.stopped = (f"the instrument's dose rate {d:g} is above the {allowed:g} e⁻/Å²/s "
                                            "the envelope allows")
                if decision.stopped is None:
                    segment = self.instrument.acquire(self.frames)
                    duration = self.frames / f
                    effective += NominalCamera.of(self.env, d, f, duration).effective_dose
                    elapsed += duration
                    cumulative = float(self.instrument.cumulative_dose())
                    damage = self._damage(effective)
                    tracked = float(np.mean(np.asarray(segment.tracked, dtype=bool)))
                    lost = lost + 1 if tracked < self.envelope.min_tracked_fraction else 0
                    previous = d
                    decision.applied_dose_rate, decision.applied_frame_rate = d, f
                    decision.tracked_fraction, decision.cumulative_dose = tracked, cumulative
                    decision.modelled_damage, decision.elapsed_time, decision.note = damage, elapsed, segment.note
                    if segment.ended:
                        decision.stopped = "the instrument ended the acquisition" + (
                            f" ({segment.note})" if segment.note else "")
                self.decisions.append(decision)
                if log is not None:
                    log.write(json.dumps(dataclasses.asdict(decision)) + "\n")
                    log.flush()
                if decision.stopped is not None or step == max_steps:
                    break
                observation = self.observation(segment, d, f, cumulative, damage, elapsed)
                action = self.policy.act(observation)
                request = settings[action]
        finally:
            if log is not None and log is not self._log_target:
                log.close()
        return self.decisions


class SimulatedInstrument:
    """A MicroscopeGym environment behind the `Instrument` protocol. Its settings are the environment's grid: a
    requested dose rate takes the highest grid value not above it (the lowest when all are), a frame rate the
    nearest grid value. The first acquisition is the environment's reset (the search segment), seeded by `seed`."""

    def __init__(self, env: Union[str, MicroscopeEnv], seed: int):
        self.env = MicroscopeEnv(env) if isinstance(env, str) else getattr(env, "unwrapped", env)
        self.seed = seed
        self.dose_rates = sorted({d for d, _ in self.env.settings})
        self.frame_rates = sorted({f for _, f in self.env.settings})
        self.dose_rate, self.frame_rate = self.dose_rates[0], self.frame_rates[-1]
        self._started, self._ended, self._cumulative = False, False, 0.0
        #: The environment's own info of the last acquisition (true damage and reward: for judging a dry run only).
        self.last_info: dict[str, float] = {}
        self.last_reward = 0.0

    def set_dose_rate(self, rate: float) -> float:
        below = [d for d in self.dose_rates if d <= rate * (1 + 1e-12)]
        self.dose_rate = below[-1] if below else self.dose_rates[0]
        return self.dose_rate

    def set_frame_rate(self, rate: float) -> float:
        self.frame_rate = min(self.frame_rates, key=lambda f: abs(math.log(f / rate)))
        return self.frame_rate

    def acquire(self, frames: int) -> Segment:
        if self._ended:
            raise _native.EnvironmentStateError("the simulated acquisition has ended")
        if not self._started:
            obs, info = self.env.reset(seed=self.seed, options={"dose_rate": self.dose_rate,
                                                                "frame_rate": self.frame_rate})
            self._started, done, self.last_reward = True, False, 0.0
        else:
            action = self.env.settings.index((self.dose_rate, self.frame_rate))
            obs, self.last_reward, terminated, truncated, info = self.env.step(action)
            done = terminated or truncated
        if obs["segment"].shape[0] != frames:
            raise ValueError(f"the environment records {obs['segment'].shape[0]} frames per segment, not {frames}")
        self.last_info, self._cumulative, self._ended = info, info["cumulative_dose"], done
        return Segment(obs["segment"].copy(), obs["tracked"] > 0.5, ended=done,
                       note="episode ended" if done else "")

    def cumulative_dose(self) -> float:
        return self._cumulative


def read_trajectories(path: Union[str, os.PathLike]) -> np.ndarray:
    """A trajectory file of the project's HDF5 layout as an N×T×2 float32 array (through the C library: no h5py)."""
    count, frames = ctypes.c_int64(), ctypes.c_int64()
    encoded = os.fsencode(os.fspath(path))
    _native.check(_native.lib().mg_read_trajectories(encoded, None, 0, ctypes.byref(count), ctypes.byref(frames)))
    out = np.empty((count.value, frames.value, 2), dtype=np.float32)
    _native.check(_native.lib().mg_read_trajectories(
        encoded, out.ctypes.data_as(ctypes.POINTER(ctypes.c_float)), out.size, ctypes.byref(count),
        ctypes.byref(frames)))
    return out


def real_test_particles(data: Union[str, os.PathLike], split: Union[str, os.PathLike]) -> np.ndarray:
    """The test particles of a split (``data/aunr_lptem_300.h5`` with ``data/aunr_lptem_300-split.json``)."""
    with open(split, encoding="utf-8") as f:
        indices = json.load(f)["test"]
    return read_trajectories(data)[indices]


class ReplayInstrument:
    """Recorded trajectories (N×T×2, nm) played back as an instrument would film them.

    The recordings are taken as filmed at `recorded_frame_rate` (default: the environment's highest frame rate, its
    decoder's frame rate; the shipped real data do not record their frame interval). A frame rate f keeps every
    round(recorded / f)-th recorded position; each frame is tracked with the spec's nominal probability at the
    requested dose and frame rate, and tracked positions get the spec's localisation noise at that setting on top of
    the recording's own. Trajectories are played one after another, each continuing where the previous ended (the
    shipped recordings hold 300 frames, fewer than two segments), and the note of each segment names the
    recordings it used; the acquisition ends when they are exhausted. The dose is the requested rate times the time.
    """

    def __init__(self, trajectories: np.ndarray, env: Union[str, MicroscopeEnv], seed: int,
                 recorded_frame_rate: Optional[float] = None):
        data = np.asarray(trajectories, dtype=np.float64)
        if data.ndim != 3 or data.shape[2] != 2 or data.shape[0] < 1 or data.shape[1] < 2:
            raise ValueError(f"trajectories must be N×T×2 with N ≥ 1 and T ≥ 2, got shape {data.shape}")
        if not np.all(np.isfinite(data)):
            raise ValueError("trajectories hold non-finite positions")
        self.env = MicroscopeEnv(env) if isinstance(env, str) else getattr(env, "unwrapped", env)
        self.recorded_frame_rate = recorded_frame_rate or max(f for _, f in self.env.settings)
        # One continuous path: each recording shifted to start where the previous ended.
        pieces, labels, end = [], [], np.zeros(2)
        for i, t in enumerate(data):
            shifted = t - t[0] + end
            pieces.append(shifted if i == 0 else shifted[1:])
            labels += [i] * len(pieces[-1])
            end = shifted[-1]
        self.path = np.concatenate(pieces)
        self.source = np.array(labels)
        self.cursor = 0
        self.rng = np.random.default_rng(seed)
        self.dose_rate = min(d for d, _ in self.env.settings)
        self.frame_rate = max(f for _, f in self.env.settings)
        self._dose = 0.0

    def set_dose_rate(self, rate: float) -> float:
        self.dose_rate = float(rate)
        return self.dose_rate

    def set_frame_rate(self, rate: float) -> float:
        self.frame_rate = float(min(rate, self.recorded_frame_rate))
        return self.frame_rate

    def acquire(self, frames: int) -> Segment:
        stride = max(1, round(self.recorded_frame_rate / self.frame_rate))
        needed = (frames - 1) * stride + 1
        if self.cursor + needed > len(self.path):
            return Segment(np.full((frames, 2), np.nan, dtype=np.float32), np.zeros(frames, dtype=bool), ended=True,
                           note="the recordings are exhausted")
        picked = np.arange(self.cursor, self.cursor + needed, stride)
        self.cursor += needed
        duration = frames / self.frame_rate
        camera = NominalCamera.of(self.env, self.dose_rate, self.frame_rate, duration)
        tracked = self.rng.random(frames) < camera.tracking_probability
        noise = camera.localization_precision_nm * self.rng.standard_normal((frames, 2))
        positions = (self.path[picked] + noise).astype(np.float32)
        positions[~tracked] = np.nan
        self._dose += self.dose_rate * duration
        used = sorted(set(self.source[picked].tolist()))
        return Segment(positions, tracked, note="recordings " + ",".join(map(str, used)))

    def cumulative_dose(self) -> float:
        return self._dose
