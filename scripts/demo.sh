#!/usr/bin/env bash
# The main job on the shipped defaults: set up, build (release), benchmark, train a small LEONARDO on the
# shipped experimental trajectories, and sample from it. Outputs go to runs/demo/.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
swift build -c release
bin=.build/release/gym-runner
$bin bench --seconds 1
$bin train-leonardo --data data/aunr_lptem_300.h5 --segment --model small --epochs 3 --batch 32 \
  --out runs/demo/leonardo-small.h5
$bin generate --checkpoint runs/demo/leonardo-small.h5 --count 64 --seed 1 --out runs/demo/generated.h5
