// DeviceBackend: every batch loop through a DeviceRunner, two chunks in flight per caller (the
// next is packed while the device runs the current one), the host kernels as the fallback twin.
#include <algorithm>
#include <functional>

#include "backend/device.h"
#include "cramjet/log.h"

namespace cramjet::backend_internal {
namespace {

class DeviceBackend final : public Backend {
 public:
  DeviceBackend(std::unique_ptr<DeviceRunner> runner, DeviceFailurePolicy policy, const DeviceLimits& limits)
      : runner_(std::move(runner)),
        host_(AvailableSimdTargets().empty() ? MakeScalarBackend() : MakeSimdBackend()),
        policy_(policy),
        limits_(limits) {}

  std::string Name() const override { return runner_->Name() + "+" + host_->Name(); }
  AccelKind kind() const override { return runner_->kind(); }

  Status ExtractSeeds(const SeedInput& input, SeedOutput& out) const override {
    // Sampled seeds are a few k-mers of a read: not worth a device call.
    if (input.sample != SeedSample::kAll || input.count == 0 || on_host_.load()) return host_->ExtractSeeds(input, out);
    out.seeds.clear();
    out.seed_offsets.assign(1, 0);
    Status status = RunChunked<SeedBatch>(
        DeviceKernel::kSeeds,
        [&](SeedBatch& b, size_t next) { return next < input.count ? PackSeedBatch(input, next, limits_, b) : next; },
        [](SeedBatch& b) { return SeedCall(b); }, [&](SeedBatch& b) { return UnpackSeedBatch(b, out); });
    if (status.ok() || !FallBack(DeviceKernel::kSeeds, status)) return status;
    return host_->ExtractSeeds(input, out);
  }

  Status VerifyHamming(const PackedReference& reference, const PackedSequences& reads, const VerifyJob* jobs,
                       size_t count, uint32_t* mismatches) const override {
    if (count == 0 || on_host_.load()) return host_->VerifyHamming(reference, reads, jobs, count, mismatches);
    Status status = RunChunked<VerifyBatch>(
        DeviceKernel::kHamming,
        [&](VerifyBatch& b, size_t next) {
          return next < count ? PackVerifyBatch(reads, jobs, count, next, limits_, b) : next;
        },
        [&](VerifyBatch& b) { return VerifyCall(reference, b); },
        [&](VerifyBatch& b) { return UnpackVerifyBatch(b, mismatches); });
    if (status.ok() || !FallBack(DeviceKernel::kHamming, status)) return status;
    return host_->VerifyHamming(reference, reads, jobs, count, mismatches);
  }

  Status AlignBanded(const AlignJob* jobs, size_t count, AlignOutput& out) const override {
    if (count == 0 || on_host_.load()) return host_->AlignBanded(jobs, count, out);
    out.results.assign(count, AlignResult{});
    out.cigar.clear();
    Status status = RunChunked<AlignBatch>(
        DeviceKernel::kAlign,
        [&](AlignBatch& b, size_t next) { return next < count ? PackAlignBatch(jobs, count, next, limits_, b) : next; },
        [](AlignBatch& b) { return AlignCall(b); }, [&](AlignBatch& b) { return UnpackAlignBatch(b, out); });
    if (status.ok() || !FallBack(DeviceKernel::kAlign, status)) return status;
    return host_->AlignBanded(jobs, count, out);
  }

  // The device's alignment kernel, its traces left unwalked.
  Status ScoreBanded(const AlignJob* jobs, size_t count, int32_t* scores) const override {
    if (count == 0 || on_host_.load()) return host_->ScoreBanded(jobs, count, scores);
    std::fill(scores, scores + count, 0);
    Status status = RunChunked<AlignBatch>(
        DeviceKernel::kAlign,
        [&](AlignBatch& b, size_t next) { return next < count ? PackAlignBatch(jobs, count, next, limits_, b) : next; },
        [](AlignBatch& b) { return AlignCall(b); }, [&](AlignBatch& b) { return UnpackAlignScores(b, scores); });
    if (status.ok() || !FallBack(DeviceKernel::kAlign, status)) return status;
    return host_->ScoreBanded(jobs, count, scores);
  }

  Status AccumulateQc(const QcBatchInput& input, QcBatchOutput& out) const override {
    if (input.count == 0 || on_host_.load()) return host_->AccumulateQc(input, out);
    out.summaries.assign(size_t{CJ_QC_SUMMARY_WORDS} * input.count, 0);
    out.cycle_quality.assign(size_t{CJ_QC_MAX_CYCLES} * input.slot_count, 0);
    out.cycle_codes.assign(size_t{CJ_QC_NUM_CODES} * CJ_QC_MAX_CYCLES * input.slot_count, 0);
    Status status = RunChunked<QcBatch>(
        DeviceKernel::kQc,
        [&](QcBatch& b, size_t next) { return next < input.count ? PackQcBatch(input, next, limits_, b) : next; },
        [](QcBatch& b) { return QcCall(b); }, [&](QcBatch& b) { return UnpackQcBatch(b, out); });
    if (status.ok() || !FallBack(DeviceKernel::kQc, status)) return status;
    return host_->AccumulateQc(input, out);
  }

 private:
  // Two slots of the runner for one caller; returned to the pool by the destructor.
  class SlotPair {
   public:
    explicit SlotPair(const DeviceBackend& owner) : owner_(owner) {
      std::lock_guard<std::mutex> lock(owner_.slots_mutex_);
      if (owner_.free_pairs_.empty()) {
        first_ = 2 * owner_.pairs_++;
      } else {
        first_ = owner_.free_pairs_.back();
        owner_.free_pairs_.pop_back();
      }
    }
    ~SlotPair() {
      std::lock_guard<std::mutex> lock(owner_.slots_mutex_);
      owner_.free_pairs_.push_back(first_);
    }
    size_t operator[](size_t i) const { return first_ + (i & 1); }

   private:
    const DeviceBackend& owner_;
    size_t first_ = 0;
  };

  // pack(batch, next) fills `batch` from item `next` and returns the item after it (next itself
  // when none is left). Chunk k+1 is packed and started before chunk k is finished and unpacked,
  // so host work overlaps the device's; chunks are unpacked in order.
  template <typename Batch>
  Status RunChunked(DeviceKernel kernel, const std::function<size_t(Batch&, size_t)>& pack,
                    const std::function<DeviceCall(Batch&)>& make_call,
                    const std::function<Status(Batch&)>& unpack) const {
    SlotPair slots(*this);
    Batch batches[2];
    bool in_flight[2] = {false, false};
    bool empty[2] = {false, false};  // packed, nothing to run (every job skipped): not started
    auto finish_all = [&] {
      for (int k = 0; k < 2; ++k)
        if (in_flight[k]) runner_->Finish(slots[k]).IgnoreError(), in_flight[k] = false;
    };
    auto where = [&](const Status& s) {
      return Status(s.code(), std::string(DeviceKernelName(kernel)) + " on " + runner_->Name() + ": " + s.message());
    };
    size_t next = 0;
    for (size_t chunk = 0;; ++chunk) {
      Batch& b = batches[chunk & 1];
      const size_t after = pack(b, next);
      const bool more = after > next;
      if (more) {
        const DeviceCall call = make_call(b);
        empty[chunk & 1] = call.items == 0;
        if (!empty[chunk & 1]) {
          const Status started = runner_->Start(slots[chunk], call);
          if (!started.ok()) {
            // A start that failed half-way may have queued transfers of this batch: wait for
            // them before the batch's memory goes.
            runner_->Finish(slots[chunk]).IgnoreError();
            finish_all();
            return where(started);
          }
          in_flight[chunk & 1] = true;
        }
        next = after;
      }
      if (chunk > 0) {
        const size_t prev = (chunk - 1) & 1;
        Status done;
        if (in_flight[prev]) {
          in_flight[prev] = false;
          done = runner_->Finish(slots[chunk - 1]);
        }
        if (done.ok() && !empty[prev]) done = unpack(batches[prev]);
        if (!done.ok()) {
          finish_all();
          return where(done);
        }
      }
      if (!more) return Status::Ok();
    }
  }

  // After a device error: false to return it (kFail), true to run this call and every later one
  // on the host (kFallBack; said once).
  bool FallBack(DeviceKernel kernel, const Status& error) const {
    if (policy_ == DeviceFailurePolicy::kFail) return false;
    if (!on_host_.exchange(true)) {
      CJ_LOG(kWarning) << "accelerator failed (" << error.message() << "); " << DeviceKernelName(kernel)
                       << " and every later batch run on the host kernels (" << host_->Name()
                       << "), which give the same results";
    }
    return true;
  }

  std::unique_ptr<DeviceRunner> runner_;
  std::unique_ptr<Backend> host_;
  DeviceFailurePolicy policy_;
  DeviceLimits limits_;
  mutable std::atomic<bool> on_host_{false};
  mutable std::mutex slots_mutex_;
  mutable size_t pairs_ = 0;
  mutable std::vector<size_t> free_pairs_;
};

}  // namespace

std::unique_ptr<Backend> MakeDeviceBackend(std::unique_ptr<DeviceRunner> runner, DeviceFailurePolicy policy,
                                           const DeviceLimits& limits) {
  return std::make_unique<DeviceBackend>(std::move(runner), policy, limits);
}

}  // namespace cramjet::backend_internal
