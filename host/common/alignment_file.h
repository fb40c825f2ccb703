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
  bool stream = false;       // standard input, read as it arrives (its EOF block checked at the end)
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
  // Only the header will be read (the manifest, verify's look at @RG): the pass over every
  // container and slice header (CheckCramSliceCounts) is left to the open that decodes; the
  // header container is still checked.
  bool header_only = false;
};

// Opens `path` and reads its header. Errors name the file: missing, empty, not SAM/BAM/CRAM,
// BGZF/CRAM EOF block absent ("the end-of-file marker is missing: the file is truncated or was
// not closed"), unreadable header, an unusable reference.
[[nodiscard]] StatusOr<AlignmentFile> OpenAlignmentFile(const std::string& path,
                                                        const AlignmentOpenOptions& options);
// When `file` is a CRAM whose reference cannot be found, why: the first @SQ (SN, M5, UR) that
// neither -T (by name and length), its UR file, REF_CACHE nor a local REF_PATH element holds,
// with every place looked. "" when each @SQ resolves, or a REF_PATH server might have it.
std::string MissingCramReference(const AlignmentFile& file);
// The local file REF_CACHE or a local REF_PATH element holds for a reference sequence's MD5, as
// htslib would look for it; "" when none does (or neither is set).
std::string LocalReferenceForMd5(const std::string& md5);
// Reads the next record. true: `record` filled; false: clean end of file. Errors name the file
// and the 1-based record number (`records_read` is the count read so far): kFailedPrecondition
// when a decode failed and the CRAM's reference is missing (MissingCramReference), kBadInput for
// damaged data. Not checked before decoding: a CRAM may embed its reference or need none, which
// only its slices say (the conformance suite's level-1.cram decodes with a FASTA lacking chrM).
[[nodiscard]] StatusOr<bool> ReadAlignmentRecord(AlignmentFile& file, bam1_t* record, uint64_t records_read);

}  // namespace cramjet
