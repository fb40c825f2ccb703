// QC's accumulators: how each record adds to the sums (accumulators_internal.h).
#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdlib>
#include <cstring>

#include "cramjet/log.h"
#include "qc/accumulators_internal.h"

namespace cramjet::qc_internal {

// FastQC's GC model (GCModel.java). A read with `gc` of `n` bases stands for the GC fractions
// [(gc - 1/2) / n, (gc + 1/2) / n], which round to the percentages first..last. A percentage
// reached by k of the n + 1 possible counts gets 1/k from each of them: every bin is then the
// mean of the counts that reach it, so 1.5 counts per bin (150 bases) no longer give a zig-zag
// of 2, 1, 2, 1. The weights are scaled by (n + 1) / 101 so that a histogram holds about as much
// as reads were counted. Integer arithmetic, rounding half up as Java's Math.round.
namespace {
// First and last percentage that a GC count `c` of `n` rounds to.
uint32_t FirstPercent(uint64_t c, uint64_t n) { return c == 0 ? 0 : uint32_t((100 * (2 * c - 1) + n) / (2 * n)); }
uint32_t LastPercent(uint64_t c, uint64_t n) { return c >= n ? 100 : uint32_t((100 * (2 * c + 1) + n) / (2 * n)); }
// How many of the counts 0..n reach percentage p: those whose first percentage is <= p, less
// those whose last percentage is < p (both monotone in the count).
uint64_t CountsReaching(uint64_t p, uint64_t n) {
  // FirstPercent(c) <= p  <=>  200 c < n (2p + 1) + 100.
  const uint64_t first_at_most = std::min(n + 1, (n * (2 * p + 1) + 100 + 199) / 200);
  // LastPercent(c) < p  <=>  200 c < n (2p - 1) - 100 (never for c = n, nor for p = 0).
  uint64_t last_below = 0;
  if (p > 0 && n * (2 * p - 1) > 100) last_below = std::min(n, (n * (2 * p - 1) - 100 + 199) / 200);
  return first_at_most - last_below;
}
}  // namespace

void AddGcCount(std::array<double, 101>& hist, uint32_t gc, uint32_t acgt, uint64_t reads) {
  const uint64_t n = acgt;
  const double scale = double(reads) * double(n + 1) / 101.0;
  for (uint32_t p = FirstPercent(gc, n), last = LastPercent(gc, n); p <= last; ++p)
    hist[p] += scale / double(CountsReaching(p, n));
}

void MateAcc::AddGc(uint32_t gc, uint32_t acgt) {
  if (acgt > kGcModelMaxLength) {
    ++gc_long[(200 * uint64_t(gc) + acgt) / (2 * uint64_t(acgt))];  // nearest percentage, half up
    return;
  }
  if (gc_by_length.size() <= acgt) gc_by_length.resize(acgt + 1);
  std::vector<uint64_t>& counts = gc_by_length[acgt];
  if (counts.empty()) counts.resize(acgt + 1);
  ++counts[gc];
}

std::array<double, 101> MateAcc::GcHistogram() const {
  std::array<double, 101> hist{};
  for (size_t n = 1; n < gc_by_length.size(); ++n)
    for (size_t c = 0; c < gc_by_length[n].size(); ++c)
      if (gc_by_length[n][c]) AddGcCount(hist, uint32_t(c), uint32_t(n), gc_by_length[n][c]);
  for (size_t p = 0; p < hist.size(); ++p) hist[p] += double(gc_long[p]);
  return hist;
}

// Base codes, their complements and letters: common/common.h (kNt16ToCode, kCodeComplement,
// kCodeChar); QC's kCodeA..kCodeN are the same codes.
static_assert(kCodeA == 0 && kCodeC == 1 && kCodeG == 2 && kCodeT == 3 && kCodeN == CJ_BASE_N);
static_assert(kQcSingle == 0 && kQcRead1 == 1 && kQcRead2 == 2);

// ---- Records --------------------------------------------------------------------------------

std::string_view ReadGroupOf(const bam1_t* b) {
  const uint8_t* rg = bam_aux_get(b, "RG");
  return (rg && *rg == 'Z') ? std::string_view(reinterpret_cast<const char*>(rg + 1)) : std::string_view();
}

std::string PrefixText(const bam1_t* b, size_t prefix) {
  const uint8_t* seq = bam_get_seq(b);
  const size_t len = size_t(b->core.l_qseq);
  const bool reverse = b->core.flag & BAM_FREVERSE;
  std::string text(prefix, 'N');
  for (size_t j = 0; j < prefix; ++j)
    text[j] = kCodeChar[reverse ? kCodeComplement[kNt16ToCode[bam_seqi(seq, len - 1 - j)]]
                                : kNt16ToCode[bam_seqi(seq, j)]];
  return text;
}

bool DecodeRead(const bam1_t* b, std::vector<uint8_t>& codes, std::vector<uint8_t>& quals) {
  // Sequencing direction: stored reverse-complemented reads are turned back.
  const size_t len = size_t(b->core.l_qseq);
  if (codes.size() < len) { codes.resize(len); quals.resize(len); }
  const uint8_t* seq = bam_get_seq(b);
  const uint8_t* qual = bam_get_qual(b);
  const bool has_quality = qual[0] != 0xff;
  if (!(b->core.flag & BAM_FREVERSE)) {
    // Two bases per byte of BAM's 4-bit sequence.
    const size_t pairs = len / 2;
    for (size_t j = 0; j < pairs; ++j) {
      codes[2 * j] = kNt16ToCode[seq[j] >> 4];
      codes[2 * j + 1] = kNt16ToCode[seq[j] & 15];
    }
    if (len & 1) codes[len - 1] = kNt16ToCode[seq[pairs] >> 4];
    if (has_quality) std::memcpy(quals.data(), qual, len);
  } else {
    for (size_t i = 0; i < len; ++i) codes[len - 1 - i] = kCodeComplement[kNt16ToCode[bam_seqi(seq, i)]];
    if (has_quality) for (size_t i = 0; i < len; ++i) quals[len - 1 - i] = qual[i];
  }
  if (!has_quality) std::fill_n(quals.data(), len, 0);
  return has_quality;
}

// ---- Hashes ---------------------------------------------------------------------------------

uint64_t Mix(uint64_t x) {
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdULL;
  x ^= x >> 33;
  x *= 0xc4ceb9fe1a85ec53ULL;
  x ^= x >> 33;
  return x;
}

uint64_t HashCodes(const uint8_t* codes, size_t n, uint64_t seed) {
  uint64_t h = (seed + n) * 0x9e3779b97f4a7c15ULL;
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    uint64_t w;
    std::memcpy(&w, codes + i, 8);
    h = (h ^ w) * 0x9e3779b97f4a7c15ULL;
    h = (h << 31) | (h >> 33);
  }
  uint64_t w = 0;
  for (size_t k = 0; i < n; ++i, ++k) w |= uint64_t(codes[i]) << (8 * k);
  return Mix(h ^ w);
}

// ---- MateAcc --------------------------------------------------------------------------------

void MateAcc::AddLength(size_t len) {
  ++reads;
  bases += len;
  if (len >= length_hist.size()) length_hist.resize(len + 1, 0);
  ++length_hist[len];
  min_length = std::min<uint64_t>(min_length, len);
  max_length = std::max<uint64_t>(max_length, len);
}

void MateAcc::AddBases(const uint8_t* codes, const uint8_t* quals, size_t len, bool has_quality, bool reverse,
                       const uint32_t* device_summary) {
  if (!has_quality) ++reads_without_quality;
  Grow(std::min(len, kMaxCycles));
  const size_t cycles = std::min(len, kMaxCycles);
  ReadBaseSummary s;
  if (device_summary) {
    s.q20 = device_summary[0];
    s.q30 = device_summary[1];
    s.quality_sum = device_summary[2];
    for (size_t c = 0; c < kNumCodes; ++c) s.code_count[c] = device_summary[3 + c];
  } else {
    AccumulateReadBases(codes, quals, cycles, block_quality_sum.data(), block_code.data(), stride, &s);
  }
  if (!device_summary && len > cycles) {
    ReadBaseSummary rest;
    AccumulateReadBases(codes + cycles, quals + cycles, len - cycles, nullptr, nullptr, 0, &rest);
    s.q20 += rest.q20; s.q30 += rest.q30; s.quality_sum += rest.quality_sum;
    for (size_t c = 0; c < kNumCodes; ++c) s.code_count[c] += rest.code_count[c];
  }
  if (++block_reads == kBlockReads) Flush();
  if (has_quality) {
    q20 += s.q20;
    q30 += s.q30;
    quality_sum += s.quality_sum;
    ++read_mean_quality_hist[std::min<size_t>(kQualityBins - 1, s.quality_sum / len)];
    uint32_t* hist = block_quality_hist.data();
    for (size_t i = 0; i < cycles; ++i) ++hist[std::min<size_t>(quals[i], kQualityBins - 1) * stride + i];
  }
  for (size_t c = 0; c < kNumCodes; ++c) {
    code_total[c] += s.code_count[c];
    code_total_as_stored[reverse ? kCodeComplement[c] : c] += s.code_count[c];
  }
  const uint32_t acgt = s.code_count[kCodeA] + s.code_count[kCodeC] + s.code_count[kCodeG] + s.code_count[kCodeT];
  if (acgt > 0) AddGc(s.code_count[kCodeC] + s.code_count[kCodeG], acgt);

  // Adapters: the first exact occurrence of each adapter's 12 bases (as kernel codes).
  static const std::array<std::array<uint8_t, kAdapterKmer>, 2> adapter_codes = [] {
    std::array<std::array<uint8_t, kAdapterKmer>, 2> k{};
    for (size_t a = 0; a < 2; ++a)
      for (int i = 0; i < kAdapterKmer; ++i) {
        const char ch = kQcAdapters[a].kmer[i];
        k[a][i] = ch == 'A' ? kCodeA : ch == 'C' ? kCodeC : ch == 'G' ? kCodeG : kCodeT;
      }
    return k;
  }();
  // One pass for both adapters: an 8-byte compare per position, the last 4 bases on a hit.
  static const std::array<uint64_t, 2> adapter_heads = [] {
    std::array<uint64_t, 2> w{};
    for (size_t a = 0; a < 2; ++a) std::memcpy(&w[a], adapter_codes[a].data(), 8);
    return w;
  }();
  bool found[2] = {false, false};
  for (size_t i = 0; i + kAdapterKmer <= len; ++i) {
    uint64_t w;
    std::memcpy(&w, codes + i, 8);
    if (__builtin_expect(w != adapter_heads[0] && w != adapter_heads[1], 1)) continue;
    const size_t a = w == adapter_heads[0] ? 0 : 1;
    if (found[a] || std::memcmp(codes + i + 8, adapter_codes[a].data() + 8, kAdapterKmer - 8) != 0) continue;
    found[a] = true;
    ++adapter_reads[a];
    ++adapter_start[a][std::min(i, stride - 1)];
    if (found[0] && found[1]) break;
  }
}

void MateAcc::AddDeviceColumns(const uint32_t* cycle_quality, const uint32_t* cycle_codes) {
  for (size_t i = 0; i < stride; ++i) block_quality_sum[i] += cycle_quality[i];
  for (size_t c = 0; c < kNumCodes; ++c)
    for (size_t i = 0; i < stride; ++i) block_code[c * stride + i] += cycle_codes[c * CJ_QC_MAX_CYCLES + i];
}

// Mismatches per cycle against the reference, over the aligned bases of a placed read.
void MateAcc::AddAlignment(const bam1_t* b, const std::vector<uint8_t>* ref, size_t len, bool reverse) {
  ++placed;
  if (!ref) return;
  const std::vector<uint8_t>& ref_codes = *ref;
  const uint32_t* cigar = bam_get_cigar(b);
  const uint8_t* seq = bam_get_seq(b);
  int64_t ref_pos = b->core.pos;
  size_t qpos = 0;
  uint64_t columns = 0, matches = 0;  // for the read's identity
  for (uint32_t k = 0; k < b->core.n_cigar; ++k) {
    const int op = bam_cigar_op(cigar[k]);
    const int64_t n = bam_cigar_oplen(cigar[k]);
    const int type = bam_cigar_type(op);
    if (op == BAM_CMATCH || op == BAM_CEQUAL || op == BAM_CDIFF) {
      // Compared: bases inside the sequence (SEQ '*' or a CIGAR longer than it: none) and the
      // contig, in the cycles kept.
      const int64_t first = std::max<int64_t>(0, -ref_pos);
      const int64_t last = std::min<int64_t>(
          {n, int64_t(len) - int64_t(qpos), int64_t(ref_codes.size()) - ref_pos});
      for (int64_t j = first; j < last; ++j) {
        const size_t q = qpos + size_t(j);
        const size_t cycle = reverse ? len - 1 - q : q;
        const uint8_t ref_base = ref_codes[size_t(ref_pos + j)];
        if (ref_base == 15) continue;  // N in the reference: not a mismatch, not counted
        const bool differs = bam_seqi(seq, q) != ref_base;
        ++columns;
        matches += !differs;
        if (cycle >= stride) continue;  // per-cycle figures stop at kMaxCycles
        ++cycle_aligned[cycle];
        ++aligned_bases;
        if (differs) {
          ++cycle_mismatch[cycle];
          ++mismatches;
        }
      }
    } else if (op == BAM_CINS || op == BAM_CDEL) {
      columns += uint64_t(n);
    }
    if (type & 1) qpos += size_t(n);
    if (type & 2) ref_pos += n;
  }
  if (columns > 0) {
    const double identity = double(matches) / double(columns);
    ++identity_hist[size_t(std::lround(1000 * identity))];
    ++identity_reads;
    identity_sum_ppm += uint64_t(std::llround(1e6 * identity));
  }
}

void MateAcc::Flush() {
  for (size_t i = 0; i < block_quality_sum.size(); ++i) cycle_quality_sum[i] += block_quality_sum[i];
  for (size_t i = 0; i < block_code.size(); ++i) cycle_code[i] += block_code[i];
  for (size_t q = 0; q < kQualityBins && !block_quality_hist.empty(); ++q)
    for (size_t i = 0; i < stride; ++i) quality_hist[i * kQualityBins + q] += block_quality_hist[q * stride + i];
  std::fill(block_quality_hist.begin(), block_quality_hist.end(), 0);
  std::fill(block_quality_sum.begin(), block_quality_sum.end(), 0);
  std::fill(block_code.begin(), block_code.end(), 0);
  block_reads = 0;
}

void MateAcc::Grow(size_t cycles) {
  if (cycles <= stride) return;
  Flush();
  const size_t new_stride = std::min(kMaxCycles, std::max(cycles, stride * 2));
  std::vector<uint64_t> code(kNumCodes * new_stride, 0);
  for (size_t c = 0; c < kNumCodes; ++c)
    std::copy_n(cycle_code.begin() + c * stride, stride, code.begin() + c * new_stride);
  cycle_code.swap(code);
  quality_hist.resize(new_stride * kQualityBins, 0);
  cycle_quality_sum.resize(new_stride, 0);
  block_quality_sum.assign(new_stride, 0);
  block_code.assign(kNumCodes * new_stride, 0);
  block_quality_hist.assign(kQualityBins * new_stride, 0);
  for (auto& a : adapter_start) a.resize(new_stride, 0);
  cycle_aligned.resize(new_stride, 0);
  cycle_mismatch.resize(new_stride, 0);
  stride = new_stride;
}

void MateAcc::MergeFrom(MateAcc& o) {
  o.Flush();
  Flush();
  Grow(o.stride);
  reads += o.reads; bases += o.bases; q20 += o.q20; q30 += o.q30; quality_sum += o.quality_sum;
  reads_without_quality += o.reads_without_quality;
  for (size_t c = 0; c < kNumCodes; ++c) code_total[c] += o.code_total[c];
  for (size_t c = 0; c < kNumCodes; ++c) code_total_as_stored[c] += o.code_total_as_stored[c];
  min_length = std::min(min_length, o.min_length);
  max_length = std::max(max_length, o.max_length);
  if (length_hist.size() < o.length_hist.size()) length_hist.resize(o.length_hist.size(), 0);
  for (size_t i = 0; i < o.length_hist.size(); ++i) length_hist[i] += o.length_hist[i];
  for (size_t i = 0; i < o.stride; ++i) {
    for (size_t q = 0; q < kQualityBins; ++q)
      quality_hist[i * kQualityBins + q] += o.quality_hist[i * kQualityBins + q];
    cycle_quality_sum[i] += o.cycle_quality_sum[i];
    for (size_t c = 0; c < kNumCodes; ++c) cycle_code[c * stride + i] += o.cycle_code[c * o.stride + i];
    for (size_t a = 0; a < 2; ++a) adapter_start[a][i] += o.adapter_start[a][i];
    cycle_aligned[i] += o.cycle_aligned[i];
    cycle_mismatch[i] += o.cycle_mismatch[i];
  }
  if (gc_by_length.size() < o.gc_by_length.size()) gc_by_length.resize(o.gc_by_length.size());
  for (size_t n = 0; n < o.gc_by_length.size(); ++n) {
    if (o.gc_by_length[n].empty()) continue;
    if (gc_by_length[n].empty()) gc_by_length[n].resize(o.gc_by_length[n].size());
    for (size_t c = 0; c < o.gc_by_length[n].size(); ++c) gc_by_length[n][c] += o.gc_by_length[n][c];
  }
  for (size_t i = 0; i < gc_long.size(); ++i) gc_long[i] += o.gc_long[i];
  for (size_t a = 0; a < 2; ++a) adapter_reads[a] += o.adapter_reads[a];
  placed += o.placed; aligned_bases += o.aligned_bases; mismatches += o.mismatches;
  for (size_t i = 0; i < read_mean_quality_hist.size(); ++i) read_mean_quality_hist[i] += o.read_mean_quality_hist[i];
  for (size_t i = 0; i < identity_hist.size(); ++i) identity_hist[i] += o.identity_hist[i];
  identity_reads += o.identity_reads;
  identity_sum_ppm += o.identity_sum_ppm;
}

// ---- DupSampler -----------------------------------------------------------------------------

void DupSampler::Add(uint64_t h) {
  if ((h & mask_) != 0) return;
  ++sampled_;
  ++*counts_.Find(h, true);
  if (counts_.size() > cap_) {
    // Keep half of the hash space: every copy of a kept sequence stays, so the rate stays fair.
    mask_ = (mask_ << 1) | 1;
    FlatCounter kept(counts_.slots());
    sampled_ = 0;
    counts_.ForEach([&](uint64_t key, uint32_t count) {
      if (key & mask_) return;
      *kept.Find(key, true) = count;
      sampled_ += count;
    });
    counts_ = std::move(kept);
  } else if (counts_.size() * 2 > counts_.slots()) {
    counts_ = counts_.Compacted(counts_.slots() * 2);
  }
}

// ---- CoverageBins ---------------------------------------------------------------------------

void CoverageBins::Add(int tid, int64_t start, int64_t length) {
  if (tid < 0) return;
  if (contigs_.size() <= size_t(tid)) contigs_.resize(size_t(tid) + 1);
  Contig& c = contigs_[size_t(tid)];
  const int64_t end = start + length;
  const size_t last_bin = size_t((end - 1) / kCoverageBin);
  if (c.size() <= last_bin) c.Resize(last_bin + 1);
  for (int64_t p = start; p < end;) {
    const int64_t bin = p / kCoverageBin;
    const int64_t bin_end = std::min(end, (bin + 1) * kCoverageBin);
    c.Add(size_t(bin), uint64_t(bin_end - p));
    p = bin_end;
  }
}

void CoverageBins::AddRecord(const bam1_t* b) {
  const uint32_t* cigar = bam_get_cigar(b);
  int64_t ref_pos = b->core.pos;
  for (uint32_t k = 0; k < b->core.n_cigar; ++k) {
    const int op = bam_cigar_op(cigar[k]);
    const int64_t n = bam_cigar_oplen(cigar[k]);
    if (op == BAM_CMATCH || op == BAM_CEQUAL || op == BAM_CDIFF) Add(b->core.tid, ref_pos, n);
    if (bam_cigar_type(op) & 2) ref_pos += n;
  }
}

void CoverageBins::Contig::Resize(size_t n) {
  if (is_wide) wide.resize(n, 0);
  else narrow.resize(n, 0);
}

void CoverageBins::Contig::Add(size_t i, uint64_t n) {
  if (!is_wide) {
    if (narrow[i] <= std::numeric_limits<uint32_t>::max() - n) {
      narrow[i] += uint32_t(n);
      return;
    }
    wide.assign(narrow.begin(), narrow.end());
    std::vector<uint32_t>().swap(narrow);
    is_wide = true;
  }
  wide[i] += n;
}

// ---- MateJoiner -----------------------------------------------------------------------------

bool MateJoiner::Join(std::string_view name, QcMate mate, uint64_t hash, size_t group, uint64_t* fragment) {
  if (name.size() > 2 && name[name.size() - 2] == '/' && (name.back() == '1' || name.back() == '2'))
    name.remove_suffix(2);
  uint64_t other = 0;
  bool joined = false;
  if (has_previous_ && previous_mate_ != mate && previous_name_ == name) {
    other = previous_hash_;
    joined = true;
    has_previous_ = false;
  } else {
    if (has_previous_) pending_.emplace(previous_name_, Pending{previous_hash_, previous_group_});
    auto waiting = pending_.find(name);
    if (waiting != pending_.end()) {
      other = waiting->second.hash;
      joined = true;
      pending_.erase(waiting);
      has_previous_ = false;
    } else {
      previous_name_.assign(name);
      previous_hash_ = hash;
      previous_group_ = group;
      previous_mate_ = mate;
      has_previous_ = true;
    }
  }
  if (!joined) return false;
  const uint64_t r1 = mate == kQcRead1 ? hash : other, r2 = mate == kQcRead1 ? other : hash;
  *fragment = Mix(r1 ^ (r2 * 0x9e3779b97f4a7c15ULL));
  return true;
}

// ---- OverrepresentedCounter -----------------------------------------------------------------

bool OverrepresentedCounter::Count(uint64_t prefix_hash, const bam1_t* b, size_t prefix) {
  uint32_t* count = counts_.Find(prefix_hash, counts_.size() < kOverrepresentedCap);
  if (!count) return false;
  if ((*count)++ == 0) sequences_[prefix_hash ? prefix_hash : 1] = PrefixText(b, prefix);
  return true;
}

// ---- SamtoolsCounters -----------------------------------------------------------------------

bool SamtoolsCounters::AddRecord(const bam1_t* b) {
  const uint16_t flag = b->core.flag;
  if (flag & BAM_FSECONDARY) { ++secondary; return false; }
  if (flag & BAM_FSUPPLEMENTARY) { ++supplementary; return false; }
  const size_t len = size_t(b->core.l_qseq);
  ++reads;
  bases += len;
  if (flag & BAM_FQCFAIL) ++qc_failed;
  if (flag & BAM_FDUP) { ++duplicates_flagged; duplicate_bases += len; }
  if (flag & BAM_FPAIRED) {
    ++paired;
    if (!(flag & BAM_FUNMAP) && !(flag & BAM_FMUNMAP)) ++mapped_and_paired;
    if ((flag & BAM_FPROPER_PAIR) && !(flag & BAM_FUNMAP) && !(flag & BAM_FMUNMAP)) ++properly_paired;
  }
  if (flag & BAM_FUNMAP) return true;
  if (b->core.tid < last_tid || (b->core.tid == last_tid && b->core.pos < last_pos)) sorted = false;
  last_tid = b->core.tid;
  last_pos = b->core.pos;
  bases_mapped += len;
  if (b->core.qual == 0) ++mapq0;
  if (const uint8_t* nm = bam_aux_get(b, "NM")) nm_mismatches += uint64_t(std::max<int64_t>(0, bam_aux2i(nm)));
  // Pairs as samtools stats counts them: once, from READ1, both mates placed on one contig.
  if ((flag & BAM_FPAIRED) && !(flag & BAM_FMUNMAP)) {
    if (b->core.mtid != b->core.tid) {
      ++pairs_other_chromosome;
    } else if (flag & BAM_FREAD1) {
      const int64_t mate_offset = b->core.mpos - b->core.pos;
      const bool forward = !(flag & BAM_FREVERSE), mate_forward = !(flag & BAM_FMREVERSE);
      if (forward == mate_forward) ++other_orientation;
      else if (mate_offset > 0) (forward ? inward : outward)++;
      else if (mate_offset < 0) (forward ? outward : inward)++;
      else ++other_orientation;
    }
  }
  const uint32_t* cigar = bam_get_cigar(b);
  for (uint32_t k = 0; k < b->core.n_cigar; ++k) {
    const int op = bam_cigar_op(cigar[k]);
    if (op == BAM_CMATCH || op == BAM_CEQUAL || op == BAM_CDIFF || op == BAM_CINS)
      bases_mapped_cigar += uint64_t(bam_cigar_oplen(cigar[k]));
  }
  return true;
}

int InsertSizeBin(const bam1_t* b) {
  const uint16_t flag = b->core.flag;
  if ((flag & BAM_FUNMAP) || !(flag & BAM_FPAIRED) || (flag & BAM_FMUNMAP) || b->core.mtid != b->core.tid ||
      !(flag & BAM_FREAD1))
    return -1;
  return int(std::min<int64_t>(std::llabs(b->core.isize), kMaxInsert));
}

// ---- ReferenceCodes -------------------------------------------------------------------------

ReferenceCodes::~ReferenceCodes() {
  if (fai_) fai_destroy(fai_);
}

ReferenceCodes::Contig ReferenceCodes::Get(int tid) {
  std::lock_guard<std::mutex> lock(mu_);
  for (const auto& [held_tid, codes] : recent_)
    if (held_tid == tid) return codes;
  Contig codes = Load(tid);
  recent_[next_] = {tid, codes};
  next_ ^= 1;
  return codes;
}

ReferenceCodes::Contig ReferenceCodes::Load(int tid) {
  if (failed_ || path_.empty() || !header_) return nullptr;
  if (!fai_) {
    fai_ = fai_load3(path_.c_str(), nullptr, nullptr, FAI_CREATE);
    if (!fai_) {
      CJ_LOG(kWarning) << "'" << path_ << "': cannot load the reference index; QC mismatch rates are left out";
      failed_ = true;
      return nullptr;
    }
  }
  const char* name = sam_hdr_tid2name(header_, tid);
  if (!name || !faidx_has_seq(fai_, name)) {
    if (!missing_warned_) {
      CJ_LOG(kWarning) << "'" << path_ << "': has no contig '" << (name ? name : "?")
                       << "'; QC mismatch rates leave out reads placed there";
      missing_warned_ = true;
    }
    return nullptr;
  }
  hts_pos_t len = 0;
  char* seq = faidx_fetch_seq64(fai_, name, 0, HTS_POS_MAX, &len);
  if (!seq) return nullptr;
  // Coded once per contig, so the per-base compare is one load, not two.
  auto codes = std::make_shared<std::vector<uint8_t>>(size_t(len));
  for (size_t i = 0; i < size_t(len); ++i)
    (*codes)[i] = seq_nt16_table[static_cast<unsigned char>(std::toupper(static_cast<unsigned char>(seq[i])))];
  free(seq);
  return codes;
}

}  // namespace cramjet::qc_internal
