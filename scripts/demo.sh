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

echo "== cramjet index (the mapper's index beside the reference)"
"$cj" index "$demo/demo_ref.fa"
echo "== cramjet compress (FASTQ pair -> reads placed by the mapper -> sorted, verified CRAM)"
"$cj" compress -@ 2 --stats -T "$demo/demo_ref.fa" -o "$out/DEMO1.cram" \
  "$fq/DEMO1_S1_L001_R1_001.fastq.gz" "$fq/DEMO1_S1_L001_R2_001.fastq.gz"
ls -l "$out"
samtools flagstat "$out/DEMO1.cram" 2>/dev/null | grep -E "primary$|primary mapped|properly" || true
echo "== cramjet verify"
"$cj" verify "$out/DEMO1.cram"
echo "== cramjet decompress (sequencer order is kept by default), compared byte for byte with the input"
"$cj" decompress -1 "$out/back_R1.fastq" -2 "$out/back_R2.fastq" "$out/DEMO1.cram"
cmp <(zcat "$fq/DEMO1_S1_L001_R1_001.fastq.gz") "$out/back_R1.fastq"
cmp <(zcat "$fq/DEMO1_S1_L001_R2_001.fastq.gz") "$out/back_R2.fastq"
echo "identical: R1 and R2"

# The appliance path: cramjetd with its SQLite journal watches a runs folder, takes the finished
# run, compresses, verifies, runs QC and ships to a local archive folder (file:// sink).
echo "== cramjetd: the run folder -> journal -> compress, verify, QC -> ship to the archive"
app=$demo/appliance
rm -rf "$app"
mkdir -p "$app/runs" "$app/cram" "$app/archive" "$app/state"
cp -r "$run" "$app/runs/"
cat > "$app/cramjetd.toml" <<TOML
[daemon]
state_dir = "$app/state"
[api]
socket = "$app/state/api.sock"
[[watch]]
path = "$app/runs"
output = "$app/cram"
reference = "demo"
[intake]
rescan_interval_s = 1
min_free_disk_gb = 0
resume_free_disk_gb = 0
[compress]
keep_order = true
[references]
demo = "$demo/demo_ref.fa"
[archive]
enabled = true
url = "file://$app/archive"
TOML
"$root/build/cramjetd" --config "$app/cramjetd.toml" 2>"$app/cramjetd.log" &
daemon=$!
trap 'kill $daemon 2>/dev/null || true' EXIT
export CRAMJET_SOCKET=$app/state/api.sock
state=""
for _ in $(seq 1 300); do
  sleep 1
  state=$("$cj" status --json 2>/dev/null | python3 -c 'import json,sys; j=json.load(sys.stdin)["jobs"]; print("done" if j["done"]>=1 else "failed" if j["failed"] else "")' 2>/dev/null || true)
  [ -n "$state" ] && break
done
"$cj" status
"$cj" jobs
"$cj" drain >/dev/null
wait $daemon || true
trap - EXIT
if [ "$state" != done ]; then
  echo "demo: the daemon did not finish the job (state '${state:-timeout}'); log: $app/cramjetd.log" >&2
  exit 1
fi
echo "== archive (file://$app/archive)"
(cd "$app/archive" && find . -type f | sort)
echo "== done: the CRAM, its proof, QC and manifest are in the archive; journal in $app/state"
