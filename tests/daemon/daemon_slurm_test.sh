#!/usr/bin/env bash
# cramjetd with [executor] kind = "slurm" on a real one-node Slurm that this test starts
# (tests/workflow/slurm_cluster.sh: munged, slurmctld, slurmd; issue 14 items 1 and 2):
#   1. with the partition down, three samples' compress jobs wait in Slurm; `cramjet status` and
#      `cramjet job` say where; one is cancelled with scancel (the daemon submits it again: an
#      attempt) and one through `cramjet retry` (cancelled and submitted again, no attempt);
#   2. the partition comes up and, while Slurm jobs run, cramjetd is SIGKILLed and restarted: it
#      re-attaches to those jobs by the ids in its journal and submits none of them again;
#   3. the node fails (scontrol ... State=DOWN) under a running job: the job ends NODE_FAIL and
#      the daemon runs the stage again once the node is back;
#   4. `cramjet drain` with a job still pending in Slurm cancels it; the daemon exits with the
#      job queued, and the next start runs it.
# Every sample ends in the archive exactly once and `cramjet accept` accepts it.
# Exit 77 (skipped) without Slurm, munge, samtools, root or ../shared/data.
set -u
root=$(cd "$(dirname "$0")/../.." && pwd)
cramjet=${CRAMJET:-$root/build/cramjet}
cramjetd=${CRAMJETD:-$root/build/cramjetd}
shared=${CRAMJET_SHARED_DATA:-$root/../shared/data}
for tool in samtools slurmctld slurmd munged mungekey sbatch squeue scancel scontrol python3; do
  command -v "$tool" >/dev/null || { echo "SKIP: $tool not installed (scripts/setup-debian.sh installs it)"; exit 77; }
done
[ "$(id -u)" -eq 0 ] || { echo "SKIP: the test cluster's daemons run as root"; exit 77; }
e=$shared/ecoli-10k-paired
[ -f "$e/reads1.fastq.gz" ] || { echo "SKIP: shared data not found ($shared)"; exit 77; }
source "$root/tests/workflow/slurm_cluster.sh"
w=$(mktemp -d)
daemon_pid=""
stop_daemon() { [ -n "$daemon_pid" ] && kill -9 "$daemon_pid" 2>/dev/null; wait "$daemon_pid" 2>/dev/null; daemon_pid=""; }
trap 'stop_daemon; slurm_stop; rm -rf "$w"' EXIT
fail() {
  echo "FAIL: $*"
  echo "--- cramjetd log (last 60 lines)"; tail -60 "$w/daemon.log" 2>/dev/null; cp "$w/daemon.log" /tmp/daemon-slurm-failed.log 2>/dev/null
  echo "--- squeue"; squeue --states=all 2>&1 | tail -20
  exit 1
}
cd "$w" || exit 1
slurm_start "$w/slurm" || { echo "SKIP: the one-node test cluster did not start on this machine (logs above)"; exit 77; }
node=$(sinfo -h -N -o '%N' | head -1)

# Three samples of real reads: paired FASTQ, an unaligned BAM, paired FASTQ again.
cp "$e/reference_MG1655_first10k.fasta" mg.fa && "$cramjet" index mg.fa 2>/dev/null || fail "cramjet index"
mkdir -p drop-staging/Ec1 drop-staging/Ec3 drop out archive slurmwork
cp "$e/reads1.fastq.gz" drop-staging/Ec1/Ec1_R1.fastq.gz && cp "$e/reads2.fastq.gz" drop-staging/Ec1/Ec1_R2.fastq.gz
cp drop-staging/Ec1/Ec1_R1.fastq.gz drop-staging/Ec3/Ec3_R1.fastq.gz && cp drop-staging/Ec1/Ec1_R2.fastq.gz drop-staging/Ec3/Ec3_R2.fastq.gz
samtools import -1 "$e/reads1.fastq.gz" -2 "$e/reads2.fastq.gz" -O bam -o drop-staging/Ec2.bam 2>/dev/null || fail "samtools import"
cp -r drop-staging/Ec1 drop-staging/Ec4 && mv drop-staging/Ec4/Ec1_R1.fastq.gz drop-staging/Ec4/Ec4_R1.fastq.gz &&
  mv drop-staging/Ec4/Ec1_R2.fastq.gz drop-staging/Ec4/Ec4_R2.fastq.gz
# What the nodes run: cramjetd, a few seconds late, so that a stage is still running when the test
# kills the daemon or fails the node (these reads take well under a second).
printf '#!/bin/sh\nsleep 4\nexec %s "$@"\n' "$cramjetd" >slow-cramjetd && chmod +x slow-cramjetd
cat >cramjetd.toml <<CONF
[daemon]
state_dir = "$w/state"
[api]
socket = "$w/api.sock"
[drop]
path = "$w/drop"
output = "$w/out"
reference = "mg"
settle_seconds = 0
[intake]
rescan_interval_s = 1
min_free_disk_gb = 0
resume_free_disk_gb = 0
[references]
mg = "$w/mg.fa"
[workers]
max_jobs = 3
threads_per_job = 1
memory_per_job_mb = 512
[executor]
kind = "slurm"
partition = "test"
poll_interval_s = 1
work_dir = "$w/slurmwork"
cramjetd = "$w/slow-cramjetd"
[retry]
max_attempts = 3
delay_s = 1
[qc]
on_fail = "ship"
[archive]
enabled = true
url = "file://$w/archive"
CONF
start_daemon() {
  "$cramjetd" --config cramjetd.toml >>daemon.log 2>&1 &
  daemon_pid=$!
  for _ in $(seq 1 100); do
    "$cramjet" status --socket "$w/api.sock" >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  fail "cramjetd did not start"
}
sql() { python3 -c 'import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); [print("|".join(map(str,r))) for r in c.execute(sys.argv[2])]' "$w/state/journal.sqlite" "$1"; }
wait_for() {  # <seconds> <command...>
  local limit=$1; shift
  for _ in $(seq 1 $((limit * 5))); do "$@" && return 0; sleep 0.2; done
  return 1
}
pending_count() { [ "$(squeue -h -t PENDING -o '%i' | wc -l)" -ge "$1" ]; }
running_count() { [ "$(squeue -h -t RUNNING -o '%i' | wc -l)" -ge "$1" ]; }
slurm_id_of() { sql "SELECT executor_job_id FROM jobs WHERE sample='$1'"; }
resubmitted() { local id; id=$(slurm_id_of "$1"); [ -n "$id" ] && [ "$id" != "$2" ]; }
not_pending() { ! squeue -h -t PENDING -o '%i' | grep -qx "$1"; }
running_for() { local id; id=$(slurm_id_of "$1"); [ -n "$id" ] && squeue -h -t RUNNING -o '%i' | grep -qx "$id"; }
done_count() { [ "$(sql "SELECT count(*) FROM jobs WHERE state='done'")" = "$1" ]; }
daemon_gone() { ! kill -0 "$daemon_pid" 2>/dev/null; }
submitted() { grep -c '_slurm_rpc_submit_batch_job: JobId=' "$w/slurm/log/slurmctld.log"; }

# ---- 1. jobs wait in Slurm; status says where; scancel and `cramjet retry` ---------------------
scontrol update PartitionName=test State=DOWN || fail "scontrol update"
start_daemon
mv drop-staging/Ec1 drop-staging/Ec2.bam drop-staging/Ec3 drop/
wait_for 60 pending_count 3 || fail "three compress jobs did not reach Slurm"
# The daemon commits each id after sbatch answers and the state after its next squeue: waited for.
status_shows_three_pending() {
  status=$("$cramjet" status --socket "$w/api.sock")
  [ "$(echo "$status" | grep -c 'slurm job [0-9]* (PENDING: PartitionDown)')" -eq 3 ]
}
wait_for 30 status_shows_three_pending || fail "status does not show the three pending Slurm jobs: $status"
echo "$status" | grep -q '^executor   slurm' || fail "status does not name the executor: $status"
journal_has_squeues_ids() {
  journal_ids=$(sql "SELECT executor_job_id FROM jobs WHERE executor='slurm' AND executor_job_id<>'' ORDER BY id" | sort)
  [ "$journal_ids" = "$(squeue -h -t PENDING -o '%i' | sort)" ]
}
wait_for 30 journal_has_squeues_ids || fail "the journal's Slurm ids ($journal_ids) are not squeue's"
job1=$(sql "SELECT id FROM jobs WHERE sample='Ec1'")
slurm1=$(sql "SELECT executor_job_id FROM jobs WHERE sample='Ec1'")
job_says_pending() { "$cramjet" job "$job1" --socket "$w/api.sock" | grep -q "runs on    slurm job $slurm1 (PENDING, compress)"; }
wait_for 30 job_says_pending || fail "cramjet job does not say where it runs: $("$cramjet" job "$job1" --socket "$w/api.sock")"
scancel "$slurm1" || fail "scancel"
wait_for 30 resubmitted Ec1 "$slurm1" ||
  fail "the scancelled job was not submitted again"
[ "$(sql "SELECT attempts FROM jobs WHERE sample='Ec1'")" = 1 ] || fail "the scancel did not count as an attempt"
grep -q "was cancelled (scancel) before it finished" daemon.log || fail "the cancellation is not in the log"
job2=$(sql "SELECT id FROM jobs WHERE sample='Ec2'")
slurm2=$(sql "SELECT executor_job_id FROM jobs WHERE sample='Ec2'")
retry=$("$cramjet" retry "$job2" --socket "$w/api.sock") || fail "cramjet retry of a pending Slurm job: $retry"
[ "$retry" = "job $job2: cancelling Slurm job $slurm2; its compress stage is submitted again" ] || fail "retry said: $retry"
wait_for 30 not_pending "$slurm2" ||
  fail "Slurm job $slurm2 was not cancelled"
wait_for 30 resubmitted Ec2 "$slurm2" || fail "the retried job was not submitted again"
[ "$(sql "SELECT attempts FROM jobs WHERE sample='Ec2'")" = 0 ] || fail "an operator's retry counted as an attempt"

# ---- 2. SIGKILL while Slurm jobs run; the restarted daemon re-attaches -------------------------
scontrol update PartitionName=test State=UP || fail "scontrol update"
wait_for 60 running_count 1 || fail "no Slurm job started running"
running=$(squeue -h -t RUNNING -o '%i' | sort)
before=$(submitted)
kill -9 "$daemon_pid"; wait "$daemon_pid" 2>/dev/null; daemon_pid=""
attached=""  # "<job id>:<stage>" of each Slurm job running at the kill
for id in $running; do
  jid=$(sql "SELECT id FROM jobs WHERE executor_job_id='$id'")
  [ -n "$jid" ] || fail "running Slurm job $id is not in the journal"
  attached="$attached $jid:$(sql "SELECT json_extract(extra, '\$.executor.stage') FROM jobs WHERE id=$jid")"
done
# A daemon started with the local executor now would run those stages here while the Slurm jobs
# write the same outputs: refused, naming the jobs.
sed 's/^kind = "slurm"/kind = "local"/' cramjetd.toml >cramjetd-local.toml
if local_err=$(timeout 60 "$cramjetd" --config cramjetd-local.toml 2>&1); then fail "cramjetd started with kind = local"; fi
echo "$local_err" | grep -q 'but job(s) .* wait on Slurm jobs submitted under kind = "slurm"' ||
  fail "the local executor's refusal does not say why: $local_err"
restart_line=$(wc -l <daemon.log)
start_daemon
for id in $running; do
  wait_for 30 grep -q "re-attached to Slurm job $id\$" daemon.log || fail "not re-attached to Slurm job $id"
done
# Those Slurm jobs finish, and none of their stages was submitted a second time.
none_running() { for id in $running; do squeue -h -t PENDING,RUNNING -o '%i' | grep -qx "$id" && return 1; done; return 0; }
wait_for 120 none_running || fail "the re-attached Slurm jobs did not finish"
sleep 2
for js in $attached; do
  tail -n +"$restart_line" daemon.log | grep -q "^<6>job ${js%%:*} ([^)]*) ${js#*:}: Slurm job [0-9]* submitted" &&
    fail "job ${js%%:*}'s ${js#*:} was submitted again after the restart instead of re-attached"
done

# ---- 3. a node failure under a running job -----------------------------------------------------
# Ec4 arrives now; its compress runs (4 s late) when the node fails.
mv drop-staging/Ec4 drop/
wait_for 90 running_for Ec4 || fail "Ec4's Slurm job did not start running"
victim=$(slurm_id_of Ec4)
victim_job=$(sql "SELECT id FROM jobs WHERE sample='Ec4'")
scontrol update NodeName="$node" State=DOWN Reason=cramjet-test || fail "scontrol update node down"
wait_for 60 grep -q "Slurm job $victim was lost with its node" daemon.log || fail "the node failure was not seen"
# Back in service: by hand, unless slurmd's next registration already did it (ReturnToService=2).
node_up() { sinfo -h -N -n "$node" -o '%t' | grep -qE '^(idle|mix|alloc)'; }
node_up || scontrol update NodeName="$node" State=RESUME 2>/dev/null
wait_for 60 node_up || fail "the node did not come back: $(sinfo -N)"

wait_for 400 done_count 4 ||
  fail "the four jobs did not finish: $(sql 'SELECT id,sample,state,stage,attempts,last_error FROM jobs')"
[ "$(sql "SELECT attempts FROM jobs WHERE id=$victim_job")" -ge 1 ] || fail "the node failure did not count as an attempt"

# ---- 4. drain cancels a job still pending in Slurm ---------------------------------------------
scontrol update PartitionName=test State=DOWN || fail "scontrol update"
mkdir -p drop-staging/Ec5 && cp drop/Ec1/Ec1_R1.fastq.gz drop-staging/Ec5/Ec5_R1.fastq.gz &&
  cp drop/Ec1/Ec1_R2.fastq.gz drop-staging/Ec5/Ec5_R2.fastq.gz && mv drop-staging/Ec5 drop/
wait_for 60 pending_count 1 || fail "Ec5's compress did not reach Slurm"
pending5=$(squeue -h -t PENDING -o '%i' | head -1)
"$cramjet" drain --socket "$w/api.sock" >/dev/null || fail "cramjet drain"
wait_for 60 daemon_gone || fail "the drained daemon did not exit"
wait "$daemon_pid" 2>/dev/null; daemon_pid=""
[ "$(sql "SELECT state || ' ' || executor_job_id FROM jobs WHERE sample='Ec5'")" = "queued " ] ||
  fail "after the drain Ec5 is $(sql "SELECT state, executor_job_id FROM jobs WHERE sample='Ec5'")"
squeue -h -t PENDING -o '%i' | grep -qx "$pending5" && fail "drain left Slurm job $pending5 pending"
scontrol update PartitionName=test State=UP || fail "scontrol update"
start_daemon
wait_for 200 done_count 5 ||
  fail "Ec5 did not finish after the drain: $(sql 'SELECT id,sample,state,stage,attempts,last_error FROM jobs')"

# ---- every sample archived exactly once, verified, accepted ------------------------------------
for s in Ec1 Ec2 Ec3 Ec4 Ec5; do
  [ "$(find archive -path "*/$s/manifest.json" | wc -l)" -eq 1 ] || fail "$s: not exactly one manifest in the archive"
  dir=$(dirname "$(find archive -path "*/$s/manifest.json")")
  samtools view -H "out/$s.cram" | grep -o 'M5:[0-9a-f]*' | cut -c4- >"known-$s.txt"
  "$cramjet" accept "$dir" --known-references "known-$s.txt" --receipt "receipt-$s.json" 2>>accept.log ||
    fail "$s: the archive does not accept it: $(cat accept.log)"
  [ "$(sql "SELECT shipped FROM jobs WHERE sample='$s'")" = 1 ] || fail "$s: not marked shipped"
done
[ "$(sql "SELECT count(*) FROM jobs WHERE executor<>'slurm' OR executor_job_id<>''")" = 0 ] ||
  fail "a job ran outside Slurm or still names a Slurm job: $(sql 'SELECT id,executor,executor_job_id FROM jobs')"
[ -z "$(find slurmwork -name exit)" ] || fail "a finished Slurm job's folder was left: $(find slurmwork -name exit)"
echo "ok: 5 samples through cramjetd on Slurm ($(submitted) Slurm jobs; $before before the SIGKILL): scancel and" \
     "retry resubmitted, re-attached after SIGKILL, node failure retried, drain cancelled a pending job;" \
     "each sample archived once and accepted"
