// host/pipeline/batch_pipeline.h — the ordered parallel pass of `compress` (in the spirit of
// minimap2's kt_pipeline): one thread produces batches (read, check, checksum), `workers` threads
// transform them (map), and the caller's thread consumes them strictly in production order (sort
// or encode). Order in = order out, so the output never depends on the thread count.
//
// Batches are recycled: at most 2 + 2 * workers are alive, so memory does not grow with the input.
// The first error stops every stage; RunBatchPipeline returns the error of the earliest batch
// (a producer error at batch k wins over a consumer error at batch k + 1), so the message a user
// sees is the same whatever the timing. The hand-over between the threads is
// common/ordered_batches.h (QC's workers use the same one).
#pragma once

#include <functional>

#include "common/common.h"
#include "cramjet/status.h"

namespace cramjet {

// Fills the batch; false at the end of the input.
using BatchProducer = std::function<StatusOr<bool>(ReadBatch& batch)>;
// Runs on worker threads, several batches at once; may be empty (no transform). `worker` is the
// calling worker's number, 0 .. max(workers, 1) - 1, never the same in two calls at once: the
// index of that worker's own buffers (as minimap2's worker_for passes its thread id).
using BatchTransform = std::function<Status(ReadBatch& batch, int worker)>;
// Runs on the caller's thread, one batch at a time, in production order.
using BatchConsumer = std::function<Status(ReadBatch& batch)>;

// workers == 0: everything runs on the caller's thread, one batch after another (-@ 1).
// Otherwise the producer gets a thread, and the transform `workers` threads.
[[nodiscard]] Status RunBatchPipeline(int workers, const BatchProducer& produce,
                                      const BatchTransform& transform, const BatchConsumer& consume);

}  // namespace cramjet
