#include "pipeline/batch_pipeline.h"

#include <thread>
#include <vector>

#include "common/ordered_batches.h"

namespace cramjet {

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
  OrderedBatchQueue<ReadBatch> queue(2 + 2 * static_cast<size_t>(workers), static_cast<bool>(transform));
  std::thread producer([&] {
    for (uint64_t seq = 0;; ++seq) {
      std::optional<ReadBatch> batch = queue.Acquire();
      if (!batch) return;
      StatusOr<bool> more = produce(*batch);
      if (!more.ok()) return queue.Fail(seq, more.status());
      if (!*more) return queue.EndOfInput();  // batches 0..seq-1 exist
      queue.Submit(std::move(*batch));
    }
  });
  std::vector<std::thread> transformers;
  if (transform)
    for (int i = 0; i < workers; ++i)
      transformers.emplace_back([&, i] {
        while (auto item = queue.NextToTransform()) {
          Status s = transform(item->batch, i);
          if (!s.ok()) return queue.Fail(item->seq, std::move(s));
          queue.Transformed(std::move(*item));
        }
      });
  while (auto item = queue.NextInOrder()) {
    Status s = consume(item->batch);
    if (!s.ok()) {
      queue.Fail(item->seq, std::move(s));
      break;
    }
    queue.Consumed(std::move(item->batch));
  }
  queue.Stop();  // the consumer is done (end or error): release everybody
  producer.join();
  for (auto& t : transformers) t.join();
  return queue.error();
}

}  // namespace cramjet
