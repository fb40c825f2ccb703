// host/common/cram_containers.h — a CRAM's container headers read directly (no decode): record
// and base counts (the ship manifest).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "cramjet/status.h"

namespace cramjet {

// The CRAM constants that the readers of raw CRAM bytes share (this file's checks, and
// encode's `cramjet inspect`). CRAM 3.1 specification, sections 6-8.
namespace cram_format {
inline constexpr size_t kFileDefinitionSize = 26;  // "CRAM", major, minor, 20-byte file id
inline constexpr uint8_t kMethodRaw = 0;
// Block content types (0 is the file header, in the header container only).
inline constexpr uint8_t kContentFileHeader = 0, kContentCompressionHeader = 1, kContentSliceHeader = 2,
                         kContentExternal = 4, kContentCore = 5;
}  // namespace cram_format

struct CramCounts {
  int major = 0, minor = 0;
  uint64_t records = 0;
  uint64_t bases = 0;
  uint64_t containers = 0;  // data containers (with records)
};
// Total records and bases over the CRAM's data containers (from container headers; no decode).
// kBadInput naming the file and the byte offset for a truncated or malformed header.
[[nodiscard]] StatusOr<CramCounts> CountCramContainers(const std::string& path);

// Before htslib opens a file that starts with "CRAM": its file definition names CRAM 2.x or 3.x,
// and its first container (the SAM header, which htslib reads and allocates for as it opens)
// is whole and sane: its length fits in the file, no more blocks than bytes, no more landmarks
// than blocks. kBadInput naming the file and the field otherwise (a 102-byte file asked htslib
// 1.16 for 6.4 GB: found by tests/fuzz's alignment target). Ok for files that are not CRAM.
[[nodiscard]] Status CheckCramFileStart(const std::string& path);
// CheckCramFileStart, then every container header (its length fits, no more blocks than bytes,
// slices inside it) and every raw slice header (no more blocks, content ids or records than the
// container can hold), read without decoding before htslib decodes: htslib 1.16 allocates and
// touches what these counts say (4.5 GB resident for a 4.7 kB file, found by the alignment
// fuzzer). kBadInput naming the file and the container's byte offset. One pass over the
// container headers: a read of a few bytes per container and slice, ahead of a full decode.
[[nodiscard]] Status CheckCramSliceCounts(const std::string& path);

}  // namespace cramjet
