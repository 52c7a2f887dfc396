"""Shared paths for the tests: the repository root and the built gym-runner (the Swift side of parity tests)."""
import os
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def _work_in_a_temporary_folder(tmp_path_factory, monkeypatch):
    """Every test runs in a fresh folder, never in the checkout (the suite runs on a read-only checkout in CI)."""
    monkeypatch.chdir(tmp_path_factory.mktemp("cwd"))


@pytest.fixture(scope="session")
def repository() -> Path:
    return ROOT


@pytest.fixture(scope="session")
def gym_runner() -> Path:
    path = Path(os.environ.get("GYM_RUNNER", ROOT / ".build" / "release" / "gym-runner"))
    if not path.exists():
        pytest.fail(f"{path} is missing: build it with 'swift build -c release' (or set GYM_RUNNER)")
    return path


def run_python(code: str, **env) -> subprocess.CompletedProcess:
    """Runs `code` in a fresh interpreter with extra environment variables (None removes one)."""
    environment = dict(os.environ)
    for key, value in env.items():
        if value is None:
            environment.pop(key, None)
        else:
            environment[key] = value
    return subprocess.run(
        [os.sys.executable, "-c", code], capture_output=True, text=True, env=environment, timeout=300
    )
