"""Every bad input raises a Python exception carrying the Swift message, and the interpreter survives."""
import json

import numpy as np
import pytest

import microscope_gym
from microscope_gym import EnvironmentStateError, InvalidArgumentError, SpecError

from conftest import run_python


@pytest.fixture()
def env():
    e = microscope_gym.MicroscopeEnv("LiquidCell-v0")
    yield e
    e.close()


def test_actions_outside_the_space(env):
    env.reset(seed=1)
    for bad in (28, -1, 2**62):
        with pytest.raises(EnvironmentStateError, match=r"action outside the action space: -?\d+ is not in Discrete\(28\)"):
            env.step(bad)
    for bad in (1.5, "3", None, True, 2**70):
        with pytest.raises(ValueError):
            env.step(bad)
    env.step(np.int64(3))  # numpy integers are fine
    env.step(np.array(3))


def test_step_before_reset_and_after_the_end(env):
    with pytest.raises(EnvironmentStateError, match="before reset"):
        env.step(0)
    env.reset(seed=2)
    harshest = env.settings.index((100.0, 25.0))
    for _ in range(40):
        _, _, terminated, truncated, _ = env.step(harshest)
        if terminated or truncated:
            break
    with pytest.raises(EnvironmentStateError, match="after the episode ended"):
        env.step(0)


def test_bad_seeds_and_options(env):
    for bad in (-1, 2**64, 1.0, "1", True, np.bool_(False)):
        with pytest.raises(ValueError, match="seed"):
            env.reset(seed=bad)
    with pytest.raises(InvalidArgumentError, match="dose_rate 1000000.0 e⁻/Å²/s outside"):
        env.reset(seed=1, options={"dose_rate": 1e6})
    with pytest.raises(TypeError, match="dose_rate must be a real number"):
        env.reset(seed=1, options={"dose_rate": "high"})


# Each reset-option error names its cause (they all used to say "action outside the action space", or let a raw
# Python message or a silently converted value through).
@pytest.mark.parametrize(
    "options, error, message",
    [
        ({"foo": 1}, ValueError, "unknown reset option 'foo'"),
        ({"dose": 3}, ValueError, "unknown reset option 'dose'"),
        ({"dose_rate\x00x": 10}, ValueError, "unknown reset option"),
        ({"dose_rate": float("nan")}, ValueError, "dose_rate is nan; give a finite number"),
        ({"dose_rate": float("inf")}, ValueError, "dose_rate is inf; give a finite number"),
        ({"frame_rate": -float("inf")}, ValueError, "frame_rate is -inf"),
        ({"dose_rate": "10"}, TypeError, "dose_rate must be a real number, got '10'"),
        ({"dose_rate": True}, TypeError, "dose_rate must be a real number, got True"),
        ({"dose_rate": None}, TypeError, "dose_rate must be a real number"),
        ({1: 10.0}, TypeError, "option names are strings"),
        (["x"], TypeError, "reset options must be a dict"),
        ("dose_rate", TypeError, "reset options must be a dict"),
    ],
)
def test_reset_option_errors_name_their_cause(env, options, error, message):
    env.reset(seed=4)
    before = env.clone_state()
    with pytest.raises(error, match=message) as raised:
        env.reset(seed=1, options=options)
    assert "action" not in str(raised.value)
    assert env.clone_state() == before, "a refused reset changes nothing"


def test_good_options_are_taken_as_numbers(env):
    a, _ = env.reset(seed=1, options={"dose_rate": np.float32(10), "frame_rate": np.int64(25)})
    b, _ = env.reset(seed=1, options={"dose_rate": 10.0, "frame_rate": 25.0})
    assert all(np.array_equal(a[k], b[k]) for k in a)


def test_vector_seeds_that_would_overflow_are_refused():
    envs = microscope_gym.MicroscopeVectorEnv(3, "LiquidCell-v0")
    with pytest.raises(ValueError, match="2\\*\\*64 - 3"):
        envs.reset(seed=2**64 - 1)  # used to wrap copies 1 and 2 to seeds 0 and 1
    with pytest.raises(ValueError, match="seed"):
        envs.reset(seed=[2**64 - 3, 2**64 - 2, 2**64 - 1, 0][:3][::-1])
    envs.reset(seed=2**64 - 3)  # the largest that fits
    with pytest.raises(ValueError, match="seed"):
        envs.reset(seed=True)
    with pytest.raises(TypeError, match="options"):
        envs.reset(seed=1, options=["x"])
    lib = microscope_gym._native.lib()
    observations = envs.layout.observation_buffers(3)
    info = np.empty((3, len(envs.info_keys)))
    status = lib.mg_reset(
        envs._handle, 1, 2**64 - 1, None, None, 0, envs.layout.pointers(observations),
        info.ctypes.data_as(microscope_gym._native.ctypes.POINTER(microscope_gym._native.ctypes.c_double)),
    )
    assert status == 1 and "must be ≤ 2^64 − 3" in microscope_gym._native.last_error()
    envs.close()


def test_unknown_ids_and_bad_spec_files(tmp_path, repository):
    with pytest.raises(SpecError, match="unknown environment 'LiquidCell-v9'"):
        microscope_gym.MicroscopeEnv("LiquidCell-v9")
    with pytest.raises(SpecError, match="unknown environment"):
        microscope_gym.MicroscopeEnv("../LiquidCell-v0")
    broken = tmp_path / "broken.json"
    broken.write_text("{ not json")
    with pytest.raises(SpecError, match="broken.json"):
        microscope_gym.MicroscopeEnv(spec_file=str(broken))
    with pytest.raises(SpecError):
        microscope_gym.MicroscopeEnv(spec_file=str(tmp_path / "missing.json"))
    spec = json.loads((repository / "Environments" / "LiquidCell-v0.json").read_text())
    spec["checkpoint"] = str(tmp_path / "no-such-model.h5")
    missing_model = tmp_path / "missing-model.json"
    missing_model.write_text(json.dumps(spec))
    with pytest.raises(SpecError, match="checkpoint"):
        microscope_gym.MicroscopeEnv(spec_file=str(missing_model))
    spec["checkpoint"] = str(repository / "Environments" / "models" / "leonardo-lptem-v0.h5")
    spec["baseFrameRate"] = 1e9
    spec["frameRates"] = [3.125, 25]
    huge = tmp_path / "huge.json"
    huge.write_text(json.dumps(spec))
    with pytest.raises(SpecError, match="baseFrameRate"):
        microscope_gym.MicroscopeEnv(spec_file=str(huge))
    with pytest.raises(ValueError, match="exactly one"):
        microscope_gym.MicroscopeEnv()
    with pytest.raises(ValueError, match="render_mode"):
        microscope_gym.MicroscopeEnv("LiquidCell-v0", render_mode="human")


def test_closed_environment(env):
    env.close()
    with pytest.raises(InvalidArgumentError, match="closed"):
        env.reset(seed=1)
    env.close()


def test_the_library_refuses_unknown_handles():
    lib = microscope_gym._native.lib()
    assert lib.mg_close(123456789) == 1
    assert "unknown or closed environment handle 123456789" in microscope_gym._native.last_error()
    assert lib.mg_step(987654, 0, None, None, None, None, None) == 1


def test_interpreter_survives_every_error_path():
    code = """
import microscope_gym, numpy as np
env = microscope_gym.MicroscopeEnv("LiquidCell-v0")
for call in (lambda: env.step(0), lambda: env.reset(seed=-1), lambda: env.reset(options={"x": 1}),
             lambda: env.reset(options=["x"]), lambda: env.reset(options={"dose_rate": float("nan")}),
             lambda: microscope_gym.MicroscopeEnv("Nope-v0"), lambda: microscope_gym.MicroscopeEnv(spec_file="/nonexistent"),
             lambda: microscope_gym.MicroscopeVectorEnv(num_envs=10**6, env_id="LiquidCell-v0")):
    try:
        call()
    except Exception as error:
        print(type(error).__name__)
env.reset(seed=1)
try:
    env.step(10**3)
except Exception as error:
    print(type(error).__name__, error)
lib = microscope_gym._native.lib()
print("null buffers:", lib.mg_step(1, 0, None, None, None, None, None))
print("alive")
"""
    result = run_python(code)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[-1] == "alive"
    assert "EnvironmentStateError action outside the action space: 1000 is not in Discrete(28)" in lines
    assert "null buffers: 1" in lines
