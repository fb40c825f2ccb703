// The ordered parallel pass of compress: batches reach the consumer in production order whatever
// the number of workers and however long each transform takes, memory stays bounded, and the
// error of the earliest batch is the one reported.
#include "pipeline/batch_pipeline.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <set>
#include <thread>

namespace cramjet {
namespace {

// Batch i holds one record whose position (core.pos) is i; transforms add 1000 and sleep a
// pseudo-random time so that workers finish out of order.
struct Counting {
  int total;
  int produced = 0;
  std::atomic<int> alive_max{0};
  BatchProducer Producer() {
    return [this](ReadBatch& b) -> StatusOr<bool> {
      if (produced == total) return false;
      b.Resize(1);
      b[0]->core.pos = produced++;
      return true;
    };
  }
};

BatchTransform SlowAdd() {
  return [](ReadBatch& b, int) -> Status {
    std::this_thread::sleep_for(std::chrono::microseconds((b[0]->core.pos * 7919) % 300));
    b[0]->core.pos += 1000;
    return Status::Ok();
  };
}

TEST(BatchPipeline, ConsumesInProductionOrderWhateverTheWorkers) {
  for (int workers : {0, 1, 2, 3, 8}) {
    Counting c{200};
    std::vector<int64_t> seen;
    std::set<const bam1_t*> distinct;
    Status s = RunBatchPipeline(workers, c.Producer(), SlowAdd(), [&](ReadBatch& b) {
      seen.push_back(b[0]->core.pos);
      distinct.insert(b[0]);
      return Status::Ok();
    });
    ASSERT_TRUE(s.ok()) << s.ToString();
    ASSERT_EQ(seen.size(), 200u) << workers;
    for (int i = 0; i < 200; ++i) ASSERT_EQ(seen[i], 1000 + i) << "workers " << workers;
    // Batches are recycled: never more than 2 + 2 * workers records were ever allocated.
    EXPECT_LE(distinct.size(), 2u + 2u * static_cast<unsigned>(workers)) << workers;
  }
}

// Each worker passes its own number, so a transform may keep per-worker buffers (the mapper's
// MapBuffer): in range, and never held by two calls at once.
TEST(BatchPipeline, EachWorkerPassesItsOwnNumber) {
  for (int workers : {0, 1, 3}) {
    Counting c{300};
    const int slots = std::max(1, workers);
    std::vector<std::atomic<bool>> busy(static_cast<size_t>(slots));
    std::vector<std::atomic<int>> calls(static_cast<size_t>(slots));
    std::atomic<int> out_of_range{0}, shared{0};
    BatchTransform transform = [&](ReadBatch& b, int worker) -> Status {
      if (worker < 0 || worker >= slots) {
        ++out_of_range;
        return Status::Ok();
      }
      if (busy[static_cast<size_t>(worker)].exchange(true)) ++shared;
      ++calls[static_cast<size_t>(worker)];
      std::this_thread::sleep_for(std::chrono::microseconds((b[0]->core.pos * 7919) % 300));
      busy[static_cast<size_t>(worker)] = false;
      return Status::Ok();
    };
    Status s = RunBatchPipeline(workers, c.Producer(), transform, [](ReadBatch&) { return Status::Ok(); });
    ASSERT_TRUE(s.ok()) << s.ToString();
    EXPECT_EQ(out_of_range.load(), 0) << workers;
    EXPECT_EQ(shared.load(), 0) << workers;
    int total = 0;
    for (const auto& n : calls) total += n.load();
    EXPECT_EQ(total, 300) << workers;
  }
}

TEST(BatchPipeline, WithoutTransformBatchesGoStraightToTheConsumer) {
  Counting c{50};
  std::vector<int64_t> seen;
  Status s = RunBatchPipeline(2, c.Producer(), BatchTransform(), [&](ReadBatch& b) {
    seen.push_back(b[0]->core.pos);
    return Status::Ok();
  });
  ASSERT_TRUE(s.ok());
  ASSERT_EQ(seen.size(), 50u);
  for (int i = 0; i < 50; ++i) EXPECT_EQ(seen[i], i);
}

TEST(BatchPipeline, TheEarliestBatchsErrorIsReported) {
  for (int workers : {0, 1, 3}) {
    // The producer fails at batch 40; the transform fails at batch 25 (and later ones).
    int produced = 0;
    BatchProducer produce = [&](ReadBatch& b) -> StatusOr<bool> {
      if (produced == 40) return BadInput("producer: batch 40");
      b.Resize(1);
      b[0]->core.pos = produced++;
      return true;
    };
    BatchTransform transform = [](ReadBatch& b, int) -> Status {
      if (b[0]->core.pos >= 25) return BadInput("transform: batch " + std::to_string(b[0]->core.pos));
      return Status::Ok();
    };
    int consumed = 0;
    Status s = RunBatchPipeline(workers, produce, transform, [&](ReadBatch&) {
      ++consumed;
      return Status::Ok();
    });
    EXPECT_EQ(s.message(), "transform: batch 25") << workers;
    // None after the failing batch (the error stops the pass at once, so with workers some of
    // the batches before it may not have been consumed either).
    EXPECT_LE(consumed, 25) << workers;
    if (workers == 0) {
      EXPECT_EQ(consumed, 25);
    }
  }
  // A consumer error stops the producer: it does not read the whole input first.
  int produced = 0;
  Status s = RunBatchPipeline(
      2,
      [&](ReadBatch& b) -> StatusOr<bool> {
        b.Resize(1);
        b[0]->core.pos = produced++;
        return produced < 1000000;
      },
      SlowAdd(), [](ReadBatch& b) { return b[0]->core.pos == 1005 ? IoError("disk full") : Status::Ok(); });
  EXPECT_EQ(s.message(), "disk full");
  EXPECT_LT(produced, 100);
}

}  // namespace
}  // namespace cramjet
