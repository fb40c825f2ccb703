// host/backend/device.h — the device side of the accelerator backends (OpenCL, XRT, and the HLS
// C-simulation runner of the tests): one Backend, DeviceBackend, over one small interface,
// DeviceRunner, that moves a kernel call's flat arrays to a device and back.
//
// The pieces, in the order a batch goes through them:
//   1. packing (device_batch.cc): a Backend call (SeedInput, VerifyJob[], AlignJob[], QcBatchInput)
//      becomes chunks that fit the device buffers, each a DeviceCall: the kernel and its arguments
//      in the kernel's order (kernels/include/kernel_shape.h). OpenCL and XRT share this code.
//   2. the runner: Start(slot, call) moves the inputs and starts the kernel, Finish(slot) waits and
//      brings the outputs back. Two slots per caller: chunk k+1 is packed while chunk k runs
//      (double buffering); a runner keeps each slot's device buffers for the next chunk.
//   3. unpacking (device_batch.cc): device outputs are checked (counts, positions and trace paths in
//      range: a misbehaving device must not crash the host or go unnoticed) and turned into the
//      Backend's outputs (the traceback, sequential, runs here).
// A device failure (an error from the runner or an output that fails the checks) either fails the
// call (DeviceFailurePolicy::kFail: --accel opencl / xrt, the lab asked for the device) or moves
// this call and every later one to the host kernels (kFallBack: --accel auto), which return the
// same results. Wrong results that pass the checks (a device that miscounts) can at worst cost
// bytes: placements do not change what a record holds, and compress's verify stage proves every
// read before the CRAM gets its final name.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "backend/backend.h"
#include "cramjet/backend.h"

namespace cramjet::backend_internal {

enum class DeviceKernel : uint8_t { kSeeds, kHamming, kAlign, kQc };
inline constexpr size_t kDeviceKernelCount = 4;
// The kernel's name in kernels/opencl and kernels/hls ("cramjet_seeds", ...).
const char* DeviceKernelName(DeviceKernel kernel);

// One argument of a kernel call, in the kernel's argument order.
struct DeviceArg {
  enum class Kind : uint8_t {
    kInput,     // copied to the device for this call
    kResident,  // copied once and kept while the same `resident_id` comes back (the reference)
    kOutput,    // brought back to `out` by Finish; zeroed on the device first when `zeroed`
    kScalar,    // a uint32 by value
  };
  Kind kind = Kind::kInput;
  const void* data = nullptr;
  void* out = nullptr;
  size_t bytes = 0;
  uint32_t scalar = 0;
  bool zeroed = false;
  uint64_t resident_id = 0;  // kResident: which content (0: unknown, uploaded for this call only)
};
struct DeviceCall {
  DeviceKernel kernel = DeviceKernel::kSeeds;
  size_t items = 0;  // work-items of the batch (sequences, jobs, reads): the OpenCL global size
  std::vector<DeviceArg> args;
};

class DeviceRunner {
 public:
  virtual ~DeviceRunner() = default;
  // "opencl:pthread-Intel(R) Xeon(R) ..." / "xrt:xilinx_u55c_gen3x16_xdma_base_3"
  virtual std::string Name() const = 0;
  virtual AccelKind kind() const = 0;
  // Starts `call` in `slot` (any small number; one call per slot at a time). The call's host arrays
  // stay valid and unchanged until Finish(slot) returns. Thread-safe for different slots.
  [[nodiscard]] virtual Status Start(size_t slot, const DeviceCall& call) = 0;
  // Waits for the slot's call and copies its outputs to their `out` pointers. After an error the
  // outputs are undefined; the slot may be used again.
  [[nodiscard]] virtual Status Finish(size_t slot) = 0;
};

// How much one chunk (one kernel call) may hold; a larger Backend call becomes several chunks.
struct DeviceLimits {
  size_t seed_bases = size_t{8} << 20;          // sequence codes per seed call
  size_t verify_jobs = size_t{1} << 16;         // jobs per Hamming call
  size_t align_trace_bytes = size_t{64} << 20;  // trace bytes (17 per read base) per align call
  size_t qc_bases = size_t{16} << 20;           // bases per QC call
};

enum class DeviceFailurePolicy : uint8_t { kFail, kFallBack };

// ---- Packing and unpacking (device_batch.cc) --------------------------------------------------
// Each Pack* fills a batch from the call's items [first, ...) until the limit, at least one item
// (an item alone over the limit goes alone), and returns the index after the last item packed.
// Each *Call names the batch's arrays as the kernel's arguments. Each Unpack* checks the outputs
// and appends the results of the batch's items; Unavailable naming what was wrong otherwise.

struct SeedBatch {
  std::vector<uint8_t> codes;
  std::vector<uint32_t> offsets, slot_offsets, seeds, counts;
};
size_t PackSeedBatch(const SeedInput& input, size_t first, const DeviceLimits& limits, SeedBatch& batch);
DeviceCall SeedCall(SeedBatch& batch);
[[nodiscard]] Status UnpackSeedBatch(const SeedBatch& batch, SeedOutput& out);

struct VerifyBatch {
  std::vector<uint64_t> words, masks, ref_start;
  std::vector<uint32_t> word_offsets, lengths, sequence, max_mismatches, mismatches;
  std::vector<int64_t> renumber;  // caller's sequence -> batch sequence (-1: not in this batch)
  size_t first = 0;               // the caller's index of the batch's first job
};
size_t PackVerifyBatch(const PackedSequences& reads, const VerifyJob* jobs, size_t count, size_t first,
                       const DeviceLimits& limits, VerifyBatch& batch);
DeviceCall VerifyCall(const PackedReference& reference, VerifyBatch& batch);
[[nodiscard]] Status UnpackVerifyBatch(const VerifyBatch& batch, uint32_t* mismatches);

struct AlignBatch {
  std::vector<uint8_t> reads, windows, traces;
  std::vector<uint32_t> read_offsets;
  std::vector<int32_t> results;
  std::vector<uint32_t> job;  // the caller's job index of each packed job
};
// Jobs with read_length 0 or above CJ_MAX_ALIGN_LENGTH are not packed (their result stays empty,
// as on the host).
size_t PackAlignBatch(const AlignJob* jobs, size_t count, size_t first, const DeviceLimits& limits,
                      AlignBatch& batch);
DeviceCall AlignCall(AlignBatch& batch);
// Fills out.results[batch.job[i]] and appends the CIGARs (out.results sized by the caller).
[[nodiscard]] Status UnpackAlignBatch(const AlignBatch& batch, AlignOutput& out);
// ScoreBanded's unpacking: scores[batch.job[i]] from the kernel's best cells, no traceback (the
// kernel is the same; only the host's walk of the trace is skipped). The best cell is checked to
// lie in the band; a trace that would leave it is not seen here.
[[nodiscard]] Status UnpackAlignScores(const AlignBatch& batch, int32_t* scores);

struct QcBatch {
  std::vector<uint8_t> codes, quals;
  std::vector<uint32_t> offsets, slots, summaries, cycle_quality, cycle_codes;
  size_t first = 0;
  uint32_t slot_count = 0;
};
size_t PackQcBatch(const QcBatchInput& input, size_t first, const DeviceLimits& limits, QcBatch& batch);
DeviceCall QcCall(QcBatch& batch);
// Adds the batch's summaries and cycle columns to `out` (sized by the caller).
[[nodiscard]] Status UnpackQcBatch(const QcBatch& batch, QcBatchOutput& out);

// ---- The backend ---------------------------------------------------------------------------
// Runs the three mapper loops (full seed extraction; sampled seeds stay on the host, a few k-mers
// per read) and the QC kernel through `runner`; `host` (scalar or SIMD) is the fallback twin.
std::unique_ptr<Backend> MakeDeviceBackend(std::unique_ptr<DeviceRunner> runner, DeviceFailurePolicy policy,
                                           const DeviceLimits& limits = DeviceLimits{});

#ifdef CRAMJET_HAVE_OPENCL
// platform/device: indices as `clinfo -l` lists them; -1: the first device of any platform.
[[nodiscard]] StatusOr<std::unique_ptr<DeviceRunner>> MakeOpenClRunner(int platform, int device);
// "  opencl 0:0 pthread-... (Portable Computing Language)\n" per device, or why there is none.
std::string OpenClDeviceReport();
#endif
#ifdef CRAMJET_HAVE_XRT
// Reads the FPGA image at `path` and checks it holds the four kernels; returns its UUID. NotFound
// without the file, InvalidArgument for a file that is not an xclbin or lacks a kernel.
[[nodiscard]] StatusOr<std::string> CheckXclbin(const std::string& path);
// CheckXclbin, then loads the image onto card 0 (its UUID checked); Unavailable without a card.
[[nodiscard]] StatusOr<std::unique_ptr<DeviceRunner>> MakeXrtRunner(const std::string& xclbin);
// "xrt card 0: <name>\n", or why there is none.
std::string XrtDeviceReport();
#endif

}  // namespace cramjet::backend_internal
