// The self-contained QC report: one HTML file, plots as inline SVG drawn here, no scripts or
// styles from anywhere else (the appliance has no network). A small inline script checks that
// every plot has drawn and records page errors in data attributes, which the browser test reads.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <optional>
#include <sstream>

#include "cramjet/version.h"
#include "qc/qc.h"

namespace cramjet {
namespace {

std::string Escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
  return out;
}

std::string Fmt(double v, int digits = 2) {
  if (std::isnan(v)) return "n/a";
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", digits, v);
  return buf;
}

struct Series {
  std::string name;
  std::string color;
  bool dashed = false;
  std::vector<std::pair<double, double>> points;
  bool impulses = false;  // histogram drawn as vertical lines (sparse values stay visible)
};
struct Band {  // shaded area between two curves (quality quartiles)
  std::string color;
  std::vector<std::pair<double, double>> low, high;
};

constexpr int kWidth = 640, kHeight = 300, kLeft = 60, kRight = 130, kTop = 30, kBottom = 45;

std::string Tick(double v) {
  if (std::fabs(v) >= 1e6) return Fmt(v / 1e6, 1) + "M";
  if (std::fabs(v) >= 1e4) return Fmt(v / 1e3, 0) + "k";
  if (std::fabs(v - std::round(v)) < 1e-9) return Fmt(v, 0);
  return Fmt(v, 1);
}

std::string LineChart(const std::string& id, const std::string& title, const std::string& x_label,
                      const std::string& y_label, const std::vector<Series>& series,
                      const Band* band = nullptr, double y_min_fixed = NAN, double y_max_fixed = NAN) {
  double x0 = INFINITY, x1 = -INFINITY, y0 = INFINITY, y1 = -INFINITY;
  size_t points = 0;
  for (const auto& s : series)
    for (const auto& [x, y] : s.points) {
      x0 = std::min(x0, x); x1 = std::max(x1, x);
      y0 = std::min(y0, y); y1 = std::max(y1, y);
      ++points;
    }
  std::ostringstream o;
  o << "<figure><svg class=\"qc-plot\" id=\"" << id << "\" xmlns=\"http://www.w3.org/2000/svg\" width=\""
    << kWidth << "\" height=\"" << kHeight << "\" viewBox=\"0 0 " << kWidth << " " << kHeight << "\" role=\"img\" aria-label=\""
    << Escape(title) << "\"" << (points == 0 ? " data-empty=\"1\"" : "") << ">\n";
  o << "<text x=\"" << kWidth / 2 << "\" y=\"18\" text-anchor=\"middle\" class=\"title\">" << Escape(title) << "</text>\n";
  const int pw = kWidth - kLeft - kRight, ph = kHeight - kTop - kBottom;
  o << "<rect x=\"" << kLeft << "\" y=\"" << kTop << "\" width=\"" << pw << "\" height=\"" << ph
    << "\" fill=\"#fff\" stroke=\"#999\"/>\n";
  if (points == 0) {
    o << "<text x=\"" << kLeft + pw / 2 << "\" y=\"" << kTop + ph / 2
      << "\" text-anchor=\"middle\" class=\"empty\">no data for this plot in this input</text>\n</svg></figure>\n";
    return o.str();
  }
  if (!std::isnan(y_min_fixed)) y0 = std::min(y0, y_min_fixed);
  if (!std::isnan(y_max_fixed)) y1 = std::max(y1, y_max_fixed);
  if (y0 > 0 && y0 < (y1 - y0)) y0 = 0;
  if (x1 == x0) { x0 -= 1; x1 += 1; }
  if (y1 == y0) { y0 -= 1; y1 += 1; }
  auto sx = [&](double x) { return kLeft + (x - x0) / (x1 - x0) * pw; };
  auto sy = [&](double y) { return kTop + ph - (y - y0) / (y1 - y0) * ph; };
  // Grid and ticks.
  for (int k = 0; k <= 4; ++k) {
    const double yv = y0 + (y1 - y0) * k / 4, xv = x0 + (x1 - x0) * k / 4;
    o << "<line x1=\"" << kLeft << "\" x2=\"" << kLeft + pw << "\" y1=\"" << Fmt(sy(yv), 1) << "\" y2=\""
      << Fmt(sy(yv), 1) << "\" stroke=\"#eee\"/>";
    o << "<text x=\"" << kLeft - 5 << "\" y=\"" << Fmt(sy(yv) + 4, 1) << "\" text-anchor=\"end\" class=\"tick\">"
      << Tick(yv) << "</text>";
    o << "<text x=\"" << Fmt(sx(xv), 1) << "\" y=\"" << kTop + ph + 15 << "\" text-anchor=\"middle\" class=\"tick\">"
      << Tick(xv) << "</text>\n";
  }
  o << "<text x=\"" << kLeft + pw / 2 << "\" y=\"" << kHeight - 8 << "\" text-anchor=\"middle\" class=\"axis\">"
    << Escape(x_label) << "</text>\n";
  o << "<text transform=\"translate(14," << kTop + ph / 2 << ") rotate(-90)\" text-anchor=\"middle\" class=\"axis\">"
    << Escape(y_label) << "</text>\n";
  if (band && !band->low.empty()) {
    o << "<polygon class=\"band\" fill=\"" << band->color << "\" fill-opacity=\"0.2\" stroke=\"none\" points=\"";
    for (const auto& [x, y] : band->high) o << Fmt(sx(x), 1) << "," << Fmt(sy(y), 1) << " ";
    for (auto it = band->low.rbegin(); it != band->low.rend(); ++it) o << Fmt(sx(it->first), 1) << "," << Fmt(sy(it->second), 1) << " ";
    o << "\"/>\n";
  }
  int legend_y = kTop + 10;
  for (const auto& s : series) {
    if (s.points.empty()) continue;
    o << "<polyline class=\"series\" fill=\"none\" stroke=\"" << s.color << "\" stroke-width=\"1.5\""
      << (s.dashed ? " stroke-dasharray=\"5,3\"" : "") << " points=\"";
    if (s.impulses) {
      for (const auto& [x, y] : s.points)
        o << Fmt(sx(x), 1) << "," << Fmt(sy(y0), 1) << " " << Fmt(sx(x), 1) << "," << Fmt(sy(y), 1) << " "
          << Fmt(sx(x), 1) << "," << Fmt(sy(y0), 1) << " ";
    } else if (s.points.size() == 1) {  // a single point still draws as a short mark
      o << Fmt(sx(s.points[0].first) - 2, 1) << "," << Fmt(sy(s.points[0].second), 1) << " ";
      o << Fmt(sx(s.points[0].first) + 2, 1) << "," << Fmt(sy(s.points[0].second), 1);
    } else {
      for (const auto& [x, y] : s.points) o << Fmt(sx(x), 1) << "," << Fmt(sy(y), 1) << " ";
    }
    o << "\"><title>" << Escape(s.name) << "</title></polyline>\n";
    o << "<line x1=\"" << kLeft + pw + 8 << "\" x2=\"" << kLeft + pw + 26 << "\" y1=\"" << legend_y - 4
      << "\" y2=\"" << legend_y - 4 << "\" stroke=\"" << s.color << "\" stroke-width=\"2\""
      << (s.dashed ? " stroke-dasharray=\"5,3\"" : "") << "/><text x=\"" << kLeft + pw + 30 << "\" y=\""
      << legend_y << "\" class=\"legend\">" << Escape(s.name) << "</text>\n";
    legend_y += 16;
  }
  o << "</svg></figure>\n";
  return o.str();
}

template <typename T>
std::vector<std::pair<double, double>> Curve(const std::vector<T>& values, double scale = 1.0) {
  std::vector<std::pair<double, double>> pts;
  for (size_t i = 0; i < values.size(); ++i) pts.push_back({double(i + 1), double(values[i]) * scale});
  return pts;
}

template <typename A, typename B>
std::vector<std::pair<double, double>> Points(const std::vector<std::pair<A, B>>& values) {
  std::vector<std::pair<double, double>> pts;
  for (const auto& [x, y] : values) pts.push_back({double(x), double(y)});
  return pts;
}

// Mates with very few reads (orphans beside pairs) would only add noise to per-cycle plots.
bool MajorMate(const std::array<std::optional<QcMateMetrics>, 3>& mates, int key) {
  if (!mates[key]) return false;
  uint64_t total = 0;
  for (const auto& m : mates)
    if (m) total += m->reads;
  return mates[key]->reads * 20 >= total;
}

const char* kMateColors[3] = {"#1f77b4", "#d62728", "#2ca02c"};
const char* kMateLabels[3] = {"single", "R1", "R2"};
// qc.json lists a read group's mates by name, so the read-groups table shows them in that order.
constexpr QcMate kMatesByName[3] = {kQcRead1, kQcRead2, kQcSingle};

std::string VerdictClass(QcVerdict verdict) {
  return verdict == QcVerdict::kNotApplicable ? "na" : QcVerdictName(verdict);
}

}  // namespace

std::string RenderQcHtml(const QcMetrics& qc) {
  const std::string& sample = qc.sample;
  const auto& mates = qc.mates;
  std::ostringstream o;
  o << "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
    << "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
    << "<title>QC: " << Escape(sample) << "</title>\n"
    // Page errors are recorded before anything else runs, so the browser test can read them.
    << "<script>window.qcErrors=[];window.addEventListener('error',function(e){window.qcErrors.push(String(e.message));});"
       "(function(){var f=console.error;console.error=function(){window.qcErrors.push(Array.prototype.join.call(arguments,' '));"
       "return f.apply(console,arguments);};})();</script>\n"
    << "<style>body{font-family:sans-serif;margin:1.5em;color:#222}table{border-collapse:collapse;margin:1em 0}"
       "td,th{border:1px solid #ccc;padding:3px 8px;text-align:left}th{background:#f3f3f3}"
       ".pass{background:#c8ecc8}.warn{background:#fde9a8}.fail{background:#f6b7b7}.na{color:#888}"
       "figure{display:inline-block;margin:0.5em}.title{font-weight:bold;font-size:14px}"
       ".tick{font-size:10px;fill:#555}.axis{font-size:12px}.legend{font-size:11px}.empty{fill:#888;font-size:13px}"
       "</style></head>\n";
  o << "<body data-qc-ready=\"0\">\n<h1>QC report: " << Escape(sample) << "</h1>\n";
  o << "<p>cramjet " << Escape(qc.cramjet_version) << ", qc.json schema v" << kQcSchemaVersion
    << ". Input: " << Escape(qc.input) << (qc.reference.empty() ? "" : ". Reference: " + Escape(qc.reference))
    << ". Overall verdict: <span class=\"" << VerdictClass(qc.verdict) << "\" id=\"verdict\">"
    << Escape(QcVerdictName(qc.verdict)) << "</span></p>\n";

  const QcSummary& s = qc.summary;
  o << "<h2>Summary</h2>\n<table id=\"summary\"><tr><th>reads</th><th>bases</th><th>Q30 %</th><th>GC %</th>"
       "<th>N %</th><th>mean length</th><th>duplication %</th><th>placed %</th><th>mean depth</th>"
       "<th>mean depth, contigs with reads</th></tr>\n<tr><td>"
    << s.reads << "</td><td>" << s.bases << "</td><td>" << Fmt(s.q30_percent) << "</td><td>" << Fmt(s.gc_percent)
    << "</td><td>" << Fmt(s.n_percent, 3) << "</td><td>" << Fmt(s.mean_length, 1) << "</td><td>"
    << Fmt(s.duplication_percent) << "</td><td>" << Fmt(s.placed_percent) << "</td><td>" << Fmt(s.mean_depth)
    << "</td><td>" << Fmt(s.mean_depth_contigs_with_reads) << "</td></tr></table>\n";

  o << "<h2>Checks</h2>\n<table id=\"checks\"><tr><th>metric</th><th>value</th><th>warn</th><th>fail</th><th>verdict</th></tr>\n";
  for (const QcCheck& m : qc.checks) {
    const char* side = m.higher_is_better ? "&lt; " : "&gt; ";
    o << "<tr><td>" << Escape(m.description) << " <small>(" << Escape(m.key) << ")</small></td><td>" << Fmt(m.value)
      << "</td><td>" << side << Fmt(m.warn) << "</td><td>" << side << Fmt(m.fail) << "</td><td class=\""
      << VerdictClass(m.verdict) << "\">" << QcVerdictName(m.verdict) << "</td></tr>\n";
  }
  o << "</table>\n";

  if (qc.read_groups.size() > 1) {
    // One row per read group and mate; the read group's own figures (duplication, insert size,
    // depth) span its mates' rows.
    o << "<h2>Read groups</h2>\n<table id=\"read-groups\"><tr><th>read group</th><th>mate</th><th>reads</th>"
         "<th>bases</th><th>Q30 %</th><th>GC %</th><th>duplication %</th><th>insert size median</th>"
         "<th>insert size mean</th><th>mean depth</th><th>mean depth, contigs with reads</th></tr>\n";
    for (const QcReadGroupMetrics& g : qc.read_groups) {
      size_t present = 0;
      for (const auto& m : g.mates) present += m.has_value();
      const size_t rows = std::max<size_t>(1, present);
      const std::string span = rows > 1 ? " rowspan=\"" + std::to_string(rows) + "\"" : "";
      std::ostringstream group_cells;
      const bool pairs = g.insert_size.pairs > 0;
      group_cells << "<td" << span << " class=\"rg-duplication\">" << Fmt(g.duplication.percent, 2) << "</td><td"
                  << span << " class=\"rg-insert-median\">" << (pairs ? Fmt(double(g.insert_size.median), 0) : "n/a")
                  << "</td><td" << span << " class=\"rg-insert-mean\">"
                  << (pairs ? Fmt(g.insert_size.mean, 1) : "n/a") << "</td><td" << span << " class=\"rg-depth\">"
                  << Fmt(g.coverage.mean_depth, 2) << "</td><td" << span << " class=\"rg-depth-contigs\">"
                  << Fmt(g.coverage.mean_depth_contigs_with_reads, 2) << "</td>";
      bool first = true;
      auto row = [&](const std::string& mate_cells) {
        o << "<tr>";
        if (first) o << "<td" << span << ">" << Escape(g.id) << "</td>";
        o << mate_cells;
        if (first) o << group_cells.str();
        o << "</tr>\n";
        first = false;
      };
      for (QcMate k : kMatesByName) {
        if (!g.mates[k]) continue;
        const QcMateMetrics& m = *g.mates[k];
        std::ostringstream cells;
        cells << "<td>" << kQcMateNames[k] << "</td><td>" << m.reads << "</td><td>" << m.bases << "</td><td>"
              << Fmt(m.q30_percent) << "</td><td>" << Fmt(m.gc_percent) << "</td>";
        row(cells.str());
      }
      if (first) row("<td>-</td><td>0</td><td>0</td><td>n/a</td><td>n/a</td>");
    }
    o << "</table>\n";
  }

  o << "<h2>Plots</h2>\n";
  // Per-cycle quality: mean per mate; quartile band of the first mate present.
  {
    std::vector<Series> series;
    Band band;
    for (int k = 0; k < 3; ++k) {
      if (!MajorMate(mates, k)) continue;
      const QcMateMetrics::PerCycle& pc = mates[k]->per_cycle;
      series.push_back({std::string("mean ") + kMateLabels[k], kMateColors[k], false, Curve(pc.quality_mean)});
      if (band.low.empty()) {
        band.color = kMateColors[k];
        band.low = Curve(pc.quality_lower_quartile);
        band.high = Curve(pc.quality_upper_quartile);
        series.push_back({std::string("median ") + kMateLabels[k], kMateColors[k], true, Curve(pc.quality_median)});
      }
    }
    o << LineChart("plot-quality", "Per-cycle quality (mean; band: quartiles)", "cycle", "Phred quality", series, &band, 0, 40);
  }
  // Base composition.
  {
    std::vector<Series> series;
    const char* colors[5] = {"#2ca02c", "#1f77b4", "#111111", "#d62728", "#9467bd"};
    for (int k = 0; k < 3; ++k) {
      if (!MajorMate(mates, k)) continue;
      const auto& bp = mates[k]->per_cycle.base_percent;
      for (int b = 0; b < 5; ++b)
        series.push_back({std::string(1, kCodeChar[b]) + " " + kMateLabels[k], colors[b], k == 2, Curve(bp[b])});
    }
    o << LineChart("plot-composition", "Per-cycle base composition", "cycle", "% of bases", series, nullptr, 0, NAN);
  }
  // GC distribution (% of reads per GC %).
  {
    std::vector<Series> series;
    for (int k = 0; k < 3; ++k) {
      if (!mates[k]) continue;
      const QcMateMetrics& m = *mates[k];
      const double reads = double(m.reads);
      std::vector<std::pair<double, double>> pts;
      for (size_t i = 0; i < m.gc_histogram.size(); ++i)
        pts.push_back({double(i), reads > 0 ? 100.0 * double(m.gc_histogram[i]) / reads : 0});
      series.push_back({kMateLabels[k], kMateColors[k], false, pts});
    }
    o << LineChart("plot-gc", "GC content of reads", "GC %", "% of reads", series);
  }
  // Length distribution.
  {
    std::vector<Series> series;
    for (int k = 0; k < 3; ++k) {
      if (!mates[k]) continue;
      series.push_back({kMateLabels[k], kMateColors[k], false, Points(mates[k]->length_histogram), true});
    }
    o << LineChart("plot-length", "Read length distribution", "length (bases)", "reads", series);
  }
  // Insert size.
  {
    const std::vector<std::pair<double, double>> pts = Points(qc.insert_size.histogram);
    std::vector<Series> series;
    if (!pts.empty()) series.push_back({"pairs", "#1f77b4", false, pts, true});
    o << LineChart("plot-insert", "Insert size of placed pairs", "insert size (bases)", "pairs", series);
  }
  // Coverage along the reference.
  {
    const std::vector<std::pair<double, double>> pts = Points(qc.coverage.depth_track);
    std::vector<Series> series;
    if (qc.coverage.aligned_bases > 0) series.push_back({"mean depth", "#ff7f0e", false, pts});
    o << LineChart("plot-coverage", "Coverage along the reference", "position along the contigs with placed reads, in header order", "depth", series);
  }
  // Mismatches per cycle (placed reads against the reference).
  {
    std::vector<Series> series;
    for (int k = 0; k < 3; ++k) {
      if (!MajorMate(mates, k)) continue;
      const QcMateMetrics& m = *mates[k];
      if (m.placed.aligned_bases_compared == 0) continue;
      series.push_back({kMateLabels[k], kMateColors[k], false, Curve(m.per_cycle.mismatch_percent)});
    }
    o << LineChart("plot-mismatch", "Mismatches per cycle against the reference", "cycle", "% of aligned bases", series);
  }
  // Adapter content.
  {
    std::vector<Series> series;
    for (int k = 0; k < 3; ++k) {
      if (!mates[k]) continue;
      const auto& ad = mates[k]->adapter;
      series.push_back({std::string("TruSeq ") + kMateLabels[k], kMateColors[k], false, Curve(ad[0].cumulative_percent)});
      series.push_back({std::string("Nextera ") + kMateLabels[k], kMateColors[k], true, Curve(ad[1].cumulative_percent)});
    }
    o << LineChart("plot-adapter", "Adapter content (reads with the adapter by this cycle)", "cycle", "% of reads", series, nullptr, 0, 1);
  }

  if (!qc.overrepresented.empty()) {
    o << "<h2>Overrepresented sequences</h2>\n<table id=\"overrepresented\"><tr><th>sequence (first 50 bases)</th><th>count</th><th>% of reads</th></tr>\n";
    for (const QcOverrepresented& r : qc.overrepresented)
      o << "<tr><td><code>" << Escape(r.sequence) << "</code></td><td>" << r.count
        << "</td><td>" << Fmt(r.percent, 3) << "</td></tr>\n";
    o << "</table>\n";
  }

  // Marks every plot as drawn (has a visible series) or empty, and the page as ready.
  o << "<script>(function(){var plots=document.querySelectorAll('svg.qc-plot'),drawn=0,empty=0;"
       "for(var i=0;i<plots.length;i++){var p=plots[i],ok=false,lines=p.querySelectorAll('.series');"
       "for(var j=0;j<lines.length;j++){var b=lines[j].getBBox();if(b.width>0||b.height>0){ok=true;}}"
       "if(ok){drawn++;p.setAttribute('data-drawn','1');}else{if(p.getAttribute('data-empty')){empty++;}p.setAttribute('data-drawn','0');}}"
       "var b=document.body;b.setAttribute('data-plots',plots.length);b.setAttribute('data-plots-drawn',drawn);"
       "b.setAttribute('data-plots-empty',empty);b.setAttribute('data-errors',window.qcErrors.length);"
       "b.setAttribute('data-qc-ready','1');})();</script>\n";
  o << "</body></html>\n";
  return o.str();
}

}  // namespace cramjet
