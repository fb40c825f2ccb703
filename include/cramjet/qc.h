// cramjet/qc.h — QC of an existing FASTQ/SAM/BAM/CRAM on its own (`cramjet qc FILE`).
//
// `compress` computes the same QC in its single pass; this entry point is for files that are
// already compressed, or for checking a run before compressing it. Outputs (docs/qc.md):
//   PREFIX.qc.json, PREFIX.qc.html, PREFIX.stats (samtools stats format),
//   PREFIX.fastp.json (fastp format), PREFIX_mqc.json (MultiQC custom content)
// each written atomically: on error nothing is left under a final name.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "cramjet/status.h"

namespace cramjet {

struct QcFileOptions {
  // One FASTQ(.gz)/SAM/BAM/CRAM, or two FASTQ files read as R1 and R2 of pairs.
  std::vector<std::string> inputs;
  std::string reference;      // FASTA: for CRAM input and for mismatch rates of placed reads
  std::string output_prefix;  // default: the first input's path without its extensions
  std::string config_path;    // TOML thresholds (optional)
  std::string sample;         // default: @RG SM of the input, else the file name
  int threads = 1;            // htslib decompression threads
};

struct QcFileResult {
  uint64_t reads = 0;   // primary records
  uint64_t bases = 0;
  std::string verdict;  // "pass" | "warn" | "fail"
  std::vector<std::string> outputs;  // paths written
};

// The QC files for an output prefix, in the order they are written: the one definition of their
// names (the QC stage writes them; the daemon collects exactly these).
inline std::vector<std::string> QcOutputPaths(const std::string& prefix) {
  return {prefix + ".qc.json", prefix + ".qc.html", prefix + ".stats", prefix + ".fastp.json", prefix + "_mqc.json"};
}
// The prefix compress gives the QC files of `cram_output`: the path without ".cram".
inline std::string QcPrefixForCram(const std::string& cram_output) {
  const size_t n = cram_output.size();
  return n > 5 && cram_output.compare(n - 5, 5, ".cram") == 0 ? cram_output.substr(0, n - 5) : cram_output;
}

// Ok with the result, or an error naming the file (and record) that stopped it.
[[nodiscard]] StatusOr<QcFileResult> RunQcOnFile(const QcFileOptions& options);

// Checks a QC config without running anything (for `compress --qc-config` before it starts):
// unknown keys and impossible thresholds are errors naming the file, the key and the reason.
[[nodiscard]] Status CheckQcConfig(const std::string& config_path);

}  // namespace cramjet
