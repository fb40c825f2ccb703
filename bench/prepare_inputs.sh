#!/usr/bin/env bash
# Prepares the benchmark inputs of bench/compress_vs_peer.sh under $BENCH_DIR (default
# /tmp/cramjet-bench), outside the repository; nothing generated here is ever committed.
#
#  1. Real sets from ../shared/data, put into sequencer order (bench/sim/sequencer_order.py):
#     files extracted from coordinate-sorted BAMs are in genome order, which compresses very
#     differently from what a sequencer writes.
#  2. The scale set: SCALE_PAIRS (default 2,000,000) read pairs, 2x150 bp, simulated with
#     art_illumina (HiSeq 2500 profile, 400+-50 bp fragments, fixed seed) from the real E. coli
#     MG1655 genome, renamed to Illumina names in flow-cell order with no genome position in them
#     (bench/sim/illumina_names.py), plus a copy with 4-level NovaSeq-binned qualities (values
#     NOVASEQ_BINS, default 2,11,25,37 = what human-exome-novaseq/VERIFY.txt reports).
#
#  3. Every reference is copied to $BENCH_DIR/refs/SET/ and given its mapper index there
#     (`cramjet index`; `compress` maps FASTQ and needs it), so nothing is written beside the
#     shared data. The copy is what both cramjet and the peer read.
#
# Writes $BENCH_DIR/inputs.tsv: name <TAB> reference <TAB> R1 <TAB> R2-or-'-' <TAB> kind.
# Usage: bench/prepare_inputs.sh [--real-only | --sim-only | --index-only]  (env: BENCH_DIR,
#        SCALE_PAIRS, SHARED_DATA, NOVASEQ_BINS, ART_SEED, CRAMJET (build/cramjet))
#        --index-only redoes step 3 on an existing inputs.tsv (e.g. after the index format changed).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
BENCH_DIR=${BENCH_DIR:-/tmp/cramjet-bench}
SHARED_DATA=${SHARED_DATA:-$(cd "$here/../.." && pwd)/shared/data}
SCALE_PAIRS=${SCALE_PAIRS:-2000000}
NOVASEQ_BINS=${NOVASEQ_BINS:-2,11,25,37}
ART_SEED=${ART_SEED:-20261124}
mode=${1:-all}
CRAMJET=${CRAMJET:-$here/../build/cramjet}

# Step 3 on a manifest: rewrite its reference column to indexed copies under $BENCH_DIR/refs.
index_references() {
  local manifest=$1 out
  [ -x "$CRAMJET" ] || { echo "prepare_inputs: no cramjet binary at $CRAMJET (build first, or set CRAMJET)" >&2; exit 1; }
  out=$(mktemp "$BENCH_DIR/.indexed.XXXXXX")
  while IFS=$'\t' read -r name ref r1 r2 kind; do
    local copy=$BENCH_DIR/refs/$name/$(basename "$ref")
    if [ "$ref" != "$copy" ]; then
      mkdir -p "$(dirname "$copy")"
      cp "$ref" "$copy"
      [ -f "$ref.fai" ] && cp "$ref.fai" "$copy.fai"
      [ -f "$ref.gzi" ] && cp "$ref.gzi" "$copy.gzi"
    fi
    "$CRAMJET" index "$copy" >&2
    printf '%s\t%s\t%s\t%s\t%s\n' "$name" "$copy" "$r1" "$r2" "$kind" >>"$out"
  done <"$manifest"
  mv "$out" "$manifest"
}
if [ "$mode" = --index-only ]; then
  index_references "$BENCH_DIR/inputs.tsv"
  cat "$BENCH_DIR/inputs.tsv"
  exit 0
fi

[ -d "$SHARED_DATA" ] || { echo "prepare_inputs: shared data not found at $SHARED_DATA (set SHARED_DATA)" >&2; exit 1; }
mkdir -p "$BENCH_DIR/inputs"
manifest=$BENCH_DIR/inputs.tsv
tmp_manifest=$(mktemp "$BENCH_DIR/.inputs.XXXXXX")
trap 'rm -f "$tmp_manifest"' EXIT
# Keep the rows of the part we do not rebuild.
if [ -f "$manifest" ]; then
  case $mode in
    --real-only) grep -P '\tsim$' "$manifest" >>"$tmp_manifest" || true ;;
    --sim-only) grep -P '\treal$' "$manifest" >>"$tmp_manifest" || true ;;
  esac
fi

order() {  # name reference R1 [R2]
  local name=$1 ref=$2; shift 2
  local out=$BENCH_DIR/inputs/$name
  local args=()
  for f in "$@"; do args+=("$SHARED_DATA/$f"); done
  python3 "$here/sim/sequencer_order.py" "$out" "${args[@]}"
  if [ $# -eq 2 ]; then
    printf '%s\t%s\t%s\t%s\treal\n' "$name" "$SHARED_DATA/$ref" "${out}_R1.fastq.gz" "${out}_R2.fastq.gz" >>"$tmp_manifest"
  else
    printf '%s\t%s\t%s\t-\treal\n' "$name" "$SHARED_DATA/$ref" "$out.fastq.gz" >>"$tmp_manifest"
  fi
}

if [ "$mode" != --sim-only ]; then
  # Paired sets first, then single-end ones (the exome's 6 samples as one lane's worth of reads).
  order ecoli-10k-paired ecoli-10k-paired/reference_MG1655_first10k.fasta \
    ecoli-10k-paired/reads1.fastq.gz ecoli-10k-paired/reads2.fastq.gz
  order human-chrM-paired-binned human-chrM-paired-binned/chrM_NC_012920.1.fa \
    human-chrM-paired-binned/fastq/micro_R1.fq.gz human-chrM-paired-binned/fastq/micro_R2.fq.gz
  order human-na12878-chr20-21-paired human-na12878-chr20-21-paired/human_g1k_v37.20.21.10M-10M200k.fasta \
    human-na12878-chr20-21-paired/NA12878_20_21_R1.fastq.gz human-na12878-chr20-21-paired/NA12878_20_21_R2.fastq.gz
  order sarscov2-miseq-amplicon sarscov2-miseq-amplicon/MN908947.3.fasta \
    sarscov2-miseq-amplicon/subsample1_1.fastq.gz sarscov2-miseq-amplicon/subsample1_2.fastq.gz
  order ecoli-mg1655-hiseq ecoli-mg1655-hiseq/E.coli.fa ecoli-mg1655-hiseq/E.coli.allreads.fastq.gz
  order human-chrM-na12878 human-chrM-na12878/chrM_hg19.fa \
    human-chrM-na12878/hts-specs/NA12878_chrM_htsspecs.allreads.fastq.gz
  order human-na12878-chr22-tiny human-na12878-chr22-tiny/q.fa \
    human-na12878-chr22-tiny/NA12878.chr22.tiny.allreads.fastq.gz
  # The exome samples as one lane's worth of reads, undemultiplexed: the six samples' reads (one
  # flow cell) together in flow-cell order. Six sorted files back to back would not be an order a
  # sequencer writes; a lab compresses each demultiplexed sample's FASTQ on its own.
  exome=$BENCH_DIR/inputs/human-exome-novaseq
  cat "$SHARED_DATA"/human-exome-novaseq/fastq/Sample[1-6].fastq.gz >"$exome.unsorted.fastq.gz"
  python3 "$here/sim/sequencer_order.py" "$exome" "$exome.unsorted.fastq.gz"
  rm -f "$exome.unsorted.fastq.gz"
  printf '%s\t%s\t%s\t-\treal\n' human-exome-novaseq "$SHARED_DATA/human-exome-novaseq/ref.fa.gz" \
    "$exome.fastq.gz" >>"$tmp_manifest"
fi

if [ "$mode" != --real-only ]; then
  command -v art_illumina >/dev/null || { echo "prepare_inputs: art_illumina not found (apt-get install art-nextgen-simulation-tools)" >&2; exit 1; }
  ref=$SHARED_DATA/ecoli-mg1655-hiseq/E.coli.fa
  name=ecoli-sim-${SCALE_PAIRS}
  sim=$BENCH_DIR/inputs/$name
  work=$(mktemp -d "$BENCH_DIR/.art.XXXXXX")
  echo "prepare_inputs: simulating $SCALE_PAIRS pairs with art_illumina (seed $ART_SEED)" >&2
  art_illumina -ss HS25 -i "$ref" -p -l 150 -c "$SCALE_PAIRS" -m 400 -s 50 -rs "$ART_SEED" \
    -na -q -o "$work/art" >"$work/art.log" 2>&1
  python3 "$here/sim/illumina_names.py" "$work/art1.fq" "$work/art2.fq" "$sim" --bins "$NOVASEQ_BINS"
  rm -rf "$work"
  printf '%s\t%s\t%s\t%s\tsim\n' "$name" "$ref" "${sim}_R1.fastq.gz" "${sim}_R2.fastq.gz" >>"$tmp_manifest"
  printf '%s\t%s\t%s\t%s\tsim\n' "$name-binned" "$ref" "${sim}.binned_R1.fastq.gz" "${sim}.binned_R2.fastq.gz" >>"$tmp_manifest"
fi

index_references "$tmp_manifest"
mv "$tmp_manifest" "$manifest"
trap - EXIT
echo "prepare_inputs: wrote $manifest" >&2
cat "$manifest"
