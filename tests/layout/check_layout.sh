#!/usr/bin/env bash
# The layout rules of docs/design.md, checked on the sources (each rule prints what breaks it):
#  1. host/cli includes only the public API (cramjet/...) and its own cli/ header;
#  2. no stage includes host/pipeline (orchestration lives only there) or the daemon;
#  3. library code neither exits the process nor writes to std::cout (only the two mains may);
#  4. no throwing or unchecked number parse in host/ (std::sto*, atoi/atol): numbers from outside
#     go through ParseDecimal / ParseDecimalInt (common.h), which never throw.
# Exits 1 when a rule is broken. Usage: check_layout.sh SOURCE_DIR
set -uo pipefail
src=${1:?usage: check_layout.sh SOURCE_DIR}
cd "$src" || exit 2
broken=0
report() { echo "layout: $1"; shift; printf '  %s\n' "$@"; broken=1; }

mapfile -t cli < <(grep -nE '^#include "' host/cli/*.cc host/cli/*.h | grep -vE '#include "(cramjet|cli)/')
[ ${#cli[@]} -eq 0 ] || report "host/cli must include only cramjet/ and cli/ headers:" "${cli[@]}"

mapfile -t up < <(grep -rnE '^#include "(pipeline|daemon|cli)/' host --include=*.cc --include=*.h |
                  grep -vE '^host/(pipeline|daemon|cli)/')
[ ${#up[@]} -eq 0 ] || report "stages must not include pipeline/, daemon/ or cli/:" "${up[@]}"

mapfile -t ends < <(grep -rnE 'std::cout|(^|[^_a-z])(std::)?exit\(|::_exit\(|std::_Exit\(|abort\(\)' host \
                      --include=*.cc --include=*.h | grep -vE '^host/(cli/main\.cc|daemon/main\.cc|cli/)' |
                      grep -vE '^host/daemon/stage_process\.cc:[0-9]+:.*::_exit\(127\)')  # a forked child before exec
[ ${#ends[@]} -eq 0 ] || report "library code must not exit or write to std::cout:" "${ends[@]}"

mapfile -t parses < <(grep -rnE '(std::)?\bsto(i|l|ll|ul|ull|f|d|ld)\(|\bato(i|l|ll)\(' host --include=*.cc --include=*.h)
[ ${#parses[@]} -eq 0 ] || report "numbers from outside must be parsed with ParseDecimal/ParseDecimalInt:" "${parses[@]}"

exit $broken
