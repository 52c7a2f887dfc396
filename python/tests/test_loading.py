"""How the package finds the library, and that the Swift runtime does not take over the interpreter's crashes."""
import signal

from conftest import run_python

import microscope_gym


def test_the_library_in_use_is_found(repository):
    path = microscope_gym.library_path()
    assert path.endswith("libMicroscopeGymC.so")
    origins = [origin for origin, _, _ in microscope_gym._native.candidates()]
    assert origins[0] in ("MICROSCOPE_GYM_LIBRARY", "bundled")


def test_installed_copy_is_bundled_and_checkout_finds_its_build(repository, tmp_path):
    # The installed package (what the tests import) carries its own library and specs.
    origin, path, environments = microscope_gym._native.candidates()[0]
    if origin == "bundled":
        assert microscope_gym.library_path() == str(path) and "site-packages" in str(path)
        assert (environments / "LiquidCell-v0.json").exists()
    # A checkout used in place (PYTHONPATH=python, or pip install -e) finds <root>/.build/release and Environments/.
    result = run_python(
        "import microscope_gym; from microscope_gym import _native; print(microscope_gym.library_path()); "
        "print(_native.ENVIRONMENTS)",
        PYTHONPATH=str(repository / "python"), MICROSCOPE_GYM_LIBRARY=None, MICROSCOPEGYM_ENVIRONMENTS=None,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        str(repository / ".build" / "release" / "libMicroscopeGymC.so"), str(repository / "Environments")]


def test_explicit_library_path(repository):
    built = repository / ".build" / "release" / "libMicroscopeGymC.so"
    result = run_python("import microscope_gym; print(microscope_gym.library_path())", MICROSCOPE_GYM_LIBRARY=str(built))
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == str(built)


def test_missing_library_is_a_clear_import_error(tmp_path):
    result = run_python("import microscope_gym", MICROSCOPE_GYM_LIBRARY=str(tmp_path / "nothing.so"))
    assert result.returncode != 0
    assert "LibraryNotFoundError" in result.stderr
    assert "swift build -c release --product MicroscopeGymC" in result.stderr
    assert "nothing.so (missing)" in result.stderr


def test_environments_folder_override(tmp_path, repository):
    (tmp_path / "Only-v0.json").write_text(
        (repository / "Environments" / "LiquidCell-v0.json").read_text().replace('"LiquidCell-v0"', '"Only-v0"')
        .replace('"models/', f'"{repository}/Environments/models/')
    )
    result = run_python(
        "import microscope_gym, gymnasium as gym; print(microscope_gym.registered_ids()); "
        "env = gym.make('MicroscopeGym/Only-v0'); print(env.reset(seed=1)[0]['segment'].shape)",
        MICROSCOPEGYM_ENVIRONMENTS=str(tmp_path),
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["['Only-v0']", "(200, 2)"]


CRASH = """
import os, signal
import microscope_gym, gymnasium as gym
env = gym.make("MicroscopeGym/LiquidCell-v0"); env.reset(seed=1); env.step(0)
os.kill(os.getpid(), signal.SIGSEGV)
"""


def test_crashes_stay_python_crashes():
    # The package turns the Swift backtracer off: a crash is the interpreter's (its faulthandler reports it).
    result = run_python("import faulthandler; faulthandler.enable()\n" + CRASH, SWIFT_BACKTRACE=None)
    assert result.returncode == -signal.SIGSEGV
    assert "Fatal Python error: Segmentation fault" in result.stderr
    assert "Program crashed" not in result.stderr
    # Control: with the backtracer on, the Swift runtime takes the signal over (what the package prevents).
    hijacked = run_python(CRASH, SWIFT_BACKTRACE="enable=yes")
    assert "Program crashed" in hijacked.stderr
