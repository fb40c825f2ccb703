# Sourced by tests/fuzz/run.sh and tests/fuzz/known_defect_test.sh; needs $root (the checkout).
# known_defect <target> <fuzzer> <input> [<known-findings.tsv>]: prints why the input's crash is a listed library defect
# (tests/fuzz/known-findings.tsv), or nothing. The crash is replayed alone; it is known when the
# first frame outside the sanitizer's interceptors is in the listed library, a frame names the
# listed function, and the installed library is older than the release that fixed it.
known_defect() {
  local target=$1 fuzzer=$2 input=$3 list=${4:-$root/tests/fuzz/known-findings.tsv} report
  report=$(ASAN_OPTIONS=detect_leaks=0 "$fuzzer" "$input" 2>&1 | awk '/ERROR: AddressSanitizer/{on=1} on&&/^ *#[0-9]+ /{print; seen=1; next} on&&seen{exit}')
  [ -n "$report" ] || return 0
  local first
  first=$(printf '%s\n' "$report" | grep -v -E ' in (__interceptor_|__asan|__sanitizer|__ubsan)' | head -1)
  while IFS=$'\t' read -r k_target k_library k_module k_function k_fixed_in k_why; do
    case $k_target in ''|'#'*) continue ;; esac
    [ "$k_target" = "$target" ] || continue
    printf '%s\n' "$first" | grep -q -F "$k_module" || continue
    printf '%s\n' "$report" | grep -q -E " in $k_function( |\$)" || continue
    local have
    have=$(pkg-config --modversion "$k_library" 2>/dev/null) || continue
    [ "$(printf '%s\n%s\n' "$have" "$k_fixed_in" | sort -V | head -1)" = "$have" ] && [ "$have" != "$k_fixed_in" ] || continue
    echo "$k_library $have $k_function: $k_why"
    return 0
  done <"$list"
}
