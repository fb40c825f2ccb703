// host/read/gzip_inflate_internal.h — plain (non-BGZF) gzip FASTQ, one member or several, inflated
// with ISA-L's igzip ahead of the FASTQ parser (internal to the read stage).
//
// One member is one deflate stream: it cannot be split, so a single-member file is inflated on one
// thread with the fastest streaming inflater there is (igzip, 4.7x zlib: bench/README.md, "Input"),
// off the parser's thread. A file of many members (`cat a.gz b.gz`, tools that flush a member every
// few MB) is inflated in parallel on the shared htslib pool, speculatively:
//   - the file is cut into segments of kSegmentBytes compressed bytes;
//   - a job per segment looks for the first gzip member header at or after the segment's start
//     (segment 0 starts at byte 0) and inflates members from there until one ends at or past the
//     segment's end, holding at most kOutputCapSegments segments' worth of inflated bytes;
//   - this thread takes the jobs' results in file order and keeps a job's bytes only when it
//     began exactly where the bytes already delivered end (a real member boundary); a job that
//     began on bytes that only looked like a header, gave up at the cap, or failed is redone here,
//     sequentially, from that boundary.
// So the bytes delivered never depend on the thread count or on timing, and a real error is
// always met by the sequential code with every good byte before it delivered first: corrupt data
// gives the same message at -@1 and -@16.
#pragma once

#include <htslib/thread_pool.h>

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "cramjet/status.h"

namespace cramjet {

class GzipInflater {
 public:
  // Compressed bytes per speculative segment; a segment's job gives up after holding
  // kOutputCapSegments times that in inflated bytes (a member much longer than a segment is then
  // inflated by the streaming code).
  static constexpr uint64_t kSegmentBytes = 4u << 20;
  static constexpr uint64_t kOutputCapSegments = 16;

  GzipInflater() = default;
  ~GzipInflater();
  GzipInflater(const GzipInflater&) = delete;
  GzipInflater& operator=(const GzipInflater&) = delete;

  // Opens `path` (a gzip file) and starts inflating it: on `pool` in parallel when one is given
  // and the file spans more than two segments, else on one thread. Error naming the file when it
  // cannot be opened. `pool` must outlive this object. `segment_bytes`: for tests.
  [[nodiscard]] Status Open(const std::string& path, hts_tpool* pool = nullptr,
                            uint64_t segment_bytes = kSegmentBytes);
  // Swaps the next block of inflated bytes into `block` (whose old buffer goes back for reuse),
  // in file order; false at the end of the last member. An error (kBadInput: corrupt or truncated
  // data, a CRC or length mismatch; kIoError: a read error) comes after every good byte before it.
  [[nodiscard]] StatusOr<bool> Next(std::vector<char>& block);
  // Compressed bytes consumed so far (delivered, in parallel mode).
  uint64_t compressed_bytes() const { return consumed_.load(std::memory_order_relaxed); }

  // What the parallel mode did, for tests and -v: segments whose speculative bytes were kept,
  // and segments redone sequentially (a false header, a long member, an error).
  struct Stats {
    uint64_t segments_kept = 0;
    uint64_t segments_redone = 0;
  };
  Stats stats() const;

 private:
  struct Segment;
  // Takes inflated blocks in order; false to stop (the consumer went away, or a cap was reached).
  using Sink = std::function<bool(std::vector<char>&& block)>;

  void Run();
  Status InflateSequentially();
  Status InflateInParallel();
  // Inflates whole members from `start` until one ends at or past `stop_at` (or the file ends);
  // `*end` is then the offset after that member. `*stopped` when the sink said stop.
  Status InflateMembers(uint64_t start, uint64_t stop_at, const Sink& sink, uint64_t* end,
                        bool* stopped);
  static void* RunSegment(void* arg);
  // The first offset in [from, to) where a gzip member header could start; `to` when none.
  uint64_t FindMemberHeader(uint64_t from, uint64_t to) const;
  std::vector<char> TakeBlock();
  bool Push(std::vector<char>&& block);  // false when stopping

  std::string path_;
  int fd_ = -1;
  uint64_t file_size_ = 0;
  bool seekable_ = false;  // a regular file: pread() at any offset (else one reader, read())
  hts_tpool* pool_ = nullptr;  // set: parallel mode
  int segments_ahead_ = 0;
  uint64_t segment_bytes_ = kSegmentBytes;
  std::thread thread_;
  std::atomic<uint64_t> consumed_{0};
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::vector<char>> ready_;
  std::vector<std::vector<char>> spare_;
  bool finished_ = false;  // the inflating thread is done; `end_` says how
  std::atomic<bool> stop_{false};
  Status end_;
  Stats stats_;
};

}  // namespace cramjet
