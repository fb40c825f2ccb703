// Backend selection and the scalar / SIMD backends (thin wrappers over the kernels).
#include <hwy/targets.h>

#include "backend/backend.h"
#include "cramjet/log.h"

namespace cramjet {

StatusOr<AccelKind> ParseAccelKind(std::string_view text) {
  if (text == "auto") return AccelKind::kAuto;
  if (text == "simd") return AccelKind::kSimd;
  if (text == "scalar") return AccelKind::kScalar;
  if (text == "opencl") return AccelKind::kOpenCL;
  if (text == "xrt") return AccelKind::kXrt;
  return InvalidArgument("unknown accelerator '" + std::string(text) +
                         "' (expected auto, simd, scalar or opencl)");
}

const char* AccelKindName(AccelKind kind) {
  switch (kind) {
    case AccelKind::kAuto: return "auto";
    case AccelKind::kSimd: return "simd";
    case AccelKind::kScalar: return "scalar";
    case AccelKind::kOpenCL: return "opencl";
    case AccelKind::kXrt: return "xrt";
  }
  return "?";
}

namespace backend_internal {
namespace {

class ScalarBackend final : public Backend {
 public:
  std::string Name() const override { return "scalar"; }
  AccelKind kind() const override { return AccelKind::kScalar; }
  void ExtractSeeds(const SeedInput& input, SeedOutput& out) const override {
    out.seeds.clear();
    out.seed_offsets.assign(1, 0);
    for (size_t s = 0; s < input.count; ++s) {
      size_t length;
      const uint8_t* codes = SeedSequence(input, s, length);
      if (input.sample != SeedSample::kAll) SampledMinimizers(codes, length, input.sample, out.seeds);
      else ExtractSeedsOneScalar(codes, length, out.seeds);
      out.seed_offsets.push_back(static_cast<uint32_t>(out.seeds.size()));
    }
  }
  void VerifyHamming(const PackedReference& reference, const PackedSequences& reads,
                     const VerifyJob* jobs, size_t count, uint32_t* mismatches) const override {
    for (size_t j = 0; j < count; ++j) {
      PrefetchVerifyJob(reference, jobs, count, j);
      mismatches[j] = HammingScalar(reference, reads, jobs[j]);
    }
  }
  void AlignBanded(const AlignJob* jobs, size_t count, AlignOutput& out) const override {
    out.results.assign(count, AlignResult{});
    out.cigar.clear();
    std::vector<int16_t> tb;
    for (size_t j = 0; j < count; ++j) {
      if (jobs[j].read_length == 0 || jobs[j].read_length > CJ_MAX_ALIGN_LENGTH) continue;
      AlignBandedScalar(jobs[j], tb, out.results[j], out.cigar);
    }
  }
};

class SimdBackend final : public Backend {
 public:
  std::string Name() const override {
    return std::string("simd:") + hwy::TargetName(ChosenSimdTarget());
  }
  AccelKind kind() const override { return AccelKind::kSimd; }
  void ExtractSeeds(const SeedInput& input, SeedOutput& out) const override {
    ExtractSeedsSimd(input, out);
  }
  void VerifyHamming(const PackedReference& reference, const PackedSequences& reads,
                     const VerifyJob* jobs, size_t count, uint32_t* mismatches) const override {
    VerifyHammingSimd(reference, reads, jobs, count, mismatches);
  }
  void AlignBanded(const AlignJob* jobs, size_t count, AlignOutput& out) const override {
    AlignBandedSimd(jobs, count, out);
  }
};

}  // namespace

std::unique_ptr<Backend> MakeScalarBackend() { return std::make_unique<ScalarBackend>(); }
std::unique_ptr<Backend> MakeSimdBackend() { return std::make_unique<SimdBackend>(); }

}  // namespace backend_internal

StatusOr<std::unique_ptr<Backend>> CreateBackend(AccelKind kind) {
  std::unique_ptr<Backend> backend;
  switch (kind) {
    case AccelKind::kScalar:
      backend = backend_internal::MakeScalarBackend();
      break;
    case AccelKind::kAuto:
    case AccelKind::kSimd:
      if (backend_internal::AvailableSimdTargets().empty()) {
        if (kind == AccelKind::kSimd)
          return Unimplemented("--accel simd: no SIMD target of this build runs on this CPU");
        backend = backend_internal::MakeScalarBackend();
      } else {
        backend = backend_internal::MakeSimdBackend();
      }
      break;
    case AccelKind::kOpenCL: {
#ifdef CRAMJET_HAVE_OPENCL
      auto opencl = backend_internal::MakeOpenClBackend();
      if (!opencl.ok()) return opencl.status();
      backend = std::move(opencl).value();
      break;
#else
      return Unimplemented("--accel opencl: this build has no OpenCL support (use auto, simd or scalar)");
#endif
    }
    case AccelKind::kXrt:
      return Unimplemented(std::string("--accel ") + AccelKindName(kind) +
                           ": this backend is not built in this version (use auto, simd or scalar)");
  }
  CJ_LOG(kInfo) << "mapper backend: " << backend->Name() << " (--accel " << AccelKindName(kind)
                 << ")";
  return backend;
}

std::string BackendReport() {
  std::string s = "mapper backends: scalar";
  const auto targets = backend_internal::AvailableSimdTargets();
  if (!targets.empty()) {
    s += ", simd (";
    for (size_t i = 0; i < targets.size(); ++i) {
      if (i) s += ' ';
      s += hwy::TargetName(targets[i]);
    }
    s += "); auto picks simd:";
    s += hwy::TargetName(backend_internal::ChosenSimdTarget());
  } else {
    s += "; auto picks scalar";
  }
  return s;
}

}  // namespace cramjet
