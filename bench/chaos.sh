#!/usr/bin/env bash
# The long chaos run of issue 15: the suite's random-SIGKILL test of the real daemon (runs arriving,
# every stage, a file:// archive, delete-inputs clean-up) with many more kills and a fresh seed
# per round. Each round checks, after every kill, that no input is gone before its archived copy
# verified, and at the end that every sample was archived exactly once, equal to the local CRAM,
# records equal to the FASTQ inputs, no temporaries, no errors in the log.
# Usage: bench/chaos.sh [KILLS_PER_ROUND (120)] [ROUNDS (1)]
# Env:   BUILD (build), SEED (first round's seed; default: from the clock)
# Prints one line per round (seed, kills per stage, runs and jobs) and a summary; exits 1 when a
# round fails (its seed is printed: CRAMJET_CHAOS_SEED=<seed> reruns it).
set -uo pipefail
cd "$(dirname "$0")/.."
kills=${1:-120} rounds=${2:-1}
build=${BUILD:-build}
binary=$build/tests/daemon/test_daemon
[ -x "$binary" ] || { echo "chaos: $binary not built (cmake --build $build)" >&2; exit 2; }
seed=${SEED:-$(date +%s)}
failed=0
for ((r = 1; r <= rounds; r++)); do
  log=$(mktemp)
  start=$(date +%s)
  CRAMJET_CHAOS_KILLS=$kills CRAMJET_CHAOS_SEED=$seed "$binary" \
    --gtest_filter='DaemonIntegration.SurvivesRepeatedSigkillWithoutLossOrDuplicates' >"$log" 2>&1
  rc=$?
  took=$(( $(date +%s) - start ))
  summary=$(grep -E '^seed [0-9]+; kills' "$log" | head -1)
  done_line=$(grep -E 'job\(s\) completed through' "$log" | head -1)
  if [ $rc -eq 0 ]; then
    echo "round $r: ok in ${took}s: $summary; $done_line"
  else
    failed=$((failed + 1))
    echo "round $r: FAILED (seed $seed, log $log): $summary"
    grep -E 'Failure|Expected|deleted|not archived|duplicate' "$log" | head -20
  fi
  [ $rc -eq 0 ] && rm -f "$log"
  seed=$((seed + 1))
done
echo "chaos: $rounds round(s) of $kills kills, $failed failed"
[ $failed -eq 0 ]
