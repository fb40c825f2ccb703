// host/common/ordered_batches.h — the bounded, ordered hand-over of batches between threads that
// the ordered parallel passes share: compress's first and second pass (host/pipeline/
// batch_pipeline.h) and the QC collector's workers (host/qc).
//
// A producer fills batches and submits them (numbered 0, 1, 2, ... in submission order); workers
// transform them, several at once, in any order; one consumer at a time takes them strictly in
// submission order, and gives each batch back to be filled again. At most `max_alive` batches
// exist (free ones included), so memory does not grow with the input and a slow stage slows the
// producer. The first error (the earliest batch's, when several fail) stops every side.
//
// The consumer either waits for its next batch on a thread of its own (NextInOrder), or runs on
// whichever worker finds the next batch ready (TryNextInOrder, which hands the consumer's role to
// one thread at a time).
#pragma once

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <mutex>
#include <optional>
#include <utility>
#include <vector>

#include "cramjet/status.h"

namespace cramjet {

template <typename Batch>
class OrderedBatchQueue {
 public:
  struct Item {
    uint64_t seq = 0;  // its place in submission order
    Batch batch;
  };

  // `transform`: batches go through the workers (NextToTransform/Transformed) before the
  // consumer; false: straight from Submit to the consumer.
  OrderedBatchQueue(size_t max_alive, bool transform) : max_alive_(max_alive), transform_(transform) {}
  OrderedBatchQueue(const OrderedBatchQueue&) = delete;
  OrderedBatchQueue& operator=(const OrderedBatchQueue&) = delete;

  // ---- Producer (one thread) ----
  // A batch to fill: one given back by the consumer, or a new (default) one while fewer than
  // `max_alive` exist; waits otherwise. Empty once stopped.
  std::optional<Batch> Acquire() {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [&] { return stop_ || !free_.empty() || alive_ < max_alive_; });
    if (stop_) return std::nullopt;
    if (free_.empty()) {
      ++alive_;
      return Batch();
    }
    Batch batch = std::move(free_.back());
    free_.pop_back();
    return batch;
  }
  // Hands a filled batch over; it gets the next number.
  void Submit(Batch batch) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      (transform_ ? to_transform_ : done_).push_back(Item{submitted_++, std::move(batch)});
    }
    cv_.notify_all();
  }
  // No more batches: once every batch has been transformed and consumed, the workers and the
  // consumer are told so.
  void EndOfInput() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      ended_ = true;
    }
    cv_.notify_all();
  }

  // ---- Workers (any number of threads) ----
  // The next batch to transform (waits for one); empty once stopped, or at the end of the input
  // when none is left.
  std::optional<Item> NextToTransform() {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [&] { return stop_ || !to_transform_.empty() || ended_; });
    if (stop_ || to_transform_.empty()) return std::nullopt;
    Item item = std::move(to_transform_.front());
    to_transform_.pop_front();
    return item;
  }
  void Transformed(Item item) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      done_.push_back(std::move(item));
    }
    cv_.notify_all();
  }

  // ---- Consumer (one at a time) ----
  // Waits for the next batch in order; empty once stopped, or when every batch has been consumed
  // at the end of the input. Give the batch back with Consumed().
  std::optional<Item> NextInOrder() {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [&] { return stop_ || Ready() != done_.end() || (ended_ && submitted_ == next_); });
    if (stop_) return std::nullopt;
    return TakeReady();
  }
  // The next batch in order when it is ready and no other thread holds the consumer's role (it
  // then holds it until Consumed()); empty otherwise, without waiting. A thread that gets a batch
  // should ask again after Consumed(): a batch that became ready meanwhile is left to it.
  std::optional<Item> TryNextInOrder() {
    std::lock_guard<std::mutex> lock(mu_);
    if (stop_ || consuming_) return std::nullopt;
    return TakeReady();
  }
  // Gives a consumed batch back to the producer and the consumer's role up.
  void Consumed(Batch batch) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      free_.push_back(std::move(batch));
      consuming_ = false;
      ++consumed_;
    }
    cv_.notify_all();
  }

  // ---- Any side ----
  // Records the error of batch `seq` (the earliest batch's is kept) and stops every side.
  void Fail(uint64_t seq, Status status) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (!error_ || seq < error_->first) error_.emplace(seq, std::move(status));
      stop_ = true;
    }
    cv_.notify_all();
  }
  // Stops every side: waiting calls return empty.
  void Stop() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
  }
  // The error kept by Fail(), or Ok.
  Status error() const {
    std::lock_guard<std::mutex> lock(mu_);
    return error_ ? error_->second : Status::Ok();
  }
  // Batches submitted and batches consumed so far.
  uint64_t submitted() const {
    std::lock_guard<std::mutex> lock(mu_);
    return submitted_;
  }
  uint64_t consumed() const {
    std::lock_guard<std::mutex> lock(mu_);
    return consumed_;
  }

 private:
  typename std::deque<Item>::iterator Ready() {
    for (auto it = done_.begin(); it != done_.end(); ++it)
      if (it->seq == next_) return it;
    return done_.end();
  }
  std::optional<Item> TakeReady() {  // under mu_
    auto it = Ready();
    if (it == done_.end()) return std::nullopt;
    Item item = std::move(*it);
    done_.erase(it);
    ++next_;
    consuming_ = true;
    return item;
  }

  const size_t max_alive_;
  const bool transform_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  bool ended_ = false;
  bool consuming_ = false;
  size_t alive_ = 0;        // batches handed out by Acquire() as new
  uint64_t submitted_ = 0;  // the next batch's number
  uint64_t next_ = 0;       // the number the consumer takes next
  uint64_t consumed_ = 0;
  std::vector<Batch> free_;
  std::deque<Item> to_transform_;
  std::deque<Item> done_;  // transformed, waiting for their turn
  std::optional<std::pair<uint64_t, Status>> error_;
};

}  // namespace cramjet
