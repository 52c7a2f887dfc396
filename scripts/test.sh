#!/usr/bin/env bash
# Every test of the project: the Swift packages (XCTest), the Python package (pytest, against a release build of
# the C library and gym-runner), the standalone CustomAgent example, and the formatter check.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh

# OpenBLAS picks its kernel per CPU, and kernels sum in different orders: the golden traces were recorded with the
# Haswell kernel (AVX2 + FMA), so the tests pin it where the CPU can run it (docs/leonardo.md, "Determinism").
if [[ -z "${OPENBLAS_CORETYPE:-}" ]] && grep -q ' avx2' /proc/cpuinfo && grep -q ' fma' /proc/cpuinfo; then
    export OPENBLAS_CORETYPE=Haswell
fi
echo "OpenBLAS kernel: ${OPENBLAS_CORETYPE:-chosen by OpenBLAS for this CPU}"

echo "== Swift tests (debug build)"
swift test --disable-swift-testing

echo "== Release build (libMicroscopeGymC.so for Python, gym-runner for the parity test)"
swift build -c release

echo "== Python package (python/): pip install into .build-python, then pytest"
if [ ! -x .build-python/bin/python ]; then
  python3 -m venv .build-python
fi
.build-python/bin/python -m pip install -q --upgrade pip >/dev/null
.build-python/bin/python -m pip install -q gymnasium numpy pytest ./python
for id in $(.build-python/bin/python -c "import microscope_gym; print(' '.join(microscope_gym.registered_ids()))"); do
  .build-python/bin/python -W error -c "import gymnasium as gym, microscope_gym; from gymnasium.utils.env_checker import check_env; check_env(gym.make('MicroscopeGym/$id').unwrapped)"
  echo "check_env under -W error: MicroscopeGym/$id passed"
done
.build-python/bin/python -m pytest -q python/tests

echo "== gym-runner reliability on hostile input (Tests/CLI, through the release binary)"
.build-python/bin/python -m pytest -q Tests/CLI

echo "== Examples/CustomAgent: a package depending on MicroscopeGym, with its own agent"
(cd Examples/CustomAgent && swift run CustomAgent --env LiquidCell-v2 --episodes 1 --max-steps 3)

echo "== Formatting (.swift-format, checked, not applied)"
swift format lint --configuration .swift-format --strict --recursive --parallel Sources Tests Examples/CustomAgent/Sources

echo "== Slurm: a single-node scheduler, a sharded sweep and a training study through sbatch (root and apt only)"
bash scripts/slurm/test-slurm.sh
