// Pairs (docs/mapper.md, "Pairs"): step 6 of the short-read path, the pair step, which places a
// mate no worse next to its partner (or rescues an unplaced one there), and the mate fields that
// both placement paths set once the records are written.
#include <algorithm>
#include <optional>

#include "map/map_steps.h"

namespace cramjet::map_internal {
namespace {

// Reference bases covered by a placement's CIGAR.
int64_t RefSpan(const Placement& p) {
  int64_t span = 0;
  for (uint32_t op : p.cigar)
    if (bam_cigar_type(bam_cigar_op(op)) & 2) span += bam_cigar_oplen(op);
  return span;
}

// Same contig, opposite strands, facing each other (FR), template at most `max_insert` long: the
// test the mate fields apply (and what CRAM stores most cheaply, the mate as a near neighbour).
bool ProperPair(const Placement& a, const Placement& b, int64_t max_insert) {
  if (!a.placed || !b.placed || a.contig != b.contig || a.strand == b.strand) return false;
  const Placement& fwd = a.strand == 0 ? a : b;
  const Placement& rev = a.strand == 0 ? b : a;
  const int64_t fwd_end = fwd.ref_start + RefSpan(fwd), rev_end = rev.ref_start + RefSpan(rev);
  return fwd.ref_start <= rev.ref_start && fwd_end <= rev_end && rev_end - fwd.ref_start <= max_insert;
}

struct MateHit {
  int64_t diag = 0;
  uint32_t mismatches = UINT32_MAX;  // UINT32_MAX: nothing within the limit
};

// The diagonal, on the strand facing `anchor` and within `max_insert` of it, where `codes` (the
// read as it would lie on that strand) has the fewest mismatches, at most `limit`; the leftmost
// of equals. A scan of every diagonal with early exit: the window is ~max_insert long.
MateHit SearchNearMate(const ReferenceIndex& index, const Placement& anchor, const uint8_t* codes,
                       uint32_t length, uint32_t limit, int64_t max_insert) {
  const ContigInfo& contig = index.contigs()[anchor.contig];
  const int64_t anchor_end = anchor.ref_start + RefSpan(anchor);
  int64_t lo, hi;
  if (anchor.strand == 0) {  // the mate is reverse, to the right
    lo = std::max(anchor.ref_start, anchor_end - static_cast<int64_t>(length));
    hi = anchor.ref_start + max_insert - length;
  } else {  // the mate is forward, to the left
    lo = anchor_end - max_insert;
    hi = anchor_end - static_cast<int64_t>(length);
  }
  lo = std::max(lo, static_cast<int64_t>(contig.start));
  hi = std::min(hi, static_cast<int64_t>(contig.start + contig.length) - static_cast<int64_t>(length));
  MateHit best;
  for (int64_t d = lo; d <= hi; ++d) {
    const uint32_t cap = best.mismatches == UINT32_MAX ? limit : best.mismatches - 1;
    const uint32_t mm = ExactMismatches(index, codes, length, d, anchor.contig, cap);
    if (mm <= cap) {
      best = {d, mm};
      if (mm == 0) break;
    }
  }
  return best;
}

// Whether the records at i and i + 1 are a pair as the mapper sees one: READ1 then READ2.
bool StartsPair(const ReadBatch& batch, size_t i) {
  const uint16_t fa = batch[i]->core.flag, fb = batch[i + 1]->core.flag;
  return (fa & BAM_FPAIRED) && (fb & BAM_FPAIRED) && (fa & BAM_FREAD1) && (fb & BAM_FREAD2);
}

}  // namespace

// Where a pair is not proper, its reads are searched for near each other (facing, within
// max_insert). A read that was unplaced is placed there if it fits the mismatch budget (mate
// rescue); a read placed on a diagonal moves there if it has no more mismatches than where it
// was (equal cost for its own bases, and the pair then costs CRAM least: mate as neighbour).
// Preference when both could move: fewer mismatches in total, then moving a read whose place
// was a tie, then moving READ2. Depends only on the pair, never on the batch.
void PlaceMatesTogether(const MapContext& context, const ReadBatch& batch, WorkerBuffer& buffer) {
  const ReferenceIndex& index = context.index;
  const int64_t max_insert = context.options.max_insert;
  const EncodedReads& encoded = buffer.encoded;
  std::vector<Placement>& placements = buffer.placements;
  for (size_t i = 0; i + 1 < batch.size; ++i) {
    if (!StartsPair(batch, i)) continue;
    const int ia = encoded.read_of[i], ib = encoded.read_of[i + 1];
    ++i;
    if (ia < 0 || ib < 0) continue;
    Placement& pa = placements[static_cast<size_t>(ia)];
    Placement& pb = placements[static_cast<size_t>(ib)];
    if (ProperPair(pa, pb, max_insert) || (!pa.placed && !pb.placed)) continue;
    struct Move {
      size_t read;
      MateHit hit;
      int64_t gain;  // mismatches saved (placing an unplaced read counts as the whole budget)
      bool tie;
    };
    std::optional<Move> choice;
    auto consider = [&](size_t y, const Placement& anchor, const Placement& current) {
      if (!anchor.placed || current.gapped) return;
      const ReadState& st = encoded.reads[y];
      const uint32_t limit = current.placed ? st.best_mm : st.budget;
      const int strand = 1 - anchor.strand;
      const MateHit hit = SearchNearMate(index, anchor, encoded.strand_codes(y, strand), st.length, limit, max_insert);
      if (hit.mismatches == UINT32_MAX) return;
      const Move m{y, hit, static_cast<int64_t>(limit) - hit.mismatches + (current.placed ? 0 : 1 + int64_t{st.budget}),
                   current.placed && st.second_mm == st.best_mm};
      if (!choice || m.gain > choice->gain || (m.gain == choice->gain && m.tie && !choice->tie)) choice = m;
    };
    consider(static_cast<size_t>(ib), pa, pb);  // READ2 first: it wins full ties
    consider(static_cast<size_t>(ia), pb, pa);
    if (!choice) continue;
    const size_t y = choice->read;
    const ReadState& st = encoded.reads[y];
    const Placement& anchor = y == static_cast<size_t>(ia) ? pb : pa;
    const int strand = 1 - anchor.strand;
    Placement moved = DiagonalPlacement(index, encoded.strand_codes(y, strand), st.length, choice->hit.diag,
                                        anchor.contig, strand, choice->hit.mismatches,
                                        choice->hit.mismatches < std::min(st.best_mm, st.second_mm) ? 60 : 0);
    if (!moved.placed) continue;
    placements[y] = std::move(moved);
    ++buffer.counts.rescued;
  }
}

uint64_t SetMateFields(ReadBatch& batch, const std::vector<bool>& attempted, int64_t max_insert) {
  uint64_t proper = 0;
  for (size_t i = 0; i + 1 < batch.size; ++i) {
    bam1_t* a = batch[i];
    bam1_t* b = batch[i + 1];
    if (!StartsPair(batch, i) || (a->core.flag | b->core.flag) & (BAM_FSECONDARY | BAM_FSUPPLEMENTARY)) continue;
    // Only pairs this call mapped (or tried to) are touched.
    if (!attempted[i] && !attempted[i + 1]) continue;
    ++i;  // consume the pair
    const bool ma = !(a->core.flag & BAM_FUNMAP), mb = !(b->core.flag & BAM_FUNMAP);
    if (!ma && !mb) continue;
    auto set_mate = [](bam1_t* x, const bam1_t* mate) {
      x->core.mtid = mate->core.tid;
      x->core.mpos = mate->core.pos;
      if (mate->core.flag & BAM_FUNMAP) x->core.flag |= BAM_FMUNMAP; else x->core.flag &= ~BAM_FMUNMAP;
      if (mate->core.flag & BAM_FREVERSE) x->core.flag |= BAM_FMREVERSE; else x->core.flag &= ~BAM_FMREVERSE;
    };
    if (ma && mb) {
      set_mate(a, b);
      set_mate(b, a);
      a->core.isize = b->core.isize = 0;
      a->core.flag &= ~BAM_FPROPER_PAIR;
      b->core.flag &= ~BAM_FPROPER_PAIR;
      if (a->core.tid == b->core.tid) {
        const int64_t left = std::min(a->core.pos, b->core.pos);
        const int64_t right = std::max(bam_endpos(a), bam_endpos(b));
        const int64_t tlen = right - left;
        const bool a_first = a->core.pos < b->core.pos || (a->core.pos == b->core.pos);
        a->core.isize = a_first ? tlen : -tlen;
        b->core.isize = a_first ? -tlen : tlen;
        const bool ra = a->core.flag & BAM_FREVERSE, rb = b->core.flag & BAM_FREVERSE;
        bool facing = false;
        if (ra != rb) {
          const bam1_t* fwd = ra ? b : a;
          const bam1_t* rev = ra ? a : b;
          facing = fwd->core.pos <= rev->core.pos && bam_endpos(fwd) <= bam_endpos(rev);
        }
        if (facing && tlen <= max_insert) {
          a->core.flag |= BAM_FPROPER_PAIR;
          b->core.flag |= BAM_FPROPER_PAIR;
          proper += 2;
        }
      }
    } else {
      // SAM recommended practice: the unplaced mate takes the placed mate's RNAME and POS.
      bam1_t* on = ma ? a : b;
      bam1_t* off = ma ? b : a;
      off->core.tid = on->core.tid;
      off->core.pos = on->core.pos;
      off->core.bin = hts_reg2bin(off->core.pos, off->core.pos + 1, 14, 5);
      set_mate(on, off);
      set_mate(off, on);
      on->core.isize = off->core.isize = 0;
    }
  }
  return proper;
}

}  // namespace cramjet::map_internal
