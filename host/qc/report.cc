// Views of the qc.json document in formats that MultiQC (and the labs' own scripts) already
// parse: `samtools stats` text, fastp JSON and MultiQC custom content.
#include <cmath>
#include <cstdio>
#include <map>
#include <sstream>

#include <nlohmann/json.hpp>

#include "cramjet/version.h"
#include "qc/qc.h"

namespace cramjet {
namespace {

using nlohmann::json;

const json& MateOrEmpty(const json& qc, const char* mate) {
  static const json empty = json::object();
  const auto& mates = qc["mates"];
  return mates.contains(mate) ? mates[mate] : empty;
}

// samtools stats calls the single-end reads and R1 "first fragments", R2 "last fragments".
// Both single and read1 can be present (orphans): their per-cycle tables are added.
std::vector<std::vector<uint64_t>> QualityTable(const json& qc, bool last) {
  std::vector<std::vector<uint64_t>> table;
  auto add = [&](const json& mate) {
    if (!mate.contains("per_cycle")) return;
    const auto& hist = mate["per_cycle"]["quality_histogram"];
    if (table.size() < hist.size()) table.resize(hist.size());
    for (size_t i = 0; i < hist.size(); ++i) {
      if (table[i].size() < hist[i].size()) table[i].resize(hist[i].size(), 0);
      for (size_t q = 0; q < hist[i].size(); ++q) table[i][q] += hist[i][q].get<uint64_t>();
    }
  };
  if (last) {
    add(MateOrEmpty(qc, "read2"));
  } else {
    add(MateOrEmpty(qc, "single"));
    add(MateOrEmpty(qc, "read1"));
  }
  return table;
}

std::string Fixed(double v, int digits) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", digits, v);
  return buf;
}

}  // namespace

std::string RenderSamtoolsStats(const json& qc) {
  const json& st = qc["samtools_stats"];
  std::ostringstream o;
  o << "# This file was produced by samtools stats format writer of cramjet " << Version()
    << " (fields as samtools stats 1.16) and can be plotted using plot-bamstats\n";
  o << "# Sample: " << qc["sample"].get<std::string>() << "\n";
  o << "# Summary Numbers. Use `grep ^SN | cut -f 2-` to extract this part.\n";
  auto sn = [&](const char* name, const std::string& value, const char* comment = nullptr) {
    o << "SN\t" << name << ":\t" << value;
    if (comment) o << "\t# " << comment;
    o << "\n";
  };
  auto u = [&](const char* key) { return std::to_string(st[key].get<uint64_t>()); };
  const double total = double(st["total_length"].get<uint64_t>());
  const double seqs = double(st["sequences"].get<uint64_t>());
  const double first = double(st["first_fragments"].get<uint64_t>());
  const double last = double(st["last_fragments"].get<uint64_t>());
  const double cigar = double(st["bases_mapped_cigar"].get<uint64_t>());
  const uint64_t mism = st["mismatches_nm"].get<uint64_t>();
  uint64_t max_first = 0, max_last = 0;
  for (const char* m : {"single", "read1"})
    if (qc["mates"].contains(m)) max_first = std::max(max_first, qc["mates"][m]["max_length"].get<uint64_t>());
  if (qc["mates"].contains("read2")) max_last = qc["mates"]["read2"]["max_length"].get<uint64_t>();
  const json& ins = qc["insert_size"];
  const uint64_t in = st["inward_pairs"].get<uint64_t>(), out = st["outward_pairs"].get<uint64_t>(),
                 oth = st["other_orientation_pairs"].get<uint64_t>();
  sn("raw total sequences", u("raw_total_sequences"), "excluding supplementary and secondary reads");
  sn("filtered sequences", u("filtered_sequences"));
  sn("sequences", u("sequences"));
  sn("is sorted", u("is_sorted"));
  sn("1st fragments", u("first_fragments"));
  sn("last fragments", u("last_fragments"));
  sn("reads mapped", u("reads_mapped"));
  sn("reads mapped and paired", u("reads_mapped_and_paired"), "paired-end technology bit set + both mates mapped");
  sn("reads unmapped", u("reads_unmapped"));
  sn("reads properly paired", u("reads_properly_paired"), "proper-pair bit set");
  sn("reads paired", u("reads_paired"), "paired-end technology bit set");
  sn("reads duplicated", u("reads_duplicated"), "PCR or optical duplicate bit set");
  sn("reads MQ0", u("reads_mq0"), "mapped and MQ=0");
  sn("reads QC failed", u("reads_qc_failed"));
  sn("non-primary alignments", u("non_primary_alignments"));
  sn("supplementary alignments", u("supplementary_alignments"));
  sn("total length", u("total_length"), "ignores clipping");
  sn("total first fragment length", u("total_first_fragment_length"), "ignores clipping");
  sn("total last fragment length", u("total_last_fragment_length"), "ignores clipping");
  sn("bases mapped", u("bases_mapped"), "ignores clipping");
  sn("bases mapped (cigar)", u("bases_mapped_cigar"), "more accurate");
  sn("bases trimmed", "0");
  sn("bases duplicated", u("bases_duplicated"));
  sn("mismatches", std::to_string(mism), "from NM fields");
  char err[32];
  std::snprintf(err, sizeof err, "%e", cigar > 0 ? double(mism) / cigar : 0.0);
  sn("error rate", err, "mismatches / bases mapped (cigar)");
  sn("average length", Fixed(seqs > 0 ? total / seqs : 0, 0));
  sn("average first fragment length",
     Fixed(first > 0 ? double(st["total_first_fragment_length"].get<uint64_t>()) / first : 0, 0));
  sn("average last fragment length",
     Fixed(last > 0 ? double(st["total_last_fragment_length"].get<uint64_t>()) / last : 0, 0));
  sn("maximum length", std::to_string(std::max(max_first, max_last)));
  sn("maximum first fragment length", std::to_string(max_first));
  sn("maximum last fragment length", std::to_string(max_last));
  sn("average quality", Fixed(total > 0 ? double(st["quality_sum"].get<uint64_t>()) / total : 0, 1));
  sn("insert size average", Fixed(ins["mean"].get<double>(), 1));
  sn("insert size standard deviation", Fixed(ins["sd"].get<double>(), 1));
  sn("inward oriented pairs", std::to_string(in));
  sn("outward oriented pairs", std::to_string(out));
  sn("pairs with other orientation", std::to_string(oth));
  sn("pairs on different chromosomes", u("pairs_on_different_chromosomes"));
  const double mapped_reads = double(st["reads_mapped"].get<uint64_t>());
  sn("percentage of properly paired reads (%)",
     Fixed(seqs > 0 && mapped_reads >= 0 ? 100.0 * double(st["reads_properly_paired"].get<uint64_t>()) / seqs : 0, 1));

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
    std::vector<uint64_t> hist(101, 0);
    for (const char* m : last_fragment ? std::vector<const char*>{"read2"} : std::vector<const char*>{"single", "read1"}) {
      const json& mate = MateOrEmpty(qc, m);
      if (!mate.contains("gc_histogram")) continue;
      for (size_t i = 0; i < 101; ++i) hist[i] += mate["gc_histogram"][i].get<uint64_t>();
    }
    for (size_t i = 0; i < 101; ++i)
      if (hist[i]) o << tag << "\t" << i << "\t" << hist[i] << "\n";
  }
  // Base composition per cycle in sequencing direction, all reads (samtools' GCT). samtools'
  // FBC/LBC count bases as stored (reverse-strand reads not complemented); they are left out.
  o << "# ACGT content per cycle, read oriented. Use `grep ^GCT | cut -f 2-` to extract this part. The columns "
       "are: cycle; A,C,G,T base counts as a percentage of all A/C/G/T bases [%]\n";
  {
    const json& bp = qc["all"]["per_cycle"]["base_percent"];
    for (size_t i = 0; i < bp["A"].size(); ++i) {
      const double a = bp["A"][i], c = bp["C"][i], g = bp["G"][i], t = bp["T"][i];
      const double acgt = a + c + g + t;
      auto pct = [&](double x) { return Fixed(acgt > 0 ? 100.0 * x / acgt : 0, 2); };
      o << "GCT\t" << (i + 1) << "\t" << pct(a) << "\t" << pct(c) << "\t" << pct(g) << "\t" << pct(t) << "\n";
    }
  }
  // Total base counts (FTC/LTC): A C G T N.
  for (int last_fragment = 0; last_fragment < 2; ++last_fragment) {
    const char* tag = last_fragment ? "LTC" : "FTC";
    uint64_t counts[5] = {0, 0, 0, 0, 0};
    for (const char* m : last_fragment ? std::vector<const char*>{"read2"} : std::vector<const char*>{"single", "read1"}) {
      const json& mate = MateOrEmpty(qc, m);
      if (!mate.contains("base_counts_as_stored")) continue;
      const char* names[5] = {"A", "C", "G", "T", "N"};
      for (int k = 0; k < 5; ++k) counts[k] += mate["base_counts_as_stored"][names[k]].get<uint64_t>();
    }
    o << tag;
    for (uint64_t c : counts) o << "\t" << c;
    o << "\n";
  }
  // Read lengths.
  for (const char* tag : {"RL", "FRL", "LRL"}) {
    std::map<uint64_t, uint64_t> lengths;
    std::vector<const char*> mates;
    if (std::string(tag) == "RL") mates = {"single", "read1", "read2"};
    else if (std::string(tag) == "FRL") mates = {"single", "read1"};
    else mates = {"read2"};
    for (const char* m : mates) {
      const json& mate = MateOrEmpty(qc, m);
      if (!mate.contains("length_histogram")) continue;
      for (const auto& pair : mate["length_histogram"]) lengths[pair[0].get<uint64_t>()] += pair[1].get<uint64_t>();
    }
    for (const auto& [len, count] : lengths) o << tag << "\t" << len << "\t" << count << "\n";
  }
  // Insert sizes: IS <size> <pairs total> <inward> <outward> <other>; orientation per size is
  // not kept, so all pairs are listed in the total column and the inward column is left 0.
  o << "# Insert sizes. Use `grep ^IS | cut -f 2-` to extract this part. The columns are: insert size, "
       "pairs total, inward oriented pairs, outward oriented pairs, other pairs\n";
  for (const auto& pair : ins["histogram"])
    o << "IS\t" << pair[0].get<uint64_t>() << "\t" << pair[1].get<uint64_t>() << "\t0\t0\t0\n";
  return o.str();
}

std::string RenderFastpJson(const json& qc) {
  json out;
  const std::string sample = qc["sample"];
  // fastp's view: paired end when most reads are R1/R2 (single-end files with a few /1 /2 names,
  // or paired BAMs with a few orphans, are reported as what most of their reads are).
  auto mate_reads = [&](const char* m) { return qc["mates"].contains(m) ? qc["mates"][m]["reads"].get<uint64_t>() : 0; };
  const bool paired = mate_reads("read2") > 0 && mate_reads("read1") + mate_reads("read2") > mate_reads("single");
  const json& all = qc["all"];
  auto section = [&](const json& mate) {
    json s;
    s["total_reads"] = mate["reads"];
    s["total_bases"] = mate["bases"];
    s["q20_bases"] = mate["q20_bases"];
    s["q30_bases"] = mate["q30_bases"];
    s["total_cycles"] = mate["max_length"];
    s["quality_curves"]["mean"] = mate["per_cycle"]["quality_mean"];
    const json& bp = mate["per_cycle"]["base_percent"];
    json gc = json::array();
    for (const char* b : {"A", "T", "C", "G", "N"}) {
      json curve = json::array();
      for (const auto& v : bp[b]) curve.push_back(v.get<double>() / 100.0);
      s["content_curves"][b] = curve;
    }
    for (size_t i = 0; i < bp["C"].size(); ++i) gc.push_back((bp["C"][i].get<double>() + bp["G"][i].get<double>()) / 100.0);
    s["content_curves"]["GC"] = gc;
    return s;
  };
  // fastp's gc_content is G+C over all bases (N included); its mean lengths per mate.
  auto summary = [&]() {
    json s;
    const double bases = all["bases"].get<double>();
    s["total_reads"] = all["reads"];
    s["total_bases"] = all["bases"];
    s["q20_bases"] = all["q20_bases"];
    s["q30_bases"] = all["q30_bases"];
    s["q20_rate"] = bases > 0 ? all["q20_bases"].get<double>() / bases : 0.0;
    s["q30_rate"] = bases > 0 ? all["q30_bases"].get<double>() / bases : 0.0;
    const json& r1 = paired ? qc["mates"]["read1"] : all;
    s["read1_mean_length"] = uint64_t(r1["mean_length"].get<double>());  // fastp truncates
    if (paired) s["read2_mean_length"] = uint64_t(qc["mates"]["read2"]["mean_length"].get<double>());
    const json& bc = all["base_counts"];
    s["gc_content"] = bases > 0 ? (bc["C"].get<double>() + bc["G"].get<double>()) / bases : 0.0;
    return s;
  };
  out["summary"]["fastp_version"] = std::string("cramjet ") + Version();
  uint64_t r1_cycles = 0, r2_cycles = 0;
  r1_cycles = (paired ? qc["mates"]["read1"] : all)["max_length"].get<uint64_t>();
  if (paired) r2_cycles = qc["mates"]["read2"]["max_length"].get<uint64_t>();
  out["summary"]["sequencing"] = paired ? "paired end (" + std::to_string(r1_cycles) + " cycles + " +
                                              std::to_string(r2_cycles) + " cycles)"
                                        : "single end (" + std::to_string(r1_cycles) + " cycles)";
  // QC does not filter: after_filtering repeats before_filtering.
  out["summary"]["before_filtering"] = summary();
  out["summary"]["after_filtering"] = summary();
  out["filtering_result"] = {{"passed_filter_reads", all["reads"]}, {"low_quality_reads", 0},
                             {"too_many_N_reads", 0}, {"too_short_reads", 0}, {"too_long_reads", 0}};
  // fastp writes adapter_cutting only when it trims; QC trims nothing, but the reads that carry
  // an adapter are what MultiQC's "% adapter" column shows (the larger of TruSeq and Nextera).
  {
    const json& ad = all["adapter"];
    const uint64_t truseq = ad["truseq"]["reads"].get<uint64_t>(), nextera = ad["nextera"]["reads"].get<uint64_t>();
    out["adapter_cutting"] = {{"adapter_trimmed_reads", std::max(truseq, nextera)},
                              {"adapter_trimmed_bases", 0},
                              {"read1_adapter_sequence", truseq >= nextera ? ad["truseq"]["kmer"] : ad["nextera"]["kmer"]}};
  }
  const json& dup = qc["duplication"];
  if (!dup["percent"].is_null()) {
    out["duplication"]["rate"] = dup["percent"].get<double>() / 100.0;
    out["duplication"]["histogram"] = dup["copy_number_histogram"];
    out["duplication"]["mean_gc"] = json::array();
  }
  const json& ins = qc["insert_size"];
  if (ins["pairs"].get<uint64_t>() > 0) {
    std::vector<uint64_t> hist(ins["histogram"].empty() ? 1 : ins["histogram"].back()[0].get<size_t>() + 1, 0);
    for (const auto& pair : ins["histogram"]) hist[pair[0].get<size_t>()] = pair[1].get<uint64_t>();
    out["insert_size"] = {{"peak", ins["peak"]}, {"unknown", 0}, {"histogram", hist}};
  }
  if (all["reads"].get<uint64_t>() > 0) {
    const json& first = paired ? qc["mates"]["read1"] : all;
    out["read1_before_filtering"] = section(first);
    out["read1_after_filtering"] = section(first);
  }
  if (paired) {
    out["read2_before_filtering"] = section(qc["mates"]["read2"]);
    out["read2_after_filtering"] = section(qc["mates"]["read2"]);
  }
  // MultiQC takes the sample name from the word after -i in "command".
  out["command"] = "cramjet qc -i " + sample;
  return out.dump(1, ' ', false, json::error_handler_t::replace) + "\n";
}

std::string RenderMultiqcCustom(const json& qc) {
  const std::string sample = qc["sample"];
  json out;
  out["id"] = "cramjet_qc";
  out["section_name"] = "cramjet QC";
  out["description"] =
      "Metrics from cramjet's single-pass QC that samtools stats and fastp outputs do not hold "
      "(schema: cramjet-qc v" + std::to_string(qc["schema_version"].get<int>()) + ").";
  out["plot_type"] = "table";
  out["pconfig"] = {{"id", "cramjet_qc_table"}, {"namespace", "cramjet"}};
  json row;
  row["verdict"] = qc["verdict"];
  const json& s = qc["summary"];
  row["q30_percent"] = s["q30_percent"];
  row["gc_percent"] = s["gc_percent"];
  row["adapter_truseq_percent"] = s["adapter_percent"]["truseq"];
  row["adapter_nextera_percent"] = s["adapter_percent"]["nextera"];
  row["duplication_percent"] = s["duplication_percent"];
  row["placed_percent"] = s["placed_percent"];
  if (!s["mismatch_percent"].is_null()) row["mismatch_percent"] = s["mismatch_percent"];
  row["mean_depth"] = s["mean_depth"];
  row["insert_size_median"] = qc["insert_size"]["median"];
  // Long-read figures (NanoPlot's headline numbers): read-length N50 and mean identity of placed reads.
  row["read_length_n50"] = s["n50_length"];
  if (!s["identity_mean_percent"].is_null()) row["identity_mean_percent"] = s["identity_mean_percent"];
  for (const auto& m : qc["metrics"]) row[m["key"].get<std::string>() + "_verdict"] = m["verdict"];
  out["data"][sample] = row;
  return out.dump(1, ' ', false, json::error_handler_t::replace) + "\n";
}

}  // namespace cramjet
