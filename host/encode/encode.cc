// The encode stage: profiles, @PG, and the CRAM writer that encodes its lanes on every thread
// (reference checks: reference.cc; one lane's htslib writer: chunk_encoder_internal.h).
// Length: ~520 lines, one class: CramWriter::Impl's lanes, chunk rule and stitching hand-off
// share its state; the reference checks and a lane's writer already live in their own files.
#include "encode/encode.h"

#include <fcntl.h>
#include <htslib/faidx.h>
#include <htslib/hfile.h>
#include <htslib/kstring.h>
#include <limits.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <map>
#include <mutex>
#include <thread>

#include "encode/chunk_encoder_internal.h"
#include "encode/stitch_internal.h"

#include "cramjet/log.h"
#include "cramjet/version.h"

namespace cramjet {
using encode_internal::ChunkEncoder;

const char* CramProfileName(CramProfile profile) {
  switch (profile) {
    case CramProfile::kFast: return "fast";
    case CramProfile::kNormal: return "normal";
    case CramProfile::kSmall: return "small";
    case CramProfile::kArchive: return "archive";
  }
  return "normal";
}

StatusOr<CramProfile> ParseCramProfile(const std::string& name) {
  if (name == "fast") return CramProfile::kFast;
  if (name == "normal") return CramProfile::kNormal;
  if (name == "small") return CramProfile::kSmall;
  if (name == "archive") return CramProfile::kArchive;
  return InvalidArgument("unknown CRAM profile '" + name + "' (fast, normal, small or archive)");
}

// ---- CramWriter -----------------------------------------------------------------------------

ChunkRule ChunkRuleFor(CramProfile profile, uint32_t container_records) {
  // htslib's records per container for the profile (seqs_per_slice, one slice per container) and
  // its bases per slice (500 per record): a chunk is exactly the container a lane's writer makes.
  size_t records = 10000;
  if (profile == CramProfile::kSmall) records = 25000;
  if (profile == CramProfile::kArchive) records = 100000;
  if (container_records) records = container_records;
  ChunkRule rule;
  rule.max_records = records;
  rule.max_bases = uint64_t{500} * records;
  // A quarter of the container, but no smaller than the normal profile's (whose trials are cheap
  // already). Measured on the scale set (928k reads, 10 archive containers, one lane): trial
  // chunks of 100k, 50k, 25k, 10k records took the archive job from 21.4 s to 14.2, 10.7, 7.5 s
  // (CPU 23.2, 17.0, 13.4, 9.8 s) for +0.00, +0.04, +0.19, +0.26 % bytes (names in smaller
  // containers; codecs picked on smaller blocks); at small, 10k cost +0.09 % and saved 0.8 s.
  // On genome-scale input the trial chunks are a few of thousands of containers.
  rule.trial_records = std::min<size_t>(records, std::max<size_t>(10000, records / 4));
  rule.trial_bases = uint64_t{500} * rule.trial_records;
  return rule;
}

int LanesFor(CramProfile profile, uint32_t container_records, uint64_t records) {
  // Containers a lane should get at least, so that htslib's codec trials on a lane's first
  // containers (measured on the scale set, 928k reads: ~7.7 CPU s per extra lane at archive,
  // ~1.4 s at small, lost in the noise at fast and normal) stay a small part of its work.
  uint64_t per_lane = 1;
  if (profile == CramProfile::kSmall) per_lane = 16;
  if (profile == CramProfile::kArchive) per_lane = 32;
  const uint64_t per_container = ChunkRuleFor(profile, container_records).max_records;
  const uint64_t containers = (records + per_container - 1) / per_container;
  return static_cast<int>(std::clamp<uint64_t>(containers / per_lane, 1, kEncodeLanes));
}

class CramWriter::Impl {
 public:
  ~Impl() {
    StopWorkers();
    if (out_fd_ >= 0) ::close(out_fd_);
  }

  Status Open(const std::string& path, sam_hdr_t* header, const EncodeOptions& o) {
    if (o.cram_version != "3.0" && o.cram_version != "3.1")
      return InvalidArgument("unsupported CRAM version '" + o.cram_version + "' (3.0 or 3.1)");
    path_ = path;
    write_error_ = "'" + path + "': cannot write";
    options_ = o;
    id_name_ = o.file_name.empty() ? BaseName(path) : o.file_name;
    rule_ = ChunkRuleFor(o.profile, o.container_records);
    out_fd_ = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (out_fd_ < 0) return IoErrorFromErrno("'" + path + "': cannot create", errno);
    std::string cl = o.command_line.empty() ? "cramjet" : o.command_line;
    if (sam_hdr_add_pg(header, "cramjet", "VN", Version(), "CL", cl.c_str(), "DS",
                       LibraryVersions().c_str(), nullptr) < 0)
      return Internal("cannot add @PG");
    // Lanes copy the header on worker threads: once its text is built it is only read.
    if (!sam_hdr_str(header)) return Internal("cannot format the header");
    header_ = header;
    // Lane 0 at once: a bad reference or option fails here, and its preamble opens the file.
    CRAMJET_RETURN_IF_ERROR(OpenLane(0));
    CRAMJET_RETURN_IF_ERROR(WriteAll(out_fd_, preamble_, write_error_));
    threads_ = std::max(1, o.threads);
    for (int i = 0; threads_ > 1 && i < threads_; ++i) workers_.emplace_back([this] { WorkerLoop(); });
    return Status::Ok();
  }

  Status SetRecordCount(uint64_t records) {
    if (stats_.chunks > 0 || current_) return FailedPrecondition("SetRecordCount() after Write()");
    lanes_in_use_ = LanesFor(options_.profile, options_.container_records, records);
    // Trial-sized chunks pay where the trials on full containers would be a large part of the
    // work; on a file of a few containers they only cost bytes (ecoli-10k-paired at archive: one
    // 56k-record container instead of 25k + 25k + 6k is 0.8 % smaller) and the job is short anyway.
    trial_chunks_ = records > uint64_t{kSmallFileContainers} * rule_.max_records;
    return Status::Ok();
  }

  Status Write(const bam1_t* b) {
    if (!failed_.ok()) return failed_;
    if (streaming_) return Stream(b);
    // Sortedness is a property of the records seen so far, so the switch is deterministic.
    const std::pair<int64_t, int64_t> key(b->core.tid < 0 ? INT64_MAX : b->core.tid, b->core.pos);
    const bool in_order = !(key < last_key_);
    last_key_ = key;
    if (!in_order) return StartStreaming(b);
    if (current_ && current_->n > 0 && ChunkEndsBefore(b)) CRAMJET_RETURN_IF_ERROR(Submit());
    if (!current_) current_ = NewChunk();
    Chunk& c = *current_;
    if (c.records.size() <= c.n) c.records.push_back(NewBam());
    if (!bam_copy1(c.records[c.n].get(), b)) return Internal("cannot copy a record for encoding");
    ++c.n;
    c.bases += static_cast<uint64_t>(b->core.l_qseq);
    c.last_tid = b->core.tid;
    return Status::Ok();
  }

  Status Close() {
    if (failed_.ok() && current_ && current_->n > 0) (void)Submit();
    std::string eof = stream_eof_;
    if (failed_.ok() && !streaming_) (void)FinishLanes(&eof);
    if (failed_.ok() && streaming_) {
      std::string tail;
      Status s = streaming_->Finish(&tail);
      size_t data = 0;
      if (s.ok()) s = SplitOffEof(tail, &data);
      if (s.ok()) s = WriteRebased(std::string_view(tail).substr(0, data), stream_delta_, nullptr);
      if (!s.ok()) failed_ = s;
    }
    if (!failed_.ok()) return failed_;
    CRAMJET_RETURN_IF_ERROR(WriteAll(out_fd_, eof, write_error_));
    int fd = out_fd_;
    out_fd_ = -1;
    if (::close(fd) != 0) return IoErrorFromErrno("'" + path_ + "': cannot finish writing", errno);
    return Status::Ok();
  }

  Stats stats() const {
    Stats s = stats_;
    s.lanes = lanes_in_use_;
    return s;
  }

 private:
  struct Chunk {
    int lane = 0;
    std::vector<BamPtr> records;
    size_t n = 0;
    uint64_t bases = 0;
    int32_t last_tid = -1;
    int64_t delta = 0;   // record counter shift: records before it in the file minus in its lane
    std::string bytes;   // its container, once its lane has written it
    Status status;
    bool done = false;   // bytes (or status) are final
  };

  std::unique_ptr<Chunk> NewChunk() {
    std::unique_ptr<Chunk> c;
    if (!spare_.empty()) {
      c = std::move(spare_.back());
      spare_.pop_back();
    } else {
      c = std::make_unique<Chunk>();
    }
    {
      std::unique_lock<std::mutex> lk(mu_, std::defer_lock);
      if (threads_ > 1) lk.lock();
      if (c->records.empty() && !free_records_.empty()) {
        c->records = std::move(free_records_.back());
        free_records_.pop_back();
      }
    }
    c->n = 0;
    c->bases = 0;
    c->done = false;
    c->status = Status::Ok();
    c->bytes.clear();
    return c;
  }

  // Where a chunk (and so its container) ends: full, enough bases, or another contig, as htslib's
  // writer ends a container for the profile (cram_put_bam_seq), with each lane's first
  // kLaneTrialChunks chunks smaller (ChunkRule::trial_records).
  bool ChunkEndsBefore(const bam1_t* b) const {
    const Chunk& c = *current_;
    const bool trial =
        trial_chunks_ && stats_.chunks < static_cast<uint64_t>(kLaneTrialChunks * lanes_in_use_);
    return c.n >= (trial ? rule_.trial_records : rule_.max_records) ||
           c.bases >= (trial ? rule_.trial_bases : rule_.max_bases) || b->core.tid != c.last_tid;
  }

  Status OpenEncoder(ChunkEncoder* e, bool lane, std::string* preamble) {
    HeaderPtr copy;
    {
      std::lock_guard<std::mutex> lk(header_mu_);
      copy.reset(sam_hdr_dup(header_));
    }
    if (!copy) return Internal("cannot copy the header");
    return e->Open(std::move(copy), options_, id_name_, lane, preamble);
  }

  Status OpenLane(int i) {
    std::string preamble;
    CRAMJET_RETURN_IF_ERROR(OpenEncoder(&lanes_[i].encoder, true, &preamble));
    if (i == 0) preamble_ = preamble;  // set before any worker starts
    else if (preamble != preamble_) return Internal("CRAM encoders wrote different headers");
    return Status::Ok();
  }

  // The tail of a finished writer: `*data` = bytes before its final EOF container.
  Status SplitOffEof(std::string_view tail, size_t* data) const {
    auto n = cram_bytes::DataBeforeEof(tail);
    if (!n.ok()) return Internal("'" + path_ + "': encoder output: " + n.status().message());
    *data = *n;
    return Status::Ok();
  }

  // One lane's writer and the chunk whose container it still holds: htslib writes a container
  // when the next record arrives (or at close), so a chunk's bytes appear when the lane starts
  // its next chunk.
  struct LaneState {
    ChunkEncoder encoder;
    Chunk* holding = nullptr;
  };

  // Runs on a worker (or the caller with -@ 1), one chunk per lane at a time. Returns the chunk
  // whose bytes are now complete (the lane's previous one) through `completed`.
  Status EncodeChunk(Chunk& c, Chunk** completed, std::string* completed_bytes) {
    LaneState& lane = lanes_[c.lane];
    *completed = nullptr;
    if (!lane.encoder.is_open()) CRAMJET_RETURN_IF_ERROR(OpenLane(c.lane));
    for (size_t i = 0; i < c.n; ++i) {
      if (i == 0 && lane.holding) {
        // The first record makes the writer write the previous chunk's container.
        CRAMJET_RETURN_IF_ERROR(lane.encoder.StartChunk(c.records[0].get()));
        CRAMJET_RETURN_IF_ERROR(lane.encoder.TakeWritten(completed_bytes));
        *completed = lane.holding;
        continue;
      }
      CRAMJET_RETURN_IF_ERROR(lane.encoder.Add(c.records[i].get()));
    }
    lane.holding = &c;
    return Status::Ok();
  }

  // Marks `c` done with `bytes` and `status` (under mu_ when workers run).
  void Complete(Chunk* c, std::string&& bytes, Status status) {
    c->bytes = std::move(bytes);
    c->status = std::move(status);
    c->done = true;
  }

  Status Submit() {
    std::unique_ptr<Chunk> c = std::move(current_);
    c->lane = static_cast<int>(stats_.chunks % static_cast<uint64_t>(lanes_in_use_));
    c->delta = static_cast<int64_t>(records_) - static_cast<int64_t>(lane_records_[c->lane]);
    records_ += c->n;
    lane_records_[c->lane] += c->n;
    ++stats_.chunks;
    Chunk* raw = c.get();
    if (threads_ <= 1) {
      held_.push_back(std::move(c));
      RunChunk(raw);
      return StitchReady(/*wait_for_front=*/false);
    }
    {
      std::lock_guard<std::mutex> lk(mu_);
      pending_.push_back(raw);
      held_.push_back(std::move(c));
      ++unencoded_;
    }
    work_cv_.notify_one();
    {
      // Bound the records held: wait while more chunks wait for a lane than there are threads.
      std::unique_lock<std::mutex> lk(mu_);
      done_cv_.wait(lk, [this] { return unencoded_ <= static_cast<size_t>(threads_) + 1 || !first_error_.ok(); });
    }
    return StitchReady(false);
  }

  // After `c` went through its lane (EncodeChunk's results): completes the chunk that finished,
  // gives `c`'s record buffers back for reuse (htslib copied the records, so only chunks waiting
  // for a lane hold records), and fails `c` on error. Under mu_ when workers run.
  void Settle(Chunk* c, Chunk* completed, std::string&& bytes, Status s) {
    if (completed) Complete(completed, std::move(bytes), Status::Ok());
    free_records_.push_back(std::move(c->records));
    c->records.clear();
    if (!s.ok()) {
      Complete(c, std::string(), s);
      if (first_error_.ok()) first_error_ = s;
    }
  }

  // -@ 1: runs `c` through its lane on this thread.
  void RunChunk(Chunk* c) {
    Chunk* completed = nullptr;
    std::string bytes;
    Status s = EncodeChunk(*c, &completed, &bytes);
    Settle(c, completed, std::move(bytes), std::move(s));
  }

  // Appends `containers` with their record counters moved by `delta`; `expect` (when given) is
  // the number of records they must hold.
  Status WriteRebased(std::string_view containers, int64_t delta, const size_t* expect) {
    stitched_.clear();
    auto records = cram_bytes::RebaseContainers(containers, delta, &stitched_);
    if (!records.ok()) return Internal("joining encoded containers: " + records.status().message());
    if (expect && *records != *expect)
      return Internal("an encoded chunk holds " + std::to_string(*records) + " records, not " +
                      std::to_string(*expect) + " (its container did not end with it)");
    CRAMJET_RETURN_IF_ERROR(WriteAll(out_fd_, stitched_, write_error_));
    records_written_ += *records;
    return Status::Ok();
  }

  // Writes the done chunks at the front, in order; with `wait_for_front`, waits for each until
  // none is held.
  Status StitchReady(bool wait_for_front) {
    while (!held_.empty() && failed_.ok()) {
      Chunk* c = held_.front().get();
      {
        std::unique_lock<std::mutex> lk(mu_, std::defer_lock);
        if (threads_ > 1) lk.lock();
        if (wait_for_front && threads_ > 1) done_cv_.wait(lk, [c] { return c->done; });
        if (!c->done) break;
      }
      Status s = c->status;
      if (s.ok()) s = WriteRebased(c->bytes, c->delta, &c->n);
      std::unique_ptr<Chunk> owned = std::move(held_.front());
      held_.pop_front();
      owned->bytes.clear();
      spare_.push_back(std::move(owned));
      if (!s.ok()) failed_ = s;
    }
    return failed_;
  }

  // Waits for every submitted chunk to be in its lane, closes the lanes (their last containers
  // complete their last chunks) and writes everything held. `eof` gets the EOF container.
  Status FinishLanes(std::string* eof) {
    if (threads_ > 1) {
      std::unique_lock<std::mutex> lk(mu_);
      done_cv_.wait(lk, [this] { return unencoded_ == 0 || !first_error_.ok(); });
    }
    StopWorkers();
    if (!first_error_.ok() && failed_.ok()) {
      // The earliest failed chunk's error wins: write what came before it, then report it.
      (void)StitchReady(false);
      if (failed_.ok()) failed_ = first_error_;
      return failed_;
    }
    for (int i = 0; i < kEncodeLanes; ++i) {
      LaneState& lane = lanes_[i];
      if (!lane.encoder.is_open()) continue;
      std::string tail;
      Status s = lane.encoder.Finish(&tail);
      size_t data = 0;
      if (s.ok()) s = SplitOffEof(tail, &data);
      if (!s.ok()) {
        failed_ = s;
        return s;
      }
      eof->assign(tail, data, std::string::npos);
      if (lane.holding) Complete(lane.holding, tail.substr(0, data), Status::Ok());
      lane.holding = nullptr;
    }
    return StitchReady(false);
  }

  // Placed records out of order: htslib would load whole contigs into every lane's writer, so
  // the rest of the input goes through one writer as it arrives (what one encoder always did).
  Status StartStreaming(const bam1_t* b) {
    if (current_ && current_->n > 0) CRAMJET_RETURN_IF_ERROR(Submit());
    CRAMJET_RETURN_IF_ERROR(FinishLanes(&stream_eof_));
    streaming_ = std::make_unique<ChunkEncoder>();
    std::string preamble;
    CRAMJET_RETURN_IF_ERROR(OpenEncoder(streaming_.get(), false, &preamble));
    if (preamble != preamble_) return Internal("CRAM encoders wrote different headers");
    stream_delta_ = static_cast<int64_t>(records_);
    CJ_LOG(kInfo) << "'" << path_ << "': records out of coordinate order from record "
                  << records_ + 1 << " on; encoding the rest on one thread";
    return Stream(b);
  }

  Status Stream(const bam1_t* b) {
    Status s = streaming_->Add(b);
    if (s.ok() && ++streamed_ % 4096 == 0) {
      std::string written;
      s = streaming_->TakeWritten(&written);
      if (s.ok()) s = WriteRebased(written, stream_delta_, nullptr);
    }
    if (!s.ok()) failed_ = s;
    return s;
  }

  void WorkerLoop() {
    std::unique_lock<std::mutex> lk(mu_);
    for (;;) {
      auto runnable = pending_.end();
      work_cv_.wait(lk, [&] {
        if (stop_) return true;
        runnable = std::find_if(pending_.begin(), pending_.end(),
                                [this](const Chunk* c) { return !lane_busy_[c->lane]; });
        return runnable != pending_.end();
      });
      if (stop_) return;
      Chunk* c = *runnable;
      pending_.erase(runnable);
      lane_busy_[c->lane] = true;
      lk.unlock();
      Chunk* completed = nullptr;
      std::string bytes;
      Status s = EncodeChunk(*c, &completed, &bytes);
      lk.lock();
      Settle(c, completed, std::move(bytes), std::move(s));
      --unencoded_;
      lane_busy_[c->lane] = false;
      done_cv_.notify_all();
      work_cv_.notify_all();
    }
  }

  void StopWorkers() {
    {
      std::lock_guard<std::mutex> lk(mu_);
      stop_ = true;
    }
    work_cv_.notify_all();
    for (auto& t : workers_) t.join();
    workers_.clear();
  }

  std::string path_;
  std::string write_error_;  // what a failed write of path_ says
  EncodeOptions options_;
  std::string id_name_;
  ChunkRule rule_;
  int out_fd_ = -1;
  sam_hdr_t* header_ = nullptr;
  std::mutex header_mu_;  // header copies
  std::string preamble_;  // file definition and header container, the same from every writer
  LaneState lanes_[kEncodeLanes];
  int lanes_in_use_ = kEncodeLanes;  // chunk i goes to lane i mod lanes_in_use_
  bool trial_chunks_ = true;          // cut each lane's first chunks trial-sized (SetRecordCount)
  int threads_ = 1;

  // The caller's side.
  std::unique_ptr<Chunk> current_;
  std::deque<std::unique_ptr<Chunk>> held_;  // submitted, in chunk order, not yet written
  std::vector<std::unique_ptr<Chunk>> spare_;
  std::string stitched_;
 public:
  std::atomic<uint64_t> records_written_{0};  // in containers written to the file (progress)
 private:
  uint64_t records_ = 0;  // records in submitted chunks
  uint64_t lane_records_[kEncodeLanes] = {};
  std::pair<int64_t, int64_t> last_key_{-1, -1};
  std::unique_ptr<ChunkEncoder> streaming_;
  std::string stream_eof_;  // from the lanes, finished when streaming started
  int64_t stream_delta_ = 0;
  uint64_t streamed_ = 0;
  Status failed_;
  Stats stats_;

  // Shared with the workers, under mu_.
  std::mutex mu_;
  std::condition_variable work_cv_, done_cv_;
  std::deque<Chunk*> pending_;
  size_t unencoded_ = 0;
  bool lane_busy_[kEncodeLanes] = {};
  bool stop_ = false;
  Status first_error_;  // some chunk failed (the one reported is the earliest in order)
  std::vector<std::vector<BamPtr>> free_records_;  // record buffers of encoded chunks
  std::vector<std::thread> workers_;
};

CramWriter::CramWriter(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
CramWriter::~CramWriter() = default;

StatusOr<std::unique_ptr<CramWriter>> CramWriter::Open(const std::string& path, sam_hdr_t* header,
                                                       const EncodeOptions& options) {
  auto impl = std::make_unique<Impl>();
  CRAMJET_RETURN_IF_ERROR(impl->Open(path, header, options));
  return std::unique_ptr<CramWriter>(new CramWriter(std::move(impl)));
}

Status CramWriter::Write(const bam1_t* record) { return impl_->Write(record); }
Status CramWriter::SetRecordCount(uint64_t records) { return impl_->SetRecordCount(records); }
Status CramWriter::Close() { return impl_->Close(); }
CramWriter::Stats CramWriter::stats() const { return impl_->stats(); }
uint64_t CramWriter::records_written() const { return impl_->records_written_.load(); }

}  // namespace cramjet
