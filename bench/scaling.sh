#!/usr/bin/env bash
# Scaling benchmark (issue 9): `cramjet compress` at each thread count in THREAD_COUNTS, per profile,
# with its stage times, against the peer pipeline at the same thread count, and the floor.
#
#   cramjet: compress -q --stats -@ N --cram-version 3.1 --profile P -T REF -o OUT --paired R1 R2
#            (verification and QC included), run in a folder of its own per N with the same -o, so
#            the bytes can be compared: the table says same-bytes or DIFFERS against -@ 1.
#   peer:    minimap2 -t N -ax sr REF R1 R2 | samtools sort -@ N -l 1 - |
#            samtools view -@ N -C -T REF -O cram,version=3.1,P --keep-tag RG -o OUT -
#   floor:   zcat R1 R2 > /dev/null, + samtools view -C -@ N (same version/profile) of the peer's
#            sorted records, + samtools view -u -o /dev/null of that CRAM: the three walls added.
#   speed-up S(N) = wall(-@1) / wall(-@N); serial fraction (Amdahl) f = (N/S - 1) / (N - 1);
#   model: 800 M reads on 32 cores = wall(-@1) * 800e6 / reads * (f + (1 - f) / 32).
# Every figure is the median of REPEATS runs. Writes $BENCH_DIR/scaling/results.tsv and prints the
# table (bench/sim/scaling_table.py).
# Usage: bench/scaling.sh [SET_NAME_REGEX]   (env: BENCH_DIR, CRAMJET, REPEATS (3), PROFILES
#        ("normal small archive"), THREAD_COUNTS ("1 2"; "1 2 4 8 16" on a 16-core machine))
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
BENCH_DIR=${BENCH_DIR:-/tmp/cramjet-bench}
CRAMJET=${CRAMJET:-$here/../build/cramjet}
REPEATS=${REPEATS:-3}
PROFILES=${PROFILES:-normal small archive}
THREAD_COUNTS=${THREAD_COUNTS:-1 2}
filter=${1:-sim}
manifest=$BENCH_DIR/inputs.tsv
[ -f "$manifest" ] || { echo "scaling: $manifest missing: run bench/prepare_inputs.sh first" >&2; exit 1; }
out=$BENCH_DIR/scaling
mkdir -p "$out"
results=$out/results.tsv
printf 'set\tprofile\tthreads\ttool\twall\tcpu\trss_mb\tbytes\tstages\tsame_bytes\treads\n' >"$results"

median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
# wall, user+sys, peak RSS (MB) from a GNU time -f '%e %U %S %M' file
timed() { awk '{printf "%s %.2f %.0f\n", $1, $2 + $3, $4 / 1024}' "$1"; }

while IFS=$'\t' read -r name ref r1 r2 kind; do
  [[ $name =~ $filter ]] || continue
  inputs=("$r1"); [ "$r2" != - ] && inputs+=("$r2")
  pair=(); [ "$r2" != - ] && pair=(--paired)
  d=$out/$name
  mkdir -p "$d"
  reads=$(( $(zcat "${inputs[@]}" | wc -l) / 4 ))
  for profile in $PROFILES; do
    fmt=cram,version=3.1,$profile
    for n in $THREAD_COUNTS; do
      # ---- cramjet
      walls=(); cpus=(); rsss=()
      for ((i = 0; i < REPEATS; i++)); do
        mkdir -p "$d/t$n" && rm -f "$d/t$n/$profile.cram"
        (cd "$d/t$n" && /usr/bin/time -f '%e %U %S %M' -o "$d/cj.time" "$CRAMJET" compress -q --stats \
          -@ "$n" --cram-version 3.1 --profile "$profile" -T "$ref" -o "$profile.cram" "${pair[@]}" \
          "${inputs[@]}" 2>"$d/cj.stats")
        read -r w c r < <(timed "$d/cj.time"); walls+=("$w"); cpus+=("$c"); rsss+=("$r")
      done
      stages=$(awk '/^stage/ {printf "%s%s=%s", sep, $2, $3; sep=","}' "$d/cj.stats")
      same=-
      if [ "$n" != 1 ] && [ -f "$d/t1/$profile.cram" ]; then
        cmp -s "$d/t1/$profile.cram" "$d/t$n/$profile.cram" && same=same-bytes || same=DIFFERS
      fi
      printf '%s\t%s\t%s\tcramjet\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$name" "$profile" "$n" \
        "$(printf '%s\n' "${walls[@]}" | median)" "$(printf '%s\n' "${cpus[@]}" | median)" \
        "$(printf '%s\n' "${rsss[@]}" | median)" "$(stat -c %s "$d/t$n/$profile.cram")" "$stages" "$same" \
        "$reads" >>"$results"
      # ---- peer
      walls=(); cpus=()
      for ((i = 0; i < REPEATS; i++)); do
        /usr/bin/time -f '%e %U %S %M' -o "$d/peer.time" bash -c 'set -o pipefail
          minimap2 -t "$1" -ax sr "$2" "${@:5}" 2>/dev/null | samtools sort -@ "$1" -l 1 - 2>/dev/null |
          samtools view -@ "$1" -C -T "$2" -O "$3" --keep-tag RG -o "$4" -' _ "$n" "$ref" "$fmt" \
          "$d/peer.cram" "${inputs[@]}"
        read -r w c r < <(timed "$d/peer.time"); walls+=("$w"); cpus+=("$c")
      done
      printf '%s\t%s\t%s\tpeer\t%s\t%s\t-\t%s\t-\t-\t%s\n' "$name" "$profile" "$n" \
        "$(printf '%s\n' "${walls[@]}" | median)" "$(printf '%s\n' "${cpus[@]}" | median)" \
        "$(stat -c %s "$d/peer.cram")" "$reads" >>"$results"
      # ---- floor
      [ -f "$d/peer_sorted.bam" ] || samtools view -@ "$n" -b -o "$d/peer_sorted.bam" "$d/peer.cram" -T "$ref"
      walls=()
      for ((i = 0; i < REPEATS; i++)); do
        /usr/bin/time -f '%e %U %S %M' -o "$d/f1.time" zcat "${inputs[@]}" >/dev/null
        /usr/bin/time -f '%e %U %S %M' -o "$d/f2.time" samtools view -@ "$n" -C -T "$ref" -O "$fmt" \
          -o "$d/floor.cram" "$d/peer_sorted.bam"
        /usr/bin/time -f '%e %U %S %M' -o "$d/f3.time" samtools view -@ "$n" -u -o /dev/null -T "$ref" "$d/floor.cram"
        walls+=("$(cat "$d/f1.time" "$d/f2.time" "$d/f3.time" | awk '{s += $1} END {print s}')")
      done
      printf '%s\t%s\t%s\tfloor\t%s\t-\t-\t-\t-\t-\t%s\n' "$name" "$profile" "$n" \
        "$(printf '%s\n' "${walls[@]}" | median)" "$reads" >>"$results"
    done
  done
done <"$manifest"
python3 "$here/sim/scaling_table.py" "$results"
