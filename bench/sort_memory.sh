#!/usr/bin/env bash
# The sort stage alone: time and peak RSS of host/sort's PositionSorter at several budgets, on the
# records minimap2 gives for one input set (in input order, tags removed), against
# `samtools sort -m` at the same budget. Checks the output is in coordinate order.
# Usage: bench/sort_memory.sh SET_NAME [BUDGETS...]   (default budgets: 16M 64M 4G)
# Env:   BENCH_DIR (/tmp/cramjet-bench), BUILD (build: a configured build folder with cramjet_sort
#        built), THREADS (2)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
BENCH_DIR=${BENCH_DIR:-/tmp/cramjet-bench}
BUILD=${BUILD:-$here/../build}
THREADS=${THREADS:-2}
set_name=$1; shift
budgets=("$@"); [ $# -eq 0 ] && budgets=(16M 64M 4G)
row=$(awk -F'\t' -v n="$set_name" '$1==n' "$BENCH_DIR/inputs.tsv")
[ -n "$row" ] || { echo "sort_memory: no set '$set_name' in $BENCH_DIR/inputs.tsv" >&2; exit 1; }
IFS=$'\t' read -r name ref r1 r2 kind <<<"$row"
inputs=("$r1"); [ "$r2" != - ] && inputs+=("$r2")
d=$BENCH_DIR/sort-memory/$name
mkdir -p "$d"
bin=$d/sort_stage
g++ -std=c++20 -O2 -I "$here/../include" -I "$here/../host" -I "$BUILD/generated" \
  "$here/sim/sort_stage.cc" "$BUILD/host/sort/libcramjet_sort.a" "$BUILD/host/common/libcramjet_common.a" \
  $(pkg-config --libs htslib libzstd) -lpthread -o "$bin"
[ -s "$d/unsorted.bam" ] || minimap2 -t "$THREADS" -ax sr "$ref" "${inputs[@]}" 2>/dev/null |
  samtools view -b -1 --keep-tag RG -o "$d/unsorted.bam" -
records=$(samtools view -c "$d/unsorted.bam")
raw=$(samtools view -u "$d/unsorted.bam" | wc -c)
echo "set $name: $records records, $raw bytes as uncompressed BAM"
echo "| tool | budget | wall s | peak RSS MB | runs | sorter peak MB |"
echo "|---|---|---|---|---|---|"
for m in "${budgets[@]}"; do
  /usr/bin/time -v -o "$d/time" "$bin" "$d/unsorted.bam" "$d/sorted.bam" "$m" "$THREADS" >"$d/out"
  samtools view -h "$d/sorted.bam" | awk -F'\t' '
    /^@SQ/ {split($2, a, ":"); idx[a[2]] = n++; next} /^@/ {next}
    {t = ($3 == "*") ? 1e12 : idx[$3]; p = $4 + 0; if (t < pt || (t == pt && p < pp)) bad++; pt = t; pp = p}
    END {if (bad) {print "sort_memory: output NOT in coordinate order" > "/dev/stderr"; exit 1}}'
  w=$(awk -F': ' '/Elapsed/ {n=split($2,a,":"); s=0; for(i=1;i<=n;i++) s=s*60+a[i]; print s}' "$d/time")
  r=$(awk -F': ' '/Maximum resident/ {printf "%.0f", $2/1024}' "$d/time")
  read -r _ _ _ runs _ _ _ peak <"$d/out"
  echo "| cramjet sort | $m | $w | $r | $runs | $(awk -v p="$peak" 'BEGIN{printf "%.0f", p/1048576}') |"
  /usr/bin/time -v -o "$d/time" samtools sort -@ "$THREADS" -m "$(awk -v m="$m" -v t="$THREADS" 'BEGIN{
      u=substr(m,length(m)); v=substr(m,1,length(m)-1); f=(u=="G")?1024:1; printf "%dM", v*f/t}')" \
    -l 1 -T "$d/samtools-tmp" -o "$d/samtools.bam" "$d/unsorted.bam" 2>/dev/null
  w=$(awk -F': ' '/Elapsed/ {n=split($2,a,":"); s=0; for(i=1;i<=n;i++) s=s*60+a[i]; print s}' "$d/time")
  r=$(awk -F': ' '/Maximum resident/ {printf "%.0f", $2/1024}' "$d/time")
  echo "| samtools sort -m (budget/threads each) | $m | $w | $r | - | - |"
done
# Same order whatever the budget and threads: compare record streams of two budgets.
"$bin" "$d/unsorted.bam" "$d/a.bam" "${budgets[0]}" 1 >/dev/null
"$bin" "$d/unsorted.bam" "$d/b.bam" "${budgets[-1]}" "$THREADS" >/dev/null
if cmp -s <(samtools view "$d/a.bam") <(samtools view "$d/b.bam"); then
  echo "order identical at ${budgets[0]}/1 thread and ${budgets[-1]}/$THREADS threads"
else
  echo "ORDER DIFFERS between budgets" && exit 1
fi
