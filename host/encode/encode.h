// host/encode/encode.h — stage 4, encode: records in, CRAM out through htslib.
//
// Sets the CRAM version and profile, the reference (`.fai` made if missing), `@SQ M5/UR` from the
// reference, `@PG` with the command line and library versions, and stores MD/NM exactly as given
// (never invented or dropped) so aligned input is re-encoded as is.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "common/common.h"
#include "cramjet/compress.h"

namespace cramjet {

struct EncodeOptions {
  std::string reference;
  std::string cram_version = "3.1";
  CramProfile profile = CramProfile::kNormal;
  std::string command_line;
  hts_tpool* pool = nullptr;
  // Name written into the CRAM's 20-byte file ID (htslib takes the name it opens, here a random
  // temporary; the final name keeps the bytes reproducible). Empty: the path's base name.
  std::string file_name;
  // Encode on `pool` itself instead of one thread of its own (see CramWriter): faster, but the
  // bytes then depend on thread timing.
  bool share_pool = false;
};

// Checks the reference against the header: exists, readable, `.fai` present (built if missing).
// For every @SQ whose contig the reference has with the same length, the M5 in the header (if any)
// must equal the reference's (else FailedPrecondition); M5 and UR are added where missing.
// Contigs the reference lacks, or has with another length, stay as the input gave them (a full
// genome dictionary with reads on one contig, or only unmapped reads, is common): `unusable`
// (indexed by tid) gets the reason, and a record placed on such a contig is refused by
// CheckRecordReference().
[[nodiscard]] Status PrepareReference(const std::string& reference, sam_hdr_t* header,
                                      const std::string& input_name,
                                      std::vector<std::string>* unusable);

// Error naming the reference, the contig, the record and the input when `record` is placed on a
// contig that PrepareReference found unusable.
[[nodiscard]] Status CheckRecordReference(const bam1_t* record,
                                          const std::vector<std::string>& unusable,
                                          const std::string& input_name, uint64_t record_number);

class CramWriter {
 public:
  // Opens `path` (a temporary name; the caller renames) and writes the header.
  [[nodiscard]] static StatusOr<std::unique_ptr<CramWriter>> Open(const std::string& path,
                                                                  sam_hdr_t* header,
                                                                  const EncodeOptions& options);
  ~CramWriter();
  [[nodiscard]] Status Write(const bam1_t* record);
  // Flushes and writes the EOF container; errors (e.g. disk full) name the file.
  [[nodiscard]] Status Close();

 private:
  CramWriter() = default;
  // htslib re-tries codecs every so many blocks and counts them across containers as they finish;
  // with several encoding threads that order varies and so do the chosen codecs (same records,
  // other bytes). One encoding thread of its own keeps the bytes the same whatever -@ is, while
  // reading, mapping and verifying use the shared pool. Declared first: destroyed after fp_.
  ThreadPoolPtr own_pool_;
  htsFile* fp_ = nullptr;
  sam_hdr_t* header_ = nullptr;
  std::string path_;
};

}  // namespace cramjet
