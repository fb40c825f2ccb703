// host/common/stdin_input.h — "-" as an input: standard input, which can be read only once.
//
// The readers first sniff a format and then open their input; a pipe cannot be opened twice, so
// standard input is opened here once, as an htslib stream whose buffer holds what the sniffing
// peeked at, and handed whole to the one reader that takes it (TakeStream). FASTQ (plain, gzip,
// BGZF), SAM and BAM are read as they arrive. A CRAM is spooled whole first into an unlinked
// temporary file, because its structure is checked before htslib decodes it
// (cram_containers.h); "-" then stands for that file, which may be opened like any other.
#pragma once

#include <htslib/hfile.h>
#include <htslib/hts.h>

#include <string>

#include "cramjet/status.h"

namespace cramjet {

// The name that means standard input, as samtools takes it.
inline bool IsStdinPath(const std::string& path) { return path == "-"; }

// What standard input holds, from its first bytes (htslib's detection; no byte is consumed).
// The first call opens it; later calls give the same answer. A CRAM is spooled by this call.
[[nodiscard]] StatusOr<htsFormat> DetectStdinFormat();

// Up to `n` bytes of what standard input holds, decompressed when it is gzip or BGZF (no byte
// is consumed), from its first 4 MiB: a format htslib does not recognise can still be told by its
// first bytes, and a unit's naming learned from its first records.
[[nodiscard]] StatusOr<std::string> PeekStdinText(size_t n);

// The stream to read standard input from, once; the caller owns it (hclose, or give it to
// hts_hopen/bgzf_hopen, which take it). Fails when it was taken already, or when standard input
// was spooled (open StdinSpoolPath() instead).
[[nodiscard]] StatusOr<hFILE*> TakeStdinStream();

// For a spooled standard input (a CRAM): the file it was copied to ("/proc/self/fd/N" of an
// unlinked file, gone when the process ends); empty when not spooled.
std::string StdinSpoolPath();

// `path`, or for "-" the spooled copy when there is one: what to open, check and measure.
inline std::string ResolveInputPath(const std::string& path) {
  if (!IsStdinPath(path)) return path;
  std::string spool = StdinSpoolPath();
  return spool.empty() ? path : spool;
}

}  // namespace cramjet
