#!/usr/bin/env bash
# Reproduces the fidelity table (issue 6 / LEONARDO paper fig. 2) on our data: FMD of LEONARDO samples and of
# each classical process against (a) the LPTEM-like test split and (b) the real experimental trajectories,
# with the intra-class floor and the share classified as LPTEM. Release build; ~4 minutes on 2 cores.
#
# Usage: scripts/fidelity-report.sh [CHECKPOINT [OUTDIR]]
#   CHECKPOINT  a LEONARDO checkpoint with dose calibration and fitted prior (default: the shipped model), to judge a
#               candidate (e.g. a fine-tune after calibrate-dose and fit-prior) on the same reference data.
#   OUTDIR      where the generated files go (default: runs/fidelity).
set -euo pipefail
cd "$(dirname "$0")/.."
B=.build/release/gym-runner
[ -x "$B" ] || swift build -c release
CK=()
if [ $# -ge 1 ]; then
    [ -f "$1" ] || { echo "fidelity-report: checkpoint '$1' not found" >&2; exit 2; }
    CK=(--checkpoint "$1")
fi
D=${2:-runs/fidelity}; mkdir -p "$D"
N=3202
$B data make --overwrite --kind lptem --count 5934 --seed 3 --out "$D/lptem-test.h5" >/dev/null 2>&1
$B data make --overwrite --kind lptem --count $N --seed 103 --out "$D/lptem-floor.h5" >/dev/null 2>&1
for k in bm fbm ctrw attm sbm lw; do $B data make --overwrite --kind $k --count $N --seed 200 --out "$D/$k.h5" >/dev/null 2>&1; done
$B leonardo generate --overwrite "${CK[@]}" --count $N --seed 7 --out "$D/leonardo.h5" >/dev/null 2>&1
$B leonardo generate --overwrite "${CK[@]}" --prior fitted --count $N --seed 7 --out "$D/leonardo-fitted-prior.h5" >/dev/null 2>&1
C="$D/leonardo.h5 $D/leonardo-fitted-prior.h5 $D/bm.h5 $D/fbm.h5 $D/ctrw.h5 $D/attm.h5 $D/sbm.h5 $D/lw.h5 $D/lptem-floor.h5"
echo "## Against the LPTEM-like test split (5,934 trajectories; 10 draws of 1,000)"
$B fidelity --reference "$D/lptem-test.h5" --candidate $C --seeds 10 --count 1000
echo
echo "## Against the 300 experimental trajectories (first 200 frames of each; 10 draws of 300)"
$B fidelity --reference data/aunr_lptem_300.h5 --candidate $C --seeds 10 --count 300

echo
echo "## By dose rate: LEONARDO with the dose axis at the calibrated value (other latents from N(0, I) or from the fitted"
echo "## prior conditioned on it), and with the calibration's residual spread (env-v0 / env-v1: what LiquidCell-v0 / -v1"
echo "## decode at a steady dose rate), against LPTEM-like data at that dose rate"
for spec in "1 1:1.25" "10 9:11" "100 80:100"; do
    set -- $spec
    $B data make --overwrite --kind lptem --count 1000 --seed 301 --dose-range "$2" --out "$D/lptem-dose$1.h5" >/dev/null 2>&1
    $B data make --overwrite --kind lptem --count 1000 --seed 302 --dose-range "$2" --out "$D/lptem-dose$1-floor.h5" >/dev/null 2>&1
    $B leonardo generate --overwrite "${CK[@]}" --dose-rate "$1" --count 1000 --seed 11 --out "$D/leonardo-dose$1.h5" >/dev/null 2>&1
    $B leonardo generate --overwrite "${CK[@]}" --prior fitted --dose-rate "$1" --count 1000 --seed 11 --out "$D/leonardo-fitted-dose$1.h5" >/dev/null 2>&1
    # The environments' steady-state latent law: the dose coordinate with the calibration's residual spread.
    $B leonardo generate --overwrite "${CK[@]}" --dose-rate "$1" --dose-residual --count 1000 --seed 11 --out "$D/env-v0-dose$1.h5" >/dev/null 2>&1
    $B leonardo generate --overwrite "${CK[@]}" --prior fitted --dose-rate "$1" --dose-residual --count 1000 --seed 11 --out "$D/env-v1-dose$1.h5" >/dev/null 2>&1
    echo "### $1 e⁻/Å²/s (LPTEM-like reference: dose rates $2)"
    $B fidelity --reference "$D/lptem-dose$1.h5" --candidate "$D/leonardo-dose$1.h5" "$D/leonardo-fitted-dose$1.h5" \
        "$D/env-v0-dose$1.h5" "$D/env-v1-dose$1.h5" "$D/lptem-dose$1-floor.h5"
done
