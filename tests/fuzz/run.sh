#!/usr/bin/env bash
# Builds the libFuzzer targets with clang (ASan + UBSan + libFuzzer, in build-fuzz/) and runs each
# on its seed corpus (tests/fuzz/corpus/<target>, never written: new inputs go to a work folder).
#
#   tests/fuzz/run.sh [--seconds N | --hours H] [--runs R] [--jobs J] [--seed S] [TARGET...]
#
# Default: 15 s each, every target; --runs stops a target after R executions (whichever of the
# two limits comes first; --runs alone has no time limit), --seed fixes libFuzzer's random seed (a short run in CI repeats). Prints one line per target with libFuzzer's executions and
# whether it found anything; a finding (crash, leak, timeout) is copied to
# tests/fuzz/findings/<target>/ to be kept as a regression input, and the script exits 1.
set -uo pipefail
cd "$(dirname "$0")/../.."
root=$(pwd)
shared=${CRAMJET_SHARED_DATA:-$root/../shared/data}
seconds=15 seconds_given=0 jobs=1 runs=-1 seed=0 targets=()
while [ $# -gt 0 ]; do
  case $1 in
    --seconds) seconds=$2 seconds_given=1; shift 2 ;;
    --hours) seconds=$(awk "BEGIN{print int($2*3600)}") seconds_given=1; shift 2 ;;
    --jobs) jobs=$2; shift 2 ;;
    --runs) runs=$2; shift 2 ;;
    --seed) seed=$2; shift 2 ;;
    -h|--help) sed -n 2,11p "$0"; exit 0 ;;
    *) targets+=("$1"); shift ;;
  esac
done
all=(fastq sample_sheet run_info daemon_config sink_config seqchksum md5_file qc_config api_request manifest
     http_replies alignment)
[ ${#targets[@]} -gt 0 ] || targets=("${all[@]}")
[ "$runs" -ge 0 ] && [ "$seconds_given" -eq 0 ] && seconds=$((30 * 86400))
command -v clang++ >/dev/null || { echo "run.sh: clang++ not installed (scripts/setup-debian.sh installs it)" >&2; exit 2; }

CC=clang CXX=clang++ cmake -S . -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCRAMJET_SANITIZE=ON \
  -DCRAMJET_FUZZ=ON -DCRAMJET_BUILD_BENCH=OFF >/dev/null || exit 2
cmake --build build-fuzz -j "$(nproc)" --target $(printf 'fuzz_%s ' "${targets[@]}") >/dev/null || exit 2

work=$(mktemp -d)
# Files the harnesses write (FASTQ, QC config, the API's journal) go to tmpfs where there is one.
scratch_base=/dev/shm; [ -w "$scratch_base" ] || scratch_base=$work
export CRAMJET_FUZZ_SCRATCH=$(mktemp -d "$scratch_base/cramjet-fuzz.XXXXXX")
trap 'rm -rf "$CRAMJET_FUZZ_SCRATCH"' EXIT
# known_defect: a crash in a listed library defect (tests/fuzz/known-findings.tsv) or not.
source "$root/tests/fuzz/known_defect.sh"

status=0
export ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
for t in "${targets[@]}"; do
  mkdir -p "$work/$t/corpus" "$work/$t/artifacts"
  log=$work/$t/log
  # One job runs in this process (its stats in $log); more run as libFuzzer's workers, whose
  # fuzz-N.log files it writes to the current folder: theirs, not the checkout.
  parallel=()
  [ "$jobs" -gt 1 ] && parallel=(-jobs="$jobs" -workers="$jobs")
  # The alignment target is also seeded with the CRAM conformance suite, read in place (libFuzzer
  # writes new inputs only to the first folder); the project never copies that data in.
  seeds=("$root/tests/fuzz/corpus/$t") extra=()
  if [ "$t" = alignment ]; then
    extra=(-max_len=65536)  # the suite's large files enter cut (a truncated CRAM is an input too)
    for d in cram/3.0/passed cram/3.1/passed bam/passed sam/passed; do
      [ -d "$shared/cram-conformance/test/$d" ] && seeds+=("$shared/cram-conformance/test/$d")
    done
  fi
  # A crash inside a library defect listed in tests/fuzz/known-findings.tsv (fixed upstream, not
  # yet in Debian's package, contained by the daemon's stage child) does not end the target's
  # budget: it is counted and libFuzzer starts again on the grown corpus with the time and runs
  # left. Any other finding ends the target and fails the script.
  execs=0 spent=0 round=0 known=0 unknown=0 rc=0
  while :; do
    left_s=$((seconds - spent)); left_runs=-1
    if [ "$runs" -ge 0 ]; then
      left_runs=$((runs - execs))
      [ "$left_runs" -gt 0 ] || break  # workers may overshoot: never -runs=-1 (unlimited)
    fi
    [ "$left_s" -ge 1 ] || break
    rm -rf "$work/$t/artifacts" && mkdir -p "$work/$t/artifacts"
    started=$(date +%s)
    round_seed=$seed
    [ "$seed" -ne 0 ] && round_seed=$((seed + round))  # 0 stays libFuzzer's "random"
    (cd "$work/$t" && "$root/build-fuzz/tests/fuzz/fuzz_$t" "$work/$t/corpus" "${seeds[@]}" \
      -max_total_time="$left_s" -runs="$left_runs" -seed="$round_seed" "${extra[@]}" "${parallel[@]}" -print_final_stats=1 -artifact_prefix="$work/$t/artifacts/" \
      -timeout=10 -rss_limit_mb=2048) >"$log.$round" 2>&1
    rc=$?
    spent=$((spent + $(date +%s) - started))
    execs=$((execs + $(grep -ah 'stat::number_of_executed_units' "$log.$round" "$work/$t"/fuzz-*.log 2>/dev/null | awk '{s+=$2} END{print s+0}')))
    rm -f "$work/$t"/fuzz-*.log
    cat "$log.$round" >>"$log"
    found=$(ls "$work/$t/artifacts" 2>/dev/null | wc -l)
    [ "$rc" -eq 0 ] && [ "$found" -eq 0 ] && break
    # A known defect lets the target go on only when this round crashed once (one job), after
    # fuzzing began (a seed that crashes would crash every round and nothing would be fuzzed),
    # and its own report (some of these do not replay alone) is a listed defect.
    why=""
    if [ "$jobs" -eq 1 ] && [ "$found" -eq 1 ] && grep -q -a 'INITED' "$log.$round"; then
      why=$(known_defect "$t" "$log.$round")
    fi
    if [ -z "$why" ]; then unknown=1; break; fi
    known=$((known + 1)); mkdir -p "$work/$t/known"; cp "$work/$t/artifacts/"* "$work/$t/known/"
    echo "$t: known defect, not counted as a finding: $why" >>"$log"
    round=$((round + 1))
    [ "$round" -lt 10000 ] || break
  done
  if [ "$unknown" -ne 0 ]; then
    mkdir -p "tests/fuzz/findings/$t"
    cp "$work/$t/artifacts/"* "tests/fuzz/findings/$t/" 2>/dev/null
    printf '%-14s %12s executions in %ss: FOUND %s (kept in tests/fuzz/findings/%s; log %s)\n' "$t" "$execs" "$spent" "$found" "$t" "$log"
    status=1
  elif [ "$known" -gt 0 ]; then
    printf '%-14s %12s executions in %ss: nothing new; %s crash(es) in known library defects (tests/fuzz/known-findings.tsv; inputs in %s)\n' \
      "$t" "$execs" "$spent" "$known" "$work/$t/known"
  else
    printf '%-14s %12s executions in %ss: nothing found\n' "$t" "$execs" "$spent"
  fi
done
exit $status
