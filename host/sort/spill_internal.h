// host/sort/spill_internal.h — internal to the sort stage: the pieces of the external merge sort
// below PositionSorter (sort.cc): the record entry and its key order, the zstd-compressed spill
// files and their writer, the merge cursors over memory and spilled runs, and the parallel
// in-memory sort. Kept out of sort.cc so that the sorter's own logic reads on its own.
#pragma once

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zstd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <memory>
#include <queue>
#include <string>
#include <thread>
#include <vector>

#include "common/common.h"
#include "cramjet/status.h"

namespace cramjet::sort_internal {

// What the arena and the spill files hold before each record's data bytes. Records are copied
// with memcpy, so the layout needs no alignment.
struct RecordHeader {
  uint64_t major_hi;  // high half of the key (order rules); 0 for the coordinate order
  uint64_t major;     // coordinate key, the original index, or the low half of a rule's key
  uint64_t minor;     // Add() index: makes the order total
  bam1_core_t core;
  uint32_t l_data;
};

struct Entry {
  uint64_t major_hi;
  uint64_t major;
  uint64_t minor;
  const uint8_t* record;  // RecordHeader then data, in the arena
};

inline bool KeyLess(uint64_t ah, uint64_t am, uint64_t an, uint64_t bh, uint64_t bm, uint64_t bn) {
  if (ah != bh) return ah < bh;
  return am != bm ? am < bm : an < bn;
}
inline bool EntryLess(const Entry& a, const Entry& b) {
  return KeyLess(a.major_hi, a.major, a.minor, b.major_hi, b.major, b.minor);
}

static_assert(sizeof(RecordHeader) + sizeof(Entry) <= kSortRecordOverheadBytes,
              "kSortRecordOverheadBytes must cover the arena header and the index entry");

// samtools sort's coordinate order: tid as unsigned (unmapped -1 last), then pos+1 (so pos -1
// sorts before 0).
// Reads an integer aux tag of any integer type; false when absent or not an integer.
inline bool GetIntTag(const bam1_t* b, const char* tag, int64_t* value) {
  const uint8_t* p = bam_aux_get(b, tag);
  if (!p) return false;
  switch (p[0]) {
    case 'c': case 'C': case 's': case 'S': case 'i': case 'I':
      *value = bam_aux2i(p);
      return true;
    default:
      return false;
  }
}

inline void DeleteTag(bam1_t* b, const char* tag) {
  uint8_t* p = bam_aux_get(b, tag);
  if (p) (void)bam_aux_del(b, p);
}

// ---- Spill files ------------------------------------------------------------------------------

// One temporary file holding one or more runs back to back. It is unlinked right after creation:
// the open descriptor keeps it readable, and the disk space returns when the last run closes,
// whatever way the process ends. The path is kept for error messages.
class SpillFile {
 public:
  static StatusOr<std::shared_ptr<SpillFile>> Create(const std::string& dir) {
    std::string templ = (dir.empty() ? std::string(".") : dir) + "/.cramjet-sort." +
                        std::to_string(::getpid()) + ".XXXXXX";
    std::vector<char> buf(templ.begin(), templ.end());
    buf.push_back('\0');
    int fd = ::mkstemp(buf.data());
    if (fd < 0)
      return IoErrorFromErrno("cannot create a sort spill file in folder '" + dir + "'", errno);
    std::string path(buf.data());
    ::unlink(path.c_str());
    return std::shared_ptr<SpillFile>(new SpillFile(fd, std::move(path)));
  }
  ~SpillFile() {
    if (fd_ >= 0) ::close(fd_);
  }
  int fd() const { return fd_; }
  const std::string& path() const { return path_; }
  uint64_t size() const { return size_; }

  Status Append(const uint8_t* data, size_t n) {
    while (n > 0) {
      ssize_t w = ::pwrite(fd_, data, n, static_cast<off_t>(size_));
      if (w < 0) {
        if (errno == EINTR) continue;
        return IoErrorFromErrno("writing sort spill file '" + path_ + "'", errno);
      }
      if (w == 0) return IoError("writing sort spill file '" + path_ + "': no progress");
      data += w;
      n -= static_cast<size_t>(w);
      size_ += static_cast<uint64_t>(w);
    }
    return Status::Ok();
  }

  // Reads up to n bytes at offset; returns the count (0 at end of file).
  StatusOr<size_t> ReadAt(uint64_t offset, uint8_t* data, size_t n) const {
    while (true) {
      ssize_t r = ::pread(fd_, data, n, static_cast<off_t>(offset));
      if (r < 0) {
        if (errno == EINTR) continue;
        return IoErrorFromErrno("reading sort spill file '" + path_ + "'", errno);
      }
      return static_cast<size_t>(r);
    }
  }

 private:
  SpillFile(int fd, std::string path) : fd_(fd), path_(std::move(path)) {}
  int fd_;
  std::string path_;
  uint64_t size_ = 0;
};

struct Run {
  std::shared_ptr<SpillFile> file;
  uint64_t offset = 0;
  uint64_t length = 0;
  uint64_t records = 0;
};

// Streams records into one zstd frame appended to a spill file.
class RunWriter {
 public:
  RunWriter(std::shared_ptr<SpillFile> file, int level, int threads) : file_(std::move(file)) {
    cctx_ = ZSTD_createCCtx();
    ZSTD_CCtx_setParameter(cctx_, ZSTD_c_compressionLevel, level);
    // Bounds the window, hence what each open run costs when merging.
    ZSTD_CCtx_setParameter(cctx_, ZSTD_c_windowLog, 19);
    if (threads > 1) ZSTD_CCtx_setParameter(cctx_, ZSTD_c_nbWorkers, threads - 1);  // may fail: fine
    in_.reserve(kInBytes);
    out_.resize(ZSTD_CStreamOutSize());
    run_.file = file_;
    run_.offset = file_->size();
  }
  ~RunWriter() { ZSTD_freeCCtx(cctx_); }

  Status Write(const void* data, size_t n) {
    const auto* p = static_cast<const uint8_t*>(data);
    while (n > 0) {
      size_t take = std::min(n, kInBytes - in_.size());
      in_.insert(in_.end(), p, p + take);
      p += take;
      n -= take;
      if (in_.size() == kInBytes) CRAMJET_RETURN_IF_ERROR(Compress(ZSTD_e_continue));
    }
    return Status::Ok();
  }
  void CountRecord() { ++run_.records; }

  StatusOr<Run> Finish() {
    CRAMJET_RETURN_IF_ERROR(Compress(ZSTD_e_end));
    run_.length = file_->size() - run_.offset;
    return run_;
  }
  static uint64_t MemoryBytes() { return kInBytes + ZSTD_CStreamOutSize() + (3u << 20); }

 private:
  static constexpr size_t kInBytes = 1 << 20;

  Status Compress(ZSTD_EndDirective mode) {
    ZSTD_inBuffer input{in_.data(), in_.size(), 0};
    while (true) {
      ZSTD_outBuffer output{out_.data(), out_.size(), 0};
      size_t left = ZSTD_compressStream2(cctx_, &output, &input, mode);
      if (ZSTD_isError(left))
        return Internal("zstd compression of sort spill file '" + file_->path() +
                        "' failed: " + ZSTD_getErrorName(left));
      CRAMJET_RETURN_IF_ERROR(file_->Append(out_.data(), output.pos));
      bool done = mode == ZSTD_e_end ? left == 0 : input.pos == input.size;
      if (done) break;
    }
    in_.clear();
    return Status::Ok();
  }

  std::shared_ptr<SpillFile> file_;
  ZSTD_CCtx* cctx_ = nullptr;
  std::vector<uint8_t> in_;
  std::vector<uint8_t> out_;
  Run run_;
};

// ---- Merge cursors ----------------------------------------------------------------------------

class Cursor {
 public:
  virtual ~Cursor() = default;
  // Loads the next record into header()/data(); false at the end.
  virtual StatusOr<bool> Advance() = 0;
  const RecordHeader& header() const { return header_; }
  virtual const uint8_t* data() const = 0;

 protected:
  RecordHeader header_{};
};

class MemoryCursor : public Cursor {
 public:
  explicit MemoryCursor(const std::vector<Entry>* entries) : entries_(entries) {}
  StatusOr<bool> Advance() override {
    if (next_ == entries_->size()) return false;
    current_ = (*entries_)[next_++].record;
    std::memcpy(&header_, current_, sizeof header_);
    return true;
  }
  const uint8_t* data() const override { return current_ + sizeof(RecordHeader); }

 private:
  const std::vector<Entry>* entries_;
  size_t next_ = 0;
  const uint8_t* current_ = nullptr;
};

class RunCursor : public Cursor {
 public:
  explicit RunCursor(Run run) : run_(std::move(run)) {
    dctx_ = ZSTD_createDCtx();
    ZSTD_DCtx_setParameter(dctx_, ZSTD_d_windowLogMax, 19);
    in_.resize(ZSTD_DStreamInSize());
    out_.resize(ZSTD_DStreamOutSize());
  }
  ~RunCursor() override { ZSTD_freeDCtx(dctx_); }
  static uint64_t MemoryBytes() {
    return ZSTD_DStreamInSize() + ZSTD_DStreamOutSize() + (1u << 19) + (64u << 10);
  }

  StatusOr<bool> Advance() override {
    if (returned_ == run_.records) return false;
    CRAMJET_RETURN_IF_ERROR(ReadExact(reinterpret_cast<uint8_t*>(&header_), sizeof header_));
    if (data_.size() < header_.l_data) data_.resize(header_.l_data);
    CRAMJET_RETURN_IF_ERROR(ReadExact(data_.data(), header_.l_data));
    ++returned_;
    return true;
  }
  const uint8_t* data() const override { return data_.data(); }

 private:
  Status ReadExact(uint8_t* dst, size_t n) {
    while (n > 0) {
      if (out_pos_ == out_end_) CRAMJET_RETURN_IF_ERROR(Refill());
      size_t take = std::min(n, out_end_ - out_pos_);
      std::memcpy(dst, out_.data() + out_pos_, take);
      out_pos_ += take;
      dst += take;
      n -= take;
    }
    return Status::Ok();
  }

  Status Refill() {
    while (true) {
      if (in_pos_ == in_end_) {
        uint64_t left = run_.length - consumed_;
        if (left == 0)
          return DataLoss("sort spill file '" + run_.file->path() + "' ended early");
        size_t want = static_cast<size_t>(std::min<uint64_t>(left, in_.size()));
        CRAMJET_ASSIGN_OR_RETURN(size_t got,
                                 run_.file->ReadAt(run_.offset + consumed_, in_.data(), want));
        if (got == 0) return DataLoss("sort spill file '" + run_.file->path() + "' is truncated");
        consumed_ += got;
        in_pos_ = 0;
        in_end_ = got;
      }
      ZSTD_inBuffer input{in_.data(), in_end_, in_pos_};
      ZSTD_outBuffer output{out_.data(), out_.size(), 0};
      size_t rc = ZSTD_decompressStream(dctx_, &output, &input);
      if (ZSTD_isError(rc))
        return DataLoss("sort spill file '" + run_.file->path() + "' is corrupt: " +
                        ZSTD_getErrorName(rc));
      in_pos_ = input.pos;
      if (output.pos > 0) {
        out_pos_ = 0;
        out_end_ = output.pos;
        return Status::Ok();
      }
    }
  }

  Run run_;
  ZSTD_DCtx* dctx_ = nullptr;
  std::vector<uint8_t> in_, out_, data_;
  size_t in_pos_ = 0, in_end_ = 0, out_pos_ = 0, out_end_ = 0;
  uint64_t consumed_ = 0;
  uint64_t returned_ = 0;
};

// Heap merge of cursors by (major, minor).
class Merger {
 public:
  explicit Merger(std::vector<std::unique_ptr<Cursor>> cursors) : cursors_(std::move(cursors)) {}

  Status Start() {
    for (size_t i = 0; i < cursors_.size(); ++i) {
      CRAMJET_ASSIGN_OR_RETURN(bool has, cursors_[i]->Advance());
      if (has) heap_.push(Key(i));
    }
    return Status::Ok();
  }
  bool empty() const { return heap_.empty(); }
  Cursor& top() { return *cursors_[heap_.top().index]; }
  Status Pop() {
    size_t i = heap_.top().index;
    heap_.pop();
    CRAMJET_ASSIGN_OR_RETURN(bool has, cursors_[i]->Advance());
    if (has) heap_.push(Key(i));
    return Status::Ok();
  }

 private:
  struct HeapItem {
    uint64_t major_hi, major, minor;
    size_t index;
    bool operator<(const HeapItem& o) const {  // priority_queue is a max-heap: invert
      return KeyLess(o.major_hi, o.major, o.minor, major_hi, major, minor);
    }
  };
  HeapItem Key(size_t i) const {
    const RecordHeader& h = cursors_[i]->header();
    return {h.major_hi, h.major, h.minor, i};
  }
  std::vector<std::unique_ptr<Cursor>> cursors_;
  std::priority_queue<HeapItem> heap_;
};

// Sorts entries with `threads` threads: parts sorted in parallel, then merged pairwise. The order
// is total, so the result does not depend on the split.
inline void ParallelSort(std::vector<Entry>& entries, int threads) {
  size_t n = entries.size();
  size_t parts = static_cast<size_t>(std::max(1, threads));
  if (parts == 1 || n < 65536) {
    std::sort(entries.begin(), entries.end(), EntryLess);
    return;
  }
  std::vector<size_t> bounds;
  for (size_t i = 0; i <= parts; ++i) bounds.push_back(n * i / parts);
  {
    std::vector<std::thread> pool;
    for (size_t i = 0; i < parts; ++i)
      pool.emplace_back([&, i] {
        std::sort(entries.begin() + bounds[i], entries.begin() + bounds[i + 1], EntryLess);
      });
    for (auto& t : pool) t.join();
  }
  while (bounds.size() > 2) {
    std::vector<size_t> next{bounds[0]};
    std::vector<std::thread> pool;
    for (size_t i = 0; i + 2 < bounds.size(); i += 2) {
      size_t a = bounds[i], m = bounds[i + 1], b = bounds[i + 2];
      pool.emplace_back([&entries, a, m, b] {
        std::inplace_merge(entries.begin() + a, entries.begin() + m, entries.begin() + b,
                           EntryLess);
      });
      next.push_back(b);
    }
    if ((bounds.size() - 1) % 2 == 1) next.push_back(bounds.back());
    for (auto& t : pool) t.join();
    bounds = std::move(next);
  }
}

}  // namespace cramjet::sort_internal
