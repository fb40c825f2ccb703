// Plain gzip inflation with ISA-L igzip on a thread of its own (gzip_inflate_internal.h).
#include "read/gzip_inflate_internal.h"

#include <fcntl.h>
#include <isa-l/igzip_lib.h>
#include <unistd.h>

#include <cerrno>

namespace cramjet {
namespace {
constexpr size_t kInputBytes = 1 << 20;
constexpr size_t kBlockBytes = 1 << 20;
constexpr size_t kBlocksAhead = 4;
}  // namespace

GzipInflater::~GzipInflater() {
  {
    std::lock_guard<std::mutex> lk(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  if (fd_ >= 0) ::close(fd_);
}

Status GzipInflater::Open(const std::string& path) {
  path_ = path;
  fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd_ < 0) return IoErrorFromErrno("'" + path + "': cannot open", errno);
  thread_ = std::thread([this] { Run(); });
  return Status::Ok();
}

void GzipInflater::Run() {
  Status s = Inflate();
  std::lock_guard<std::mutex> lk(mu_);
  end_ = std::move(s);
  finished_ = true;
  cv_.notify_all();
}

bool GzipInflater::Push(std::vector<char>&& block) {
  std::unique_lock<std::mutex> lk(mu_);
  cv_.wait(lk, [this] { return stop_ || ready_.size() < kBlocksAhead; });
  if (stop_) return false;
  ready_.push_back(std::move(block));
  cv_.notify_all();
  return true;
}

Status GzipInflater::Inflate() {
  auto corrupt = [] { return BadInput("corrupt gzip data"); };
  std::vector<uint8_t> in(kInputBytes);
  inflate_state state;
  isal_inflate_init(&state);
  state.crc_flag = ISAL_GZIP;  // parse the gzip header, check the CRC32 and length trailer
  state.avail_in = 0;
  bool eof = false;
  bool fresh = true;  // no byte of the current member seen yet
  std::vector<char> out;
  auto new_out = [&] {
    {
      std::lock_guard<std::mutex> lk(mu_);
      if (!spare_.empty()) {
        out = std::move(spare_.back());
        spare_.pop_back();
      }
    }
    out.resize(kBlockBytes);
    state.next_out = reinterpret_cast<uint8_t*>(out.data());
    state.avail_out = static_cast<uint32_t>(out.size());
  };
  new_out();
  for (;;) {
    if (state.avail_in == 0 && !eof) {
      ssize_t n = ::read(fd_, in.data(), in.size());
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return IoErrorFromErrno("read error", errno);
      if (n == 0) {
        eof = true;
      } else {
        state.next_in = in.data();
        state.avail_in = static_cast<uint32_t>(n);
        consumed_.fetch_add(static_cast<uint64_t>(n), std::memory_order_relaxed);
      }
    }
    if (state.avail_in == 0 && eof) {
      if (state.block_state != ISAL_BLOCK_FINISH && !fresh) return BadInput("truncated gzip data");
      break;
    }
    fresh = false;
    int ret = isal_inflate(&state);
    if (ret < 0) return corrupt();
    if (state.avail_out == 0) {
      if (!Push(std::move(out))) return Status::Ok();
      new_out();
    }
    if (state.block_state == ISAL_BLOCK_FINISH && (state.avail_in > 0 || !eof)) {
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
  out.resize(out.size() - state.avail_out);
  if (!out.empty()) Push(std::move(out));
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
