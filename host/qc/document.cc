// The qc.json document: the typed figures (QcMetrics) in cramjet's schema (docs/qc.md, "qc.json
// schema", version kQcSchemaVersion). Objects are written with sorted keys; a figure that is NaN
// ("not measured") is null.
#include <cmath>
#include <string>

#include <nlohmann/json.hpp>

#include "qc/qc.h"

namespace cramjet {
namespace {

using nlohmann::json;

json NumberOrNull(double v) { return std::isnan(v) ? json(nullptr) : json(v); }

json BaseCounts(const std::array<uint64_t, kNumCodes>& c) {
  return {{"A", c[kCodeA]}, {"C", c[kCodeC]}, {"G", c[kCodeG]}, {"T", c[kCodeT]}, {"N", c[kCodeN]}};
}

template <typename A, typename B>
json Pairs(const std::vector<std::pair<A, B>>& pairs) {
  json out = json::array();
  for (const auto& [a, b] : pairs) out.push_back({a, b});
  return out;
}

json MateJson(const QcMateMetrics& m) {
  json j;
  j["reads"] = m.reads;
  j["bases"] = m.bases;
  j["q20_bases"] = m.q20_bases;
  j["q30_bases"] = m.q30_bases;
  j["q20_percent"] = m.q20_percent;
  j["q30_percent"] = m.q30_percent;
  j["mean_quality"] = m.mean_quality;
  j["reads_without_quality"] = m.reads_without_quality;
  j["base_counts"] = BaseCounts(m.base_counts);
  j["base_counts_as_stored"] = BaseCounts(m.base_counts_as_stored);
  j["gc_percent"] = m.gc_percent;
  j["n_percent"] = m.n_percent;
  j["min_length"] = m.min_length;
  j["max_length"] = m.max_length;
  j["mean_length"] = m.mean_length;
  j["length_histogram"] = Pairs(m.length_histogram);
  j["n50_length"] = m.n50_length;
  nlohmann::json gc = nlohmann::json::array();  // reads, to 0.01 (a read is spread over its bins)
  for (double reads : m.gc_histogram) gc.push_back(std::round(reads * 100.0) / 100.0);
  j["gc_histogram"] = gc;
  j["read_mean_quality_histogram"] = m.read_mean_quality_histogram;
  j["identity"] = {{"reads", m.identity.reads},
                   {"mean_percent", NumberOrNull(m.identity.mean_percent)},
                   {"median_percent", NumberOrNull(m.identity.median_percent)},
                   {"histogram", Pairs(m.identity.histogram)}};  // [percent (0.1 steps), reads]
  const QcMateMetrics::PerCycle& c = m.per_cycle;
  json& pc = j["per_cycle"];
  pc["quality_mean"] = c.quality_mean;
  pc["quality_lower_quartile"] = c.quality_lower_quartile;
  pc["quality_median"] = c.quality_median;
  pc["quality_upper_quartile"] = c.quality_upper_quartile;
  json hist = json::array();
  for (const auto& row : c.quality_histogram) hist.push_back(row);
  pc["quality_histogram"] = hist;
  for (size_t b = 0; b < kNumCodes; ++b) {
    json values = json::array();
    for (double v : c.base_percent[b]) values.push_back(v);
    pc["base_percent"][std::string(1, kCodeChar[b])] = values;
  }
  json aligned = json::array(), mismatch = json::array();
  for (uint64_t v : c.aligned_bases) aligned.push_back(v);
  for (double v : c.mismatch_percent) mismatch.push_back(v);
  pc["aligned_bases"] = aligned;
  pc["mismatch_percent"] = mismatch;
  for (size_t a = 0; a < 2; ++a) {
    json& ad = j["adapter"][kQcAdapters[a].key];
    ad["name"] = kQcAdapters[a].name;
    ad["kmer"] = kQcAdapters[a].kmer;
    ad["reads"] = m.adapter[a].reads;
    ad["percent"] = m.adapter[a].percent;
    json cumulative = json::array();
    for (double v : m.adapter[a].cumulative_percent) cumulative.push_back(v);
    ad["cumulative_percent"] = cumulative;
  }
  j["placed"] = {{"reads", m.placed.reads},
                 {"percent", m.placed.percent},
                 {"aligned_bases_compared", m.placed.aligned_bases_compared},
                 {"mismatches", m.placed.mismatches},
                 {"mismatch_percent", m.placed.mismatch_percent}};
  return j;
}

json MatesJson(const std::array<std::optional<QcMateMetrics>, 3>& mates) {
  json out = json::object();
  for (size_t k = 0; k < 3; ++k)
    if (mates[k]) out[kQcMateNames[k]] = MateJson(*mates[k]);
  return out;
}

json DuplicationJson(const QcDuplication& d) {
  return {{"sampled_fragments", d.sampled_fragments},
          {"distinct_sampled", d.distinct_sampled},
          {"sampling_fraction", d.sampling_fraction},
          {"percent", NumberOrNull(d.percent)},
          {"copy_number_histogram", json(d.copy_number_histogram)}};
}

json OverrepresentedJson(const std::vector<QcOverrepresented>& over) {
  json out = json::array();
  for (const QcOverrepresented& o : over)
    out.push_back({{"sequence", o.sequence}, {"count", o.count}, {"percent", o.percent}});
  return out;
}

json InsertSizeJson(const QcInsertSize& s) {
  return {{"pairs", s.pairs}, {"mean", s.mean}, {"sd", s.sd}, {"median", s.median},
          {"peak", s.peak}, {"histogram", Pairs(s.histogram)}};
}

json CoverageJson(const QcCoverage& c) {
  json cov;
  json contigs = json::array();
  for (const QcCoverage::Contig& t : c.contigs_with_reads)
    contigs.push_back({{"name", t.name}, {"length", t.length}, {"aligned_bases", t.aligned_bases},
                       {"mean_depth", t.mean_depth}});
  cov["contigs_with_reads"] = contigs;
  cov["mean_depth_contigs_with_reads"] = c.mean_depth_contigs_with_reads;
  cov["reference_length"] = c.reference_length;
  cov["aligned_bases"] = c.aligned_bases;
  cov["mean_depth"] = c.mean_depth;
  cov["bin_size"] = c.bin_size;
  for (size_t d = 0; d < 5; ++d)
    cov["bins_at_least_percent"][std::to_string(QcCoverage::kDepths[d]) + "x"] = c.bins_at_least_percent[d];
  if (c.has_depth_track) cov["depth_track"] = Pairs(c.depth_track);
  return cov;
}

}  // namespace

json QcMetricsJson(const QcMetrics& qc) {
  json doc = json::object();
  doc["schema"] = "cramjet-qc";
  doc["schema_version"] = kQcSchemaVersion;
  doc["cramjet_version"] = qc.cramjet_version;
  doc["sample"] = qc.sample;
  doc["input"] = qc.input;
  doc["reference"] = qc.reference;
  doc["kernel_target"] = qc.kernel_target;
  doc["verdict"] = QcVerdictName(qc.verdict);
  if (!qc.verdict_reason.empty()) doc["verdict_reason"] = qc.verdict_reason;
  json metrics = json::array();
  for (const QcCheck& c : qc.checks)
    metrics.push_back({{"key", c.key}, {"description", c.description}, {"value", NumberOrNull(c.value)},
                       {"warn", c.warn}, {"fail", c.fail}, {"higher_is_better", c.higher_is_better},
                       {"verdict", QcVerdictName(c.verdict)}});
  doc["metrics"] = metrics;
  const QcSummary& s = qc.summary;
  doc["summary"] = {{"reads", s.reads},
                    {"bases", s.bases},
                    {"q20_percent", s.q20_percent},
                    {"q30_percent", s.q30_percent},
                    {"gc_percent", s.gc_percent},
                    {"n_percent", s.n_percent},
                    {"mean_quality", s.mean_quality},
                    {"mean_length", s.mean_length},
                    {"n50_length", s.n50_length},
                    {"identity_mean_percent", NumberOrNull(s.identity_mean_percent)},
                    {"duplication_percent", NumberOrNull(s.duplication_percent)},
                    {"adapter_percent", {{kQcAdapters[0].key, s.adapter_percent[0]}, {kQcAdapters[1].key, s.adapter_percent[1]}}},
                    {"placed_reads", s.placed_reads},
                    {"placed_percent", s.placed_percent},
                    {"mismatch_percent", NumberOrNull(s.mismatch_percent)},
                    {"mean_depth", s.mean_depth},
                    {"mean_depth_contigs_with_reads", s.mean_depth_contigs_with_reads}};
  doc["all"] = MateJson(qc.all);
  doc["mates"] = MatesJson(qc.mates);
  json groups = json::array();
  for (const QcReadGroupMetrics& g : qc.read_groups) {
    json gj;
    gj["id"] = g.id;
    gj["mates"] = MatesJson(g.mates);
    if (!g.sample.empty()) gj["sample"] = g.sample;
    gj["duplication"] = DuplicationJson(g.duplication);
    gj["overrepresented"] = OverrepresentedJson(g.overrepresented);
    gj["insert_size"] = InsertSizeJson(g.insert_size);
    gj["coverage"] = CoverageJson(g.coverage);
    groups.push_back(gj);
  }
  doc["read_groups"] = groups;
  doc["duplication"] = DuplicationJson(qc.duplication);
  doc["duplication"]["method"] =
      "exact match of a fragment's sequence (single read, or both reads of a pair), hash-sampled";
  doc["overrepresented"] = OverrepresentedJson(qc.overrepresented);
  doc["insert_size"] = InsertSizeJson(qc.insert_size);
  doc["coverage"] = CoverageJson(qc.coverage);
  const QcSamtoolsCounts& st = qc.samtools_stats;
  doc["samtools_stats"] = {
      {"raw_total_sequences", st.raw_total_sequences}, {"filtered_sequences", 0}, {"sequences", st.sequences},
      {"is_sorted", st.is_sorted ? 1 : 0},
      {"first_fragments", st.first_fragments},
      {"last_fragments", st.last_fragments},
      {"reads_mapped", st.reads_mapped}, {"reads_mapped_and_paired", st.reads_mapped_and_paired},
      {"reads_unmapped", st.reads_unmapped}, {"reads_properly_paired", st.reads_properly_paired},
      {"reads_paired", st.reads_paired}, {"reads_duplicated", st.reads_duplicated}, {"reads_mq0", st.reads_mq0},
      {"reads_qc_failed", st.reads_qc_failed}, {"non_primary_alignments", st.non_primary_alignments},
      {"supplementary_alignments", st.supplementary_alignments}, {"total_length", st.total_length},
      {"total_first_fragment_length", st.total_first_fragment_length},
      {"total_last_fragment_length", st.total_last_fragment_length}, {"bases_mapped", st.bases_mapped},
      {"bases_mapped_cigar", st.bases_mapped_cigar}, {"bases_duplicated", st.bases_duplicated},
      {"mismatches_nm", st.mismatches_nm}, {"quality_sum", st.quality_sum},
      {"inward_pairs", st.inward_pairs}, {"outward_pairs", st.outward_pairs},
      {"other_orientation_pairs", st.other_orientation_pairs},
      {"pairs_on_different_chromosomes", st.pairs_on_different_chromosomes}};
  return doc;
}

std::string RenderQcJson(const QcMetrics& qc) {
  return QcMetricsJson(qc).dump(1, ' ', false, json::error_handler_t::replace) + "\n";
}

}  // namespace cramjet
