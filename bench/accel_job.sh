#!/usr/bin/env bash
# Whole-job wall time per accelerator backend (issue 12): `cramjet compress` of one real read set
# with --accel scalar, simd and opencl (and opencl:P:D for every OpenCL device listed by
# `cramjet --version`), median of REPEATS runs each, and whether the CRAM bytes equal scalar's.
# Every run writes o.cram in a folder of its own, so the file definitions are the same.
#
# Usage: bench/accel_job.sh [R1.fastq.gz [R2.fastq.gz]]   (env: CRAMJET, REF, REPEATS (3), THREADS (2))
# Default set: the real E. coli MG1655 HiSeq reads of ../shared/data.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
CRAMJET=${CRAMJET:-$here/../build/cramjet}
shared=${CRAMJET_SHARED_DATA:-$here/../../shared/data}
REPEATS=${REPEATS:-3}
THREADS=${THREADS:-2}
inputs=("${@:-$shared/ecoli-mg1655-hiseq/E.coli.allreads.fastq.gz}")
work=$(mktemp -d /tmp/cramjet-accel-job.XXXXXX)
trap 'rm -rf "$work"' EXIT
REF=${REF:-$shared/ecoli-mg1655-hiseq/E.coli.fa}
zcat -f "$REF" > "$work/ref.fa"
"$CRAMJET" index "$work/ref.fa" 2>/dev/null
backends=(scalar simd opencl)
while read -r id; do backends+=("opencl:$id"); done < <("$CRAMJET" --version | sed -n 's/^opencl device \([0-9]*:[0-9]*\):.*/\1/p')
printf '%-14s %10s %10s  %s\n' backend "wall_s" "vs_simd" "bytes"
declare -A wall
for b in "${backends[@]}"; do
  dir="$work/${b//:/_}"
  mkdir -p "$dir"
  times=()
  for _ in $(seq "$REPEATS"); do
    start=$(date +%s.%N)
    if ! (cd "$dir" && "$CRAMJET" compress -q -@ "$THREADS" --accel "$b" -T "$work/ref.fa" -o o.cram "${inputs[@]}" 2> err.txt); then
      echo "$b: $(tail -1 "$dir/err.txt")" >&2
      continue 2
    fi
    end=$(date +%s.%N)
    times+=("$(echo "$end - $start" | bc)")
  done
  wall[$b]=$(printf '%s\n' "${times[@]}" | sort -n | sed -n "$(( (REPEATS + 1) / 2 ))p")
  same=same
  [ "$b" = scalar ] || cmp -s "$dir/o.cram" "$work/scalar/o.cram" || same=DIFFERS
  ratio=$( [ -n "${wall[simd]:-}" ] && echo "scale=2; ${wall[$b]} / ${wall[simd]}" | bc || echo -)
  printf '%-14s %10.2f %10s  %s\n' "$b" "${wall[$b]}" "$ratio" "$same"
done
