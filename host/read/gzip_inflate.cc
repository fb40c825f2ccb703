// Plain gzip inflation with ISA-L igzip, streaming or in parallel segments (gzip_inflate_internal.h).
#include "read/gzip_inflate_internal.h"

#include <fcntl.h>
#include <isa-l/igzip_lib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <memory>

namespace cramjet {
namespace {
constexpr size_t kInputBytes = 1 << 20;
constexpr size_t kBlockBytes = 1 << 20;
constexpr size_t kBlocksAhead = 4;
// Segments in flight on the pool: one more than its threads (so none waits for the next job; with
// exactly one each, bench_inflate at 2 threads gained nothing), at most 8. Memory held is
// about that many segments' inflated bytes (~4x a segment for FASTQ), kOutputCapSegments
// segments' worth each at worst.
constexpr int kMaxSegmentsAhead = 8;

// pread() all of [offset, offset + size) or up to the end of the file; bytes read, -1 on error.
// Not seekable (a pipe): plain read() from where the file is, which is `offset` for the one
// sequential reader such a file gets.
ssize_t ReadAt(int fd, uint8_t* data, size_t size, uint64_t offset, bool seekable = true) {
  size_t done = 0;
  while (done < size) {
    ssize_t n = seekable ? ::pread(fd, data + done, size - done, static_cast<off_t>(offset + done))
                         : ::read(fd, data + done, size - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return -1;
    if (n == 0) break;
    done += static_cast<size_t>(n);
  }
  return static_cast<ssize_t>(done);
}

// RFC 1952: ID1 ID2 CM=8 FLG (reserved bits 5-7 zero) MTIME(4) XFL OS. Only a cheap filter: the
// inflate that follows is what proves a candidate real.
bool LooksLikeMemberHeader(const uint8_t* p) {
  return p[0] == 0x1f && p[1] == 0x8b && p[2] == 8 && (p[3] & 0xe0) == 0 &&
         (p[9] <= 13 || p[9] == 255);
}
constexpr size_t kHeaderBytes = 10;
}  // namespace

struct GzipInflater::Segment {
  GzipInflater* owner = nullptr;
  uint64_t begin = 0, limit = 0;  // the compressed range this job answers for
  uint64_t start = 0;             // where it began inflating (a member header, it hopes)
  uint64_t end = 0;               // after the member that ended at or past `limit`
  bool usable = false;            // inflated without error and within the cap
  std::vector<std::vector<char>> blocks;
};

GzipInflater::~GzipInflater() {
  {
    std::lock_guard<std::mutex> lk(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  if (fd_ >= 0) ::close(fd_);
}

Status GzipInflater::Open(const std::string& path, hts_tpool* pool, uint64_t segment_bytes) {
  path_ = path;
  segment_bytes_ = std::max<uint64_t>(segment_bytes, 1024);
  fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd_ < 0) return IoErrorFromErrno("'" + path + "': cannot open", errno);
  struct stat st;
  if (::fstat(fd_, &st) == 0 && S_ISREG(st.st_mode)) {
    file_size_ = static_cast<uint64_t>(st.st_size);
    seekable_ = true;
  }
  // Parallel only pays when there are several segments to share out; a pipe has no size.
  if (pool && hts_tpool_size(pool) > 1 && file_size_ > 2 * segment_bytes_) {
    pool_ = pool;
    segments_ahead_ = std::clamp(hts_tpool_size(pool) + 1, 2, kMaxSegmentsAhead);
  }
  thread_ = std::thread([this] { Run(); });
  return Status::Ok();
}

GzipInflater::Stats GzipInflater::stats() const {
  std::lock_guard<std::mutex> lk(mu_);
  return stats_;
}

void GzipInflater::Run() {
  Status s = pool_ ? InflateInParallel() : InflateSequentially();
  std::lock_guard<std::mutex> lk(mu_);
  end_ = std::move(s);
  finished_ = true;
  cv_.notify_all();
}

std::vector<char> GzipInflater::TakeBlock() {
  std::vector<char> out;
  {
    std::lock_guard<std::mutex> lk(mu_);
    if (!spare_.empty()) {
      out = std::move(spare_.back());
      spare_.pop_back();
    }
  }
  out.resize(kBlockBytes);
  return out;
}

bool GzipInflater::Push(std::vector<char>&& block) {
  std::unique_lock<std::mutex> lk(mu_);
  cv_.wait(lk, [this] { return stop_ || ready_.size() < kBlocksAhead; });
  if (stop_) return false;
  ready_.push_back(std::move(block));
  cv_.notify_all();
  return true;
}

Status GzipInflater::InflateMembers(uint64_t start, uint64_t stop_at, const Sink& sink,
                                    uint64_t* end, bool* stopped) {
  *stopped = false;
  std::vector<uint8_t> in(kInputBytes);
  inflate_state state;
  isal_inflate_init(&state);
  state.crc_flag = ISAL_GZIP;  // parse the gzip header, check the CRC32 and length trailer
  state.avail_in = 0;
  uint64_t offset = start;  // file offset of the next read
  bool eof = false;
  bool fresh = true;  // no byte of the current member seen yet
  std::vector<char> out = TakeBlock();
  state.next_out = reinterpret_cast<uint8_t*>(out.data());
  state.avail_out = static_cast<uint32_t>(out.size());
  // Hands over what is in `out` (all of it when full, the filled part at the end or on error).
  auto flush = [&](bool full) {
    if (!full) out.resize(out.size() - state.avail_out);
    if (out.empty()) return true;
    if (!sink(std::move(out))) {
      *stopped = true;
      return false;
    }
    out = TakeBlock();
    state.next_out = reinterpret_cast<uint8_t*>(out.data());
    state.avail_out = static_cast<uint32_t>(out.size());
    return true;
  };
  for (;;) {
    if (state.avail_in == 0 && !eof) {
      ssize_t n = ReadAt(fd_, in.data(), in.size(), offset, seekable_);
      if (n < 0) return IoErrorFromErrno("read error", errno);
      if (n == 0) {
        eof = true;
      } else {
        state.next_in = in.data();
        state.avail_in = static_cast<uint32_t>(n);
        offset += static_cast<uint64_t>(n);
        if (!pool_) consumed_.fetch_add(static_cast<uint64_t>(n), std::memory_order_relaxed);
      }
    }
    if (state.avail_in == 0 && eof) {
      if (state.block_state != ISAL_BLOCK_FINISH && !fresh) {
        flush(false);
        return BadInput("truncated gzip data");
      }
      *end = offset;
      break;
    }
    fresh = false;
    int ret = isal_inflate(&state);
    if (ret < 0) {
      flush(false);
      return BadInput("corrupt gzip data");
    }
    if (state.avail_out == 0 && !flush(true)) return Status::Ok();
    if (state.block_state == ISAL_BLOCK_FINISH) {
      const uint64_t member_end = offset - state.avail_in;
      if (member_end >= stop_at) {
        *end = member_end;
        break;
      }
      if (state.avail_in > 0 || !eof) {
        // Another member may follow (concatenated gzip): inflate it with a fresh state.
        uint8_t* next_in = state.next_in;
        uint32_t avail_in = state.avail_in;
        uint8_t* next_out = state.next_out;
        uint32_t avail_out = state.avail_out;
        isal_inflate_reset(&state);
        state.crc_flag = ISAL_GZIP;
        state.next_in = next_in;
        state.avail_in = avail_in;
        state.next_out = next_out;
        state.avail_out = avail_out;
        fresh = avail_in == 0;
      }
    }
  }
  flush(false);
  return Status::Ok();
}

Status GzipInflater::InflateSequentially() {
  uint64_t end = 0;
  bool stopped = false;
  return InflateMembers(0, UINT64_MAX, [this](std::vector<char>&& b) { return Push(std::move(b)); },
                        &end, &stopped);
}

uint64_t GzipInflater::FindMemberHeader(uint64_t from, uint64_t to) const {
  std::vector<uint8_t> buf(kInputBytes + kHeaderBytes);
  for (uint64_t at = from; at < to; at += kInputBytes) {
    ssize_t n = ReadAt(fd_, buf.data(), buf.size(), at);
    if (n < static_cast<ssize_t>(kHeaderBytes)) return to;
    const size_t scan = std::min<size_t>(static_cast<size_t>(n) - kHeaderBytes + 1,
                                         std::min<uint64_t>(kInputBytes, to - at));
    for (size_t i = 0; i < scan;) {
      const void* hit = std::memchr(buf.data() + i, 0x1f, scan - i);
      if (!hit) break;
      i = static_cast<size_t>(static_cast<const uint8_t*>(hit) - buf.data());
      if (LooksLikeMemberHeader(buf.data() + i)) return at + i;
      ++i;
    }
  }
  return to;
}

void* GzipInflater::RunSegment(void* arg) {
  auto* seg = static_cast<Segment*>(arg);
  GzipInflater* self = seg->owner;
  seg->start = seg->begin == 0 ? 0 : self->FindMemberHeader(seg->begin, seg->limit);
  if (seg->start >= seg->limit || self->stop_) return seg;  // no header here: inside one member
  uint64_t held = 0;
  Sink keep = [seg, self, &held](std::vector<char>&& b) {
    held += b.size();
    seg->blocks.push_back(std::move(b));
    return held <= kOutputCapSegments * self->segment_bytes_ && !self->stop_;
  };
  bool stopped = false;
  Status s = self->InflateMembers(seg->start, seg->limit, keep, &seg->end, &stopped);
  // An error here may only mean the header was a false one: the sequential redo decides.
  seg->usable = s.ok() && !stopped;
  if (!seg->usable) seg->blocks.clear();
  return seg;
}

Status GzipInflater::InflateInParallel() {
  // Room for finished results beside the jobs, so a worker never waits on this thread.
  hts_tpool_process* q = hts_tpool_process_init(pool_, 2 * segments_ahead_, 0);
  if (!q) return IoError("cannot start the inflate queue");
  struct QueueCloser {
    hts_tpool_process* q;
    ~QueueCloser() { hts_tpool_process_destroy(q); }  // waits for running jobs, frees the rest
  } closer{q};
  auto free_segment = [](void* p) { delete static_cast<Segment*>(p); };
  const uint64_t segments = (file_size_ + segment_bytes_ - 1) / segment_bytes_;
  uint64_t delivered = 0;  // a real member boundary: every byte before it has been handed over
  uint64_t next_to_send = 1;  // segment 0 starts at a known boundary: it is streamed right here
  int in_flight = 0;
  auto send_more = [&]() -> Status {
    while (next_to_send < segments && in_flight < segments_ahead_) {
      auto seg = std::make_unique<Segment>();
      seg->owner = this;
      seg->begin = next_to_send++ * segment_bytes_;
      seg->limit = std::min(file_size_, seg->begin + segment_bytes_);
      if (seg->limit <= delivered) continue;  // inside a member already delivered: no job
      if (hts_tpool_dispatch3(pool_, q, RunSegment, seg.get(), free_segment, free_segment, 0) < 0)
        return IoError("cannot queue an inflate job");
      seg.release();
      ++in_flight;
    }
    return Status::Ok();
  };
  // The sequential code, from the last real boundary to the first member end at or past `limit`.
  const Sink push = [this](std::vector<char>&& b) { return Push(std::move(b)); };
  auto stream_until = [&](uint64_t limit) -> Status {
    bool stopped = false;
    uint64_t end = 0;
    Status s = InflateMembers(delivered, limit, push, &end, &stopped);
    if (s.ok() && !stopped) delivered = end;
    consumed_.store(delivered, std::memory_order_relaxed);
    return s;
  };
  CRAMJET_RETURN_IF_ERROR(send_more());
  CRAMJET_RETURN_IF_ERROR(stream_until(std::min(segment_bytes_, file_size_)));
  while (in_flight > 0 && !stop_) {
    hts_tpool_result* r = hts_tpool_next_result_wait(q);
    if (!r) return IoError("inflate queue stopped");
    std::unique_ptr<Segment> seg(static_cast<Segment*>(hts_tpool_result_data(r)));
    hts_tpool_delete_result(r, 0);
    --in_flight;
    if (stop_) break;
    if (delivered < seg->limit) {
      if (seg->usable && seg->start == delivered) {
        for (auto& b : seg->blocks)
          if (!Push(std::move(b))) return Status::Ok();
        delivered = seg->end;
        consumed_.store(delivered, std::memory_order_relaxed);
        std::lock_guard<std::mutex> lk(mu_);
        ++stats_.segments_kept;
      } else {
        {
          std::lock_guard<std::mutex> lk(mu_);
          ++stats_.segments_redone;
        }
        CRAMJET_RETURN_IF_ERROR(stream_until(seg->limit));
      }
    }
    CRAMJET_RETURN_IF_ERROR(send_more());
  }
  return Status::Ok();
}

StatusOr<bool> GzipInflater::Next(std::vector<char>& block) {
  std::unique_lock<std::mutex> lk(mu_);
  cv_.wait(lk, [this] { return !ready_.empty() || finished_; });
  if (block.capacity() > 0) spare_.push_back(std::move(block));
  block.clear();
  if (!ready_.empty()) {
    block = std::move(ready_.front());
    ready_.pop_front();
    cv_.notify_all();
    return true;
  }
  if (!end_.ok()) return end_;
  return false;
}

}  // namespace cramjet
