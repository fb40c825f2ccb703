#!/usr/bin/env bash
# Compresses the real sets in ../shared/data with two cramjet binaries and says whether each CRAM
# (and its .crai and QC JSON) is byte for byte the same. A refactoring that must not change
# behaviour (issue 13) is checked with it: build the old commit, keep its binary, build the new one.
#
#   scripts/compare-cram-bytes.sh OLD_CRAMJET NEW_CRAMJET [WORK_DIR]
#
# Exits 0 when every output matches, 1 when one differs or a run fails, 2 on bad arguments.
set -uo pipefail
if [ $# -lt 2 ]; then
  echo "usage: $0 OLD_CRAMJET NEW_CRAMJET [WORK_DIR]" >&2
  exit 2
fi
old=$(readlink -f "$1") new=$(readlink -f "$2")
for b in "$old" "$new"; do
  [ -x "$b" ] || { echo "$0: '$b' is not an executable" >&2; exit 2; }
done
data=$(readlink -f "$(dirname "$0")/../../shared/data")
[ -d "$data" ] || { echo "$0: no real data at $data" >&2; exit 2; }
work=${3:-$(mktemp -d)}
mkdir -p "$work"
threads=${THREADS:-2}

# name | reference | inputs (relative to the data folder)
sets=(
  "ecoli-10k-paired|ecoli-10k-paired/reference_MG1655_first10k.fasta|ecoli-10k-paired/reads1.fastq.gz ecoli-10k-paired/reads2.fastq.gz"
  "sarscov2-paired|sarscov2-miseq-amplicon/MN908947.3.fasta|sarscov2-miseq-amplicon/subsample1_1.fastq.gz sarscov2-miseq-amplicon/subsample1_2.fastq.gz"
  "chrM-binned-paired|human-chrM-paired-binned/chrM_NC_012920.1.fa|human-chrM-paired-binned/fastq/micro_R1.fq.gz human-chrM-paired-binned/fastq/micro_R2.fq.gz"
  "chrM-lowcov-single|human-chrM-1000g-lowcov/rCRS.fasta|human-chrM-1000g-lowcov/bam/HG03478.MT.allreads.fastq.gz"
  "ecoli-cram|ecoli-mg1655-hiseq/E.coli.fa|ecoli-mg1655-hiseq/E.coli.cram"
  "chr22-bam|human-na12878-chr22-tiny/q.fa|human-na12878-chr22-tiny/NA12878.chr22.tiny.bam"
  "exome-bam|human-exome-novaseq/ref.fa.gz|human-exome-novaseq/bam/Sample1.bam"
  "ecoli-hiseq-single|ecoli-mg1655-hiseq/E.coli.fa|ecoli-mg1655-hiseq/E.coli.allreads.fastq.gz"
)

status=0
for entry in "${sets[@]}"; do
  IFS='|' read -r name ref inputs <<<"$entry"
  args=()
  for i in $inputs; do args+=("$data/$i"); done
  # ../shared/data is never written: the reference (and its mapper index) is a copy in the work
  # folder, made and indexed once, under one path for both sides.
  refcopy="$work/ref/${ref//\//_}"
  refcopy=${refcopy%.gz}
  if [ ! -s "$refcopy" ]; then
    mkdir -p "$work/ref"
    zcat -f "$data/$ref" >"$refcopy" && "$new" index "$refcopy" >/dev/null 2>&1 ||
      { echo "$name: cannot copy and index $ref"; status=1; continue; }
  fi
  failed=0
  for side in old new; do
    bin=$old; [ $side = new ] && bin=$new
    mkdir -p "$work/$side" "$work/run" "$work/bin"
    # The same program path on both sides: the @PG line records the command line.
    cp "$bin" "$work/bin/cramjet"
    # Both sides write the same path, then move aside.
    rm -f "$work/run/$name"*
    if ! "$work/bin/cramjet" compress -q -@ "$threads" -T "$refcopy" -o "$work/run/$name.cram" "${args[@]}" \
        2>"$work/$side/$name.err"; then
      echo "$name: $side run failed: $(tail -1 "$work/$side/$name.err")"
      failed=1
    fi
    for f in "$work/run/$name".* "$work/run/${name}"_*; do [ -e "$f" ] && mv "$f" "$work/$side/"; done
  done
  if [ $failed = 1 ]; then
    # A failure on both sides with the same message is the same behaviour.
    if cmp -s "$work/old/$name.err" "$work/new/$name.err"; then echo "$name: both refuse it the same way"; else status=1; fi
    continue
  fi
  verdict=same
  for f in "$work/old/$name".* "$work/old/${name}"_*; do
    [ -e "$f" ] || continue
    g="$work/new/${f#"$work/old/"}"
    case "$f" in *.err|*.html) continue ;; esac
    if ! cmp -s "$f" "$g"; then verdict="differs (${f##*/})"; status=1; fi
  done
  printf '%-20s %s  %s\n' "$name" "$(md5sum <"$work/new/$name.cram" | cut -c1-12)" "$verdict"
done
exit $status
