#!/usr/bin/env bash
# tests/fuzz/known_defect.sh on canned sanitizer reports: only a crash whose first frame past the
# interceptors is in the listed library, with the listed function on the stack, in a library older
# than the fix, for the listed target, is known; everything else must stay a finding.
set -u
root=$(cd "$(dirname "$0")/../.." && pwd)
source "$root/tests/fuzz/known_defect.sh"
t=$(mktemp -d); trap 'rm -rf "$t"' EXIT
have=$(pkg-config --modversion htslib) || { echo "pkg-config htslib: not found"; exit 1; }
printf 'alignment\thtslib\tlibhts.so\tcram_byte_array_len_decode\t999.0\ttest defect\n' >"$t/list.tsv"
printf 'alignment\thtslib\tlibhts.so\tcram_byte_array_len_decode\t%s\tfixed in the installed release\n' "$have" >"$t/fixed.tsv"
fake() {  # <name> <report lines...>: a "fuzzer" that prints the report when replaying an input
  local f=$t/$1; shift
  { echo '#!/bin/sh'; echo "cat >&2 <<'R'"; printf '%s\n' "$@"; echo 'R'; echo 'exit 1'; } >"$f"; chmod +x "$f"
}
htslib_crash=('==1==ERROR: AddressSanitizer: heap-buffer-overflow on address 0x6 at pc 0x5'
  'WRITE of size 9 at 0x6 thread T0'
  '    #0 0x5 in __interceptor_memcpy (/b/fuzz_alignment+0x1)'
  '    #1 0x7 in cram_external_decode_char (/lib/x86_64-linux-gnu/libhts.so.3+0x8)'
  '    #2 0x7 in cram_byte_array_len_decode (/lib/x86_64-linux-gnu/libhts.so.3+0x7)'
  '    #3 0x5 in cramjet::ReadAlignmentRecord(cramjet::AlignmentFile&) /w/host/common/alignment_file.cc:224:17'
  ''
  'allocated by thread T0 here:'
  '    #0 0x5 in malloc (/b/fuzz_alignment+0x2)'
  '    #1 0x7 in cram_byte_array_stop_decode_char (/lib/x86_64-linux-gnu/libhts.so.3+0x9)')
fake hts "${htslib_crash[@]}"
# Our code crashes first (htslib's function deeper on the stack): ours to fix.
fake ours '==1==ERROR: AddressSanitizer: heap-use-after-free on address 0x6' \
  '    #0 0x5 in cramjet::CheckCramSliceCounts(std::string_view) /w/host/common/cram_checks.cc:10:3' \
  '    #1 0x7 in cram_byte_array_len_decode (/lib/x86_64-linux-gnu/libhts.so.3+0x7)'
# In htslib, but another function (only in the allocation stack is the listed one).
fake other '==1==ERROR: AddressSanitizer: SEGV on unknown address 0x0' \
  '    #0 0x7 in cram_decode_slice (/lib/x86_64-linux-gnu/libhts.so.3+0x8)' '' \
  'allocated by thread T0 here:' '    #1 0x7 in cram_byte_array_len_decode (/lib/x86_64-linux-gnu/libhts.so.3+0x7)'
fake leak '==1==ERROR: LeakSanitizer: detected memory leaks' \
  '    #0 0x7 in cram_byte_array_len_decode (/lib/x86_64-linux-gnu/libhts.so.3+0x7)'
fake clean 'INFO: nothing here'
fails=0
expect() {  # <known|finding> <target> <fuzzer> [list]
  local want=$1 why; shift
  why=$(known_defect "$1" "$t/$2" /dev/null "${3:-$t/list.tsv}")
  if { [ "$want" = known ] && [ -z "$why" ]; } || { [ "$want" = finding ] && [ -n "$why" ]; }; then
    echo "FAIL: $* should be $want, got '${why}'"; fails=1
  fi
}
expect known alignment hts
expect finding fastq hts                        # another target
expect finding alignment hts "$t/fixed.tsv"     # the installed htslib has the fix
expect finding alignment ours
expect finding alignment other
expect finding alignment leak
expect finding alignment clean
[ "$(known_defect alignment "$t/hts" /dev/null "$t/list.tsv")" = "htslib $have cram_byte_array_len_decode: test defect" ] ||
  { echo "FAIL: the reason names the library, version and function"; fails=1; }
# The project's own list: the htslib-1.16 case is there while Debian's htslib lacks the fix.
grep -q -P '^alignment\thtslib\tlibhts.so\tcram_byte_array_len_decode\t' "$root/tests/fuzz/known-findings.tsv" ||
  { echo "FAIL: tests/fuzz/known-findings.tsv lacks the htslib BYTE_ARRAY_LEN line"; fails=1; }
exit $fails
