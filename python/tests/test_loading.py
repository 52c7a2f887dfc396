"""How the package finds the library, and that the Swift runtime does not take over the interpreter's crashes."""
import signal

from conftest import run_python

import microscope_gym


def test_the_library_in_use_is_found(repository):
    path = microscope_gym.library_path()
    assert path.endswith("libMicroscopeGymC.so")
    origins = [origin for origin, _, _ in microscope_gym._native.candidates()]
    assert origins[0] in ("MICROSCOPEGYM_LIBRARY", "bundled")


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
        PYTHONPATH=str(repository / "python"), MICROSCOPEGYM_LIBRARY=None, MICROSCOPEGYM_ENVIRONMENTS=None,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        str(repository / ".build" / "release" / "libMicroscopeGymC.so"), str(repository / "Environments")]


def test_explicit_library_path(repository):
    built = repository / ".build" / "release" / "libMicroscopeGymC.so"
    result = run_python("import microscope_gym; print(microscope_gym.library_path())", MICROSCOPEGYM_LIBRARY=str(built))
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == str(built)
    # The old name still works, saying that it is deprecated.
    result = run_python(
        "import warnings; warnings.simplefilter('always')\n"
        "import microscope_gym; print(microscope_gym.library_path())",
        MICROSCOPEGYM_LIBRARY=None, MICROSCOPE_GYM_LIBRARY=str(built),
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == str(built)
    assert "DeprecationWarning: MICROSCOPE_GYM_LIBRARY is deprecated: set MICROSCOPEGYM_LIBRARY" in result.stderr


def test_missing_library_is_a_clear_import_error(tmp_path):
    result = run_python("import microscope_gym", MICROSCOPEGYM_LIBRARY=str(tmp_path / "nothing.so"))
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


def test_environment_folders_that_yield_nothing_are_errors(tmp_path):
    """An empty, missing or spec-less MICROSCOPEGYM_ENVIRONMENTS used to register no environment without a word."""
    cases = [("", "is set but empty"), (str(tmp_path / "missing"), "no such folder"),
             (str(tmp_path), "holds no spec file")]
    for value, message in cases:
        result = run_python("import microscope_gym", MICROSCOPEGYM_ENVIRONMENTS=value)
        assert result.returncode != 0
        last = result.stderr.strip().splitlines()[-1]
        assert last.startswith("microscope_gym._native.SpecError: MICROSCOPEGYM_ENVIRONMENTS"), last
        assert message in last, last
    # The library refuses such a folder too, by name.
    lib = microscope_gym._native.lib()
    buffer = microscope_gym._native.ctypes.create_string_buffer(4096)
    assert lib.mg_registry_ids(str(tmp_path).encode(), buffer, 4096) == 3
    assert "holds no spec file" in microscope_gym._native.last_error()


def test_pip_install_leaves_the_checkout_as_it_was(repository, tmp_path):
    """`pip install ./python` used to write python/build/ and python/microscope_gym.egg-info/ into the checkout."""
    import subprocess
    import sys

    before = sorted(p.name for p in (repository / "python").iterdir())
    result = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(tmp_path), str(repository / "python")],
        capture_output=True, text=True, timeout=600,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert list(tmp_path.glob("microscope_gym-*.whl"))
    assert sorted(p.name for p in (repository / "python").iterdir()) == before


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
