#!/usr/bin/env bash
# The README's first command: installs what cramjet needs (Debian 12 packages), builds it, makes
# the embedded demo input (a generated reference and a simulated Illumina run; nothing is
# downloaded) and runs the main job on it, printing what it did.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

bash scripts/setup-debian.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j "$(nproc)"
cj=$root/build/cramjet

demo=$root/demo-data
bash scripts/make-demo-input.sh "$demo" 20000 >/dev/null
run=$demo/261124_A00123_0042_AHDEMODSX3
fq=$run/Analysis/1/Data/fastq
out=$demo/out
rm -rf "$out"
mkdir -p "$out"

echo "== cramjet compress (FASTQ pair -> verified CRAM)"
"$cj" compress -@ 2 --stats -T "$demo/demo_ref.fa" -o "$out/DEMO1.cram" \
  "$fq/DEMO1_S1_L001_R1_001.fastq.gz" "$fq/DEMO1_S1_L001_R2_001.fastq.gz"
ls -l "$out"
echo "== cramjet verify"
"$cj" verify "$out/DEMO1.cram"
echo "== cramjet decompress, compared byte for byte with the input"
"$cj" decompress -1 "$out/back_R1.fastq" -2 "$out/back_R2.fastq" "$out/DEMO1.cram"
cmp <(zcat "$fq/DEMO1_S1_L001_R1_001.fastq.gz") "$out/back_R1.fastq"
cmp <(zcat "$fq/DEMO1_S1_L001_R2_001.fastq.gz") "$out/back_R2.fastq"
echo "identical: R1 and R2"
echo "== done: outputs in $out"
