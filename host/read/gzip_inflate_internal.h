// host/read/gzip_inflate_internal.h — plain (non-BGZF) gzip FASTQ, one member or several, inflated
// with ISA-L's igzip on a thread of its own, ahead of the FASTQ parser (internal to the read stage).
//
// Plain gzip is one deflate stream per member, so it cannot be split across threads the way BGZF
// is (htslib does that, on the shared pool); what can be done is to inflate it with the fastest
// streaming inflater there is (bench/bench_inflate: igzip ~3x zlib) and to keep that off the
// parser's thread: blocks of inflated bytes are handed over in order through a short queue.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "cramjet/status.h"

namespace cramjet {

class GzipInflater {
 public:
  GzipInflater() = default;
  ~GzipInflater();
  GzipInflater(const GzipInflater&) = delete;
  GzipInflater& operator=(const GzipInflater&) = delete;

  // Opens `path` (a gzip file) and starts inflating it. Error naming the file when it cannot be
  // opened.
  [[nodiscard]] Status Open(const std::string& path);
  // Swaps the next block of inflated bytes into `block` (whose old buffer goes back for reuse),
  // in file order; false at the end of the last member. An error (kBadInput: corrupt or truncated
  // data, a CRC or length mismatch; kIoError: a read error) comes after every good byte before it.
  [[nodiscard]] StatusOr<bool> Next(std::vector<char>& block);
  // Compressed bytes consumed so far.
  uint64_t compressed_bytes() const { return consumed_.load(std::memory_order_relaxed); }

 private:
  void Run();
  Status Inflate();
  bool Push(std::vector<char>&& block);  // false when stopping

  std::string path_;
  int fd_ = -1;
  std::thread thread_;
  std::atomic<uint64_t> consumed_{0};
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::vector<char>> ready_;
  std::vector<std::vector<char>> spare_;
  bool finished_ = false;  // the inflating thread is done; `end_` says how
  bool stop_ = false;
  Status end_;
};

}  // namespace cramjet
