// include/cramjet/inputs.h — what a user gives cramjet besides options: input files whose names
// say they are R1/R2 pairs, and memory sizes ("8G").
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "cramjet/status.h"

namespace cramjet {

// Whether the inputs come as R1 R2 [R1 R2 ...] pairs by name: each pair differs in exactly one
// character, '1' in the first and '2' in the second (reads_1.fq/reads_2.fq,
// x_R1_001.fastq.gz/x_R2_001.fastq.gz).
bool InputsLookPaired(const std::vector<std::string>& inputs);

// Parses "8G", "512M", "1.5g", "16GiB", "100000" (bytes) for `--mem` and `--max-memory`;
// k/m/g/t are powers of 1024. InvalidArgument naming the text when it is not a positive size.
[[nodiscard]] StatusOr<uint64_t> ParseMemorySize(const std::string& text);

}  // namespace cramjet
