// host/sort/sort.h — stage 3, sort: records in input order in, records in coordinate order out,
// within a memory budget, and the input order kept at (almost) no cost (docs/sort.md).
//
// Order: the order of `samtools sort` by coordinate — reference id (tid) as unsigned, so unmapped
// reads (tid -1) come last, then position — with ties broken by each record's input index (the
// order in which Add() saw it). The input index makes the order total, so the output is the same
// whatever the thread count, the memory budget or where the spill boundaries fall. Unmapped pairs
// stay adjacent when they were adjacent in the input.
//
// Memory: records are copied into a compact arena (bam1_core_t + data, no per-record malloc) and
// counted by their bytes plus a fixed per-record overhead. When the arena reaches the budget it is
// sorted and written as a run to a temporary file in `temp_dir`, compressed with zstd (streaming);
// at the end the runs (and what is still in memory) are merged with a heap. Spill files are
// unlinked as soon as they are created, so they never outlive the process (not even a crash), and
// their names are kept for error messages. More runs than kMaxMergeFanIn are merged in passes.
//
// Input order ("sequencer order", docs/sort.md): an OrderRecorder watches the records in input
// order and finds, per read group, the rule under which the input order follows from what the CRAM
// stores anyway: the numbers at the end of the read names (Illumina lane:tile:x:y, in that order or
// with y before x; an SRA spot number), or the stored (coordinate) order itself. The rule goes into
// the @RG line (`or`, `op`, `oe`); only the records that break it (the exceptions) carry their
// input index as the aux tag `oi:I` (+ `oh:I` past 2^32). RestoreOriginalOrder() undoes it.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/common.h"
#include "cramjet/inputs.h"
#include "cramjet/status.h"

namespace cramjet {

// The `--mem` default: leaves room for a human reference index (~8 GB) and the encoder on a
// 24 GB machine.
inline constexpr uint64_t kDefaultSortMemoryBytes = 8ull << 30;
// Below this the sorter still works but spills very often; Create() raises smaller budgets to it.
inline constexpr uint64_t kMinSortMemoryBytes = 64ull << 10;
// Bytes counted per record on top of bam1_t::l_data: the arena header (72), the index entry
// (24) and slack for the index vector growing.
inline constexpr uint64_t kSortRecordOverheadBytes = 128;
// At most this many runs are merged at once (each open run holds zstd buffers, ~0.5 MB).
inline constexpr int kMaxMergeFanIn = 64;

// The aux tags that keep the original input index of an exception.
inline constexpr char kOriginalIndexTag[3] = "oi";      // low 32 bits, type I
inline constexpr char kOriginalIndexHighTag[3] = "oh";  // high 32 bits, only when non-zero
// The @RG tags that state a read group's order rule.
inline constexpr char kOrderRuleTag[3] = "or";        // OrderRuleName()
inline constexpr char kOrderPrefixesTag[3] = "op";    // name rules: the name prefixes, '@'-separated
inline constexpr char kOrderExceptionsTag[3] = "oe";  // how many of the group's records carry oi

struct SortOptions {
  uint64_t memory_bytes = kDefaultSortMemoryBytes;  // budget for records held in memory
  std::string temp_dir;  // spill folder; the pipeline passes the output's folder; empty: "."
  int threads = 1;       // threads for sorting runs and zstd compression of spills
  int zstd_level = 1;    // spill compression level (speed matters more than size here)
};

// ParseMemorySize() (`--mem`) is declared in cramjet/inputs.h and defined in sort.cc.

// Sorts records by coordinate (see the top of this file).
//
// Use: Create(); Add() every batch in input order; Finish(); then NextBatch() until it returns 0.
// Errors (spill folder missing or unwritable, disk full) name the spill file or folder; after an
// error the sorter must not be used again. Destroying the sorter at any point removes its spills.
// Not thread-safe: one thread calls it (it uses `threads` internally).
class PositionSorter {
 public:
  // Checks that `options.temp_dir` is a writable folder. `header` is only used for the number
  // of references in log messages and may be null.
  [[nodiscard]] static StatusOr<std::unique_ptr<PositionSorter>> Create(const SortOptions& options,
                                                                       const sam_hdr_t* header);
  ~PositionSorter();
  PositionSorter(const PositionSorter&) = delete;
  PositionSorter& operator=(const PositionSorter&) = delete;

  // Copies batch[0..batch.size) into the sorter (the batch can be reused at once).
  [[nodiscard]] Status Add(ReadBatch& batch);
  // No more Add(); sorts what is in memory and prepares the merge.
  [[nodiscard]] Status Finish();
  // Fills `out` with up to `max_records` records in order (out.size = count); 0 at the end.
  // `input_indices`, when given, receives each record's input index (its Add() position).
  [[nodiscard]] StatusOr<size_t> NextBatch(ReadBatch& out, size_t max_records,
                                           std::vector<uint64_t>* input_indices = nullptr);

  // Largest number of bytes the sorter held at once (arena, index, merge buffers).
  uint64_t peak_memory_bytes() const;
  uint64_t records_added() const;
  int runs_spilled() const;                // runs written to disk (0: all in memory)
  uint64_t spilled_bytes() const;          // compressed bytes written to spill files

  class Impl;

 private:
  explicit PositionSorter(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// The sort key of the coordinate order above (tid as unsigned, then pos + 1); ties go by input index.
uint64_t CoordinateSortKey(const bam1_t* record);

// ---- Input order --------------------------------------------------------------------------------

enum class OrderRule {
  kStored,        // the group's non-exceptions are stored in input order
  kNames,         // ... are in the order of the numbers that end their names, as written
  kNamesYx,       // ... the same with the last two numbers swapped (Illumina: y before x)
};
const char* OrderRuleName(OrderRule rule);  // "stored" | "names" | "names-yx"
[[nodiscard]] StatusOr<OrderRule> ParseOrderRule(std::string_view name);

// The up to kMaxNameFields numbers that end a read name, each after one of ':', '_', '.', and
// what comes before them: "A00785:516:HMTN3DSX3:1:1101:9796:1579" -> "A00785:516:HMTN3DSX3:" +
// {1, 1101, 9796, 1579}; "SRR504956.24" -> "SRR504956." + {24}. False when the name ends in no
// such number or a number has more than 18 digits.
inline constexpr int kMaxNameFields = 4;
struct NameFields {
  std::string_view prefix;
  int count = 0;
  uint64_t value[kMaxNameFields] = {};
};
bool SplitNameFields(std::string_view name, NameFields* out);

// A 128-bit sort key, compared as (hi, lo).
struct OrderKey {
  uint64_t hi = 0, lo = 0;
  friend bool operator<(const OrderKey& a, const OrderKey& b) {
    return a.hi != b.hi ? a.hi < b.hi : a.lo < b.lo;
  }
  friend bool operator==(const OrderKey& a, const OrderKey& b) { return a.hi == b.hi && a.lo == b.lo; }
};
// (group, prefix, fields, mate) packed so that keys compare as the tuples do: 16 bits of read-group
// ordinal, 8 of prefix ordinal, 102 of fields (widths by count: 62 | 40+40 | 24+36+36 |
// 12+24+32+32), 2 of mate (the rules take a "/1".."/3" suffix of the name as the mate and read the
// fields before it; else 1 for READ2, 0 for READ1 and single-end). With `swap_last_two` the last
// two fields trade places. False when a value does not fit its width.
bool PackNameKey(uint32_t group, uint32_t prefix, const NameFields& fields, bool swap_last_two,
                 int mate, OrderKey* out);

// One read group's rule as the @RG line states it.
struct GroupOrder {
  std::string id;
  OrderRule rule = OrderRule::kStored;
  std::vector<std::string> prefixes;  // name rules: "<count><prefix>" per prefix ordinal
  uint64_t exceptions = 0;
};

// Watches records in input order (as they go to the sorter, after mapping) and decides, per read
// group, the rule with the fewest exceptions. Memory: a bit per record per candidate rule, in
// 8 KiB chunks that are only allocated where an exception falls (memory_bytes()).
class OrderRecorder {
 public:
  // `header` names the read groups (records without a known RG:Z are always exceptions).
  explicit OrderRecorder(const sam_hdr_t* header);
  ~OrderRecorder();
  OrderRecorder(const OrderRecorder&) = delete;
  OrderRecorder& operator=(const OrderRecorder&) = delete;

  // The next record in input order; its input index is the number of records added before it.
  void Add(const bam1_t* record);
  // No more Add(): decides the last records and chooses each group's rule.
  void Finish();
  // After Finish(): writes `or`, `op`, `oe` into each read group's @RG line of `header`.
  [[nodiscard]] Status WriteRules(sam_hdr_t* header) const;
  // After Finish(): whether the record with this input index must carry oi (+ oh).
  bool IsException(uint64_t input_index) const;

  const std::vector<GroupOrder>& groups() const;  // after Finish(), in @RG order
  uint64_t records() const;
  uint64_t memory_bytes() const;

  class Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

// Appends oi (+ oh) holding `input_index` to the record, replacing any there.
[[nodiscard]] Status AddOriginalIndexTag(bam1_t* record, uint64_t input_index);
// Every read group of `header` gets rule `stored` with no exceptions: for a CRAM stored in input
// order (unaligned FASTQ).
[[nodiscard]] Status WriteStoredOrderRules(sam_hdr_t* header);
// The rules the @RG lines of `header` state; empty when none states one. BadInput when a rule is
// malformed.
[[nodiscard]] StatusOr<std::vector<GroupOrder>> ReadOrderRules(const sam_hdr_t* header);

// Source of records for RestoreOriginalOrder: fills the batch, returns 0 at the end.
using RecordSource = std::function<StatusOr<size_t>(ReadBatch& batch, size_t max_records)>;
// Receives the records in their original order.
using RecordSink = std::function<Status(const bam1_t* record)>;

struct RestoreResult {
  uint64_t records = 0;
  uint64_t exceptions = 0;  // records that carried oi
  uint64_t peak_memory_bytes = 0;
  int runs_spilled = 0;
};

// Reads every record from `source` (a CRAM whose header `header` states order rules, or one
// written by an older cramjet with oi on every record), puts them back into input order with the
// memory-bounded external sort (the exceptions by oi, the rest by their group's rule), removes the
// oi/oh tags and gives the records to `sink` in input order. Errors:
//   BadInput  a record has no oi tag and its read group no rule ("... was not written with
//             --keep-order"), naming the record number and QNAME; `source_name` starts the message;
//   DataLoss  the order does not add up (an exception index repeats or lies past the end; a
//             record the rule cannot place, e.g. a name without the rule's numbers);
//   IoError   from the spill files, naming them; errors of `source`/`sink` are passed through.
[[nodiscard]] StatusOr<RestoreResult> RestoreOriginalOrder(const SortOptions& options,
                                                           const std::string& source_name,
                                                           const sam_hdr_t* header,
                                                           const RecordSource& source,
                                                           const RecordSink& sink);

// Puts mates next to each other (READ1 before READ2), for FASTQ pairs from a CRAM that did not
// keep the input order: an external sort by a hash of the name without a "/1" "/2" suffix, groups
// of equal hash ordered by (that name, READ2 flag, stored order). Same budget and errors as above.
[[nodiscard]] StatusOr<RestoreResult> CollateByName(const SortOptions& options,
                                                    const RecordSource& source,
                                                    const RecordSink& sink);

// The original index of a record that carries oi (+oh), or -1 when it has no oi tag.
int64_t OriginalIndexOf(const bam1_t* record);

}  // namespace cramjet
