#!/usr/bin/env bash
# What standard CRAM allows (issue 10, item 6): the encoder options htslib exposes, tried one at a
# time on top of each profile, on cramjet's own records of the real sets (its CRAM decoded to BAM,
# the same records in the same order, MD/NM as cramjet stores them), encoded by `samtools view -C`
# (the same htslib 1.16 that cramjet encodes with). Prints bytes and encode time of each option
# against the profile's default, per set and in total. Not a test.
#
# Usage: bench/encoder_options.sh [SET_REGEX]   Env: BENCH_DIR (/tmp/cramjet-bench; inputs.tsv from
#        bench/prepare_inputs.sh), CRAMJET (build/cramjet), PROFILES ("normal small archive"),
#        THREADS (1: one encoder thread, so times compare), OUT ($BENCH_DIR/options)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
BENCH_DIR=${BENCH_DIR:-/tmp/cramjet-bench}
CRAMJET=${CRAMJET:-$here/../build/cramjet}
PROFILES=${PROFILES:-normal small archive}
THREADS=${THREADS:-1}
OUT=${OUT:-$BENCH_DIR/options}
filter=${1:-.}
mkdir -p "$OUT"
# The records per slice each profile uses (htslib 1.16: 10000, 25000 at small, 100000 at archive).
default_seqs() { case $1 in small) echo 25000 ;; archive) echo 100000 ;; *) echo 10000 ;; esac; }
default_level() { case $1 in small) echo 6 ;; archive) echo 7 ;; *) echo 5 ;; esac; }
variants() {  # profile -> "label option-list" lines (empty option list: the profile's default)
  local p=$1 s l
  s=$(default_seqs "$p") l=$(default_level "$p")
  echo "default -"
  echo "seqs_x2 seqs_per_slice=$((2 * s)),bases_per_slice=$((1000 * s))"
  echo "seqs_x4 seqs_per_slice=$((4 * s)),bases_per_slice=$((2000 * s))"
  echo "slices_4 slices_per_container=4"
  echo "level_$((l + 2)) level=$((l + 2))"
  [ "$p" = archive ] || echo "lzma use_lzma=1"
  [ "$p" = archive ] || echo "arith use_arith=1"
  [ "$p" = normal ] && echo "fqz use_fqz=1"
  [ "$p" = normal ] && echo "bzip2 use_bzip2=1"
  return 0
}
printf 'set\tprofile\tvariant\tbytes\tseconds\n' >"$OUT/options.tsv"
while IFS=$'\t' read -r name ref r1 r2 kind; do
  [ "$name" = name ] && continue
  [ "$kind" = real ] || continue
  [[ $name =~ $filter ]] || continue
  args=("$r1"); [ "$r2" != - ] && args+=("$r2")
  for p in $PROFILES; do
    cram=$OUT/$name.$p.cramjet.cram bam=$OUT/$name.$p.bam
    "$CRAMJET" compress -q --no-qc -@ 2 --profile "$p" -T "$ref" -o "$cram" "${args[@]}"
    samtools view -@ 2 -b -u --no-PG -T "$ref" --input-fmt-option decode_md=0 -o "$bam" "$cram"
    while read -r label opts; do
      fmt="cram,version=3.1,$p"
      [ "$opts" = - ] || fmt="$fmt,$opts"
      /usr/bin/time -f %e -o "$OUT/t" samtools view -@ "$THREADS" -C -T "$ref" -O "$fmt" --no-PG \
        -o "$OUT/v.cram" "$bam" 2>>"$OUT/err.log"
      printf '%s\t%s\t%s\t%s\t%s\n' "$name" "$p" "$label" "$(stat -c %s "$OUT/v.cram")" "$(cat "$OUT/t")" >>"$OUT/options.tsv"
    done < <(variants "$p")
    rm -f "$bam"
  done
done <"$BENCH_DIR/inputs.tsv"
python3 - "$OUT/options.tsv" <<'PY'
import csv, sys, collections
rows = list(csv.DictReader(open(sys.argv[1]), delimiter="\t"))
base = {(r["set"], r["profile"]): r for r in rows if r["variant"] == "default"}
tot = collections.defaultdict(lambda: [0, 0, 0.0, 0.0])
for r in rows:
    b = base[(r["set"], r["profile"])]
    t = tot[(r["profile"], r["variant"])]
    t[0] += int(r["bytes"]); t[1] += int(b["bytes"]); t[2] += float(r["seconds"]); t[3] += float(b["seconds"])
print("| profile | option | bytes (all real sets) | vs profile default | encode time vs default |")
print("|---|---|---|---|---|")
for (p, v), (c, d, s, sd) in sorted(tot.items(), key=lambda kv: (kv[0][0], kv[0][1] != "default", kv[0][1])):
    print(f"| {p} | {v} | {c} | {c/d:.4f} | {s/sd if sd else 0:.2f}x |")
PY
