// OpenCL backend: the Hamming check runs as the OpenCL C kernel in kernels/opencl/hamming.cl
// (through whatever OpenCL platform is installed: PoCL on the CPU here), one work-item per job;
// seed extraction and banded alignment stay on the SIMD host kernels. Same results as scalar.
#define CL_TARGET_OPENCL_VERSION 120
#include <CL/cl.h>

#include <mutex>

#include "backend/backend.h"
#include "cramjet/log.h"
#include "cramjet_opencl_sources.h"  // kOpenClSource: kernel_shape.h + hamming.cl (generated)

namespace cramjet::backend_internal {
namespace {

class OpenClBackend final : public Backend {
 public:
  ~OpenClBackend() override {
    if (reference_buffer_) clReleaseMemObject(reference_buffer_);
    if (kernel_) clReleaseKernel(kernel_);
    if (program_) clReleaseProgram(program_);
    if (queue_) clReleaseCommandQueue(queue_);
    if (context_) clReleaseContext(context_);
  }

  Status Init() {
    cl_uint platforms = 0;
    if (clGetPlatformIDs(0, nullptr, &platforms) != CL_SUCCESS || platforms == 0)
      return Unavailable("--accel opencl: no OpenCL platform is installed");
    std::vector<cl_platform_id> ids(platforms);
    clGetPlatformIDs(platforms, ids.data(), nullptr);
    for (cl_platform_id p : ids) {
      cl_uint n = 0;
      if (clGetDeviceIDs(p, CL_DEVICE_TYPE_ALL, 1, &device_, &n) == CL_SUCCESS && n > 0) break;
      device_ = nullptr;
    }
    if (!device_) return Unavailable("--accel opencl: no OpenCL device found");
    char name[256] = {};
    clGetDeviceInfo(device_, CL_DEVICE_NAME, sizeof name - 1, name, nullptr);
    device_name_ = name;
    cl_int err = CL_SUCCESS;
    context_ = clCreateContext(nullptr, 1, &device_, nullptr, nullptr, &err);
    if (err != CL_SUCCESS) return Unavailable("--accel opencl: cannot create a context on " + device_name_);
    queue_ = clCreateCommandQueue(context_, device_, 0, &err);
    if (err != CL_SUCCESS) return Unavailable("--accel opencl: cannot create a command queue");
    const char* source = kOpenClSource;
    program_ = clCreateProgramWithSource(context_, 1, &source, nullptr, &err);
    if (err != CL_SUCCESS || clBuildProgram(program_, 1, &device_, "", nullptr, nullptr) != CL_SUCCESS) {
      std::string log(16384, '\0');
      clGetProgramBuildInfo(program_, device_, CL_PROGRAM_BUILD_LOG, log.size() - 1, log.data(), nullptr);
      return Internal("--accel opencl: kernel build failed: " + std::string(log.c_str()));
    }
    kernel_ = clCreateKernel(program_, "cramjet_hamming", &err);
    if (err != CL_SUCCESS) return Internal("--accel opencl: kernel cramjet_hamming not found");
    host_ = AvailableSimdTargets().empty() ? MakeScalarBackend() : MakeSimdBackend();
    return Status::Ok();
  }

  std::string Name() const override { return "opencl:" + device_name_ + "+" + host_->Name(); }
  AccelKind kind() const override { return AccelKind::kOpenCL; }
  void ExtractSeeds(const SeedInput& input, SeedOutput& out) const override { host_->ExtractSeeds(input, out); }
  void AlignBanded(const AlignJob* jobs, size_t count, AlignOutput& out) const override {
    host_->AlignBanded(jobs, count, out);
  }

  void VerifyHamming(const PackedReference& reference, const PackedSequences& reads, const VerifyJob* jobs,
                     size_t count, uint32_t* mismatches) const override {
    if (count == 0) return;
    if (!RunHamming(reference, reads, jobs, count, mismatches)) {
      // A device error must not lose the batch: the scalar twin gives the same numbers.
      CJ_LOG(kWarning) << "OpenCL Hamming kernel failed; this batch was checked on the host";
      for (size_t j = 0; j < count; ++j) mismatches[j] = HammingScalar(reference, reads, jobs[j]);
    }
  }

 private:
  bool RunHamming(const PackedReference& reference, const PackedSequences& reads, const VerifyJob* jobs,
                  size_t count, uint32_t* mismatches) const {
    std::lock_guard<std::mutex> lock(mutex_);
    cl_int err = CL_SUCCESS;
    // The reference is uploaded once and kept while the caller keeps giving the same one.
    const size_t ref_words = reference.length / CJ_BASES_PER_WORD + 16;
    if (reference.words != reference_words_ || reference.length != reference_length_) {
      if (reference_buffer_) clReleaseMemObject(reference_buffer_);
      reference_buffer_ = clCreateBuffer(context_, CL_MEM_READ_ONLY | CL_MEM_COPY_HOST_PTR, ref_words * 8,
                                         const_cast<uint64_t*>(reference.words), &err);
      if (err != CL_SUCCESS) return false;
      reference_words_ = reference.words;
      reference_length_ = reference.length;
    }
    // Only the sequences the jobs use, renumbered.
    std::vector<uint32_t> seq, max_mm, offsets, lengths;
    std::vector<uint64_t> start, words, masks;
    std::vector<int64_t> renumber;
    for (size_t j = 0; j < count; ++j) {
      const uint32_t s = jobs[j].sequence;
      if (renumber.size() <= s) renumber.resize(s + 1, -1);
      if (renumber[s] < 0) {
        renumber[s] = static_cast<int64_t>(lengths.size());
        const uint32_t n = reads.lengths[s];
        const uint32_t nw = (n + CJ_BASES_PER_WORD - 1) / CJ_BASES_PER_WORD;
        offsets.push_back(static_cast<uint32_t>(words.size()));
        lengths.push_back(n);
        words.insert(words.end(), reads.words + reads.word_offsets[s], reads.words + reads.word_offsets[s] + nw);
        masks.insert(masks.end(), reads.n_masks + reads.word_offsets[s], reads.n_masks + reads.word_offsets[s] + nw);
      }
      seq.push_back(static_cast<uint32_t>(renumber[s]));
      max_mm.push_back(jobs[j].max_mismatches);
      start.push_back(jobs[j].ref_start);
    }
    words.push_back(0);
    masks.push_back(0);
    struct Buffer {
      cl_mem mem = nullptr;
      ~Buffer() { if (mem) clReleaseMemObject(mem); }
    } b_words, b_masks, b_offsets, b_lengths, b_seq, b_max, b_start, b_out;
    auto input = [&](Buffer& b, const void* data, size_t bytes) {
      b.mem = clCreateBuffer(context_, CL_MEM_READ_ONLY | CL_MEM_COPY_HOST_PTR, bytes, const_cast<void*>(data), &err);
      return err == CL_SUCCESS;
    };
    if (!input(b_words, words.data(), words.size() * 8) || !input(b_masks, masks.data(), masks.size() * 8) ||
        !input(b_offsets, offsets.data(), offsets.size() * 4) || !input(b_lengths, lengths.data(), lengths.size() * 4) ||
        !input(b_seq, seq.data(), count * 4) || !input(b_max, max_mm.data(), count * 4) ||
        !input(b_start, start.data(), count * 8))
      return false;
    b_out.mem = clCreateBuffer(context_, CL_MEM_WRITE_ONLY, count * 4, nullptr, &err);
    if (err != CL_SUCCESS) return false;
    const cl_uint job_count = static_cast<cl_uint>(count);
    cl_mem args[] = {reference_buffer_, b_words.mem, b_masks.mem, b_offsets.mem, b_lengths.mem,
                     b_seq.mem, b_max.mem, b_start.mem, b_out.mem};
    for (cl_uint a = 0; a < 9; ++a)
      if (clSetKernelArg(kernel_, a, sizeof(cl_mem), &args[a]) != CL_SUCCESS) return false;
    if (clSetKernelArg(kernel_, 9, sizeof job_count, &job_count) != CL_SUCCESS) return false;
    const size_t local = 64;
    const size_t global = (count + local - 1) / local * local;
    if (clEnqueueNDRangeKernel(queue_, kernel_, 1, nullptr, &global, &local, 0, nullptr, nullptr) != CL_SUCCESS)
      return false;
    return clEnqueueReadBuffer(queue_, b_out.mem, CL_TRUE, 0, count * 4, mismatches, 0, nullptr, nullptr) ==
           CL_SUCCESS;
  }

  cl_device_id device_ = nullptr;
  std::string device_name_;
  cl_context context_ = nullptr;
  cl_command_queue queue_ = nullptr;
  cl_program program_ = nullptr;
  cl_kernel kernel_ = nullptr;
  std::unique_ptr<Backend> host_;
  mutable std::mutex mutex_;
  mutable cl_mem reference_buffer_ = nullptr;
  mutable const uint64_t* reference_words_ = nullptr;
  mutable uint64_t reference_length_ = 0;
};

}  // namespace

StatusOr<std::unique_ptr<Backend>> MakeOpenClBackend() {
  auto backend = std::make_unique<OpenClBackend>();
  CRAMJET_RETURN_IF_ERROR(backend->Init());
  return std::unique_ptr<Backend>(std::move(backend));
}

}  // namespace cramjet::backend_internal
