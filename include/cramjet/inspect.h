// cramjet/inspect.h — where a CRAM file's bytes go: per data series, per aux tag and for the
// structure around them (`cramjet inspect`, docs/formats.md "Where the bytes go"). Reads only the
// container structure: no decoding, no reference. Every byte of the file is counted in exactly
// one row, so the rows add up to the file's size.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "cramjet/status.h"

namespace cramjet {

struct CramByteRow {
  // A data series ("RN", "QS", ...; series that share blocks are joined: "BB+QQ"), an aux tag
  // ("tag:MD:Z"), or the structure: "core" (bit-coded series), "file header" (file definition and
  // SAM header container), "container headers", "compression headers", "slice headers", "eof".
  std::string key;
  std::string category;     // names, qualities, bases, positions, flags, lengths, tags, ...
  std::string description;  // what the series holds, in words
  uint64_t bytes = 0;       // in the file, block headers and CRC32s included
  uint64_t raw_bytes = 0;   // uncompressed content of its blocks (0 for structure rows)
  uint64_t blocks = 0;
  std::map<std::string, uint64_t> methods;  // codec ("rans4x16", "fqzcomp", ...) -> blocks
};

struct CramInspection {
  std::string path;
  int major = 0, minor = 0;
  uint64_t file_bytes = 0;
  uint64_t containers = 0;  // data containers (not the header or EOF ones)
  uint64_t slices = 0;
  uint64_t records = 0;
  std::vector<CramByteRow> rows;  // most bytes first
};

// Reads `path` (CRAM 3.0 or 3.1). Errors name the file and, for a damaged file, the container and
// its byte offset (kBadInput); a file that is not CRAM, or is CRAM 2.x, is refused the same way.
[[nodiscard]] StatusOr<CramInspection> InspectCram(const std::string& path);

// The table `cramjet inspect` prints: one header line, then one line per row.
std::string FormatCramInspection(const CramInspection& inspection);

}  // namespace cramjet
