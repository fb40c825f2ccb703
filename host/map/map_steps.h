// host/map/map_steps.h — internal to the map stage: the steps of the short-read path, in the
// order Mapper::MapShortBatch (mapper.cc) runs them over a worker's buffer, as minimap2's
// mm_map_frag runs its own. The hot loops of each step are one Backend call per batch; what a
// step does for a read depends only on that read (and, for the pair step, its mate).
#pragma once

#include <cstdint>

#include "cramjet/backend.h"
#include "cramjet/status.h"
#include "map/map.h"
#include "map/map_buffer.h"
#include "map/placement.h"

namespace cramjet::map_internal {

// What every step reads and never changes.
struct MapContext {
  const ReferenceIndex& index;
  const Backend& backend;
  const MapOptions& options;
};

// 1. Encode reads (encode.cc): the mappable records of `batch` as codes of both strands and 2-bit
//    words, and a ReadState each (mismatch budget and acceptance from `options`).
void EncodeReads(const ReadBatch& batch, const MapOptions& options, EncodedReads& out);

// 2. Seed round (candidates.cc), round 1a or 1b: the sampled minimizers of every read not yet
//    resolved; each hit that passes the flank check is a candidate, checked by the Hamming step;
//    a read whose best has at most `accept` mismatches is resolved.
[[nodiscard]] Status SeedRound(const MapContext& context, Round round, WorkerBuffer& buffer);
// 3. Vote (candidates.cc), round 2: every minimizer of the reads still unresolved votes for its
//    diagonal; the best-voted untried candidates are checked. Keeps the votes for step 5.
[[nodiscard]] Status VoteRound(const MapContext& context, WorkerBuffer& buffer);

// 4. Place on the diagonal (diagonal.cc): reads whose best candidate is good enough (or that
//    cannot be aligned) get the best clipped segment of its diagonal; marks them on_diagonal.
void PlaceOnDiagonal(const MapContext& context, WorkerBuffer& buffer);

// 5. Align the rest (align.cc): the banded alignment for the reads left, against their best
//    candidate by mismatches and by votes; scores alone choose between them, the CIGAR is
//    computed for the chosen one only.
[[nodiscard]] Status AlignRest(const MapContext& context, WorkerBuffer& buffer);

// 6. Pair step (pairing.cc): where a pair is not proper, a mate placed no worse next to its
//    partner, or an unplaced mate rescued there.
void PlaceMatesTogether(const MapContext& context, const ReadBatch& batch, WorkerBuffer& buffer);

// 7. Apply (record.cc): writes every placed read into its record (ApplyPlacement). Then the mate
//    fields: SetMateFields (pairing.cc).
[[nodiscard]] Status ApplyPlacements(const ReferenceIndex& index, ReadBatch& batch, WorkerBuffer& buffer);

// ---- Shared by the steps ----
// A read placed on diagonal `diag` of `contig` with `mismatches` Hamming mismatches: the best
// clipped segment (soft clips for mismatch clusters at the ends); not placed when no segment
// scores above zero (diagonal.cc).
Placement DiagonalPlacement(const ReferenceIndex& index, const uint8_t* codes, uint32_t length, int64_t diag,
                            uint32_t contig, int strand, uint32_t mismatches, uint8_t mapq);
// Mismatches of the read on diagonal `diag` of `contig` base by base (outside the contig, N on
// either side: a mismatch); max_mismatches + 1 once more are found (diagonal.cc).
uint32_t ExactMismatches(const ReferenceIndex& index, const uint8_t* codes, uint32_t length, int64_t diag,
                         uint32_t contig, uint32_t max_mismatches);

// Byte i of x holds a 2-bit value; returns them packed, value i at bits 2i.
inline uint64_t Gather2Bits(uint64_t x) {
  x = (x | (x >> 6)) & 0x000F000F000F000Full;
  x = (x | (x >> 12)) & 0x000000FF000000FFull;
  return (x | (x >> 24)) & 0xFFFFull;
}

}  // namespace cramjet::map_internal
