#!/usr/bin/env bash
# The wheel as a user without Swift gets it (scripts/build-wheel.sh makes .build-wheel/dist/*.whl).
#
#   scripts/test-wheel.sh install   a fresh venv .build-wheel/venv with the wheel (pip fetches gymnasium and numpy)
#   scripts/test-wheel.sh check     the checks below; writes nothing
#
# check: (1) `auditwheel show` and the bundled library's RUNPATH name no path of the Swift toolchain; (2) in a private
# mount namespace with an empty tmpfs mounted over the toolchain's folder (so no Swift runtime can be found, and
# `swift` is gone), from /tmp and with no MICROSCOPEGYM_* variable set, Gymnasium's check_env passes on every
# registered scenario, and every shared library the process loaded is a system one, the interpreter's own, or lies
# inside the venv:
# OpenBLAS and HDF5 from the wheel's microscope_gym.libs, the C library from its _bundle. Needs root for the mount
# namespace; elsewhere it says so and stops with status 0 after (1).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
W=$ROOT/.build-wheel
WHEEL=$(ls "$W"/dist/microscope_gym-*.whl 2>/dev/null | head -1)
[ -n "$WHEEL" ] || { echo "test-wheel: no wheel in $W/dist: run scripts/build-wheel.sh first" >&2; exit 2; }

case "${1:-check}" in
install)
  python3 -m venv --clear "$W/venv"
  "$W/venv/bin/python" -m pip install -q --disable-pip-version-check "$WHEEL"
  echo "test-wheel: installed $(basename "$WHEEL") into $W/venv"
  exit 0 ;;
check) ;;
*) echo "test-wheel: unknown mode '$1' (install or check)" >&2; exit 2 ;;
esac

SWIFT=$(command -v swift) || { echo "test-wheel: no swift on PATH to hide" >&2; exit 2; }
TOOLCHAIN=$(dirname "$(dirname "$(dirname "$(readlink -f "$SWIFT")")")")   # …/usr/bin/swift → the toolchain folder
echo "test-wheel: $(basename "$WHEEL") ($(du -m "$WHEEL" | cut -f1) MB); toolchain $TOOLCHAIN"
show=$("$W/tools/bin/auditwheel" show "$WHEEL")
if grep -qF "$TOOLCHAIN" <<<"$show"; then echo "test-wheel: auditwheel show names $TOOLCHAIN" >&2; exit 1; fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
unzip -q -o "$WHEEL" 'microscope_gym/_bundle/libMicroscopeGymC.so' -d "$tmp"
runpath=$(readelf -d "$tmp/microscope_gym/_bundle/libMicroscopeGymC.so" | grep -E 'RUNPATH|RPATH' || true)
if grep -qF "$TOOLCHAIN" <<<"$runpath"; then echo "test-wheel: the library's run path names $TOOLCHAIN" >&2; exit 1; fi
needed=$(readelf -d "$tmp/microscope_gym/_bundle/libMicroscopeGymC.so" | grep NEEDED | grep -o '\[.*\]' | tr '\n' ' ')
echo "test-wheel: no toolchain path in auditwheel show or the run path; the library needs $needed"

if ! unshare -m true 2>/dev/null; then
  echo "test-wheel: skipped the run without the toolchain: a private mount namespace (unshare -m, as root) is refused here"
  exit 0
fi
cat > "$tmp/check.py" <<'PY'
import os, sys
toolchain, venv = sys.argv[1], sys.argv[2]
assert not os.path.exists(os.path.join(toolchain, "usr", "bin", "swift")), "the toolchain is still visible"
assert not any(k.startswith("MICROSCOPEGYM_") for k in os.environ), "a MICROSCOPEGYM_ variable is set"
import warnings
import gymnasium as gym
from gymnasium.utils.env_checker import check_env
warnings.filterwarnings("ignore", category=DeprecationWarning)  # "out of date": older versions are registered on purpose
import microscope_gym
ids = microscope_gym.registered_ids()
for i in ids:
    env = gym.make("MicroscopeGym/" + i, disable_env_checker=True)
    check_env(env.unwrapped)
    env.close()
libraries = sorted({line.split()[-1] for line in open("/proc/self/maps") if ".so" in line.split()[-1]})
allowed = (venv, "/usr/", "/lib", sys.base_prefix, sys.base_exec_prefix)  # the venv, the system, the interpreter
foreign = [p for p in libraries if p.startswith(toolchain) or not p.startswith(allowed)]
assert not foreign, f"libraries from outside the system, the interpreter and the venv: {foreign}"
from_wheel = [p for p in libraries if p.startswith(venv)]
for name in ("microscope_gym.libs/libopenblas", "microscope_gym.libs/libhdf5", "microscope_gym/_bundle/libMicroscopeGymC.so"):
    assert any(name in p for p in from_wheel), f"{name} was not loaded from the wheel: {from_wheel}"
print(f"test-wheel: check_env passed on {len(ids)} scenarios without the toolchain; "
      f"{len(from_wheel)} libraries from the wheel, the rest from the system")
PY
unshare -m bash -c "mount -t tmpfs none '$TOOLCHAIN' && cd /tmp && \
  env \$(env | grep -o '^MICROSCOPEGYM_[A-Z_]*' | sed 's/^/-u /') PYTHONDONTWRITEBYTECODE=1 \
  '$W/venv/bin/python' '$tmp/check.py' '$TOOLCHAIN' '$W/venv'"
