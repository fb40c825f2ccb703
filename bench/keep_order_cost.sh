#!/usr/bin/env bash
# What a per-read input index costs in the CRAM: the same sorted records encoded with and without
# an `oi` integer tag holding each record's input index (what cramjet gave every read before the
# order rules, and what it still gives the reads that break them: docs/sort.md), at each profile. Records come from minimap2 (input order), the tag is added in input order,
# then samtools sort and samtools view -C (same htslib as cramjet). In SAM text the tag is typed
# `i`, which htslib stores in the smallest type (C/S/I); past 65,536 records nearly all values are
# type I, as cramjet writes them.
# Usage: bench/keep_order_cost.sh SET_NAME   (a row of $BENCH_DIR/inputs.tsv)
# Env:   BENCH_DIR (/tmp/cramjet-bench), THREADS (2), PROFILES, CRAM_VERSION (3.1)
set -euo pipefail
BENCH_DIR=${BENCH_DIR:-/tmp/cramjet-bench}
THREADS=${THREADS:-2}
PROFILES=${PROFILES:-fast normal small archive}
CRAM_VERSION=${CRAM_VERSION:-3.1}
set_name=$1
row=$(awk -F'\t' -v n="$set_name" '$1==n' "$BENCH_DIR/inputs.tsv")
[ -n "$row" ] || { echo "keep_order_cost: no set '$set_name' in $BENCH_DIR/inputs.tsv" >&2; exit 1; }
IFS=$'\t' read -r name ref r1 r2 kind <<<"$row"
inputs=("$r1"); [ "$r2" != - ] && inputs+=("$r2")
d=$BENCH_DIR/keep-order/$name
mkdir -p "$d"
minimap2 -t "$THREADS" -ax sr "$ref" "${inputs[@]}" 2>/dev/null |
  samtools view -h --keep-tag RG - |
  awk -v OFS='\t' '/^@/ {print; next} {print $0, "oi:i:" n++}' |
  samtools sort -@ "$THREADS" -o "$d/with.bam" -
samtools view -@ "$THREADS" -b -x oi -o "$d/without.bam" "$d/with.bam"
records=$(samtools view -c "$d/with.bam")
echo "| set | profile | records | CRAM without tag | CRAM with oi | bytes/read for oi | bits/read |"
echo "|---|---|---|---|---|---|---|"
for p in $PROFILES; do
  for v in with without; do
    samtools view -@ "$THREADS" -C -T "$ref" -O "cram,version=$CRAM_VERSION,$p" -o "$d/$v.$p.cram" "$d/$v.bam" 2>/dev/null
  done
  a=$(stat -c %s "$d/without.$p.cram"); b=$(stat -c %s "$d/with.$p.cram")
  awk -v n="$name" -v p="$p" -v r="$records" -v a="$a" -v b="$b" \
    'BEGIN {printf "| %s | %s | %d | %d | %d | %.3f | %.2f |\n", n, p, r, a, b, (b-a)/r, 8*(b-a)/r}'
done
awk -v r="$records" 'BEGIN {printf "Lower bound for any per-read index (log2(N!)/N): %.2f bits/read\n", (log(r)/log(2)) - 1/log(2)}'
