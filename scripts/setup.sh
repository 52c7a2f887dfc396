#!/usr/bin/env bash
# Installs the system libraries MicroscopeGym links against (Debian/Ubuntu), if missing.
set -euo pipefail
missing=()
for p in libopenblas-dev libhdf5-dev pkg-config; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}"
fi
