// The FASTQ reader's losslessness property, shared by the property test and the libFuzzer target.
#pragma once

#include <unistd.h>

#include <cstdio>
#include <string>

#include "read/read.h"

namespace cramjet {

// Writes `data` to `path`, reads it as FASTQ and returns: 1 when it parsed and FormatFastq gave it
// back exactly; 0 when it was refused as bad input; -1 when the property is broken.
inline int CheckFastqPropertyWith(const std::string& path, const std::string& data, bool derive_sra_names) {
  FILE* f = std::fopen(path.c_str(), "wb");
  std::fwrite(data.data(), 1, data.size(), f);
  std::fclose(f);
  ReadOptions o;
  o.inputs = {path};
  o.derive_sra_names = derive_sra_names;
  auto src = OpenReads(o);
  if (!src.ok()) return src.status().code() == StatusCode::kBadInput ? 0 : -1;
  FastqFormatter formatter((*src)->header());  // what the unit's @RG implies (ms, ct, pl, sd)
  ReadBatch batch;
  std::string back;
  for (;;) {
    auto n = (*src)->NextBatch(batch, 7);
    if (!n.ok()) return n.status().code() == StatusCode::kBadInput ? 0 : -1;
    if (*n == 0) break;
    for (size_t i = 0; i < *n; ++i) formatter.Format(batch[i], back);
  }
  if (back == data) return 1;
  // Accepted input that lacks its last newline comes back with it.
  if (back == data + "\n") return 1;
  // Blank lines after the last record are tolerated and dropped.
  if (data.size() > back.size() && data.compare(0, back.size(), back) == 0 &&
      data.find_first_not_of('\n', back.size()) == std::string::npos)
    return 1;
  return -1;
}

// Both ways the reader can be asked to read: SRA names stored as read, and by their place.
inline int CheckFastqProperty(const std::string& path, const std::string& data) {
  int plain = CheckFastqPropertyWith(path, data, false);
  int derived = CheckFastqPropertyWith(path, data, true);
  if (plain < 0 || derived < 0) return -1;
  if (plain != derived) return -1;  // the same input cannot be good one way and bad the other
  return plain;
}

}  // namespace cramjet
