#!/usr/bin/env bash
# Aligned input against `samtools view -C` (issue 10, item 4): every BAM set in ../shared/data,
# re-encoded by `cramjet compress` and by `samtools view -C` at the same CRAM version and profile,
# in the same run. cramjet leaves out MD/NM the reference regenerates, as samtools does by default,
# and proves the result (its verification pass is in its time). Not a test: prints a table.
#
# Usage: bench/aligned_vs_samtools.sh      Env: SHARED_DATA (../shared/data), CRAMJET (build/cramjet),
#        THREADS (2), REPEATS (3: median wall time), PROFILES ("fast normal small archive"),
#        CRAM_VERSION (3.1), OUT (/tmp/cramjet-bench/aligned)
# Writes OUT/aligned.tsv (raw) and prints a Markdown table; `cramjet inspect` of both CRAMs of
# each set and profile goes to OUT/SET.PROFILE.{cramjet,samtools}.inspect.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
SHARED_DATA=${SHARED_DATA:-$here/../../shared/data}
CRAMJET=${CRAMJET:-$here/../build/cramjet}
THREADS=${THREADS:-2}
REPEATS=${REPEATS:-3}
PROFILES=${PROFILES:-fast normal small archive}
CRAM_VERSION=${CRAM_VERSION:-3.1}
OUT=${OUT:-/tmp/cramjet-bench/aligned}
mkdir -p "$OUT"
# set name, BAM, reference (relative to SHARED_DATA)
sets=(
  "exome-s1 human-exome-novaseq/bam/Sample1.bam human-exome-novaseq/ref.fa.gz"
  "exome-s2 human-exome-novaseq/bam/Sample2.bam human-exome-novaseq/ref.fa.gz"
  "exome-s3 human-exome-novaseq/bam/Sample3.bam human-exome-novaseq/ref.fa.gz"
  "exome-s4 human-exome-novaseq/bam/Sample4.bam human-exome-novaseq/ref.fa.gz"
  "exome-s5 human-exome-novaseq/bam/Sample5.bam human-exome-novaseq/ref.fa.gz"
  "exome-s6 human-exome-novaseq/bam/Sample6.bam human-exome-novaseq/ref.fa.gz"
  "chrM-level9 human-chrM-na12878/hts-specs/level-9.bam human-chrM-na12878/chrM_hg19.fa"
  "chrM-strelka human-chrM-na12878/strelka/NA12878_chrM_200-200.bam human-chrM-na12878/chrM_hg19.fa"
  "chr22-tiny human-na12878-chr22-tiny/NA12878.chr22.tiny.bam human-na12878-chr22-tiny/q.fa"
)
median() { sort -g | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
wall() { /usr/bin/time -f %e -o "$OUT/t" "$@" >/dev/null 2>>"$OUT/err.log"; cat "$OUT/t"; }
printf 'set\tprofile\tcramjet_bytes\tsamtools_bytes\tcramjet_s\tsamtools_s\n' >"$OUT/aligned.tsv"
for row in "${sets[@]}"; do
  read -r name bam ref <<<"$row"
  [ -f "$SHARED_DATA/$bam" ] || { echo "skip $name: $SHARED_DATA/$bam missing" >&2; continue; }
  for profile in $PROFILES; do
    cj=$OUT/$name.$profile.cramjet.cram st=$OUT/$name.$profile.samtools.cram
    cjt=() stt=()
    for _ in $(seq "$REPEATS"); do
      rm -f "$cj" "$cj".* "$st"
      cjt+=("$(wall "$CRAMJET" compress -q --no-qc -@ "$THREADS" --cram-version "$CRAM_VERSION" \
        --profile "$profile" -T "$SHARED_DATA/$ref" -o "$cj" "$SHARED_DATA/$bam")")
      stt+=("$(wall samtools view -@ "$THREADS" -C -T "$SHARED_DATA/$ref" \
        -O "cram,version=$CRAM_VERSION,$profile" -o "$st" "$SHARED_DATA/$bam")")
    done
    "$CRAMJET" inspect "$cj" >"${cj%.cram}.inspect" 2>/dev/null || true
    "$CRAMJET" inspect "$st" >"${st%.cram}.inspect" 2>/dev/null || true
    printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$name" "$profile" "$(stat -c %s "$cj")" "$(stat -c %s "$st")" \
      "$(printf '%s\n' "${cjt[@]}" | median)" "$(printf '%s\n' "${stt[@]}" | median)" >>"$OUT/aligned.tsv"
  done
done
python3 - "$OUT/aligned.tsv" <<'PY'
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1]), delimiter="\t"))
print("| set | profile | cramjet bytes | samtools bytes | size cj/st | wall cj s | wall st s |")
print("|---|---|---|---|---|---|---|")
tot = {}
for r in rows:
    c, s = int(r["cramjet_bytes"]), int(r["samtools_bytes"])
    t = tot.setdefault(r["profile"], [0, 0])
    t[0] += c; t[1] += s
    mark = "" if c <= 1.01 * s else " MISS"
    print(f"| {r['set']} | {r['profile']} | {c} | {s} | {c/s:.4f}{mark} | {r['cramjet_s']} | {r['samtools_s']} |")
for p, (c, s) in tot.items():
    print(f"| all | {p} | {c} | {s} | {c/s:.4f} | | |")
print("\nTarget: size cj/st <= 1.01 on every set at every profile ('MISS' marks a miss).")
PY
