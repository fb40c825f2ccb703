// The XRT device runner: the four Vitis HLS kernels of kernels/hls, built into cramjet.xclbin by
// firmware/, on a Xilinx card through XRT's native API (xrt::device, xrt::xclbin, xrt::kernel,
// xrt::bo). The xclbin is read and its kernels checked before any device is opened, so a wrong
// or incomplete image is refused with its path whether or not a card is present; the card then
// has to take the image (its loaded UUID must be the file's). Each slot has its own xrt::run per
// kernel and buffer objects per argument, grown when a chunk needs more and kept for the next.
//
// No card and no Vitis here: everything up to the device calls (the image checks, packing, the
// argument order shared with OpenCL, the refusal) is tested; the transfers and runs below are
// compiled and linked, never executed on this machine (docs/accelerators.md).
#include <experimental/xrt_xclbin.h>
#include <xrt/xrt_bo.h>
#include <xrt/xrt_device.h>
#include <xrt/xrt_kernel.h>

#include <chrono>
#include <filesystem>
#include <map>
#include <mutex>
#include <set>

#include "backend/device.h"

namespace cramjet::backend_internal {
namespace {

constexpr DeviceKernel kAllKernels[] = {DeviceKernel::kSeeds, DeviceKernel::kHamming, DeviceKernel::kAlign,
                                        DeviceKernel::kQc};

StatusOr<xrt::xclbin> LoadCheckedXclbin(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec))
    return NotFound("--accel xrt: no FPGA image at '" + path + "' (build it with firmware/, or pass --xclbin)");
  xrt::xclbin xclbin;
  try {
    xclbin = xrt::xclbin(path);
  } catch (const std::exception& e) {
    return InvalidArgument("--accel xrt: '" + path + "' is not an xclbin (" + e.what() + ")");
  }
  // Compute units are named "<kernel>:<instance>" in the image's IP layout.
  std::set<std::string> kernels;
  try {
    for (const auto& ip : xclbin.get_ips()) {
      const std::string name = ip.get_name();
      kernels.insert(name.substr(0, name.find(':')));
    }
  } catch (const std::exception& e) {
    return InvalidArgument("--accel xrt: '" + path + "': its IP layout cannot be read (" + e.what() + ")");
  }
  std::string missing;
  for (DeviceKernel k : kAllKernels) {
    if (!kernels.count(DeviceKernelName(k))) missing += std::string(missing.empty() ? "" : ", ") + DeviceKernelName(k);
  }
  if (!missing.empty())
    return InvalidArgument("--accel xrt: '" + path + "' (UUID " + xclbin.get_uuid().to_string() +
                           ") lacks the kernels " + missing + " (is it cramjet's image from firmware/?)");
  return xclbin;
}

class XrtRunner final : public DeviceRunner {
 public:
  std::string Name() const override { return "xrt:" + device_name_; }
  AccelKind kind() const override { return AccelKind::kXrt; }

  Status Open(const std::string& path) {
    CRAMJET_ASSIGN_OR_RETURN(xclbin_, LoadCheckedXclbin(path));
    try {
      device_ = xrt::device(0u);
    } catch (const std::exception& e) {
      return Unavailable("--accel xrt: no Xilinx card could be opened (" + std::string(e.what()) + ")");
    }
    try {
      device_name_ = device_.get_info<xrt::info::device::name>();
      uuid_ = device_.load_xclbin(xclbin_);
      if (device_.get_xclbin_uuid() != xclbin_.get_uuid())
        return Unavailable("--accel xrt: the card did not keep '" + path + "' (its loaded image has UUID " +
                           device_.get_xclbin_uuid().to_string() + ")");
      for (DeviceKernel k : kAllKernels) kernels_[static_cast<size_t>(k)] = xrt::kernel(device_, uuid_, DeviceKernelName(k));
    } catch (const std::exception& e) {
      return Unavailable("--accel xrt: loading '" + path + "' onto " + device_name_ + " failed: " + e.what());
    }
    return Status::Ok();
  }

  Status Start(size_t slot_id, const DeviceCall& call) override {
    try {
      Slot& slot = SlotFor(slot_id);
      xrt::kernel& kernel = kernels_[static_cast<size_t>(call.kernel)];
      auto& run = slot.runs[static_cast<size_t>(call.kernel)];
      if (!run) run = xrt::run(kernel);
      slot.outputs.clear();
      auto& buffers = slot.buffers[static_cast<size_t>(call.kernel)];
      if (buffers.size() < call.args.size()) buffers.resize(call.args.size());
      for (size_t a = 0; a < call.args.size(); ++a) {
        const DeviceArg& arg = call.args[a];
        const int index = static_cast<int>(a);
        if (arg.kind == DeviceArg::Kind::kScalar) {
          run.set_arg(index, arg.scalar);
          continue;
        }
        if (arg.kind == DeviceArg::Kind::kResident) {
          slot.resident = Resident(kernel, index, arg);  // held until Finish
          run.set_arg(index, *slot.resident);
          continue;
        }
        Buffer& b = buffers[a];
        if (b.capacity < arg.bytes) {
          const size_t capacity = arg.bytes + arg.bytes / 4;
          xrt::bo grown(device_, capacity, xrt::bo::flags::normal, kernel.group_id(index));  // may throw: b stays whole
          b.bo = std::move(grown);
          b.capacity = capacity;
        }
        if (arg.kind == DeviceArg::Kind::kInput) {
          b.bo.write(arg.data, arg.bytes, 0);
          b.bo.sync(XCL_BO_SYNC_BO_TO_DEVICE, arg.bytes, 0);
        } else {
          if (arg.zeroed) {
            std::vector<uint8_t> zeros(arg.bytes, 0);
            b.bo.write(zeros.data(), arg.bytes, 0);
            b.bo.sync(XCL_BO_SYNC_BO_TO_DEVICE, arg.bytes, 0);
          }
          slot.outputs.push_back({&b.bo, arg.out, arg.bytes});
        }
        run.set_arg(index, b.bo);
      }
      run.start();
      slot.running = &run;
    } catch (const std::exception& e) {
      return Unavailable(std::string("starting the kernel failed: ") + e.what());
    }
    return Status::Ok();
  }

  Status Finish(size_t slot_id) override {
    try {
      Slot& slot = SlotFor(slot_id);
      if (!slot.running) return FailedPrecondition("no call in flight on this slot");
      // A card that never finishes must not hold the job forever: ten minutes is far beyond any
      // chunk's time (a chunk is at most 64 MiB of traces or 64 Ki jobs).
      const ert_cmd_state state = slot.running->wait(std::chrono::minutes(10));
      slot.running = nullptr;
      slot.resident.reset();
      if (state != ERT_CMD_STATE_COMPLETED)
        return Unavailable("the kernel ended in state " + std::to_string(static_cast<int>(state)));
      for (const auto& o : slot.outputs) {
        o.bo->sync(XCL_BO_SYNC_BO_FROM_DEVICE, o.bytes, 0);
        o.bo->read(o.out, o.bytes, 0);
      }
      slot.outputs.clear();
    } catch (const std::exception& e) {
      return Unavailable(std::string("waiting for the kernel failed: ") + e.what());
    }
    return Status::Ok();
  }

 private:
  struct Buffer {
    xrt::bo bo;
    size_t capacity = 0;
  };
  struct Slot {
    xrt::run runs[kDeviceKernelCount];
    std::vector<Buffer> buffers[kDeviceKernelCount];  // per kernel, per argument index
    struct Output { xrt::bo* bo; void* out; size_t bytes; };
    std::vector<Output> outputs;
    xrt::run* running = nullptr;
    std::shared_ptr<const xrt::bo> resident;  // the reference of the call in flight
  };

  Slot& SlotFor(size_t id) {
    std::lock_guard<std::mutex> lock(mutex_);
    return slots_[id];
  }
  // The reference, uploaded once per reference and shared by the slots; each call in flight
  // holds its own reference to the buffer, so replacing one never frees what a kernel reads.
  std::shared_ptr<const xrt::bo> Resident(const xrt::kernel& kernel, int index, const DeviceArg& arg) {
    std::lock_guard<std::mutex> lock(mutex_);
    if (arg.resident_id != 0)
      for (const auto& [id, bo] : residents_)
        if (id == arg.resident_id) return bo;
    auto bo = std::make_shared<xrt::bo>(device_, arg.bytes, xrt::bo::flags::normal, kernel.group_id(index));
    bo->write(arg.data, arg.bytes, 0);
    bo->sync(XCL_BO_SYNC_BO_TO_DEVICE);
    if (arg.resident_id != 0) {
      if (residents_.size() >= 2) residents_.erase(residents_.begin());
      residents_.emplace_back(arg.resident_id, bo);
    }
    return bo;
  }

  xrt::xclbin xclbin_;
  xrt::device device_;
  xrt::uuid uuid_;
  std::string device_name_;
  xrt::kernel kernels_[kDeviceKernelCount];
  std::mutex mutex_;
  std::map<size_t, Slot> slots_;
  std::vector<std::pair<uint64_t, std::shared_ptr<const xrt::bo>>> residents_;  // oldest first
};

}  // namespace

std::string XrtDeviceReport() {
  try {
    xrt::device device(0u);
    return "xrt card 0: " + device.get_info<xrt::info::device::name>() + "\n";
  } catch (const std::exception& e) {
    return std::string("xrt: no card (") + e.what() + ")\n";
  }
}

StatusOr<std::string> CheckXclbin(const std::string& path) {
  CRAMJET_ASSIGN_OR_RETURN(xrt::xclbin xclbin, LoadCheckedXclbin(path));
  return xclbin.get_uuid().to_string();
}

StatusOr<std::unique_ptr<DeviceRunner>> MakeXrtRunner(const std::string& xclbin) {
  auto runner = std::make_unique<XrtRunner>();
  CRAMJET_RETURN_IF_ERROR(runner->Open(xclbin));
  return std::unique_ptr<DeviceRunner>(std::move(runner));
}

}  // namespace cramjet::backend_internal
