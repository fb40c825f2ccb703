// libFuzzer target (clang only): the FASTQ reader must refuse or reproduce every input exactly.
#include <unistd.h>

#include <cstdlib>

#include "fastq_property.h"
#include "parser_harnesses.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::string path = cramjet::fuzz::ScratchDir() + "/input.fq";
  if (cramjet::CheckFastqProperty(path, std::string(reinterpret_cast<const char*>(data), size)) < 0)
    std::abort();
  return 0;
}
