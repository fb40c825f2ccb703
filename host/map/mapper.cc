// The mapper: seeds -> candidates -> Hamming check (both strands) -> banded alignment for the
// rest -> records placed in place. The hot loops run on the Backend, one call per batch and
// round; everything else here is per read and independent of the batch it sits in.
#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>

#include "kernel_shape.h"
#include "map/map.h"

namespace cramjet {
namespace {

constexpr int kR = CJ_BAND_RADIUS;

// BAM 4-bit code -> base code (0..3 for A/C/G/T, 4 otherwise).
constexpr uint8_t kNt16ToCode[16] = {4, 0, 1, 4, 2, 4, 4, 4, 3, 4, 4, 4, 4, 4, 4, 4};
// Complement of a BAM 4-bit code (IUPAC codes map to their complements).
constexpr uint8_t kNt16Complement[16] = {0, 8, 4, 12, 2, 10, 6, 14, 1, 9, 5, 13, 3, 11, 7, 15};

struct Candidate {
  int64_t key;      // diag * 2 + strand (diag may be negative: a read overhanging a contig start)
  uint32_t contig;  // contig of the seed hit: the contig the read is compared against
  uint32_t votes;
  int64_t diag() const { return key >> 1; }  // arithmetic shift keeps the sign
  int strand() const { return static_cast<int>(key & 1); }
};

struct Placement {
  bool placed = false;
  bool gapped = false;
  int strand = 0;
  uint32_t contig = 0;
  int64_t ref_start = 0;  // concatenated coordinate of the first aligned base
  uint8_t mapq = 0;
  std::vector<uint32_t> cigar;
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
  std::vector<Candidate> tried;  // sorted by key
};

// Scores of the diagonal alignment with the same scoring as the banded kernel, choosing the best
// clipped segment (end bonuses, barrier at the contig ends). Returns score, [begin, end).
struct Segment {
  int score = 0;
  uint32_t begin = 0, end = 0;
};
Segment BestDiagonalSegment(const ReferenceIndex& index, const uint8_t* codes, uint32_t length,
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
    std::memset(seq, 0, seq_bytes);
    for (int32_t i = 0; i < length; ++i) {
      const uint8_t c = kNt16Complement[bam_seqi(old_seq, length - 1 - i)];
      seq[i >> 1] |= static_cast<uint8_t>(c << ((~i & 1) << 2));
      qual[i] = old_qual[length - 1 - i];
    }
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

}  // namespace

StatusOr<std::unique_ptr<Mapper>> Mapper::Create(const ReferenceIndex& index, Backend& backend,
                                                 const MapOptions& options) {
  if (options.max_mismatch_fraction < 0 || options.max_mismatch_fraction > 0.5)
    return InvalidArgument("mapper: max_mismatch_fraction must be within [0, 0.5]");
  if (options.max_candidates == 0) return InvalidArgument("mapper: max_candidates must be at least 1");
  return std::unique_ptr<Mapper>(new Mapper(index, backend, options));
}

MapStats Mapper::stats() const {
  MapStats s;
  s.reads = reads_.load();
  s.placed = placed_.load();
  s.placed_gapped = placed_gapped_.load();
  s.proper_pairs = proper_pairs_.load();
  s.seconds = static_cast<double>(nanos_.load()) * 1e-9;
  return s;
}

Status Mapper::MapBatch(ReadBatch& batch) {
  const auto started = std::chrono::steady_clock::now();
  const ReferenceIndex& index = index_;
  const PackedReference reference = index.packed();

  // ---- Encode the mappable reads: codes and 2-bit words, forward (2r) and reverse (2r+1). ----
  std::vector<ReadState> reads;
  std::vector<uint8_t> codes;
  std::vector<uint32_t> code_offsets{0};
  std::vector<uint64_t> words, n_masks;
  std::vector<uint32_t> word_offsets, lengths;
  for (size_t i = 0; i < batch.size; ++i) {
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
    codes.resize(fwd + 2 * size_t{n});
    for (uint32_t j = 0; j < n; ++j) codes[fwd + j] = kNt16ToCode[bam_seqi(seq, j)];
    for (uint32_t j = 0; j < n; ++j) {
      const uint8_t c = codes[fwd + n - 1 - j];
      codes[fwd + n + j] = c < 4 ? static_cast<uint8_t>(3 - c) : 4;
    }
    code_offsets.push_back(static_cast<uint32_t>(fwd + n));
    code_offsets.push_back(static_cast<uint32_t>(fwd + 2 * n));
    for (int strand = 0; strand < 2; ++strand) {
      const uint8_t* c = codes.data() + fwd + strand * n;
      const size_t w0 = words.size();
      const size_t nw = (n + 31) / 32;
      words.resize(w0 + nw, 0);
      n_masks.resize(w0 + nw, 0);
      for (uint32_t j = 0; j < n; ++j) {
        const uint64_t shift = 2 * (j % 32);
        if (c[j] < 4) words[w0 + j / 32] |= uint64_t{c[j]} << shift;
        else n_masks[w0 + j / 32] |= uint64_t{1} << shift;
      }
      word_offsets.push_back(static_cast<uint32_t>(w0));
      lengths.push_back(n);
    }
  }
  reads_ += reads.size();
  // Kernels may read a vector past the last sequence.
  words.resize(words.size() + 16, 0);
  n_masks.resize(n_masks.size() + 16, 0);
  const PackedSequences packed{words.data(), n_masks.data(), word_offsets.data(), lengths.data()};

  SeedOutput seeds;
  backend_.ExtractSeeds(SeedInput{codes.data(), code_offsets.data(), code_offsets.size() - 1}, seeds);

  // ---- Candidate verification, shared by both rounds. ----
  std::vector<VerifyJob> jobs;
  std::vector<std::pair<size_t, size_t>> job_target;  // (read, index in read.tried)
  std::vector<uint32_t> results;
  std::vector<std::vector<uint32_t>> mismatch_of(reads.size());
  auto verify = [&](const std::vector<std::pair<size_t, std::vector<Candidate>>>& work) {
    jobs.clear();
    job_target.clear();
    for (const auto& [r, cands] : work) {
      ReadState& st = reads[r];
      for (const Candidate& c : cands) {
        const int64_t diag = c.diag();
        const ContigInfo& contig = index.contigs()[c.contig];
        const bool clean = diag >= static_cast<int64_t>(contig.start) &&
                           diag + st.length <= static_cast<int64_t>(contig.start + contig.length) &&
                           index.AllAcgt(static_cast<uint64_t>(diag), st.length);
        uint32_t mm;
        if (clean) {
          jobs.push_back({static_cast<uint32_t>(2 * r + c.strand()), st.budget, static_cast<uint64_t>(diag)});
          job_target.push_back({r, 0});
          mm = UINT32_MAX;  // filled below
        } else {
          mm = ExactMismatches(index, codes.data() + code_offsets[2 * r + c.strand()], st.length, diag,
                               c.contig, st.budget);
        }
        st.tried.push_back(c);
        mismatch_of[r].push_back(mm);
        if (clean) job_target.back().second = st.tried.size() - 1;
      }
    }
    results.resize(jobs.size());
    if (!jobs.empty()) backend_.VerifyHamming(reference, packed, jobs.data(), jobs.size(), results.data());
    for (size_t j = 0; j < jobs.size(); ++j) mismatch_of[job_target[j].first][job_target[j].second] = results[j];
    // Best and second best per touched read (ties: first tried, i.e. smallest key of the round).
    for (const auto& [r, cands] : work) {
      ReadState& st = reads[r];
      st.best_mm = st.second_mm = UINT32_MAX;
      for (size_t k = 0; k < st.tried.size(); ++k) {
        const uint32_t mm = mismatch_of[r][k];
        if (mm < st.best_mm || (mm == st.best_mm && st.tried[k].key < st.best.key)) {
          if (st.best_mm != UINT32_MAX) st.second_mm = std::min(st.second_mm, st.best_mm);
          st.best_mm = mm;
          st.best = st.tried[k];
        } else {
          st.second_mm = std::min(st.second_mm, mm);
        }
      }
      if (st.best_mm <= st.accept) st.resolved = true;
    }
  };

  auto add_hits = [&](const Seed& seed, int strand, std::vector<Candidate>& out) {
    const auto hits = index.Lookup(seed.hash);
    if (hits.size() > options_.max_seed_occurrences) return;
    for (uint32_t p : hits) {
      const int64_t diag = static_cast<int64_t>(p) - seed.position;
      out.push_back({diag * 2 + strand, static_cast<uint32_t>(index.ContigOf(p)), 1});
    }
  };
  auto already_tried = [](const ReadState& st, int64_t key) {
    for (const Candidate& c : st.tried) if (c.key == key) return true;
    return false;
  };

  // ---- Round 1: first, middle and last seed of each strand. ----
  std::vector<std::pair<size_t, std::vector<Candidate>>> work;
  for (size_t r = 0; r < reads.size(); ++r) {
    std::vector<Candidate> cands;
    for (int strand = 0; strand < 2; ++strand) {
      const uint32_t b = seeds.seed_offsets[2 * r + strand], e = seeds.seed_offsets[2 * r + strand + 1];
      const uint32_t n = e - b;
      if (n == 0) continue;
      const uint32_t picks[3] = {0, n / 2, n - 1};
      for (int k = 0; k < 3; ++k) {
        if (k > 0 && picks[k] == picks[k - 1]) continue;
        add_hits(seeds.seeds[b + picks[k]], strand, cands);
      }
    }
    std::sort(cands.begin(), cands.end(), [](const Candidate& a, const Candidate& b) {
      return a.key != b.key ? a.key < b.key : a.contig < b.contig;
    });
    cands.erase(std::unique(cands.begin(), cands.end(),
                            [](const Candidate& a, const Candidate& b) { return a.key == b.key; }),
                cands.end());
    if (cands.size() > 2 * options_.max_candidates) cands.resize(2 * options_.max_candidates);
    if (!cands.empty()) work.emplace_back(r, std::move(cands));
  }
  verify(work);

  // ---- Round 2: every seed votes; the best-voted untried candidates are checked. ----
  work.clear();
  std::vector<std::vector<Candidate>> voted(reads.size());
  for (size_t r = 0; r < reads.size(); ++r) {
    if (reads[r].resolved) continue;
    std::vector<Candidate> hits;
    for (int strand = 0; strand < 2; ++strand) {
      for (uint32_t s = seeds.seed_offsets[2 * r + strand]; s < seeds.seed_offsets[2 * r + strand + 1]; ++s)
        add_hits(seeds.seeds[s], strand, hits);
    }
    if (hits.empty()) continue;
    std::sort(hits.begin(), hits.end(), [](const Candidate& a, const Candidate& b) {
      return a.key != b.key ? a.key < b.key : a.contig < b.contig;
    });
    std::vector<Candidate>& v = voted[r];
    for (const Candidate& h : hits) {
      if (!v.empty() && v.back().key == h.key) ++v.back().votes; else v.push_back(h);
    }
    std::stable_sort(v.begin(), v.end(), [](const Candidate& a, const Candidate& b) { return a.votes > b.votes; });
    std::vector<Candidate> cands;
    for (const Candidate& c : v) {
      if (cands.size() >= options_.max_candidates) break;
      if (!already_tried(reads[r], c.key)) cands.push_back(c);
    }
    if (!cands.empty()) work.emplace_back(r, std::move(cands));
  }
  verify(work);

  // ---- Diagonal placements, and banded alignment for what is left. ----
  std::vector<Placement> placements(reads.size());
  std::vector<AlignJob> align_jobs;
  std::vector<std::pair<size_t, Candidate>> align_target;
  std::vector<uint8_t> windows;
  std::vector<size_t> window_offsets;
  for (size_t r = 0; r < reads.size(); ++r) {
    ReadState& st = reads[r];
    const bool can_align = options_.banded_alignment && st.length <= CJ_MAX_ALIGN_LENGTH;
    const bool diagonal = st.best_mm <= st.accept || (!can_align && st.best_mm <= st.budget);
    if (diagonal) {
      Placement& p = placements[r];
      const uint8_t* c = codes.data() + code_offsets[2 * r + st.best.strand()];
      const Segment seg = st.best_mm == 0
                              ? Segment{static_cast<int>(st.length), 0, st.length}
                              : BestDiagonalSegment(index, c, st.length, st.best.diag(), st.best.contig);
      if (seg.score <= 0) continue;
      p.placed = true;
      p.strand = st.best.strand();
      p.contig = st.best.contig;
      p.ref_start = st.best.diag() + seg.begin;
      if (seg.begin) p.cigar.push_back(seg.begin << 4 | BAM_CSOFT_CLIP);
      p.cigar.push_back((seg.end - seg.begin) << 4 | BAM_CMATCH);
      if (seg.end < st.length) p.cigar.push_back((st.length - seg.end) << 4 | BAM_CSOFT_CLIP);
      p.mapq = st.second_mm == st.best_mm ? 0 : 60;
      continue;
    }
    if (!can_align) continue;
    // Up to two candidates: the best by mismatches and the best by votes, unless within a band.
    std::vector<Candidate> picks;
    if (st.best_mm != UINT32_MAX) picks.push_back(st.best);
    for (const Candidate& c : voted[r]) {
      bool near = false;
      for (const Candidate& q : picks)
        near |= q.strand() == c.strand() && std::llabs(q.diag() - c.diag()) <= kR;
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
  if (!align_jobs.empty()) backend_.AlignBanded(align_jobs.data(), align_jobs.size(), aligned);
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

  // ---- Write the records, then mate fields. ----
  std::vector<uint8_t> buffer;
  std::vector<int> placed_of(batch.size, -1);
  uint64_t placed = 0, gapped = 0;
  for (size_t r = 0; r < reads.size(); ++r) {
    if (!placements[r].placed) continue;
    CRAMJET_RETURN_IF_ERROR(ApplyPlacement(batch[reads[r].record], placements[r], index, buffer));
    placed_of[reads[r].record] = static_cast<int>(r);
    ++placed;
    gapped += placements[r].gapped;
  }
  std::vector<bool> attempted(batch.size, false);
  for (const ReadState& st : reads) attempted[st.record] = true;
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
        if (facing && tlen <= options_.max_insert) {
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
  placed_ += placed;
  placed_gapped_ += gapped;
  proper_pairs_ += proper;
  nanos_ += static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - started).count());
  return Status::Ok();
}

}  // namespace cramjet
