#!/usr/bin/env bash
# The backlog-recompression workflow on a real Slurm (issue 14 items 2 and 3): a one-node cluster
# started by this test (slurm_cluster.sh), the workflow through workflow/profiles/slurm-sbatch.
# While the partition is held down, one compress job is cancelled with scancel; Snakemake sees it
# fail and submits it again. Every sample is then compressed, shipped once and accepted.
# Exit 77 (skipped) without snakemake, samtools, Slurm, munge, root or ../shared/data.
set -u
root=$(cd "$(dirname "$0")/../.." && pwd)
cramjet=${CRAMJET:-$root/build/cramjet}
shared=${CRAMJET_SHARED_DATA:-$root/../shared/data}
for tool in snakemake samtools slurmctld slurmd munged mungekey sbatch scancel scontrol; do
  command -v "$tool" >/dev/null || { echo "SKIP: $tool not installed (scripts/setup-debian.sh installs it)"; exit 77; }
done
[ "$(id -u)" -eq 0 ] || { echo "SKIP: the test cluster's daemons run as root"; exit 77; }
[ -f "$shared/ecoli-10k-paired/reads1.fastq.gz" ] && [ -f "$shared/human-chrM-paired-binned/fastq/micro_R1.fq.gz" ] ||
  { echo "SKIP: shared data not found ($shared)"; exit 77; }
source "$root/tests/workflow/slurm_cluster.sh"
fail() { echo "FAIL: $*"; [ -f "$w/snakemake.log" ] && tail -40 "$w/snakemake.log"; exit 1; }
w=$(mktemp -d)
trap 'slurm_stop; rm -rf "$w"' EXIT
cd "$w" || exit 1
# A machine where slurmd cannot run (no root-owned spool, no loopback, a hostname Slurm cannot
# use) skips, loudly, with the daemons' logs printed above: the workflow's own test still runs.
slurm_start "$w/slurm" || { echo "SKIP: the one-node test cluster did not start on this machine (logs above)"; exit 77; }
source "$root/tests/workflow/workflow_samples.sh"
workflow_make_samples

# Jobs wait while the partition is down: one of them is cancelled before it can run.
scontrol update PartitionName=test State=DOWN || fail "scontrol update"
snakemake -s "$root/workflow/Snakefile" --configfile config.yaml --profile "$root/workflow/profiles/slurm-sbatch" \
  >snakemake.log 2>&1 &
sm=$!
cancelled=""
for _ in $(seq 1 300); do
  cancelled=$(squeue -h -n cramjet-compress -o '%i' | head -1)
  [ -n "$cancelled" ] && break
  sleep 0.1
done
[ -n "$cancelled" ] || fail "no compress job reached Slurm"
scancel "$cancelled" || fail "scancel $cancelled"
scontrol update PartitionName=test State=UP || fail "scontrol update"
wait "$sm" || fail "the workflow on Slurm"
[ "$(scontrol -o show job "$cancelled" | grep -o 'JobState=[A-Z_]*')" = "JobState=CANCELLED" ] ||
  fail "job $cancelled was not the cancelled one: $(scontrol -o show job "$cancelled")"
grep -q "Trying to restart job" snakemake.log || fail "the cancelled job was not submitted again"
workflow_expect_delivered
jobs_run=$(grep -c 'sched: Allocate JobId=' "$w/slurm/log/slurmctld.log")
[ "$jobs_run" -ge 6 ] || fail "only $jobs_run Slurm jobs ran (3 compress, 3 ship)"
echo "ok: the workflow ran on Slurm ($jobs_run jobs; job $cancelled cancelled and run again), 3 samples shipped once and accepted"
