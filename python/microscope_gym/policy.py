"""`Policy`: a trained MicroscopeGym policy (gym-runner's ``policy.h5``) acting from Python through the C library."""
from __future__ import annotations

import ctypes
import os
from typing import Any, Mapping, Optional, Union

import numpy as np

from . import _native

# What an agent reads of an observation, in this order (Swift: `Evaluation.observationKeys`).
OBSERVATION_KEYS = ("features", "instrument")


class Policy:
    """A policy file of any agent (dqn, ppo, cem, bandit, fixed, heuristic, random; not the recurrent rdqn) loaded for an environment.

    ``Policy.load("runs/dqn/policy.h5", env)`` with a ``MicroscopeEnv`` (or an environment ID); ``act(observation)``
    gives the greedy action for an observation dict as the environment returns it (its ``features`` and
    ``instrument``), the same action gym-runner's evaluation takes on the same observation: it is the same Swift
    agent. Policies trained with privileged information are refused (the environments do not expose the hidden state).
    """

    def __init__(self, handle: int, observation_size: int, name: str, path: str, keys: tuple = OBSERVATION_KEYS):
        self._handle: Optional[int] = handle
        self.observation_size = observation_size
        self.name = name
        self.path = path
        # features and instrument; then belief for a policy trained with --belief (its environment made with
        # fill_lost_frames=True).
        self.keys = keys

    @classmethod
    def load(cls, path: Union[str, os.PathLike], env: Any) -> "Policy":
        """Loads `path` for `env`: a MicroscopeEnv (or anything whose ``unwrapped`` is one) or a registered ID."""
        from .env import MicroscopeEnv

        owned = None
        if isinstance(env, str):
            owned = MicroscopeEnv(env)
            target = owned
        else:
            target = getattr(env, "unwrapped", env)
            if not isinstance(target, MicroscopeEnv):
                raise TypeError(f"env must be a MicroscopeEnv or an environment ID, got {type(env).__name__}")
        try:
            handle, size = ctypes.c_int64(0), ctypes.c_int64(0)
            _native.check(
                _native.lib().mg_policy_load(
                    os.fsencode(os.fspath(path)), target._require_open(), ctypes.byref(handle), ctypes.byref(size)
                )
            )
            name = _native.text(_native.lib().mg_policy_name, handle.value, capacity=64)
            plain = sum(int(np.prod(target.observation_space[k].shape)) for k in OBSERVATION_KEYS)
            keys = OBSERVATION_KEYS if size.value == plain else OBSERVATION_KEYS + ("belief",)
            return cls(handle.value, size.value, name, os.fspath(path), keys)
        finally:
            if owned is not None:
                owned.close()

    def observation_vector(self, observation: Mapping[str, Any]) -> np.ndarray:
        """The float32 vector the policy reads: ``features`` then ``instrument`` (then ``belief``, see ``keys``)."""
        if not isinstance(observation, Mapping):
            raise TypeError(f"observation must be a dict with {self.keys}, got {type(observation).__name__}")
        missing = [k for k in self.keys if k not in observation]
        if missing:
            raise ValueError(f"the observation has no {', '.join(missing)} (keys: {sorted(observation)})")
        vector = np.concatenate([np.asarray(observation[k], dtype=np.float32).ravel() for k in self.keys])
        if vector.size != self.observation_size:
            raise ValueError(f"the policy reads {self.observation_size} values, the observation gives {vector.size}")
        return np.ascontiguousarray(vector)

    def act(self, observation: Mapping[str, Any]) -> int:
        """The greedy action for `observation`."""
        if self._handle is None:
            raise _native.InvalidArgumentError("the Policy is closed")
        vector = self.observation_vector(observation)
        action = ctypes.c_int64(0)
        _native.check(
            _native.lib().mg_policy_act(
                self._handle, vector.ctypes.data_as(ctypes.POINTER(ctypes.c_float)), vector.size, ctypes.byref(action)
            )
        )
        return int(action.value)

    def close(self) -> None:
        if self._handle is not None:
            handle, self._handle = self._handle, None
            _native.check(_native.lib().mg_policy_close(handle))

    def __del__(self):
        try:
            self.close()
        except Exception:
            pass

    def __getstate__(self):
        raise TypeError("a Policy is not copied or pickled: load it again from its file (Policy.load(path, env))")
