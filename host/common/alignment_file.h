// host/common/alignment_file.h — the one way cramjet opens a SAM/BAM/CRAM with htslib. Every
// stage that reads one (read, verify, the QC and verify jobs, the ship manifest) goes through
// it, so each gets the same checks and the same errors: a missing or empty file, not
// SAM/BAM/CRAM, a missing EOF block (truncated), an unreadable header, and the MD/NM rule (no
// generation unless the CRAM says it left them out for that: `@HD md:regenerated`, common.h).
#pragma once

#include <cstdint>
#include <string>

#include <htslib/sam.h>
#include <htslib/thread_pool.h>

#include "common/common.h"
#include "cramjet/status.h"

namespace cramjet {

struct AlignmentFile {
  std::string path;
  std::string reference;  // as given ("" when htslib finds it by @SQ M5/UR)
  ThreadPoolPtr pool;     // its own decode pool; declared first so the file closes before it goes
  HtsFilePtr file;
  HeaderPtr header;
  bool regenerated = false;  // MD/NM regenerated; ReadAlignmentRecord renames zm back
  bool is_cram() const;
};

struct AlignmentOpenOptions {
  std::string reference;  // CRAM's reference (FASTA); "" lets htslib find it by @SQ M5/UR
  int threads = 1;        // > 1: a decode pool of this many threads, owned by the file
  // Decode on this pool instead (shared by the files of one job); not owned.
  hts_tpool* shared_pool = nullptr;
  // Leave MD/NM generation at htslib's default instead of turning it off: QC counts mismatches
  // from NM the way samtools stats sees a CRAM. Proofs and re-encoding never set this.
  bool htslib_default_md_nm = false;
};

// Opens `path` and reads its header. Errors name the file: missing, empty, not SAM/BAM/CRAM,
// BGZF/CRAM EOF block absent ("the end-of-file marker is missing: the file is truncated or was
// not closed"), unreadable header, an unusable reference.
[[nodiscard]] StatusOr<AlignmentFile> OpenAlignmentFile(const std::string& path,
                                                        const AlignmentOpenOptions& options);
// Reads the next record. true: `record` filled; false: clean end of file. Errors name the file
// and the 1-based record number (`records_read` is the count read so far).
[[nodiscard]] StatusOr<bool> ReadAlignmentRecord(AlignmentFile& file, bam1_t* record, uint64_t records_read);

}  // namespace cramjet
