// host/map/map.h — stage 2, map: places unaligned reads on the reference for the CRAM encoder.
//
// Compression-grade placement, not analysis-grade alignment (docs/mapper.md): (w,k)-minimizers
// of the read are looked up in an on-disk index beside the FASTA, candidates are checked on both
// strands by a Hamming distance with early exit against the 2-bit reference, and reads that do
// not fit a diagonal get a banded local alignment (small indels, soft clips). A read that places
// nowhere cheaply stays unmapped and is stored whole. The hot loops run on a Backend
// (include/cramjet/backend.h); results do not depend on the backend, batch size or threads.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/common.h"
#include "cramjet/backend.h"
#include "cramjet/status.h"

namespace cramjet {

struct ContigInfo {
  std::string name;    // FASTA header up to the first white space
  uint64_t length = 0;
  uint64_t start = 0;  // offset of its first base in the concatenated reference
  std::string md5;     // @SQ M5: lower-case hex MD5 of the upper-cased bases (ASCII 33-126)
};

// One entry of the seed table: where a minimizer sits, which orientation its k-mer has there,
// and the bases around it, so that a seed hit whose surroundings disagree with the read's is
// dropped before the reference is touched (at genome size most 15-mer hits are chance matches,
// and each check of one is a DRAM miss).
inline constexpr int kSeedFlankBases = 7;
inline constexpr uint32_t kSeedEntryReverse = 1u << 31;
struct SeedEntry {
  uint32_t position;  // concatenated coordinates of the minimizer's first base (forward strand)
  // 2 bits per base (A,C,G,T = 0..3; a reference N reads as A): bits 2i..2i+1 hold base
  // position - 7 + i, bits 16 + 2i.. hold base position + k + i (i = 0..6); bit 31
  // (kSeedEntryReverse): the forward-strand k-mer is the larger of it and its reverse complement
  // (SeedIsReverse), so the seed hashed its reverse complement.
  uint32_t flanks;
};

struct IndexBuildOptions {
  int threads = 1;
  // Refuse to build when the projected peak memory exceeds this; 0 = DefaultBuildMemoryLimit().
  uint64_t max_memory = 0;
  // Minimizer windows seeded per task (tests make it small to exercise the seams).
  uint64_t chunk_bases = uint64_t{4} << 20;
};

// The mapper's reference index, `<fasta>.cjidx` (docs/mapper.md, "Index format"): format
// version, FASTA size and mtime, contig names/lengths/MD5s, 2-bit packed sequence with N runs,
// and a minimizer table. Opened with mmap (read-only, shared between processes); immutable and
// safe to use from many threads.
class ReferenceIndex {
 public:
  // "<fasta_path>.cjidx".
  static std::string IndexPath(const std::string& fasta_path);
  // Maps the index beside `fasta_path`. Errors: NotFound when the FASTA is missing;
  // FailedPrecondition when the index is missing, stale (FASTA size/mtime differ), built by
  // another format version, or not a cramjet index; the message names the files and says to
  // run `cramjet index <fasta>`. BadInput when the index is truncated.
  [[nodiscard]] static StatusOr<std::unique_ptr<ReferenceIndex>> Open(const std::string& fasta_path);
  // Reads the FASTA (plain, gzip or bgzip) and writes the index atomically beside it (hidden
  // temporary, header last, fsync, rename; temporaries of builds that died are removed).
  // Errors name the FASTA and line (empty or duplicate contig names, no sequence); more than 4 Gb
  // of sequence is BadInput and a build projected to need more than `max_memory` is
  // FailedPrecondition, both found by a first pass that allocates nothing large.
  [[nodiscard]] static Status Build(const std::string& fasta_path, const IndexBuildOptions& options);
  [[nodiscard]] static Status Build(const std::string& fasta_path, int threads);
  // 80% of this machine's physical memory.
  static uint64_t DefaultBuildMemoryLimit();
  // Peak memory of Build for `total_bases` bases, `n_runs` N runs and `entries` minimizers
  // (0: the expected 2/(w+1) per base): the index's own arrays plus per-thread seeding buffers.
  static uint64_t EstimateBuildMemory(uint64_t total_bases, uint64_t n_runs, uint64_t entries,
                                      const IndexBuildOptions& options);

  ~ReferenceIndex();
  ReferenceIndex(const ReferenceIndex&) = delete;
  ReferenceIndex& operator=(const ReferenceIndex&) = delete;

  const std::vector<ContigInfo>& contigs() const { return contigs_; }
  size_t contig_count() const { return contigs_.size(); }
  const std::string& contig_name(size_t tid) const { return contigs_[tid].name; }
  uint64_t contig_length(size_t tid) const { return contigs_[tid].length; }
  const std::string& contig_md5(size_t tid) const { return contigs_[tid].md5; }
  uint64_t total_length() const { return total_length_; }
  uint64_t entry_count() const { return entry_count_; }  // minimizers in the seed table
  uint64_t file_size() const { return map_size_; }
  const std::string& path() const { return index_path_; }

  // ---- Used by the mapper ----
  PackedReference packed() const { return {sequence_, total_length_, serial_}; }
  // Minimizers whose hash shares this hash's bucket, by position ascending; may include other
  // k-mers (their flanks and the Hamming check sort them out).
  std::span<const SeedEntry> Lookup(uint32_t hash) const {
    const uint32_t bucket = hash & bucket_mask_;
    return {entries_ + offsets_[bucket], entries_ + offsets_[bucket + 1]};
  }
  void PrefetchBucket(uint32_t hash) const { __builtin_prefetch(offsets_ + (hash & bucket_mask_)); }
  void PrefetchEntries(uint32_t hash) const { __builtin_prefetch(entries_ + offsets_[hash & bucket_mask_]); }
  // Contig holding concatenated position `position` (< total_length()).
  size_t ContigOf(uint64_t position) const;
  // 0..3 for A/C/G/T, CJ_BASE_N for anything else.
  int BaseCode(uint64_t position) const {
    if (in_n_block(position) && IsN(position)) return 4;
    return static_cast<int>((sequence_[position / 32] >> (2 * (position % 32))) & 3);
  }
  // Whether [start, start+length) holds only A/C/G/T (contig boundaries are checked by the caller).
  bool AllAcgt(uint64_t start, uint64_t length) const;

 private:
  ReferenceIndex() = default;
  bool in_n_block(uint64_t position) const {
    const uint64_t block = position >> 10;
    return (n_blocks_[block / 64] >> (block % 64)) & 1;
  }
  bool IsN(uint64_t position) const;

  std::string index_path_;
  void* map_ = nullptr;
  size_t map_size_ = 0;
  std::vector<ContigInfo> contigs_;
  static constexpr int kContigBlockBits = 20;
  std::vector<uint64_t> contig_starts_;    // contigs_[i].start, contiguous for the search
  std::vector<uint32_t> contig_at_block_;  // contig holding base (block << kContigBlockBits)
  uint64_t total_length_ = 0;
  uint64_t entry_count_ = 0;
  uint32_t bucket_mask_ = 0;  // 2^bucket_bits - 1
  const uint64_t* sequence_ = nullptr;
  uint64_t serial_ = 0;  // distinct per opened index in this process (PackedReference::id)
  const uint64_t* n_blocks_ = nullptr;   // one bit per 1024 bases: block holds a non-ACGT base
  const uint64_t* n_runs_ = nullptr;     // (start, length) pairs, ascending
  uint64_t n_run_count_ = 0;
  const uint32_t* offsets_ = nullptr;    // 2^bucket_bits + 1
  const SeedEntry* entries_ = nullptr;
};

// Adds @SQ SN/LN/M5/UR for every contig of the index, in FASTA order, so that tid i is contig i
// of the index (what Mapper writes). UR is file:<absolute FASTA path>. FailedPrecondition when the
// header already has @SQ lines that differ from the index's.
[[nodiscard]] Status AddReferenceContigs(sam_hdr_t* header, const ReferenceIndex& index,
                                         const std::string& fasta_path);

// The long-read path (docs/mapper.md, "Long reads"): minimap2's preset for the job's reads.
enum class LongReadPreset {
  kNone,  // short reads: cramjet's own mapper
  kOnt,   // Oxford Nanopore (R9.4.1, R10.4.1): minimap2 -x map-ont
  kHifi,  // PacBio HiFi (CCS): -x map-hifi
  kClr,   // PacBio CLR (continuous long reads): -x map-pb
};
// "none", "ont", "hifi", "clr"; InvalidArgument naming the choices otherwise.
[[nodiscard]] StatusOr<LongReadPreset> ParseLongReadPreset(std::string_view name);
// minimap2's name of the preset ("map-ont", ...); "" for kNone.
const char* Minimap2PresetName(LongReadPreset preset);

struct MapOptions {
  // Not kNone: every read of the job is placed by minimap2 with this preset (an index of its own
  // built from the FASTA at Create, in memory); the short-read rounds are not used.
  LongReadPreset long_reads = LongReadPreset::kNone;
  int long_read_index_threads = 1;  // threads for building minimap2's index
  // A diagonal (ungapped) placement may have at most this fraction of mismatching bases; beyond
  // that storing the read whole is about as cheap (docs/mapper.md, "Thresholds").
  double max_mismatch_fraction = 0.10;
  // Placements with at most 2 + length/50 mismatches are taken without trying more candidates.
  // Reads worse than that go through all their seeds and the banded alignment.
  bool banded_alignment = true;
  // A banded (gapped, clipped) alignment is kept when its score reaches
  // max(min_score, min_score_fraction * read length).
  int min_score = 30;
  double min_score_fraction = 0.25;
  // Seeds whose index bucket holds more minimizers than this (repeats) are not followed.
  uint32_t max_seed_occurrences = 500;
  // Seed hits gathered per read for the second round's vote, the rarest seeds first (reads in
  // repeats would otherwise sort thousands of hits). At least one seed is always used.
  uint32_t max_hits_per_read = 256;
  // Candidates verified per read in the second round (by seed votes).
  uint32_t max_candidates = 8;
  // Proper pair: same contig, facing each other (FR), template length at most this.
  int64_t max_insert = 1000;
};

struct MapStats {
  uint64_t reads = 0;          // records offered for mapping
  uint64_t placed = 0;         // of which placed
  uint64_t placed_gapped = 0;  // of which placed by the banded alignment
  uint64_t proper_pairs = 0;   // records flagged PROPER_PAIR
  uint64_t second_round = 0;   // reads that needed all their seeds (not placed by the first 3+3)
  uint64_t aligned = 0;        // reads sent to the banded alignment
  uint64_t rescued = 0;        // reads placed or moved next to their mate (pair step)
  double seconds = 0;          // time spent in MapBatch, summed over threads
  double cpu_seconds = 0;      // CPU time of the threads in MapBatch (per-core speed on a busy machine)
};

class LongReadAligner;
namespace map_internal {
struct WorkerBuffer;
}

// The working memory of one thread that maps (in the spirit of minimap2's mm_tbuf_t): created by
// the caller, one per worker thread, and passed to every MapBatch call of that thread, so that a
// batch allocates nothing once the buffer has grown to the batch size. A buffer serves any mapper
// (short or long reads, any index); it is not thread-safe: concurrent calls need one each.
class MapBuffer {
 public:
  MapBuffer();
  ~MapBuffer();
  MapBuffer(MapBuffer&&) noexcept;
  MapBuffer& operator=(MapBuffer&&) noexcept;

 private:
  friend class Mapper;
  std::unique_ptr<map_internal::WorkerBuffer> worker_;
};

class Mapper {
 public:
  // `index` and `backend` must outlive the mapper.
  [[nodiscard]] static StatusOr<std::unique_ptr<Mapper>> Create(const ReferenceIndex& index,
                                                                const Backend& backend,
                                                                const MapOptions& options);
  // Places the unaligned records of `batch` in place (see the header comment of this file and
  // docs/mapper.md for the fields set). Records that are not unmapped primary records are left
  // untouched. Pairs are adjacent records (READ1 then READ2, both PAIRED). Thread-safe for
  // concurrent calls on different batches with different buffers; the result of a record depends
  // only on it and its mate, never on the buffer's history.
  [[nodiscard]] Status MapBatch(ReadBatch& batch, MapBuffer& buffer);
  MapStats stats() const;
  ~Mapper();

 private:
  Mapper(const ReferenceIndex& index, const Backend& backend, const MapOptions& options);
  [[nodiscard]] Status MapShortBatch(ReadBatch& batch, map_internal::WorkerBuffer& buffer);
  [[nodiscard]] Status MapLongBatch(ReadBatch& batch, map_internal::WorkerBuffer& buffer);  // long_read.cc
  const ReferenceIndex& index_;
  std::unique_ptr<LongReadAligner> long_reads_;  // set when options_.long_reads != kNone
  const Backend& backend_;
  MapOptions options_;
  std::atomic<uint64_t> reads_{0}, placed_{0}, placed_gapped_{0}, proper_pairs_{0}, second_round_{0},
      aligned_{0}, rescued_{0}, nanos_{0}, cpu_nanos_{0};
};

}  // namespace cramjet
