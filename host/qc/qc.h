// host/qc/qc.h — stage qc: the QC metrics labs read, computed from the same single pass that
// compresses (docs/qc.md).
//
// The pipeline creates one QcCollector per output file, calls Add() for every record as it goes
// to the encoder (one thread, output order), then Finish() and WriteOutputs(prefix), which writes
//   prefix.qc.json    cramjet's own schema (docs/qc.md, "qc.json schema", version kQcSchemaVersion)
//   prefix.qc.html    self-contained report (inline SVG, no network)
//   prefix.stats      `samtools stats` format (MultiQC's samtools module reads it)
//   prefix.fastp.json fastp-style JSON (MultiQC's fastp module reads it)
//   prefix_mqc.json   MultiQC custom content for what neither of those holds
// each atomically. Per-base accumulation runs through Highway kernels (qc_kernels.cc) chosen at
// run time for the CPU, with a scalar twin that tests compare against on every compiled target.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <htslib/sam.h>
#include <nlohmann/json_fwd.hpp>

#include "common/common.h"
#include "cramjet/backend.h"
#include "cramjet/qc.h"
#include "cramjet/status.h"

namespace cramjet {

inline constexpr int kQcSchemaVersion = 3;

// ---- Options and thresholds -----------------------------------------------------------------

struct QcOptions {
  std::string sample;       // sample name in every output; default: @RG SM, else "sample"
  std::string config_path;  // TOML thresholds (optional; docs/qc.md "Configuration")
  std::string reference;    // FASTA for mismatch-per-cycle; needed only when placed reads exist
  std::string input_description;  // file name(s) shown in the reports (optional)
  int threads = 1;  // worker threads (at least 1; none on a one-core machine): the figures are
                    // the same at every count
  // A device backend (--accel opencl / xrt) runs the per-base accumulation of each worker batch
  // (2048 records) as its QC kernel; null or a host backend: QC's Highway kernel, read by read.
  // The figures are the same either way. Must outlive the collector.
  const Backend* backend = nullptr;
};

// Metrics that get a pass/warn/fail verdict. `higher_is_better` decides which side warns.
struct QcThreshold {
  const char* key;           // TOML key under [thresholds]
  const char* description;   // shown in JSON and HTML
  bool higher_is_better;
  double min_value, max_value;  // what a threshold may be (e.g. 0..100 for percentages)
  double warn, fail;         // defaults, replaced by the config
};
struct QcThresholds {
  std::vector<QcThreshold> items;  // in report order
  const QcThreshold* Find(const std::string& key) const;
};
// Defaults: FastQC's limits and the usual run criteria (docs/qc.md).
QcThresholds DefaultQcThresholds();
// Reads a TOML config; an unknown key or an impossible threshold is refused with the file, the
// key and the reason. An empty path gives the defaults.
[[nodiscard]] StatusOr<QcThresholds> LoadQcThresholds(const std::string& config_path);

enum class QcVerdict { kPass, kWarn, kFail, kNotApplicable };
const char* QcVerdictName(QcVerdict verdict);  // "pass" | "warn" | "fail" | "n/a"
QcVerdict JudgeQcValue(const QcThreshold& threshold, double value);

// ---- Per-base kernels (Highway, runtime dispatch) -------------------------------------------

// Base codes used by the kernels: one byte per base, in sequencing direction.
enum : uint8_t { kCodeA = 0, kCodeC = 1, kCodeG = 2, kCodeT = 3, kCodeN = 4, kNumCodes = 5 };

struct ReadBaseSummary {
  uint32_t q20 = 0, q30 = 0;          // bases with quality >= 20 / >= 30
  uint32_t quality_sum = 0;
  std::array<uint32_t, kNumCodes> code_count{};  // A C G T N in this read
};

// Adds one read to per-cycle accumulators and returns its summary:
//   cycle_quality_sum[i] += quals[i]; cycle_code_count[code * stride + i] += 1 for code = codes[i].
// Per-cycle arrays may be null (then only the summary is computed). `length` <= stride.
void AccumulateReadBases(const uint8_t* codes, const uint8_t* quals, size_t length,
                         uint32_t* cycle_quality_sum, uint32_t* cycle_code_count, size_t stride,
                         ReadBaseSummary* summary);
// The scalar twin, the reference the SIMD targets must agree with exactly.
void AccumulateReadBasesScalar(const uint8_t* codes, const uint8_t* quals, size_t length,
                               uint32_t* cycle_quality_sum, uint32_t* cycle_code_count,
                               size_t stride, ReadBaseSummary* summary);
// Name of the Highway target AccumulateReadBases dispatches to now (e.g. "AVX2").
const char* QcKernelTargetName();

// ---- The collector --------------------------------------------------------------------------

class QcCollector {
 public:
  // Fails when the config is refused. `header` (may be null) gives read groups and contigs; it
  // must outlive the collector.
  static StatusOr<std::unique_ptr<QcCollector>> Create(const QcOptions& options,
                                                       const sam_hdr_t* header);
  ~QcCollector();
  QcCollector(const QcCollector&) = delete;
  QcCollector& operator=(const QcCollector&) = delete;

  // Called once per record (primary, secondary and supplementary; the last two are counted as
  // samtools stats does), from one thread, in output order. Placed reverse-strand records are
  // turned back to sequencing direction for the per-cycle metrics. On a machine with two or more
  // cores the record is copied to a batch of 2048 that the collector's workers process
  // (QcOptions::threads; at most 2 * threads + 2 batches wait), so the caller pays only the copy.
  void Add(const bam1_t* record);
  // Ends collection (waits for the worker), derives quartiles, verdicts, duplication. No Add()
  // after this.
  [[nodiscard]] Status Finish();
  // Writes the five files named in the header comment (Finish() first).
  [[nodiscard]] Status WriteOutputs(const std::string& prefix);

  // The qc.json document (after Finish()); the other outputs are rendered from it.
  const nlohmann::json& Document() const;

  // Headline figures, after Finish().
  uint64_t reads() const;          // primary records
  uint64_t bases() const;          // bases of primary records
  QcVerdict overall_verdict() const;

  struct Impl;

 private:
  explicit QcCollector(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Views of a qc.json document in the formats other tools read (report.cc, html.cc).
std::string RenderSamtoolsStats(const nlohmann::json& qc);  // `samtools stats` text
std::string RenderFastpJson(const nlohmann::json& qc);      // fastp JSON (MultiQC's fastp module)
std::string RenderMultiqcCustom(const nlohmann::json& qc);  // MultiQC custom content (_mqc.json)
std::string RenderQcHtml(const nlohmann::json& qc);         // self-contained HTML report

// The output file names for a prefix: QcOutputPaths in cramjet/qc.h.

}  // namespace cramjet
