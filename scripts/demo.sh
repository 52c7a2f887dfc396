#!/usr/bin/env bash
# The main job on the shipped defaults: set up, build (release), check the environment, and run a DQN training
# session on LiquidCell-v0 (20,000 steps, ~13 minutes on 2 cores) that ends with a saved policy, a learning
# curve and a comparison against random, fixed, heuristic and the best fixed setting. Outputs: runs/dqn/.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
swift build -c release
bin=.build/release/gym-runner
$bin check --env LiquidCell-v0
$bin --agent dqn --env LiquidCell-v0 --out runs/dqn --overwrite "$@"
