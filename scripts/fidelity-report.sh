#!/usr/bin/env bash
# Reproduces the fidelity table (issue 6 / LEONARDO paper fig. 2) on our data: FMD of LEONARDO samples and of
# each classical process against (a) the LPTEM-like test split and (b) the real experimental trajectories,
# with the intra-class floor and the share classified as LPTEM. Release build; ~2 minutes on 2 cores.
set -euo pipefail
cd "$(dirname "$0")/.."
B=.build/release/gym-runner
[ -x "$B" ] || swift build -c release
D=runs/fidelity; mkdir -p "$D"
N=3202
$B dataset --kind lptem --count 5934 --seed 3 --out "$D/lptem-test.h5" >/dev/null 2>&1
$B dataset --kind lptem --count $N --seed 103 --out "$D/lptem-floor.h5" >/dev/null 2>&1
for k in bm fbm ctrw attm sbm lw; do $B dataset --kind $k --count $N --seed 200 --out "$D/$k.h5" >/dev/null 2>&1; done
$B generate --count $N --seed 7 --out "$D/leonardo.h5" >/dev/null 2>&1
$B generate --prior fitted --count $N --seed 7 --out "$D/leonardo-fitted-prior.h5" >/dev/null 2>&1
C="$D/leonardo.h5 $D/leonardo-fitted-prior.h5 $D/bm.h5 $D/fbm.h5 $D/ctrw.h5 $D/attm.h5 $D/sbm.h5 $D/lw.h5 $D/lptem-floor.h5"
echo "## Against the LPTEM-like test split (5,934 trajectories; 10 draws of 1,000)"
$B fidelity --reference "$D/lptem-test.h5" --candidate $C --seeds 10 --count 1000
echo
echo "## Against the 300 experimental trajectories (first 200 frames of each; 10 draws of 300)"
$B fidelity --reference data/aunr_lptem_300.h5 --candidate $C --seeds 10 --count 300
