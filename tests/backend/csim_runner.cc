#include "csim_runner.h"

#include <cstring>

// The HLS tops (kernels/hls/*.cpp, compiled into this test binary).
extern "C" {
void cramjet_seeds(const uint8_t*, const uint32_t*, const uint32_t*, uint32_t*, uint32_t*, uint32_t);
void cramjet_hamming(const uint64_t*, const uint64_t*, const uint64_t*, const uint32_t*, const uint32_t*,
                     const uint32_t*, const uint32_t*, const uint64_t*, uint32_t*, uint32_t);
void cramjet_align(const uint8_t*, const uint32_t*, const uint8_t*, uint8_t*, int32_t*, uint32_t);
void cramjet_qc(const uint8_t*, const uint8_t*, const uint32_t*, const uint32_t*, uint32_t*, uint32_t*, uint32_t*,
                uint32_t, uint32_t);
}

namespace cramjet::testing {

using backend_internal::DeviceArg;
using backend_internal::DeviceCall;
using backend_internal::DeviceKernel;

Status CsimRunner::Start(size_t slot_id, const DeviceCall& call) {
  Slot* slot;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    slot = &slots_[slot_id];
  }
  if (slot->in_flight) return FailedPrecondition("slot already in flight");
  ++calls_;
  slot->memory.assign(call.args.size(), {});
  slot->outputs.clear();
  std::vector<void*> p(call.args.size(), nullptr);
  std::vector<uint32_t> scalar(call.args.size(), 0);
  for (size_t a = 0; a < call.args.size(); ++a) {
    const DeviceArg& arg = call.args[a];
    if (arg.kind == DeviceArg::Kind::kScalar) {
      scalar[a] = arg.scalar;
      continue;
    }
    // Device memory: 8-byte aligned copies (vector<uint64_t> storage would be tidier; bytes keep it simple).
    auto& m = slot->memory[a];
    m.assign(arg.bytes + 8, 0);
    if (arg.kind != DeviceArg::Kind::kOutput) std::memcpy(m.data(), arg.data, arg.bytes);
    else slot->outputs.push_back({&m, arg.out, arg.bytes});
    p[a] = m.data();
  }
  auto u8 = [&](size_t a) { return static_cast<uint8_t*>(p[a]); };
  auto u32 = [&](size_t a) { return static_cast<uint32_t*>(p[a]); };
  auto u64 = [&](size_t a) { return static_cast<uint64_t*>(p[a]); };
  switch (call.kernel) {
    case DeviceKernel::kSeeds:
      if (call.args.size() != 6) return InvalidArgument("cramjet_seeds takes 6 arguments");
      cramjet_seeds(u8(0), u32(1), u32(2), u32(3), u32(4), scalar[5]);
      break;
    case DeviceKernel::kHamming:
      if (call.args.size() != 10) return InvalidArgument("cramjet_hamming takes 10 arguments");
      cramjet_hamming(u64(0), u64(1), u64(2), u32(3), u32(4), u32(5), u32(6), u64(7), u32(8), scalar[9]);
      break;
    case DeviceKernel::kAlign:
      if (call.args.size() != 6) return InvalidArgument("cramjet_align takes 6 arguments");
      cramjet_align(u8(0), u32(1), u8(2), u8(3), reinterpret_cast<int32_t*>(p[4]), scalar[5]);
      break;
    case DeviceKernel::kQc:
      if (call.args.size() != 9) return InvalidArgument("cramjet_qc takes 9 arguments");
      cramjet_qc(u8(0), u8(1), u32(2), u32(3), u32(4), u32(5), u32(6), scalar[7], scalar[8]);
      break;
  }
  slot->in_flight = true;
  return Status::Ok();
}

Status CsimRunner::Finish(size_t slot_id) {
  Slot* slot;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    slot = &slots_[slot_id];
  }
  if (!slot->in_flight) return FailedPrecondition("no call in flight");
  for (const auto& o : slot->outputs) std::memcpy(o.to, o.from->data(), o.bytes);
  slot->in_flight = false;
  return Status::Ok();
}

Status FaultyRunner::Start(size_t slot, const DeviceCall& call) {
  const size_t n = calls_++;
  if (fault_.kind == Fault::Kind::kStartFails && n >= fault_.after) return Unavailable("injected: the device is gone");
  {
    std::lock_guard<std::mutex> lock(mutex_);
    started_[slot] = {n, call};
  }
  return inner_->Start(slot, call);
}

Status FaultyRunner::Finish(size_t slot) {
  std::pair<size_t, DeviceCall> started;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    started = started_[slot];
  }
  CRAMJET_RETURN_IF_ERROR(inner_->Finish(slot));
  if (fault_.kind == Fault::Kind::kFinishFails && started.first >= fault_.after)
    return Unavailable("injected: the kernel timed out");
  if (fault_.kind == Fault::Kind::kCorrupt && started.first >= fault_.after && fault_.corrupt)
    fault_.corrupt(started.second.kernel, started.second.args);
  return Status::Ok();
}

}  // namespace cramjet::testing
