// Device runners for the tests: the Vitis HLS kernels of kernels/hls compiled for the host (C
// simulation) behind the same DeviceRunner interface as OpenCL and XRT, and a runner that wraps
// another and misbehaves on purpose.
#pragma once

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <vector>

#include "backend/device.h"

namespace cramjet::testing {

// Runs each call on copies of its inputs (the device's memory), so a runner that read host memory
// after Start, or wrote outputs anywhere but their own arguments, would be caught by the tests.
class CsimRunner final : public backend_internal::DeviceRunner {
 public:
  std::string Name() const override { return "hls-csim"; }
  AccelKind kind() const override { return AccelKind::kXrt; }
  Status Start(size_t slot, const backend_internal::DeviceCall& call) override;
  Status Finish(size_t slot) override;
  size_t calls() const { return calls_.load(); }

 private:
  struct Slot {
    std::vector<std::vector<uint8_t>> memory;  // per argument
    struct Output { const std::vector<uint8_t>* from; void* to; size_t bytes; };
    std::vector<Output> outputs;
    bool in_flight = false;
  };
  std::mutex mutex_;
  std::map<size_t, Slot> slots_;
  std::atomic<size_t> calls_{0};
};

// What the misbehaving runner does, on the `after`-th call (counting from 0) and every later one.
struct Fault {
  enum class Kind { kNone, kStartFails, kFinishFails, kCorrupt } kind = Kind::kNone;
  size_t after = 0;
  // kCorrupt: changes the outputs of a finished call (it gets the call's kernel and outputs).
  std::function<void(backend_internal::DeviceKernel, std::vector<backend_internal::DeviceArg>&)> corrupt;
};

class FaultyRunner final : public backend_internal::DeviceRunner {
 public:
  FaultyRunner(std::unique_ptr<backend_internal::DeviceRunner> inner, Fault fault)
      : inner_(std::move(inner)), fault_(std::move(fault)) {}
  std::string Name() const override { return "faulty(" + inner_->Name() + ")"; }
  AccelKind kind() const override { return inner_->kind(); }
  Status Start(size_t slot, const backend_internal::DeviceCall& call) override;
  Status Finish(size_t slot) override;
  size_t calls() const { return calls_.load(); }

 private:
  std::unique_ptr<backend_internal::DeviceRunner> inner_;
  Fault fault_;
  std::atomic<size_t> calls_{0};
  std::mutex mutex_;
  std::map<size_t, std::pair<size_t, backend_internal::DeviceCall>> started_;  // slot -> (call number, call)
};

}  // namespace cramjet::testing
