#!/usr/bin/env bash
# Mapper speed on a genome-size index (issue 11, item 3; docs/mapper.md, "Speed on a genome-size
# index"): single-end ART HiSeq 2500 reads from a synthetic genome of bench/synthetic_genome.sh,
# then bench_mapper's Genome benchmark (one thread, reads per CPU second) beside E. coli's, RUNS
# times each so that the noise of a shared machine shows.
#
# Usage: bench/mapper_genome.sh [FASTA]   (default /tmp/cramjet-bench/synthetic/syn3100M.fa)
# Env:   BUILD (build), COVERAGE (ART fold coverage, 0.01 = ~200k reads at 3.1 Gb), RUNS (3),
#        OUT (/tmp/cramjet-bench/mapper_genome)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
BUILD=${BUILD:-$here/../build}
OUT=${OUT:-/tmp/cramjet-bench/mapper_genome}
COVERAGE=${COVERAGE:-0.01}
RUNS=${RUNS:-3}
fa=${1:-/tmp/cramjet-bench/synthetic/syn3100M.fa}
[ -f "$fa" ] || { echo "mapper_genome: '$fa' not found (bench/synthetic_genome.sh 3100000000 makes it)" >&2; exit 1; }
mkdir -p "$OUT"
"$BUILD/cramjet" index -@ "$(nproc)" "$fa" >/dev/null 2>&1 || true  # no-op when the index is current
reads=$OUT/$(basename "$fa" .fa).fq
if [ ! -s "$reads" ]; then
  art_illumina -ss HS25 -i "$fa" -l 150 -f "$COVERAGE" -rs 20261203 -na -q -o "$OUT/art" >/dev/null 2>&1
  mv "$OUT/art.fq" "$reads"
fi
cat "$fa.cjidx" >/dev/null  # warm the page cache: the benchmark measures mapping, not disk reads
for ((i = 1; i <= RUNS; i++)); do
  CRAMJET_BENCH_GENOME_FASTA=$fa CRAMJET_BENCH_GENOME_READS=$reads \
    "$BUILD/bench/bench_mapper" --benchmark_filter='Genome|MapSimulatedEcoli/simd' --benchmark_min_time=5 2>/dev/null |
    grep -o '^BM_[A-Za-z]*\|reads_per_cpu_s=[0-9.kM]*' | paste -sd' '
done
