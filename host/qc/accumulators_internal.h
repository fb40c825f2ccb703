// host/qc/accumulators_internal.h — internal to host/qc: QC's accumulators (the sums the
// collector adds every record to, accumulators.cc) and the typed figures each one ends in
// (figures.cc). Nothing outside host/qc includes this; the stage's contract is qc/qc.h.
//
// Two kinds, by what their result depends on (docs/qc.md, "Cost"):
// - exact integer sums that add up in any order (MateAcc): each collector worker keeps its own,
//   merged at the end;
// - state that depends on the order of the records (FlatCounter and DupSampler caps, MateJoiner,
//   OverrepresentedCounter, CoverageBins, SamtoolsCounters): fed by the in-order pass only.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <htslib/faidx.h>
#include <htslib/sam.h>

#include "qc/qc.h"

namespace cramjet::qc_internal {

inline constexpr size_t kQualityBins = kQcQualityBins;  // Phred 0..93
inline constexpr size_t kMaxCycles = 2000;              // per-cycle metrics stop here (long reads)
inline constexpr uint32_t kBlockReads = 1u << 24;       // 32-bit per-cycle blocks are flushed before overflow
inline constexpr size_t kDuplicationSampleCap = 1u << 18;  // distinct fragments kept (6 MB: stays in cache)
inline constexpr size_t kOverrepresentedCap = 100000;      // distinct prefixes tracked (FastQC's limit)
inline constexpr size_t kOverrepresentedPrefix = 50;
inline constexpr int kCoverageBin = 1000;  // reference bases per coverage bin
inline constexpr int kAdapterKmer = 12;
inline constexpr int kMaxInsert = 8000;  // insert sizes above go into the last bin (samtools -i)
inline constexpr size_t kGroupTableSlots = 1024;  // a read group's hash tables start here (12 kB) and double

// ---- Records --------------------------------------------------------------------------------

// The read group a record counts in: its RG:Z value, or "" without one.
std::string_view ReadGroupOf(const bam1_t* b);
// Single, R1 or R2, from the flags.
inline QcMate MateOf(uint16_t flag) {
  return (flag & BAM_FPAIRED) ? ((flag & BAM_FREAD2) ? kQcRead2 : kQcRead1) : kQcSingle;
}
// The first `prefix` bases of a read in sequencing direction, as text.
std::string PrefixText(const bam1_t* b, size_t prefix);
// Sequencing-direction codes (kCodeA..kCodeN) and qualities of a record into codes/quals (grown
// as needed; qualities 0 when the record has none). True when the record has qualities.
bool DecodeRead(const bam1_t* b, std::vector<uint8_t>& codes, std::vector<uint8_t>& quals);

// ---- Hashes ---------------------------------------------------------------------------------

uint64_t Mix(uint64_t x);
// One multiply and a rotate per 8 bases, a full mix at the end: cheap, and 64 bits keep
// collisions negligible for counting sequences.
uint64_t HashCodes(const uint8_t* codes, size_t n, uint64_t seed);

// ---- Order-independent sums -----------------------------------------------------------------

// Per-cycle and per-read accumulators of one read group and one mate (single, R1 or R2).
// Adds `reads` reads with `gc` G/C of `acgt` A/C/G/T bases to a GC-percentage histogram, spread
// by FastQC's model (accumulators.cc).
void AddGcCount(std::array<double, 101>& hist, uint32_t gc, uint32_t acgt, uint64_t reads = 1);

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
  // Per-read GC, kept exactly (integers: merging is order-free, so every worker count gives the
  // same document): reads by G/C count for each A/C/G/T length up to kGcModelMaxLength, and by
  // nearest percentage above it (10+ counts per 1 % bin: nothing aliases there). GcHistogram()
  // spreads them as FastQC does, so the shape does not depend on read length: a 150-base read's
  // counts fall 0.67 % apart and, counted in the nearest bin, leave a zig-zag of 2, 1, 2, 1.
  static constexpr uint32_t kGcModelMaxLength = 1000;
  std::vector<std::vector<uint64_t>> gc_by_length;  // [n][c]: reads with c G/C of n A/C/G/T
  std::array<uint64_t, 101> gc_long{};
  void AddGc(uint32_t gc, uint32_t acgt);
  std::array<double, 101> GcHistogram() const;
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

  // One read of `length` bases (0 included): the read and length counts.
  void AddLength(size_t length);
  // The bases of a read (length > 0) in sequencing direction: per-cycle sums (up to kMaxCycles),
  // qualities, base counts (`reverse`: stored reverse-complemented, for the as-stored counts), GC
  // and adapters. `device_summary` (CJ_QC_SUMMARY_WORDS words from a device backend's QC kernel):
  // the read's summary is taken from it and the per-cycle quality sums and base counts are left to
  // the caller (AddDeviceColumns); null: QC's own kernel does both here.
  void AddBases(const uint8_t* codes, const uint8_t* quals, size_t length, bool has_quality, bool reverse,
                const uint32_t* device_summary);
  // A device kernel's per-cycle columns for this accumulator's reads (CJ_QC_MAX_CYCLES apart).
  void AddDeviceColumns(const uint32_t* cycle_quality, const uint32_t* cycle_codes);
  // A placed primary read: counted as placed, and its aligned bases compared with `ref` (its
  // contig in BAM's 4-bit codes; null: none to compare with) for mismatches per cycle and its
  // identity. `length` is its SEQ length, `reverse` its strand.
  void AddAlignment(const bam1_t* b, const std::vector<uint8_t>* ref, size_t length, bool reverse);

  void Flush();               // the 32-bit blocks into the 64-bit sums
  void Grow(size_t cycles);   // room for `cycles` (at most kMaxCycles)
  void MergeFrom(MateAcc& o); // adds `o` (both flushed)
};

// ---- Order-dependent state ------------------------------------------------------------------

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
  void Add(uint64_t h);
  // The same state in the fewest slots (at least `min_slots`).
  DupSampler Compacted(size_t min_slots) const { return DupSampler(*this, counts_.Compacted(min_slots)); }
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
  // `length` reference bases from `start` on contig `tid` (tid < 0: nothing).
  void Add(int tid, int64_t start, int64_t length);
  // The aligned blocks (CIGAR M, =, X) of a placed record.
  void AddRecord(const bam1_t* b);
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
    void Resize(size_t n);
    void Add(size_t i, uint64_t n);  // n <= kCoverageBin
  };
  std::vector<Contig> contigs_;
};

// Joins the two reads of a pair into one fragment for duplication, by name (a FASTQ name's "/1"
// and "/2" left out). Straight from FASTQ the mate is the previous record (no table); in position
// order few mates wait.
class MateJoiner {
 public:
  // A paired read (`mate` R1 or R2) with its sequence hash, counted in read group `group`. True
  // when its mate came before: `fragment` then gets the pair's hash. Otherwise it waits.
  bool Join(std::string_view name, QcMate mate, uint64_t hash, size_t group, uint64_t* fragment);
  // Calls f(hash, group) for every read still waiting (its mate never came), then forgets them.
  template <typename F>
  void DrainUnjoined(F&& f) {
    if (has_previous_) f(previous_hash_, previous_group_);
    has_previous_ = false;
    for (const auto& [name, pending] : pending_) f(pending.hash, pending.group);
    pending_.clear();
  }

 private:
  struct StringHash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  struct Pending {
    uint64_t hash;
    size_t group;
  };
  std::unordered_map<std::string, Pending, StringHash, std::equal_to<>> pending_;
  std::string previous_name_;  // the last unjoined mate, kept out of the table
  uint64_t previous_hash_ = 0;
  size_t previous_group_ = 0;
  QcMate previous_mate_ = kQcSingle;
  bool has_previous_ = false;
};

// Overrepresented prefixes: the first kOverrepresentedCap distinct ones are counted to the end,
// with their text.
class OverrepresentedCounter {
 public:
  // Counts the prefix (hash `prefix_hash`, its first `prefix` bases are kept as text the first
  // time). False when it is not tracked (the table is full and it is not in it).
  bool Count(uint64_t prefix_hash, const bam1_t* b, size_t prefix);
  void Prefetch(uint64_t prefix_hash) const { counts_.Prefetch(prefix_hash); }
  const FlatCounter& counts() const { return counts_; }
  const std::unordered_map<uint64_t, std::string>& sequences() const { return sequences_; }

 private:
  FlatCounter counts_ = FlatCounter(1u << 18);  // 100,000 of 262,144 slots at most (3 MB)
  std::unordered_map<uint64_t, std::string> sequences_;
};

// The counters of `samtools stats` (sample level), as samtools counts them.
struct SamtoolsCounters {
  uint64_t reads = 0, bases = 0;  // primary records and their bases
  uint64_t secondary = 0, supplementary = 0, qc_failed = 0, duplicates_flagged = 0;
  uint64_t duplicate_bases = 0, mapq0 = 0, nm_mismatches = 0, bases_mapped = 0;
  uint64_t bases_mapped_cigar = 0, paired = 0, mapped_and_paired = 0, properly_paired = 0;
  uint64_t pairs_other_chromosome = 0, inward = 0, outward = 0, other_orientation = 0;
  bool sorted = true;
  int last_tid = -1;
  int64_t last_pos = -1;
  // Counts a record (in output order: sortedness). False for secondary and supplementary
  // records, which are only counted as such.
  bool AddRecord(const bam1_t* b);
};
// The insert-size bin (0..kMaxInsert) of a placed record samtools counts its pair from (READ1,
// both mates placed on one contig), or -1.
int InsertSizeBin(const bam1_t* b);

// ---- The reference --------------------------------------------------------------------------

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
  ~ReferenceCodes();
  void Configure(const std::string& path, const sam_hdr_t* header) {
    path_ = path;
    header_ = header;
  }
  // Contig `tid`, or null when there is no reference, it lacks the contig or cannot be read
  // (warned once).
  Contig Get(int tid);

 private:
  Contig Load(int tid);

  std::mutex mu_;
  std::string path_;
  const sam_hdr_t* header_ = nullptr;
  faidx_t* fai_ = nullptr;
  bool failed_ = false;
  bool missing_warned_ = false;
  std::array<std::pair<int, Contig>, 2> recent_{{{-2, nullptr}, {-2, nullptr}}};
  size_t next_ = 0;
};

// ---- One read group -------------------------------------------------------------------------

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

// ---- Figures of the accumulators (figures.cc) -----------------------------------------------

double Percent(double part, double whole);  // 0 when `whole` is 0

// The worst per-cycle figures of a mate, for the verdicts (NaN: no base).
struct MateFigures {
  static constexpr double kNone = std::numeric_limits<double>::quiet_NaN();
  double q30_percent = kNone, min_lower_quartile = kNone, min_median = kNone, max_n_percent = kNone;
};
// A mate's figures (flushes it first); `figures` (may be null) gets its worst per-cycle ones.
QcMateMetrics MateMetrics(MateAcc& m, MateFigures* figures);
QcDuplication DuplicationMetrics(const DupSampler& d);
// The most frequent prefixes above 0.1 % of `reads` (at most 20); `top` (may be null) gets the
// most frequent one's % of reads, listed or not (NaN when none was counted).
std::vector<QcOverrepresented> OverrepresentedMetrics(const FlatCounter& counts,
                                                      const std::unordered_map<uint64_t, std::string>& sequences,
                                                      uint64_t reads, double* top);
// Insert size of pairs from a histogram (empty: no pairs); mean and SD over the smallest sizes
// holding 99% of pairs (samtools stats -m).
QcInsertSize InsertSizeMetrics(const std::vector<uint64_t>& insert_hist);
// Coverage summary from the bins: over the header's contigs, and over those with placed reads.
// `with_track` adds a depth track of at most 500 points (the sample's; read groups leave it out).
QcCoverage CoverageMetrics(const CoverageBins& coverage, const sam_hdr_t* header, bool with_track);
// FastQC's GC check: how far the per-read GC histogram is from a normal curve with its own mean
// and spread, as a percentage of reads (NaN: no read).
double GcDeviationPercent(const std::array<double, 101>& hist);

}  // namespace cramjet::qc_internal
