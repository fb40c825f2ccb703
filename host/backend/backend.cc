// Backend selection and the scalar / SIMD backends (thin wrappers over the kernels).
#include <hwy/targets.h>

#include <filesystem>

#include "backend/backend.h"
#include "backend/device.h"
#include "common/common.h"
#include "cramjet/log.h"

namespace cramjet {

StatusOr<AccelChoice> ParseAccelChoice(std::string_view text) {
  AccelChoice choice;
  if (text == "auto") return choice;
  if (text == "simd") return choice.kind = AccelKind::kSimd, choice;
  if (text == "scalar") return choice.kind = AccelKind::kScalar, choice;
  if (text == "xrt") return choice.kind = AccelKind::kXrt, choice;
  if (text == "opencl") return choice.kind = AccelKind::kOpenCL, choice;
  if (text.substr(0, 7) == "opencl:") {
    const std::string_view rest = text.substr(7);
    const size_t colon = rest.find(':');
    if (colon != std::string_view::npos) {
      const auto platform = ParseDecimal(rest.substr(0, colon));
      const auto device = ParseDecimal(rest.substr(colon + 1));
      if (platform && device && *platform < 1000 && *device < 1000) {
        choice.kind = AccelKind::kOpenCL;
        choice.opencl_platform = static_cast<int>(*platform);
        choice.opencl_device = static_cast<int>(*device);
        return choice;
      }
    }
  }
  return InvalidArgument("unknown accelerator '" + std::string(text) +
                         "' (expected auto, simd, scalar, opencl, opencl:PLATFORM:DEVICE or xrt)");
}

void AppendMinimizers(const uint8_t* codes, size_t length, std::vector<Seed>& out) {
  backend_internal::ExtractSeedsOneScalar(codes, length, out);
}

StatusOr<AccelKind> ParseAccelKind(std::string_view text) {
  CRAMJET_ASSIGN_OR_RETURN(AccelChoice choice, ParseAccelChoice(text));
  return choice.kind;
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
  Status ExtractSeeds(const SeedInput& input, SeedOutput& out) const override {
    out.seeds.clear();
    out.seed_offsets.assign(1, 0);
    for (size_t s = 0; s < input.count; ++s) {
      size_t length;
      const uint8_t* codes = SeedSequence(input, s, length);
      if (input.sample != SeedSample::kAll) SampledMinimizers(codes, length, input.sample, out.seeds);
      else ExtractSeedsOneScalar(codes, length, out.seeds);
      out.seed_offsets.push_back(static_cast<uint32_t>(out.seeds.size()));
    }
    return Status::Ok();
  }
  Status VerifyHamming(const PackedReference& reference, const PackedSequences& reads, const VerifyJob* jobs,
                       size_t count, uint32_t* mismatches) const override {
    for (size_t j = 0; j < count; ++j) {
      PrefetchVerifyJob(reference, jobs, count, j);
      mismatches[j] = HammingScalar(reference, reads, jobs[j]);
    }
    return Status::Ok();
  }
  Status AlignBanded(const AlignJob* jobs, size_t count, AlignOutput& out) const override {
    out.results.assign(count, AlignResult{});
    out.cigar.clear();
    std::vector<int16_t> tb;
    for (size_t j = 0; j < count; ++j) {
      if (jobs[j].read_length == 0 || jobs[j].read_length > CJ_MAX_ALIGN_LENGTH) continue;
      AlignBandedScalar(jobs[j], tb, out.results[j], out.cigar);
    }
    return Status::Ok();
  }
  Status ScoreBanded(const AlignJob* jobs, size_t count, int32_t* scores) const override {
    for (size_t j = 0; j < count; ++j) {
      const bool alignable = jobs[j].read_length > 0 && jobs[j].read_length <= CJ_MAX_ALIGN_LENGTH;
      scores[j] = alignable ? ScoreBandedScalar(jobs[j]) : 0;
    }
    return Status::Ok();
  }
  Status AccumulateQc(const QcBatchInput& input, QcBatchOutput& out) const override {
    AccumulateQcScalar(input, out);
    return Status::Ok();
  }
};

class SimdBackend final : public Backend {
 public:
  std::string Name() const override { return std::string("simd:") + hwy::TargetName(ChosenSimdTarget()); }
  AccelKind kind() const override { return AccelKind::kSimd; }
  Status ExtractSeeds(const SeedInput& input, SeedOutput& out) const override {
    ExtractSeedsSimd(input, out);
    return Status::Ok();
  }
  Status VerifyHamming(const PackedReference& reference, const PackedSequences& reads, const VerifyJob* jobs,
                       size_t count, uint32_t* mismatches) const override {
    VerifyHammingSimd(reference, reads, jobs, count, mismatches);
    return Status::Ok();
  }
  Status AlignBanded(const AlignJob* jobs, size_t count, AlignOutput& out) const override {
    AlignBandedSimd(jobs, count, out);
    return Status::Ok();
  }
  Status ScoreBanded(const AlignJob* jobs, size_t count, int32_t* scores) const override {
    ScoreBandedSimd(jobs, count, scores);
    return Status::Ok();
  }
  // QC's Highway kernel lives with QC (host/qc/qc_kernels.cc), which calls it directly when no
  // device is chosen; a batch through the backend gets the scalar form, the same numbers.
  Status AccumulateQc(const QcBatchInput& input, QcBatchOutput& out) const override {
    AccumulateQcScalar(input, out);
    return Status::Ok();
  }
};

std::unique_ptr<Backend> MakeHostBackend(AccelKind kind) {
  if (kind == AccelKind::kScalar || AvailableSimdTargets().empty()) return MakeScalarBackend();
  return MakeSimdBackend();
}

}  // namespace

std::unique_ptr<Backend> MakeScalarBackend() { return std::make_unique<ScalarBackend>(); }
std::unique_ptr<Backend> MakeSimdBackend() { return std::make_unique<SimdBackend>(); }

}  // namespace backend_internal

StatusOr<std::unique_ptr<Backend>> CreateBackend(const AccelChoice& choice) {
  using namespace backend_internal;
  std::unique_ptr<Backend> backend;
  const std::string xclbin = choice.xclbin.empty() ? kDefaultXclbinPath : choice.xclbin;
  switch (choice.kind) {
    case AccelKind::kScalar:
      backend = MakeScalarBackend();
      break;
    case AccelKind::kSimd:
      if (AvailableSimdTargets().empty())
        return Unimplemented("--accel simd: no SIMD target of this build runs on this CPU");
      backend = MakeSimdBackend();
      break;
    case AccelKind::kAuto: {
#ifdef CRAMJET_HAVE_XRT
      // A card is used only when its image is installed (or named); anything else is a CPU job.
      std::error_code ec;
      if (!choice.xclbin.empty() || std::filesystem::exists(xclbin, ec)) {
        auto runner = MakeXrtRunner(xclbin);
        if (runner.ok()) {
          backend = MakeDeviceBackend(std::move(runner).value(), DeviceFailurePolicy::kFallBack);
        } else {
          CJ_LOG(kInfo) << "--accel auto: not using the FPGA (" << runner.status().message() << ")";
        }
      }
#endif
      if (!backend) backend = MakeHostBackend(AccelKind::kSimd);
      break;
    }
    case AccelKind::kOpenCL: {
#ifdef CRAMJET_HAVE_OPENCL
      CRAMJET_ASSIGN_OR_RETURN(auto runner, MakeOpenClRunner(choice.opencl_platform, choice.opencl_device));
      backend = MakeDeviceBackend(std::move(runner), DeviceFailurePolicy::kFail);
      break;
#else
      return Unimplemented("--accel opencl: this build has no OpenCL support (use auto, simd or scalar)");
#endif
    }
    case AccelKind::kXrt: {
#ifdef CRAMJET_HAVE_XRT
      CRAMJET_ASSIGN_OR_RETURN(auto runner, MakeXrtRunner(xclbin));
      backend = MakeDeviceBackend(std::move(runner), DeviceFailurePolicy::kFail);
      break;
#else
      return Unimplemented("--accel xrt: this build has no XRT support (use auto, simd or scalar)");
#endif
    }
  }
  CJ_LOG(kInfo) << "accelerator backend: " << backend->Name() << " (--accel " << AccelKindName(choice.kind) << ")";
  return backend;
}

StatusOr<std::unique_ptr<Backend>> CreateBackend(AccelKind kind) {
  AccelChoice choice;
  choice.kind = kind;
  return CreateBackend(choice);
}

std::string BackendReport() {
  std::string s = "backends: scalar";
  const auto targets = backend_internal::AvailableSimdTargets();
  if (!targets.empty()) {
    s += ", simd (";
    for (size_t i = 0; i < targets.size(); ++i) {
      if (i) s += ' ';
      s += hwy::TargetName(targets[i]);
    }
    s += ")";
  }
#ifdef CRAMJET_HAVE_OPENCL
  s += ", opencl";
#endif
#ifdef CRAMJET_HAVE_XRT
  s += ", xrt";
#endif
  s += targets.empty() ? "; auto picks scalar" : std::string("; auto picks simd:") +
                                                     hwy::TargetName(backend_internal::ChosenSimdTarget());
#ifdef CRAMJET_HAVE_XRT
  s += " (xrt when " + std::string(kDefaultXclbinPath) + " is installed and a card takes it)";
#endif
  s += "\n";
#ifdef CRAMJET_HAVE_OPENCL
  s += backend_internal::OpenClDeviceReport();
#endif
#ifdef CRAMJET_HAVE_XRT
  s += backend_internal::XrtDeviceReport();
#endif
  if (!s.empty() && s.back() == '\n') s.pop_back();
  return s;
}

}  // namespace cramjet
