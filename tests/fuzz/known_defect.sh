# Sourced by tests/fuzz/run.sh and tests/fuzz/known_defect_test.sh; needs $root (the checkout).
# known_defect <target> <log> [<known-findings.tsv>]: prints why the AddressSanitizer report in
# <log> (the crashing round's own log: some of these crashes do not replay alone) is a listed
# library defect, or nothing. Known only when all of these hold for one line of the list:
#  - the target is the line's; the report's kind (heap-buffer-overflow, SEGV, ...) is one it names;
#  - every stack of the report (the crash, and "allocated by"/"freed by") starts, past the
#    sanitizer's interceptors and the allocator, in the listed library: memory our code allocated
#    or freed never counts as the library's defect;
#  - the crash stack names the listed function;
#  - the installed library is older than the release that fixed it.
known_defect() {
  local target=$1 log=$2 list=${3:-$root/tests/fuzz/known-findings.tsv}
  local report kind firsts crash_stack
  report=$(awk '/ERROR: AddressSanitizer: /{on=1} on{print} on&&/^SUMMARY: /{exit}' "$log")
  [ -n "$report" ] || return 0
  # The kind as the SUMMARY line names it ("allocation-size-too-big" is worded otherwise in the
  # ERROR line), else the ERROR line's first word.
  kind=$(printf '%s\n' "$report" | sed -n 's/^SUMMARY: AddressSanitizer: \([A-Za-z-]*\) .*/\1/p' | head -1)
  [ -n "$kind" ] || kind=$(printf '%s\n' "$report" | head -1 | sed -n 's/.*ERROR: AddressSanitizer: \([A-Za-z-]*\).*/\1/p')
  firsts=$(printf '%s\n' "$report" | awk '
    /^ *#[0-9]+ / {
      if (!in_stack) { in_stack = 1; found = 0 }
      if (!found && $0 !~ / in (__interceptor_|__asan|__sanitizer|__ubsan|__lsan|malloc|calloc|realloc|free|operator new|operator delete)/) { print; found = 1 }
      next
    }
    { in_stack = 0 }')
  crash_stack=$(printf '%s\n' "$report" | awk '/^ *#[0-9]+ /{print; seen=1; next} seen{exit}')
  while IFS=$'\t' read -r k_target k_library k_module k_function k_kinds k_fixed_in k_why; do
    case $k_target in ''|'#'*) continue ;; esac
    [ "$k_target" = "$target" ] || continue
    case "|$k_kinds|" in *"|$kind|"*) ;; *) continue ;; esac
    [ -n "$firsts" ] || continue
    printf '%s\n' "$firsts" | grep -q -v -F "$k_module" && continue
    printf '%s\n' "$crash_stack" | grep -q -E " in $k_function( |\$)" || continue
    local have
    have=$(pkg-config --modversion "$k_library" 2>/dev/null) || continue
    [ "$(printf '%s\n%s\n' "$have" "$k_fixed_in" | sort -V | head -1)" = "$have" ] && [ "$have" != "$k_fixed_in" ] || continue
    echo "$k_library $have $k_function ($kind): $k_why"
    return 0
  done <"$list"
}
