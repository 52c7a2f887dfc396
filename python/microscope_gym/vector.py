"""`MicroscopeVectorEnv`: N copies of an environment stepped with one batched decoder call (`gymnasium.vector`)."""
from __future__ import annotations

import os
from typing import Any, Optional

import numpy as np
from gymnasium import spaces
from gymnasium.vector import AutoresetMode, VectorEnv
from gymnasium.vector.utils import batch_space

from . import _native
from .env import Layout, NativeHandle, _f64, _u8, check_action, check_options, check_seed

MAX_COPIES = 4096


class MicroscopeVectorEnv(NativeHandle, VectorEnv):
    """``gym.make_vec("MicroscopeGym/<ID>", num_envs=N)``: the Swift `LiquidCellVector`, decoding all N copies'
    segments in one call per step.

    Autoreset mode: same step (``metadata["autoreset_mode"] = AutoresetMode.SAME_STEP``). When copy i's episode ends
    in a step, ``observations[i]`` and the info row are already the next episode's reset; the ended episode's last
    observation and info are in ``infos["final_obs"][i]`` and ``infos["final_info"]`` (masks ``_final_obs``,
    ``_final_info``). ``reset(seed=s)`` seeds copy i with s + i (a list of seeds must be s, s+1, …); reset options
    are not supported for vectors.
    """

    metadata = {"render_modes": [], "autoreset_mode": AutoresetMode.SAME_STEP}

    def __init__(
        self, num_envs: int = 1, env_id: Optional[str] = None, spec_file: Optional[str] = None,
        render_mode: Optional[str] = None, fill_lost_frames: bool = False,
    ):
        if render_mode is not None:
            raise ValueError(f"render_mode must be None, got {render_mode!r}")
        if not isinstance(num_envs, (int, np.integer)) or not 1 <= num_envs <= MAX_COPIES:
            raise ValueError(f"num_envs must be an integer in 1 … {MAX_COPIES}, got {num_envs!r}")
        self._handle: Optional[int] = None
        self._init_handle(int(num_envs), env_id, spec_file, fill_lost_frames)

    def _init_handle(
        self, num_envs: int, env_id: Optional[str], spec_file: Optional[str], fill_lost_frames: bool = False
    ) -> None:
        self._handle = _native.make(env_id, spec_file, num_envs, fill_lost_frames)
        self._make_arguments = (
            num_envs, env_id, None if spec_file is None else os.path.abspath(spec_file), fill_lost_frames)
        self.layout = Layout.of(self._handle)
        self.num_envs = num_envs
        self.render_mode = None
        self.single_observation_space = self.layout.observation_space
        self.single_action_space = spaces.Discrete(self.layout.actions)
        self.observation_space = batch_space(self.single_observation_space, self.num_envs)
        self.action_space = batch_space(self.single_action_space, self.num_envs)
        self.info_keys = self.layout.info_keys
        self.settings = self.layout.settings

    def _infos(self, rows: np.ndarray) -> dict[str, Any]:
        infos: dict[str, Any] = {}
        for k, key in enumerate(self.info_keys):
            infos[key] = rows[:, k].copy()
            infos["_" + key] = np.ones(self.num_envs, dtype=np.bool_)
        return infos

    def reset(self, *, seed=None, options: Optional[dict[str, Any]] = None):
        handle = self._require_open()
        if check_options(options):  # the single environment's checks first: errors name the same causes
            raise ValueError("reset options are not supported by MicroscopeVectorEnv (use single environments)")
        if isinstance(seed, (list, tuple)):
            if len(seed) != self.num_envs or any(s is None for s in seed):
                raise ValueError(f"a list of seeds needs {self.num_envs} integers s, s+1, …, got {seed!r}")
            first = check_seed(seed[0])
            if [check_seed(s) for s in seed] != [first + i for i in range(self.num_envs)]:
                raise ValueError(f"copies are seeded s, s+1, …: a list of seeds must be consecutive, got {seed!r}")
            seed = first
        elif seed is not None:
            seed = check_seed(seed)
        if seed is not None and seed + self.num_envs - 1 >= 2**64:
            raise ValueError(
                f"seed {seed}: copy i is seeded with seed + i, so the seed of {self.num_envs} copies must be at most "
                f"2**64 - {self.num_envs}"
            )
        super().reset(seed=seed)
        seed = self._swift_seed(seed)
        observations = self.layout.observation_buffers(self.num_envs)
        info = np.empty((self.num_envs, len(self.info_keys)), dtype=np.float64)
        _native.check(
            _native.lib().mg_reset(
                handle, int(seed is not None), seed or 0, None, None, 0, self.layout.pointers(observations),
                _f64(info),
            )
        )
        return observations, self._infos(info)

    def step(self, actions):
        handle = self._require_open()
        flat = np.asarray(actions)
        if flat.shape != (self.num_envs,):
            raise ValueError(f"actions must have shape ({self.num_envs},), got {flat.shape}")
        chosen = np.array([check_action(a, self.layout.actions) for a in flat], dtype=np.int64)
        n = self.num_envs
        observations = self.layout.observation_buffers(n)
        finals = self.layout.observation_buffers(n)
        rewards = np.empty(n, dtype=np.float64)
        terminated = np.zeros(n, dtype=np.uint8)
        truncated = np.zeros(n, dtype=np.uint8)
        ended = np.zeros(n, dtype=np.uint8)
        info = np.empty((n, len(self.info_keys)), dtype=np.float64)
        final_info = np.full((n, len(self.info_keys)), np.nan, dtype=np.float64)
        _native.check(
            _native.lib().mg_vector_step(
                handle, chosen.ctypes.data_as(_native.ctypes.POINTER(_native.ctypes.c_int64)),
                self.layout.pointers(observations), _f64(rewards), _u8(terminated), _u8(truncated), _f64(info),
                self.layout.pointers(finals), _f64(final_info), _u8(ended),
            )
        )
        infos = self._infos(info)
        if ended.any():
            mask = ended.astype(np.bool_)
            final_obs = np.full(n, None, dtype=object)
            final_infos: dict[str, Any] = {}
            for i in np.flatnonzero(mask):
                final_obs[i] = {k: v[i].copy() for k, v in finals.items()}
            for k, key in enumerate(self.info_keys):
                final_infos[key] = np.where(mask, final_info[:, k], 0.0)
                final_infos["_" + key] = mask.copy()
            infos["final_obs"], infos["_final_obs"] = final_obs, mask.copy()
            infos["final_info"], infos["_final_info"] = final_infos, mask.copy()
        return observations, rewards, terminated.astype(np.bool_), truncated.astype(np.bool_), infos

    def close_extras(self, **kwargs):
        self._close_handle()
