#!/usr/bin/env bash
# Gives a trained LEONARDO checkpoint what the environments need: the dose axis (calibrate-dose on dose-labelled
# LPTEM-like trajectories) and the fitted latent prior (fit-prior on the real train particles' windows pooled with
# LPTEM-like trajectories over the whole dose range). Writes a float16 model without optimizer state.
#
# Usage: scripts/calibrate-candidate.sh CHECKPOINT OUT.h5
set -euo pipefail
cd "$(dirname "$0")/.."
[ $# -eq 2 ] || { echo "usage: scripts/calibrate-candidate.sh CHECKPOINT OUT.h5" >&2; exit 2; }
[ -f "$1" ] || { echo "calibrate-candidate: checkpoint '$1' not found" >&2; exit 2; }
B=.build/release/gym-runner
[ -x "$B" ] || swift build -c release
D=runs/calibration; mkdir -p "$D"
[ -f "$D/lptem-dose-labelled.h5" ] || $B data make --overwrite --kind lptem --count 3202 --seed 2 --out "$D/lptem-dose-labelled.h5" >/dev/null 2>&1
$B data split-real --out-dir "$D/real" --window-stride 20 >/dev/null
$B leonardo calibrate-dose --overwrite --checkpoint "$1" --data "$D/lptem-dose-labelled.h5" --out "$2.tmp.h5" | head -2
$B leonardo fit-prior --overwrite --checkpoint "$2.tmp.h5" --data "$D/real/train-windows.h5" --data "$D/lptem-dose-labelled.h5" --out "$2" --float16 | tail -1
rm -f "$2.tmp.h5"
