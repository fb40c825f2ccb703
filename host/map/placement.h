// host/map/placement.h — internal to the map stage: a read's place on the reference, as both
// placement paths (the short-read mapper and the long-read aligner) produce it, and the one
// function that writes it into a record.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <htslib/sam.h>

#include "kernel_shape.h"

#include "cramjet/status.h"
#include "map/map.h"

namespace cramjet::map_internal {

struct Placement {
  bool placed = false;
  bool gapped = false;
  int strand = 0;
  uint32_t contig = 0;
  int64_t ref_start = 0;  // concatenated coordinate of the first aligned base
  uint8_t mapq = 0;
  std::vector<uint32_t> cigar;  // BAM-encoded, soft clips included: covers the whole read
};

// The best-scoring clipped stretch [begin, end) of a read laid ungapped on diagonal `diag` of
// `contig` (scores of kernel_shape.h, end bonuses, a barrier at the contig ends), so that a
// cluster of mismatches at a read end becomes a soft clip. Ties: the earliest end.
struct Segment {
  int score = 0;
  uint32_t begin = 0, end = 0;
};
// Over the mismatch positions (found eight bases at a time) where the window lies inside the
// contig and holds only A/C/G/T, base by base otherwise; both give the same result.
Segment DiagonalSegment(const ReferenceIndex& index, const uint8_t* codes, uint32_t length, int64_t diag,
                        uint32_t contig);
Segment DiagonalSegmentBaseByBase(const ReferenceIndex& index, const uint8_t* codes, uint32_t length,
                                  int64_t diag, uint32_t contig);

// The read's side of SeedEntry::flanks for a seed at `position` of one strand's codes (0..3,
// 4 = N; same bit layout), and which of those bases the read has (2 bits set per base inside the
// read and not N).
struct ReadFlanks {
  uint32_t bases = 0, present = 0;
  bool left_judged = false, right_judged = false;  // at least kMinJudgedFlankBases present on that side
};
inline constexpr int kMinJudgedFlankBases = 4;
inline ReadFlanks FlanksOfRead(const uint8_t* codes, uint32_t length, uint32_t position) {
  ReadFlanks f;
  auto take = [&](int64_t j, int bit) {
    if (j < 0 || j >= static_cast<int64_t>(length) || codes[j] > 3) return;
    f.bases |= uint32_t{codes[j]} << bit;
    f.present |= uint32_t{3} << bit;
  };
  for (int i = 0; i < kSeedFlankBases; ++i) {
    take(static_cast<int64_t>(position) - kSeedFlankBases + i, 2 * i);
    take(static_cast<int64_t>(position) + CJ_SEED_K + i, 16 + 2 * i);
  }
  f.left_judged = __builtin_popcount(f.present & 0x5555u) >= kMinJudgedFlankBases;
  f.right_judged = __builtin_popcount(f.present & 0x55550000u) >= kMinJudgedFlankBases;
  return f;
}

// Whether a seed hit whose entry has `reference` flanks may be where the read comes from: on at
// least one side whose bases the read has (4 to 7 of them), the reference differs in at most one
// (docs/mapper.md, "Flank check"). A chance 15-mer match passes with probability ~0.27%, a true
// one fails only with two errors within 7 bases on both sides; an indel beside the seed shifts one
// side only. Hits of reads too short to judge either side pass. The orientation bit is ignored.
inline bool FlanksAgree(uint32_t reference, const ReadFlanks& read) {
  if (!read.left_judged && !read.right_judged) return true;
  const uint32_t x = (reference ^ read.bases) & read.present;
  const uint32_t differ = (x | (x >> 1)) & 0x55555555u;
  const uint32_t left = differ & 0xFFFFu, right = differ >> 16;
  // v & (v - 1) clears the lowest set bit: zero when at most one base differs.
  return (read.left_judged && (left & (left - 1)) == 0) || (read.right_judged && (right & (right - 1)) == 0);
}

// An unmapped primary record with bases: what the map stage places.
bool Mappable(const bam1_t* b);

// Rewrites `b` as placed: CIGAR in, SEQ/QUAL reverse-complemented for the reverse strand; the
// name and aux data are copied byte for byte. `buffer` is scratch. Internal error only when the
// record cannot grow.
[[nodiscard]] Status ApplyPlacement(bam1_t* b, const Placement& p, const ReferenceIndex& index,
                                    std::vector<uint8_t>& buffer);

// Mate fields of the pairs in `batch` (adjacent READ1, READ2) of which this call tried to place
// at least one record (`attempted`, by record): MTID/MPOS/mate flags, TLEN, PROPER_PAIR (same
// contig, facing, template <= max_insert), and SAM's convention for an unplaced mate. Returns
// the records flagged PROPER_PAIR.
uint64_t SetMateFields(ReadBatch& batch, const std::vector<bool>& attempted, int64_t max_insert);

}  // namespace cramjet::map_internal

namespace cramjet {
namespace map_internal {
struct LongReadBuffer;  // map_buffer.h
}

// minimap2 (2.24, libminimap2) behind the map stage for long reads: its own index of the FASTA,
// built in memory at Create with the preset's k/w, and its primary alignment of each read.
class LongReadAligner {
 public:
  // minimap2's index of `fasta_path` (the FASTA behind `index`; contig names and lengths must
  // agree with it, FailedPrecondition otherwise), loaded from its cache beside the FASTA
  // (LongReadIndexCachePath) when that is newer than the FASTA and `index`, else built and cached
  // there (temporary name, rename; a folder that cannot be written: built for this call only).
  // BadInput when minimap2 cannot read it. `index` must outlive the aligner.
  [[nodiscard]] static StatusOr<std::unique_ptr<LongReadAligner>> Create(const ReferenceIndex& index,
                                                                         const std::string& fasta_path,
                                                                         LongReadPreset preset, int threads);
  ~LongReadAligner();
  LongReadAligner(const LongReadAligner&) = delete;
  LongReadAligner& operator=(const LongReadAligner&) = delete;
  // minimap2's primary alignment of `b`'s bases as a placement (soft clips for the unaligned
  // ends; `placed` false when minimap2 finds none). Thread-safe for calls with different buffers.
  map_internal::Placement Align(const bam1_t* b, map_internal::LongReadBuffer& buffer) const;
  // minimap2's index and our contig numbers for its sequences (long_read.cc; named here so that
  // the file's helpers can fill one).
  struct Impl;

 private:
  explicit LongReadAligner(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Where minimap2's index of `fasta_path` for `preset` is cached: "<fasta>.map-ont.mmi" (one per
// preset, as k, w and homopolymer compression differ).
std::string LongReadIndexCachePath(const std::string& fasta_path, LongReadPreset preset);

}  // namespace cramjet
