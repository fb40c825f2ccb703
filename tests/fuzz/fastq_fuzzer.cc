// libFuzzer target (clang only): the FASTQ reader must refuse or reproduce every input exactly.
#include <unistd.h>

#include <cstdlib>

#include "fastq_property.h"
#include "cramjet/log.h"
#include "parser_harnesses.h"

// htslib's own error lines for every refused input (as the programs have them: off) would make
// most of the run's time writing its log.
extern "C" int LLVMFuzzerInitialize(int*, char***) {
  cramjet::ConfigureHtslibLogging();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::string path = cramjet::fuzz::ScratchDir() + "/input.fq";
  if (cramjet::CheckFastqProperty(path, std::string(reinterpret_cast<const char*>(data), size)) < 0)
    std::abort();
  return 0;
}
