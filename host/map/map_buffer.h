// host/map/map_buffer.h — internal to the map stage: what one worker thread keeps between the
// steps of Mapper::MapBatch (the MapBuffer of map.h; minimap2's mm_tbuf_t). Each step's scratch is
// a struct of its own, so a step's signature says what it reads and writes. Every vector is
// cleared or resized by the step that fills it: nothing of one batch is seen by the next.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "cramjet/backend.h"
#include "map/map.h"
#include "map/placement.h"

struct mm_tbuf_s;  // minimap2's per-thread buffer (minimap.h)

namespace cramjet::map_internal {

// A place to check: diagonal (reference start of the read, concatenated coordinates) and strand.
struct Candidate {
  int64_t key;      // diag * 2 + strand (diag may be negative: a read overhanging a contig start)
  uint32_t contig;  // contig of the seed hit: the contig the read is compared against
  uint32_t votes;
  int64_t diag() const { return key >> 1; }  // arithmetic shift keeps the sign
  int strand() const { return static_cast<int>(key & 1); }
};
inline bool ByKey(const Candidate& a, const Candidate& b) {
  return a.key != b.key ? a.key < b.key : a.contig < b.contig;
}
inline bool SamePlace(const Candidate& a, const Candidate& b) { return a.key == b.key && a.contig == b.contig; }

// [begin, end) of a flat array of the batch.
struct Range {
  uint32_t begin = 0, end = 0;
  bool empty() const { return end <= begin; }
};

// The candidate rounds of the short-read path: 1a (middle window), 1b (first and last windows),
// 2 (every seed votes).
enum Round : int { kRound1a = 0, kRound1b = 1, kRound2 = 2, kRoundCount = 3 };

// One mappable read of the batch across the steps.
struct ReadState {
  size_t record = 0;             // index in the batch
  uint32_t length = 0;
  uint32_t budget = 0;           // max mismatches for a diagonal placement
  uint32_t accept = 0;           // mismatches taken without trying harder
  uint32_t best_mm = UINT32_MAX, second_mm = UINT32_MAX;
  Candidate best{};
  bool resolved = false;         // placed well enough: later rounds skip it
  bool needs_alignment = false;  // left by the diagonal step for the banded alignment
  Range tried[kRoundCount];      // its candidates of each round in CandidateLists::tried
  Range votes;                   // its round-2 votes in CandidateLists::voted, most votes first
};

// Step "encode reads": the batch's mappable reads as the kernels take them. Read r's forward
// codes are codes[code_offsets[2r] ..), its reverse complement codes[code_offsets[2r + 1] ..), up
// to code_offsets[2r + 2]; as packed sequences, 2r + strand.
struct EncodedReads {
  std::vector<ReadState> reads;
  std::vector<int> read_of;  // by record of the batch: its read, -1 when not mappable
  std::vector<uint8_t> codes;
  std::vector<uint32_t> code_offsets;
  std::vector<uint64_t> words, n_masks;
  std::vector<uint32_t> word_offsets, lengths;
  const uint8_t* strand_codes(size_t r, int strand) const { return codes.data() + code_offsets[2 * r + strand]; }
  PackedSequences packed() const { return {words.data(), n_masks.data(), word_offsets.data(), lengths.data()}; }
};

// A seed of a read's forward strand. Its k-mer is canonical, so its hits lie on either strand:
// a hit whose k-mer orientation differs from the read's is the reverse strand's, where the
// same k-mer starts at length - k - position of the reverse-complemented read.
struct SeedPick {
  uint32_t read;
  bool reverse;  // SeedIsReverse of the read's k-mer
  Seed seed;
  ReadFlanks flanks[2];  // around the k-mer on the forward and on the reverse strand
};
// One seed's bucket in the index and the pick it was looked up for.
struct SeedSpan {
  std::span<const SeedEntry> found;
  uint32_t pick;
};
// Steps "seed round" and "vote": seeds, their index buckets and the hits that pass the flank check.
struct SeedScratch {
  std::vector<uint32_t> sequences;  // the packed sequences seeded (2r: forward strands)
  SeedOutput seeds;
  std::vector<SeedPick> picks;      // by read
  std::vector<SeedSpan> spans;      // of the read being looked up
  std::vector<std::pair<uint32_t, int>> agreeing;  // one seed's hits: position, strand
  std::vector<Candidate> hits;      // of the read being looked up
};

// Every candidate of the batch: tried (checked by the Hamming step) and round 2's votes.
struct CandidateLists {
  std::vector<Candidate> tried;
  std::vector<uint32_t> mismatches;  // of tried[k]; UINT32_MAX until checked
  std::vector<Candidate> voted;
  void Clear();  // at the start of a batch
};

// The Hamming check of candidates on clean windows, one backend call per round.
struct VerifyQueue {
  std::vector<VerifyJob> jobs;
  std::vector<uint32_t> slots;    // jobs[j] checks tried[slots[j]]
  std::vector<uint32_t> results;
};

// Step "align the rest": a candidate of read `read` whose window is windows[window ..].
struct AlignTarget {
  size_t read;
  Candidate candidate;
  size_t window;
};
struct AlignScratch {
  std::vector<AlignTarget> targets;  // by read
  std::vector<uint8_t> windows;
  std::vector<AlignJob> jobs;
  std::vector<int32_t> scores;       // score-only pass over reads with several targets
  std::vector<size_t> chosen;        // targets whose CIGAR is computed
  std::vector<int32_t> second;       // the best score of the other targets of chosen[i]'s read
  AlignOutput output;
};

// minimap2's buffer for the long-read path, made on first use.
struct Minimap2BufferDeleter {
  void operator()(mm_tbuf_s* buffer) const;  // long_read.cc
};
struct LongReadBuffer {
  std::unique_ptr<mm_tbuf_s, Minimap2BufferDeleter> minimap2;
  std::string bases;  // the read as letters
};

// What one batch adds to Mapper's counters (MapStats).
struct BatchCounts {
  uint64_t reads = 0, placed = 0, placed_gapped = 0, proper_pairs = 0, second_round = 0, aligned = 0,
           rescued = 0;
};

struct WorkerBuffer {
  EncodedReads encoded;
  SeedScratch seeding;
  CandidateLists candidates;
  VerifyQueue verify;
  AlignScratch align;
  std::vector<Placement> placements;  // by read
  std::vector<bool> attempted;        // by record: this call tried to place it
  std::vector<uint8_t> record;        // ApplyPlacement's scratch
  LongReadBuffer long_reads;
  BatchCounts counts;
};

}  // namespace cramjet::map_internal
