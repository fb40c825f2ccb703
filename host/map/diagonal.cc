// Step 4 of the short-read path, place on the diagonal: a read whose best candidate has few
// enough mismatches is laid ungapped on that diagonal, its best clipped segment kept (a cluster
// of mismatches at an end becomes a soft clip), scored as the banded alignment scores.
#include <algorithm>
#include <cstring>

#include "kernel_shape.h"
#include "map/map_steps.h"

namespace cramjet::map_internal {
namespace {

// Calls visit(position) for every read position whose code differs from reference base diag +
// position (read N included), ascending. The window must lie inside one contig and hold only
// A/C/G/T. Eight bases at a time: the read's codes and the reference's 2-bit bases compared as
// 16 bits.
template <typename Visit>
void ForEachDiagonalMismatch(const PackedReference& reference, const uint8_t* codes, uint32_t length, uint64_t diag,
                             Visit&& visit) {
  for (uint32_t j = 0; j < length; j += 8) {
    const uint32_t n = std::min<uint32_t>(8, length - j);
    uint64_t eight = 0;
    std::memcpy(&eight, codes + j, n);
    const uint64_t read_bases = Gather2Bits(eight & 0x0303030303030303ull);
    const uint64_t read_n = Gather2Bits((eight >> 2) & 0x0101010101010101ull);
    const uint64_t x = (PackedBasesAt(reference.words, diag + j) ^ read_bases) & 0xFFFF;
    uint64_t differ = ((x | (x >> 1)) & 0x5555) | read_n;
    if (n < 8) differ &= (uint64_t{1} << (2 * n)) - 1;
    for (; differ; differ &= differ - 1) visit(j + static_cast<uint32_t>(__builtin_ctzll(differ)) / 2);
  }
}

}  // namespace

// The diagonal alignment's best clipped segment, base by base, with the banded kernel's scoring
// (end bonuses, barrier at the contig ends): the reference recurrence; DiagonalSegment is the
// fast path for clean windows.
Segment DiagonalSegmentBaseByBase(const ReferenceIndex& index, const uint8_t* codes, uint32_t length,
                                  int64_t diag, uint32_t contig) {
  const ContigInfo& c = index.contigs()[contig];
  const int64_t lo = static_cast<int64_t>(c.start), hi = static_cast<int64_t>(c.start + c.length);
  Segment best{CJ_SCORE_NEG_INF, 0, 0};
  int cur = 0;
  uint32_t cur_begin = 0;
  for (uint32_t i = 0; i < length; ++i) {
    const int64_t g = diag + i;
    int s;
    if (g < lo || g >= hi) {
      s = CJ_SCORE_BARRIER;
    } else {
      const int f = index.BaseCode(static_cast<uint64_t>(g));
      s = (codes[i] == f && f < 4) ? CJ_SCORE_MATCH : CJ_SCORE_MISMATCH;
    }
    if (i == 0) {
      cur = CJ_SCORE_END_BONUS + s;
      cur_begin = 0;
    } else if (s > cur + s) {
      cur = s;
      cur_begin = i;
    } else {
      cur += s;
    }
    const int end_value = cur + (i + 1 == length ? CJ_SCORE_END_BONUS : 0);
    if (end_value > best.score) best = {end_value, cur_begin, i + 1};
  }
  return best;
}

Segment DiagonalSegment(const ReferenceIndex& index, const uint8_t* codes, uint32_t length, int64_t diag,
                        uint32_t contig) {
  const ContigInfo& c = index.contigs()[contig];
  if (diag < static_cast<int64_t>(c.start) || diag + length > static_cast<int64_t>(c.start + c.length) ||
      !index.AllAcgt(static_cast<uint64_t>(diag), length))
    return DiagonalSegmentBaseByBase(index, codes, length, diag, contig);
  // The base-by-base recurrence, one step per mismatch and one per run of matches: within a run
  // the running score only grows (it restarts at most at the run's first base), so the run's
  // last base is the only place the best can change.
  Segment best{CJ_SCORE_NEG_INF, 0, 0};
  int cur = 0;
  uint32_t cur_begin = 0;
  auto first_step = [&](uint32_t i, int s) {
    if (i == 0) {
      cur = CJ_SCORE_END_BONUS + s;
      cur_begin = 0;
    } else if (cur < 0) {
      cur = s;
      cur_begin = i;
    } else {
      cur += s;
    }
  };
  auto offer = [&](uint32_t end) {
    const int end_value = cur + (end == length ? CJ_SCORE_END_BONUS : 0);
    if (end_value > best.score) best = {end_value, cur_begin, end};
  };
  uint32_t next = 0;
  auto matches_until = [&](uint32_t stop) {
    if (stop <= next) return;
    first_step(next, CJ_SCORE_MATCH);
    cur += static_cast<int>(stop - next - 1) * CJ_SCORE_MATCH;
    offer(stop);
  };
  ForEachDiagonalMismatch(index.packed(), codes, length, static_cast<uint64_t>(diag), [&](uint32_t m) {
    matches_until(m);
    first_step(m, CJ_SCORE_MISMATCH);
    offer(m + 1);
    next = m + 1;
  });
  matches_until(length);
  return best;
}

Placement DiagonalPlacement(const ReferenceIndex& index, const uint8_t* codes, uint32_t length, int64_t diag,
                            uint32_t contig, int strand, uint32_t mismatches, uint8_t mapq) {
  Placement p;
  const Segment seg = mismatches == 0 ? Segment{static_cast<int>(length), 0, length}
                                      : DiagonalSegment(index, codes, length, diag, contig);
  if (seg.score <= 0) return p;
  p.placed = true;
  p.strand = strand;
  p.contig = contig;
  p.ref_start = diag + seg.begin;
  if (seg.begin) p.cigar.push_back(seg.begin << 4 | BAM_CSOFT_CLIP);
  p.cigar.push_back((seg.end - seg.begin) << 4 | BAM_CMATCH);
  if (seg.end < length) p.cigar.push_back((length - seg.end) << 4 | BAM_CSOFT_CLIP);
  p.mapq = mapq;
  return p;
}

uint32_t ExactMismatches(const ReferenceIndex& index, const uint8_t* codes, uint32_t length, int64_t diag,
                         uint32_t contig, uint32_t max_mismatches) {
  const ContigInfo& c = index.contigs()[contig];
  const int64_t lo = static_cast<int64_t>(c.start), hi = static_cast<int64_t>(c.start + c.length);
  uint32_t mm = 0;
  for (uint32_t i = 0; i < length; ++i) {
    const int64_t g = diag + i;
    const bool same = g >= lo && g < hi && codes[i] < 4 && index.BaseCode(static_cast<uint64_t>(g)) == codes[i];
    if (!same && ++mm > max_mismatches) return max_mismatches + 1;
  }
  return mm;
}

void PlaceOnDiagonal(const MapContext& context, WorkerBuffer& buffer) {
  const MapOptions& options = context.options;
  EncodedReads& encoded = buffer.encoded;
  buffer.placements.assign(encoded.reads.size(), Placement{});
  for (size_t r = 0; r < encoded.reads.size(); ++r) {
    ReadState& st = encoded.reads[r];
    const bool can_align = options.banded_alignment && st.length <= CJ_MAX_ALIGN_LENGTH;
    const bool diagonal = st.best_mm <= st.accept || (!can_align && st.best_mm <= st.budget);
    st.needs_alignment = !diagonal && can_align;
    if (!diagonal) continue;
    buffer.placements[r] = DiagonalPlacement(context.index, encoded.strand_codes(r, st.best.strand()), st.length,
                                             st.best.diag(), st.best.contig, st.best.strand(), st.best_mm,
                                             st.second_mm == st.best_mm ? 0 : 60);
  }
}

}  // namespace cramjet::map_internal
