#!/usr/bin/env bash
# Long reads (issue 11, item 4): ONT R9.4.1- and R10.4.1-like, PacBio HiFi and CLR reads simulated
# by pbsim from a reference (truth in its MAF), placed by cramjet's long-read path (compress
# --long-reads) and by cramjet's short-read mapper (what it did before), against minimap2 with the
# same preset; CRAM bytes against the peer pipeline minimap2 | samtools sort | samtools view -C.
# Sizes are of reads in sequencer order put back (--keep-order, the default) vs the peer's CRAM,
# which loses it.
#
# Usage: bench/long_reads.sh [FASTA]   (default: the chr2 set)
# Env:   DEPTH (5), CRAMJET, OUT (/tmp/cramjet-bench/long)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
SHARED_DATA=${SHARED_DATA:-$here/../../shared/data}
CRAMJET=${CRAMJET:-$here/../build/cramjet}
OUT=${OUT:-/tmp/cramjet-bench/long}
DEPTH=${DEPTH:-5}
threads=$(nproc)
mkdir -p "$OUT"
fa=${1:-$OUT/chr2.fa}
if [ $# -eq 0 ] && [ ! -f "$fa" ]; then
  zcat "$SHARED_DATA/human-chr2-grch38-2mb/hg38_chr2_1-2333275.fa.gz" | grep -v '^$' >"$fa"
fi
[ -f "$fa.cjidx" ] || "$CRAMJET" index -@ "$threads" "$fa" 2>/dev/null
[ -f "$fa.fai" ] || samtools faidx "$fa"
model=/usr/share/pbsim/models/model_qc_clr
declare -A args=(
  [ont_r9]="--length-mean 8000 --length-sd 7000 --length-max 120000 --accuracy-mean 0.90 --accuracy-sd 0.05 --accuracy-min 0.75 --difference-ratio 23:31:46"
  [ont_r10]="--length-mean 8000 --length-sd 7000 --length-max 120000 --accuracy-mean 0.97 --accuracy-sd 0.02 --accuracy-min 0.85 --difference-ratio 40:25:35"
  [hifi]="--length-min 1000 --length-mean 12000 --length-sd 3000 --length-max 25000 --accuracy-mean 0.995 --accuracy-sd 0.003 --accuracy-min 0.99 --difference-ratio 6:21:73"
  [clr]="--length-mean 8000 --length-sd 6000 --length-max 60000 --accuracy-mean 0.85 --accuracy-sd 0.05 --accuracy-min 0.75 --difference-ratio 10:60:30"
)
declare -A preset=([ont_r9]=ont [ont_r10]=ont [hifi]=hifi [clr]=clr)
declare -A mm=([ont]=map-ont [hifi]=map-hifi [clr]=map-pb)
echo "| kind | reads | cramjet long-read path placed / correct | short-read mapper placed / correct | minimap2 placed / correct | CRAM bytes cramjet / peer |"
echo "|---|---|---|---|---|---|"
for kind in ont_r9 ont_r10 hifi clr; do
  w=$OUT/$kind
  mkdir -p "$w"
  # shellcheck disable=SC2086
  pbsim --prefix "$w/sim" --data-type CLR --depth "$DEPTH" --length-min 100 ${args[$kind]} --model_qc "$model" \
    --seed 20261203 "$fa" >/dev/null 2>&1
  fq=$w/sim_0001.fastq maf=$w/sim_0001.maf p=${preset[$kind]}
  rm -f "$w"/*.cram*
  "$CRAMJET" compress -q -@ "$threads" --no-qc --long-reads "$p" -T "$fa" -o "$w/long.cram" "$fq"
  "$CRAMJET" compress -q -@ "$threads" --no-qc -T "$fa" -o "$w/short.cram" "$fq"
  ours=$(samtools view -T "$fa" "$w/long.cram" | python3 "$here/sim/long_read_judge.py" "$maf")
  short=$(samtools view -T "$fa" "$w/short.cram" | python3 "$here/sim/long_read_judge.py" "$maf")
  minimap2 -a -x "${mm[$p]}" -t "$threads" "$fa" "$fq" 2>/dev/null >"$w/mm.sam"
  peer=$(python3 "$here/sim/long_read_judge.py" "$maf" <"$w/mm.sam")
  samtools sort -@ "$threads" -o - "$w/mm.sam" 2>/dev/null | samtools view -C -T "$fa" -o "$w/peer.cram" -
  read -r n _ _ op oc <<<"$ours"; read -r _ _ _ sp sc <<<"$short"; read -r _ _ _ mp mc <<<"$peer"
  cb=$(stat -c %s "$w/long.cram") pb=$(stat -c %s "$w/peer.cram")
  printf '| %s | %s | %s%% / %s%% | %s%% / %s%% | %s%% / %s%% | %s / %s (%.3f) |\n' "$kind" "$n" "$op" "$oc" "$sp" "$sc" \
    "$mp" "$mc" "$cb" "$pb" "$(awk -v a="$cb" -v b="$pb" 'BEGIN {print a / b}')"
done
