#!/usr/bin/env bash
# What QC costs (issue 4: "QC adds at most 10% wall time"). Not a test: prints medians and ratios.
#
# Mode "compress" (used when `cramjet compress --help` lists --no-qc, i.e. the pipeline calls the
# QC collector): the same input compressed with QC and with --no-qc, alternating, REPEATS times
# each, in the same run; prints the median wall times and with/without (target <= 1.10).
#
# Mode "standalone" (until compress has --no-qc): `cramjet qc FILE` against `samtools stats FILE`
# on the same file (both decode the same records and compute comparable statistics), and against
# `samtools view -c FILE` (decode alone: the floor). Prints medians and the ratios.
#
# Inputs: $BENCH_DIR/inputs.tsv from bench/prepare_inputs.sh (name, reference, R1, R2|-, kind);
# without it, the real E. coli CRAM and FASTQ from ../shared/data.
# Usage: bench/qc/bench_qc.sh [SET_NAME_REGEX]
# Env:   CRAMJET (build/cramjet), BENCH_DIR (/tmp/cramjet-bench), REPEATS (5), THREADS (2),
#        MODE (auto | compress | standalone), SHARED_DATA (../shared/data)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
CRAMJET=${CRAMJET:-$here/../../build/cramjet}
BENCH_DIR=${BENCH_DIR:-/tmp/cramjet-bench}
REPEATS=${REPEATS:-5}
THREADS=${THREADS:-2}
MODE=${MODE:-auto}
SHARED_DATA=${SHARED_DATA:-$(cd "$here/../../.." && pwd)/shared/data}
filter=${1:-.}

[ -x "$CRAMJET" ] || { echo "bench_qc: no cramjet binary at $CRAMJET (set CRAMJET)" >&2; exit 1; }
command -v /usr/bin/time >/dev/null || { echo "bench_qc: /usr/bin/time not found (package time)" >&2; exit 1; }
work=$(mktemp -d "${TMPDIR:-/tmp}/cramjet-bench-qc.XXXXXX")
trap 'rm -rf "$work"' EXIT

if [ "$MODE" = auto ]; then
  if "$CRAMJET" compress --help 2>/dev/null | grep -q -- '--no-qc'; then MODE=compress; else MODE=standalone; fi
fi

# wall seconds of one command (stdout/stderr discarded); its CPU seconds (user+sys) are appended
# to $work/cpu.<tag> when CPU_TAG is set. Fails loudly when the command fails.
wall() {
  local t=$work/time.txt
  if ! /usr/bin/time -f '%e %U %S' -o "$t" "$@" >/dev/null 2>"$work/err.txt"; then
    echo "bench_qc: command failed: $*" >&2; cat "$work/err.txt" >&2; exit 1
  fi
  [ -n "${CPU_TAG:-}" ] && awk '{ printf "%.2f\n", $2 + $3 }' "$t" >>"$work/cpu.$CPU_TAG"
  awk '{ print $1 }' "$t"
}
median() { sort -g | awk '{a[NR]=$1} END {if (NR % 2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.3f", a / b; else print "n/a" }'; }

# Rows: name <TAB> reference <TAB> R1 <TAB> R2|- ; plus, for standalone mode, BAM/CRAM files.
sets=$work/sets.tsv
if [ -f "$BENCH_DIR/inputs.tsv" ]; then
  cut -f1-4 "$BENCH_DIR/inputs.tsv" >"$sets"
else
  echo "bench_qc: $BENCH_DIR/inputs.tsv not found (bench/prepare_inputs.sh makes it); using the real E. coli set" >&2
  printf 'ecoli-mg1655-hiseq\t%s\t%s\t-\n' "$SHARED_DATA/ecoli-mg1655-hiseq/E.coli.fa" \
    "$SHARED_DATA/ecoli-mg1655-hiseq/E.coli.allreads.fastq.gz" >"$sets"
  printf 'ecoli-mg1655-hiseq-cram\t%s\t%s\t-\n' "$SHARED_DATA/ecoli-mg1655-hiseq/E.coli.fa" \
    "$SHARED_DATA/ecoli-mg1655-hiseq/E.coli.cram" >>"$sets"
fi

echo "# bench_qc mode=$MODE repeats=$REPEATS threads=$THREADS cramjet=$CRAMJET ($(date -u +%FT%TZ), $(nproc) cores)"
if [ "$MODE" = compress ]; then
  echo "# wall: median seconds; cpu: median user+sys seconds (all threads). Other load on the machine moves wall, not cpu."
  printf '%-32s %10s %10s %8s %10s %10s %8s %s\n' set with_qc_s no_qc_s ratio with_cpu no_cpu cpu_ratio verdict
  while IFS=$'\t' read -r name ref r1 r2; do
    [[ $name =~ $filter ]] || continue
    inputs=("$r1"); [ "$r2" != - ] && inputs+=("$r2")
    : >"$work/with"; : >"$work/without"; : >"$work/cpu.with"; : >"$work/cpu.without"
    for ((i = 0; i < REPEATS; i++)); do  # alternate so drift affects both alike
      CPU_TAG=with wall "$CRAMJET" compress -@ "$THREADS" -T "$ref" -o "$work/with.cram" "${inputs[@]}" >>"$work/with"
      rm -f "$work"/with.* "$work"/with_mqc.json
      CPU_TAG=without wall "$CRAMJET" compress -@ "$THREADS" --no-qc -T "$ref" -o "$work/without.cram" "${inputs[@]}" >>"$work/without"
      rm -f "$work"/without.*
    done
    with=$(median <"$work/with"); without=$(median <"$work/without"); r=$(ratio "$with" "$without")
    cw=$(median <"$work/cpu.with"); cn=$(median <"$work/cpu.without"); cr=$(ratio "$cw" "$cn")
    verdict=$(awk -v r="$r" 'BEGIN { print (r != "n/a" && r <= 1.10) ? "ok (wall <= 1.10)" : "OVER 1.10" }')
    printf '%-32s %10s %10s %8s %10s %10s %8s %s\n' "$name" "$with" "$without" "$r" "$cw" "$cn" "$cr" "$verdict"
  done <"$sets"
else
  command -v samtools >/dev/null || { echo "bench_qc: samtools not found" >&2; exit 1; }
  echo "# compress has no --no-qc yet: cramjet qc against samtools stats and a bare decode of the same file"
  printf '%-32s %12s %14s %12s %14s %14s\n' set cramjet_qc_s samtools_stats_s decode_s qc/stats qc/decode
  while IFS=$'\t' read -r name ref r1 r2; do
    [[ $name =~ $filter ]] || continue
    inputs=("$r1"); [ "$r2" != - ] && inputs+=("$r2")
    # samtools reads one file; pairs are measured on R1 alone for the peer, both files for cramjet
    # would not compare, so only R1 is used on both sides.
    : >"$work/qc"; : >"$work/stats"; : >"$work/decode"
    for ((i = 0; i < REPEATS; i++)); do
      wall "$CRAMJET" qc -@ "$THREADS" -T "$ref" -o "$work/q" "$r1" >>"$work/qc"
      wall samtools stats -@ "$THREADS" --reference "$ref" "$r1" >>"$work/stats"
      wall samtools view -c -@ "$THREADS" -T "$ref" "$r1" >>"$work/decode"
    done
    q=$(median <"$work/qc"); s=$(median <"$work/stats"); d=$(median <"$work/decode")
    printf '%-32s %12s %14s %12s %14s %14s\n' "$name" "$q" "$s" "$d" "$(ratio "$q" "$s")" "$(ratio "$q" "$d")"
  done <"$sets"
fi
