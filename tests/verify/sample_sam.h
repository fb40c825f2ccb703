// A small hand-made SAM that exercises every part of the checksum definition, and helpers to
// turn SAM text into records.
#pragma once

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "common/common.h"

namespace cramjet::testing {

// Fields separated by '|' for readability (tabs in the real file): two read groups, a pair with
// its reverse-strand mate (lower-case and IUPAC bases), a single-end read with no qualities, a
// secondary and a supplementary record (both skipped), a QC-failed read without RG, an unmapped
// pair, an empty read, and tags of every type, integers that canonicalise (300 -> S, -5 -> c,
// 70000 -> I, -40000 -> i), B arrays, a float, hex, and a Z with spaces.
inline std::string SampleSam() {
  std::string text =
      "@HD|VN:1.6|SO:unsorted\n"
      "@SQ|SN:chr1|LN:200\n"
      "@RG|ID:rgA|SM:s1\n"
      "@RG|ID:rgB|SM:s1\n"
      "pair1|99|chr1|10|60|8M|=|40|38|ACGTACGT|IIIIHHHH|RG:Z:rgA|NM:i:0|MD:Z:8|BC:Z:ACGTTT|"
      "XI:i:300|XN:i:-5|XL:i:70000|XM:i:-40000\n"
      "pair1|147|chr1|40|60|8M|=|10|-38|TTGCAAnR|ABCDEFGH|RG:Z:rgA|XB:B:s,1,-2,300|XF:f:1.5|"
      "XA:A:q|XH:H:1AE3|CO:Z:a comment with spaces\n"
      "single1|4|*|0|0|*|*|0|0|GATTACA|*|RG:Z:rgB|zc:B:C,32,9|zp:Z:plus\n"
      "single1|256|chr1|50|0|7M|*|0|0|GATTACA|!!!!!!!|RG:Z:rgB\n"
      "pair1|2195|chr1|100|60|4M4H|=|10|0|ACGT|IIII|RG:Z:rgA\n"
      "noRG1|516|*|0|0|*|*|0|0|NNNNACGT|#######~|XI:i:7\n"
      "mate2|77|*|0|0|*|*|0|0|CCCCGGGG|55556666|RG:Z:rgB|BC:Z:AC\n"
      "mate2|141|*|0|0|*|*|0|0|GGGGCCCC|66665555|RG:Z:rgB|BC:Z:AC\n"
      "empty1|4|*|0|0|*|*|0|0|*|*|RG:Z:rgA\n";
  for (char& c : text)
    if (c == '|') c = '\t';
  return text;
}
inline constexpr int kSamplePrimaryRecords = 7;

inline HeaderPtr ParseHeader(const std::string& sam) {
  std::string header;
  size_t pos = 0;
  while (pos < sam.size() && sam[pos] == '@') {
    size_t nl = sam.find('\n', pos);
    header += sam.substr(pos, nl - pos + 1);
    pos = nl + 1;
  }
  return HeaderPtr(sam_hdr_parse(header.size(), header.c_str()));
}

// One record from one SAM line (no newline).
inline BamPtr ParseRecord(sam_hdr_t* header, std::string line) {
  BamPtr b = NewBam();
  // sam_parse1 may write into the text, so it gets its own copy.
  kstring_t ks = {line.size(), line.size() + 1, line.data()};
  EXPECT_GE(sam_parse1(&ks, header, b.get()), 0) << line;
  return b;
}

// Every record line of `sam`, in order.
inline std::vector<BamPtr> ParseRecords(const std::string& sam) {
  HeaderPtr header = ParseHeader(sam);
  std::vector<BamPtr> records;
  size_t pos = 0;
  while (pos < sam.size()) {
    size_t nl = sam.find('\n', pos);
    if (nl == std::string::npos) nl = sam.size();
    std::string line = sam.substr(pos, nl - pos);
    pos = nl + 1;
    if (line.empty() || line[0] == '@') continue;
    records.push_back(ParseRecord(header.get(), line));
  }
  return records;
}

inline std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> lines;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t nl = text.find('\n', pos);
    if (nl == std::string::npos) nl = text.size();
    lines.push_back(text.substr(pos, nl - pos));
    pos = nl + 1;
  }
  return lines;
}

}  // namespace cramjet::testing
