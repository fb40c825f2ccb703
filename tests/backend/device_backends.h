// The device backends the tests run (tests/backend): every DeviceBackend this machine can run,
// at the default chunking and at chunks small enough to split every test batch, and one over a
// misbehaving runner.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "backend/backend.h"
#include "backend/device.h"
#include "csim_runner.h"

namespace cramjet::testing {

// Limits small enough that every test batch spans many chunks (and so both slots, repeatedly).
inline backend_internal::DeviceLimits TinyLimits() {
  backend_internal::DeviceLimits l;
  l.seed_bases = 3000;
  l.verify_jobs = 97;
  l.align_trace_bytes = 40000;
  l.qc_bases = 5000;
  return l;
}

struct NamedBackend {
  std::string name;
  std::unique_ptr<Backend> backend;
};
// Every device backend this machine can run: HLS C simulation always, OpenCL where a device is
// installed; each with the default chunking and with tiny chunks.
inline std::vector<NamedBackend> DeviceBackends() {
  using backend_internal::DeviceFailurePolicy;
  using backend_internal::MakeDeviceBackend;
  std::vector<NamedBackend> all;
  for (bool tiny : {false, true}) {
    const backend_internal::DeviceLimits limits = tiny ? TinyLimits() : backend_internal::DeviceLimits{};
    const std::string suffix = tiny ? " (tiny chunks)" : "";
    all.push_back({"hls-csim" + suffix,
                   MakeDeviceBackend(std::make_unique<CsimRunner>(), DeviceFailurePolicy::kFail, limits)});
#ifdef CRAMJET_HAVE_OPENCL
    auto runner = backend_internal::MakeOpenClRunner(-1, -1);
    if (runner.ok()) {
      all.push_back({"opencl" + suffix, MakeDeviceBackend(std::move(runner).value(), DeviceFailurePolicy::kFail, limits)});
    } else {
      ADD_FAILURE() << "PoCL is installed by scripts/setup-debian.sh, yet: " << runner.status().message();
    }
#endif
  }
  return all;
}

inline std::unique_ptr<Backend> Scalar() { return backend_internal::MakeScalarBackend(); }

// The HLS kernels behind a runner that misbehaves as `fault` says, at tiny chunks.
inline std::unique_ptr<Backend> Faulty(Fault fault, backend_internal::DeviceFailurePolicy policy,
                                       FaultyRunner** runner = nullptr) {
  auto faulty = std::make_unique<FaultyRunner>(std::make_unique<CsimRunner>(), std::move(fault));
  if (runner) *runner = faulty.get();
  return backend_internal::MakeDeviceBackend(std::move(faulty), policy, TinyLimits());
}

}  // namespace cramjet::testing
