"""MicroscopeGym in Python: the liquid-cell electron-microscope environments of the Swift package as Gymnasium
environments, through the C library `libMicroscopeGymC.so` (ctypes).

Importing the package registers every environment of the environments folder as ``MicroscopeGym/<ID>``::

    import gymnasium as gym
    import microscope_gym

    env = gym.make("MicroscopeGym/LiquidCell-v0")
    envs = gym.make_vec("MicroscopeGym/LiquidCell-v0", num_envs=8)   # one batched decoder call per step

Where the library and the specs are found: `microscope_gym._native` (and README.md).
"""
from __future__ import annotations

import gymnasium as gym

from . import _native
from ._native import (
    ConcurrentUseError,
    EnvironmentStateError,
    InvalidArgumentError,
    LibraryNotFoundError,
    MicroscopeGymError,
    SpecError,
)
from .env import MicroscopeEnv
from .policy import Policy
from .vector import MicroscopeVectorEnv

NAMESPACE = "MicroscopeGym"

__all__ = [
    "MicroscopeEnv", "MicroscopeVectorEnv", "Policy", "registered_ids", "register_environments", "library_path",
    "MicroscopeGymError", "InvalidArgumentError", "EnvironmentStateError", "SpecError", "LibraryNotFoundError",
    "ConcurrentUseError",
]


def registered_ids() -> list[str]:
    """IDs of the environments folder (without the ``MicroscopeGym/`` namespace)."""
    return _native.registered_ids()


def library_path() -> str:
    """The path of the loaded C library."""
    _native.lib()
    return str(_native.LIBRARY_PATH)


def register_environments() -> list[str]:
    """Registers every environment as ``MicroscopeGym/<ID>`` (already registered IDs are left as they are)."""
    names = []
    for env_id in registered_ids():
        name = f"{NAMESPACE}/{env_id}"
        if name not in gym.registry:
            gym.register(
                id=name,
                entry_point="microscope_gym.env:MicroscopeEnv",
                vector_entry_point="microscope_gym.vector:MicroscopeVectorEnv",
                kwargs={"env_id": env_id},
            )
        names.append(name)
    return names


register_environments()
