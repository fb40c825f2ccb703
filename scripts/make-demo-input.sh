#!/usr/bin/env bash
# Generates the embedded demo input under DIR (default ./demo-data, ignored by git): a seeded
# random 200 kb reference, 2x150 bp read pairs simulated from it with art_illumina (Debian's
# art-nextgen-simulation-tools), renamed to Illumina names in flow-cell order, laid out as an
# Illumina run folder with RunInfo.xml, SampleSheet.csv, RTAComplete.txt and CopyComplete.txt.
# Nothing is downloaded. Usage: scripts/make-demo-input.sh [DIR] [PAIRS]
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
dir=${1:-$here/demo-data}
pairs=${2:-20000}
mkdir -p "$dir"
cd "$dir"

if [ ! -s demo_ref.fa ]; then
  python3 - <<'PY'
import random
random.seed(20261124)
with open("demo_ref.fa", "w") as f:
    for name, size in (("demo_chr1", 150000), ("demo_chr2", 50000)):
        f.write(f">{name}\n")
        seq = "".join(random.choice("ACGT") for _ in range(size))
        for i in range(0, size, 60):
            f.write(seq[i:i + 60] + "\n")
PY
fi

run=261124_A00123_0042_AHDEMODSX3
fq=$run/Analysis/1/Data/fastq
if [ ! -s "$fq/DEMO1_S1_L001_R2_001.fastq.gz" ]; then
  mkdir -p "$fq" sim
  # Coverage chosen so the pair count is about $pairs: pairs*300 bp / 200 kb.
  cov=$(( pairs * 300 / 200000 ))
  art_illumina -ss HS25 -i demo_ref.fa -p -l 150 -f "$cov" -m 400 -s 50 -rs 42 -na -o sim/demo_ >/dev/null 2>&1
  python3 "$here/bench/sim/illumina_names.py" sim/demo_1.fq sim/demo_2.fq sim/DEMO1 \
    --flowcell HDEMODSX3 --run 42 --instrument A00123 --seed 7 >/dev/null
  mv sim/DEMO1_R1.fastq.gz "$fq/DEMO1_S1_L001_R1_001.fastq.gz"
  mv sim/DEMO1_R2.fastq.gz "$fq/DEMO1_S1_L001_R2_001.fastq.gz"
  rm -rf sim
  cat > "$run/RunInfo.xml" <<'XML'
<?xml version="1.0"?>
<RunInfo Version="6">
  <Run Id="261124_A00123_0042_AHDEMODSX3" Number="42">
    <Flowcell>HDEMODSX3</Flowcell>
    <Instrument>A00123</Instrument>
    <Date>11/24/2026</Date>
    <Reads>
      <Read Number="1" NumCycles="150" IsIndexedRead="N"/>
      <Read Number="2" NumCycles="8" IsIndexedRead="Y"/>
      <Read Number="3" NumCycles="150" IsIndexedRead="N"/>
    </Reads>
    <FlowcellLayout LaneCount="1" SurfaceCount="2" SwathCount="4" TileCount="78"/>
  </Run>
</RunInfo>
XML
  cat > "$run/SampleSheet.csv" <<'CSV'
[Header]
FileFormatVersion,2
RunName,cramjet-demo
InstrumentPlatform,NovaSeq

[Reads]
Read1Cycles,150
Read2Cycles,150

[BCLConvert_Settings]
SoftwareVersion,3.9.3

[BCLConvert_Data]
Sample_ID,Index
DEMO1,ACGTACGT
CSV
  touch "$run/RTAComplete.txt" "$run/CopyComplete.txt"
fi
echo "$dir"
