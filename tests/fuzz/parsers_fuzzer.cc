// libFuzzer targets (clang, CRAMJET_FUZZ): one executable per parser of outside input, chosen by
// CRAMJET_FUZZ_TARGET at compile time, over the harnesses the property test uses. A harness
// that throws aborts (libFuzzer keeps the input); a refusal without a message traps.
#include <unistd.h>

#include <cstdlib>
#include <memory>
#include <string>

#include "cramjet/log.h"
#include "parser_harnesses.h"

namespace {

cramjet::fuzz::Outcome Run(const std::string& input) {
  using namespace cramjet::fuzz;
#if CRAMJET_FUZZ_TARGET == 1
  return SampleSheet(input);
#elif CRAMJET_FUZZ_TARGET == 2
  return RunInfo(input);
#elif CRAMJET_FUZZ_TARGET == 3
  return DaemonConfig(input);
#elif CRAMJET_FUZZ_TARGET == 4
  return SinkConfig(input);
#elif CRAMJET_FUZZ_TARGET == 5
  return Seqchksum(input);
#elif CRAMJET_FUZZ_TARGET == 6
  return Md5File(input);
#elif CRAMJET_FUZZ_TARGET == 7
  return QcConfig(ScratchDir(), input);
#elif CRAMJET_FUZZ_TARGET == 8
  static std::unique_ptr<ApiHarness> api = std::make_unique<ApiHarness>(ScratchDir());
  Outcome o = api->Request(input);
  api->Reset();
  if (!o.accepted && o.refusal.rfind("NOT JSON", 0) == 0) std::abort();  // the reply itself broke
  return o;
#elif CRAMJET_FUZZ_TARGET == 9
  return Manifest(input);
#elif CRAMJET_FUZZ_TARGET == 10
  static std::unique_ptr<HttpHarness> http = std::make_unique<HttpHarness>(ScratchDir());
  return http->Replies(input);
#elif CRAMJET_FUZZ_TARGET == 11
  static std::unique_ptr<AlignmentHarness> reader = std::make_unique<AlignmentHarness>(
      ScratchDir(), cramjet::testing::SharedPath("cram-conformance/test/cram/ce.fa"));
  return reader->Read(input);
#else
#error "CRAMJET_FUZZ_TARGET names no parser"
#endif
}

}  // namespace

// htslib's own error lines off, as in the programs (the alignment target's log was mostly them).
extern "C" int LLVMFuzzerInitialize(int*, char***) {
  cramjet::ConfigureHtslibLogging();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const cramjet::fuzz::Outcome o = Run(std::string(reinterpret_cast<const char*>(data), size));
  if (!o.accepted && o.refusal.empty()) __builtin_trap();
  return 0;
}
