#!/usr/bin/env bash
# End-to-end benchmark of `cramjet compress` against the peer pipeline and against the floor
# (issue 3), on the same machine in the same run. Not a test: it prints a table of ratios.
#
#   peer:   minimap2 -ax sr REF R1 [R2] | samtools sort | samtools view -C   (same CRAM version and
#           profile, minimap2's tags removed with `--keep-tag RG`, i.e. none kept: minimap2 writes no RG)
#   floor:  the unavoidable work done by the same tools alone: zcat of the FASTQ.gz inputs, then
#           `samtools view -C` (same version/profile) of a BAM of the peer's sorted, tag-free records,
#           then `samtools view` decoding that CRAM (to uncompressed BAM on /dev/null); the three
#           wall times added up.
#   cramjet: cramjet compress -@ THREADS --cram-version V --profile P -T REF -o OUT R1 [R2]
#           (its verification pass included, as the CLI always verifies).
#
# Every command runs under /usr/bin/time -v; each figure is the median of REPEATS runs. For the
# peer, CPU and peak RSS are summed over the three processes of the pipeline (they run at the same
# time, so the RSS sum is an upper bound of the pipeline's peak).
# Placement = primary mapped / primary records from `samtools flagstat`; a cramjet CRAM with no
# mapped read is marked "UNALIGNED" (the mapper is not wired into compress yet when that shows).
#
# Inputs: $BENCH_DIR/inputs.tsv from bench/prepare_inputs.sh.
# Usage: bench/compress_vs_peer.sh [SET_NAME_REGEX]
# Env:   BENCH_DIR (/tmp/cramjet-bench), CRAMJET (build/cramjet), THREADS (2), REPEATS (3),
#        PROFILES ("normal small archive"), CRAM_VERSION (3.1), SKIP_FLOOR=1, SKIP_PEER=1,
#        RESULTS ($BENCH_DIR/results.tsv: raw medians, one row per set/profile/tool),
#        CHECK_DETERMINISM=1 (also compress with 1 thread and compare the CRAM bytes)
# Also writes, per set and profile, where cramjet's bytes differ from the peer's, series by series
# (`cramjet inspect` of both CRAMs, bench/sim/series_table.py): $BENCH_DIR/SET/series-PROFILE.md,
# all of them appended to $BENCH_DIR/series.md.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
BENCH_DIR=${BENCH_DIR:-/tmp/cramjet-bench}
CRAMJET=${CRAMJET:-$here/../build/cramjet}
# Extra compress arguments, e.g. CRAMJET_ARGS="--map" (the references in inputs.tsv must then have
# a `cramjet index` beside them, so copy read-only ones first).
read -r -a cramjet_args <<<"${CRAMJET_ARGS:-}"
THREADS=${THREADS:-2}
REPEATS=${REPEATS:-3}
PROFILES=${PROFILES:-normal small archive}
CRAM_VERSION=${CRAM_VERSION:-3.1}
filter=${1:-.}
manifest=$BENCH_DIR/inputs.tsv
[ -f "$manifest" ] || { echo "compress_vs_peer: $manifest missing: run bench/prepare_inputs.sh first" >&2; exit 1; }
for tool in minimap2 samtools /usr/bin/time; do
  command -v "$tool" >/dev/null || { echo "compress_vs_peer: $tool not found" >&2; exit 1; }
done
have_cramjet=1
[ -x "$CRAMJET" ] || { echo "compress_vs_peer: no cramjet binary at $CRAMJET: cramjet rows skipped" >&2; have_cramjet=0; }

work=$BENCH_DIR/run
mkdir -p "$work"
results=${RESULTS:-$BENCH_DIR/results.tsv}
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
log=$BENCH_DIR/bench.log
: >"$log"
printf 'set\tprofile\ttool\twall_s\tcpu_s\trss_kb\tbytes\tplaced_pct\tnote\n' >"$results"

# time_fields FILE -> "wall cpu rss_kb" from a /usr/bin/time -v report.
time_fields() {
  awk -F': ' '
    /User time/ {u=$2} /System time/ {s=$2} /Maximum resident/ {r=$2}
    /Elapsed \(wall clock\)/ {n=split($2,a,":"); w=0; for(i=1;i<=n;i++) w=w*60+a[i]}
    END {printf "%.3f %.3f %d\n", w, u+s, r}' "$1"
}
# sum_fields FILE... -> wall of the first, CPU and RSS summed.
sum_fields() {
  local w c r first=1 tw=0 tc=0 tr=0
  for f in "$@"; do
    read -r w c r < <(time_fields "$f")
    if [ $first = 1 ]; then tw=$w; first=0; fi
    tc=$(awk -v a="$tc" -v b="$c" 'BEGIN{printf "%.3f", a+b}')
    tr=$((tr + r))
  done
  echo "$tw $tc $tr"
}
median() { sort -g | awk '{a[NR]=$1} END {if (NR==0) print "nan"; else if (NR%2) print a[(NR+1)/2]; else printf "%.3f\n", (a[NR/2]+a[NR/2+1])/2}'; }
placed() {  # CRAM REF -> percent of primary records mapped
  samtools flagstat -@ 2 --input-fmt-option reference="$2" "$1" 2>>"$log" | awk '
    / primary$/ {p=$1} / primary mapped / {m=$1}
    END {if (p>0) printf "%.2f", 100*m/p; else print "nan"}'
}
filesize() { stat -c %s "$1"; }

# record SET PROFILE TOOL NOTE BYTES PLACED then lines "wall cpu rss" on stdin -> medians row.
record() {
  local set=$1 profile=$2 tool=$3 note=$4 bytes=$5 placed_pct=$6 rows
  rows=$(cat)
  local w c r
  w=$(awk '{print $1}' <<<"$rows" | median)
  c=$(awk '{print $2}' <<<"$rows" | median)
  r=$(awk '{print $3}' <<<"$rows" | median)
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$set" "$profile" "$tool" "$w" "$c" "$r" "$bytes" \
    "$placed_pct" "$note" >>"$results"
}

while IFS=$'\t' read -r name ref r1 r2 kind; do
  [[ $name =~ $filter ]] || continue
  inputs=("$r1"); [ "$r2" != - ] && inputs+=("$r2")
  gz_bytes=0; for f in "${inputs[@]}"; do gz_bytes=$((gz_bytes + $(filesize "$f"))); done
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$name" - fastq.gz 0 0 0 "$gz_bytes" nan "$kind" >>"$results"
  echo "== $name ($kind, ${#inputs[@]} file(s), $gz_bytes bytes gz)" >&2
  d=$work/$name
  mkdir -p "$d"
  # The peer's sorted, tag-free records (untimed), for the floor.
  if [ -z "${SKIP_FLOOR:-}" ] && [ ! -s "$d/peer_sorted.bam" ]; then
    minimap2 -t "$THREADS" -ax sr "$ref" "${inputs[@]}" 2>>"$log" |
      samtools view -u --keep-tag RG - 2>>"$log" | samtools sort -@ "$THREADS" -o "$d/peer_sorted.bam" - 2>>"$log"
  fi
  for profile in $PROFILES; do
    fmt="cram,version=$CRAM_VERSION,$profile"
    # ---- cramjet
    if [ $have_cramjet = 1 ]; then
      single=(--paired); [ ${#inputs[@]} = 1 ] && single=(--single)
      rows=""; ok=1
      for rep in $(seq "$REPEATS"); do
        rm -f "$d/cramjet.cram"*
        # Relative -o, so that the determinism check below can give the same command line.
        if ! (cd "$d" && /usr/bin/time -v -o "$d/cj.time" "$CRAMJET" compress -q -@ "$THREADS" "${cramjet_args[@]}" \
            --cram-version "$CRAM_VERSION" --profile "$profile" -T "$ref" -o cramjet.cram \
            "${single[@]}" "${inputs[@]}") >>"$log" 2>&1; then
          ok=0; echo "   cramjet compress failed (see $log): $(tail -1 "$log")" >&2; break
        fi
        rows+="$(time_fields "$d/cj.time")"$'\n'
      done
      if [ $ok = 1 ]; then
        pct=$(placed "$d/cramjet.cram" "$ref")
        note=aligned; [ "$pct" = 0.00 ] && note=UNALIGNED
        # Same input, 1 thread: the CRAM must be byte-identical (issue 3: deterministic output).
        if [ -n "${CHECK_DETERMINISM:-}" ]; then
          mkdir -p "$d/t1"
          rm -f "$d/t1/cramjet.cram"*
          (cd "$d/t1" && "$CRAMJET" compress -q -@ 1 "${cramjet_args[@]}" --cram-version "$CRAM_VERSION" \
            --profile "$profile" -T "$ref" -o cramjet.cram "${single[@]}" "${inputs[@]}") >>"$log" 2>&1 || true
          # @PG CL leaves -@ out, and -o is the same relative name: the bytes must be equal.
          if cmp -s "$d/cramjet.cram" "$d/t1/cramjet.cram"; then note+=",same-bytes-at-1-thread"
          else note+=",DIFFERS-at-1-thread"; fi
        fi
        printf '%s' "$rows" | record "$name" "$profile" cramjet "$note" "$(filesize "$d/cramjet.cram")" "$pct"
      else
        printf '0 0 0\n' | record "$name" "$profile" cramjet FAILED 0 nan
      fi
    fi
    # ---- peer
    if [ -z "${SKIP_PEER:-}" ]; then
      rows=""
      for rep in $(seq "$REPEATS"); do
        rm -f "$d/peer.cram"
        /usr/bin/time -v -o "$d/peer.time" bash -c '
          set -o pipefail
          /usr/bin/time -v -o "$1/mm.time" minimap2 -t "$2" -ax sr "$3" "${@:6}" 2>>"$1/peer.err" |
          /usr/bin/time -v -o "$1/sort.time" samtools sort -@ "$2" -l 1 - 2>>"$1/peer.err" |
          /usr/bin/time -v -o "$1/view.time" samtools view -@ "$2" -C -T "$3" -O "$4" --keep-tag RG \
            -o "$5" - 2>>"$1/peer.err"' _ "$d" "$THREADS" "$ref" "$fmt" "$d/peer.cram" "${inputs[@]}"
        read -r w _ _ < <(time_fields "$d/peer.time")
        read -r _ c r < <(sum_fields "$d/mm.time" "$d/sort.time" "$d/view.time")
        rows+="$w $c $r"$'\n'
      done
      printf '%s' "$rows" | record "$name" "$profile" peer minimap2+sort+view "$(filesize "$d/peer.cram")" \
        "$(placed "$d/peer.cram" "$ref")"
    fi
    # ---- floor
    if [ -z "${SKIP_FLOOR:-}" ]; then
      rows=""
      for rep in $(seq "$REPEATS"); do
        /usr/bin/time -v -o "$d/zcat.time" bash -c 'zcat "$@" >/dev/null' _ "${inputs[@]}"
        /usr/bin/time -v -o "$d/enc.time" samtools view -@ "$THREADS" -C -T "$ref" -O "$fmt" \
          -o "$d/floor.cram" "$d/peer_sorted.bam" 2>>"$log"
        /usr/bin/time -v -o "$d/dec.time" samtools view -@ "$THREADS" -T "$ref" -u -o /dev/null \
          "$d/floor.cram" 2>>"$log"
        read -r w1 c1 r1x < <(time_fields "$d/zcat.time")
        read -r w2 c2 r2x < <(time_fields "$d/enc.time")
        read -r w3 c3 r3x < <(time_fields "$d/dec.time")
        rows+="$(awk -v a="$w1" -v b="$w2" -v c="$w3" 'BEGIN{printf "%.3f", a+b+c}') "
        rows+="$(awk -v a="$c1" -v b="$c2" -v c="$c3" 'BEGIN{printf "%.3f", a+b+c}') "
        rows+="$(( r1x > r2x ? (r1x > r3x ? r1x : r3x) : (r2x > r3x ? r2x : r3x) ))"$'\n'
      done
      printf '%s' "$rows" | record "$name" "$profile" floor zcat+view-C+view "$(filesize "$d/floor.cram")" nan
    fi
    # ---- where the bytes differ, series by series (cramjet inspect of both CRAMs)
    # (only when both ran for this profile: peer.cram is overwritten profile by profile)
    if [ -z "${SKIP_PEER:-}" ] && [ $have_cramjet = 1 ] && [ -s "$d/cramjet.cram" ] && [ -s "$d/peer.cram" ]; then
      if "$CRAMJET" inspect --json "$d/cramjet.cram" >"$d/cj.inspect.json" 2>>"$log" &&
         "$CRAMJET" inspect --json "$d/peer.cram" >"$d/peer.inspect.json" 2>>"$log"; then
        python3 "$here/sim/series_table.py" "$name $profile" "$d/cj.inspect.json" "$d/peer.inspect.json" \
          >"$d/series-$profile.md" && cat "$d/series-$profile.md" >>"$BENCH_DIR/series.md"
      fi
    fi
  done
done <"$manifest"

python3 "$here/sim/ratio_table.py" "$results" "$THREADS" "$REPEATS" "$CRAM_VERSION"
echo
echo "Machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GB", $2/1048576}' /proc/meminfo); load average before: $load_before, after: $(cut -d' ' -f1-3 /proc/loadavg)."
echo "Tools: $(minimap2 --version 2>&1 | head -1) (minimap2), $(samtools --version | head -1), $("$CRAMJET" --version 2>/dev/null | head -1 || echo "cramjet n/a")."
