// host/qc/qc.h — stage qc: the QC metrics labs read, computed from the same single pass that
// compresses (docs/qc.md). The one header of the stage for the rest of the product.
//
// The pipeline creates one QcCollector per output file, calls Add() for every record as it goes
// to the encoder (one thread, output order), then Finish() and WriteOutputs(prefix), which writes
//   prefix.qc.json    cramjet's own schema (docs/qc.md, "qc.json schema", version kQcSchemaVersion)
//   prefix.qc.html    self-contained report (inline SVG, no network)
//   prefix.stats      `samtools stats` format (MultiQC's samtools module reads it)
//   prefix.fastp.json fastp-style JSON (MultiQC's fastp module reads it)
//   prefix_mqc.json   MultiQC custom content (General Statistics columns) for what neither holds
// each atomically, every one rendered from the typed figures (QcMetrics) that Finish() derives.
// Per-base accumulation runs through Highway kernels (qc_kernels.cc) chosen at run time for the
// CPU, with a scalar twin that tests compare against on every compiled target.
//
// Inside the folder: accumulators_internal.h (the sums, accumulators.cc; their figures,
// figures.cc), collector.cc (the collection: batches, workers, the two passes), document.cc
// (QcMetrics -> qc.json), report.cc (-> samtools stats, fastp, MultiQC custom content), html.cc.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
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

// ---- The figures (typed; qc.json is their JSON form, docs/qc.md "qc.json schema") ------------
// A double documented "NaN: ..." is null in qc.json (not measured).

inline constexpr size_t kQcQualityBins = 94;  // Phred 0..93 (SAM's printable range)

enum QcMate : int { kQcSingle = 0, kQcRead1 = 1, kQcRead2 = 2 };
inline constexpr const char* kQcMateNames[3] = {"single", "read1", "read2"};

// The two adapters FastQC and MultiQC report, as their first 12 bases.
struct QcAdapter {
  const char* key;
  const char* name;
  const char* kmer;
};
inline constexpr QcAdapter kQcAdapters[2] = {
    {"truseq", "Illumina TruSeq (universal)", "AGATCGGAAGAG"},
    {"nextera", "Illumina Nextera (transposase)", "CTGTCTCTTATA"},
};

// One mate (single, R1 or R2) of the sample or of a read group, or all reads ("all").
struct QcMateMetrics {
  uint64_t reads = 0, bases = 0, q20_bases = 0, q30_bases = 0;
  double q20_percent = 0, q30_percent = 0, mean_quality = 0;
  uint64_t reads_without_quality = 0;
  std::array<uint64_t, kNumCodes> base_counts{};            // A C G T N, sequencing direction
  std::array<uint64_t, kNumCodes> base_counts_as_stored{};  // samtools stats FTC/LTC orientation
  double gc_percent = 0, n_percent = 0;
  uint64_t min_length = 0, max_length = 0;
  double mean_length = 0;
  std::vector<std::pair<uint64_t, uint64_t>> length_histogram;  // (length, reads), lengths held
  uint64_t n50_length = 0;
  std::array<double, 101> gc_histogram{};  // reads per GC % of their A/C/G/T (spread: accumulators)
  std::array<uint64_t, kQcQualityBins> read_mean_quality_histogram{};
  struct Identity {  // placed reads: matches / (aligned columns + inserted + deleted bases)
    uint64_t reads = 0;
    double mean_percent = 0, median_percent = 0;               // NaN: no read
    std::vector<std::pair<double, uint64_t>> histogram;        // (percent in 0.1 steps, reads)
  } identity;
  struct PerCycle {  // one entry per cycle, up to the longest read (at most 2000)
    std::vector<double> quality_mean;
    std::vector<int> quality_lower_quartile, quality_median, quality_upper_quartile;
    std::vector<std::vector<uint64_t>> quality_histogram;  // bases per Phred, up to the top one
    std::array<std::vector<double>, kNumCodes> base_percent;  // A C G T N
    std::vector<uint64_t> aligned_bases;
    std::vector<double> mismatch_percent;
  } per_cycle;
  struct Adapter {  // kQcAdapters[i]
    uint64_t reads = 0;
    double percent = 0;
    std::vector<double> cumulative_percent;  // per cycle: reads with the adapter by then
  };
  std::array<Adapter, 2> adapter;
  struct Placed {
    uint64_t reads = 0;
    double percent = 0;
    uint64_t aligned_bases_compared = 0, mismatches = 0;
    double mismatch_percent = 0;
  } placed;
};

struct QcDuplication {
  uint64_t sampled_fragments = 0, distinct_sampled = 0;
  double sampling_fraction = 1;
  double percent = 0;                           // NaN: no fragment sampled
  std::vector<uint64_t> copy_number_histogram;  // fragments seen 1, 2, ... 100+ times
};

struct QcOverrepresented {
  std::string sequence;  // the first 50 bases
  uint64_t count = 0;
  double percent = 0;
};

struct QcInsertSize {
  uint64_t pairs = 0;
  double mean = 0, sd = 0;
  uint64_t median = 0, peak = 0;
  std::vector<std::pair<uint64_t, uint64_t>> histogram;  // (size, pairs), sizes held
};

struct QcCoverage {
  struct Contig {
    std::string name;
    int64_t length = 0;
    uint64_t aligned_bases = 0;
    double mean_depth = 0;
  };
  std::vector<Contig> contigs_with_reads;  // at most 1000
  double mean_depth_contigs_with_reads = 0;
  uint64_t reference_length = 0, aligned_bases = 0;
  double mean_depth = 0;
  int bin_size = 0;
  static constexpr int kDepths[5] = {1, 10, 15, 30, 100};
  std::array<double, 5> bins_at_least_percent{};  // % of bins with mean depth >= kDepths[i]
  bool has_depth_track = false;                    // the sample's (read groups have none)
  std::vector<std::pair<uint64_t, double>> depth_track;  // (position, mean depth)
};

struct QcReadGroupMetrics {
  std::string id;
  std::string sample;  // @RG SM; empty: none
  std::array<std::optional<QcMateMetrics>, 3> mates;  // by QcMate; present when it has reads
  QcDuplication duplication;
  std::vector<QcOverrepresented> overrepresented;
  QcInsertSize insert_size;
  QcCoverage coverage;
};

// A metric with a verdict (one per threshold, in report order).
struct QcCheck {
  std::string key, description;
  double value = 0;  // NaN: not measured
  double warn = 0, fail = 0;
  bool higher_is_better = false;
  QcVerdict verdict = QcVerdict::kNotApplicable;
};

struct QcSummary {
  uint64_t reads = 0, bases = 0;
  double q20_percent = 0, q30_percent = 0, gc_percent = 0, n_percent = 0, mean_quality = 0, mean_length = 0;
  uint64_t n50_length = 0;
  double identity_mean_percent = 0;  // NaN: no placed read
  double duplication_percent = 0;    // NaN: no fragment sampled
  std::array<double, 2> adapter_percent{};  // kQcAdapters
  uint64_t placed_reads = 0;
  double placed_percent = 0;
  double mismatch_percent = 0;  // NaN: no aligned base compared
  double mean_depth = 0, mean_depth_contigs_with_reads = 0;
};

// The counters of `samtools stats` SN lines (sample level).
struct QcSamtoolsCounts {
  uint64_t raw_total_sequences = 0, sequences = 0;
  bool is_sorted = true;
  uint64_t first_fragments = 0, last_fragments = 0, reads_mapped = 0, reads_mapped_and_paired = 0;
  uint64_t reads_unmapped = 0, reads_properly_paired = 0, reads_paired = 0, reads_duplicated = 0;
  uint64_t reads_mq0 = 0, reads_qc_failed = 0, non_primary_alignments = 0, supplementary_alignments = 0;
  uint64_t total_length = 0, total_first_fragment_length = 0, total_last_fragment_length = 0;
  uint64_t bases_mapped = 0, bases_mapped_cigar = 0, bases_duplicated = 0, mismatches_nm = 0;
  uint64_t quality_sum = 0, inward_pairs = 0, outward_pairs = 0, other_orientation_pairs = 0;
  uint64_t pairs_on_different_chromosomes = 0;
};

// Everything QC reports about one input: what qc.json holds and every other output shows.
struct QcMetrics {
  std::string cramjet_version, sample, input, reference, kernel_target;
  QcVerdict verdict = QcVerdict::kPass;
  std::string verdict_reason;  // empty: none ("no reads" for an empty input)
  std::vector<QcCheck> checks;
  QcSummary summary;
  QcMateMetrics all;
  std::array<std::optional<QcMateMetrics>, 3> mates;  // by QcMate; present when it has reads
  std::vector<QcReadGroupMetrics> read_groups;        // in order of first appearance
  QcDuplication duplication;
  std::vector<QcOverrepresented> overrepresented;
  QcInsertSize insert_size;
  QcCoverage coverage;
  QcSamtoolsCounts samtools_stats;
};

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
  // Ends collection (waits for the workers), derives quartiles, verdicts, duplication. No Add()
  // after this.
  [[nodiscard]] Status Finish();
  // Writes the five files named in the header comment (Finish() first).
  [[nodiscard]] Status WriteOutputs(const std::string& prefix);

  // The figures (after Finish()); every output is rendered from them.
  const QcMetrics& Metrics() const;
  // Their qc.json document (QcMetricsJson(Metrics())).
  nlohmann::json Document() const;

  // Headline figures, after Finish().
  uint64_t reads() const;          // primary records
  uint64_t bases() const;          // bases of primary records
  QcVerdict overall_verdict() const;

  struct Impl;

 private:
  explicit QcCollector(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// The outputs, each rendered from the figures (document.cc, report.cc, html.cc).
nlohmann::json QcMetricsJson(const QcMetrics& qc);      // the qc.json document
std::string RenderQcJson(const QcMetrics& qc);          // qc.json's text
std::string RenderSamtoolsStats(const QcMetrics& qc);   // `samtools stats` text
std::string RenderFastpJson(const QcMetrics& qc);       // fastp JSON (MultiQC's fastp module)
std::string RenderMultiqcCustom(const QcMetrics& qc);   // MultiQC custom content (_mqc.json)
std::string RenderQcHtml(const QcMetrics& qc);          // self-contained HTML report

// The output file names for a prefix: QcOutputPaths in cramjet/qc.h.

}  // namespace cramjet
