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
e=$shared/ecoli-10k-paired m=$shared/human-chrM-paired-binned
# References copied: the mapper index is built beside them, never in the shared data.
cp "$e/reference_MG1655_first10k.fasta" mg.fa && cp "$m/chrM_NC_012920.1.fa" chrM.fa
"$cramjet" index mg.fa 2>/dev/null && "$cramjet" index chrM.fa 2>/dev/null || fail "cramjet index"
samtools import -1 "$e/reads1.fastq.gz" -2 "$e/reads2.fastq.gz" -O bam -o ub.bam 2>/dev/null || fail "samtools import"
printf 'sample\treference\tinputs\n# one line per sample\nEc1\tmg.fa\t%s,%s\nEc2\tmg.fa\tub.bam\nChrM\tchrM.fa\t%s,%s\n' \
  "$e/reads1.fastq.gz" "$e/reads2.fastq.gz" "$m/fastq/micro_R1.fq.gz" "$m/fastq/micro_R2.fq.gz" >samples.tsv
mkdir archive
printf 'samples: samples.tsv\noutput: results\narchive: file://%s/archive\nthreads: 1\nmem_mb: 1024\ncramjet: %s\n' \
  "$w" "$cramjet" >config.yaml
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
[ "$(tail -n +2 results/summary.tsv | wc -l)" -eq 3 ] || fail "summary rows: $(cat results/summary.tsv)"
# 3. Nothing left to do, nothing shipped again.
before=$(find archive -type f -printf '%p %T@\n' | sort)
run || fail "the third run"
grep -q "Nothing to be done" snakemake.log || fail "the third run did work: $(tail -20 snakemake.log)"
[ "$(find archive -type f -printf '%p %T@\n' | sort)" = "$before" ] || fail "the archive changed on a run with nothing to do"
# Each sample once in the archive, every set accepted, no temporaries anywhere.
for s in Ec1 Ec2 ChrM; do
  [ "$(find archive -path "*/$s/manifest.json" | wc -l)" -eq 1 ] || fail "$s: not exactly one manifest in the archive"
  dir=$(dirname "$(find archive -path "*/$s/manifest.json")")
  awk -F'\t' -v s="$s" '$1 == s && $7 != "" && $10 != "" {ok=1} END {exit !ok}' results/summary.tsv || fail "$s: summary row"
  samtools view -H "results/$s/$s.cram" | grep -o 'M5:[0-9a-f]*' | cut -c4- >"known-$s.txt"
  "$cramjet" accept "$dir" --known-references "known-$s.txt" --receipt "receipt-$s.json" 2>>accept.log ||
    fail "$s: the archive does not accept it: $(cat accept.log)"
done
[ -z "$(find results archive -name '.*.tmp.*' -o -name '*.part')" ] || fail "temporaries left: $(find results archive -name '.*.tmp.*' -o -name '*.part')"
echo "ok: 3 samples compressed, shipped once, accepted; the interrupted run resumed"
