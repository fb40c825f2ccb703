#!/usr/bin/env bash
# tests/fuzz/known_defect.sh on canned AddressSanitizer reports: only a crash of a listed kind,
# every stack of which starts in the listed library, with the listed function on the crash stack,
# in a library older than the fix, for the listed target, is known; all else stays a finding.
# Checked against a list of its own and against the project's tests/fuzz/known-findings.tsv.
set -u
root=$(cd "$(dirname "$0")/../.." && pwd)
source "$root/tests/fuzz/known_defect.sh"
t=$(mktemp -d); trap 'rm -rf "$t"' EXIT
have=$(pkg-config --modversion htslib) || { echo "pkg-config htslib: not found"; exit 1; }
printf 'alignment\thtslib\tlibhts.so\tcram_byte_array_len_decode\theap-buffer-overflow\t999.0\ttest defect\n' >"$t/list.tsv"
printf 'alignment\thtslib\tlibhts.so\tcram_byte_array_len_decode\theap-buffer-overflow\t%s\tfixed in the installed release\n' "$have" >"$t/fixed.tsv"
report() {  # <name> <lines...>: a round's log holding one report
  local f=$t/$1; shift
  { echo '#229 INITED cov: 646'; printf '%s\n' "$@"; echo 'SUMMARY: AddressSanitizer: ...'; echo 'MS: 1 ChangeBit-'; } >"$f"
}
hts=/lib/x86_64-linux-gnu/libhts.so.3 ours=/w/build-fuzz/tests/fuzz/fuzz_alignment
report hts '==1==ERROR: AddressSanitizer: heap-buffer-overflow on address 0x6 at pc 0x5' 'WRITE of size 9 at 0x6 thread T0' \
  "    #0 0x5 in __interceptor_memcpy ($ours+0x1)" "    #1 0x7 in cram_external_decode_char ($hts+0x8)" \
  "    #2 0x7 in cram_byte_array_len_decode ($hts+0x7)" \
  '    #3 0x5 in cramjet::ReadAlignmentRecord(cramjet::AlignmentFile&) /w/host/common/alignment_file.cc:224:17' '' \
  'allocated by thread T0 here:' "    #0 0x5 in malloc ($ours+0x2)" "    #1 0x7 in cram_decode_slice ($hts+0x9)" \
  '    #2 0x5 in cramjet::ReadAlignmentRecord(cramjet::AlignmentFile&) /w/host/common/alignment_file.cc:224:17'
# Our code crashes first (htslib's function deeper on the stack): ours to fix.
report ours '==1==ERROR: AddressSanitizer: heap-buffer-overflow on address 0x6' \
  '    #0 0x5 in cramjet::CheckCramSliceCounts(std::string_view) /w/host/common/cram_checks.cc:10:3' \
  "    #1 0x7 in cram_byte_array_len_decode ($hts+0x7)"
# In htslib, but the memory was allocated by our code.
report our_memory '==1==ERROR: AddressSanitizer: heap-buffer-overflow on address 0x6' \
  "    #0 0x5 in __interceptor_memcpy ($ours+0x1)" "    #1 0x7 in cram_byte_array_len_decode ($hts+0x7)" '' \
  'allocated by thread T0 here:' "    #0 0x5 in operator new(unsigned long) ($ours+0x2)" \
  '    #1 0x5 in cramjet::ReadBatch::Resize(unsigned long) /w/host/read/read.cc:10:3'
# htslib reads memory our code freed: a use-after-free is never htslib's alone.
report freed '==1==ERROR: AddressSanitizer: heap-use-after-free on address 0x6' \
  "    #0 0x7 in cram_decode_slice ($hts+0x8)" '' 'freed by thread T0 here:' "    #0 0x5 in free ($ours+0x3)" \
  '    #1 0x5 in cramjet::BamFree(bam1_t*) /w/host/common/common.cc:5:3'
report segv_slice '==1==ERROR: AddressSanitizer: SEGV on unknown address 0x002000001113 (pc 0x7 T0)' \
  '==1==The signal is caused by a READ memory access.' "    #0 0x7 in cram_decode_slice ($hts+0x8db67)" \
  "    #1 0x7 in cram_get_seq ($hts+0x8f6db)" '    #2 0x5 in cramjet::ReadAlignmentRecord(cramjet::AlignmentFile&) /w/a.cc:1:1'
report segv_ours '==1==ERROR: AddressSanitizer: SEGV on unknown address 0x0 (pc 0x5 T0)' \
  '    #0 0x5 in cramjet::HtsSource::NextBatch(cramjet::ReadBatch&) /w/host/read/read.cc:529:7' \
  "    #1 0x7 in cram_decode_slice ($hts+0x8db67)"
report leak '==1==ERROR: LeakSanitizer: detected memory leaks' "    #0 0x7 in cram_byte_array_len_decode ($hts+0x7)"
# htslib 1.16 asking malloc for (size_t)-144 (CI's short run met it).
report too_big '==1==ERROR: AddressSanitizer: requested allocation size 0xffffffffffffff70 (0x770 after adjustments for alignment, red zones etc.) exceeds maximum supported size of 0x10000000000 (thread T0)' \
  "    #0 0x5 in malloc ($ours+0x18828e)" "    #1 0x7 in cram_decode_slice ($hts+0x8c797)" '' \
  "SUMMARY: AddressSanitizer: allocation-size-too-big ($ours+0x18828e) in malloc"
# htslib reading what htslib freed: its own use-after-free.
report freed_by_hts '==1==ERROR: AddressSanitizer: heap-use-after-free on address 0x6' \
  "    #0 0x5 in __interceptor_memcpy ($ours+0x1)" "    #1 0x7 in cram_decode_slice ($hts+0x8)" '' \
  'freed by thread T0 here:' "    #0 0x5 in free ($ours+0x3)" "    #1 0x7 in cram_free_slice ($hts+0x9)" '' \
  'previously allocated by thread T0 here:' "    #0 0x5 in malloc ($ours+0x2)" "    #1 0x7 in cram_decode_slice ($hts+0xa)"
printf 'INFO: Running with entropic power schedule\nDone 1000 runs in 1 second(s)\n' >"$t/clean"
fails=0
expect() {  # <known|finding> <target> <log> [list]
  local want=$1 why; shift
  why=$(known_defect "$1" "$t/$2" "${3:-$t/list.tsv}")
  if { [ "$want" = known ] && [ -z "$why" ]; } || { [ "$want" = finding ] && [ -n "$why" ]; }; then
    echo "FAIL: $* should be $want, got '${why}'"; fails=1
  fi
}
expect known alignment hts
expect finding fastq hts                        # another target
expect finding alignment hts "$t/fixed.tsv"     # the installed htslib has the fix
expect finding alignment ours
expect finding alignment our_memory
expect finding alignment freed
expect finding alignment segv_slice             # SEGV is not a kind the test list names
expect finding alignment leak
expect finding alignment clean
[ "$(known_defect alignment "$t/hts" "$t/list.tsv")" = "htslib $have cram_byte_array_len_decode (heap-buffer-overflow): test defect" ] ||
  { echo "FAIL: the reason names the library, version, function and kind"; fails=1; }
# The project's own list (while Debian's htslib lacks the fixes): the two htslib crash classes the
# alignment fuzzer met are known; our crashes, our memory, use-after-free and leaks are not.
real=$root/tests/fuzz/known-findings.tsv
expect known alignment hts "$real"
expect known alignment segv_slice "$real"
expect known alignment too_big "$real"
expect known alignment freed_by_hts "$real"
expect finding alignment too_big                # not a kind the test list names
expect finding alignment ours "$real"
expect finding alignment our_memory "$real"
expect finding alignment freed "$real"
expect finding alignment segv_ours "$real"
expect finding alignment leak "$real"
expect finding fastq hts "$real"
exit $fails
