// The HTML report's numbers on their own (host/qc/html_internal.h): axis ticks and their labels,
// duplication levels, possible sources; and RenderQcHtml on hand-made figures: a panel per read,
// the overrepresented table, hover data that parses and carries the figures. The drawing in a
// browser is in qc_outputs_test.cc.
#include "qc/html_internal.h"

#include <cmath>
#include <set>

#include <nlohmann/json.hpp>

#include <gtest/gtest.h>

namespace cramjet {
namespace {

using nlohmann::json;
using qc_html::AxisTicks;
using qc_html::NiceTicks;

// The step is 1, 2 or 5 x 10^k.
bool IsNiceStep(double step) {
  const double exponent = std::floor(std::log10(step) + 1e-9);
  const double mantissa = step / std::pow(10.0, exponent);
  for (double m : {1.0, 2.0, 5.0, 10.0})
    if (std::fabs(mantissa - m) < 1e-9 * m) return true;
  return false;
}

// Everything an axis promises, whatever the range: nice step, ticks on multiples of it from at
// or below `lo` to at or above `hi`, one label each, no two alike.
void ExpectGoodAxis(const AxisTicks& t, double lo, double hi, bool integer_steps = false, int target_intervals = 5) {
  SCOPED_TRACE("range [" + std::to_string(lo) + ", " + std::to_string(hi) + "]");
  EXPECT_TRUE(IsNiceStep(t.step)) << t.step;
  if (integer_steps) {
    EXPECT_GE(t.step, 1.0);
  }
  EXPECT_LE(t.min, lo);
  EXPECT_GE(t.max, hi);
  ASSERT_EQ(t.values.size(), t.labels.size());
  EXPECT_GE(t.values.size(), integer_steps ? 2u : 3u);  // a step of 1 may cover a short range at once
  EXPECT_LE(t.values.size(), 2u * size_t(target_intervals) + 3);
  EXPECT_EQ(t.values.front(), t.min);
  EXPECT_EQ(t.values.back(), t.max);
  for (size_t i = 0; i < t.values.size(); ++i) {
    const double multiple = t.values[i] / t.step;
    EXPECT_NEAR(multiple, std::round(multiple), 1e-6) << t.values[i];
    if (i > 0) {
      EXPECT_NEAR(t.values[i] - t.values[i - 1], t.step, t.step * 1e-9);
    }
  }
  const std::set<std::string> distinct(t.labels.begin(), t.labels.end());
  EXPECT_EQ(distinct.size(), t.labels.size()) << ::testing::PrintToString(t.labels);
}

TEST(QcHtmlTicks, TheIssuesRangesGetRoundTicks) {
  // The old report's y axis of a quality plot: 0, 9.6, 19.1, 28.7, 38.2.
  const AxisTicks quality = NiceTicks(0, 38.2);
  ExpectGoodAxis(quality, 0, 38.2);
  EXPECT_EQ(quality.labels, (std::vector<std::string>{"0", "10", "20", "30", "40"}));
  // The old coverage axis from 21.4: widened down to a round tick.
  const AxisTicks depth = NiceTicks(21.4, 80);
  ExpectGoodAxis(depth, 21.4, 80);
  EXPECT_EQ(depth.min, 20);
  EXPECT_EQ(depth.step, 10);
  const AxisTicks counts = NiceTicks(0, 100000);
  ExpectGoodAxis(counts, 0, 100000);
  EXPECT_EQ(counts.labels, (std::vector<std::string>{"0", "20k", "40k", "60k", "80k", "100k"}));
  // "20k" five times: ticks 1000 apart near 20,000 each need their own label.
  const AxisTicks near_20k = NiceTicks(20000, 24000);
  ExpectGoodAxis(near_20k, 20000, 24000);
  EXPECT_EQ(near_20k.labels, (std::vector<std::string>{"20k", "21k", "22k", "23k", "24k"}));
  ExpectGoodAxis(NiceTicks(20000, 22000), 20000, 22000);
  EXPECT_EQ(NiceTicks(20000, 22000).labels[1], "20.5k");
  // A percentage below 1 and a cycle axis.
  EXPECT_EQ(NiceTicks(0, 1).labels, (std::vector<std::string>{"0", "0.2", "0.4", "0.6", "0.8", "1.0"}));
  EXPECT_EQ(NiceTicks(1, 100, 6, true).labels, (std::vector<std::string>{"0", "20", "40", "60", "80", "100"}));
}

TEST(QcHtmlTicks, AnyRangeGetsAGoodAxis) {
  uint64_t x = 12345;
  auto next = [&] { return double((x = x * 6364136223846793005ull + 1442695040888963407ull) >> 11) / double(1ull << 53); };
  for (int i = 0; i < 3000; ++i) {
    // Spans from 1e-4 to 1e10, starting at zero or anywhere up to ten spans away.
    const double span = std::pow(10.0, -4 + 14 * next());
    const double lo = next() < 0.3 ? 0.0 : span * 10 * next();
    const bool integer_steps = next() < 0.3;
    const int target = 3 + int(next() * 6);
    ExpectGoodAxis(NiceTicks(lo, lo + span, target, integer_steps), lo, lo + span, integer_steps, target);
  }
  // One value: widened around it, from zero when it is zero.
  ExpectGoodAxis(NiceTicks(100, 100, 6, true), 100, 100, true);
  EXPECT_LT(NiceTicks(100, 100, 6, true).min, 100);
  EXPECT_GT(NiceTicks(100, 100, 6, true).max, 100);
  EXPECT_EQ(NiceTicks(0, 0).min, 0);
  ExpectGoodAxis(NiceTicks(0, 0), 0, 0);
}

TEST(QcHtmlTicks, LabelsTakeTheirDecimalsAndSuffixFromTheStep) {
  EXPECT_EQ(qc_html::TickLabel(0, 0.5, 2), "0");
  EXPECT_EQ(qc_html::TickLabel(1.5, 0.5, 2), "1.5");
  EXPECT_EQ(qc_html::TickLabel(0.05, 0.05, 0.2), "0.05");
  EXPECT_EQ(qc_html::TickLabel(8000, 2000, 8000), "8000");      // below 10,000: written out
  EXPECT_EQ(qc_html::TickLabel(10500, 500, 12000), "10.5k");
  EXPECT_EQ(qc_html::TickLabel(10002, 2, 10010), "10002");      // 10.002k would hide the step
  EXPECT_EQ(qc_html::TickLabel(2.5e6, 5e5, 3e6), "2.5M");
  EXPECT_EQ(qc_html::TickLabel(3e9, 1e9, 3e9), "3G");
}

TEST(QcHtmlDuplication, LevelsArePercentagesOfFragmentsAndOfDistinctSequences) {
  QcDuplication d;
  d.copy_number_histogram.assign(100, 0);
  d.copy_number_histogram[0] = 50;  // 50 sequences seen once
  d.copy_number_histogram[1] = 10;  // 10 seen twice: 20 fragments
  d.copy_number_histogram[19] = 1;  // one seen 20 times
  d.copy_number_histogram[99] = 2;  // two seen 100 times or more: 250 fragments in all
  d.distinct_sampled = 63;
  d.sampled_fragments = 50 + 20 + 20 + 250;
  const auto levels = qc_html::DuplicationLevels(d);
  ASSERT_EQ(levels.size(), 12u);
  std::vector<std::string> labels;
  for (const auto& l : levels) labels.push_back(l.label);
  EXPECT_EQ(labels, (std::vector<std::string>{"1", "2", "3", "4", "5", "6", "7", "8", "9", "10-49", "50-99", "100+"}));
  EXPECT_DOUBLE_EQ(levels[0].fragments_percent, 100.0 * 50 / 340);
  EXPECT_DOUBLE_EQ(levels[1].fragments_percent, 100.0 * 20 / 340);
  EXPECT_DOUBLE_EQ(levels[9].fragments_percent, 100.0 * 20 / 340);
  EXPECT_DOUBLE_EQ(levels[10].fragments_percent, 0.0);
  EXPECT_DOUBLE_EQ(levels[11].fragments_percent, 100.0 * 250 / 340);
  EXPECT_DOUBLE_EQ(levels[0].distinct_percent, 100.0 * 50 / 63);
  EXPECT_DOUBLE_EQ(levels[11].distinct_percent, 100.0 * 2 / 63);
  double fragments = 0, distinct = 0;
  for (const auto& l : levels) fragments += l.fragments_percent, distinct += l.distinct_percent;
  EXPECT_NEAR(fragments, 100, 1e-9);
  EXPECT_NEAR(distinct, 100, 1e-9);
  EXPECT_TRUE(qc_html::DuplicationLevels(QcDuplication{}).empty());
}

TEST(QcHtmlOverrepresented, PossibleSources) {
  EXPECT_EQ(qc_html::PossibleSource("TTGCAAGATCGGAAGAGCACACGTCTGAACTCCAGTCACAT"), "Illumina TruSeq (universal) adapter");
  EXPECT_EQ(qc_html::PossibleSource("ctgtctcttatacacatctccgagcccacgagac"), "Illumina Nextera (transposase) adapter");
  EXPECT_EQ(qc_html::PossibleSource(std::string(45, 'G') + "ACGTA"), "poly-G");  // 90 % G
  EXPECT_EQ(qc_html::PossibleSource(std::string(44, 'G') + "ACTTAC"), "no hit");  // 88 %
  EXPECT_EQ(qc_html::PossibleSource("ACGTTGCAACGGTACCATGA"), "no hit");
}

// A mate with `cycles` cycles of plausible figures.
QcMateMetrics Mate(uint64_t reads, size_t cycles) {
  QcMateMetrics m;
  m.reads = reads;
  m.bases = reads * cycles;
  auto& pc = m.per_cycle;
  for (size_t i = 0; i < cycles; ++i) {
    pc.quality_mean.push_back(35.0 - double(i) / 10);
    pc.quality_lower_quartile.push_back(30);
    pc.quality_median.push_back(36);
    pc.quality_upper_quartile.push_back(38);
    const double percent[kNumCodes] = {29, 21, 21, 28.5, 0.5};
    for (int b = 0; b < kNumCodes; ++b) pc.base_percent[b].push_back(percent[b]);
    pc.mismatch_percent.push_back(0.5);
  }
  m.gc_histogram[42] = double(reads);
  m.placed.aligned_bases_compared = m.bases;
  m.length_histogram = {{cycles, reads}};
  for (auto& a : m.adapter) a.cumulative_percent.assign(cycles, 0.01);
  return m;
}

QcMetrics PairedMetrics() {
  QcMetrics qc;
  qc.sample = "S<1>";
  qc.mates[kQcRead1] = Mate(1000, 50);
  qc.mates[kQcRead2] = Mate(1000, 50);
  qc.mates[kQcSingle] = Mate(3, 50);  // orphans: too few for panels of their own
  qc.duplication.copy_number_histogram.assign(100, 0);
  qc.duplication.copy_number_histogram[0] = 900;
  qc.duplication.copy_number_histogram[1] = 50;
  qc.duplication.sampled_fragments = 1000;
  qc.duplication.distinct_sampled = 950;
  qc.duplication.percent = 5;
  qc.coverage.aligned_bases = 1000;
  for (uint64_t pos = 0; pos < 16000; pos += 1000) qc.coverage.depth_track.push_back({pos, 21.4 + double(pos) / 300});
  return qc;
}

size_t Count(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

// The svg element of plot `id`, up to its end.
std::string Plot(const std::string& html, const std::string& id) {
  const size_t at = html.find("id=\"" + id + "\"");
  if (at == std::string::npos) return "";
  return html.substr(at, html.find("</svg>", at) - at);
}

json HoverData(const std::string& plot) {
  const std::string key = "data-hover=\"";
  const size_t at = plot.find(key);
  if (at == std::string::npos) return json();
  std::string raw = plot.substr(at + key.size(), plot.find('"', at + key.size()) - at - key.size());
  for (const auto& [entity, c] : std::vector<std::pair<std::string, std::string>>{
           {"&quot;", "\""}, {"&#39;", "'"}, {"&lt;", "<"}, {"&gt;", ">"}, {"&amp;", "&"}})
    for (size_t p = raw.find(entity); p != std::string::npos; p = raw.find(entity, p + 1)) raw.replace(p, entity.size(), c);
  return json::parse(raw);
}

// The y tick labels of a plot, bottom to top (they are the right-aligned ticks).
std::vector<std::string> YTicks(const std::string& plot) {
  std::vector<std::string> labels;
  const std::string key = "text-anchor=\"end\" class=\"tick\">";
  for (size_t at = plot.find(key); at != std::string::npos; at = plot.find(key, at + 1))
    labels.push_back(plot.substr(at + key.size(), plot.find('<', at) - at - key.size()));
  return labels;
}

TEST(QcHtmlReport, OnePanelPerReadForQualityAndComposition) {
  const std::string html = RenderQcHtml(PairedMetrics());
  for (const char* id : {"plot-quality-read1", "plot-quality-read2", "plot-composition-read1", "plot-composition-read2"}) {
    const std::string plot = Plot(html, id);
    ASSERT_FALSE(plot.empty()) << id;
    EXPECT_EQ(plot.find("data-empty"), std::string::npos) << id;
  }
  EXPECT_EQ(html.find("plot-composition-single"), std::string::npos);
  EXPECT_EQ(html.find("plot-quality-single"), std::string::npos);
  // Quality panels: mean, median and both quartiles of their own read (R2's are R2's).
  const json r2 = HoverData(Plot(html, "plot-quality-read2"));
  ASSERT_TRUE(r2.is_object());
  std::vector<std::string> names;
  for (const auto& s : r2["s"]) names.push_back(s["n"]);
  EXPECT_EQ(names, (std::vector<std::string>{"mean", "median", "upper quartile", "lower quartile"}));
  EXPECT_EQ(r2["s"][3]["p"][0], json::array({1, 30}));
  EXPECT_EQ(Count(Plot(html, "plot-quality-read2"), "class=\"band\""), 1u);
  // Composition panels: the five bases of their read, no more.
  const json c1 = HoverData(Plot(html, "plot-composition-read1"));
  ASSERT_EQ(c1["s"].size(), 5u);
  EXPECT_EQ(c1["s"][4]["n"], "N");
  EXPECT_EQ(c1["s"][0]["p"].size(), 50u);
  // 2 quality, 2 composition, GC, length, duplication, insert, coverage, mismatch, adapter.
  EXPECT_EQ(Count(html, "class=\"qc-plot\""), 11u);

  QcMetrics single;
  single.mates[kQcSingle] = Mate(500, 30);
  const std::string single_html = RenderQcHtml(single);
  EXPECT_NE(single_html.find("id=\"plot-composition-single\""), std::string::npos);
  EXPECT_NE(single_html.find("id=\"plot-quality-single\""), std::string::npos);
  EXPECT_EQ(single_html.find("plot-composition-read1"), std::string::npos);
}

TEST(QcHtmlReport, CountAxesStartAtZeroWithRoundTicks) {
  const std::string html = RenderQcHtml(PairedMetrics());
  // Depths 21.4 to 71.4: the axis still starts at 0.
  EXPECT_EQ(YTicks(Plot(html, "plot-coverage")), (std::vector<std::string>{"0", "20", "40", "60", "80"}));
  EXPECT_EQ(YTicks(Plot(html, "plot-quality-read1")), (std::vector<std::string>{"0", "10", "20", "30", "40"}));
  EXPECT_EQ(YTicks(Plot(html, "plot-composition-read1")),
            (std::vector<std::string>{"0", "5", "10", "15", "20", "25", "30"}));
}

TEST(QcHtmlReport, DuplicationHistogramAndOverrepresentedTable) {
  QcMetrics qc = PairedMetrics();
  std::string html = RenderQcHtml(qc);
  // Nothing overrepresented: said in a line, no empty table.
  EXPECT_NE(html.find("id=\"overrepresented-none\""), std::string::npos);
  EXPECT_EQ(html.find("id=\"overrepresented\""), std::string::npos);
  const json dup = HoverData(Plot(html, "plot-duplication"));
  ASSERT_TRUE(dup.is_object());
  EXPECT_EQ(dup["xl"].size(), 12u);
  EXPECT_EQ(dup["xl"][11], "100+");
  EXPECT_EQ(dup["s"][0]["n"], "% of fragments");
  EXPECT_NEAR(dup["s"][0]["p"][0][1].get<double>(), 90.0, 1e-9);  // 900 of 1000 fragments once
  EXPECT_NEAR(dup["s"][0]["p"][1][1].get<double>(), 10.0, 1e-9);
  EXPECT_NEAR(dup["s"][1]["p"][0][1].get<double>(), 100.0 * 900 / 950, 1e-4);
  EXPECT_EQ(Count(Plot(html, "plot-duplication"), "<g class=\"series\""), 2u);

  qc.overrepresented = {{"TTGCAAGATCGGAAGAGCACACGTC", 40, 4.0}, {"ACG<T>", 12, 1.2}};
  html = RenderQcHtml(qc);
  EXPECT_EQ(html.find("overrepresented-none"), std::string::npos);
  const size_t table = html.find("<table id=\"overrepresented\">");
  ASSERT_NE(table, std::string::npos);
  const std::string rows = html.substr(table, html.find("</table>", table) - table);
  EXPECT_NE(rows.find("<th>possible source</th>"), std::string::npos);
  EXPECT_NE(rows.find("<tr><td><code>TTGCAAGATCGGAAGAGCACACGTC</code></td><td class=\"num\">40</td><td class=\"num\">4.000</td>"
                      "<td>Illumina TruSeq (universal) adapter</td></tr>"),
            std::string::npos)
      << rows;
  EXPECT_NE(rows.find("<code>ACG&lt;T&gt;</code></td><td class=\"num\">12</td><td class=\"num\">1.200</td><td>no hit</td>"),
            std::string::npos)
      << rows;

  // Nothing sampled: the histogram is an empty plot, still there.
  qc.duplication = QcDuplication{};
  EXPECT_NE(Plot(RenderQcHtml(qc), "plot-duplication").find("data-empty=\"1\""), std::string::npos);
}

TEST(QcHtmlReport, SelfContainedWithHoverDataForEveryPlotWithData) {
  const std::string html = RenderQcHtml(PairedMetrics());
  for (const char* forbidden : {"src=\"http", "href=\"http", "<link", "@import", "url(", "src=\"//", "<script src"})
    EXPECT_EQ(html.find(forbidden), std::string::npos) << forbidden;
  // The sample name is escaped in the title and heading.
  EXPECT_EQ(html.find("S<1>"), std::string::npos);
  EXPECT_NE(html.find("QC report: S&lt;1&gt;"), std::string::npos);
  // Every plot with data carries hover data that parses; the insert-size plot has none (no pairs).
  size_t with_hover = 0;
  for (size_t at = html.find("class=\"qc-plot\" id=\""); at != std::string::npos; at = html.find("class=\"qc-plot\" id=\"", at + 1)) {
    const size_t id_at = at + std::string("class=\"qc-plot\" id=\"").size();
    const std::string id = html.substr(id_at, html.find('"', id_at) - id_at);
    const std::string plot = Plot(html, id);
    if (plot.find("data-empty") != std::string::npos) {
      EXPECT_EQ(id, "plot-insert");
      continue;
    }
    const json d = HoverData(plot);
    ASSERT_TRUE(d.is_object()) << id;
    EXPECT_LT(d["x0"].get<double>(), d["x1"].get<double>()) << id;
    EXPECT_FALSE(d["s"].empty()) << id;
    ++with_hover;
  }
  EXPECT_EQ(with_hover, 10u);
}

}  // namespace
}  // namespace cramjet
