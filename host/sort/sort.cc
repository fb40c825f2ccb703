// host/sort/sort.cc — external merge sort of bam1_t records (see sort.h and docs/sort.md).
#include "sort/sort.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zstd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <queue>
#include <thread>
#include <vector>

#include "cramjet/log.h"
#include "sort/order_internal.h"
#include "sort/spill_internal.h"

namespace cramjet {
using namespace sort_internal;  // the stage's own pieces (spill_internal.h)

// ---- PositionSorter::Impl ---------------------------------------------------------------------

class PositionSorter::Impl {
 public:
  // One sort by whatever key the records are added with: Add (coordinate, PositionSorter),
  // AddByOriginalIndex (the oi/oh tags: RestoreOriginalOrder's exceptions) or AddKeyed (order
  // rules, name collation).
  explicit Impl(const SortOptions& options) : options_(options) {
    if (options_.temp_dir.empty()) options_.temp_dir = ".";
    options_.memory_bytes = std::max(options_.memory_bytes, kMinSortMemoryBytes);
    options_.threads = std::max(1, options_.threads);
    // Chunks small against the budget, so the unused tail of the last one stays small.
    chunk_bytes_ = std::clamp<uint64_t>(options_.memory_bytes / 16, 64u << 10, 8u << 20);
  }

  // kCoordinate (PositionSorter).
  Status Add(ReadBatch& batch) {
    for (size_t i = 0; i < batch.size; ++i)
      CRAMJET_RETURN_IF_ERROR(AddKeyed(batch[i], 0, CoordinateSortKey(batch[i])));
    return Status::Ok();
  }

  // kOriginalIndex, for a record that carries oi: its oi (+ oh) is the key, and the tags go.
  // `record` (1-based, in the file) names it when the tags do not hold an index.
  Status AddByOriginalIndex(bam1_t* b, uint64_t record) {
    int64_t low = 0, high = 0;
    const bool valid_low = GetIntTag(b, kOriginalIndexTag, &low) && low >= 0 && low <= 0xffffffffll;
    const bool has_high = GetIntTag(b, kOriginalIndexHighTag, &high);
    if (!valid_low || (has_high && (high < 0 || high > 0xffffffffll)))
      return BadInput("record " + std::to_string(record) + " ('" + bam_get_qname(b) +
                      "') has an invalid oi/oh tag");
    DeleteTag(b, kOriginalIndexTag);
    DeleteTag(b, kOriginalIndexHighTag);
    return AddKeyed(b, 0, static_cast<uint64_t>(high) << 32 | static_cast<uint64_t>(low));
  }

  // Copies one record with the key (major_hi, major); the tie-break is the Add() index.
  Status AddKeyed(const bam1_t* b, uint64_t major_hi, uint64_t major) {
    if (finished_) return Internal("sort: Add() after Finish()");
    if (!error_.ok()) return error_;
    uint64_t index = next_index_++;
    size_t l_data = static_cast<size_t>(b->l_data);
    uint64_t cost = l_data + kSortRecordOverheadBytes;
    if (!entries_.empty() && held_bytes_ + cost > options_.memory_bytes)
      CRAMJET_RETURN_IF_ERROR(Remember(Spill()));
    uint8_t* dst = Allocate(sizeof(RecordHeader) + l_data);
    RecordHeader h{major_hi, major, index, b->core, static_cast<uint32_t>(l_data)};
    std::memcpy(dst, &h, sizeof h);
    std::memcpy(dst + sizeof h, b->data, l_data);
    entries_.push_back({major_hi, major, index, dst});
    held_bytes_ += cost;
    NotePeak();
    return Status::Ok();
  }

  Status Finish() {
    if (finished_) return Internal("sort: Finish() called twice");
    if (!error_.ok()) return error_;
    finished_ = true;
    ParallelSort(entries_, options_.threads);
    // Merge passes until the remaining runs fit one merge.
    while (static_cast<int>(runs_.size()) > kMaxMergeFanIn) {
      CRAMJET_ASSIGN_OR_RETURN(auto file, SpillFile::Create(options_.temp_dir));
      std::vector<Run> merged;
      for (size_t begin = 0; begin < runs_.size(); begin += kMaxMergeFanIn) {
        size_t end = std::min(runs_.size(), begin + static_cast<size_t>(kMaxMergeFanIn));
        if (end - begin == 1) {
          merged.push_back(runs_[begin]);
          continue;
        }
        std::vector<std::unique_ptr<Cursor>> cursors;
        for (size_t r = begin; r < end; ++r) cursors.push_back(std::make_unique<RunCursor>(runs_[r]));
        merge_bytes_ = cursors.size() * RunCursor::MemoryBytes() + RunWriter::MemoryBytes();
        NotePeak();
        Merger merger(std::move(cursors));
        CRAMJET_RETURN_IF_ERROR(Remember(merger.Start()));
        RunWriter writer(file, options_.zstd_level, options_.threads);
        while (!merger.empty()) {
          CRAMJET_RETURN_IF_ERROR(Remember(writer.Write(&merger.top().header(), sizeof(RecordHeader))));
          CRAMJET_RETURN_IF_ERROR(
              Remember(writer.Write(merger.top().data(), merger.top().header().l_data)));
          writer.CountRecord();
          CRAMJET_RETURN_IF_ERROR(Remember(merger.Pop()));
        }
        CRAMJET_ASSIGN_OR_RETURN(Run run, writer.Finish());
        spilled_bytes_ += run.length;
        merged.push_back(std::move(run));
      }
      runs_ = std::move(merged);  // the old file closes with its last run
      ++merge_passes_;
    }
    std::vector<std::unique_ptr<Cursor>> cursors;
    for (const Run& run : runs_) cursors.push_back(std::make_unique<RunCursor>(run));
    merge_bytes_ = runs_.size() * RunCursor::MemoryBytes();
    runs_.clear();
    if (!entries_.empty()) cursors.push_back(std::make_unique<MemoryCursor>(&entries_));
    NotePeak();
    merger_ = std::make_unique<Merger>(std::move(cursors));
    CRAMJET_RETURN_IF_ERROR(Remember(merger_->Start()));
    if (runs_spilled_ > 0) {
      CJ_LOG(kDebug) << "sort: " << next_index_ << " records, " << runs_spilled_ << " runs ("
                     << spilled_bytes_ << " bytes spilled), " << merge_passes_ << " extra merge passes";
    }
    return Status::Ok();
  }

  // `keys`, when given, receives each record's major key (the original index when restoring);
  // `minors` each record's Add() index.
  StatusOr<size_t> NextBatch(ReadBatch& out, size_t max_records, std::vector<uint64_t>* keys = nullptr,
                             std::vector<uint64_t>* minors = nullptr) {
    if (!finished_) return Internal("sort: NextBatch() before Finish()");
    if (!error_.ok()) return error_;
    size_t n = 0;
    if (keys) keys->clear();
    if (minors) minors->clear();
    while (n < max_records && !merger_->empty()) {
      if (out.records.size() <= n) out.records.push_back(NewBam());
      Cursor& c = merger_->top();
      CRAMJET_RETURN_IF_ERROR(Remember(SetRecord(out.records[n].get(), c.header(), c.data())));
      if (keys) keys->push_back(c.header().major);
      if (minors) minors->push_back(c.header().minor);
      ++n;
      CRAMJET_RETURN_IF_ERROR(Remember(merger_->Pop()));
    }
    out.size = n;
    if (merger_->empty()) ReleaseMemory();
    return n;
  }

  uint64_t peak() const { return peak_bytes_; }
  uint64_t records() const { return next_index_; }
  int runs_spilled() const { return runs_spilled_; }
  uint64_t spilled_bytes() const { return spilled_bytes_; }
  const std::string& temp_dir() const { return options_.temp_dir; }

 private:
  Status Remember(Status s) {
    if (!s.ok() && error_.ok()) error_ = s;
    return s;
  }

  uint8_t* Allocate(size_t n) {
    if (chunks_.empty() || chunk_used_ + n > chunk_size_) {
      size_t size = std::max<size_t>(chunk_bytes_, n);
      chunks_.emplace_back(new uint8_t[size]);
      chunk_size_ = size;
      chunk_used_ = 0;
      allocated_bytes_ += size;
    }
    uint8_t* p = chunks_.back().get() + chunk_used_;
    chunk_used_ += n;
    return p;
  }

  void NotePeak() {
    uint64_t now = allocated_bytes_ + entries_.capacity() * sizeof(Entry) + merge_bytes_;
    peak_bytes_ = std::max(peak_bytes_, now);
  }

  void ReleaseMemory() {
    std::vector<Entry>().swap(entries_);
    chunks_.clear();
    allocated_bytes_ = 0;
    held_bytes_ = 0;
  }

  Status Spill() {
    ParallelSort(entries_, options_.threads);
    if (!spill_file_) {
      CRAMJET_ASSIGN_OR_RETURN(spill_file_, SpillFile::Create(options_.temp_dir));
    }
    merge_bytes_ = RunWriter::MemoryBytes();
    NotePeak();
    RunWriter writer(spill_file_, options_.zstd_level, options_.threads);
    for (const Entry& e : entries_) {
      RecordHeader h;
      std::memcpy(&h, e.record, sizeof h);
      CRAMJET_RETURN_IF_ERROR(writer.Write(e.record, sizeof h + h.l_data));
      writer.CountRecord();
    }
    CRAMJET_ASSIGN_OR_RETURN(Run run, writer.Finish());
    spilled_bytes_ += run.length;
    runs_.push_back(std::move(run));
    ++runs_spilled_;
    merge_bytes_ = 0;
    entries_.clear();
    chunks_.clear();
    allocated_bytes_ = 0;
    chunk_size_ = chunk_used_ = 0;
    held_bytes_ = 0;
    return Status::Ok();
  }

  static Status SetRecord(bam1_t* b, const RecordHeader& h, const uint8_t* data) {
    if (b->m_data < h.l_data) {
      uint32_t m = h.l_data;
      kroundup32(m);
      auto* p = static_cast<uint8_t*>(std::realloc(b->data, m));
      if (!p) return Internal("sort: out of memory for a record of " + std::to_string(h.l_data) + " bytes");
      b->data = p;
      b->m_data = m;
    }
    b->core = h.core;
    b->l_data = static_cast<int>(h.l_data);
    std::memcpy(b->data, data, h.l_data);
    return Status::Ok();
  }

  SortOptions options_;
  uint64_t chunk_bytes_;
  std::vector<std::unique_ptr<uint8_t[]>> chunks_;
  size_t chunk_size_ = 0, chunk_used_ = 0;
  uint64_t allocated_bytes_ = 0;
  uint64_t held_bytes_ = 0;  // accounted bytes (record data + overhead) against the budget
  uint64_t merge_bytes_ = 0;
  uint64_t peak_bytes_ = 0;
  std::vector<Entry> entries_;
  uint64_t next_index_ = 0;
  std::shared_ptr<SpillFile> spill_file_;
  std::vector<Run> runs_;
  int runs_spilled_ = 0;
  int merge_passes_ = 0;
  uint64_t spilled_bytes_ = 0;
  bool finished_ = false;
  Status error_;
  std::unique_ptr<Merger> merger_;

  friend class PositionSorter;
};

// ---- Public API -------------------------------------------------------------------------------

namespace {
Status CheckSpillFolder(const std::string& dir) {
  struct stat st;
  if (::stat(dir.c_str(), &st) != 0)
    return IoErrorFromErrno("sort spill folder '" + dir + "'", errno);
  if (!S_ISDIR(st.st_mode)) return IoError("sort spill folder '" + dir + "' is not a folder");
  if (::access(dir.c_str(), W_OK | X_OK) != 0)
    return IoErrorFromErrno("sort spill folder '" + dir + "' is not writable", errno);
  return Status::Ok();
}
}  // namespace

StatusOr<uint64_t> ParseMemorySize(const std::string& text) {
  if (text.empty()) return InvalidArgument("memory size is empty");
  char* end = nullptr;
  errno = 0;
  double value = std::strtod(text.c_str(), &end);
  if (end == text.c_str() || errno != 0 || !(value > 0) || std::isinf(value))
    return InvalidArgument("memory size '" + text + "' is not a positive number");
  std::string unit(end);
  if (!unit.empty() && (unit.back() == 'b' || unit.back() == 'B')) unit.pop_back();
  if (unit.size() == 2 && (unit[1] == 'i' || unit[1] == 'I')) unit.pop_back();
  double scale = 1;
  if (unit.empty()) scale = 1;
  else if (unit == "k" || unit == "K") scale = 1024.0;
  else if (unit == "m" || unit == "M") scale = 1024.0 * 1024;
  else if (unit == "g" || unit == "G") scale = 1024.0 * 1024 * 1024;
  else if (unit == "t" || unit == "T") scale = 1024.0 * 1024 * 1024 * 1024;
  else return InvalidArgument("memory size '" + text + "' has an unknown unit (use K, M, G or T)");
  double bytes = value * scale;
  if (bytes > 1.8e19) return InvalidArgument("memory size '" + text + "' is too large");
  return static_cast<uint64_t>(bytes);
}

uint64_t CoordinateSortKey(const bam1_t* b) {
  uint64_t tid = static_cast<uint32_t>(b->core.tid);
  int64_t pos1 = static_cast<int64_t>(b->core.pos) + 1;
  uint64_t pos = pos1 < 0 ? 0 : std::min<uint64_t>(static_cast<uint64_t>(pos1), 0xffffffffu);
  return tid << 32 | pos;
}

int64_t OriginalIndexOf(const bam1_t* record) {
  int64_t low = 0, high = 0;
  if (!GetIntTag(record, kOriginalIndexTag, &low) || low < 0) return -1;
  if (GetIntTag(record, kOriginalIndexHighTag, &high) && high > 0) low += high << 32;
  return low;
}

PositionSorter::PositionSorter(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
PositionSorter::~PositionSorter() = default;

StatusOr<std::unique_ptr<PositionSorter>> PositionSorter::Create(const SortOptions& options,
                                                                 const sam_hdr_t* header) {
  std::string dir = options.temp_dir.empty() ? "." : options.temp_dir;
  CRAMJET_RETURN_IF_ERROR(CheckSpillFolder(dir));
  (void)header;
  return std::unique_ptr<PositionSorter>(
      new PositionSorter(std::make_unique<Impl>(options)));
}

Status PositionSorter::Add(ReadBatch& batch) { return impl_->Add(batch); }
Status PositionSorter::Finish() { return impl_->Finish(); }
StatusOr<size_t> PositionSorter::NextBatch(ReadBatch& out, size_t max_records,
                                           std::vector<uint64_t>* input_indices) {
  return impl_->NextBatch(out, max_records, nullptr, input_indices);
}
uint64_t PositionSorter::peak_memory_bytes() const { return impl_->peak(); }
uint64_t PositionSorter::records_added() const { return impl_->records(); }
int PositionSorter::runs_spilled() const { return impl_->runs_spilled(); }
uint64_t PositionSorter::spilled_bytes() const { return impl_->spilled_bytes(); }

StatusOr<RestoreResult> RestoreOriginalOrder(const SortOptions& options,
                                             const std::string& source_name,
                                             const sam_hdr_t* header, const RecordSource& source,
                                             const RecordSink& sink) {
  std::string dir = options.temp_dir.empty() ? "." : options.temp_dir;
  CRAMJET_RETURN_IF_ERROR(CheckSpillFolder(dir));
  auto context = [&source_name](Status s) { return s.WithContext("'" + source_name + "'"); };
  auto keyer = OrderRuleKeyer::Create(header);
  if (!keyer.ok()) return context(keyer.status());
  // Two sorts share the budget: the exceptions by their oi index, the rest by their rule's key.
  SortOptions half = options;
  half.memory_bytes = std::max(options.memory_bytes / 2, kMinSortMemoryBytes);
  PositionSorter::Impl exceptions(half);
  PositionSorter::Impl ruled(half);
  constexpr size_t kBatch = 4096;
  ReadBatch batch;
  uint64_t stored = 0;
  while (true) {
    CRAMJET_ASSIGN_OR_RETURN(size_t n, source(batch, kBatch));
    if (n == 0) break;
    for (size_t i = 0; i < n; ++i, ++stored) {
      bam1_t* b = batch[i];
      if (bam_aux_get(b, kOriginalIndexTag)) {
        Status s = exceptions.AddByOriginalIndex(b, stored + 1);
        if (!s.ok()) return context(s);
        continue;
      }
      auto key = keyer->KeyOf(b);
      if (!key.ok())
        return context(Status(key.status().code(), "record " + std::to_string(stored + 1) + " ('" +
                                                        bam_get_qname(b) + "') " + key.status().message()));
      CRAMJET_RETURN_IF_ERROR(ruled.AddKeyed(b, key->hi, key->lo));
    }
  }
  CRAMJET_RETURN_IF_ERROR(exceptions.Finish());
  CRAMJET_RETURN_IF_ERROR(ruled.Finish());
  // Position p of the input is the exception whose index is p, else the next ruled record.
  RestoreResult result;
  ReadBatch exc, rest;
  std::vector<uint64_t> exc_index;
  size_t exc_next = 0, exc_size = 0, rest_next = 0, rest_size = 0;
  uint64_t position = 0;
  while (true) {
    if (exc_next == exc_size) {
      CRAMJET_ASSIGN_OR_RETURN(exc_size, exceptions.NextBatch(exc, kBatch, &exc_index));
      exc_next = 0;
    }
    if (rest_next == rest_size) {
      CRAMJET_ASSIGN_OR_RETURN(rest_size, ruled.NextBatch(rest, kBatch));
      rest_next = 0;
    }
    const bool have_exc = exc_next < exc_size, have_rest = rest_next < rest_size;
    if (!have_exc && !have_rest) break;
    if (have_exc && exc_index[exc_next] < position)
      return DataLoss("'" + source_name + "': original index " + std::to_string(exc_index[exc_next]) +
                      " appears more than once (record '" + bam_get_qname(exc[exc_next]) + "')");
    if (have_exc && exc_index[exc_next] == position) {
      CRAMJET_RETURN_IF_ERROR(sink(exc[exc_next++]));
      ++result.exceptions;
    } else if (have_rest) {
      CRAMJET_RETURN_IF_ERROR(sink(rest[rest_next++]));
    } else {
      return DataLoss("'" + source_name + "': the record with original index " +
                      std::to_string(position) + " is missing");
    }
    ++position;
  }
  result.records = position;
  result.peak_memory_bytes = exceptions.peak() + ruled.peak();
  result.runs_spilled = exceptions.runs_spilled() + ruled.runs_spilled();
  return result;
}

namespace {
// FNV-1a with a final mix: spreads similar names over the key space. Equal hashes of different
// names are harmless (CollateByName orders each group by name).
// Mates are named alike, or "X/1" and "X/2" (FASTQ names kept verbatim): the part they share.
std::string_view MateStem(const bam1_t* b) { return StripMateSuffix(bam_get_qname(b)); }

uint64_t NameHash(std::string_view name) {
  uint64_t h = 1469598103934665603ull;
  for (char c : name) h = (h ^ static_cast<uint8_t>(c)) * 1099511628211ull;
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdull;
  h ^= h >> 33;
  return h;
}
}  // namespace

StatusOr<RestoreResult> CollateByName(const SortOptions& options, const RecordSource& source,
                                      const RecordSink& sink) {
  std::string dir = options.temp_dir.empty() ? "." : options.temp_dir;
  CRAMJET_RETURN_IF_ERROR(CheckSpillFolder(dir));
  PositionSorter::Impl sorter(options);
  constexpr size_t kBatch = 4096;
  ReadBatch batch;
  while (true) {
    CRAMJET_ASSIGN_OR_RETURN(size_t n, source(batch, kBatch));
    if (n == 0) break;
    for (size_t i = 0; i < n; ++i) CRAMJET_RETURN_IF_ERROR(sorter.AddKeyed(batch[i], 0, NameHash(MateStem(batch[i]))));
  }
  CRAMJET_RETURN_IF_ERROR(sorter.Finish());
  RestoreResult result;
  std::vector<BamPtr> group;  // records of one hash, in stored order
  uint64_t group_key = 0;
  auto flush = [&]() -> Status {
    std::stable_sort(group.begin(), group.end(), [](const BamPtr& a, const BamPtr& b) {
      const std::string_view sa = MateStem(a.get()), sb = MateStem(b.get());
      if (sa != sb) return sa < sb;
      return (a->core.flag & BAM_FREAD2) < (b->core.flag & BAM_FREAD2);
    });
    for (const auto& r : group) CRAMJET_RETURN_IF_ERROR(sink(r.get()));
    result.records += group.size();
    group.clear();
    return Status::Ok();
  };
  std::vector<uint64_t> keys;
  while (true) {
    CRAMJET_ASSIGN_OR_RETURN(size_t n, sorter.NextBatch(batch, kBatch, &keys));
    if (n == 0) break;
    for (size_t i = 0; i < n; ++i) {
      if (!group.empty() && keys[i] != group_key) CRAMJET_RETURN_IF_ERROR(flush());
      group_key = keys[i];
      group.emplace_back(bam_dup1(batch[i]));
      if (!group.back()) return Internal("collate: out of memory copying a record");
    }
  }
  CRAMJET_RETURN_IF_ERROR(flush());
  result.peak_memory_bytes = sorter.peak();
  result.runs_spilled = sorter.runs_spilled();
  return result;
}

}  // namespace cramjet
