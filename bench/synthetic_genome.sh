#!/usr/bin/env bash
# A genome-size synthetic reference (issue 11, item 2) and what `cramjet index` takes on it:
# builds bench/sim/synthetic_genome.cc, makes SIZE bases of human-like sequence with the real
# soft-masked repeats of ../shared/data/human-chr2-grch38-2mb as the repeat library, then times
# `cramjet index` under /usr/bin/time -v (wall, CPU, peak RSS) and reports the index size.
# Synthetic: see bench/README.md ("Synthetic genome") for what it can and cannot tell.
#
# Usage: bench/synthetic_genome.sh [SIZE]   (300000000 by default; 3100000000 for genome size)
# Env:   SHARED_DATA (../shared/data), CRAMJET (build/cramjet), OUT (/tmp/cramjet-bench/synthetic),
#        SEED (20261203), THREADS (all cores)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
SHARED_DATA=${SHARED_DATA:-$here/../../shared/data}
CRAMJET=${CRAMJET:-$here/../build/cramjet}
OUT=${OUT:-/tmp/cramjet-bench/synthetic}
SEED=${SEED:-20261203}
size=${1:-300000000}
THREADS=${THREADS:-$(nproc)}
mkdir -p "$OUT"
library=$SHARED_DATA/human-chr2-grch38-2mb/hg38_chr2_1-2333275.fa.gz
[ -f "$library" ] || { echo "synthetic_genome: $library not found" >&2; exit 1; }
g++ -O2 -std=c++20 -o "$OUT/synthetic_genome" "$here/sim/synthetic_genome.cc"
zcat "$library" >"$OUT/repeat_library.fa"
fa=$OUT/syn$((size / 1000000))M.fa
/usr/bin/time -f "generate: %e s, %M KB peak" "$OUT/synthetic_genome" "$fa" "$size" "$OUT/repeat_library.fa" "$SEED"
rm -f "$fa.cjidx" "$fa.fai"
/usr/bin/time -v "$CRAMJET" index -@ "$THREADS" "$fa" 2>"$OUT/index.time" || { cat "$OUT/index.time" >&2; exit 1; }
wall=$(awk -F': ' '/Elapsed/ {print $2}' "$OUT/index.time")
cpu=$(awk -F': ' '/User time/ {u=$2} /System time/ {s=$2} END {print u + s}' "$OUT/index.time")
rss=$(awk -F': ' '/Maximum resident/ {printf "%.2f", $2 / 1048576}' "$OUT/index.time")
bytes=$(stat -c %s "$fa.cjidx")
printf '| %s bases | %s threads | index build %s wall, %s s CPU | peak RSS %s GiB | index %s bytes (%.2f per base) |\n' \
  "$size" "$THREADS" "$wall" "$cpu" "$rss" "$bytes" "$(awk -v b="$bytes" -v s="$size" 'BEGIN {print b / s}')"
