#!/usr/bin/env bash
# The Slurm test: brings up a single-node Slurm on this machine (Debian's slurm-wlm and munge; munged, slurmctld and
# slurmd started here and stopped by PID), then through sbatch
#   1. a 4-shard sweep job array and its merge job: the merged HDF5 must be byte-identical to `gym-runner design sweep`
#      without shards;
#   2. a 2 agents × 2 seeds training study: one array task is killed mid-run (scancel), the study is re-submitted,
#      and it must finish with every other task's files untouched and summary.csv identical to a local run.
# Needs root and apt-get; elsewhere it says why it is skipped and exits 0. Usage: bash scripts/slurm/test-slurm.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$(pwd)

if [ "$(id -u)" -ne 0 ]; then
  echo "slurm test skipped: it needs root to install and start munged, slurmctld and slurmd"; exit 0
fi
if ! command -v apt-get >/dev/null; then
  echo "slurm test skipped: it needs apt-get (Debian/Ubuntu) to install slurm-wlm and munge"; exit 0
fi
missing=()
for p in slurm-wlm munge; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if [ ${#missing[@]} -gt 0 ]; then
  echo "== installing ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi

GYM=${GYM_RUNNER:-$ROOT/.build/release/gym-runner}
[ -x "$GYM" ] || swift build -c release --product gym-runner
WORK=$(mktemp -d /tmp/mg-slurm.XXXXXX)
export SLURM_CONF=$WORK/slurm.conf
PIDS=()
cleanup() {
  scancel --user=root >/dev/null 2>&1 || true
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
}
trap cleanup EXIT
fail() { echo "SLURM TEST FAILED: $*"; for f in "$WORK"/*.log; do echo "--- $f"; tail -20 "$f"; done; exit 1; }

echo "== starting munged, slurmctld and slurmd (work folder $WORK)"
mkdir -p /run/munge && chown munge:munge /run/munge
[ -s /etc/munge/munge.key ] || { dd if=/dev/urandom bs=1 count=1024 of=/etc/munge/munge.key 2>/dev/null; chown munge:munge /etc/munge/munge.key; chmod 400 /etc/munge/munge.key; }
runuser -u munge -- /usr/sbin/munged --foreground --force --pid-file=/run/munge/munged-test.pid \
  >"$WORK/munged.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 50); do [ -S /run/munge/munge.socket.2 ] && break; sleep 0.1; done
HOST=$(hostname -s)   # addressed as 127.0.0.1, so the test needs no resolvable host name
NODE=$(slurmd -C | head -1)   # NodeName=... CPUs=... RealMemory=... as slurmd detects them
mkdir -p "$WORK/state" "$WORK/spool"
cat > "$SLURM_CONF" <<CONF
ClusterName=microscopegym-test
SlurmctldHost=$HOST(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
SlurmctldPort=16817
SlurmdPort=16818
StateSaveLocation=$WORK/state
SlurmdSpoolDir=$WORK/spool
SlurmctldPidFile=$WORK/slurmctld.pid
SlurmdPidFile=$WORK/slurmd.pid
SlurmctldLogFile=$WORK/slurmctld.log
SlurmdLogFile=$WORK/slurmd.log
ProctrackType=proctrack/pgid
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
SchedulerType=sched/backfill
ReturnToService=2
MpiDefault=none
$NODE NodeAddr=127.0.0.1 State=UNKNOWN
PartitionName=test Nodes=$HOST Default=YES MaxTime=INFINITE State=UP
CONF
slurmctld -D -f "$SLURM_CONF" >"$WORK/slurmctld.out.log" 2>&1 &
PIDS+=($!)
slurmd -D -f "$SLURM_CONF" >"$WORK/slurmd.out.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 120); do
  state=$(sinfo -h -o %T 2>/dev/null | head -1 || true)
  [ "$state" = "idle" ] && break
  sleep 0.5
done
[ "$state" = "idle" ] || fail "the node did not come up (state '$state')"
echo "node $HOST is idle"

wait_queue() {  # waits until no job of ours is pending or running (at most $1 s)
  for _ in $(seq "$1"); do
    [ -z "$(squeue -h -o %i 2>/dev/null)" ] && return 0
    sleep 1
  done
  squeue; fail "jobs still queued after $1 s"
}

SLURM_OPTS=(--cpus-per-task 1 --memory 1G --time 00:20:00 --throttle 2)

echo "== 1. sweep: 4 shards through sbatch against the unsharded run"
SWEEP=(--env LiquidCell-v2 --dose 2:50:3 --frame-rate 6.25:25:2 --episodes 2 --seed 77)
"$GYM" design sweep "${SWEEP[@]}" --out "$WORK/local-sweep.h5" >/dev/null
"$GYM" slurm sweep --dir "$WORK/sweep" --shards 4 "${SLURM_OPTS[@]}" --submit -- "${SWEEP[@]}"
wait_queue 600
[ -f "$WORK/sweep/sweep.h5" ] || fail "the merge job wrote no sweep.h5 (logs in $WORK/sweep/logs)"
cmp "$WORK/sweep/sweep.h5" "$WORK/local-sweep.h5" || fail "the merged sweep differs from the unsharded one"
echo "merged sweep is byte-identical to the unsharded sweep"

echo "== 2. study: 2 agents x 2 seeds, one task killed mid-run, then re-submitted"
TRAIN=(--steps 800 --eval-every 400 --eval-episodes 2 --test-episodes 4 --sweep-episodes 1 --checkpoint-every 200)
"$GYM" study plan --dir "$WORK/local-study" --agents dqn,bandit --envs LiquidCell-v2 --seeds 1,2 -- "${TRAIN[@]}" >/dev/null
"$GYM" study run --dir "$WORK/local-study" >/dev/null
"$GYM" study aggregate --dir "$WORK/local-study" >/dev/null
"$GYM" slurm study --dir "$WORK/study" --agents dqn,bandit --envs LiquidCell-v2 --seeds 1,2 "${SLURM_OPTS[@]}" \
  --submit -- "${TRAIN[@]}"
ARRAY=$(squeue -h -n mg-study -o %F | head -1)
VICTIM="$WORK/study/runs/dqn-LiquidCell-v2-seed1"
for _ in $(seq 600); do [ -f "$VICTIM/checkpoint.h5" ] && break; sleep 0.5; done
[ -f "$VICTIM/checkpoint.h5" ] || fail "task 0 wrote no checkpoint"
scancel "${ARRAY}_0"
echo "killed array task ${ARRAY}_0 mid-run"
for _ in $(seq 600); do
  [ -z "$(squeue -h -n mg-study -o %i)" ] && break; sleep 1
done
scancel -n mg-study-aggregate   # its dependency can no longer be satisfied
wait_queue 60
[ -f "$VICTIM/summary.json" ] && fail "the killed task finished anyway (kill it earlier)"
snapshot() {
  (cd "$WORK/study/runs" && find . -path ./dqn-LiquidCell-v2-seed1 -prune -o -type f -printf '%p %T@ %s\n' | sort \
    && find . -path ./dqn-LiquidCell-v2-seed1 -prune -o -type f -exec sha256sum {} + | sort)
}
snapshot > "$WORK/before.txt"
bash "$WORK/study/submit.sh"
wait_queue 900
snapshot > "$WORK/after.txt"
cmp "$WORK/before.txt" "$WORK/after.txt" || fail "re-submission touched the other tasks' files"
[ -f "$WORK/study/summary.csv" ] || fail "the aggregation job wrote no summary.csv"
grep -q "resuming" "$WORK"/study/logs/task-*_0.out || fail "the killed task did not resume from its checkpoint"
cmp "$WORK/study/summary.csv" "$WORK/local-study/summary.csv" || {
  diff "$WORK/study/summary.csv" "$WORK/local-study/summary.csv"; fail "the study's summary differs from the local run"; }
echo "study finished after the re-submission; other tasks untouched; summary.csv identical to the local run"
cat "$WORK/study/summary.md"
echo "SLURM TEST PASSED"
