#!/usr/bin/env bash
# Installs what cramjet needs (Debian 12 packages), builds it twice — Release with warnings, and
# ASan+UBSan — and runs the whole test suite in both, then a short libFuzzer run of every parser
# of outside input (clang, tests/fuzz/run.sh: 10 s each, fixed seed). Exits non-zero if anything
# fails.
# This is the README's test command and what CI (.ci/run) runs.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup-debian.sh

jobs=$(nproc)
run_suite() {  # <build dir> <cmake args...>
  local dir=$1; shift
  cmake -S . -B "$dir" -G Ninja "$@" >/dev/null
  cmake --build "$dir" -j "$jobs"
  ctest --test-dir "$dir" --output-on-failure -j "$jobs" --timeout 900
}

echo "== Release build and tests"
run_suite build -DCMAKE_BUILD_TYPE=Release
echo "== Release tests again with the shared data hidden (a fresh clone has no ../shared/data)"
no_data=$(mktemp -d)
CRAMJET_SHARED_DATA=$no_data ctest --test-dir build --output-on-failure -j "$jobs" --timeout 900
rmdir "$no_data"
echo "== ASan + UBSan build and tests"
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  LSAN_OPTIONS=suppressions=$(pwd)/tests/lsan.supp \
  run_suite build-asan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCRAMJET_SANITIZE=ON -DCRAMJET_BUILD_BENCH=OFF
echo "== libFuzzer: a short run of each parser (tests/fuzz/run.sh --hours N for the long runs)"
tests/fuzz/run.sh --seconds 10 --seed 1
echo "== all tests passed (Release, ASan+UBSan, and the short fuzz runs)"
