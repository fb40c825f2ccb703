#!/usr/bin/env bash
# The backlog-recompression workflow (workflow/Snakefile, issue 14 item 3) on real sets: three
# samples (FASTQ pairs of E. coli and of human chrM, an unaligned BAM), compressed, shipped to a
# file:// archive and summarised. The first run is SIGKILLed while it works; after `--unlock` a
# second run finishes it; a third finds nothing to do. Every shipped set is then accepted by
# `cramjet accept`, each sample is in the archive exactly once, and nothing partial is left.
# Exit 77 (skipped) without snakemake, samtools or ../shared/data.
set -u
root=$(cd "$(dirname "$0")/../.." && pwd)
cramjet=${CRAMJET:-$root/build/cramjet}
shared=${CRAMJET_SHARED_DATA:-$root/../shared/data}
for tool in snakemake samtools; do
  command -v "$tool" >/dev/null || { echo "SKIP: $tool not installed (scripts/setup-debian.sh installs it)"; exit 77; }
done
[ -f "$shared/ecoli-10k-paired/reads1.fastq.gz" ] && [ -f "$shared/human-chrM-paired-binned/fastq/micro_R1.fq.gz" ] ||
  { echo "SKIP: shared data not found ($shared)"; exit 77; }
fail() { echo "FAIL: $*"; exit 1; }
w=$(mktemp -d); trap 'rm -rf "$w"' EXIT
cd "$w" || exit 1
source "$root/tests/workflow/workflow_samples.sh"
workflow_make_samples
run() { snakemake -s "$root/workflow/Snakefile" --configfile config.yaml --cores 2 "$@" >>snakemake.log 2>&1; }

# 1. Interrupted: SIGKILL to the whole run once the first compress has started.
setsid snakemake -s "$root/workflow/Snakefile" --configfile config.yaml --cores 2 >>snakemake.log 2>&1 &
pid=$!
for _ in $(seq 1 200); do
  ls results/logs/*.compress.log >/dev/null 2>&1 && break
  sleep 0.05
done
kill -KILL -- "-$pid" 2>/dev/null
wait "$pid" 2>/dev/null
# Whatever carries a final name is whole: each CRAM there verifies against its sidecars.
for cram in results/*/*.cram; do
  [ -e "$cram" ] || continue
  [ -e "$cram.seqchksum" ] || fail "$cram without its .seqchksum after the kill"
  "$cramjet" verify "$cram" >/dev/null || fail "$cram does not verify after the kill"
done
# 2. Resumed.
run --unlock || fail "snakemake --unlock"
run --rerun-incomplete || { cat snakemake.log; fail "the resumed run"; }
# 3. Nothing left to do, nothing shipped again.
before=$(find archive -type f -printf '%p %T@\n' | sort)
run || fail "the third run"
grep -q "Nothing to be done" snakemake.log || fail "the third run did work: $(tail -20 snakemake.log)"
[ "$(find archive -type f -printf '%p %T@\n' | sort)" = "$before" ] || fail "the archive changed on a run with nothing to do"
# Each sample once in the archive, every set accepted, no temporaries anywhere.
workflow_expect_delivered
[ -z "$(find results archive -name '.*.tmp.*' -o -name '*.part')" ] || fail "temporaries left: $(find results archive -name '.*.tmp.*' -o -name '*.part')"
echo "ok: 3 samples compressed, shipped once, accepted; the interrupted run resumed"
