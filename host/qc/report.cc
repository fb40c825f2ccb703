// The figures (QcMetrics) in formats that MultiQC (and the labs' own scripts) already parse:
// `samtools stats` text, fastp JSON and MultiQC custom content.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "cramjet/version.h"
#include "qc/qc.h"

namespace cramjet {
namespace {

using nlohmann::json;

const QcMateMetrics& MateOrEmpty(const QcMetrics& qc, QcMate mate) {
  static const QcMateMetrics empty;
  return qc.mates[mate] ? *qc.mates[mate] : empty;
}

// samtools stats calls the single-end reads and R1 "first fragments", R2 "last fragments".
std::vector<QcMate> Fragments(bool last) {
  return last ? std::vector<QcMate>{kQcRead2} : std::vector<QcMate>{kQcSingle, kQcRead1};
}

// Both single and read1 can be present (orphans): their per-cycle tables are added.
std::vector<std::vector<uint64_t>> QualityTable(const QcMetrics& qc, bool last) {
  std::vector<std::vector<uint64_t>> table;
  for (QcMate m : Fragments(last)) {
    if (!qc.mates[m]) continue;
    const auto& hist = qc.mates[m]->per_cycle.quality_histogram;
    if (table.size() < hist.size()) table.resize(hist.size());
    for (size_t i = 0; i < hist.size(); ++i) {
      if (table[i].size() < hist[i].size()) table[i].resize(hist[i].size(), 0);
      for (size_t q = 0; q < hist[i].size(); ++q) table[i][q] += hist[i][q];
    }
  }
  return table;
}

std::string Fixed(double v, int digits) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", digits, v);
  return buf;
}

}  // namespace

std::string RenderSamtoolsStats(const QcMetrics& qc) {
  const QcSamtoolsCounts& st = qc.samtools_stats;
  std::ostringstream o;
  o << "# This file was produced by samtools stats format writer of cramjet " << Version()
    << " (fields as samtools stats 1.16) and can be plotted using plot-bamstats\n";
  o << "# Sample: " << qc.sample << "\n";
  o << "# Summary Numbers. Use `grep ^SN | cut -f 2-` to extract this part.\n";
  auto sn = [&](const char* name, const std::string& value, const char* comment = nullptr) {
    o << "SN\t" << name << ":\t" << value;
    if (comment) o << "\t# " << comment;
    o << "\n";
  };
  auto u = [](uint64_t v) { return std::to_string(v); };
  const double total = double(st.total_length);
  const double seqs = double(st.sequences);
  const double first = double(st.first_fragments);
  const double last = double(st.last_fragments);
  const double cigar = double(st.bases_mapped_cigar);
  const uint64_t mism = st.mismatches_nm;
  uint64_t max_first = 0, max_last = 0;
  for (QcMate m : Fragments(false))
    if (qc.mates[m]) max_first = std::max(max_first, qc.mates[m]->max_length);
  if (qc.mates[kQcRead2]) max_last = qc.mates[kQcRead2]->max_length;
  const QcInsertSize& ins = qc.insert_size;
  sn("raw total sequences", u(st.raw_total_sequences), "excluding supplementary and secondary reads");
  sn("filtered sequences", "0");
  sn("sequences", u(st.sequences));
  sn("is sorted", st.is_sorted ? "1" : "0");
  sn("1st fragments", u(st.first_fragments));
  sn("last fragments", u(st.last_fragments));
  sn("reads mapped", u(st.reads_mapped));
  sn("reads mapped and paired", u(st.reads_mapped_and_paired), "paired-end technology bit set + both mates mapped");
  sn("reads unmapped", u(st.reads_unmapped));
  sn("reads properly paired", u(st.reads_properly_paired), "proper-pair bit set");
  sn("reads paired", u(st.reads_paired), "paired-end technology bit set");
  sn("reads duplicated", u(st.reads_duplicated), "PCR or optical duplicate bit set");
  sn("reads MQ0", u(st.reads_mq0), "mapped and MQ=0");
  sn("reads QC failed", u(st.reads_qc_failed));
  sn("non-primary alignments", u(st.non_primary_alignments));
  sn("supplementary alignments", u(st.supplementary_alignments));
  sn("total length", u(st.total_length), "ignores clipping");
  sn("total first fragment length", u(st.total_first_fragment_length), "ignores clipping");
  sn("total last fragment length", u(st.total_last_fragment_length), "ignores clipping");
  sn("bases mapped", u(st.bases_mapped), "ignores clipping");
  sn("bases mapped (cigar)", u(st.bases_mapped_cigar), "more accurate");
  sn("bases trimmed", "0");
  sn("bases duplicated", u(st.bases_duplicated));
  sn("mismatches", std::to_string(mism), "from NM fields");
  char err[32];
  std::snprintf(err, sizeof err, "%e", cigar > 0 ? double(mism) / cigar : 0.0);
  sn("error rate", err, "mismatches / bases mapped (cigar)");
  sn("average length", Fixed(seqs > 0 ? total / seqs : 0, 0));
  sn("average first fragment length", Fixed(first > 0 ? double(st.total_first_fragment_length) / first : 0, 0));
  sn("average last fragment length", Fixed(last > 0 ? double(st.total_last_fragment_length) / last : 0, 0));
  sn("maximum length", std::to_string(std::max(max_first, max_last)));
  sn("maximum first fragment length", std::to_string(max_first));
  sn("maximum last fragment length", std::to_string(max_last));
  sn("average quality", Fixed(total > 0 ? double(st.quality_sum) / total : 0, 1));
  sn("insert size average", Fixed(ins.mean, 1));
  sn("insert size standard deviation", Fixed(ins.sd, 1));
  sn("inward oriented pairs", std::to_string(st.inward_pairs));
  sn("outward oriented pairs", std::to_string(st.outward_pairs));
  sn("pairs with other orientation", std::to_string(st.other_orientation_pairs));
  sn("pairs on different chromosomes", u(st.pairs_on_different_chromosomes));
  const double mapped_reads = double(st.reads_mapped);
  sn("percentage of properly paired reads (%)",
     Fixed(seqs > 0 && mapped_reads >= 0 ? 100.0 * double(st.reads_properly_paired) / seqs : 0, 1));

  // Per-cycle quality tables: FFQ/LFQ <cycle> <count at Q0> <count at Q1> ...
  for (int last_fragment = 0; last_fragment < 2; ++last_fragment) {
    const char* tag = last_fragment ? "LFQ" : "FFQ";
    o << "# " << (last_fragment ? "Last" : "First") << " Fragment Qualities. Use `grep ^" << tag
      << " | cut -f 2-` to extract this part.\n";
    const auto table = QualityTable(qc, last_fragment);
    size_t width = 0;
    for (const auto& row : table) width = std::max(width, row.size());
    for (size_t i = 0; i < table.size(); ++i) {
      o << tag << "\t" << (i + 1);
      for (size_t q = 0; q < width; ++q) o << "\t" << (q < table[i].size() ? table[i][q] : 0);
      o << "\n";
    }
  }
  // GC content of fragments (GCF/GCL) in percent bins, and base composition per cycle.
  for (int last_fragment = 0; last_fragment < 2; ++last_fragment) {
    const char* tag = last_fragment ? "GCL" : "GCF";
    o << "# GC Content of " << (last_fragment ? "last" : "first") << " fragments. Use `grep ^" << tag
      << " | cut -f 2-` to extract this part.\n";
    std::vector<double> hist(101, 0);
    for (QcMate m : Fragments(last_fragment)) {
      if (!qc.mates[m]) continue;
      for (size_t i = 0; i < 101; ++i) hist[i] += qc.mates[m]->gc_histogram[i];
    }
    // Whole reads, as samtools writes them (each read was spread over its bins: accumulators.cc).
    for (size_t i = 0; i < 101; ++i)
      if (const long long reads = std::llround(hist[i]); reads > 0) o << tag << "\t" << i << "\t" << reads << "\n";
  }
  // Base composition per cycle in sequencing direction, all reads (samtools' GCT). samtools'
  // FBC/LBC count bases as stored (reverse-strand reads not complemented); they are left out.
  o << "# ACGT content per cycle, read oriented. Use `grep ^GCT | cut -f 2-` to extract this part. The columns "
       "are: cycle; A,C,G,T base counts as a percentage of all A/C/G/T bases [%]\n";
  {
    const auto& bp = qc.all.per_cycle.base_percent;
    for (size_t i = 0; i < bp[kCodeA].size(); ++i) {
      const double a = bp[kCodeA][i], c = bp[kCodeC][i], g = bp[kCodeG][i], t = bp[kCodeT][i];
      const double acgt = a + c + g + t;
      auto pct = [&](double x) { return Fixed(acgt > 0 ? 100.0 * x / acgt : 0, 2); };
      o << "GCT\t" << (i + 1) << "\t" << pct(a) << "\t" << pct(c) << "\t" << pct(g) << "\t" << pct(t) << "\n";
    }
  }
  // Total base counts (FTC/LTC): A C G T N.
  for (int last_fragment = 0; last_fragment < 2; ++last_fragment) {
    const char* tag = last_fragment ? "LTC" : "FTC";
    uint64_t counts[5] = {0, 0, 0, 0, 0};
    for (QcMate m : Fragments(last_fragment)) {
      if (!qc.mates[m]) continue;
      for (int k = 0; k < 5; ++k) counts[k] += qc.mates[m]->base_counts_as_stored[k];
    }
    o << tag;
    for (uint64_t c : counts) o << "\t" << c;
    o << "\n";
  }
  // Read lengths.
  for (const char* tag : {"RL", "FRL", "LRL"}) {
    std::map<uint64_t, uint64_t> lengths;
    std::vector<QcMate> mates;
    if (std::string(tag) == "RL") mates = {kQcSingle, kQcRead1, kQcRead2};
    else if (std::string(tag) == "FRL") mates = Fragments(false);
    else mates = Fragments(true);
    for (QcMate m : mates) {
      if (!qc.mates[m]) continue;
      for (const auto& [len, count] : qc.mates[m]->length_histogram) lengths[len] += count;
    }
    for (const auto& [len, count] : lengths) o << tag << "\t" << len << "\t" << count << "\n";
  }
  // Insert sizes: IS <size> <pairs total> <inward> <outward> <other>; orientation per size is
  // not kept, so all pairs are listed in the total column and the inward column is left 0.
  o << "# Insert sizes. Use `grep ^IS | cut -f 2-` to extract this part. The columns are: insert size, "
       "pairs total, inward oriented pairs, outward oriented pairs, other pairs\n";
  for (const auto& [size, pairs] : ins.histogram) o << "IS\t" << size << "\t" << pairs << "\t0\t0\t0\n";
  return o.str();
}

std::string RenderFastpJson(const QcMetrics& qc) {
  json out;
  const std::string& sample = qc.sample;
  // fastp's view: paired end when most reads are R1/R2 (single-end files with a few /1 /2 names,
  // or paired BAMs with a few orphans, are reported as what most of their reads are).
  auto mate_reads = [&](QcMate m) { return qc.mates[m] ? qc.mates[m]->reads : 0; };
  const bool paired = mate_reads(kQcRead2) > 0 && mate_reads(kQcRead1) + mate_reads(kQcRead2) > mate_reads(kQcSingle);
  const QcMateMetrics& all = qc.all;
  auto section = [&](const QcMateMetrics& mate) {
    json s;
    s["total_reads"] = mate.reads;
    s["total_bases"] = mate.bases;
    s["q20_bases"] = mate.q20_bases;
    s["q30_bases"] = mate.q30_bases;
    s["total_cycles"] = mate.max_length;
    s["quality_curves"]["mean"] = mate.per_cycle.quality_mean;
    const auto& bp = mate.per_cycle.base_percent;
    json gc = json::array();
    for (uint8_t b : {kCodeA, kCodeT, kCodeC, kCodeG, kCodeN}) {
      json curve = json::array();
      for (double v : bp[b]) curve.push_back(v / 100.0);
      s["content_curves"][std::string(1, kCodeChar[b])] = curve;
    }
    for (size_t i = 0; i < bp[kCodeC].size(); ++i) gc.push_back((bp[kCodeC][i] + bp[kCodeG][i]) / 100.0);
    s["content_curves"]["GC"] = gc;
    return s;
  };
  const QcMateMetrics& r1 = paired ? MateOrEmpty(qc, kQcRead1) : all;
  const QcMateMetrics& r2 = MateOrEmpty(qc, kQcRead2);
  // fastp's gc_content is G+C over all bases (N included); its mean lengths per mate.
  auto summary = [&]() {
    json s;
    const double bases = double(all.bases);
    s["total_reads"] = all.reads;
    s["total_bases"] = all.bases;
    s["q20_bases"] = all.q20_bases;
    s["q30_bases"] = all.q30_bases;
    s["q20_rate"] = bases > 0 ? double(all.q20_bases) / bases : 0.0;
    s["q30_rate"] = bases > 0 ? double(all.q30_bases) / bases : 0.0;
    s["read1_mean_length"] = uint64_t(r1.mean_length);  // fastp truncates
    if (paired) s["read2_mean_length"] = uint64_t(r2.mean_length);
    const auto& bc = all.base_counts;
    s["gc_content"] = bases > 0 ? (double(bc[kCodeC]) + double(bc[kCodeG])) / bases : 0.0;
    return s;
  };
  out["summary"]["fastp_version"] = std::string("cramjet ") + Version();
  const uint64_t r1_cycles = r1.max_length;
  const uint64_t r2_cycles = paired ? r2.max_length : 0;
  out["summary"]["sequencing"] = paired ? "paired end (" + std::to_string(r1_cycles) + " cycles + " +
                                              std::to_string(r2_cycles) + " cycles)"
                                        : "single end (" + std::to_string(r1_cycles) + " cycles)";
  // QC does not filter: after_filtering repeats before_filtering.
  out["summary"]["before_filtering"] = summary();
  out["summary"]["after_filtering"] = summary();
  out["filtering_result"] = {{"passed_filter_reads", all.reads}, {"low_quality_reads", 0},
                             {"too_many_N_reads", 0}, {"too_short_reads", 0}, {"too_long_reads", 0}};
  // fastp writes adapter_cutting only when it trims; QC trims nothing, but the reads that carry
  // an adapter are what MultiQC's "% adapter" column shows (the larger of TruSeq and Nextera).
  {
    const uint64_t truseq = all.adapter[0].reads, nextera = all.adapter[1].reads;
    out["adapter_cutting"] = {{"adapter_trimmed_reads", std::max(truseq, nextera)},
                              {"adapter_trimmed_bases", 0},
                              {"read1_adapter_sequence", truseq >= nextera ? kQcAdapters[0].kmer : kQcAdapters[1].kmer}};
  }
  const QcDuplication& dup = qc.duplication;
  if (!std::isnan(dup.percent)) {
    out["duplication"]["rate"] = dup.percent / 100.0;
    out["duplication"]["histogram"] = dup.copy_number_histogram;
    out["duplication"]["mean_gc"] = json::array();
  }
  const QcInsertSize& ins = qc.insert_size;
  if (ins.pairs > 0) {
    std::vector<uint64_t> hist(ins.histogram.empty() ? 1 : size_t(ins.histogram.back().first) + 1, 0);
    for (const auto& [size, pairs] : ins.histogram) hist[size_t(size)] = pairs;
    out["insert_size"] = {{"peak", ins.peak}, {"unknown", 0}, {"histogram", hist}};
  }
  if (all.reads > 0) {
    out["read1_before_filtering"] = section(r1);
    out["read1_after_filtering"] = section(r1);
  }
  if (paired) {
    out["read2_before_filtering"] = section(r2);
    out["read2_after_filtering"] = section(r2);
  }
  // MultiQC takes the sample name from the word after -i in "command".
  out["command"] = "cramjet qc -i " + sample;
  return out.dump(1, ' ', false, json::error_handler_t::replace) + "\n";
}

std::string RenderMultiqcCustom(const QcMetrics& qc) {
  // General Statistics columns (MultiQC custom content, plot_type generalstats): the verdict
  // and the figures fastp's and samtools stats' columns do not already show, each with a title,
  // a description, a unit and a format; the rest are there, hidden until a reader picks them in
  // "Configure columns". One file, one section: a second file would be one more name that
  // another sample's prefix could collide with.
  json out;
  out["id"] = "cramjet_qc";
  out["section_name"] = "cramjet QC";
  out["description"] =
      "cramjet's single-pass QC: the overall verdict and the figures samtools stats and fastp do not report "
      "(schema: cramjet-qc v" + std::to_string(kQcSchemaVersion) + ").";
  out["plot_type"] = "generalstats";
  json headers = json::object();
  json ordered = json::array();  // the same headers in column order (json objects sort their keys)
  json row;
  struct Column {
    const char* key;
    const char* title;
    const char* description;
    const char* suffix;  // "" for none
    const char* format;  // Python format; "" for text
    bool hidden;
    double max;  // 0: none
  };
  auto add = [&](const Column& c, json value) {
    json h = {{"title", c.title}, {"description", c.description}, {"namespace", "cramjet"}};
    if (c.suffix[0]) h["suffix"] = c.suffix;
    if (c.format[0]) {
      h["format"] = c.format;
      h["min"] = 0;
      if (c.max > 0) h["max"] = c.max;
    } else {
      h["scale"] = false;
    }
    if (c.hidden) h["hidden"] = true;
    headers[c.key] = h;
    ordered.push_back({{c.key, h}});
    row[c.key] = value;
  };
  const QcSummary& s = qc.summary;
  auto number_or_null = [](double v) { return std::isnan(v) ? json(nullptr) : json(v); };
  add({"verdict", "QC", "cramjet QC verdict: pass, warn or fail (the checks: hidden columns)", "", "", false, 0},
      QcVerdictName(qc.verdict));
  add({"placed_percent", "% Placed", "Primary reads placed on the reference", "%", "{:,.1f}", false, 100},
      s.placed_percent);
  add({"mean_depth", "Depth", "Mean depth over the reference", "X", "{:,.1f}", false, 0}, s.mean_depth);
  add({"insert_size_median", "Insert", "Median insert size of properly placed pairs", " bp", "{:,.0f}", false, 0},
      qc.insert_size.median);
  add({"q30_percent", "% Q30", "Bases of quality 30 or more", "%", "{:,.1f}", true, 100}, s.q30_percent);
  add({"gc_percent", "% GC", "GC content of all bases", "%", "{:,.1f}", true, 100}, s.gc_percent);
  add({"duplication_percent", "% Dups", "Duplicate fragments (by sequence)", "%", "{:,.1f}", true, 100},
      number_or_null(s.duplication_percent));
  add({"adapter_truseq_percent", "% TruSeq", "Reads with the TruSeq adapter", "%", "{:,.2f}", true, 100},
      s.adapter_percent[0]);
  add({"adapter_nextera_percent", "% Nextera", "Reads with the Nextera adapter", "%", "{:,.2f}", true, 100},
      s.adapter_percent[1]);
  if (!std::isnan(s.mismatch_percent))
    add({"mismatch_percent", "% Mismatch", "Mismatching bases of placed reads", "%", "{:,.2f}", true, 100},
        s.mismatch_percent);
  // Long-read figures (NanoPlot's headline numbers): read-length N50 and mean identity of placed reads.
  add({"read_length_n50", "N50", "Read-length N50", " bp", "{:,.0f}", true, 0}, s.n50_length);
  if (!std::isnan(s.identity_mean_percent))
    add({"identity_mean_percent", "% Identity", "Mean identity of placed reads", "%", "{:,.2f}", true, 100},
        s.identity_mean_percent);
  for (const QcCheck& c : qc.checks) {
    const std::string key = c.key + "_verdict";
    headers[key] = {{"title", c.key}, {"description", "Verdict of the check: " + c.description},
                    {"namespace", "cramjet"}, {"scale", false}, {"hidden", true}};
    ordered.push_back({{key, headers[key]}});
    row[key] = QcVerdictName(c.verdict);
  }
  // MultiQC 1.14 (Debian 12) reads a generalstats section's columns from `pconfig`, later
  // versions from `headers`: both are given, in the column order above.
  out["pconfig"] = ordered;
  out["headers"] = headers;
  out["data"][qc.sample] = row;
  return out.dump(1, ' ', false, json::error_handler_t::replace) + "\n";
}

}  // namespace cramjet
