"""ctypes bindings of libMicroscopeGymC.so (the C ABI in Sources/MicroscopeGymC/microscope_gym.h).

Where the library is found, first match wins:

1. ``MICROSCOPEGYM_LIBRARY``: the path of ``libMicroscopeGymC.so`` (when set, the only place tried; the old name
   ``MICROSCOPE_GYM_LIBRARY`` is still read, with a DeprecationWarning);
2. the copy bundled into the installed package (``pip install ./python`` after a release build);
3. a repository checkout above this file (running from the source tree, or an editable install):
   ``<root>/.build/release/libMicroscopeGymC.so`` next to ``<root>/Package.swift``.

The environment specs come from ``MICROSCOPEGYM_ENVIRONMENTS`` when set, otherwise from the folder that goes with
the library (the bundled ``Environments/``, or the checkout's). A set variable that is empty, names no folder or a
folder without spec files is an error that names it (`SpecError`), never an empty registry.

Every variable of the package starts with ``MICROSCOPEGYM_`` (``_LIBRARY``, ``_ENVIRONMENTS``, ``_KERNELS``,
``_KERNEL_LEVEL``, ``_THREADS``).
"""
from __future__ import annotations

import ctypes
import os
import warnings
from pathlib import Path
from typing import Optional

LIBRARY_NAME = "libMicroscopeGymC.so"
ABI_VERSION = 4
LIBRARY_VARIABLE = "MICROSCOPEGYM_LIBRARY"
OLD_LIBRARY_VARIABLE = "MICROSCOPE_GYM_LIBRARY"
BUILD_COMMAND = "swift build -c release --product MicroscopeGymC"

# The Swift runtime installs crash handlers (its backtracer) for SIGSEGV, SIGABRT, ... where they are still at the
# default; inside Python they would take over a crash of the interpreter. Turn the backtracer off before loading,
# unless the user chose otherwise.
os.environ.setdefault("SWIFT_BACKTRACE", "enable=no")


class LibraryNotFoundError(ImportError):
    """The C library could not be found or loaded; the message lists the places tried."""


class MicroscopeGymError(RuntimeError):
    """An error reported by the Swift library (status 4, or the base of the others)."""


class InvalidArgumentError(MicroscopeGymError, ValueError):
    """Status 1: a bad argument (unknown or closed handle, out-of-range count, ...)."""


class EnvironmentStateError(MicroscopeGymError, ValueError):
    """Status 2: the environment refused the call (action outside the space, step before reset or after the end)."""


class SpecError(MicroscopeGymError, ValueError):
    """Status 3: unknown environment ID, invalid spec file, missing or broken model file."""


class ConcurrentUseError(MicroscopeGymError):
    """Status 5: another thread's call on the same environment is in flight; the call was refused and changed nothing.
    Use one environment per thread (or a lock around the calls)."""


_ERRORS = {1: InvalidArgumentError, 2: EnvironmentStateError, 3: SpecError, 4: MicroscopeGymError, 5: ConcurrentUseError}


def _repository_root(start: Path) -> Optional[Path]:
    for folder in [start, *start.parents]:
        if (folder / "Package.swift").exists() and (folder / "Sources" / "MicroscopeGymC").is_dir():
            return folder
    return None


def candidates() -> list[tuple[str, Path, Optional[Path]]]:
    """(origin, library path, environments folder) in search order."""
    here = Path(__file__).resolve().parent
    out: list[tuple[str, Path, Optional[Path]]] = []
    explicit, variable = os.environ.get(LIBRARY_VARIABLE), LIBRARY_VARIABLE
    if explicit is None and os.environ.get(OLD_LIBRARY_VARIABLE) is not None:
        explicit, variable = os.environ[OLD_LIBRARY_VARIABLE], OLD_LIBRARY_VARIABLE
        warnings.warn(
            f"{OLD_LIBRARY_VARIABLE} is deprecated: set {LIBRARY_VARIABLE} instead", DeprecationWarning, stacklevel=2
        )
    if explicit is not None:
        if not explicit:
            raise LibraryNotFoundError(f"{variable} is set but empty: unset it or give the path of {LIBRARY_NAME}")
        return [(variable, Path(explicit), None)]
    bundle = here / "_bundle"
    out.append(("bundled", bundle / LIBRARY_NAME, bundle / "Environments"))
    root = _repository_root(here)
    if root is not None:
        out.append(("repository", root / ".build" / "release" / LIBRARY_NAME, root / "Environments"))
    return out


def _environments_folder(default: Optional[Path]) -> Optional[str]:
    chosen = os.environ.get("MICROSCOPEGYM_ENVIRONMENTS")
    if chosen is not None:
        folder = Path(chosen)
        if not chosen:
            raise SpecError("MICROSCOPEGYM_ENVIRONMENTS is set but empty: unset it or name a folder of spec files")
        if not folder.is_dir():
            raise SpecError(f"MICROSCOPEGYM_ENVIRONMENTS={chosen}: no such folder")
        if not any(folder.glob("*.json")):
            raise SpecError(f"MICROSCOPEGYM_ENVIRONMENTS={chosen}: the folder holds no spec file (*.json)")
        return chosen
    if default is not None and default.is_dir():
        return str(default)
    return None  # the Swift library's own default (its package's Environments/)


def _declare(lib: ctypes.CDLL) -> None:
    i32, i64, u64, f64p = ctypes.c_int32, ctypes.c_int64, ctypes.c_uint64, ctypes.POINTER(ctypes.c_double)
    f64 = ctypes.c_double
    cp, sz = ctypes.c_char_p, ctypes.c_ssize_t
    i64p, u8p = ctypes.POINTER(ctypes.c_int64), ctypes.POINTER(ctypes.c_uint8)
    f32p, f32pp = ctypes.POINTER(ctypes.c_float), ctypes.POINTER(ctypes.POINTER(ctypes.c_float))
    signatures = {
        "mg_abi_version": ([], i32),
        "mg_last_error": ([ctypes.c_char_p, sz], sz),
        "mg_registry_ids": ([cp, cp, sz], i32),
        "mg_make": ([cp, cp, cp, i32, i64p], i32),
        "mg_make_with": ([cp, cp, cp, i32, i32, i64p], i32),
        "mg_close": ([i64], i32),
        "mg_sizes": ([i64, i64p, i64p, i64p, i64p, i64p], i32),
        "mg_observation_key": ([i64, i64, cp, sz, i64p, i64p, f32p, f32p], i32),
        "mg_info_key": ([i64, i64, cp, sz], i32),
        "mg_action_setting": ([i64, i64, f64p, f64p], i32),
        "mg_describe": ([i64, cp, sz], i32),
        "mg_reset": ([i64, i32, u64, ctypes.POINTER(cp), f64p, i32, f32pp, f64p], i32),
        "mg_step": ([i64, i64, f32pp, f64p, u8p, u8p, f64p], i32),
        "mg_vector_step": ([i64, i64p, f32pp, f64p, u8p, u8p, f64p, f32pp, f64p, u8p], i32),
        "mg_get_state": ([i64, u8p, sz, ctypes.POINTER(sz)], i32),
        "mg_set_state": ([i64, u8p, sz], i32),
        "mg_policy_load": ([cp, i64, i64p, i64p], i32),
        "mg_policy_act": ([i64, f32p, i64, i64p], i32),
        "mg_policy_name": ([i64, cp, sz], i32),
        "mg_policy_close": ([i64], i32),
        "mg_record_start": ([i64, cp], i32),
        "mg_record_save": ([i64, cp], i32),
        "mg_observe": ([i64, f32p, i64, f64, f64, f64, f64, f64, f32p, f32p], i32),
        "mg_nominal_camera": ([i64, f64, f64, f64, f64p, f64p, f64p, f64p], i32),
        "mg_nominal_damage": ([i64, f64, f64p], i32),
        "mg_read_trajectories": ([cp, f32p, i64, i64p, i64p], i32),
    }
    for name, (args, result) in signatures.items():
        function = getattr(lib, name)
        function.argtypes = args
        function.restype = result


def load() -> tuple[ctypes.CDLL, str, Optional[str]]:
    """Loads the first library found: (library, its path, the environments folder to use)."""
    tried = []
    for origin, path, environments in candidates():
        if not path.exists():
            tried.append(f"{origin}: {path} (missing)")
            continue
        try:
            lib = ctypes.CDLL(str(path))
        except OSError as error:
            tried.append(f"{origin}: {path} ({error})")
            continue
        _declare(lib)
        version = lib.mg_abi_version()
        if version != ABI_VERSION:
            tried.append(f"{origin}: {path} (ABI version {version}, this package needs {ABI_VERSION})")
            continue
        return lib, str(path), _environments_folder(environments)
    raise LibraryNotFoundError(
        "microscope_gym cannot load libMicroscopeGymC.so; build it in the repository root with "
        f"'{BUILD_COMMAND}' and reinstall (pip install ./python), or set {LIBRARY_VARIABLE}. Tried: "
        + "; ".join(tried)
    )


_LIB: Optional[ctypes.CDLL] = None
LIBRARY_PATH: Optional[str] = None
ENVIRONMENTS: Optional[str] = None


def lib() -> ctypes.CDLL:
    global _LIB, LIBRARY_PATH, ENVIRONMENTS
    if _LIB is None:
        _LIB, LIBRARY_PATH, ENVIRONMENTS = load()
    return _LIB


def last_error() -> str:
    size = lib().mg_last_error(None, 0)
    buffer = ctypes.create_string_buffer(size + 1)
    lib().mg_last_error(buffer, size + 1)
    return buffer.value.decode("utf-8", "replace")


def check(status: int) -> None:
    """Raises the Python exception of a non-zero status, with the Swift message."""
    if status != 0:
        raise _ERRORS.get(status, MicroscopeGymError)(last_error())


def text(function, *args, capacity: int = 1 << 16) -> str:
    buffer = ctypes.create_string_buffer(capacity)
    check(function(*args, buffer, capacity))
    return buffer.value.decode("utf-8")


def _encode(value: Optional[str]) -> Optional[bytes]:
    return None if value is None else os.fsencode(value)


def registered_ids() -> list[str]:
    lib()
    listing = text(lib().mg_registry_ids, _encode(ENVIRONMENTS))
    return [line for line in listing.split("\n") if line]


FILL_LOST_FRAMES = 1


def make(env_id: Optional[str], spec_file: Optional[str], count: int, fill_lost_frames: bool = False) -> int:
    """A handle for environment `env_id` (or the spec file), count 0: single, else a vector of `count` copies;
    `fill_lost_frames`: observations through the Swift `FillLostFrames` wrapper (`mg_make_with`)."""
    if (env_id is None) == (spec_file is None):
        raise ValueError("give exactly one of env_id and spec_file")
    if not isinstance(fill_lost_frames, bool):
        raise TypeError(f"fill_lost_frames must be True or False, got {fill_lost_frames!r}")
    handle = ctypes.c_int64(0)
    flags = FILL_LOST_FRAMES if fill_lost_frames else 0
    check(lib().mg_make_with(
        _encode(ENVIRONMENTS), _encode(env_id), _encode(spec_file), count, flags, ctypes.byref(handle)))
    return handle.value


def get_state(handle: int) -> bytes:
    """The handle's dynamic state as bytes (`mg_get_state`)."""
    size = ctypes.c_ssize_t(0)
    check(lib().mg_get_state(handle, None, 0, ctypes.byref(size)))
    buffer = (ctypes.c_uint8 * max(1, size.value))()
    check(lib().mg_get_state(handle, buffer, size.value, ctypes.byref(size)))
    return bytes(buffer[: size.value])


def set_state(handle: int, state: bytes) -> None:
    """Continues the handle from `get_state`'s bytes (`mg_set_state`); InvalidArgumentError on a mismatch."""
    if not isinstance(state, (bytes, bytearray, memoryview)):
        raise TypeError(f"a state is the bytes clone_state() returned, got {type(state).__name__}")
    data = bytes(state)
    buffer = (ctypes.c_uint8 * max(1, len(data))).from_buffer_copy(data or b"\0")
    check(lib().mg_set_state(handle, buffer, len(data)))
