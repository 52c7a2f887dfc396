#!/usr/bin/env bash
# The realism report: LEONARDO checkpoints, the LPTEM-like generator and the six classical processes judged against
# the held-out real test particles (data/aunr_lptem_300-split.json), with the classifier whose LPTEM class is real
# trajectories of the train particles (Environments/models/classifier-real-v1.h5). Release build; ~5 min on 2 cores.
#
# Usage: scripts/realism-report.sh [CHECKPOINT ...]   (default: the two shipped models)
#   REALISM_OUT=DIR   where the generated files go (default: runs/realism)
#   REALISM_COUNT=N   samples per generator (default 2000)
#   REALISM_REFERENCE=validation   compare with the validation particles instead (for choosing between candidates:
#                     the test particles only judge the chosen one)
set -euo pipefail
cd "$(dirname "$0")/.."
B=.build/release/gym-runner
[ -x "$B" ] || swift build -c release
D=${REALISM_OUT:-runs/realism}
N=${REALISM_COUNT:-2000}
REF=${REALISM_REFERENCE:-test}
case "$REF" in test|validation) ;; *) echo "realism-report: REALISM_REFERENCE must be test or validation" >&2; exit 2;; esac
CLS=Environments/models/classifier-real-v1.h5
mkdir -p "$D"
[ $# -gt 0 ] || set -- Environments/models/leonardo-lptem-v0.h5 Environments/models/leonardo-real-v2.h5
for ck in "$@"; do [ -f "$ck" ] || { echo "realism-report: checkpoint '$ck' not found" >&2; exit 2; }; done

# Real windows of 200 frames every 20 frames with their 8 rotations/reflections; the test particles are the reference.
$B data split-real --out-dir "$D/real" --window-stride 20 >/dev/null
MATCH=$($B leonardo match-dose --checkpoint "$1" --data "$D/real/train.h5" | tail -1)
$B data make --overwrite --kind lptem --count "$N" --seed 3 --out "$D/lptem-like.h5" >/dev/null 2>&1
$B data make --overwrite --kind lptem --count "$N" --seed 4 --dose-range "$MATCH:$MATCH" --out "$D/lptem-like-matched.h5" >/dev/null 2>&1
for k in bm fbm ctrw attm sbm lw; do $B data make --overwrite --kind $k --count "$N" --seed 200 --out "$D/$k.h5" >/dev/null 2>&1; done

C=()
echo "## Dose axes and the dose rate each model gives the real train particles (match-dose)"
for ck in "$@"; do
    name=$(basename "$ck" .h5)
    $B leonardo match-dose --checkpoint "$ck" --data "$D/real/train.h5" | head -2 | sed "s/^/- $name: /"
    rate=$($B leonardo match-dose --checkpoint "$ck" --data "$D/real/train.h5" | tail -1)
    $B leonardo generate --overwrite --checkpoint "$ck" --count "$N" --seed 7 --out "$D/$name.h5" >/dev/null 2>&1
    $B leonardo generate --overwrite --checkpoint "$ck" --prior fitted --count "$N" --seed 7 --out "$D/$name-fitted.h5" >/dev/null 2>&1
    $B leonardo generate --overwrite --checkpoint "$ck" --dose-rate "$rate" --dose-residual --count "$N" --seed 7 \
        --out "$D/$name-env-standard.h5" >/dev/null 2>&1
    $B leonardo generate --overwrite --checkpoint "$ck" --prior fitted --dose-rate "$rate" --dose-residual --count "$N" --seed 7 \
        --out "$D/$name-env-fitted.h5" >/dev/null 2>&1
    # The dose rate at which the model's motion statistics match the train particles' (MSD exponent and VACF(1)).
    motion=$($B leonardo match-dose --checkpoint "$ck" --data "$D/real/train.h5" --by-motion | tail -1)
    echo "- $name: motion statistics of the train particles matched at $motion e⁻/Å²/s (match-dose --by-motion)"
    $B leonardo generate --overwrite --checkpoint "$ck" --dose-rate "$motion" --dose-residual --count "$N" --seed 7 \
        --out "$D/$name-env-motion.h5" >/dev/null 2>&1
    C+=("$D/$name.h5" "$D/$name-fitted.h5" "$D/$name-env-standard.h5" "$D/$name-env-fitted.h5" "$D/$name-env-motion.h5")
done
echo
echo "## Against the real $REF particles (45 particles; 200-frame windows every 20 frames, with rotations/reflections)"
echo "Rows: each model with z ~ N(0, I), with its fitted prior, and the environments' latent law at the dose rate the model"
echo "gives the real train particles (dose coordinate at that rate with the calibration's residual spread, the others from"
echo "N(0, I) as LiquidCell-v0/-v2 (-env-standard) or from the fitted prior conditioned on it as LiquidCell-v1"
echo "(-env-fitted)), and the first law at the dose rate whose motion statistics match the train particles'"
echo "(-env-motion); the LPTEM-like generator over its dose range and at that rate ($MATCH e⁻/Å²/s, from the first"
echo "checkpoint); real-validation and real-test: the real particles themselves (the floor and their own % LPTEM)."
cp "$D/real/validation-windows.h5" "$D/real-validation.h5"
cp "$D/real/test-windows.h5" "$D/real-test.h5"
$B fidelity --classifier "$CLS" --reference "$D/real/$REF-windows.h5" --seeds 10 --count 1000 --candidate "${C[@]}" \
    "$D/lptem-like.h5" "$D/lptem-like-matched.h5" "$D/bm.h5" "$D/fbm.h5" "$D/ctrw.h5" "$D/attm.h5" "$D/sbm.h5" "$D/lw.h5" \
    "$D/real-validation.h5" "$D/real-test.h5"
