// The OpenCL device runner: all four kernels of kernels/opencl built at run time by the installed
// OpenCL platform (PoCL on the CPU here, the GPU vendor's driver elsewhere). Each slot has its own
// in-order command queue, kernel objects (argument setting is not thread-safe across calls) and
// device buffers, grown when a chunk needs more and kept for the next one; transfers are queued
// without blocking, so a slot's upload, kernel and download overlap the host's work on the other
// slot. The reference (the Hamming kernel's resident argument) is uploaded once per reference.
#define CL_TARGET_OPENCL_VERSION 120
#include <CL/cl.h>

#include <map>
#include <mutex>

#include "backend/device.h"
#include "cramjet/log.h"
#include "cramjet_opencl_sources.h"  // kOpenClSource: kernel_shape.h + kernels/opencl/*.cl (generated)

namespace cramjet::backend_internal {
namespace {

std::string ClError(const std::string& what, cl_int err) { return what + " failed (OpenCL error " + std::to_string(err) + ")"; }

std::string DeviceString(cl_device_id device, cl_device_info what) {
  char text[256] = {};
  clGetDeviceInfo(device, what, sizeof text - 1, text, nullptr);
  return text;
}
std::string PlatformString(cl_platform_id platform, cl_platform_info what) {
  char text[256] = {};
  clGetPlatformInfo(platform, what, sizeof text - 1, text, nullptr);
  return text;
}

std::vector<cl_platform_id> Platforms() {
  cl_uint n = 0;
  if (clGetPlatformIDs(0, nullptr, &n) != CL_SUCCESS || n == 0) return {};
  std::vector<cl_platform_id> ids(n);
  if (clGetPlatformIDs(n, ids.data(), nullptr) != CL_SUCCESS) return {};
  return ids;
}
std::vector<cl_device_id> Devices(cl_platform_id platform) {
  cl_uint n = 0;
  if (clGetDeviceIDs(platform, CL_DEVICE_TYPE_ALL, 0, nullptr, &n) != CL_SUCCESS || n == 0) return {};
  std::vector<cl_device_id> ids(n);
  if (clGetDeviceIDs(platform, CL_DEVICE_TYPE_ALL, n, ids.data(), nullptr) != CL_SUCCESS) return {};
  return ids;
}

struct ClBuffer {
  cl_mem mem = nullptr;
  size_t capacity = 0;
  ClBuffer() = default;
  ClBuffer(const ClBuffer&) = delete;
  ClBuffer& operator=(const ClBuffer&) = delete;
  ~ClBuffer() { Release(); }
  void Release() {
    if (mem) clReleaseMemObject(mem);
    mem = nullptr;
    capacity = 0;
  }
};

class OpenClRunner final : public DeviceRunner {
 public:
  ~OpenClRunner() override {
    for (auto& [id, slot] : slots_) {
      if (slot->queue) clFinish(slot->queue), clReleaseCommandQueue(slot->queue);
      for (cl_kernel k : slot->kernels) if (k) clReleaseKernel(k);
    }
    slots_.clear();
    residents_.clear();
    if (program_) clReleaseProgram(program_);
    if (context_) clReleaseContext(context_);
  }

  Status Init(int platform_index, int device_index) {
    const auto platforms = Platforms();
    if (platforms.empty()) return Unavailable("--accel opencl: no OpenCL platform is installed (see clinfo)");
    if (platform_index >= 0) {
      if (static_cast<size_t>(platform_index) >= platforms.size())
        return InvalidArgument("--accel opencl:" + std::to_string(platform_index) + ":" + std::to_string(device_index) +
                               ": there are " + std::to_string(platforms.size()) + " OpenCL platforms (0 to " +
                               std::to_string(platforms.size() - 1) + ")");
      const auto devices = Devices(platforms[platform_index]);
      if (device_index < 0 || static_cast<size_t>(device_index) >= devices.size())
        return InvalidArgument("--accel opencl:" + std::to_string(platform_index) + ":" + std::to_string(device_index) +
                               ": platform " + std::to_string(platform_index) + " has " +
                               std::to_string(devices.size()) + " devices");
      device_ = devices[device_index];
    } else {
      for (cl_platform_id p : platforms) {
        const auto devices = Devices(p);
        if (!devices.empty()) { device_ = devices[0]; break; }
      }
      if (!device_) return Unavailable("--accel opencl: no OpenCL device found (see clinfo)");
    }
    device_name_ = DeviceString(device_, CL_DEVICE_NAME);
    cl_int err = CL_SUCCESS;
    context_ = clCreateContext(nullptr, 1, &device_, nullptr, nullptr, &err);
    if (err != CL_SUCCESS) return Unavailable("--accel opencl: " + ClError("clCreateContext on " + device_name_, err));
    const char* source = kOpenClSource;
    program_ = clCreateProgramWithSource(context_, 1, &source, nullptr, &err);
    if (err != CL_SUCCESS) return Unavailable("--accel opencl: " + ClError("clCreateProgramWithSource", err));
    if (clBuildProgram(program_, 1, &device_, "", nullptr, nullptr) != CL_SUCCESS) {
      std::string log(16384, '\0');
      clGetProgramBuildInfo(program_, device_, CL_PROGRAM_BUILD_LOG, log.size() - 1, log.data(), nullptr);
      return Internal("--accel opencl: the kernels do not build on " + device_name_ + ": " + std::string(log.c_str()));
    }
    // One slot now: a kernel missing from the program shows at start-up, not mid-job.
    return SlotFor(0).status();
  }

  std::string Name() const override { return "opencl:" + device_name_; }
  AccelKind kind() const override { return AccelKind::kOpenCL; }

  Status Start(size_t slot_id, const DeviceCall& call) override {
    CRAMJET_ASSIGN_OR_RETURN(Slot* slot, SlotFor(slot_id));
    slot->outputs.clear();
    const bool qc = call.kernel == DeviceKernel::kQc;
    cl_kernel kernels[2] = {slot->kernels[static_cast<size_t>(call.kernel)], qc ? slot->kernels[kDeviceKernelCount] : nullptr};
    // Buffers per kernel and argument: an argument index is an input of one kernel and an output
    // of another, and a buffer's read/write flags must match its use.
    auto& buffers = slot->buffers[static_cast<size_t>(call.kernel)];
    if (buffers.size() < call.args.size()) buffers = std::vector<ClBuffer>(call.args.size());
    slot->resident.reset();
    for (size_t a = 0; a < call.args.size(); ++a) {
      const DeviceArg& arg = call.args[a];
      cl_int err = CL_SUCCESS;
      if (arg.kind == DeviceArg::Kind::kScalar) {
        for (cl_kernel k : kernels)
          if (k && (err = clSetKernelArg(k, static_cast<cl_uint>(a), sizeof arg.scalar, &arg.scalar)) != CL_SUCCESS)
            return Unavailable(ClError("clSetKernelArg", err));
        continue;
      }
      cl_mem mem = nullptr;
      if (arg.kind == DeviceArg::Kind::kResident) {
        CRAMJET_ASSIGN_OR_RETURN(slot->resident, Resident(arg));  // held until Finish
        mem = slot->resident->mem;
      } else {
        ClBuffer& b = buffers[a];
        if (b.capacity < arg.bytes) {
          b.Release();
          const size_t capacity = arg.bytes + arg.bytes / 4;  // room for the next, slightly larger chunk
          b.mem = clCreateBuffer(context_, arg.kind == DeviceArg::Kind::kOutput ? CL_MEM_READ_WRITE : CL_MEM_READ_ONLY,
                                 capacity, nullptr, &err);
          if (err != CL_SUCCESS) {
            b.mem = nullptr;
            return Unavailable(ClError("clCreateBuffer", err));
          }
          b.capacity = capacity;
        }
        mem = b.mem;
        if (arg.kind == DeviceArg::Kind::kInput) {
          err = clEnqueueWriteBuffer(slot->queue, mem, CL_FALSE, 0, arg.bytes, arg.data, 0, nullptr, nullptr);
          if (err != CL_SUCCESS) return Unavailable(ClError("clEnqueueWriteBuffer", err));
        } else {
          if (arg.zeroed) {
            const cl_uchar zero = 0;
            err = clEnqueueFillBuffer(slot->queue, mem, &zero, 1, 0, arg.bytes, 0, nullptr, nullptr);
            if (err != CL_SUCCESS) return Unavailable(ClError("clEnqueueFillBuffer", err));
          }
          slot->outputs.push_back({mem, arg.out, arg.bytes});
        }
      }
      for (cl_kernel k : kernels)
        if (k && (err = clSetKernelArg(k, static_cast<cl_uint>(a), sizeof mem, &mem)) != CL_SUCCESS)
          return Unavailable(ClError("clSetKernelArg", err));
    }
    // The work-group size is the platform's choice (a device may allow fewer than 64 per group).
    const size_t global = call.items;
    cl_int err = clEnqueueNDRangeKernel(slot->queue, kernels[0], 1, nullptr, &global, nullptr, 0, nullptr, nullptr);
    if (err != CL_SUCCESS) return Unavailable(ClError("clEnqueueNDRangeKernel", err));
    if (qc) {  // the per-cycle columns: one work-item per cycle (kernels/opencl/qc.cl)
      const size_t cycles = CJ_QC_MAX_CYCLES;
      err = clEnqueueNDRangeKernel(slot->queue, kernels[1], 1, nullptr, &cycles, nullptr, 0, nullptr, nullptr);
      if (err != CL_SUCCESS) return Unavailable(ClError("clEnqueueNDRangeKernel", err));
    }
    for (const auto& o : slot->outputs) {
      err = clEnqueueReadBuffer(slot->queue, o.mem, CL_FALSE, 0, o.bytes, o.out, 0, nullptr, nullptr);
      if (err != CL_SUCCESS) return Unavailable(ClError("clEnqueueReadBuffer", err));
    }
    err = clFlush(slot->queue);
    return err == CL_SUCCESS ? Status::Ok() : Unavailable(ClError("clFlush", err));
  }

  Status Finish(size_t slot_id) override {
    CRAMJET_ASSIGN_OR_RETURN(Slot* slot, SlotFor(slot_id));
    const cl_int err = clFinish(slot->queue);
    slot->outputs.clear();
    slot->resident.reset();
    return err == CL_SUCCESS ? Status::Ok() : Unavailable(ClError("clFinish", err));
  }

 private:
  struct Slot {
    cl_command_queue queue = nullptr;
    cl_kernel kernels[kDeviceKernelCount + 1] = {};  // + cramjet_qc_cycles
    std::vector<ClBuffer> buffers[kDeviceKernelCount];  // per kernel, per argument index
    std::shared_ptr<ClBuffer> resident;                 // the reference of the call in flight
    struct Output { cl_mem mem; void* out; size_t bytes; };
    std::vector<Output> outputs;
  };

  StatusOr<Slot*> SlotFor(size_t id) {
    std::lock_guard<std::mutex> lock(mutex_);
    auto& slot = slots_[id];
    if (slot) return slot.get();
    auto fresh = std::make_unique<Slot>();
    cl_int err = CL_SUCCESS;
    fresh->queue = clCreateCommandQueue(context_, device_, 0, &err);
    if (err != CL_SUCCESS) return Unavailable(ClError("clCreateCommandQueue", err));
    const char* names[kDeviceKernelCount + 1] = {"cramjet_seeds", "cramjet_hamming", "cramjet_align", "cramjet_qc_reads",
                                                 "cramjet_qc_cycles"};
    for (size_t k = 0; k <= kDeviceKernelCount; ++k) {
      fresh->kernels[k] = clCreateKernel(program_, names[k], &err);
      if (err != CL_SUCCESS) {
        for (cl_kernel made : fresh->kernels) if (made) clReleaseKernel(made);
        clReleaseCommandQueue(fresh->queue);
        return Internal(std::string("--accel opencl: kernel ") + names[k] + " is not in the program");
      }
    }
    slot = std::move(fresh);
    return slot.get();
  }

  // The resident argument (the reference): uploaded once per reference and shared by the slots.
  // Each call in flight holds its own reference to the buffer, so replacing one (a daemon's jobs
  // on different references) never frees a buffer a queued kernel reads; two are kept.
  StatusOr<std::shared_ptr<ClBuffer>> Resident(const DeviceArg& arg) {
    std::lock_guard<std::mutex> lock(mutex_);
    if (arg.resident_id != 0) {
      for (const auto& [id, buffer] : residents_)
        if (id == arg.resident_id) return buffer;
    }
    auto b = std::make_shared<ClBuffer>();
    cl_int err = CL_SUCCESS;
    b->mem = clCreateBuffer(context_, CL_MEM_READ_ONLY | CL_MEM_COPY_HOST_PTR, arg.bytes, const_cast<void*>(arg.data), &err);
    if (err != CL_SUCCESS) {
      b->mem = nullptr;
      return Unavailable(ClError("uploading the reference (clCreateBuffer)", err));
    }
    b->capacity = arg.bytes;
    if (arg.resident_id != 0) {
      if (residents_.size() >= 2) residents_.erase(residents_.begin());
      residents_.emplace_back(arg.resident_id, b);
    }
    return b;
  }

  cl_device_id device_ = nullptr;
  std::string device_name_;
  cl_context context_ = nullptr;
  cl_program program_ = nullptr;
  std::mutex mutex_;
  std::map<size_t, std::unique_ptr<Slot>> slots_;
  std::vector<std::pair<uint64_t, std::shared_ptr<ClBuffer>>> residents_;  // oldest first
};

}  // namespace

StatusOr<std::unique_ptr<DeviceRunner>> MakeOpenClRunner(int platform, int device) {
  auto runner = std::make_unique<OpenClRunner>();
  CRAMJET_RETURN_IF_ERROR(runner->Init(platform, device));
  return std::unique_ptr<DeviceRunner>(std::move(runner));
}

std::string OpenClDeviceReport() {
  const auto platforms = Platforms();
  if (platforms.empty()) return "opencl: no platform installed\n";
  std::string report;
  for (size_t p = 0; p < platforms.size(); ++p) {
    const auto devices = Devices(platforms[p]);
    for (size_t d = 0; d < devices.size(); ++d) {
      report += "opencl device " + std::to_string(p) + ":" + std::to_string(d) + ": " +
                DeviceString(devices[d], CL_DEVICE_NAME) + " (" + PlatformString(platforms[p], CL_PLATFORM_NAME) + ")\n";
    }
  }
  return report.empty() ? "opencl: no device\n" : report;
}

}  // namespace cramjet::backend_internal
