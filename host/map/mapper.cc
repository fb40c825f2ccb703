// The mapper: seeds -> candidates -> Hamming check (both strands) -> banded alignment for the
// rest -> records placed in place. The hot loops run on the Backend, one call per batch and
// round; everything else here is per read and independent of the batch it sits in.
#include <algorithm>
#include <chrono>
#include <ctime>
#include <cstdlib>
#include <cstring>
#include <optional>

#include "kernel_shape.h"
#include "map/map.h"
#include "map/placement.h"

namespace cramjet {
namespace {

using map_internal::ApplyPlacement;
using map_internal::Mappable;
using map_internal::Placement;
using map_internal::FlanksAgree;
using map_internal::FlanksOfRead;
using map_internal::ReadFlanks;
using map_internal::Segment;
using map_internal::DiagonalSegment;

constexpr int kR = CJ_BAND_RADIUS;

// Base-code tables (kNt16ToCode, kCodeComplement, kNt16Complement): common/common.h.
// A BAM sequence byte (two 4-bit codes, first base high) -> the two base codes, first in byte 0
// (`pair`), and their complements in reverse order, second base's in byte 0 (`reverse_complement`).
struct BamByteToCodes {
  uint8_t pair[256][2];
  uint8_t reverse_complement[256][2];
  constexpr BamByteToCodes() : pair{}, reverse_complement{} {
    for (int b = 0; b < 256; ++b) {
      pair[b][0] = kNt16ToCode[b >> 4];
      pair[b][1] = kNt16ToCode[b & 15];
      reverse_complement[b][0] = kCodeComplement[pair[b][1]];
      reverse_complement[b][1] = kCodeComplement[pair[b][0]];
    }
  }
};
constexpr BamByteToCodes kBamByteToCodes;
// A BAM sequence byte with both halves complemented, in the same order and swapped.
struct BamByteComplement {
  uint8_t same_order[256], swapped[256];
  constexpr BamByteComplement() : same_order{}, swapped{} {
    for (int b = 0; b < 256; ++b) {
      same_order[b] = static_cast<uint8_t>(kNt16Complement[b >> 4] << 4 | kNt16Complement[b & 15]);
      swapped[b] = static_cast<uint8_t>(kNt16Complement[b & 15] << 4 | kNt16Complement[b >> 4]);
    }
  }
};
constexpr BamByteComplement kBamByteComplement;

struct Candidate {
  int64_t key;      // diag * 2 + strand (diag may be negative: a read overhanging a contig start)
  uint32_t contig;  // contig of the seed hit: the contig the read is compared against
  uint32_t votes;
  int64_t diag() const { return key >> 1; }  // arithmetic shift keeps the sign
  int strand() const { return static_cast<int>(key & 1); }
};

// Per-read state across the rounds.
struct ReadState {
  size_t record = 0;
  uint32_t length = 0;
  uint32_t budget = 0;         // max mismatches for a diagonal placement
  uint32_t accept = 0;         // mismatches taken without trying harder
  uint32_t best_mm = UINT32_MAX, second_mm = UINT32_MAX;
  Candidate best{};
  bool resolved = false;
};

// A read placed on diagonal `diag` of `contig` with `mismatches` Hamming mismatches: the best
// clipped segment (soft clips for mismatch clusters at the ends); not placed when no segment
// scores above zero.
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

uint32_t ExactMismatches(const ReferenceIndex& index, const uint8_t* codes, uint32_t length,
                         int64_t diag, uint32_t contig, uint32_t max_mismatches) {
  const ContigInfo& c = index.contigs()[contig];
  const int64_t lo = static_cast<int64_t>(c.start), hi = static_cast<int64_t>(c.start + c.length);
  uint32_t mm = 0;
  for (uint32_t i = 0; i < length; ++i) {
    const int64_t g = diag + i;
    const bool same = g >= lo && g < hi && codes[i] < 4 &&
                      index.BaseCode(static_cast<uint64_t>(g)) == codes[i];
    if (!same && ++mm > max_mismatches) return max_mismatches + 1;
  }
  return mm;
}

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

// Byte i of x holds a 2-bit value; returns them packed, value i at bits 2i.
inline uint64_t Gather2Bits(uint64_t x) {
  x = (x | (x >> 6)) & 0x000F000F000F000Full;
  x = (x | (x >> 12)) & 0x000000FF000000FFull;
  return (x | (x >> 24)) & 0xFFFFull;
}


// One seed's bucket in the index and the pick (read, seed) it was looked up for.
struct SeedSpan {
  std::span<const SeedEntry> found;
  uint32_t pick;
};

// Per-thread working memory, reused across batches (MapBatch runs on several threads at once).
struct MapScratch {
  std::vector<ReadState> reads;
  std::vector<uint8_t> codes;
  std::vector<uint32_t> code_offsets;
  std::vector<uint64_t> words, n_masks;
  std::vector<uint32_t> word_offsets, lengths;
  SeedOutput seeds;
  std::vector<Candidate> tried, hits, voted;
  std::vector<SeedSpan> spans;
  std::vector<std::pair<uint32_t, int>> agreeing;  // position, strand
  std::vector<uint32_t> tried_mm, r0_begin, r0_end, r1_begin, r1_end, r2_begin, r2_end, job_slot, results;
  std::vector<uint32_t> vote_begin, vote_end, unresolved_sequences;
  std::vector<VerifyJob> jobs;
  std::vector<uint8_t> windows, buffer;
};

}  // namespace

namespace map_internal {

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

namespace {
// Read positions whose code differs from reference base diag + position (read N included),
// ascending, appended to `out`. The window must lie inside one contig and hold only A/C/G/T.
// Eight bases at a time: the read's codes and the reference's 2-bit bases compared as 16 bits.
void DiagonalMismatches(const PackedReference& reference, const uint8_t* codes, uint32_t length, uint64_t diag,
                        std::vector<uint32_t>& out) {
  for (uint32_t j = 0; j < length; j += 8) {
    const uint32_t n = std::min<uint32_t>(8, length - j);
    uint64_t eight = 0;
    std::memcpy(&eight, codes + j, n);
    const uint64_t read_bases = Gather2Bits(eight & 0x0303030303030303ull);
    const uint64_t read_n = Gather2Bits((eight >> 2) & 0x0101010101010101ull);
    const uint64_t x = (PackedBasesAt(reference.words, diag + j) ^ read_bases) & 0xFFFF;
    uint64_t differ = ((x | (x >> 1)) & 0x5555) | read_n;
    if (n < 8) differ &= (uint64_t{1} << (2 * n)) - 1;
    for (; differ; differ &= differ - 1) out.push_back(j + static_cast<uint32_t>(__builtin_ctzll(differ)) / 2);
  }
}
}  // namespace

Segment DiagonalSegment(const ReferenceIndex& index, const uint8_t* codes, uint32_t length, int64_t diag,
                        uint32_t contig) {
  const ContigInfo& c = index.contigs()[contig];
  if (diag < static_cast<int64_t>(c.start) || diag + length > static_cast<int64_t>(c.start + c.length) ||
      !index.AllAcgt(static_cast<uint64_t>(diag), length))
    return DiagonalSegmentBaseByBase(index, codes, length, diag, contig);
  thread_local std::vector<uint32_t> mismatches;
  mismatches.clear();
  DiagonalMismatches(index.packed(), codes, length, static_cast<uint64_t>(diag), mismatches);
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
  for (const uint32_t m : mismatches) {
    matches_until(m);
    first_step(m, CJ_SCORE_MISMATCH);
    offer(m + 1);
    next = m + 1;
  }
  matches_until(length);
  return best;
}

// Rewrites `b` as placed: CIGAR in, SEQ/QUAL reverse-complemented for the reverse strand; the
// name and aux data are copied byte for byte.
Status ApplyPlacement(bam1_t* b, const Placement& p, const ReferenceIndex& index,
                      std::vector<uint8_t>& buffer) {
  const uint32_t l_qname = b->core.l_qname;
  const int32_t length = b->core.l_qseq;
  const int l_aux = bam_get_l_aux(b);
  const size_t seq_bytes = (static_cast<size_t>(length) + 1) / 2;
  const size_t new_len = l_qname + 4 * p.cigar.size() + seq_bytes + length + l_aux;
  buffer.resize(new_len);
  uint8_t* out = buffer.data();
  std::memcpy(out, b->data, l_qname);
  std::memcpy(out + l_qname, p.cigar.data(), 4 * p.cigar.size());
  uint8_t* seq = out + l_qname + 4 * p.cigar.size();
  uint8_t* qual = seq + seq_bytes;
  const uint8_t* old_seq = bam_get_seq(b);
  const uint8_t* old_qual = bam_get_qual(b);
  if (p.strand == 1) {
    // Byte j of the reverse complement holds old bases length - 1 - 2j (high) and length - 2 - 2j.
    // Even length: both sit in old byte k = (length - 2 - 2j) / 2, swapped. Odd length: the high
    // one is old byte k's high half and the low one old byte k - 1's low half.
    const int32_t bytes = static_cast<int32_t>(seq_bytes);
    if (length % 2 == 0) {
      for (int32_t j = 0; j < bytes; ++j) seq[j] = kBamByteComplement.swapped[old_seq[bytes - 1 - j]];
    } else {
      for (int32_t j = 0; j < bytes; ++j) {
        const int32_t k = bytes - 1 - j;
        const uint8_t low = k > 0 ? old_seq[k - 1] & 0x0F : 0;  // last byte: pad half 0, complement 0
        seq[j] = kBamByteComplement.same_order[(old_seq[k] & 0xF0) | low];
      }
    }
    std::reverse_copy(old_qual, old_qual + length, qual);
  } else {
    std::memcpy(seq, old_seq, seq_bytes);
    std::memcpy(qual, old_qual, length);
  }
  std::memcpy(qual + length, bam_get_aux(b), l_aux);
  if (b->m_data < new_len) {
    if (bam_get_mempolicy(b) & BAM_USER_OWNS_DATA)
      return Internal("mapper: record buffer is owned by the caller and too small");
    const size_t capacity = new_len + new_len / 4 + 32;
    auto* grown = static_cast<uint8_t*>(std::realloc(b->data, capacity));
    if (!grown) return Internal("mapper: out of memory growing a record");
    b->data = grown;
    b->m_data = capacity;
  }
  std::memcpy(b->data, out, new_len);
  b->l_data = static_cast<int>(new_len);
  b->core.n_cigar = static_cast<uint32_t>(p.cigar.size());
  b->core.tid = static_cast<int32_t>(p.contig);
  b->core.pos = p.ref_start - static_cast<int64_t>(index.contigs()[p.contig].start);
  b->core.qual = p.mapq;
  b->core.flag &= ~BAM_FUNMAP;
  if (p.strand == 1) b->core.flag |= BAM_FREVERSE; else b->core.flag &= ~BAM_FREVERSE;
  b->core.bin = hts_reg2bin(b->core.pos, bam_endpos(b), 14, 5);
  return Status::Ok();
}

bool Mappable(const bam1_t* b) {
  return (b->core.flag & BAM_FUNMAP) && !(b->core.flag & (BAM_FSECONDARY | BAM_FSUPPLEMENTARY)) &&
         b->core.l_qseq > 0;
}

uint64_t SetMateFields(ReadBatch& batch, const std::vector<bool>& attempted, int64_t max_insert) {
  uint64_t proper = 0;
  for (size_t i = 0; i + 1 < batch.size; ++i) {
    bam1_t* a = batch[i];
    bam1_t* b = batch[i + 1];
    const uint16_t fa = a->core.flag, fb = b->core.flag;
    if (!(fa & BAM_FPAIRED) || !(fb & BAM_FPAIRED) || !(fa & BAM_FREAD1) || !(fb & BAM_FREAD2) ||
        (fa | fb) & (BAM_FSECONDARY | BAM_FSUPPLEMENTARY))
      continue;
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

}  // namespace map_internal

StatusOr<std::unique_ptr<Mapper>> Mapper::Create(const ReferenceIndex& index, const Backend& backend,
                                                 const MapOptions& options) {
  if (options.max_mismatch_fraction < 0 || options.max_mismatch_fraction > 0.5)
    return InvalidArgument("mapper: max_mismatch_fraction must be within [0, 0.5]");
  if (options.max_candidates == 0) return InvalidArgument("mapper: max_candidates must be at least 1");
  std::unique_ptr<Mapper> mapper(new Mapper(index, backend, options));
  if (options.long_reads != LongReadPreset::kNone) {
    // The index sits beside its FASTA: "<fasta>.cjidx".
    const std::string& index_path = index.path();
    const std::string fasta = index_path.substr(0, index_path.size() - std::string_view(".cjidx").size());
    CRAMJET_ASSIGN_OR_RETURN(mapper->long_reads_, LongReadAligner::Create(index, fasta, options.long_reads,
                                                                          options.long_read_index_threads));
  }
  return mapper;
}

Mapper::Mapper(const ReferenceIndex& index, const Backend& backend, const MapOptions& options)
    : index_(index), backend_(backend), options_(options) {}
Mapper::~Mapper() = default;

MapStats Mapper::stats() const {
  MapStats s;
  s.reads = reads_.load();
  s.placed = placed_.load();
  s.placed_gapped = placed_gapped_.load();
  s.proper_pairs = proper_pairs_.load();
  s.second_round = second_round_.load();
  s.aligned = aligned_.load();
  s.rescued = rescued_.load();
  s.seconds = static_cast<double>(nanos_.load()) * 1e-9;
  s.cpu_seconds = static_cast<double>(cpu_nanos_.load()) * 1e-9;
  return s;
}

namespace {
uint64_t ThreadCpuNanos() {
  timespec ts;
  if (::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts) != 0) return 0;
  return static_cast<uint64_t>(ts.tv_sec) * 1000000000u + static_cast<uint64_t>(ts.tv_nsec);
}
}  // namespace

Status Mapper::MapBatch(ReadBatch& batch) {
  const auto started = std::chrono::steady_clock::now();
  const uint64_t cpu_started = ThreadCpuNanos();
  Status status = long_reads_ ? MapLongBatch(batch) : MapShortBatch(batch);
  nanos_ += static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - started).count());
  const uint64_t cpu_ended = ThreadCpuNanos();
  if (cpu_started && cpu_ended >= cpu_started) cpu_nanos_ += cpu_ended - cpu_started;  // 0: no clock
  return status;
}

Status Mapper::MapShortBatch(ReadBatch& batch) {
  const ReferenceIndex& index = index_;
  const PackedReference reference = index.packed();

  // ---- Encode the mappable reads: codes and 2-bit words, forward (2r) and reverse (2r+1). ----
  thread_local MapScratch scratch;
  auto& reads = scratch.reads;
  reads.clear();
  auto& codes = scratch.codes;
  codes.clear();
  auto& code_offsets = scratch.code_offsets;
  code_offsets.assign(1, 0);
  auto& words = scratch.words;
  auto& n_masks = scratch.n_masks;
  words.clear();
  n_masks.clear();
  auto& word_offsets = scratch.word_offsets;
  auto& lengths = scratch.lengths;
  word_offsets.clear();
  lengths.clear();
  size_t total_bases = 0;
  for (size_t i = 0; i < batch.size; ++i) total_bases += Mappable(batch[i]) ? batch[i]->core.l_qseq : 0;
  codes.reserve(2 * total_bases + 8);
  words.reserve(total_bases / 16 + 2 * batch.size + 16);
  n_masks.reserve(words.capacity());
  // Records were written by the reader thread and are cold here: each record's fields (one
  // allocation) and then its name and bases (another) are fetched a few records ahead.
  constexpr size_t kRecordsAhead = 4;
  for (size_t i = 0; i < std::min(batch.size, kRecordsAhead); ++i) __builtin_prefetch(batch[i]->data);
  for (size_t i = 0; i < batch.size; ++i) {
    if (i + 2 * kRecordsAhead < batch.size) __builtin_prefetch(batch[i + 2 * kRecordsAhead]);
    if (i + kRecordsAhead < batch.size) {
      const bam1_t* ahead = batch[i + kRecordsAhead];
      __builtin_prefetch(ahead->data);
      __builtin_prefetch(ahead->data + 64);
      __builtin_prefetch(ahead->data + 128);
    }
    const bam1_t* b = batch[i];
    if (!Mappable(b)) continue;
    ReadState st;
    st.record = i;
    st.length = static_cast<uint32_t>(b->core.l_qseq);
    st.budget = static_cast<uint32_t>(options_.max_mismatch_fraction * st.length);
    st.accept = std::min(st.budget, 2 + st.length / 50);
    reads.push_back(std::move(st));
    const uint8_t* seq = bam_get_seq(b);
    const uint32_t n = static_cast<uint32_t>(b->core.l_qseq);
    const size_t fwd = codes.size();
    codes.resize(fwd + 2 * size_t{n} + 8);  // 8 bytes of slack for the packer, trimmed below
    // Two bases per BAM byte, through a table of byte -> two codes.
    uint8_t* out = codes.data() + fwd;
    for (uint32_t j = 0; j + 1 < n; j += 2) std::memcpy(out + j, &kBamByteToCodes.pair[seq[j >> 1]], 2);
    if (n & 1) out[n - 1] = kNt16ToCode[bam_seqi(seq, n - 1)];
    // The reverse complement from the same bytes: byte b holds bases 2b and 2b + 1, which land at
    // n - 1 - 2b and n - 2 - 2b.
    uint8_t* reverse = out + n;
    for (uint32_t j = 0; j + 1 < n; j += 2)
      std::memcpy(reverse + n - 2 - j, &kBamByteToCodes.reverse_complement[seq[j >> 1]], 2);
    if (n & 1) reverse[0] = kCodeComplement[out[n - 1]];
    code_offsets.push_back(static_cast<uint32_t>(fwd + n));
    code_offsets.push_back(static_cast<uint32_t>(fwd + 2 * n));
    for (int strand = 0; strand < 2; ++strand) {
      const uint8_t* c = codes.data() + fwd + strand * n;
      const size_t w0 = words.size();
      // 8 codes at a time: gather the 2-bit values (and the N flags) of 8 bytes into 16 bits.
      for (uint32_t j0 = 0; j0 < n; j0 += 32) {
        uint64_t word = 0, mask = 0;
        const uint32_t end = std::min(n, j0 + 32);
        for (uint32_t j = j0; j < end; j += 8) {
          uint64_t eight;
          std::memcpy(&eight, c + j, 8);  // codes has 8 bytes of slack past the last read
          if (end - j < 8) eight &= (uint64_t{1} << (8 * (end - j))) - 1;
          const uint64_t shift = 2 * (j - j0);
          word |= Gather2Bits(eight & 0x0303030303030303ull) << shift;
          mask |= Gather2Bits((eight >> 2) & 0x0101010101010101ull) << shift;
        }
        words.push_back(word & ~(mask * 3));
        n_masks.push_back(mask);
      }
      word_offsets.push_back(static_cast<uint32_t>(w0));
      lengths.push_back(n);
    }
    codes.resize(fwd + 2 * size_t{n});
  }
  reads_ += reads.size();
  // Kernels may read a vector past the last sequence.
  words.resize(words.size() + CJ_PACKED_PAD_WORDS, 0);
  n_masks.resize(n_masks.size() + CJ_PACKED_PAD_WORDS, 0);
  const PackedSequences packed{words.data(), n_masks.data(), word_offsets.data(), lengths.data()};

  SeedOutput& seeds = scratch.seeds;

  // ---- Candidates. Flat arrays; read r's are tried[r1_begin, r1_end) and [r2_begin, r2_end). ----
  auto& tried = scratch.tried;
  tried.clear();
  auto& tried_mm = scratch.tried_mm;
  tried_mm.clear();
  auto& r0_begin = scratch.r0_begin;
  auto& r0_end = scratch.r0_end;
  r0_begin.assign(reads.size(), 0);
  r0_end.assign(reads.size(), 0);
  auto& r1_begin = scratch.r1_begin;
  auto& r1_end = scratch.r1_end;
  r1_begin.assign(reads.size(), 0);
  r1_end.assign(reads.size(), 0);
  auto& r2_begin = scratch.r2_begin;
  auto& r2_end = scratch.r2_end;
  r2_begin.assign(reads.size(), 0);
  r2_end.assign(reads.size(), 0);
  auto& jobs = scratch.jobs;
  jobs.clear();
  auto& job_slot = scratch.job_slot;
  auto& results = scratch.results;
  job_slot.clear();

  // Verifies tried[begin, end) of read r: clean windows go to the backend batch, others are
  // compared base by base here (contig ends, N in the reference).
  auto queue_verify = [&](size_t r, uint32_t begin, uint32_t end) {
    const ReadState& st = reads[r];
    for (uint32_t k = begin; k < end; ++k) {
      const Candidate& c = tried[k];
      const int64_t diag = c.diag();
      const ContigInfo& contig = index.contigs()[c.contig];
      const bool clean = diag >= static_cast<int64_t>(contig.start) &&
                         diag + st.length <= static_cast<int64_t>(contig.start + contig.length) &&
                         index.AllAcgt(static_cast<uint64_t>(diag), st.length);
      if (clean) {
        jobs.push_back({static_cast<uint32_t>(2 * r + c.strand()), st.budget, static_cast<uint64_t>(diag)});
        job_slot.push_back(k);
      } else {
        tried_mm[k] = ExactMismatches(index, codes.data() + code_offsets[2 * r + c.strand()], st.length, diag,
                                      c.contig, st.budget);
      }
    }
  };
  auto run_verify = [&]() -> Status {
    results.resize(jobs.size());
    if (!jobs.empty())
      CRAMJET_RETURN_IF_ERROR(backend_.VerifyHamming(reference, packed, jobs.data(), jobs.size(), results.data()));
    for (size_t j = 0; j < jobs.size(); ++j) tried_mm[job_slot[j]] = results[j];
    jobs.clear();
    job_slot.clear();
    return Status::Ok();
  };
  // Best and second best over everything tried for read r (ties: smallest (key, contig)).
  auto update_best = [&](size_t r) {
    ReadState& st = reads[r];
    st.best_mm = st.second_mm = UINT32_MAX;
    auto consider = [&](uint32_t k) {
      const uint32_t mm = tried_mm[k];
      const Candidate& c = tried[k];
      const bool earlier = c.key < st.best.key || (c.key == st.best.key && c.contig < st.best.contig);
      if (mm < st.best_mm || (mm == st.best_mm && earlier)) {
        st.second_mm = std::min(st.second_mm, st.best_mm);
        st.best_mm = mm;
        st.best = c;
      } else {
        st.second_mm = std::min(st.second_mm, mm);
      }
    };
    for (uint32_t k = r0_begin[r]; k < r0_end[r]; ++k) consider(k);
    for (uint32_t k = r1_begin[r]; k < r1_end[r]; ++k) consider(k);
    for (uint32_t k = r2_begin[r]; k < r2_end[r]; ++k) consider(k);
    if (st.best_mm <= st.accept) st.resolved = true;
  };
  auto by_key = [](const Candidate& a, const Candidate& b) {
    return a.key != b.key ? a.key < b.key : a.contig < b.contig;
  };
  auto same = [](const Candidate& a, const Candidate& b) { return a.key == b.key && a.contig == b.contig; };

  // A seed of a read's forward strand. Its k-mer is canonical, so its hits lie on either strand:
  // a hit whose k-mer orientation differs from the read's is the reverse strand's, where the
  // same k-mer starts at length - k - position of the reverse-complemented read.
  struct Pick {
    uint32_t read;
    bool reverse;  // SeedIsReverse of the read's k-mer
    Seed seed;
    ReadFlanks flanks[2];  // around the k-mer on the forward and on the reverse strand
  };
  std::vector<Pick> picks;
  auto& hits = scratch.hits;
  hits.clear();
  // Seed lookups are cache misses on a large reference: they are issued in a pipeline that
  // prefetches the bucket offsets kAhead lookups ahead, then the bucket's entries.
  constexpr size_t kAhead = 32;
  // Hits of one read's seeds whose flanks agree with the read's (FlanksAgree). A seed keeping
  // more than `max_hits_per_seed` of them is dropped. With a `hit_budget`, the seeds go rarest
  // (smallest bucket) first and stop before the hits would exceed it: seeds in repeats (hundreds
  // of copies) would otherwise cost a scan and a sort of thousands of hits for a vote that the
  // read's rarer seeds decide anyway. The first seed that keeps any hit is always used.
  auto& spans = scratch.spans;
  auto& agreeing = scratch.agreeing;
  auto push_hits = [&](size_t max_hits_per_seed, size_t hit_budget) {
    if (hit_budget != SIZE_MAX)
      std::stable_sort(spans.begin(), spans.end(),
                       [](const SeedSpan& a, const SeedSpan& b) { return a.found.size() < b.found.size(); });
    for (const SeedSpan& sp : spans) {
      const Pick& pk = picks[sp.pick];
      agreeing.clear();
      for (const SeedEntry& e : sp.found) {
        const int strand = ((e.flanks & kSeedEntryReverse) != 0) != pk.reverse;
        if (!FlanksAgree(e.flanks, pk.flanks[strand])) continue;
        agreeing.push_back({e.position, strand});
        if (agreeing.size() > max_hits_per_seed) break;
      }
      if (agreeing.size() > max_hits_per_seed) continue;
      // Over the budget: the seeds left have larger buckets (their agreeing hits may be fewer).
      if (!hits.empty() && hits.size() + agreeing.size() > hit_budget) break;
      const uint32_t length = reads[pk.read].length;
      for (const auto& [p, strand] : agreeing) {
        const int64_t on_strand = strand ? length - CJ_SEED_K - pk.seed.position : pk.seed.position;
        const int64_t diag = static_cast<int64_t>(p) - on_strand;
        hits.push_back({diag * 2 + strand, static_cast<uint32_t>(index.ContigOf(p)), 1});
      }
    }
    spans.clear();
  };
  // Seeds whose bucket holds more than `max_entries` minimizers are not followed (repeats).
  auto lookup_all = [&](size_t max_entries, size_t max_hits_per_seed, size_t hit_budget, auto&& on_read_done) {
    spans.clear();
    for (size_t i = 0; i < std::min(picks.size(), kAhead); ++i) index.PrefetchBucket(picks[i].seed.hash);
    for (size_t i = 0; i < picks.size(); ++i) {
      if (i + kAhead < picks.size()) index.PrefetchBucket(picks[i + kAhead].seed.hash);
      if (i + kAhead / 2 < picks.size()) index.PrefetchEntries(picks[i + kAhead / 2].seed.hash);
      const Pick& pk = picks[i];
      const auto found = index.Lookup(pk.seed.hash);
      if (!found.empty() && found.size() <= max_entries) spans.push_back({found, static_cast<uint32_t>(i)});
      if (i + 1 == picks.size() || picks[i + 1].read != pk.read) {
        push_hits(max_hits_per_seed, hit_budget);
        on_read_done(pk.read);
      }
    }
  };

  auto& unresolved_sequences = scratch.unresolved_sequences;
  // Seeds (sampled as `sample`) of the forward strand of every read not yet resolved, into
  // `picks` (canonical seeds: they find the reverse strand's hits too).
  auto seed_unresolved = [&](SeedSample sample) -> Status {
    picks.clear();
    unresolved_sequences.clear();
    for (size_t r = 0; r < reads.size(); ++r)
      if (!reads[r].resolved) unresolved_sequences.push_back(static_cast<uint32_t>(2 * r));
    CRAMJET_RETURN_IF_ERROR(backend_.ExtractSeeds(SeedInput{codes.data(), code_offsets.data(),
                                                            unresolved_sequences.size(),
                                                            unresolved_sequences.data(), sample},
                                                  seeds));
    for (size_t i = 0; i < unresolved_sequences.size(); ++i) {
      const uint32_t r = unresolved_sequences[i] / 2, length = reads[r].length;
      const uint8_t* forward = codes.data() + code_offsets[2 * r];
      const uint8_t* reverse = codes.data() + code_offsets[2 * r + 1];
      for (uint32_t k = seeds.seed_offsets[i]; k < seeds.seed_offsets[i + 1]; ++k) {
        const Seed& seed = seeds.seeds[k];
        picks.push_back({r, SeedIsReverse(forward + seed.position), seed,
                         {FlanksOfRead(forward, length, seed.position),
                          FlanksOfRead(reverse, length, length - CJ_SEED_K - seed.position)}});
      }
    }
    return Status::Ok();
  };
  auto tried_before = [&](size_t r, const Candidate& c) {
    for (uint32_t k = r0_begin[r]; k < r0_end[r]; ++k) if (same(tried[k], c)) return true;
    for (uint32_t k = r1_begin[r]; k < r1_end[r]; ++k) if (same(tried[k], c)) return true;
    return false;
  };
  // ---- Round 1: the middle window's minimizer (canonical: one lookup finds both strands), then
  // (for reads not placed by it) the first and last window's. Most reads are placed by one. ----
  for (int pass = 0; pass < 2; ++pass) {
    auto& begin = pass == 0 ? r0_begin : r1_begin;
    auto& end = pass == 0 ? r0_end : r1_end;
    CRAMJET_RETURN_IF_ERROR(seed_unresolved(pass == 0 ? SeedSample::kMiddleWindow : SeedSample::kEndWindows));
    // A sampled seed with more agreeing hits than round 1 may try gives an arbitrary subset of
    // a repeat's copies: such reads go to the vote of round 2 instead.
    lookup_all(options_.max_seed_occurrences, 2 * options_.max_candidates, SIZE_MAX, [&](uint32_t r) {
      std::sort(hits.begin(), hits.end(), by_key);
      hits.erase(std::unique(hits.begin(), hits.end(), same), hits.end());
      begin[r] = static_cast<uint32_t>(tried.size());
      for (const Candidate& h : hits) {
        if (tried.size() - begin[r] >= 2 * options_.max_candidates) break;
        if (pass == 0 || !tried_before(r, h)) tried.push_back(h);
      }
      end[r] = static_cast<uint32_t>(tried.size());
      hits.clear();
    });
    tried_mm.resize(tried.size(), UINT32_MAX);
    for (size_t r = 0; r < reads.size(); ++r) queue_verify(r, begin[r], end[r]);
    CRAMJET_RETURN_IF_ERROR(run_verify());
    for (size_t r = 0; r < reads.size(); ++r) if (end[r] > begin[r]) update_best(r);
  }

  // ---- Round 2: every seed votes; the best-voted untried candidates are checked. ----
  auto& voted = scratch.voted;  // read r's: [vote_begin[r], vote_end[r]), by votes
  voted.clear();
  auto& vote_begin = scratch.vote_begin;
  auto& vote_end = scratch.vote_end;
  vote_begin.assign(reads.size(), 0);
  vote_end.assign(reads.size(), 0);
  CRAMJET_RETURN_IF_ERROR(seed_unresolved(SeedSample::kAll));
  size_t second_round_reads = 0;
  lookup_all(options_.max_seed_occurrences, SIZE_MAX, options_.max_hits_per_read, [&](uint32_t r) {
    std::sort(hits.begin(), hits.end(), by_key);
    vote_begin[r] = static_cast<uint32_t>(voted.size());
    for (const Candidate& h : hits) {
      if (voted.size() > vote_begin[r] && same(voted.back(), h)) ++voted.back().votes; else voted.push_back(h);
    }
    vote_end[r] = static_cast<uint32_t>(voted.size());
    std::stable_sort(voted.begin() + vote_begin[r], voted.end(),
                     [](const Candidate& a, const Candidate& b) { return a.votes > b.votes; });
    r2_begin[r] = static_cast<uint32_t>(tried.size());
    for (uint32_t v = vote_begin[r]; v < vote_end[r] && tried.size() - r2_begin[r] < options_.max_candidates; ++v) {
      if (!tried_before(r, voted[v])) tried.push_back(voted[v]);
    }
    r2_end[r] = static_cast<uint32_t>(tried.size());
    hits.clear();
    ++second_round_reads;
  });
  second_round_ += second_round_reads;
  tried_mm.resize(tried.size(), UINT32_MAX);
  for (size_t r = 0; r < reads.size(); ++r) queue_verify(r, r2_begin[r], r2_end[r]);
  CRAMJET_RETURN_IF_ERROR(run_verify());
  for (size_t r = 0; r < reads.size(); ++r) if (r2_end[r] > r2_begin[r]) update_best(r);

  // ---- Diagonal placements, and banded alignment for what is left. ----
  std::vector<Placement> placements(reads.size());
  std::vector<AlignJob> align_jobs;
  std::vector<std::pair<size_t, Candidate>> align_target;
  auto& windows = scratch.windows;
  windows.clear();
  std::vector<size_t> window_offsets;
  for (size_t r = 0; r < reads.size(); ++r) {
    ReadState& st = reads[r];
    const bool can_align = options_.banded_alignment && st.length <= CJ_MAX_ALIGN_LENGTH;
    const bool diagonal = st.best_mm <= st.accept || (!can_align && st.best_mm <= st.budget);
    if (diagonal) {
      placements[r] = DiagonalPlacement(index, codes.data() + code_offsets[2 * r + st.best.strand()], st.length,
                                        st.best.diag(), st.best.contig, st.best.strand(), st.best_mm,
                                        st.second_mm == st.best_mm ? 0 : 60);
      continue;
    }
    if (!can_align) continue;
    // Up to two candidates: the best by mismatches and the best by votes, unless within a band.
    std::vector<Candidate> picks;
    if (st.best_mm != UINT32_MAX) picks.push_back(st.best);
    for (uint32_t v = vote_begin[r]; v < vote_end[r]; ++v) {
      const Candidate& c = voted[v];
      bool near = false;
      for (const Candidate& q : picks)
        near |= q.contig == c.contig && q.strand() == c.strand() && std::llabs(q.diag() - c.diag()) <= kR;
      if (!near) picks.push_back(c);
      if (picks.size() >= 2) break;
    }
    for (const Candidate& c : picks) {
      const ContigInfo& contig = index.contigs()[c.contig];
      const int64_t lo = static_cast<int64_t>(contig.start);
      const int64_t hi = static_cast<int64_t>(contig.start + contig.length);
      const size_t w0 = windows.size();
      const size_t wn = st.length + 2 * kR;
      windows.resize(w0 + wn);
      for (size_t j = 0; j < wn; ++j) {
        const int64_t g = c.diag() - kR + static_cast<int64_t>(j);
        windows[w0 + j] = (g < lo || g >= hi) ? CJ_REF_OUTSIDE
                                              : static_cast<uint8_t>(index.BaseCode(static_cast<uint64_t>(g)));
      }
      window_offsets.push_back(w0);
      align_target.push_back({r, c});
    }
  }
  for (size_t j = 0; j < align_target.size(); ++j) {
    const size_t r = align_target[j].first;
    align_jobs.push_back({codes.data() + code_offsets[2 * r + align_target[j].second.strand()],
                          windows.data() + window_offsets[j], reads[r].length});
  }
  AlignOutput aligned;
  aligned_ += align_jobs.size();
  if (!align_jobs.empty()) CRAMJET_RETURN_IF_ERROR(backend_.AlignBanded(align_jobs.data(), align_jobs.size(), aligned));
  for (size_t j = 0; j < align_target.size();) {
    const size_t r = align_target[j].first;
    size_t end = j;
    size_t best = j;
    int second = CJ_SCORE_NEG_INF;
    while (end < align_target.size() && align_target[end].first == r) {
      if (aligned.results[end].score > aligned.results[best].score) {
        second = std::max(second, aligned.results[best].score);
        best = end;
      } else if (end != best) {
        second = std::max(second, aligned.results[end].score);
      }
      ++end;
    }
    j = end;
    const AlignResult& a = aligned.results[best];
    const ReadState& st = reads[r];
    const int needed = std::max(options_.min_score, static_cast<int>(options_.min_score_fraction * st.length));
    if (a.score < needed || a.cigar_length == 0) continue;
    const Candidate& c = align_target[best].second;
    Placement& p = placements[r];
    p.placed = true;
    p.gapped = true;
    p.strand = c.strand();
    p.contig = c.contig;
    p.ref_start = c.diag() - kR + a.window_begin;
    if (a.read_begin) p.cigar.push_back(a.read_begin << 4 | BAM_CSOFT_CLIP);
    p.cigar.insert(p.cigar.end(), aligned.cigar.begin() + a.cigar_begin,
                   aligned.cigar.begin() + a.cigar_begin + a.cigar_length);
    if (a.read_end < st.length) p.cigar.push_back((st.length - a.read_end) << 4 | BAM_CSOFT_CLIP);
    p.mapq = second == a.score ? 0 : 60;
  }

  // ---- Pairs: a mate placed no worse next to its partner. ----
  // Where a pair is not proper, its reads are searched for near each other (facing, within
  // max_insert). A read that was unplaced is placed there if it fits the mismatch budget (mate
  // rescue); a read placed on a diagonal moves there if it has no more mismatches than where it
  // was (equal cost for its own bases, and the pair then costs CRAM least: mate as neighbour).
  // Preference when both could move: fewer mismatches in total, then moving a read whose place
  // was a tie, then moving READ2. Depends only on the pair, never on the batch.
  std::vector<int> read_of(batch.size, -1);
  for (size_t r = 0; r < reads.size(); ++r) read_of[reads[r].record] = static_cast<int>(r);
  uint64_t rescued = 0;
  for (size_t i = 0; i + 1 < batch.size; ++i) {
    const uint16_t fa = batch[i]->core.flag, fb = batch[i + 1]->core.flag;
    if (!(fa & BAM_FPAIRED) || !(fb & BAM_FPAIRED) || !(fa & BAM_FREAD1) || !(fb & BAM_FREAD2)) continue;
    const int ia = read_of[i], ib = read_of[i + 1];
    ++i;
    if (ia < 0 || ib < 0) continue;
    Placement& pa = placements[static_cast<size_t>(ia)];
    Placement& pb = placements[static_cast<size_t>(ib)];
    if (ProperPair(pa, pb, options_.max_insert) || (!pa.placed && !pb.placed)) continue;
    struct Move {
      size_t read;
      MateHit hit;
      int64_t gain;  // mismatches saved (placing an unplaced read counts as the whole budget)
      bool tie;
    };
    std::optional<Move> choice;
    auto consider = [&](size_t y, const Placement& anchor, const Placement& current) {
      if (!anchor.placed || current.gapped) return;
      const ReadState& st = reads[y];
      const uint32_t limit = current.placed ? st.best_mm : st.budget;
      const int strand = 1 - anchor.strand;
      const MateHit hit = SearchNearMate(index, anchor, codes.data() + code_offsets[2 * y + strand], st.length,
                                         limit, options_.max_insert);
      if (hit.mismatches == UINT32_MAX) return;
      const Move m{y, hit, static_cast<int64_t>(limit) - hit.mismatches + (current.placed ? 0 : 1 + int64_t{st.budget}),
                   current.placed && st.second_mm == st.best_mm};
      if (!choice || m.gain > choice->gain || (m.gain == choice->gain && m.tie && !choice->tie)) choice = m;
    };
    consider(static_cast<size_t>(ib), pa, pb);  // READ2 first: it wins full ties
    consider(static_cast<size_t>(ia), pb, pa);
    if (!choice) continue;
    const size_t y = choice->read;
    const ReadState& st = reads[y];
    const Placement& anchor = y == static_cast<size_t>(ia) ? pb : pa;
    const int strand = 1 - anchor.strand;
    Placement moved = DiagonalPlacement(index, codes.data() + code_offsets[2 * y + strand], st.length,
                                        choice->hit.diag, anchor.contig, strand, choice->hit.mismatches,
                                        choice->hit.mismatches < std::min(st.best_mm, st.second_mm) ? 60 : 0);
    if (!moved.placed) continue;
    placements[y] = std::move(moved);
    ++rescued;
  }

  // ---- Write the records, then mate fields. ----
  auto& buffer = scratch.buffer;
  uint64_t placed = 0, gapped = 0;
  for (size_t r = 0; r < reads.size(); ++r) {
    if (!placements[r].placed) continue;
    CRAMJET_RETURN_IF_ERROR(ApplyPlacement(batch[reads[r].record], placements[r], index, buffer));
    ++placed;
    gapped += placements[r].gapped;
  }
  std::vector<bool> attempted(batch.size);
  for (size_t i = 0; i < batch.size; ++i) attempted[i] = read_of[i] >= 0;
  const uint64_t proper = map_internal::SetMateFields(batch, attempted, options_.max_insert);
  placed_ += placed;
  placed_gapped_ += gapped;
  proper_pairs_ += proper;
  rescued_ += rescued;
  return Status::Ok();
}

}  // namespace cramjet
