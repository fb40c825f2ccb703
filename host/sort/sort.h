// host/sort/sort.h — stage 3, sort: records in input order in, records in coordinate order out,
// within a memory budget (docs/sort.md).
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
// Keep-order: with `keep_order`, Add() gives each record the aux tag `oi:I` holding its input
// index (plus `oh:I` with the high 32 bits, only past 2^32 records), so RestoreOriginalOrder()
// can later write the records back in input order with the same external sort. See docs/sort.md
// for what the tag costs per read.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "common/common.h"
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

// The aux tags that keep the original input index.
inline constexpr char kOriginalIndexTag[3] = "oi";      // low 32 bits, type I
inline constexpr char kOriginalIndexHighTag[3] = "oh";  // high 32 bits, only when non-zero

struct SortOptions {
  uint64_t memory_bytes = kDefaultSortMemoryBytes;  // budget for records held in memory
  std::string temp_dir;  // spill folder; the pipeline passes the output's folder; empty: "."
  int threads = 1;       // threads for sorting runs and zstd compression of spills
  bool keep_order = false;  // add the oi (and oh) tags holding each record's input index
  int zstd_level = 1;    // spill compression level (speed matters more than size here)
};

// Parses "8G", "512M", "1.5g", "100000" (bytes) for `--mem`; k/m/g/t are powers of 1024.
[[nodiscard]] StatusOr<uint64_t> ParseMemorySize(const std::string& text);

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

  // Copies batch[0..batch.size) into the sorter (the batch can be reused at once). With
  // keep_order, an existing oi/oh tag on a record is replaced (the batch record is edited).
  [[nodiscard]] Status Add(ReadBatch& batch);
  // No more Add(); sorts what is in memory and prepares the merge.
  [[nodiscard]] Status Finish();
  // Fills `out` with up to `max_records` records in order (out.size = count); 0 at the end.
  [[nodiscard]] StatusOr<size_t> NextBatch(ReadBatch& out, size_t max_records);

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

// Source of records for RestoreOriginalOrder: fills the batch, returns 0 at the end.
using RecordSource = std::function<StatusOr<size_t>(ReadBatch& batch, size_t max_records)>;
// Receives the records in their original order.
using RecordSink = std::function<Status(const bam1_t* record)>;

struct RestoreResult {
  uint64_t records = 0;
  uint64_t peak_memory_bytes = 0;
  int runs_spilled = 0;
};

// Reads every record from `source` (e.g. a CRAM written with keep_order), sorts them by their oi
// (+oh) tag with the same memory-bounded external sort, removes the tags and gives the records
// to `sink` in the original input order. `options.keep_order` is ignored. Errors:
//   BadInput  a record has no oi tag ("... was not written with --keep-order"), naming the
//             record number and QNAME; `source_name` (the CRAM path) starts the message;
//   DataLoss  the indices are not exactly 0..N-1 (a record is missing or duplicated);
//   IoError   from the spill files, naming them; errors of `source`/`sink` are passed through.
[[nodiscard]] StatusOr<RestoreResult> RestoreOriginalOrder(const SortOptions& options,
                                                           const std::string& source_name,
                                                           const RecordSource& source,
                                                           const RecordSink& sink);

// The original index of a record written with keep_order, or -1 when it has no oi tag.
int64_t OriginalIndexOf(const bam1_t* record);

}  // namespace cramjet
