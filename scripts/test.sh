#!/usr/bin/env bash
# Every test of the project: the Swift packages (XCTest), the Python package (pytest, against a release build of
# the C library and gym-runner), a bounded fuzz of the Python surface, the standalone CustomAgent example, the
# formatter check and the single-node Slurm test.
#
# Two phases. First everything is built: the only writes into the checkout are the build folders (.build,
# .build-python, .build-wheel, Examples/CustomAgent/.build). Then every test runs on a read-only view of the checkout with only
# those folders writable (a private mount namespace: `unshare -m` and a read-only bind mount, where the machine
# allows it, i.e. as root), so a test that writes into the checkout or depends on what an earlier run left there
# fails. Tests run in temporary folders of their own; running this twice in a row, or after scripts/demo.sh, passes.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
WRITABLE=(.build .build-python .build-wheel Examples/CustomAgent/.build)

if [[ "${MICROSCOPEGYM_TEST_PHASE:-build}" == build ]]; then
  bash scripts/setup.sh

  # OpenBLAS picks its kernel per CPU, and kernels sum in different orders: the golden traces were recorded with the
  # Haswell kernel (AVX2 + FMA), so the tests pin it where the CPU can run it (docs/leonardo.md, "Determinism").
  if [[ -z "${OPENBLAS_CORETYPE:-}" ]] && grep -q ' avx2' /proc/cpuinfo && grep -q ' fma' /proc/cpuinfo; then
    export OPENBLAS_CORETYPE=Haswell
  fi
  echo "OpenBLAS kernel: ${OPENBLAS_CORETYPE:-chosen by OpenBLAS for this CPU}"

  echo "== Build: tests (debug), release (libMicroscopeGymC.so for Python, gym-runner), Python venv, CustomAgent"
  swift build --build-tests
  swift build -c release
  if [ ! -x .build-python/bin/python ]; then
    python3 -m venv .build-python
  fi
  .build-python/bin/python -m pip install -q --upgrade pip >/dev/null
  # pip builds the package in a temporary folder (python/setup.py): nothing is written into python/.
  .build-python/bin/python -m pip install -q gymnasium numpy pytest ./python
  (cd Examples/CustomAgent && swift build)
  echo "== Build: the self-contained wheel (scripts/build-wheel.sh) and a fresh venv holding only it and its deps"
  bash scripts/build-wheel.sh
  bash scripts/test-wheel.sh install

  export MICROSCOPEGYM_TEST_PHASE=run
  if unshare -m true 2>/dev/null; then
    echo "== Tests on a read-only checkout (writable: ${WRITABLE[*]})"
    binds=""
    for d in "${WRITABLE[@]}"; do binds+="mount --bind '$ROOT/$d' '$ROOT/$d'; "; done
    exec unshare -m bash -c "set -e; mount --bind '$ROOT' '$ROOT'; $binds mount -o remount,bind,ro '$ROOT'; \
      cd '$ROOT'; if touch .readonly-probe 2>/dev/null; then rm -f .readonly-probe; echo 'the checkout is still writable' >&2; exit 1; fi; \
      exec bash scripts/test.sh"
  fi
  echo "== Tests on the writable checkout: a read-only view needs a private mount namespace (unshare -m, as root), which this machine refuses"
  exec bash scripts/test.sh
fi

# Phase "run": nothing below builds or installs.
export PYTHONDONTWRITEBYTECODE=1
PYTEST=(.build-python/bin/python -m pytest -q -p no:cacheprovider)

echo "== Swift tests (debug build)"
swift test --disable-swift-testing --skip-build

echo "== Python package (python/): check_env on every registered scenario, then pytest"
for id in $(.build-python/bin/python -c "import microscope_gym; print(' '.join(microscope_gym.registered_ids()))"); do
  .build-python/bin/python -W error -c "import gymnasium as gym, microscope_gym; from gymnasium.utils.env_checker import check_env; check_env(gym.make('MicroscopeGym/$id').unwrapped)"
  echo "check_env under -W error: MicroscopeGym/$id passed"
done
"${PYTEST[@]}" python/tests

echo "== The wheel without the Swift toolchain: auditwheel, run path, check_env with the toolchain hidden"
bash scripts/test-wheel.sh check

echo "== Fuzzing the Python surface (random calls, copies, pickles, closes, threads; 120 s)"
.build-python/bin/python python/tests/fuzz_surface.py --seconds 120

echo "== gym-runner reliability on hostile input (Tests/CLI, through the release binary)"
"${PYTEST[@]}" Tests/CLI

echo "== Examples/CustomAgent: a package depending on MicroscopeGym, with its own agent"
(cd Examples/CustomAgent && swift run --skip-build CustomAgent --env LiquidCell-v2 --episodes 1 --max-steps 3)

echo "== Formatting (.swift-format, checked, not applied)"
swift format lint --configuration .swift-format --strict --recursive --parallel Sources Tests Examples/CustomAgent/Sources

echo "== Slurm: a single-node scheduler, a sharded sweep and a training study through sbatch (root and apt only)"
bash scripts/slurm/test-slurm.sh
