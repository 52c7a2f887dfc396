"""`MicroscopeEnv`: one liquid-cell microscope environment as a `gymnasium.Env`."""
from __future__ import annotations

import ctypes
import math
import os
import numbers
import operator
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Optional

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from . import _native

SEED_LIMIT = 2**64


@dataclass(frozen=True)
class Layout:
    """What a handle looks like: observation keys (sorted), their shapes and bounds, actions, info keys."""

    env_id: str
    description: str
    keys: tuple[str, ...]
    shapes: tuple[tuple[int, ...], ...]
    observation_space: spaces.Dict
    actions: int
    settings: tuple[tuple[float, float], ...]
    info_keys: tuple[str, ...]

    @staticmethod
    def of(handle: int) -> "Layout":
        lib = _native.lib()
        copies, nkeys, nactions, ninfo, frames = (ctypes.c_int64() for _ in range(5))
        _native.check(
            lib.mg_sizes(handle, *(ctypes.byref(v) for v in (copies, nkeys, nactions, ninfo, frames)))
        )
        keys, shapes, boxes = [], [], {}
        for k in range(nkeys.value):
            name = ctypes.create_string_buffer(256)
            shape = (ctypes.c_int64 * 4)()
            rank = ctypes.c_int64()
            _native.check(lib.mg_observation_key(handle, k, name, 256, shape, ctypes.byref(rank), None, None))
            dims = tuple(int(shape[i]) for i in range(rank.value))
            low = np.empty(dims, dtype=np.float32)
            high = np.empty(dims, dtype=np.float32)
            _native.check(
                lib.mg_observation_key(
                    handle, k, name, 256, shape, ctypes.byref(rank), _ptr(low), _ptr(high)
                )
            )
            key = name.value.decode()
            keys.append(key)
            shapes.append(dims)
            boxes[key] = spaces.Box(low=low, high=high, shape=dims, dtype=np.float32)
        info_keys = tuple(_native.text(lib.mg_info_key, handle, i, capacity=256) for i in range(ninfo.value))
        settings = []
        for a in range(nactions.value):
            d, f = ctypes.c_double(), ctypes.c_double()
            _native.check(lib.mg_action_setting(handle, a, ctypes.byref(d), ctypes.byref(f)))
            settings.append((d.value, f.value))
        env_id, _, description = _native.text(lib.mg_describe, handle).partition("\n")
        return Layout(
            env_id, description, tuple(keys), tuple(shapes), spaces.Dict(boxes), nactions.value, tuple(settings),
            info_keys,
        )

    def observation_buffers(self, copies: Optional[int] = None) -> dict[str, np.ndarray]:
        """New, uninitialised float32 arrays for one observation (or `copies` of them)."""
        lead = () if copies is None else (copies,)
        return {k: np.empty(lead + s, dtype=np.float32) for k, s in zip(self.keys, self.shapes)}

    def pointers(self, buffers: dict[str, np.ndarray]):
        array = (ctypes.POINTER(ctypes.c_float) * len(self.keys))()
        for i, k in enumerate(self.keys):
            array[i] = _ptr(buffers[k])
        return array


def _ptr(array: np.ndarray):
    assert array.flags.c_contiguous
    return array.ctypes.data_as(ctypes.POINTER(ctypes.c_float))


def _f64(array: np.ndarray):
    return array.ctypes.data_as(ctypes.POINTER(ctypes.c_double))


def _u8(array: np.ndarray):
    return array.ctypes.data_as(ctypes.POINTER(ctypes.c_uint8))


def check_seed(seed: Any) -> int:
    """A reset seed as the Swift library takes it (an integer, not a bool, 0 ≤ seed < 2⁶⁴), or ValueError."""
    if isinstance(seed, (bool, np.bool_)):
        raise ValueError(f"seed must be an integer, got the bool {seed!r}")
    try:
        value = operator.index(seed)
    except TypeError:
        raise ValueError(f"seed must be an integer, got {seed!r}") from None
    if not 0 <= value < SEED_LIMIT:
        raise ValueError(f"seed must lie in 0 … 2**64 - 1, got {value}")
    return value


RESET_OPTIONS = ("dose_rate", "frame_rate")


def check_options(options: Any) -> dict[str, float]:
    """Reset options as the Swift library takes them, or an error naming the cause: TypeError for options that are
    not a mapping or a value that is not a real number (bools and strings included), ValueError for an unknown or
    malformed key and a value that is not finite (the ranges are checked by the library)."""
    if options is None:
        return {}
    if not isinstance(options, Mapping):
        raise TypeError(f"reset options must be a dict such as {{'dose_rate': 10.0}}, got {type(options).__name__}")
    out: dict[str, float] = {}
    for key, value in options.items():
        if not isinstance(key, str):
            raise TypeError(f"reset option names are strings ({', '.join(RESET_OPTIONS)}), got {key!r}")
        if key not in RESET_OPTIONS:
            raise ValueError(f"unknown reset option {key!r} (options: {', '.join(RESET_OPTIONS)})")
        if isinstance(value, np.ndarray) and value.shape == ():
            value = value.item()
        if isinstance(value, (bool, np.bool_)) or not isinstance(value, (numbers.Real, np.floating, np.integer)):
            raise TypeError(f"reset option {key} must be a real number, got {value!r}")
        number = float(value)
        if not math.isfinite(number):
            raise ValueError(f"reset option {key} is {number}; give a finite number")
        out[key] = number
    return out


def check_action(action: Any, n: int) -> int:
    """A discrete action as an int, or ValueError naming it (the range itself is checked by the library)."""
    if isinstance(action, np.ndarray) and action.shape == ():
        action = action.item()
    if isinstance(action, (bool, np.bool_)):
        raise ValueError(f"action must be an integer in Discrete({n}), got {action!r}")
    try:
        value = operator.index(action)
    except TypeError:
        raise ValueError(f"action must be an integer in Discrete({n}), got {action!r}") from None
    if not -(2**63) <= value < 2**63:
        raise ValueError(f"action {value} is not in Discrete({n})")
    return value


class NativeHandle:
    """Owns one handle of the C library: refuses use after close, closes once (close is idempotent)."""

    _handle: Optional[int] = None
    _seeded = False

    def _swift_seed(self, seed: Optional[int]) -> Optional[int]:
        """Gymnasium's seeding rule, after `super().reset(seed=seed)`: a given seed restarts the Swift generator; the
        first reset without one draws it from `np_random`; later ones continue (None)."""
        if seed is None and not self._seeded:
            seed = int(self.np_random.integers(0, 2**63))
        if seed is not None:
            self._seeded = True
        return seed

    def _require_open(self) -> int:
        if self._handle is None:
            raise _native.InvalidArgumentError(f"the {type(self).__name__} is closed")
        return self._handle

    def _close_handle(self) -> None:
        if self._handle is not None:
            handle, self._handle = self._handle, None
            _native.check(_native.lib().mg_close(handle))

    def __del__(self):
        try:
            self._close_handle()
        except Exception:
            pass

    # State snapshots, copies and pickling: a copy is a new handle restored from the original's state, so that it is
    # independent and continues exactly as the original would, in this process or another.

    _make_arguments: tuple = ()

    def clone_state(self) -> bytes:
        """The environment's complete dynamic state as bytes (the Swift generator, the hidden latent and particle
        state, settings, dose, damage and episode counters; every copy of a vector), for `restore_state` on this
        environment or another one of the same spec (in any process), as the Arcade Learning Environment's
        ``cloneState``. Python-side seeding state (``np_random``) is not part of it: ``copy.deepcopy`` and ``pickle``
        carry that too."""
        return _native.get_state(self._require_open())

    def restore_state(self, state: bytes) -> None:
        """Continues from `clone_state`'s bytes; InvalidArgumentError (nothing changed) when they belong to another
        spec or copy count."""
        _native.set_state(self._require_open(), state)

    def __getstate__(self):
        if self._handle is None:
            raise TypeError(f"a closed {type(self).__name__} cannot be copied or pickled")
        return {
            "make": self._make_arguments, "state": self.clone_state(), "seeded": self._seeded,
            "np_random": getattr(self, "_np_random", None), "np_random_seed": getattr(self, "_np_random_seed", None),
            "spec": getattr(self, "spec", None),
        }

    def __setstate__(self, saved):
        self._handle = None
        self._init_handle(*saved["make"])
        self.restore_state(saved["state"])
        self._seeded = saved["seeded"]
        if saved["np_random"] is not None:
            self._np_random = saved["np_random"]
        if saved["np_random_seed"] is not None:
            self._np_random_seed = saved["np_random_seed"]
        if saved.get("spec") is not None:
            self.spec = saved["spec"]


class MicroscopeEnv(NativeHandle, gym.Env):
    """A registered MicroscopeGym environment (`MicroscopeGym/<ID>`) or one of your own spec file.

    Observations: a dict of float32 arrays, new every call. ``segment`` (T×2, nm) holds the tracked positions, a lost
    frame holding the last tracked position; ``tracked`` (T) is 1 where the particle was detected; ``instrument``
    and ``features`` as in the Swift `LiquidCell`. Actions: ``Discrete(n)``, action a = dose index · frame rates +
    frame index (``settings[a]`` gives the dose rate in e⁻/Å²/s and the frame rate in frames/s). ``info``: the floats
    named by ``info_keys``. Episodes end by themselves (``terminated``: specimen destroyed; ``truncated``: time, dose
    or step budget): no TimeLimit wrapper is needed.

    ``fill_lost_frames=True`` gives the observations of the Swift ``FillLostFrames`` wrapper instead: a lost frame of
    ``segment`` holds its posterior mean under fractional Brownian motion through localisation noise, ``uncertainty``
    (T, nm) the standard deviation of each value's error, and ``belief`` the encoder's posterior of the latent and
    the dose coordinate (docs/between-frames.md).

    Seeding follows Gymnasium: ``reset(seed=s)`` restarts the Swift generator at ``s`` (the same seed gives the same
    observations as `LiquidCell.reset(seed: s)` in Swift, bit for bit); ``reset()`` continues it; the first
    ``reset()`` without a seed draws one from ``self.np_random``.
    """

    metadata = {"render_modes": []}

    def __init__(
        self, env_id: Optional[str] = None, spec_file: Optional[str] = None, render_mode: Optional[str] = None,
        fill_lost_frames: bool = False,
    ):
        if render_mode is not None:
            raise ValueError(f"render_mode must be None (MicroscopeGym environments do not render), got {render_mode!r}")
        self._handle: Optional[int] = None
        self._init_handle(env_id, spec_file, fill_lost_frames)

    def _init_handle(self, env_id: Optional[str], spec_file: Optional[str], fill_lost_frames: bool = False) -> None:
        self.render_mode = None
        self._handle = _native.make(env_id, spec_file, 0, fill_lost_frames)
        # A copy in another process (pickle) remakes the environment from these; a spec file by its absolute path.
        self._make_arguments = (env_id, None if spec_file is None else os.path.abspath(spec_file), fill_lost_frames)
        self.layout = Layout.of(self._handle)
        self.observation_space = self.layout.observation_space
        self.action_space = spaces.Discrete(self.layout.actions)
        self.info_keys = self.layout.info_keys
        self.settings = self.layout.settings
        self._reward = np.zeros(1, dtype=np.float64)
        self._flags = np.zeros(2, dtype=np.uint8)

    def _info(self, row: np.ndarray) -> dict[str, float]:
        return {k: float(v) for k, v in zip(self.info_keys, row)}

    def reset(self, *, seed: Optional[int] = None, options: Optional[dict[str, Any]] = None):
        handle = self._require_open()
        if seed is not None:
            seed = check_seed(seed)
        options = check_options(options)  # every argument is checked before anything changes
        super().reset(seed=seed)
        seed = self._swift_seed(seed)
        keys = (ctypes.c_char_p * max(1, len(options)))(*[k.encode() for k in options])
        values = np.array(list(options.values()) or [0.0], dtype=np.float64)
        observation = self.layout.observation_buffers()
        info = np.empty(len(self.info_keys), dtype=np.float64)
        _native.check(
            _native.lib().mg_reset(
                handle, int(seed is not None), seed or 0, keys, _f64(values), len(options),
                self.layout.pointers(observation), _f64(info),
            )
        )
        return observation, self._info(info)

    def step(self, action):
        handle = self._require_open()
        a = check_action(action, self.layout.actions)
        observation = self.layout.observation_buffers()
        info = np.empty(len(self.info_keys), dtype=np.float64)
        _native.check(
            _native.lib().mg_step(
                handle, a, self.layout.pointers(observation), _f64(self._reward), _u8(self._flags[:1]),
                _u8(self._flags[1:]), _f64(info),
            )
        )
        return observation, float(self._reward[0]), bool(self._flags[0]), bool(self._flags[1]), self._info(info)

    def start_recording(self, agent: str = "python") -> None:
        """Records every episode from the next reset on (any earlier recording is dropped); `save_recording` writes
        them in the format of ``gym-runner evaluate --record`` (docs/agents.md, "Recordings"): observed segments
        (NaN where lost), true positions, settings, rewards, info, latent path, hidden particle. `agent` names who
        played (a Policy's ``name`` makes the file byte-identical to gym-runner's for the same episodes)."""
        if not isinstance(agent, str) or "\0" in agent:
            raise TypeError(f"agent must be a string without NUL bytes, got {agent!r}")
        _native.check(_native.lib().mg_record_start(self._require_open(), agent.encode()))

    def save_recording(self, path) -> None:
        """Writes the recording to `path` (HDF5, atomically); recording goes on."""
        _native.check(_native.lib().mg_record_save(self._require_open(), os.fsencode(os.fspath(path))))

    def close(self):
        self._close_handle()
