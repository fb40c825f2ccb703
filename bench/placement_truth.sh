#!/usr/bin/env bash
# Placement against truth (issue 11, item 3): pairs simulated with ART (HiSeq 2500) and
# mason_simulator (seqan-apps) from a reference, each read's origin kept in the simulator's SAM (a
# side file; names carry no position), then mapped by cramjet (compress -> CRAM), minimap2 -ax sr
# and bwa mem in the same run. Prints one table row per reference and simulator.
#
# Usage: bench/placement_truth.sh [FASTA...]  (default: the chr2 set, and the synthetic 300 Mb
#        genome of bench/synthetic_genome.sh when it exists)
# Env:   COVERAGE (ART fold coverage, 2), PAIRS_MASON (10000), CRAMJET, OUT (/tmp/cramjet-bench/truth)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
SHARED_DATA=${SHARED_DATA:-$here/../../shared/data}
CRAMJET=${CRAMJET:-$here/../build/cramjet}
OUT=${OUT:-/tmp/cramjet-bench/truth}
COVERAGE=${COVERAGE:-2}
PAIRS_MASON=${PAIRS_MASON:-10000}
MASON=/usr/lib/seqan/bin/mason_simulator
threads=$(nproc)
mkdir -p "$OUT"
refs=("$@")
if ((${#refs[@]} == 0)); then
  # Without its trailing blank line, which mason_simulator's FASTA index rejects.
  [ -f "$OUT/chr2.fa" ] || zcat "$SHARED_DATA/human-chr2-grch38-2mb/hg38_chr2_1-2333275.fa.gz" | grep -v '^$' >"$OUT/chr2.fa"
  refs=("$OUT/chr2.fa")
  [ -f /tmp/cramjet-bench/synthetic/syn300M.fa ] && refs+=(/tmp/cramjet-bench/synthetic/syn300M.fa)
fi
echo "| reference | simulator | reads | cramjet placed / correct | minimap2 -ax sr | bwa mem | cramjet - minimap2 (correct) |"
echo "|---|---|---|---|---|---|---|"
for fa in "${refs[@]}"; do
  name=$(basename "$fa" .fa)
  work=$OUT/$name
  mkdir -p "$work"
  [ -f "$fa.cjidx" ] || "$CRAMJET" index -@ "$threads" "$fa" 2>/dev/null
  [ -f "$fa.bwt" ] || bwa index "$fa" 2>/dev/null
  # ART: coverage-based; mason: a fixed number of pairs.
  art_illumina -ss HS25 -i "$fa" -p -l 150 -f "$COVERAGE" -m 400 -s 50 -rs 20261203 -sam -na -q -o "$work/art" >/dev/null 2>&1
  "$MASON" -q --seed 20261203 -ir "$fa" -n "$PAIRS_MASON" --illumina-read-length 150 --fragment-mean-size 400 \
    --fragment-size-std-dev 50 -o "$work/mason1.fq" -or "$work/mason2.fq" -oa "$work/mason.sam" --num-threads "$threads" >/dev/null 2>&1
  for sim in art mason; do
    r1=$work/${sim}1.fq r2=$work/${sim}2.fq truth=$work/$sim.sam
    rm -f "$work/$sim.cram"
    "$CRAMJET" compress -@ "$threads" -T "$fa" --paired --no-qc "$r1" "$r2" -o "$work/$sim.cram" 2>/dev/null
    ours=$(samtools view -T "$fa" "$work/$sim.cram" | python3 "$here/sim/placement_judge.py" "$truth")
    mm=$(minimap2 -ax sr -t "$threads" "$fa" "$r1" "$r2" 2>/dev/null | python3 "$here/sim/placement_judge.py" "$truth")
    bw=$(bwa mem -t "$threads" "$fa" "$r1" "$r2" 2>/dev/null | python3 "$here/sim/placement_judge.py" "$truth")
    read -r n _ _ op oc <<<"$ours"; read -r _ _ _ mp mc <<<"$mm"; read -r _ _ _ bp bc <<<"$bw"
    printf '| %s | %s | %s | %s%% / %s%% | %s%% / %s%% | %s%% / %s%% | %+.2f |\n' "$name" "$sim" "$n" "$op" "$oc" "$mp" "$mc" "$bp" "$bc" \
      "$(awk -v a="$oc" -v b="$mc" 'BEGIN {print a - b}')"
  done
done
