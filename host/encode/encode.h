// host/encode/encode.h — stage 4, encode: records in, CRAM out through htslib.
//
// Sets the CRAM version and profile, the reference (`.fai` made if missing), `@SQ M5/UR` from the
// reference, `@PG` with the command line and library versions. MD/NM are stored as given, or, with
// regenerate_md_nm (aligned input), left out where the reference gives them back (common.h).
#pragma once

#include <atomic>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "common/common.h"
#include "cramjet/compress.h"

namespace cramjet {

struct EncodeOptions {
  std::string reference;
  std::string cram_version = "3.1";
  CramProfile profile = CramProfile::kNormal;
  std::string command_line;
  // Encoding threads (CramWriter below). The bytes written do not depend on it.
  int threads = 1;
  // Records per container; 0: htslib's for the profile.
  uint32_t container_records = 0;
  // Leave out MD/NM that the reference regenerates (records prepared with PrepareRegeneratedTags,
  // header marked with MarkRegeneratedTags). false: stored exactly as given, never invented.
  bool regenerate_md_nm = false;
  // Name written into the CRAM's 20-byte file ID (htslib takes the name it opens, here a random
  // temporary; the final name keeps the bytes reproducible). Empty: the path's base name.
  std::string file_name;
};

// Checks the reference against the header: exists, readable, `.fai` present (built if missing).
// For every @SQ whose contig the reference has with the same length, the M5 in the header (if any)
// must equal the reference's (else FailedPrecondition); M5 and UR are added where missing.
// Contigs the reference lacks, or has with another length, stay as the input gave them (a full
// genome dictionary with reads on one contig, or only unmapped reads, is common): `unusable`
// (indexed by tid) gets the reason, and a record placed on such a contig is refused by
// CheckRecordReference().
// `known_md5s` (contig name -> MD5 of its upper-cased bases, may be null): digests already taken
// from this reference file (the mapper index's, tied to the FASTA by size and mtime), used instead
// of reading and hashing the contig here (~30 s for a 3.1 Gb genome). A caller passing them must
// confirm them with CheckReferenceDigests before it publishes anything: a wrong @SQ M5 makes a
// CRAM undecodable for anyone who resolves its reference by MD5.
[[nodiscard]] Status PrepareReference(const std::string& reference, sam_hdr_t* header,
                                      const std::string& input_name,
                                      std::vector<std::string>* unusable,
                                      const std::unordered_map<std::string, std::string>* known_md5s = nullptr);

// Reads every contig named in `expected` (name -> MD5 as @SQ M5 defines it) from `reference` and
// checks its digest: FailedPrecondition naming the FASTA and contig when one differs (the FASTA
// changed after the digests were taken), Aborted when `cancel` turns true between contigs. What
// PrepareReference's `known_md5s` skips, done off the critical path (compress runs it beside the
// job and waits for it before the commit).
[[nodiscard]] Status CheckReferenceDigests(const std::string& reference,
                                           const std::unordered_map<std::string, std::string>& expected,
                                           const std::atomic<bool>* cancel);

// Error naming the reference, the contig, the record and the input when `record` is placed on a
// contig that PrepareReference found unusable.
[[nodiscard]] Status CheckRecordReference(const bam1_t* record,
                                          const std::vector<std::string>& unusable,
                                          const std::string& input_name, uint64_t record_number);

// Deterministic parallel CRAM encoding (docs/design.md, "Encoding on every thread").
//
// htslib picks each data series' codec by trial and carries what it learnt from container to
// container, so one writer fed by several threads writes other bytes each run; and a fresh writer
// per piece of work would repeat the costly trials every time. Here the sorted record stream is
// cut into chunks by the rule htslib itself uses to end a container (ChunkRule, looking only at
// the records), and chunk i goes to lane i mod kEncodeLanes: an htslib writer of its own that sees
// only its lane's chunks, in order, on one thread at a time, so each chunk becomes exactly one of
// its containers and every lane's state depends only on the records, whatever the thread count or
// timing. The lanes' containers are joined in chunk order, with their record counters rewritten
// (stitch_internal.h), into one file: one header, the containers, one EOF. With `threads` <= 1 the
// lanes run on the caller's thread, with more on that many threads of the writer's own: the same
// bytes either way (tested). Records of at most threads + 1 chunks wait for a lane at a time.
//
// Placed records out of coordinate order would make every lane's writer load whole contigs; from
// the first such record on, the rest of the input streams through one writer (what one encoder
// always did), so unsorted aligned input is encoded on one thread with one copy of the reference.
constexpr int kEncodeLanes = 8;

// htslib trials every codec on a writer's first two containers of each data series (cram_io.c:
// NTRIALS - 1) and keeps the winner for the next ~35. At small and archive a trial costs ~10
// times the container's own encoding, so each lane's first kLaneTrialChunks chunks are cut
// smaller (ChunkRule::trial_records): the trials run on less data, and the choice they make holds
// for the full-size containers after them.
constexpr int kLaneTrialChunks = 2;
// ... unless SetRecordCount() says the file has at most this many full containers: then every
// chunk is full-sized (fewer, larger containers compress better, and such a job is short).
constexpr int kSmallFileContainers = 4;

struct ChunkRule {
  size_t max_records = 0;  // a chunk ends at this many records, at this many bases, or where the
  uint64_t max_bases = 0;  // contig changes
  size_t trial_records = 0;  // the same for a lane's first kLaneTrialChunks chunks
  uint64_t trial_bases = 0;
};
// `container_records`: 0 for the profile's default.
ChunkRule ChunkRuleFor(CramProfile profile, uint32_t container_records = 0);

// Lanes for an input of `records` records (CramWriter::SetRecordCount): kEncodeLanes, or fewer
// when there are too few containers to pay for every lane's codec trials (small and archive,
// whose trials try many codecs): 1 to kEncodeLanes, from the record count and profile only.
int LanesFor(CramProfile profile, uint32_t container_records, uint64_t records);

class CramWriter {
 public:
  // Opens `path` (a temporary name; the caller renames), adds @PG to `header` and writes it.
  [[nodiscard]] static StatusOr<std::unique_ptr<CramWriter>> Open(const std::string& path,
                                                                  sam_hdr_t* header,
                                                                  const EncodeOptions& options);
  ~CramWriter();
  CramWriter(const CramWriter&) = delete;
  CramWriter& operator=(const CramWriter&) = delete;
  // When the number of records to come is known (sorted input) or estimated (from the input's
  // size) before the first Write(), the lanes and trial-sized chunks are planned for it
  // (LanesFor, kSmallFileContainers); otherwise all kEncodeLanes are used, with trial chunks. The
  // bytes depend on the count given, never on the thread count. FailedPrecondition after the
  // first Write().
  [[nodiscard]] Status SetRecordCount(uint64_t records);
  // Takes a copy of `record`. An error (a failed chunk, a write error naming the file) is the
  // earliest chunk's and is returned by every later call.
  [[nodiscard]] Status Write(const bam1_t* record);
  // Encodes what is left, writes the EOF container and closes; errors (e.g. disk full) name the
  // file. After an error the file is incomplete: the caller removes it.
  [[nodiscard]] Status Close();

  struct Stats {
    uint64_t chunks = 0;  // chunks cut (the streaming rest counts as one)
    int lanes = 0;        // lanes in use
  };
  Stats stats() const;
  // Records in the containers written to the file so far (any thread may ask, for progress).
  uint64_t records_written() const;

 private:
  class Impl;
  explicit CramWriter(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace cramjet
