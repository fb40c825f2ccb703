// QcCollector: streaming accumulation of the QC metrics, one record at a time, and the qc.json
// document they end in (the other outputs are views of that document, see report.cc).
#include <htslib/faidx.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <string_view>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>
#include <unordered_map>

#include <nlohmann/json.hpp>

#include "cramjet/log.h"
#include "cramjet/version.h"
#include "qc/qc.h"

namespace cramjet {
namespace {

constexpr size_t kQualityBins = 94;           // Phred 0..93 (SAM's printable range)
constexpr size_t kMaxCycles = 2000;           // per-cycle metrics stop here (long reads)
constexpr uint32_t kBlockReads = 1u << 24;    // 32-bit per-cycle blocks are flushed before overflow
constexpr size_t kDuplicationSampleCap = 1u << 18;  // distinct fragments kept (6 MB: stays in cache)
constexpr size_t kOverrepresentedCap = 100000;      // distinct prefixes tracked (FastQC's limit)
constexpr size_t kOverrepresentedPrefix = 50;
constexpr int kCoverageBin = 1000;            // reference bases per coverage bin
constexpr int kAdapterKmer = 12;
constexpr int kMaxInsert = 8000;              // insert sizes above go into the last bin (samtools -i)

// The two adapters FastQC and MultiQC report, as their first 12 bases.
struct Adapter { const char* key; const char* name; const char* kmer; };
constexpr Adapter kAdapters[2] = {
    {"truseq", "Illumina TruSeq (universal)", "AGATCGGAAGAG"},
    {"nextera", "Illumina Nextera (transposase)", "CTGTCTCTTATA"},
};

// Base codes, their complements and letters: common/common.h (kNt16ToCode, kCodeComplement,
// kCodeChar); QC's kCodeA..kCodeN are the same codes.
static_assert(kCodeA == 0 && kCodeC == 1 && kCodeG == 2 && kCodeT == 3 && kCodeN == CJ_BASE_N);

uint64_t Mix(uint64_t x) {
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdULL;
  x ^= x >> 33;
  x *= 0xc4ceb9fe1a85ec53ULL;
  x ^= x >> 33;
  return x;
}

// One multiply and a rotate per 8 bases, a full mix at the end: cheap, and 64 bits keep
// collisions negligible for counting sequences.
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

// Open-addressing counter keyed by 64-bit hashes (already well mixed): one probe sequence in a
// flat array, where std::unordered_map chased a node per lookup (measured: 20% of QC time).
class FlatCounter {
 public:
  explicit FlatCounter(size_t slots) : keys_(slots, 0), counts_(slots, 0), mask_(slots - 1) {}
  // The count of `key`, inserted at 0 when absent and `insert`; null when absent and not inserted.
  uint32_t* Find(uint64_t key, bool insert) {
    key = key ? key : 1;  // 0 marks an empty slot
    for (size_t i = key & mask_;; i = (i + 1) & mask_) {
      if (keys_[i] == key) return &counts_[i];
      if (keys_[i] == 0) {
        if (!insert) return nullptr;
        keys_[i] = key;
        ++size_;
        return &counts_[i];
      }
    }
  }
  size_t size() const { return size_; }
  size_t slots() const { return keys_.size(); }
  // Starts loading the slot of `key` so the lookup after other work does not wait for memory.
  void Prefetch(uint64_t key) const {
    const size_t i = (key ? key : 1) & mask_;
    __builtin_prefetch(&keys_[i]);
    __builtin_prefetch(&counts_[i]);
  }
  template <typename F>
  void ForEach(F&& f) const {
    for (size_t i = 0; i < keys_.size(); ++i)
      if (keys_[i]) f(keys_[i], counts_[i]);
  }
  // Adds one to the count of `key` and doubles the slots when more than half are taken, so a
  // table that starts small costs only what it holds.
  void CountGrowing(uint64_t key) {
    ++*Find(key, true);
    if (size_ * 2 > slots()) *this = Compacted(slots() * 2);
  }
  // A copy in the fewest slots (at least `min_slots`, a power of two) with at most half taken.
  FlatCounter Compacted(size_t min_slots) const {
    size_t slots = min_slots;
    while (slots < 2 * size_) slots *= 2;
    FlatCounter copy(slots);
    ForEach([&](uint64_t key, uint32_t count) { *copy.Find(key, true) = count; });
    return copy;
  }

 private:
  std::vector<uint64_t> keys_;
  std::vector<uint32_t> counts_;
  size_t mask_;
  size_t size_ = 0;
};

// Duplication by hash sampling: every copy of a fragment has the same hash, so keeping only hashes
// whose low bits are zero keeps every copy of a sequence or none, and the rate among kept fragments
// is an unbiased estimate while at most `cap` distinct fragments are held (docs/qc.md).
class DupSampler {
 public:
  // `slots`: the table's size to start with (a power of two); it doubles as needed up to 2 * cap.
  DupSampler(size_t cap, size_t slots) : cap_(cap), counts_(slots) {}
  // Unconditional: the slot of a fragment left out of the sample is loaded for nothing, but GCC 12
  // dropped the prefetch altogether when it was under `(h & mask_) == 0` (seen in the binary).
  void Prefetch(uint64_t h) const { counts_.Prefetch(h); }
  void Add(uint64_t h) {
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
  // The same state in the fewest slots (at least `min_slots`).
  DupSampler Compacted(size_t min_slots) const {
    DupSampler copy(*this, counts_.Compacted(min_slots));
    return copy;
  }
  uint64_t sampled() const { return sampled_; }
  uint64_t distinct() const { return counts_.size(); }
  double sampling_fraction() const { return 1.0 / double(mask_ + 1); }
  template <typename F>
  void ForEachCount(F&& f) const {
    counts_.ForEach([&](uint64_t, uint32_t count) { f(count); });
  }

 private:
  DupSampler(const DupSampler& from, FlatCounter counts)
      : cap_(from.cap_), counts_(std::move(counts)), mask_(from.mask_), sampled_(from.sampled_) {}
  size_t cap_;
  FlatCounter counts_;
  uint64_t mask_ = 0;
  uint64_t sampled_ = 0;
};

// Reference bases covered by aligned read bases, per kCoverageBin bases of each contig. Counts are
// 32-bit (4 bytes per bin); a bin passes 2^32 - 1 only above a mean depth of 4.29 million, and a
// contig where one would is moved to 64-bit counts, so the sums stay exact.
class CoverageBins {
 public:
  void Add(int tid, int64_t start, int64_t length) {
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
  size_t contigs() const { return contigs_.size(); }
  // Bins held for contig `tid` (0: no placed read there); bins past the last covered one are not held.
  size_t bins(int tid) const { return size_t(tid) < contigs_.size() ? contigs_[size_t(tid)].size() : 0; }
  uint64_t at(int tid, size_t bin) const { return contigs_[size_t(tid)].at(bin); }

 private:
  struct Contig {
    std::vector<uint32_t> narrow;
    std::vector<uint64_t> wide;  // replaces `narrow` once a bin would pass 2^32 - 1
    bool is_wide = false;
    size_t size() const { return is_wide ? wide.size() : narrow.size(); }
    uint64_t at(size_t i) const { return is_wide ? wide[i] : narrow[i]; }
    void Resize(size_t n) {
      if (is_wide) wide.resize(n, 0);
      else narrow.resize(n, 0);
    }
    void Add(size_t i, uint64_t n) {  // n <= kCoverageBin
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
  };
  std::vector<Contig> contigs_;
};

// Per-cycle and per-read accumulators of one read group and one mate (single, R1 or R2).
struct MateAcc {
  uint64_t reads = 0, bases = 0, q20 = 0, q30 = 0, quality_sum = 0;
  uint64_t reads_without_quality = 0;
  std::array<uint64_t, kNumCodes> code_total{};
  std::array<uint64_t, kNumCodes> code_total_as_stored{};  // samtools stats FTC/LTC orientation
  uint64_t min_length = std::numeric_limits<uint64_t>::max(), max_length = 0;
  std::vector<uint64_t> length_hist;
  size_t stride = 0;  // allocated cycles
  std::vector<uint64_t> quality_hist;      // stride * kQualityBins
  std::vector<uint64_t> cycle_quality_sum; // stride
  std::vector<uint64_t> cycle_code;        // kNumCodes * stride
  std::vector<uint32_t> block_quality_sum, block_code;
  // Quality-major 32-bit block of the per-cycle histogram: neighbouring cycles of one quality
  // share cache lines (binned qualities make most increments hit a few lines).
  std::vector<uint32_t> block_quality_hist;  // kQualityBins * stride
  uint32_t block_reads = 0;
  std::array<uint64_t, 101> gc_hist{};
  std::array<std::vector<uint64_t>, 2> adapter_start;  // per cycle where the adapter begins
  std::array<uint64_t, 2> adapter_reads{};
  uint64_t placed = 0, aligned_bases = 0, mismatches = 0;
  std::vector<uint64_t> cycle_aligned, cycle_mismatch;
  // Per read, whole read (long reads too, past kMaxCycles): mean Phred of its bases, and for
  // placed reads the identity matches / (aligned columns + inserted + deleted bases), per mille.
  std::array<uint64_t, kQualityBins> read_mean_quality_hist{};
  std::array<uint64_t, 1001> identity_hist{};
  uint64_t identity_reads = 0;
  uint64_t identity_sum_ppm = 0;  // integer, so the sum is the same in any shard order

  void Flush() {
    for (size_t i = 0; i < block_quality_sum.size(); ++i) cycle_quality_sum[i] += block_quality_sum[i];
    for (size_t i = 0; i < block_code.size(); ++i) cycle_code[i] += block_code[i];
    for (size_t q = 0; q < kQualityBins && !block_quality_hist.empty(); ++q)
      for (size_t i = 0; i < stride; ++i) quality_hist[i * kQualityBins + q] += block_quality_hist[q * stride + i];
    std::fill(block_quality_hist.begin(), block_quality_hist.end(), 0);
    std::fill(block_quality_sum.begin(), block_quality_sum.end(), 0);
    std::fill(block_code.begin(), block_code.end(), 0);
    block_reads = 0;
  }
  void Grow(size_t cycles) {
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
  void MergeFrom(MateAcc& o) {
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
    for (size_t i = 0; i < gc_hist.size(); ++i) gc_hist[i] += o.gc_hist[i];
    for (size_t a = 0; a < 2; ++a) adapter_reads[a] += o.adapter_reads[a];
    placed += o.placed; aligned_bases += o.aligned_bases; mismatches += o.mismatches;
    for (size_t i = 0; i < read_mean_quality_hist.size(); ++i) read_mean_quality_hist[i] += o.read_mean_quality_hist[i];
    for (size_t i = 0; i < identity_hist.size(); ++i) identity_hist[i] += o.identity_hist[i];
    identity_reads += o.identity_reads;
    identity_sum_ppm += o.identity_sum_ppm;
  }
};

enum Mate { kSingle = 0, kRead1 = 1, kRead2 = 2 };
constexpr const char* kMateNames[3] = {"single", "read1", "read2"};

constexpr size_t kGroupTableSlots = 1024;  // a read group's hash tables start here (12 kB) and double

struct GroupAcc {
  std::string id;
  std::string sample;
  std::array<MateAcc, 3> mates;
  // The sample-level metrics for this read group alone, counted only once the input has a second
  // read group (with one, they are the sample's). Bounds per read group: docs/qc.md "Cost".
  DupSampler dup = DupSampler(kDuplicationSampleCap, kGroupTableSlots);
  FlatCounter overrep = FlatCounter(kGroupTableSlots);  // prefixes the sample's table tracks
  std::vector<uint64_t> insert_hist;                    // kMaxInsert + 1 once a pair is counted
  CoverageBins coverage;
  uint64_t reads() const { return mates[0].reads + mates[1].reads + mates[2].reads; }
};

// The read group a record counts in: its RG:Z value, or "" without one.
std::string_view ReadGroupOf(const bam1_t* b) {
  const uint8_t* rg = bam_aux_get(b, "RG");
  return (rg && *rg == 'Z') ? std::string_view(reinterpret_cast<const char*>(rg + 1)) : std::string_view();
}

// The first `prefix` bases of a read in sequencing direction, as text.
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

// The reference in BAM's 4-bit codes (15: N or anything else), contig by contig, for the
// mismatch-per-cycle metric. Shared by the workers: in position order they ask for the same
// contig, which is then loaded and coded once. The last two contigs asked for are kept (a worker
// may still be on the previous one); a worker keeps its own handle on the contig it is on.
class ReferenceCodes {
 public:
  using Contig = std::shared_ptr<const std::vector<uint8_t>>;
  ReferenceCodes() = default;
  ReferenceCodes(const ReferenceCodes&) = delete;
  ReferenceCodes& operator=(const ReferenceCodes&) = delete;
  ~ReferenceCodes() {
    if (fai_) fai_destroy(fai_);
  }
  void Configure(const std::string& path, const sam_hdr_t* header) {
    path_ = path;
    header_ = header;
  }
  // Contig `tid`, or null when there is no reference, it lacks the contig or cannot be read
  // (warned once).
  Contig Get(int tid) {
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& [held_tid, codes] : recent_)
      if (held_tid == tid) return codes;
    Contig codes = Load(tid);
    recent_[next_] = {tid, codes};
    next_ ^= 1;
    return codes;
  }

 private:
  Contig Load(int tid) {
    if (failed_ || path_.empty() || !header_) return nullptr;
    if (!fai_) {
      fai_ = fai_load3(path_.c_str(), nullptr, nullptr, FAI_CREATE);
      if (!fai_) {
        CJ_LOG(kWarning) << "'" << path_
                         << "': cannot load the reference index; QC mismatch rates are left out";
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

  std::mutex mu_;
  std::string path_;
  const sam_hdr_t* header_ = nullptr;
  faidx_t* fai_ = nullptr;
  bool failed_ = false;
  bool missing_warned_ = false;
  std::array<std::pair<int, Contig>, 2> recent_{{{-2, nullptr}, {-2, nullptr}}};
  size_t next_ = 0;
};

// The per-read metrics that add up in any order: per read group (by RG value) and mate, the
// per-cycle and per-read sums of MateAcc. Each worker has its own and sees any records; Finish()
// merges them into the read groups. The sums are exact integers, so the figures do not depend on
// how the records were split among workers (tested).
struct QcShard {
  std::unordered_map<std::string, std::array<MateAcc, 3>> groups;  // nodes: references stay valid
  std::string last_rg;
  std::array<MateAcc, 3>* last = nullptr;
  std::vector<uint8_t> codes, quals;  // one read in sequencing direction
  // A worker batch for a device backend's QC kernel: its reads in sequencing direction, each with
  // the accumulator slot (a MateAcc of this shard) its per-cycle columns go to.
  std::vector<uint8_t> batch_codes, batch_quals;
  std::vector<uint32_t> batch_offsets, batch_slots;
  std::vector<uint8_t> batch_has_quality;
  std::vector<MateAcc*> slot_mates;
  std::vector<int64_t> batch_read;  // record i of the batch -> its read in the device batch, or -1
  QcBatchOutput device_out;
  int ref_tid = -2;
  ReferenceCodes::Contig ref;
  std::array<MateAcc, 3>& MatesFor(std::string_view rg) {
    if (last && last_rg == rg) return *last;
    last_rg.assign(rg);
    last = &groups[last_rg];
    return *last;
  }
};

// What a worker's pass over a record hands to the in-order pass.
struct RecordDigest {
  uint64_t hash = 0;         // the read's bases (sequencing direction, seeded by mate)
  uint64_t prefix_hash = 0;  // its first kOverrepresentedPrefix bases
};

double Percent(double part, double whole) { return whole > 0 ? 100.0 * part / whole : 0.0; }
double NaN() { return std::numeric_limits<double>::quiet_NaN(); }

// Smallest quality whose cumulative count reaches fraction `p` of the cycle's bases.
int QuantileOfHist(const uint64_t* hist, uint64_t total, double p) {
  if (total == 0) return 0;
  const double target = p * double(total);
  uint64_t cum = 0;
  for (size_t q = 0; q < kQualityBins; ++q) {
    cum += hist[q];
    if (double(cum) >= target) return int(q);
  }
  return int(kQualityBins - 1);
}

nlohmann::json JsonNumberOrNull(double v) {
  return std::isnan(v) ? nlohmann::json(nullptr) : nlohmann::json(v);
}

}  // namespace

struct QcCollector::Impl {
  QcOptions options;
  QcThresholds thresholds;
  const sam_hdr_t* header = nullptr;
  bool header_has_contigs = false;

  std::vector<GroupAcc> groups;
  std::unordered_map<std::string, size_t> group_index;
  std::string last_rg;
  size_t last_group = 0;

  // samtools stats counters (sample level).
  uint64_t secondary = 0, supplementary = 0, qc_failed = 0, duplicates_flagged = 0;
  uint64_t duplicate_bases = 0, mapq0 = 0, nm_mismatches = 0, bases_mapped = 0;
  uint64_t bases_mapped_cigar = 0, paired = 0, mapped_and_paired = 0, properly_paired = 0;
  uint64_t pairs_other_chromosome = 0, inward = 0, outward = 0, other_orientation = 0;
  bool sorted = true;
  int last_tid = -1;
  int64_t last_pos = -1;
  std::vector<uint64_t> insert_hist = std::vector<uint64_t>(kMaxInsert + 1, 0);

  // Duplication: hash sampling keeps every copy of a sequence or none, so the sampled rate is an
  // unbiased estimate while memory stays bounded (docs/qc.md). The sample's table is allocated
  // whole (6 MB) so that lookups never wait for a rehash.
  DupSampler dup = DupSampler(kDuplicationSampleCap, 2 * kDuplicationSampleCap);
  struct StringHash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  struct PendingMate {
    uint64_t hash;
    size_t group;
  };
  std::unordered_map<std::string, PendingMate, StringHash, std::equal_to<>> pending_mates;
  std::string previous_mate_name;  // the last unjoined mate, kept out of the table
  uint64_t previous_mate_hash = 0;
  size_t previous_mate_group = 0;
  int previous_mate = 0;
  bool has_previous_mate = false;
  // A fragment whose last read is in read group `group` (a pair split across read groups counts
  // in its second read's group).
  void CountFragment(uint64_t h, size_t group) {
    dup.Add(h);
    if (per_group) groups[group].dup.Add(h);
  }
  // Overrepresented prefixes: the first kOverrepresentedCap distinct ones are counted to the end.
  FlatCounter overrep_counts = FlatCounter(1u << 18);  // 100,000 of 262,144 slots at most (3 MB)
  std::unordered_map<uint64_t, std::string> overrep_sequences;

  // Coverage: reference bases covered by aligned read bases, in bins.
  CoverageBins coverage;

  // Per-read-group duplication, overrepresented sequences, insert size and coverage: off while the
  // input has one read group (its figures are the sample's), on from the second one's first read.
  bool per_group = false;
  void StartPerGroupMetrics() {
    // Everything counted so far belongs to the first read group.
    GroupAcc& first = groups[0];
    first.dup = dup.Compacted(kGroupTableSlots);
    first.overrep = overrep_counts.Compacted(kGroupTableSlots);
    first.insert_hist = insert_hist;
    first.coverage = coverage;
    per_group = true;
  }

  // Reference for mismatch-per-cycle, loaded contig by contig when placed reads arrive.
  ReferenceCodes reference;

  bool finished = false;
  nlohmann::json doc;
  QcVerdict overall = QcVerdict::kPass;
  uint64_t total_reads = 0, total_bases = 0;

  // Two passes over each record. The worker pass (ShardAdd: per-base sums, hashes, mismatches,
  // the bulk of the cost) runs on any worker into its own QcShard; the in-order pass (OrderedAdd:
  // mate join, duplication, overrepresented sequences, coverage, sortedness, counters) sees the
  // records in output order, one batch at a time, on whichever worker finds it free: what it
  // counts depends on order (sampling caps, first-seen tables). Add() only copies the record into
  // a batch; at most 2 * workers + 2 batches are in flight, so memory stays bounded. Without
  // workers (one core) both passes run inline in Add().
  static constexpr size_t kBatchRecords = 2048;
  struct Batch {
    std::vector<BamPtr> records;
    std::vector<RecordDigest> digests;
    size_t size = 0;
    bool sharded = false;  // the worker pass is done
  };
  std::vector<QcShard> shards;  // one per worker; one for the inline passes
  std::vector<std::thread> workers;
  size_t max_in_flight = 0;
  std::mutex mu;
  std::condition_variable work_ready, space_ready;
  std::deque<std::unique_ptr<Batch>> in_order;  // submitted, not yet through the in-order pass
  std::deque<Batch*> to_shard;                  // submitted, waiting for the worker pass
  bool ordered_running = false;                 // a worker is running the in-order pass
  std::vector<std::unique_ptr<Batch>> spare;
  std::unique_ptr<Batch> filling;
  bool stopping = false;
  bool copy_failed = false;
  const Backend* device = nullptr;  // QcOptions::backend when it is a device backend
  Status device_error;              // the first failure of its QC kernel (under mu)

  void StartWorkers(int n) {
    shards.resize(size_t(n));
    max_in_flight = 2 * size_t(n) + 2;
    for (int i = 0; i < n; ++i) workers.emplace_back([this, i] { WorkerLoop(shards[size_t(i)]); });
  }
  void WorkerLoop(QcShard& shard) {
    std::unique_lock<std::mutex> lock(mu);
    for (;;) {
      work_ready.wait(lock, [this] { return stopping || !to_shard.empty(); });
      if (to_shard.empty()) return;  // stopping and drained
      Batch* batch = to_shard.front();
      to_shard.pop_front();
      lock.unlock();
      ShardBatch(*batch, shard);
      lock.lock();
      batch->sharded = true;
      if (ordered_running) continue;  // that worker will take this batch when its turn comes
      // The in-order pass over every worker-passed batch at the front; the check for the next
      // one and giving the role up happen under one lock, so no batch is left behind.
      ordered_running = true;
      while (!in_order.empty() && in_order.front()->sharded) {
        std::unique_ptr<Batch> front = std::move(in_order.front());
        in_order.pop_front();
        lock.unlock();
        OrderedPass(*front);
        lock.lock();
        front->size = 0;
        front->sharded = false;
        spare.push_back(std::move(front));
        space_ready.notify_one();
      }
      ordered_running = false;
    }
  }
  void OrderedPass(const Batch& batch) {
    constexpr size_t kAhead = 8;  // table slots start loading this many records ahead
    for (size_t i = 0; i < batch.size; ++i) {
      if (i + kAhead < batch.size) overrep_counts.Prefetch(batch.digests[i + kAhead].prefix_hash);
      OrderedAdd(batch.records[i].get(), batch.digests[i]);
    }
  }
  void Enqueue(const bam1_t* record) {
    if (!filling) {
      std::lock_guard<std::mutex> lock(mu);
      if (!spare.empty()) {
        filling = std::move(spare.back());
        spare.pop_back();
      }
    }
    if (!filling) filling = std::make_unique<Batch>();
    if (filling->records.size() <= filling->size) {
      filling->records.push_back(NewBam());
      filling->digests.emplace_back();
    }
    if (!bam_copy1(filling->records[filling->size].get(), record)) {
      copy_failed = true;  // out of memory: Finish() reports it rather than QC silently missing reads
      return;
    }
    if (++filling->size == kBatchRecords) Submit();
  }
  void Submit() {
    if (!filling || filling->size == 0) return;
    std::unique_lock<std::mutex> lock(mu);
    space_ready.wait(lock, [this] { return in_order.size() < max_in_flight; });
    to_shard.push_back(filling.get());
    in_order.push_back(std::move(filling));
    lock.unlock();
    work_ready.notify_one();
  }
  void StopWorkers() {
    if (workers.empty()) return;
    Submit();
    {
      std::lock_guard<std::mutex> lock(mu);
      stopping = true;
    }
    work_ready.notify_all();
    for (auto& w : workers) w.join();
    workers.clear();
  }
  // The workers' sums into their read groups (every RG value a worker saw has its group: the
  // in-order pass made it).
  void MergeShards() {
    for (QcShard& shard : shards) {
      for (auto& [rg, mates] : shard.groups) {
        auto it = group_index.find(rg);
        if (it == group_index.end()) continue;
        for (size_t k = 0; k < 3; ++k) groups[it->second].mates[k].MergeFrom(mates[k]);
      }
      shard.groups.clear();
      shard.last = nullptr;
    }
  }

  ~Impl() { StopWorkers(); }

  size_t GroupFor(const bam1_t* b) {
    const std::string_view name = ReadGroupOf(b);
    if (!groups.empty() && last_rg == name) return last_group;
    last_rg = name;
    auto it = group_index.find(last_rg);
    if (it == group_index.end()) {
      GroupAcc g;
      g.id = last_rg.empty() ? std::string("(no read group)") : last_rg;
      if (header && !last_rg.empty()) {
        kstring_t ks = KS_INITIALIZE;
        if (sam_hdr_find_tag_id(const_cast<sam_hdr_t*>(header), "RG", "ID", last_rg.c_str(), "SM", &ks) == 0)
          g.sample = ks.s;
        ks_free(&ks);
      }
      groups.push_back(std::move(g));
      it = group_index.emplace(last_rg, groups.size() - 1).first;
      if (groups.size() == 2) StartPerGroupMetrics();
    }
    last_group = it->second;
    return last_group;
  }

  void Add(const bam1_t* b) {
    RecordDigest digest;
    ShardAdd(b, shards[0], &digest);
    OrderedAdd(b, digest);
  }
  // A read ShardBatch already decoded and sent through the backend's QC kernel: its codes and
  // qualities in the batch's arrays and its per-base summary (the per-cycle columns are added by
  // ShardBatch).
  struct DeviceRead {
    const uint8_t* codes;
    const uint8_t* quals;
    bool has_quality;
    const uint32_t* summary;
  };
  // `device` null: the record is decoded and QC's own kernel runs here.
  void ShardAdd(const bam1_t* b, QcShard& shard, RecordDigest* digest, const DeviceRead* device = nullptr);
  void ShardBatch(Batch& batch, QcShard& shard);
  // Sequencing-direction codes and qualities of a primary record into shard.codes/quals (len > 0).
  static bool DecodeRead(const bam1_t* b, QcShard& shard);
  void CountMismatches(const bam1_t* b, QcShard& shard, MateAcc& m, size_t len, bool reverse);
  void OrderedAdd(const bam1_t* b, const RecordDigest& digest);
  void AddPlacement(const bam1_t* b, GroupAcc& g, bool reverse);
  void BuildDocument();
};

bool QcCollector::Impl::DecodeRead(const bam1_t* b, QcShard& shard) {
  // Sequencing direction: stored reverse-complemented reads are turned back.
  const size_t len = size_t(b->core.l_qseq);
  std::vector<uint8_t>& codes = shard.codes;
  std::vector<uint8_t>& quals = shard.quals;
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

void QcCollector::Impl::ShardBatch(Batch& batch, QcShard& shard) {
  if (!device) {
    for (size_t i = 0; i < batch.size; ++i) ShardAdd(batch.records[i].get(), shard, &batch.digests[i]);
    return;
  }
  // The per-base accumulation of the whole batch in one device call: the reads decoded once here,
  // their codes and summaries handed to ShardAdd, the per-cycle columns added to each slot's block afterwards
  // (ShardAdd has grown every slot to its reads' cycles by then).
  shard.batch_codes.clear();
  shard.batch_quals.clear();
  shard.batch_offsets.assign(1, 0);
  shard.batch_slots.clear();
  shard.batch_has_quality.clear();
  shard.slot_mates.clear();
  shard.batch_read.assign(batch.size, -1);
  for (size_t i = 0; i < batch.size; ++i) {
    const bam1_t* b = batch.records[i].get();
    const size_t len = size_t(b->core.l_qseq);
    if ((b->core.flag & (BAM_FSECONDARY | BAM_FSUPPLEMENTARY)) || len == 0) continue;
    const uint16_t flag = b->core.flag;
    const Mate mate = (flag & BAM_FPAIRED) ? ((flag & BAM_FREAD2) ? kRead2 : kRead1) : kSingle;
    MateAcc* m = &shard.MatesFor(ReadGroupOf(b))[mate];
    size_t slot = 0;
    while (slot < shard.slot_mates.size() && shard.slot_mates[slot] != m) ++slot;
    if (slot == shard.slot_mates.size()) shard.slot_mates.push_back(m);
    shard.batch_has_quality.push_back(DecodeRead(b, shard));
    shard.batch_codes.insert(shard.batch_codes.end(), shard.codes.begin(), shard.codes.begin() + len);
    shard.batch_quals.insert(shard.batch_quals.end(), shard.quals.begin(), shard.quals.begin() + len);
    shard.batch_offsets.push_back(static_cast<uint32_t>(shard.batch_codes.size()));
    shard.batch_read[i] = static_cast<int64_t>(shard.batch_slots.size());
    shard.batch_slots.push_back(static_cast<uint32_t>(slot));
  }
  const QcBatchInput input{shard.batch_codes.data(), shard.batch_quals.data(), shard.batch_offsets.data(),
                           shard.batch_slots.data(), shard.batch_slots.size(),
                           static_cast<uint32_t>(shard.slot_mates.size())};
  const Status status = input.count ? device->AccumulateQc(input, shard.device_out) : Status::Ok();
  if (!status.ok()) {
    // The figures stay right (QC's own kernel takes the batch); the job fails at Finish().
    {
      std::lock_guard<std::mutex> lock(mu);
      if (device_error.ok()) device_error = status.WithContext("QC");
    }
    for (size_t i = 0; i < batch.size; ++i) ShardAdd(batch.records[i].get(), shard, &batch.digests[i]);
    return;
  }
  for (size_t i = 0; i < batch.size; ++i) {
    const int64_t r = shard.batch_read[i];
    if (r < 0) {
      ShardAdd(batch.records[i].get(), shard, &batch.digests[i]);
      continue;
    }
    const size_t at = shard.batch_offsets[size_t(r)];
    const DeviceRead read{shard.batch_codes.data() + at, shard.batch_quals.data() + at, shard.batch_has_quality[size_t(r)] != 0,
                          shard.device_out.summaries.data() + size_t{CJ_QC_SUMMARY_WORDS} * size_t(r)};
    ShardAdd(batch.records[i].get(), shard, &batch.digests[i], &read);
  }
  for (size_t slot = 0; slot < shard.slot_mates.size(); ++slot) {
    MateAcc& m = *shard.slot_mates[slot];
    const uint32_t* quality = shard.device_out.cycle_quality.data() + slot * CJ_QC_MAX_CYCLES;
    const uint32_t* counts = shard.device_out.cycle_codes.data() + slot * CJ_QC_NUM_CODES * CJ_QC_MAX_CYCLES;
    for (size_t i = 0; i < m.stride; ++i) m.block_quality_sum[i] += quality[i];
    for (size_t c = 0; c < kNumCodes; ++c)
      for (size_t i = 0; i < m.stride; ++i) m.block_code[c * m.stride + i] += counts[c * CJ_QC_MAX_CYCLES + i];
  }
}

void QcCollector::Impl::ShardAdd(const bam1_t* b, QcShard& shard, RecordDigest* digest, const DeviceRead* device) {
  const uint16_t flag = b->core.flag;
  if (flag & (BAM_FSECONDARY | BAM_FSUPPLEMENTARY)) return;  // counted in the in-order pass
  const size_t len = size_t(b->core.l_qseq);
  const Mate mate = (flag & BAM_FPAIRED) ? ((flag & BAM_FREAD2) ? kRead2 : kRead1) : kSingle;
  MateAcc& m = shard.MatesFor(ReadGroupOf(b))[mate];
  ++m.reads;
  m.bases += len;
  if (len >= m.length_hist.size()) m.length_hist.resize(len + 1, 0);
  ++m.length_hist[len];
  m.min_length = std::min<uint64_t>(m.min_length, len);
  m.max_length = std::max<uint64_t>(m.max_length, len);
  const bool reverse = flag & BAM_FREVERSE;

  if (len > 0) {
    const bool has_quality = device ? device->has_quality : DecodeRead(b, shard);
    const uint8_t* codes = device ? device->codes : shard.codes.data();
    const uint8_t* quals = device ? device->quals : shard.quals.data();
    const uint32_t* device_summary = device ? device->summary : nullptr;
    if (!has_quality) ++m.reads_without_quality;
    digest->hash = HashCodes(codes, len, mate);
    const size_t prefix = std::min(len, kOverrepresentedPrefix);
    digest->prefix_hash = prefix == len ? digest->hash : HashCodes(codes, prefix, mate);
    m.Grow(std::min(len, kMaxCycles));
    const size_t cycles = std::min(len, kMaxCycles);
    ReadBaseSummary s;
    if (device_summary) {
      s.q20 = device_summary[0];
      s.q30 = device_summary[1];
      s.quality_sum = device_summary[2];
      for (size_t c = 0; c < kNumCodes; ++c) s.code_count[c] = device_summary[3 + c];
    } else {
      AccumulateReadBases(codes, quals, cycles, m.block_quality_sum.data(),
                          m.block_code.data(), m.stride, &s);
    }
    if (!device_summary && len > cycles) {
      ReadBaseSummary rest;
      AccumulateReadBases(codes + cycles, quals + cycles, len - cycles, nullptr,
                          nullptr, 0, &rest);
      s.q20 += rest.q20; s.q30 += rest.q30; s.quality_sum += rest.quality_sum;
      for (size_t c = 0; c < kNumCodes; ++c) s.code_count[c] += rest.code_count[c];
    }
    if (++m.block_reads == kBlockReads) m.Flush();
    if (has_quality) {
      m.q20 += s.q20;
      m.q30 += s.q30;
      m.quality_sum += s.quality_sum;
      ++m.read_mean_quality_hist[std::min<size_t>(kQualityBins - 1, s.quality_sum / len)];
      uint32_t* hist = m.block_quality_hist.data();
      const size_t stride = m.stride;
      for (size_t i = 0; i < cycles; ++i)
        ++hist[std::min<size_t>(quals[i], kQualityBins - 1) * stride + i];
    }
    for (size_t c = 0; c < kNumCodes; ++c) {
      m.code_total[c] += s.code_count[c];
      m.code_total_as_stored[reverse ? kCodeComplement[c] : c] += s.code_count[c];
    }
    const uint32_t acgt = s.code_count[kCodeA] + s.code_count[kCodeC] + s.code_count[kCodeG] + s.code_count[kCodeT];
    if (acgt > 0) {
      const uint32_t gc = s.code_count[kCodeC] + s.code_count[kCodeG];
      ++m.gc_hist[size_t(std::lround(100.0 * gc / acgt))];
    }

    // Adapters: the first exact occurrence of each adapter's 12 bases (as kernel codes).
    static const std::array<std::array<uint8_t, kAdapterKmer>, 2> adapter_codes = [] {
      std::array<std::array<uint8_t, kAdapterKmer>, 2> k{};
      for (size_t a = 0; a < 2; ++a)
        for (int i = 0; i < kAdapterKmer; ++i) {
          const char ch = kAdapters[a].kmer[i];
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
      ++m.adapter_reads[a];
      ++m.adapter_start[a][std::min(i, m.stride - 1)];
      if (found[0] && found[1]) break;
    }
  }
  if (!(flag & BAM_FUNMAP)) CountMismatches(b, shard, m, len, reverse);
}

// Mismatches per cycle against the reference, over the aligned bases of a placed read.
void QcCollector::Impl::CountMismatches(const bam1_t* b, QcShard& shard, MateAcc& m, size_t len, bool reverse) {
  ++m.placed;
  if (shard.ref_tid != b->core.tid) {
    shard.ref = reference.Get(b->core.tid);
    shard.ref_tid = b->core.tid;
  }
  if (!shard.ref) return;
  const std::vector<uint8_t>& ref_codes = *shard.ref;
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
        if (cycle >= m.stride) continue;  // per-cycle figures stop at kMaxCycles
        ++m.cycle_aligned[cycle];
        ++m.aligned_bases;
        if (differs) {
          ++m.cycle_mismatch[cycle];
          ++m.mismatches;
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
    ++m.identity_hist[size_t(std::lround(1000 * identity))];
    ++m.identity_reads;
    m.identity_sum_ppm += uint64_t(std::llround(1e6 * identity));
  }
}

void QcCollector::Impl::OrderedAdd(const bam1_t* b, const RecordDigest& digest) {
  const uint16_t flag = b->core.flag;
  if (flag & BAM_FSECONDARY) { ++secondary; return; }
  if (flag & BAM_FSUPPLEMENTARY) { ++supplementary; return; }
  const size_t len = size_t(b->core.l_qseq);
  ++total_reads;
  total_bases += len;
  if (flag & BAM_FQCFAIL) ++qc_failed;
  if (flag & BAM_FDUP) { ++duplicates_flagged; duplicate_bases += len; }
  if (!(flag & BAM_FUNMAP)) {
    if (b->core.tid < last_tid || (b->core.tid == last_tid && b->core.pos < last_pos)) sorted = false;
    last_tid = b->core.tid;
    last_pos = b->core.pos;
  }
  const Mate mate = (flag & BAM_FPAIRED) ? ((flag & BAM_FREAD2) ? kRead2 : kRead1) : kSingle;
  const size_t group = GroupFor(b);
  GroupAcc& g = groups[group];
  const bool reverse = flag & BAM_FREVERSE;

  if (len > 0) {
    const uint64_t h = digest.hash, ph = digest.prefix_hash;
    if (per_group) g.overrep.Prefetch(ph);
    uint64_t fragment_hash = h;
    bool fragment_ready = mate == kSingle;
    if (mate != kSingle) {
      // Mates are joined by name; FASTQ names may keep their "/1" and "/2". Straight from FASTQ
      // the mate is the previous record (no table); in position order few mates wait.
      std::string_view name(bam_get_qname(b));
      if (name.size() > 2 && name[name.size() - 2] == '/' && (name.back() == '1' || name.back() == '2'))
        name.remove_suffix(2);
      uint64_t other = 0;
      bool joined = false;
      if (has_previous_mate && previous_mate != mate && previous_mate_name == name) {
        other = previous_mate_hash;
        joined = true;
        has_previous_mate = false;
      } else {
        if (has_previous_mate)
          pending_mates.emplace(previous_mate_name, PendingMate{previous_mate_hash, previous_mate_group});
        auto waiting = pending_mates.find(name);
        if (waiting != pending_mates.end()) {
          other = waiting->second.hash;
          joined = true;
          pending_mates.erase(waiting);
          has_previous_mate = false;
        } else {
          previous_mate_name.assign(name);
          previous_mate_hash = h;
          previous_mate_group = group;
          previous_mate = mate;
          has_previous_mate = true;
        }
      }
      if (joined) {
        const uint64_t r1 = mate == kRead1 ? h : other, r2 = mate == kRead1 ? other : h;
        fragment_hash = Mix(r1 ^ (r2 * 0x9e3779b97f4a7c15ULL));
        fragment_ready = true;
      }
    }
    if (fragment_ready) CountFragment(fragment_hash, group);
    if (uint32_t* count = overrep_counts.Find(ph, overrep_counts.size() < kOverrepresentedCap)) {
      if ((*count)++ == 0) overrep_sequences[ph ? ph : 1] = PrefixText(b, std::min(len, kOverrepresentedPrefix));
      // A read group counts the prefixes the sample's table tracks, so its sequences are there.
      if (per_group) g.overrep.CountGrowing(ph);
    }
  }

  if (flag & BAM_FPAIRED) {
    ++paired;
    if (!(flag & BAM_FUNMAP) && !(flag & BAM_FMUNMAP)) ++mapped_and_paired;
    if ((flag & BAM_FPROPER_PAIR) && !(flag & BAM_FUNMAP) && !(flag & BAM_FMUNMAP)) ++properly_paired;
  }
  if (!(flag & BAM_FUNMAP)) AddPlacement(b, g, reverse);
}

void QcCollector::Impl::AddPlacement(const bam1_t* b, GroupAcc& g, bool reverse) {
  const uint16_t flag = b->core.flag;
  const size_t len = size_t(b->core.l_qseq);
  bases_mapped += len;
  if (b->core.qual == 0) ++mapq0;
  if (const uint8_t* nm = bam_aux_get(b, "NM")) nm_mismatches += uint64_t(std::max<int64_t>(0, bam_aux2i(nm)));
  // Pairs as samtools stats counts them: once, from READ1, both mates placed on one contig.
  if ((flag & BAM_FPAIRED) && !(flag & BAM_FMUNMAP)) {
    if (b->core.mtid != b->core.tid) {
      ++pairs_other_chromosome;
    } else if (flag & BAM_FREAD1) {
      const size_t size = size_t(std::min<int64_t>(std::llabs(b->core.isize), kMaxInsert));
      ++insert_hist[size];
      if (per_group) {
        if (g.insert_hist.empty()) g.insert_hist.assign(kMaxInsert + 1, 0);
        ++g.insert_hist[size];
      }
      const int64_t mate_offset = b->core.mpos - b->core.pos;
      const bool forward = !reverse, mate_forward = !(flag & BAM_FMREVERSE);
      if (forward == mate_forward) ++other_orientation;
      else if (mate_offset > 0) (forward ? inward : outward)++;
      else if (mate_offset < 0) (forward ? outward : inward)++;
      else ++other_orientation;
    }
  }
  const uint32_t* cigar = bam_get_cigar(b);
  int64_t ref_pos = b->core.pos;
  for (uint32_t k = 0; k < b->core.n_cigar; ++k) {
    const int op = bam_cigar_op(cigar[k]);
    const int64_t n = bam_cigar_oplen(cigar[k]);
    if (op == BAM_CMATCH || op == BAM_CEQUAL || op == BAM_CDIFF) {
      bases_mapped_cigar += uint64_t(n);
      coverage.Add(b->core.tid, ref_pos, n);
      if (per_group) g.coverage.Add(b->core.tid, ref_pos, n);
    } else if (op == BAM_CINS) {
      bases_mapped_cigar += uint64_t(n);
    }
    if (bam_cigar_type(op) & 2) ref_pos += n;
  }
}

// ---- The qc.json document ---------------------------------------------------------------------

namespace {

struct MateFigures {
  double q30_percent = NaN();
  double min_lower_quartile = NaN(), min_median = NaN(), max_n_percent = NaN();
};

nlohmann::json MateJson(MateAcc& m, MateFigures* figures) {
  m.Flush();
  using nlohmann::json;
  json j;
  j["reads"] = m.reads;
  j["bases"] = m.bases;
  j["q20_bases"] = m.q20;
  j["q30_bases"] = m.q30;
  j["q20_percent"] = Percent(double(m.q20), double(m.bases));
  j["q30_percent"] = Percent(double(m.q30), double(m.bases));
  j["mean_quality"] = m.bases ? double(m.quality_sum) / double(m.bases) : 0.0;
  j["reads_without_quality"] = m.reads_without_quality;
  const auto& ct = m.code_total;
  const double acgt = double(ct[kCodeA] + ct[kCodeC] + ct[kCodeG] + ct[kCodeT]);
  j["base_counts"] = {{"A", ct[kCodeA]}, {"C", ct[kCodeC]}, {"G", ct[kCodeG]}, {"T", ct[kCodeT]}, {"N", ct[kCodeN]}};
  const auto& cs = m.code_total_as_stored;
  j["base_counts_as_stored"] = {{"A", cs[kCodeA]}, {"C", cs[kCodeC]}, {"G", cs[kCodeG]}, {"T", cs[kCodeT]}, {"N", cs[kCodeN]}};
  j["gc_percent"] = Percent(double(ct[kCodeC] + ct[kCodeG]), acgt);
  j["n_percent"] = Percent(double(ct[kCodeN]), double(m.bases));
  j["min_length"] = m.reads ? m.min_length : 0;
  j["max_length"] = m.max_length;
  j["mean_length"] = m.reads ? double(m.bases) / double(m.reads) : 0.0;
  json lengths = json::array();
  for (size_t l = 0; l < m.length_hist.size(); ++l)
    if (m.length_hist[l]) lengths.push_back({l, m.length_hist[l]});
  j["length_histogram"] = lengths;
  // N50: the length L such that reads of length >= L hold at least half of the bases.
  uint64_t n50 = 0, cumulative = 0;
  for (size_t l = m.length_hist.size(); l-- > 0 && 2 * cumulative < m.bases;) {
    cumulative += uint64_t(l) * m.length_hist[l];
    n50 = l;
  }
  j["n50_length"] = n50;
  j["gc_histogram"] = m.gc_hist;
  // Per read: the arithmetic mean Phred of its bases (FastQC's per-sequence quality), bin = floor.
  j["read_mean_quality_histogram"] = m.read_mean_quality_hist;
  {
    json identity;
    identity["reads"] = m.identity_reads;
    identity["mean_percent"] = JsonNumberOrNull(m.identity_reads ? 1e-4 * double(m.identity_sum_ppm) / double(m.identity_reads) : NaN());
    uint64_t seen = 0;
    double median = NaN();
    json hist = json::array();
    for (size_t i = 0; i < m.identity_hist.size(); ++i) {
      if (m.identity_hist[i]) hist.push_back({i / 10.0, m.identity_hist[i]});
      if (std::isnan(median) && m.identity_reads && 2 * (seen += m.identity_hist[i]) >= m.identity_reads) median = i / 10.0;
    }
    identity["median_percent"] = JsonNumberOrNull(median);
    identity["histogram"] = hist;  // [percent (0.1 steps), reads]
    j["identity"] = identity;
  }

  const size_t cycles = std::min<size_t>(m.max_length, m.stride);
  json mean = json::array(), q1 = json::array(), med = json::array(), q3 = json::array();
  json hist = json::array();
  json pct[kNumCodes];
  for (auto& p : pct) p = json::array();
  json mismatch = json::array(), aligned = json::array();
  json adapter_cum[2] = {json::array(), json::array()};
  uint64_t adapter_running[2] = {0, 0};
  MateFigures f;
  if (m.bases) f.q30_percent = Percent(double(m.q30), double(m.bases));
  for (size_t i = 0; i < cycles; ++i) {
    const uint64_t* h = &m.quality_hist[i * kQualityBins];
    uint64_t total = 0;
    size_t top = 0;
    for (size_t q = 0; q < kQualityBins; ++q) {
      total += h[q];
      if (h[q]) top = q;
    }
    json row = json::array();
    for (size_t q = 0; q <= top; ++q) row.push_back(h[q]);
    hist.push_back(row);
    mean.push_back(total ? double(m.cycle_quality_sum[i]) / double(total) : 0.0);
    const int l = QuantileOfHist(h, total, 0.25), md = QuantileOfHist(h, total, 0.5);
    q1.push_back(l);
    med.push_back(md);
    q3.push_back(QuantileOfHist(h, total, 0.75));
    if (total) {
      if (std::isnan(f.min_lower_quartile) || l < f.min_lower_quartile) f.min_lower_quartile = l;
      if (std::isnan(f.min_median) || md < f.min_median) f.min_median = md;
    }
    uint64_t bases_at = 0;
    for (size_t c = 0; c < kNumCodes; ++c) bases_at += m.cycle_code[c * m.stride + i];
    for (size_t c = 0; c < kNumCodes; ++c) pct[c].push_back(Percent(double(m.cycle_code[c * m.stride + i]), double(bases_at)));
    if (bases_at) {
      const double n_pct = Percent(double(m.cycle_code[kCodeN * m.stride + i]), double(bases_at));
      if (std::isnan(f.max_n_percent) || n_pct > f.max_n_percent) f.max_n_percent = n_pct;
    }
    aligned.push_back(m.cycle_aligned[i]);
    mismatch.push_back(Percent(double(m.cycle_mismatch[i]), double(m.cycle_aligned[i])));
    for (size_t a = 0; a < 2; ++a) {
      adapter_running[a] += m.adapter_start[a][i];
      adapter_cum[a].push_back(Percent(double(adapter_running[a]), double(m.reads)));
    }
  }
  json& pc = j["per_cycle"];
  pc["quality_mean"] = mean;
  pc["quality_lower_quartile"] = q1;
  pc["quality_median"] = med;
  pc["quality_upper_quartile"] = q3;
  pc["quality_histogram"] = hist;
  for (size_t c = 0; c < kNumCodes; ++c) pc["base_percent"][std::string(1, kCodeChar[c])] = pct[c];
  pc["aligned_bases"] = aligned;
  pc["mismatch_percent"] = mismatch;
  for (size_t a = 0; a < 2; ++a) {
    json& ad = j["adapter"][kAdapters[a].key];
    ad["name"] = kAdapters[a].name;
    ad["kmer"] = kAdapters[a].kmer;
    ad["reads"] = m.adapter_reads[a];
    ad["percent"] = Percent(double(m.adapter_reads[a]), double(m.reads));
    ad["cumulative_percent"] = adapter_cum[a];
  }
  j["placed"] = {{"reads", m.placed},
                 {"percent", Percent(double(m.placed), double(m.reads))},
                 {"aligned_bases_compared", m.aligned_bases},
                 {"mismatches", m.mismatches},
                 {"mismatch_percent", Percent(double(m.mismatches), double(m.aligned_bases))}};
  if (figures) *figures = f;
  return j;
}

// FastQC's GC check: how far the per-read GC histogram is from a normal curve with its own mean
// and spread, as a percentage of reads.
double GcDeviationPercent(const std::array<uint64_t, 101>& hist) {
  double n = 0, sum = 0, sum2 = 0;
  for (size_t i = 0; i < hist.size(); ++i) {
    n += double(hist[i]);
    sum += double(hist[i]) * double(i);
    sum2 += double(hist[i]) * double(i) * double(i);
  }
  if (n == 0) return NaN();
  const double mean = sum / n;
  const double sd = std::sqrt(std::max(0.0, sum2 / n - mean * mean));
  if (sd == 0) return 0;
  double deviation = 0, norm = 0;
  std::array<double, 101> expected{};
  for (size_t i = 0; i < hist.size(); ++i) {
    const double z = (double(i) - mean) / sd;
    expected[i] = std::exp(-0.5 * z * z);
    norm += expected[i];
  }
  for (size_t i = 0; i < hist.size(); ++i) deviation += std::fabs(double(hist[i]) - n * expected[i] / norm);
  return 100.0 * deviation / n;
}


// Duplication figures of one sampler (the sample's or a read group's); `percent` gets the rate
// (NaN when no fragment was sampled).
nlohmann::json DuplicationJson(const DupSampler& d, double* percent) {
  using nlohmann::json;
  // Histogram of copy numbers (fastp-like, 1..kDupLevels).
  constexpr size_t kDupLevels = 100;
  std::vector<uint64_t> dup_levels(kDupLevels + 1, 0);
  d.ForEachCount([&](uint32_t count) { ++dup_levels[std::min<size_t>(count, kDupLevels)]; });
  const double dup_percent =
      d.sampled() ? 100.0 * (1.0 - double(d.distinct()) / double(d.sampled())) : NaN();
  if (percent) *percent = dup_percent;
  return {{"sampled_fragments", d.sampled()},
          {"distinct_sampled", d.distinct()},
          {"sampling_fraction", d.sampling_fraction()},
          {"percent", JsonNumberOrNull(dup_percent)},
          {"copy_number_histogram", json(std::vector<uint64_t>(dup_levels.begin() + 1, dup_levels.end()))}};
}

// The most frequent prefixes above 0.1 % of `reads` (at most 20); `top` gets the most frequent
// one's % of reads, listed or not (NaN when none was counted).
nlohmann::json OverrepresentedJson(const FlatCounter& counts,
                                   const std::unordered_map<uint64_t, std::string>& sequences,
                                   uint64_t reads, double* top) {
  using nlohmann::json;
  static const std::string kUnknown;
  struct Over { uint64_t count; const std::string* sequence; };
  // Only prefixes above the limit can be listed: sorting just those keeps Finish() cheap when a
  // table holds 100,000 prefixes (per read group too).
  std::vector<Over> over;
  uint64_t top_count = 0;
  counts.ForEach([&](uint64_t key, uint32_t count) {
    top_count = std::max<uint64_t>(top_count, count);
    if (double(count) * 1000.0 <= double(reads)) return;
    const auto it = sequences.find(key);
    over.push_back({count, it != sequences.end() ? &it->second : &kUnknown});
  });
  std::sort(over.begin(), over.end(), [](const Over& a, const Over& b) {
    return a.count != b.count ? a.count > b.count : *a.sequence < *b.sequence;
  });
  json over_json = json::array();
  for (const Over& o : over) {
    if (over_json.size() >= 20) break;
    over_json.push_back({{"sequence", *o.sequence}, {"count", o.count},
                         {"percent", Percent(double(o.count), double(reads))}});
  }
  if (top) *top = counts.size() == 0 ? NaN() : Percent(double(top_count), double(reads));
  return over_json;
}

// Insert size of pairs from a histogram (empty: no pairs); mean and SD over the smallest sizes
// holding 99% of pairs (samtools stats -m).
nlohmann::json InsertSizeJson(const std::vector<uint64_t>& insert_hist) {
  using nlohmann::json;
  uint64_t pairs = 0;
  json ins_hist = json::array();
  for (size_t i = 0; i < insert_hist.size(); ++i) {
    if (!insert_hist[i]) continue;
    pairs += insert_hist[i];
    ins_hist.push_back({i, insert_hist[i]});
  }
  double isum = 0, isum2 = 0, bulk = 0;
  for (size_t i = 0; i < insert_hist.size() && pairs; ++i) {
    bulk += double(insert_hist[i]);
    isum += double(i) * double(insert_hist[i]);
    isum2 += double(i) * double(i) * double(insert_hist[i]);
    if (bulk / double(pairs) >= 0.99) break;
  }
  const double imean = bulk > 0 ? isum / bulk : 0;
  const double isd = bulk > 0 ? std::sqrt(std::max(0.0, isum2 / bulk - imean * imean)) : 0;
  uint64_t half = 0, imedian = 0, ipeak = 0, ipeak_count = 0;
  for (size_t i = 0; i < insert_hist.size(); ++i) {
    if (insert_hist[i] > ipeak_count) { ipeak_count = insert_hist[i]; ipeak = i; }
    if (!imedian && pairs && (half += insert_hist[i]) * 2 >= pairs) imedian = i;
  }
  return {{"pairs", pairs}, {"mean", imean}, {"sd", isd}, {"median", imedian},
          {"peak", ipeak}, {"histogram", ins_hist}};
}

// Coverage summary from the bins: over the header's contigs, and over those with placed reads.
// `with_track` adds a depth track of at most 500 points (the sample's; read groups leave it out).
nlohmann::json CoverageJson(const CoverageBins& coverage, const sam_hdr_t* header, bool with_track) {
  using nlohmann::json;
  json cov;
  uint64_t ref_length = 0, covered_bases = 0;
  std::array<uint64_t, 5> bins_at{};  // bins with mean depth >= 1, 10, 15, 30, 100
  constexpr int kDepths[5] = {1, 10, 15, 30, 100};
  uint64_t n_bins = 0;
  json depth_track = json::array();
  const int n_targets = header ? sam_hdr_nref(header) : 0;
  for (int tid = 0; tid < n_targets; ++tid) {
    const hts_pos_t tlen = sam_hdr_tid2len(header, tid);
    ref_length += uint64_t(tlen);
    const size_t nb = size_t((tlen + kCoverageBin - 1) / kCoverageBin);
    const size_t held = coverage.bins(tid);
    for (size_t i = 0; i < nb; ++i) {
      const uint64_t v = i < held ? coverage.at(tid, i) : 0;
      covered_bases += v;
      const double width = double(std::min<hts_pos_t>(kCoverageBin, tlen - hts_pos_t(i) * kCoverageBin));
      const double depth = double(v) / width;
      ++n_bins;
      for (size_t d = 0; d < 5; ++d) bins_at[d] += depth >= kDepths[d];
    }
  }
  // A depth track of at most 500 points over the contigs that have placed reads (an exome or
  // a chrM sample on a whole-genome header would otherwise be one spike), and their depths.
  json contigs = json::array();
  uint64_t track_length = 0;
  for (int tid = 0; tid < n_targets && size_t(tid) < coverage.contigs(); ++tid) {
    if (coverage.bins(tid) == 0) continue;
    const hts_pos_t tlen = sam_hdr_tid2len(header, tid);
    track_length += uint64_t(tlen);
    uint64_t aligned = 0;
    for (size_t i = 0; i < coverage.bins(tid); ++i) aligned += coverage.at(tid, i);
    if (contigs.size() < 1000)
      contigs.push_back({{"name", sam_hdr_tid2name(header, tid)}, {"length", tlen},
                         {"aligned_bases", aligned}, {"mean_depth", tlen ? double(aligned) / double(tlen) : 0.0}});
  }
  if (with_track && track_length > 0) {
    // Whole bins per point, so every point is a true mean depth.
    const uint64_t total_bins = (track_length + kCoverageBin - 1) / kCoverageBin;
    const uint64_t step = uint64_t(kCoverageBin) * std::max<uint64_t>(1, (total_bins + 499) / 500);
    std::vector<double> track((track_length + step - 1) / step, 0.0);
    uint64_t offset = 0;
    for (int tid = 0; tid < n_targets && size_t(tid) < coverage.contigs(); ++tid) {
      const size_t nb = coverage.bins(tid);
      if (nb == 0) continue;
      for (size_t i = 0; i < nb; ++i)
        track[std::min<size_t>(track.size() - 1, (offset + i * kCoverageBin) / step)] += double(coverage.at(tid, i));
      offset += uint64_t(sam_hdr_tid2len(header, tid));
    }
    for (size_t i = 0; i < track.size(); ++i) {
      const double width = double(std::min<uint64_t>(step, track_length - i * step));
      depth_track.push_back({i * step, track[i] / width});
    }
  }
  cov["contigs_with_reads"] = contigs;
  cov["mean_depth_contigs_with_reads"] = track_length ? double(covered_bases) / double(track_length) : 0.0;
  cov["reference_length"] = ref_length;
  cov["aligned_bases"] = covered_bases;
  cov["mean_depth"] = ref_length ? double(covered_bases) / double(ref_length) : 0.0;
  cov["bin_size"] = kCoverageBin;
  for (size_t d = 0; d < 5; ++d)
    cov["bins_at_least_percent"][std::to_string(kDepths[d]) + "x"] = Percent(double(bins_at[d]), double(n_bins));
  if (with_track) cov["depth_track"] = depth_track;
  return cov;
}

}  // namespace

void QcCollector::Impl::BuildDocument() {
  using nlohmann::json;
  // Mates whose partner never came count as single fragments.
  if (has_previous_mate) CountFragment(previous_mate_hash, previous_mate_group);
  has_previous_mate = false;
  for (const auto& [name, pending] : pending_mates) CountFragment(pending.hash, pending.group);
  pending_mates.clear();

  // Sample-level accumulators: merge of every read group, mates kept apart, plus "all".
  std::array<MateAcc, 3> sample_mates;
  MateAcc all;
  json groups_json = json::array();
  for (auto& g : groups) {
    json gj;
    gj["id"] = g.id;
    gj["mates"] = json::object();
    if (!g.sample.empty()) gj["sample"] = g.sample;
    for (size_t k = 0; k < 3; ++k) {
      if (g.mates[k].reads == 0) continue;
      gj["mates"][kMateNames[k]] = MateJson(g.mates[k], nullptr);
      sample_mates[k].MergeFrom(g.mates[k]);
    }
    // With one read group its figures are the sample's (counted once, in the sample's tables).
    gj["duplication"] = DuplicationJson(per_group ? g.dup : dup, nullptr);
    gj["overrepresented"] =
        OverrepresentedJson(per_group ? g.overrep : overrep_counts, overrep_sequences, g.reads(), nullptr);
    gj["insert_size"] = InsertSizeJson(per_group ? g.insert_hist : insert_hist);
    gj["coverage"] = CoverageJson(per_group ? g.coverage : coverage, header, false);
    groups_json.push_back(gj);
  }
  json mates_json = json::object();
  MateFigures worst;
  for (size_t k = 0; k < 3; ++k) {
    if (sample_mates[k].reads == 0) continue;
    MateFigures f;
    mates_json[kMateNames[k]] = MateJson(sample_mates[k], &f);
    auto lower = [](double& a, double b) { if (!std::isnan(b) && (std::isnan(a) || b < a)) a = b; };
    auto higher = [](double& a, double b) { if (!std::isnan(b) && (std::isnan(a) || b > a)) a = b; };
    lower(worst.min_lower_quartile, f.min_lower_quartile);
    lower(worst.min_median, f.min_median);
    higher(worst.max_n_percent, f.max_n_percent);
    all.MergeFrom(sample_mates[k]);
  }
  const json all_json = MateJson(all, nullptr);

  double dup_percent = NaN(), top_over = NaN();
  json dup_json = DuplicationJson(dup, &dup_percent);
  dup_json["method"] = "exact match of a fragment's sequence (single read, or both reads of a pair), hash-sampled";
  const json over_json = OverrepresentedJson(overrep_counts, overrep_sequences, total_reads, &top_over);
  const json insert_json = InsertSizeJson(insert_hist);
  const json cov = CoverageJson(coverage, header, true);

  // Metrics with verdicts.
  uint64_t placed_reads = all.placed;
  const bool placement_expected = header_has_contigs;
  std::unordered_map<std::string, double> values = {
      {"q30_percent", all.bases ? Percent(double(all.q30), double(all.bases)) : NaN()},
      {"per_cycle_quality_lower_quartile", worst.min_lower_quartile},
      {"per_cycle_quality_median", worst.min_median},
      {"per_cycle_n_percent", worst.max_n_percent},
      {"gc_deviation_percent", GcDeviationPercent(all.gc_hist)},
      {"adapter_percent", all.reads ? std::max(Percent(double(all.adapter_reads[0]), double(all.reads)),
                                               Percent(double(all.adapter_reads[1]), double(all.reads)))
                                    : NaN()},
      {"duplication_percent", dup_percent},
      {"overrepresented_percent", top_over},
      {"placed_percent", placement_expected && all.reads ? Percent(double(placed_reads), double(all.reads)) : NaN()},
      {"mismatch_percent", all.aligned_bases ? Percent(double(all.mismatches), double(all.aligned_bases)) : NaN()},
  };
  json metrics = json::array();
  overall = QcVerdict::kPass;
  for (const auto& t : thresholds.items) {
    const double v = values.count(t.key) ? values[t.key] : NaN();
    const QcVerdict verdict = JudgeQcValue(t, v);
    if (verdict == QcVerdict::kFail) overall = QcVerdict::kFail;
    else if (verdict == QcVerdict::kWarn && overall == QcVerdict::kPass) overall = QcVerdict::kWarn;
    metrics.push_back({{"key", t.key}, {"description", t.description}, {"value", JsonNumberOrNull(v)},
                       {"warn", t.warn}, {"fail", t.fail}, {"higher_is_better", t.higher_is_better},
                       {"verdict", QcVerdictName(verdict)}});
  }

  // An input with no reads is not a good run, whatever the (empty) metrics say.
  if (total_reads == 0) overall = QcVerdict::kFail;
  doc = json::object();
  doc["schema"] = "cramjet-qc";
  doc["schema_version"] = kQcSchemaVersion;
  doc["cramjet_version"] = Version();
  doc["sample"] = options.sample;
  doc["input"] = options.input_description;
  doc["reference"] = options.reference;
  doc["kernel_target"] = QcKernelTargetName();
  doc["verdict"] = QcVerdictName(overall);
  if (total_reads == 0) doc["verdict_reason"] = "no reads";
  doc["metrics"] = metrics;
  json& s = doc["summary"];
  s["reads"] = total_reads;
  s["bases"] = total_bases;
  s["q20_percent"] = all_json["q20_percent"];
  s["q30_percent"] = all_json["q30_percent"];
  s["gc_percent"] = all_json["gc_percent"];
  s["n_percent"] = all_json["n_percent"];
  s["mean_quality"] = all_json["mean_quality"];
  s["mean_length"] = all_json["mean_length"];
  s["n50_length"] = all_json["n50_length"];
  s["identity_mean_percent"] = all_json["identity"]["mean_percent"];
  s["duplication_percent"] = JsonNumberOrNull(dup_percent);
  s["adapter_percent"] = {{"truseq", all_json["adapter"]["truseq"]["percent"]},
                          {"nextera", all_json["adapter"]["nextera"]["percent"]}};
  s["placed_reads"] = placed_reads;
  s["placed_percent"] = Percent(double(placed_reads), double(total_reads));
  s["mismatch_percent"] = JsonNumberOrNull(values["mismatch_percent"]);
  s["mean_depth"] = cov["mean_depth"];
  s["mean_depth_contigs_with_reads"] = cov["mean_depth_contigs_with_reads"];
  doc["all"] = all_json;
  doc["mates"] = mates_json;
  doc["read_groups"] = groups_json;
  doc["duplication"] = dup_json;
  doc["overrepresented"] = over_json;
  doc["insert_size"] = insert_json;
  doc["coverage"] = cov;
  doc["samtools_stats"] = {
      {"raw_total_sequences", total_reads}, {"filtered_sequences", 0}, {"sequences", total_reads},
      {"is_sorted", sorted ? 1 : 0},
      {"first_fragments", sample_mates[kSingle].reads + sample_mates[kRead1].reads},
      {"last_fragments", sample_mates[kRead2].reads},
      {"reads_mapped", placed_reads}, {"reads_mapped_and_paired", mapped_and_paired},
      {"reads_unmapped", total_reads - placed_reads}, {"reads_properly_paired", properly_paired},
      {"reads_paired", paired}, {"reads_duplicated", duplicates_flagged}, {"reads_mq0", mapq0},
      {"reads_qc_failed", qc_failed}, {"non_primary_alignments", secondary},
      {"supplementary_alignments", supplementary}, {"total_length", total_bases},
      {"total_first_fragment_length", sample_mates[kSingle].bases + sample_mates[kRead1].bases},
      {"total_last_fragment_length", sample_mates[kRead2].bases}, {"bases_mapped", bases_mapped},
      {"bases_mapped_cigar", bases_mapped_cigar}, {"bases_duplicated", duplicate_bases},
      {"mismatches_nm", nm_mismatches}, {"quality_sum", all.quality_sum},
      {"inward_pairs", inward}, {"outward_pairs", outward}, {"other_orientation_pairs", other_orientation},
      {"pairs_on_different_chromosomes", pairs_other_chromosome / 2}};
}

// ---- QcCollector ------------------------------------------------------------------------------

QcCollector::QcCollector(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
QcCollector::~QcCollector() = default;

StatusOr<std::unique_ptr<QcCollector>> QcCollector::Create(const QcOptions& options,
                                                         const sam_hdr_t* header) {
  auto impl = std::make_unique<Impl>();
  CRAMJET_ASSIGN_OR_RETURN(impl->thresholds, LoadQcThresholds(options.config_path));
  if (!options.reference.empty()) CRAMJET_RETURN_IF_ERROR(CheckReadableFile(options.reference));
  impl->options = options;
  impl->header = header;
  impl->header_has_contigs = header && sam_hdr_nref(header) > 0;
  if (impl->options.sample.empty() && header) {
    kstring_t ks = KS_INITIALIZE;
    if (sam_hdr_find_tag_pos(const_cast<sam_hdr_t*>(header), "RG", 0, "SM", &ks) == 0) impl->options.sample = ks.s;
    ks_free(&ks);
  }
  if (impl->options.sample.empty()) impl->options.sample = "sample";
  impl->reference.Configure(impl->options.reference, header);
  // A device backend takes the per-base accumulation of each worker batch (docs/accelerators.md).
  if (options.backend && (options.backend->kind() == AccelKind::kOpenCL || options.backend->kind() == AccelKind::kXrt))
    impl->device = options.backend;
  // Workers run QC beside the caller; on one core the work is done inline.
  if (std::thread::hardware_concurrency() > 1) impl->StartWorkers(std::max(1, options.threads));
  else impl->shards.resize(1);
  return std::unique_ptr<QcCollector>(new QcCollector(std::move(impl)));
}

void QcCollector::Add(const bam1_t* record) {
  if (!impl_->workers.empty()) impl_->Enqueue(record);
  else impl_->Add(record);
}

Status QcCollector::Finish() {
  if (impl_->finished) return FailedPrecondition("QC: Finish() called twice");
  impl_->StopWorkers();
  if (impl_->copy_failed) return Internal("QC: out of memory copying records for the QC workers");
  {
    std::lock_guard<std::mutex> lock(impl_->mu);
    if (!impl_->device_error.ok()) return impl_->device_error;
  }
  impl_->MergeShards();
  impl_->BuildDocument();
  impl_->finished = true;
  return Status::Ok();
}

const nlohmann::json& QcCollector::Document() const { return impl_->doc; }
uint64_t QcCollector::reads() const { return impl_->total_reads; }
uint64_t QcCollector::bases() const { return impl_->total_bases; }
QcVerdict QcCollector::overall_verdict() const { return impl_->overall; }

Status QcCollector::WriteOutputs(const std::string& prefix) {
  if (!impl_->finished) return FailedPrecondition("QC: WriteOutputs() before Finish()");
  const auto paths = QcOutputPaths(prefix);
  const std::string contents[5] = {impl_->doc.dump(1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n", RenderQcHtml(impl_->doc),
                                   RenderSamtoolsStats(impl_->doc), RenderFastpJson(impl_->doc),
                                   RenderMultiqcCustom(impl_->doc)};
  for (size_t i = 0; i < paths.size(); ++i) {
    CRAMJET_RETURN_IF_ERROR(WriteFileAtomically(paths[i], contents[i]));
  }
  return Status::Ok();
}

}  // namespace cramjet
