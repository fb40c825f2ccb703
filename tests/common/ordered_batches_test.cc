// OrderedBatchQueue (host/common/ordered_batches.h), the hand-over under compress's passes and
// QC's workers: numbering, the bound on live batches, in-order hand-out to one consumer at a
// time, the consumer's role taken by whichever worker finds the next batch ready, errors.
#include "common/ordered_batches.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

namespace cramjet {
namespace {

struct Box {
  int id = -1;      // which allocation this is (set once, kept through recycling)
  int value = -1;   // what the producer put in
};

TEST(OrderedBatchQueue, HandsBatchesOutInSubmissionOrderAndRecyclesThem) {
  OrderedBatchQueue<Box> q(3, /*transform=*/true);
  std::vector<OrderedBatchQueue<Box>::Item> taken;
  for (int i = 0; i < 3; ++i) {
    std::optional<Box> b = q.Acquire();
    ASSERT_TRUE(b);
    EXPECT_EQ(b->id, -1);  // new
    b->id = i;
    b->value = 10 + i;
    q.Submit(std::move(*b));
  }
  EXPECT_EQ(q.submitted(), 3u);
  for (int i = 0; i < 3; ++i) {
    auto item = q.NextToTransform();
    ASSERT_TRUE(item);
    EXPECT_EQ(item->seq, uint64_t(i));
    taken.push_back(std::move(*item));
  }
  // Transformed out of order: the consumer still gets 0, 1, 2.
  q.Transformed(std::move(taken[2]));
  q.Transformed(std::move(taken[0]));
  q.Transformed(std::move(taken[1]));
  q.EndOfInput();
  for (int i = 0; i < 3; ++i) {
    auto item = q.NextInOrder();
    ASSERT_TRUE(item);
    EXPECT_EQ(item->seq, uint64_t(i));
    EXPECT_EQ(item->batch.value, 10 + i);
    q.Consumed(std::move(item->batch));
  }
  EXPECT_FALSE(q.NextInOrder());      // all consumed at the end of the input
  EXPECT_FALSE(q.NextToTransform());  // nothing left to transform
  EXPECT_EQ(q.consumed(), 3u);
  // A consumed batch comes back to the producer (an allocation made before, not a new one).
  std::optional<Box> again = q.Acquire();
  ASSERT_TRUE(again);
  EXPECT_GE(again->id, 0);
  EXPECT_TRUE(q.error().ok());
}

TEST(OrderedBatchQueue, AcquireWaitsWhileMaxAliveBatchesExist) {
  OrderedBatchQueue<Box> q(2, /*transform=*/false);
  for (int i = 0; i < 2; ++i) {
    std::optional<Box> b = q.Acquire();
    ASSERT_TRUE(b);
    b->id = i;
    q.Submit(std::move(*b));
  }
  std::atomic<bool> got{false};
  std::thread producer([&] {
    std::optional<Box> b = q.Acquire();
    EXPECT_TRUE(b);
    if (b) {
      EXPECT_EQ(b->id, 0);  // the batch the consumer gave back
    }
    got = true;
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_FALSE(got);  // two batches alive: the third waits
  auto item = q.NextInOrder();  // without transform, straight from Submit
  ASSERT_TRUE(item);
  EXPECT_EQ(item->seq, 0u);
  q.Consumed(std::move(item->batch));
  producer.join();
  EXPECT_TRUE(got);
}

TEST(OrderedBatchQueue, TryNextInOrderGivesTheConsumersRoleToOneThreadAtATime) {
  OrderedBatchQueue<Box> q(4, /*transform=*/true);
  for (int i = 0; i < 2; ++i) q.Submit(Box{i, i});
  auto first = q.NextToTransform(), second = q.NextToTransform();
  ASSERT_TRUE(first && second);
  q.Transformed(std::move(*second));
  EXPECT_FALSE(q.TryNextInOrder());  // batch 0 is not ready yet
  q.Transformed(std::move(*first));
  auto zero = q.TryNextInOrder();
  ASSERT_TRUE(zero);
  EXPECT_EQ(zero->seq, 0u);
  EXPECT_FALSE(q.TryNextInOrder());  // 1 is ready, but the role is held
  q.Consumed(std::move(zero->batch));
  auto one = q.TryNextInOrder();  // the holder asks again after giving the role up
  ASSERT_TRUE(one);
  EXPECT_EQ(one->seq, 1u);
  q.Consumed(std::move(one->batch));
  EXPECT_FALSE(q.TryNextInOrder());
}

// QC's pattern: workers transform and, whoever finds the next batch ready, consume in order; no
// batch is left behind whatever the timing.
TEST(OrderedBatchQueue, WorkersThatConsumeInTurnLeaveNoBatchBehind) {
  for (int workers : {1, 2, 5}) {
    constexpr int kBatches = 500;
    OrderedBatchQueue<Box> q(2 * size_t(workers) + 3, /*transform=*/true);
    std::vector<int> order;  // written only by the role holder
    std::atomic<int> holders{0};
    std::vector<std::thread> threads;
    for (int w = 0; w < workers; ++w)
      threads.emplace_back([&] {
        while (auto item = q.NextToTransform()) {
          std::this_thread::sleep_for(std::chrono::microseconds((item->seq * 7919) % 200));
          item->batch.value *= 2;
          q.Transformed(std::move(*item));
          while (auto next = q.TryNextInOrder()) {
            EXPECT_EQ(++holders, 1);
            order.push_back(next->batch.value);
            --holders;
            q.Consumed(std::move(next->batch));
          }
        }
      });
    for (int i = 0; i < kBatches; ++i) {
      std::optional<Box> b = q.Acquire();
      ASSERT_TRUE(b);
      b->value = i;
      q.Submit(std::move(*b));
    }
    q.EndOfInput();
    for (auto& t : threads) t.join();
    ASSERT_EQ(order.size(), size_t(kBatches)) << workers;
    for (int i = 0; i < kBatches; ++i) ASSERT_EQ(order[size_t(i)], 2 * i) << workers;
    EXPECT_EQ(q.consumed(), q.submitted());
  }
}

TEST(OrderedBatchQueue, TheEarliestErrorIsKeptAndStopReleasesEveryone) {
  OrderedBatchQueue<Box> q(2, /*transform=*/true);
  std::thread consumer([&] { EXPECT_FALSE(q.NextInOrder()); });
  std::thread worker([&] { EXPECT_FALSE(q.NextToTransform()); });
  q.Fail(7, BadInput("batch 7"));
  q.Fail(3, BadInput("batch 3"));
  q.Fail(5, BadInput("batch 5"));
  consumer.join();
  worker.join();
  EXPECT_EQ(q.error().message(), "batch 3");
  EXPECT_FALSE(q.Acquire());
  EXPECT_FALSE(q.TryNextInOrder());

  OrderedBatchQueue<Box> s(1, /*transform=*/false);
  std::thread waiting([&] { EXPECT_FALSE(s.NextInOrder()); });
  s.Stop();
  waiting.join();
  EXPECT_TRUE(s.error().ok());
}

}  // namespace
}  // namespace cramjet
