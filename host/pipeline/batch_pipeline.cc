#include "pipeline/batch_pipeline.h"

#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

namespace cramjet {
namespace {

class Pipeline {
 public:
  Pipeline(int workers, const BatchProducer& produce, const BatchTransform& transform,
           const BatchConsumer& consume)
      : workers_(workers), max_alive_(2 + 2 * static_cast<size_t>(workers)), produce_(produce),
        transform_(transform), consume_(consume) {}

  Status Run() {
    std::thread producer([this] { ProduceAll(); });
    std::vector<std::thread> workers;
    if (transform_)
      for (int i = 0; i < workers_; ++i) workers.emplace_back([this, i] { TransformAll(i); });
    ConsumeAll();
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_ = true;  // the consumer is done (end or error): release everybody
    }
    cv_.notify_all();
    producer.join();
    for (auto& w : workers) w.join();
    return error_ ? error_->second : Status::Ok();
  }

 private:
  // Keeps the error of the earliest batch; any error stops the pipeline.
  void Fail(uint64_t seq, Status status) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (!error_ || seq < error_->first) error_.emplace(seq, std::move(status));
      stop_ = true;
    }
    cv_.notify_all();
  }

  void ProduceAll() {
    for (uint64_t seq = 0;; ++seq) {
      ReadBatch batch;
      {
        std::unique_lock<std::mutex> lock(mu_);
        cv_.wait(lock, [&] { return stop_ || !free_.empty() || alive_ < max_alive_; });
        if (stop_) return;
        if (!free_.empty()) {
          batch = std::move(free_.back());
          free_.pop_back();
        } else {
          ++alive_;
        }
      }
      StatusOr<bool> more = produce_(batch);
      if (!more.ok()) return Fail(seq, more.status());
      std::lock_guard<std::mutex> lock(mu_);
      if (!*more) {
        produced_ = seq;  // batches 0..seq-1 exist
        cv_.notify_all();
        return;
      }
      (transform_ ? to_transform_ : done_).emplace_back(seq, std::move(batch));
      cv_.notify_all();
    }
  }

  void TransformAll(int worker) {
    for (;;) {
      std::pair<uint64_t, ReadBatch> item;
      {
        std::unique_lock<std::mutex> lock(mu_);
        cv_.wait(lock, [&] { return stop_ || !to_transform_.empty() || produced_; });
        if (stop_ || to_transform_.empty()) return;
        item = std::move(to_transform_.front());
        to_transform_.pop_front();
      }
      Status s = transform_(item.second, worker);
      if (!s.ok()) return Fail(item.first, std::move(s));
      {
        std::lock_guard<std::mutex> lock(mu_);
        done_.push_back(std::move(item));
      }
      cv_.notify_all();
    }
  }

  void ConsumeAll() {
    for (uint64_t next = 0;; ++next) {
      ReadBatch batch;
      {
        std::unique_lock<std::mutex> lock(mu_);
        auto ready = [&] {
          for (auto it = done_.begin(); it != done_.end(); ++it)
            if (it->first == next) return it;
          return done_.end();
        };
        cv_.wait(lock, [&] { return stop_ || ready() != done_.end() || (produced_ && *produced_ == next); });
        if (stop_) return;
        auto it = ready();
        if (it == done_.end()) return;  // every batch consumed
        batch = std::move(it->second);
        done_.erase(it);
      }
      Status s = consume_(batch);
      if (!s.ok()) return Fail(next, std::move(s));
      {
        std::lock_guard<std::mutex> lock(mu_);
        free_.push_back(std::move(batch));
      }
      cv_.notify_all();
    }
  }

  const int workers_;
  const size_t max_alive_;
  const BatchProducer& produce_;
  const BatchTransform& transform_;
  const BatchConsumer& consume_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  size_t alive_ = 0;                    // batches allocated so far
  std::optional<uint64_t> produced_;    // set at the end of the input: number of batches
  std::vector<ReadBatch> free_;
  std::deque<std::pair<uint64_t, ReadBatch>> to_transform_;
  std::deque<std::pair<uint64_t, ReadBatch>> done_;  // transformed, waiting for their turn
  std::optional<std::pair<uint64_t, Status>> error_;
};

}  // namespace

Status RunBatchPipeline(int workers, const BatchProducer& produce, const BatchTransform& transform,
                        const BatchConsumer& consume) {
  if (workers <= 0) {
    ReadBatch batch;
    for (;;) {
      CRAMJET_ASSIGN_OR_RETURN(bool more, produce(batch));
      if (!more) return Status::Ok();
      if (transform) CRAMJET_RETURN_IF_ERROR(transform(batch, 0));
      CRAMJET_RETURN_IF_ERROR(consume(batch));
    }
  }
  return Pipeline(workers, produce, transform, consume).Run();
}

}  // namespace cramjet
