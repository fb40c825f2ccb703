// The self-contained QC report: one HTML file, plots as inline SVG drawn here, no scripts or
// styles from anywhere else (the appliance has no network). Axes carry 1/2/5 x 10^k ticks and
// start at zero where they show counts, depths or percentages, so plots of two samples compare
// by eye; per-read figures get a panel per read, because ten curves in one chart read as none.
// Each plot carries its values (data-hover) for a small inline script that shows them under the
// pointer. The script also checks that every plot has drawn and records page errors in data
// attributes, which the browser test reads.
#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <optional>
#include <sstream>
#include <utility>

#include "cramjet/version.h"
#include "qc/html_internal.h"
#include "qc/qc.h"

namespace cramjet {
namespace qc_html {

AxisTicks NiceTicks(double lo, double hi, int target_intervals, bool integer_steps) {
  if (!std::isfinite(lo) || !std::isfinite(hi)) lo = 0, hi = 1;
  if (lo > hi) std::swap(lo, hi);
  if (hi == lo) {
    // One value: all-zero counts keep their axis from zero; anything else sits in the middle.
    if (lo == 0) {
      hi = 1;
    } else {
      const double pad = std::max(integer_steps ? 1.0 : 0.0, std::fabs(lo) * 0.05);
      lo -= pad;
      hi += pad;
    }
  }
  const double raw = (hi - lo) / std::max(1, target_intervals);
  int exponent = int(std::floor(std::log10(raw)));
  double mantissa = 1;
  const double error = raw / std::pow(10.0, exponent);
  if (error >= std::sqrt(50.0)) {
    exponent += 1;
  } else if (error >= std::sqrt(10.0)) {
    mantissa = 5;
  } else if (error >= std::sqrt(2.0)) {
    mantissa = 2;
  }
  if (integer_steps && exponent < 0) exponent = 0, mantissa = 1;
  // i * mantissa / 10^-k rather than i * step: 3 * 0.1 is 0.30000000000000004, 3 / 10 is 0.3.
  auto value_at = [&](long long i) {
    return exponent >= 0 ? double(i) * mantissa * std::pow(10.0, exponent)
                         : double(i) * mantissa / std::pow(10.0, -exponent);
  };
  AxisTicks ticks;
  ticks.step = value_at(1);
  long long first = (long long)std::floor(lo / ticks.step), last = (long long)std::ceil(hi / ticks.step);
  // The division may round either way next to a multiple: settle on the ticks around the range.
  while (value_at(first) > lo) --first;
  while (value_at(first + 1) <= lo) ++first;
  while (value_at(last) < hi) ++last;
  while (value_at(last - 1) >= hi) --last;
  for (long long i = first; i <= last; ++i) ticks.values.push_back(value_at(i));
  ticks.min = ticks.values.front();
  ticks.max = ticks.values.back();
  const double largest = std::max(std::fabs(ticks.min), std::fabs(ticks.max));
  for (double v : ticks.values) ticks.labels.push_back(TickLabel(v, ticks.step, largest));
  return ticks;
}

std::string TickLabel(double value, double step, double largest) {
  if (std::fabs(value) < step * 1e-6) return "0";  // never "-0" or "0.0k"
  double divisor = 1;
  const char* suffix = "";
  if (largest >= 1e9) {
    divisor = 1e9, suffix = "G";
  } else if (largest >= 1e6) {
    divisor = 1e6, suffix = "M";
  } else if (largest >= 1e4) {
    divisor = 1e3, suffix = "k";
  }
  // A suffix is a shorthand only while one decimal shows the step (10.5k, not 10.002k).
  if (step < divisor / 10) divisor = 1, suffix = "";
  const double scaled_step = step / divisor;
  const int decimals = scaled_step >= 1 ? 0 : std::min(12, int(std::ceil(-std::log10(scaled_step) - 1e-9)));
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f%s", decimals, value / divisor, suffix);
  return buf;
}

std::vector<DuplicationLevel> DuplicationLevels(const QcDuplication& duplication) {
  const std::vector<uint64_t>& histogram = duplication.copy_number_histogram;
  if (duplication.sampled_fragments == 0 || histogram.empty()) return {};
  // Level starts (copies); the last level is open. The histogram's last entry is itself open
  // ("100+"), so its fragments are what the other entries leave of the sampled ones.
  const std::vector<uint64_t> starts = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 50, 100};
  uint64_t closed_fragments = 0;
  for (size_t i = 0; i + 1 < histogram.size(); ++i) closed_fragments += (i + 1) * histogram[i];
  const uint64_t open_fragments =
      duplication.sampled_fragments > closed_fragments ? duplication.sampled_fragments - closed_fragments : 0;
  std::vector<DuplicationLevel> levels;
  for (size_t b = 0; b < starts.size(); ++b) {
    const uint64_t from = starts[b], to = b + 1 < starts.size() ? starts[b + 1] - 1 : UINT64_MAX;
    if (from > histogram.size()) break;
    uint64_t fragments = 0, distinct = 0;
    for (uint64_t copies = from; copies <= to && copies <= histogram.size(); ++copies) {
      const uint64_t n = histogram[copies - 1];
      distinct += n;
      fragments += copies == histogram.size() ? open_fragments : copies * n;
    }
    DuplicationLevel level;
    level.label = from == to ? std::to_string(from)
                  : to == UINT64_MAX ? std::to_string(from) + "+"
                                     : std::to_string(from) + "-" + std::to_string(to);
    level.fragments_percent = 100.0 * double(fragments) / double(duplication.sampled_fragments);
    level.distinct_percent =
        duplication.distinct_sampled ? 100.0 * double(distinct) / double(duplication.distinct_sampled) : 0.0;
    levels.push_back(level);
  }
  return levels;
}

std::string PossibleSource(const std::string& sequence) {
  std::string upper = sequence;
  for (char& c : upper) c = char(std::toupper(static_cast<unsigned char>(c)));
  for (const QcAdapter& adapter : kQcAdapters)
    if (upper.find(adapter.kmer) != std::string::npos) return std::string(adapter.name) + " adapter";
  if (!upper.empty()) {
    for (char base : {'A', 'C', 'G', 'T', 'N'}) {
      const size_t n = size_t(std::count(upper.begin(), upper.end(), base));
      if (n * 10 >= upper.size() * 9) return std::string("poly-") + base;
    }
  }
  return "no hit";
}

}  // namespace qc_html

namespace {

using qc_html::AxisTicks;
using qc_html::NiceTicks;

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

// 7527 -> "7,527": the summary's counts are read at a glance.
std::string Grouped(uint64_t v) {
  std::string digits = std::to_string(v), out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return out;
}

// A number for the hover data: enough digits for a genome position, none wasted on a percentage.
std::string JsonNumber(double v, int significant) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*g", significant, v);
  return buf;
}

std::string JsonString(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

using Points = std::vector<std::pair<double, double>>;

enum class Style { kLine, kDashed, kImpulses, kArea };

struct Series {
  std::string name;
  std::string color;
  Style style = Style::kLine;
  Points points;
};
// Shaded area between two curves (quality quartiles); its curves are in the hover readout.
struct Band {
  std::string low_name, high_name, color;
  Points low, high;
};

struct LineChartSpec {
  LineChartSpec(std::string id_, std::string title_, std::string x_label_, std::string y_label_, std::string y_unit_)
      : id(std::move(id_)), title(std::move(title_)), x_label(std::move(x_label_)), y_label(std::move(y_label_)),
        y_unit(std::move(y_unit_)) {}
  std::string id, title, x_label, y_label;
  std::string y_unit;  // after each value in the hover readout ("%"), may be empty
  std::vector<Series> series;
  std::optional<Band> band;
  double y_max_at_least = 0;  // a fixed top: Phred 40, 1 % of adapter reads
  bool integer_x = false;
  bool integer_y = false;  // counts: no tick at half a read
  bool quality_zones = false;  // FastQC's backdrop: green from Q28, orange from Q20, red below
  std::string hover_x_name;    // what the readout calls x; empty: x_label
  uint64_t x_bin = 1;          // points are bins this wide: the readout names the range
  std::string attributes;      // more attributes of the svg element (data-mate)
  std::string note;            // a line under the plot
};

struct BarSeries {
  std::string name, color;
  std::vector<double> values;  // one per category
};
struct BarChartSpec {
  std::string id, title, x_label, y_label, y_unit;
  std::vector<std::string> categories;
  std::vector<BarSeries> series;
  std::string note;
};

constexpr int kWidth = 640, kHeight = 300, kLeft = 60, kRight = 130, kTop = 30, kBottom = 45;
constexpr int kPlotWidth = kWidth - kLeft - kRight, kPlotHeight = kHeight - kTop - kBottom;

// The figure around a plot up to its axes: svg element, title, frame, y grid with its ticks,
// axis titles. `hover` is the JSON the script reads (empty: no data, nothing to show).
void OpenPlot(std::ostringstream& o, const std::string& id, const std::string& title, const std::string& attributes,
              const std::string& hover) {
  o << "<figure><svg class=\"qc-plot\" id=\"" << id << "\" xmlns=\"http://www.w3.org/2000/svg\" width=\"" << kWidth
    << "\" height=\"" << kHeight << "\" viewBox=\"0 0 " << kWidth << " " << kHeight << "\" role=\"img\" aria-label=\""
    << Escape(title) << "\"" << attributes;
  if (hover.empty()) o << " data-empty=\"1\"";
  else o << " data-hover=\"" << Escape(hover) << "\"";
  o << ">\n<text x=\"" << kLeft + kPlotWidth / 2 << "\" y=\"18\" text-anchor=\"middle\" class=\"title\">" << Escape(title)
    << "</text>\n";
}

std::string EmptyPlot(const std::string& id, const std::string& title, const std::string& attributes = "") {
  std::ostringstream o;
  OpenPlot(o, id, title, attributes, "");
  o << "<rect x=\"" << kLeft << "\" y=\"" << kTop << "\" width=\"" << kPlotWidth << "\" height=\"" << kPlotHeight
    << "\" fill=\"#fff\" stroke=\"#bbb\"/>\n<text x=\"" << kLeft + kPlotWidth / 2 << "\" y=\"" << kTop + kPlotHeight / 2
    << "\" text-anchor=\"middle\" class=\"empty\">no data for this plot in this input</text>\n</svg></figure>\n";
  return o.str();
}

void YAxis(std::ostringstream& o, const AxisTicks& y, const std::string& x_label, const std::string& y_label) {
  auto sy = [&](double v) { return kTop + kPlotHeight - (v - y.min) / (y.max - y.min) * kPlotHeight; };
  for (size_t i = 0; i < y.values.size(); ++i) {
    const std::string at = Fmt(sy(y.values[i]), 1);
    o << "<line x1=\"" << kLeft << "\" x2=\"" << kLeft + kPlotWidth << "\" y1=\"" << at << "\" y2=\"" << at
      << "\" class=\"grid\"/><text x=\"" << kLeft - 6 << "\" y=\"" << Fmt(sy(y.values[i]) + 3.5, 1)
      << "\" text-anchor=\"end\" class=\"tick\">" << y.labels[i] << "</text>\n";
  }
  o << "<text x=\"" << kLeft + kPlotWidth / 2 << "\" y=\"" << kHeight - 8 << "\" text-anchor=\"middle\" class=\"axis\">"
    << Escape(x_label) << "</text>\n<text transform=\"translate(14," << kTop + kPlotHeight / 2
    << ") rotate(-90)\" text-anchor=\"middle\" class=\"axis\">" << Escape(y_label) << "</text>\n";
}

void Legend(std::ostringstream& o, int index, const std::string& name, const std::string& color, Style style) {
  const int y = kTop + 10 + 16 * index;
  if (style == Style::kImpulses) {
    o << "<rect x=\"" << kLeft + kPlotWidth + 10 << "\" y=\"" << y - 9 << "\" width=\"14\" height=\"9\" fill=\"" << color
      << "\"/>";
  } else {
    o << "<line x1=\"" << kLeft + kPlotWidth + 8 << "\" x2=\"" << kLeft + kPlotWidth + 26 << "\" y1=\"" << y - 4
      << "\" y2=\"" << y - 4 << "\" stroke=\"" << color << "\" stroke-width=\"2\""
      << (style == Style::kDashed ? " stroke-dasharray=\"5,3\"" : "") << "/>";
  }
  o << "<text x=\"" << kLeft + kPlotWidth + 30 << "\" y=\"" << y << "\" class=\"legend\">" << Escape(name) << "</text>\n";
}

// The hover line the script moves, then the note, closing the figure.
void ClosePlot(std::ostringstream& o, const std::string& note) {
  o << "<line class=\"hover-line\" x1=\"0\" x2=\"0\" y1=\"" << kTop << "\" y2=\"" << kTop + kPlotHeight
    << "\" visibility=\"hidden\"/>\n</svg>";
  if (!note.empty()) o << "<figcaption>" << Escape(note) << "</figcaption>";
  o << "</figure>\n";
}

// {"l":left,"w":width,"x0":..,"x1":..,"xn":x name,"yu":unit,"xl":[category labels],"s":[{"n","c","e","p":[[x,y]..]}]}
// "e": the series is a histogram, so away from its points the value is 0, not the nearest point's.
struct HoverSeries {
  std::string name, color;
  bool histogram = false;
  const Points* points;
};
std::string HoverJson(double x0, double x1, const std::string& x_name, const std::string& y_unit,
                      const std::vector<HoverSeries>& series, const std::vector<std::string>* categories = nullptr,
                      uint64_t x_bin = 1) {
  std::string j = "{\"l\":" + std::to_string(kLeft) + ",\"w\":" + std::to_string(kPlotWidth) +
                  ",\"x0\":" + JsonNumber(x0, 12) + ",\"x1\":" + JsonNumber(x1, 12) + ",\"xn\":" + JsonString(x_name) +
                  ",\"xb\":" + std::to_string(x_bin) + ",\"yu\":" + JsonString(y_unit);
  if (categories) {
    j += ",\"xl\":[";
    for (size_t i = 0; i < categories->size(); ++i) j += (i ? "," : "") + JsonString((*categories)[i]);
    j += "]";
  }
  j += ",\"s\":[";
  for (size_t i = 0; i < series.size(); ++i) {
    const HoverSeries& s = series[i];
    j += std::string(i ? "," : "") + "{\"n\":" + JsonString(s.name) + ",\"c\":" + JsonString(s.color) +
         ",\"e\":" + (s.histogram ? "1" : "0") + ",\"p\":[";
    for (size_t k = 0; k < s.points->size(); ++k) {
      const auto& [x, y] = (*s.points)[k];
      j += std::string(k ? "," : "") + "[" + JsonNumber(x, 12) + "," + JsonNumber(y, 6) + "]";
    }
    j += "]}";
  }
  return j + "]}";
}

std::string LineChart(const LineChartSpec& spec) {
  double x_lo = INFINITY, x_hi = -INFINITY, y_hi = spec.y_max_at_least;
  size_t points = 0;
  auto extend = [&](const Points& pts) {
    for (const auto& [x, y] : pts) {
      x_lo = std::min(x_lo, x), x_hi = std::max(x_hi, x), y_hi = std::max(y_hi, y);
      ++points;
    }
  };
  for (const Series& s : spec.series) extend(s.points);
  if (spec.band) extend(spec.band->high);
  if (points == 0) return EmptyPlot(spec.id, spec.title, spec.attributes);

  // Counts, depths, percentages and qualities all read from zero.
  const AxisTicks y = NiceTicks(0, y_hi, 5, spec.integer_y);
  AxisTicks x = NiceTicks(x_lo, x_hi, 6, spec.integer_x);
  // The x axis ends at the data, not at the next tick: no empty strip on the right.
  const double x_max = x_hi > x_lo ? x_hi : x.max;
  while (x.values.size() > 2 && x.values.back() > x_max) x.values.pop_back(), x.labels.pop_back();
  const double x_min = x.min;
  auto sx = [&](double v) { return kLeft + (v - x_min) / (x_max - x_min) * kPlotWidth; };
  auto sy = [&](double v) { return kTop + kPlotHeight - (v - y.min) / (y.max - y.min) * kPlotHeight; };
  auto at = [&](double px, double py) { return Fmt(px, 1) + "," + Fmt(py, 1) + " "; };

  std::vector<HoverSeries> hover;
  for (const Series& s : spec.series)
    if (!s.points.empty()) hover.push_back({s.name, s.color, s.style == Style::kImpulses, &s.points});
  if (spec.band) {
    hover.push_back({spec.band->high_name, spec.band->color, false, &spec.band->high});
    hover.push_back({spec.band->low_name, spec.band->color, false, &spec.band->low});
  }
  std::ostringstream o;
  OpenPlot(o, spec.id, spec.title, spec.attributes,
           HoverJson(x_min, x_max, spec.hover_x_name.empty() ? spec.x_label : spec.hover_x_name, spec.y_unit, hover,
                     nullptr, spec.x_bin));
  o << "<rect x=\"" << kLeft << "\" y=\"" << kTop << "\" width=\"" << kPlotWidth << "\" height=\"" << kPlotHeight
    << "\" fill=\"#fff\"/>\n";
  if (spec.quality_zones) {
    const double zones[3][2] = {{0, 20}, {20, 28}, {28, y.max}};
    const char* fills[3] = {"#fdecec", "#fdf5e2", "#eaf6e8"};
    for (int z = 0; z < 3; ++z)
      o << "<rect x=\"" << kLeft << "\" y=\"" << Fmt(sy(zones[z][1]), 1) << "\" width=\"" << kPlotWidth << "\" height=\""
        << Fmt(sy(zones[z][0]) - sy(zones[z][1]), 1) << "\" fill=\"" << fills[z] << "\"/>\n";
  }
  YAxis(o, y, spec.x_label, spec.y_label);
  for (size_t i = 0; i < x.values.size(); ++i) {
    const double px = sx(x.values[i]);
    o << "<line x1=\"" << Fmt(px, 1) << "\" x2=\"" << Fmt(px, 1) << "\" y1=\"" << kTop + kPlotHeight << "\" y2=\""
      << kTop + kPlotHeight + 4 << "\" class=\"tick-mark\"/><text x=\"" << Fmt(px, 1) << "\" y=\""
      << kTop + kPlotHeight + 16 << "\" text-anchor=\"middle\" class=\"tick\">" << x.labels[i] << "</text>\n";
  }
  if (spec.band && !spec.band->low.empty()) {
    o << "<polygon class=\"band\" fill=\"" << spec.band->color << "\" fill-opacity=\"0.22\" stroke=\"none\" points=\"";
    for (const auto& [px, py] : spec.band->high) o << at(sx(px), sy(py));
    for (auto it = spec.band->low.rbegin(); it != spec.band->low.rend(); ++it) o << at(sx(it->first), sy(it->second));
    o << "\"/>\n";
  }
  // Histograms of several reads at the same sizes (R1 and R2 all 100 long) stand side by side.
  size_t impulse_series = 0;
  for (const Series& s : spec.series) impulse_series += s.style == Style::kImpulses && !s.points.empty();
  double impulse_offset = -1.5 * (double(impulse_series) - 1);
  int legend_index = 0;
  for (const Series& s : spec.series) {
    if (s.points.empty()) continue;
    if (s.style == Style::kArea) {
      o << "<polygon fill=\"" << s.color << "\" fill-opacity=\"0.15\" stroke=\"none\" points=\""
        << at(sx(s.points.front().first), sy(0));
      for (const auto& [px, py] : s.points) o << at(sx(px), sy(py));
      o << at(sx(s.points.back().first), sy(0)) << "\"/>\n";
    }
    o << "<polyline class=\"series\" fill=\"none\" stroke=\"" << s.color << "\" stroke-width=\""
      << (s.style == Style::kImpulses ? "2" : "1.5") << "\"" << (s.style == Style::kDashed ? " stroke-dasharray=\"5,3\"" : "")
      << " points=\"";
    if (s.style == Style::kImpulses) {
      for (const auto& [px, py] : s.points) {
        const double shifted = sx(px) + impulse_offset;
        o << at(shifted, sy(0)) << at(shifted, sy(py)) << at(shifted, sy(0));
      }
      impulse_offset += 3;
    } else if (s.points.size() == 1) {  // a single point still draws as a short mark
      o << at(sx(s.points[0].first) - 2, sy(s.points[0].second)) << at(sx(s.points[0].first) + 2, sy(s.points[0].second));
    } else {
      for (const auto& [px, py] : s.points) o << at(sx(px), sy(py));
    }
    o << "\"/>\n";
    Legend(o, legend_index++, s.name, s.color, s.style);
  }
  if (spec.band) {
    o << "<rect x=\"" << kLeft + kPlotWidth + 8 << "\" y=\"" << kTop + 10 + 16 * legend_index - 9
      << "\" width=\"18\" height=\"9\" fill=\"" << spec.band->color << "\" fill-opacity=\"0.22\"/><text x=\""
      << kLeft + kPlotWidth + 30 << "\" y=\"" << kTop + 10 + 16 * legend_index << "\" class=\"legend\">quartiles</text>\n";
  }
  o << "<rect x=\"" << kLeft << "\" y=\"" << kTop << "\" width=\"" << kPlotWidth << "\" height=\"" << kPlotHeight
    << "\" fill=\"none\" stroke=\"#bbb\"/>\n";
  ClosePlot(o, spec.note);
  return o.str();
}

// Grouped bars over categories (duplication levels).
std::string BarChart(const BarChartSpec& spec) {
  double y_hi = 0;
  for (const BarSeries& s : spec.series)
    for (double v : s.values) y_hi = std::max(y_hi, v);
  if (spec.categories.empty() || spec.series.empty()) return EmptyPlot(spec.id, spec.title);
  const AxisTicks y = NiceTicks(0, y_hi);
  const double slot = double(kPlotWidth) / double(spec.categories.size());
  const double bar = slot * 0.8 / double(spec.series.size());
  auto sy = [&](double v) { return kTop + kPlotHeight - (v - y.min) / (y.max - y.min) * kPlotHeight; };

  // The readout's x is the category index: the axis runs from -0.5 to n - 0.5.
  std::vector<Points> indexed(spec.series.size());
  std::vector<HoverSeries> hover;
  for (size_t s = 0; s < spec.series.size(); ++s) {
    for (size_t i = 0; i < spec.series[s].values.size(); ++i) indexed[s].push_back({double(i), spec.series[s].values[i]});
    hover.push_back({spec.series[s].name, spec.series[s].color, false, &indexed[s]});
  }
  std::ostringstream o;
  OpenPlot(o, spec.id, spec.title, "",
           HoverJson(-0.5, double(spec.categories.size()) - 0.5, spec.x_label, spec.y_unit, hover, &spec.categories));
  o << "<rect x=\"" << kLeft << "\" y=\"" << kTop << "\" width=\"" << kPlotWidth << "\" height=\"" << kPlotHeight
    << "\" fill=\"#fff\"/>\n";
  YAxis(o, y, spec.x_label, spec.y_label);
  for (size_t i = 0; i < spec.categories.size(); ++i)
    o << "<text x=\"" << Fmt(kLeft + slot * (double(i) + 0.5), 1) << "\" y=\"" << kTop + kPlotHeight + 16
      << "\" text-anchor=\"middle\" class=\"tick\">" << Escape(spec.categories[i]) << "</text>\n";
  for (size_t s = 0; s < spec.series.size(); ++s) {
    o << "<g class=\"series\" fill=\"" << spec.series[s].color << "\">";
    for (size_t i = 0; i < spec.series[s].values.size(); ++i) {
      const double top = sy(spec.series[s].values[i]);
      o << "<rect x=\"" << Fmt(kLeft + slot * double(i) + slot * 0.1 + bar * double(s), 1) << "\" y=\"" << Fmt(top, 1)
        << "\" width=\"" << Fmt(bar, 1) << "\" height=\"" << Fmt(kTop + kPlotHeight - top, 1) << "\"/>";
    }
    o << "</g>\n";
    Legend(o, int(s), spec.series[s].name, spec.series[s].color, Style::kImpulses);
  }
  o << "<rect x=\"" << kLeft << "\" y=\"" << kTop << "\" width=\"" << kPlotWidth << "\" height=\"" << kPlotHeight
    << "\" fill=\"none\" stroke=\"#bbb\"/>\n";
  ClosePlot(o, spec.note);
  return o.str();
}

// Per-cycle values as (cycle, value), cycles from 1; a NaN (nothing measured) is left out.
template <typename T>
Points Curve(const std::vector<T>& values) {
  Points pts;
  for (size_t i = 0; i < values.size(); ++i)
    if (!std::isnan(double(values[i]))) pts.push_back({double(i + 1), double(values[i])});
  return pts;
}

template <typename A, typename B>
Points ToPoints(const std::vector<std::pair<A, B>>& values) {
  Points pts;
  for (const auto& [x, y] : values) pts.push_back({double(x), double(y)});
  return pts;
}

// Mates with very few reads (orphans beside pairs) would only add noise to per-read plots.
bool MajorMate(const std::array<std::optional<QcMateMetrics>, 3>& mates, int key) {
  if (!mates[key]) return false;
  uint64_t total = 0;
  for (const auto& m : mates)
    if (m) total += m->reads;
  return mates[key]->reads * 20 >= total;
}

const char* kMateColors[3] = {"#1f77b4", "#d62728", "#2ca02c"};
const char* kMateLabels[3] = {"single", "R1", "R2"};
// Panels per read go R1, R2 (or single) left to right; qc.json lists a read group's mates by
// name too, so the read-groups table shows them in this order.
constexpr QcMate kMatesByName[3] = {kQcRead1, kQcRead2, kQcSingle};

std::string VerdictClass(QcVerdict verdict) {
  return verdict == QcVerdict::kNotApplicable ? "na" : QcVerdictName(verdict);
}

std::string MateAttribute(int mate) { return std::string(" data-mate=\"") + kQcMateNames[mate] + "\""; }

std::string QualityPanel(const QcMateMetrics& mate, int key) {
  const QcMateMetrics::PerCycle& pc = mate.per_cycle;
  LineChartSpec spec("plot-quality-" + std::string(kQcMateNames[key]), std::string("Per-cycle quality, ") + kMateLabels[key],
                     "cycle", "Phred quality", "");
  spec.series.push_back({"mean", "#1f4e9c", Style::kLine, Curve(pc.quality_mean)});
  spec.series.push_back({"median", "#111", Style::kDashed, Curve(pc.quality_median)});
  spec.band = Band{"lower quartile", "upper quartile", "#1f77b4", Curve(pc.quality_lower_quartile),
                   Curve(pc.quality_upper_quartile)};
  spec.y_max_at_least = 40;
  spec.integer_x = true;
  spec.quality_zones = true;
  spec.attributes = MateAttribute(key);
  return LineChart(spec);
}

std::string CompositionPanel(const QcMateMetrics& mate, int key) {
  // The genome browsers' colours (A green, C blue, G black, T red), N grey: it should stay at 0.
  const char* colors[kNumCodes] = {"#2ca02c", "#1f77b4", "#111111", "#d62728", "#9a9a9a"};
  const auto& bp = mate.per_cycle.base_percent;
  LineChartSpec spec("plot-composition-" + std::string(kQcMateNames[key]),
                     std::string("Per-cycle base composition, ") + kMateLabels[key], "cycle", "% of bases", "%");
  for (int b = 0; b < kNumCodes; ++b) spec.series.push_back({std::string(1, kCodeChar[b]), colors[b], Style::kLine, Curve(bp[b])});
  spec.integer_x = true;
  spec.attributes = MateAttribute(key);
  return LineChart(spec);
}

// A section per read, as fastp has: its quality and its base composition side by side.
std::string PerReadSections(const std::array<std::optional<QcMateMetrics>, 3>& mates) {
  std::string out;
  for (QcMate k : kMatesByName) {
    if (!MajorMate(mates, k)) continue;
    out += std::string("<h3>") + (k == kQcSingle ? "Reads" : kMateLabels[k]) + ": quality and base composition</h3>\n" +
           "<div class=\"plots\" id=\"per-read-" + kQcMateNames[k] + "\">\n" + QualityPanel(*mates[k], k) +
           CompositionPanel(*mates[k], k) + "</div>\n";
  }
  if (out.empty())
    out = "<h3>Quality and base composition</h3>\n<div class=\"plots\">\n" + EmptyPlot("plot-quality", "Per-cycle quality") +
          EmptyPlot("plot-composition", "Per-cycle base composition") + "</div>\n";
  return out;
}

// A histogram over a wide range in 1/2/5 x 10^k-wide bins (about 100 of them, each point at its
// bin's start), every bin up to `last` present, empty ones as 0, so a line falls to 0 between
// the values held; one-base counts of long reads or of a shallow sample's insert sizes are noise.
// Values above `last` are left out. Returns the bin width.
template <typename A, typename B>
uint64_t BinnedHistogram(const std::vector<std::pair<A, B>>& histogram, uint64_t last, Points* binned) {
  binned->clear();
  if (histogram.empty()) return 1;
  const uint64_t smallest = uint64_t(histogram.front().first);
  const uint64_t width = uint64_t(std::max(1.0, NiceTicks(0, double(last - smallest + 1), 100, true).step));
  const uint64_t origin = smallest / width * width;
  for (uint64_t start = origin; start <= last; start += width) binned->push_back({double(start), 0.0});
  for (const auto& [value, n] : histogram)
    if (uint64_t(value) <= last) (*binned)[(uint64_t(value) - origin) / width].second += double(n);
  return width;
}

// The insert sizes that hold 99.5 % of pairs, with a note on the rest: one chimeric pair at the
// 8 kb cap would otherwise squeeze the peak into a few pixels.
std::string InsertSizePlot(const QcInsertSize& insert) {
  LineChartSpec spec("plot-insert", "Insert size of placed pairs", "insert size (bases)", "pairs", "");
  spec.integer_x = spec.integer_y = true;
  uint64_t pairs = 0;
  for (const auto& [size, n] : insert.histogram) pairs += n;
  if (pairs > 0) {
    uint64_t cumulative = 0, cutoff = insert.histogram.back().first;
    for (const auto& [size, n] : insert.histogram)
      if ((cumulative += n) * 1000 >= pairs * 995) {
        cutoff = size;
        break;
      }
    Points binned;
    if (const uint64_t width = BinnedHistogram(insert.histogram, cutoff, &binned); width > 1) {
      spec.x_label = "insert size (bases, " + std::to_string(width) + "-base bins)";
      spec.y_label = "pairs per bin";
      spec.hover_x_name = "insert size";
      spec.x_bin = width;
    }
    const uint64_t beyond = pairs - cumulative;
    if (beyond > 0)
      spec.note = "Sizes up to " + std::to_string(cutoff) + " shown (99.5 % of pairs); " + Grouped(beyond) +
                  " pairs are longer, up to " + std::to_string(insert.histogram.back().first) + ".";
    spec.series.push_back({"pairs", "#1f77b4", Style::kArea, std::move(binned)});
  }
  return LineChart(spec);
}

// Read lengths: a bar per length while there are few (short reads: one or a few lengths), binned
// like insert sizes over the wide range of long reads.
std::string LengthPlot(const std::array<std::optional<QcMateMetrics>, 3>& mates) {
  LineChartSpec spec("plot-length", "Read length distribution", "length (bases)", "reads", "");
  spec.integer_x = spec.integer_y = true;
  uint64_t shortest = UINT64_MAX, longest = 0;
  for (QcMate k : kMatesByName)
    if (MajorMate(mates, k) && !mates[k]->length_histogram.empty()) {
      shortest = std::min<uint64_t>(shortest, mates[k]->length_histogram.front().first);
      longest = std::max<uint64_t>(longest, mates[k]->length_histogram.back().first);
    }
  const bool binned = longest > shortest && longest - shortest > 200;
  for (QcMate k : kMatesByName) {
    if (!MajorMate(mates, k)) continue;
    if (!binned) {
      spec.series.push_back({kMateLabels[k], kMateColors[k], Style::kImpulses, ToPoints(mates[k]->length_histogram)});
      continue;
    }
    // The same bins for every read: the first bin starts at the shortest length of all.
    std::vector<std::pair<uint64_t, uint64_t>> histogram = mates[k]->length_histogram;
    histogram.insert(histogram.begin(), {shortest, 0});
    Points points;
    const uint64_t width = BinnedHistogram(histogram, longest, &points);
    spec.x_label = "length (bases, " + std::to_string(width) + "-base bins)";
    spec.y_label = "reads per bin";
    spec.hover_x_name = "length";
    spec.x_bin = width;
    spec.series.push_back({kMateLabels[k], kMateColors[k], Style::kLine, std::move(points)});
  }
  return LineChart(spec);
}

std::string DuplicationPlot(const QcDuplication& duplication) {
  const std::vector<qc_html::DuplicationLevel> levels = qc_html::DuplicationLevels(duplication);
  BarChartSpec spec{"plot-duplication", "Duplication levels", "copies of a sequence", "percent", "%", {}, {}, ""};
  if (levels.empty()) return EmptyPlot(spec.id, spec.title);
  BarSeries fragments{"% of fragments", "#1f77b4", {}}, distinct{"% of distinct", "#ff7f0e", {}};
  for (const auto& level : levels) {
    spec.categories.push_back(level.label);
    fragments.values.push_back(level.fragments_percent);
    distinct.values.push_back(level.distinct_percent);
  }
  spec.series = {fragments, distinct};
  spec.note = Grouped(duplication.sampled_fragments) + " fragments sampled" +
              (duplication.sampling_fraction < 1 ? " (" + Fmt(100 * duplication.sampling_fraction, 1) + " % of all)" : "") +
              ", " + Grouped(duplication.distinct_sampled) + " distinct: " + Fmt(duplication.percent) + " % duplicates.";
  return BarChart(spec);
}

std::string OverrepresentedSection(const std::vector<QcOverrepresented>& overrepresented) {
  std::ostringstream o;
  if (overrepresented.empty()) {
    o << "<p id=\"overrepresented-none\">No overrepresented sequences: no 50-base read start is above 0.1 % of reads.</p>\n";
    return o.str();
  }
  o << "<table id=\"overrepresented\"><tr><th>sequence (first 50 bases)</th><th>count</th><th>% of reads</th>"
       "<th>possible source</th></tr>\n";
  for (const QcOverrepresented& r : overrepresented)
    o << "<tr><td><code>" << Escape(r.sequence) << "</code></td><td class=\"num\">" << Grouped(r.count)
      << "</td><td class=\"num\">" << Fmt(r.percent, 3) << "</td><td>" << Escape(qc_html::PossibleSource(r.sequence))
      << "</td></tr>\n";
  o << "</table>\n";
  return o.str();
}

// The hover readout and the page's self-check, plain inline JS (nothing fetched). readout() is
// what the pointer shows; the self-check runs it once per plot so the test sees it work.
const char kScript[] = R"JS(<script>(function(){
var tip=document.createElement('div');tip.id='qc-tip';document.body.appendChild(tip);
function fmt(v){if(Math.abs(v-Math.round(v))<1e-9)return Math.round(v).toLocaleString('en-US');
var a=Math.abs(v);return a>=100?v.toFixed(1):a>=1?v.toFixed(2):v.toPrecision(2);}
function nearest(p,x){var lo=0,hi=p.length-1;if(hi<0)return null;
while(hi-lo>1){var m=(lo+hi)>>1;if(p[m][0]<x)lo=m;else hi=m;}
return Math.abs(p[lo][0]-x)<=Math.abs(p[hi][0]-x)?p[lo]:p[hi];}
function readout(d,px){if(px<d.l||px>d.l+d.w)return null;var x=d.x0+(px-d.l)/d.w*(d.x1-d.x0),hx=null,i,q;
for(i=0;i<d.s.length;i++){q=nearest(d.s[i].p,x);if(q&&(hx===null||Math.abs(q[0]-x)<Math.abs(hx-x)))hx=q[0];}
if(hx===null)return null;var rows=[];
for(i=0;i<d.s.length;i++){var s=d.s[i];q=nearest(s.p,hx);if(!q)continue;
rows.push({n:s.n,c:s.c,v:(s.e&&q[0]!==hx)?0:q[1]});}
return {x:hx,head:d.xn+': '+(d.xl?d.xl[hx]:d.xb>1?fmt(hx)+'-'+fmt(hx+d.xb-1):fmt(hx)),rows:rows};}
function hide(svg){tip.style.display='none';var l=svg.querySelector('.hover-line');if(l)l.setAttribute('visibility','hidden');}
function show(svg,d,e){var r=svg.getBoundingClientRect(),px=(e.clientX-r.left)*svg.viewBox.baseVal.width/r.width;
var o=readout(d,px);if(!o){hide(svg);return;}
var lx=d.l+(o.x-d.x0)/(d.x1-d.x0)*d.w,line=svg.querySelector('.hover-line');
line.setAttribute('x1',lx);line.setAttribute('x2',lx);line.setAttribute('visibility','visible');
tip.textContent='';var h=document.createElement('div');h.className='head';h.textContent=o.head;tip.appendChild(h);
for(var i=0;i<o.rows.length;i++){var row=document.createElement('div'),sw=document.createElement('span');
sw.className='sw';sw.style.background=o.rows[i].c;row.appendChild(sw);
row.appendChild(document.createTextNode(o.rows[i].n+': '+fmt(o.rows[i].v)+(d.yu?' '+d.yu:'')));tip.appendChild(row);}
tip.style.display='block';var tx=e.clientX+14,ty=e.clientY+14;
if(tx+tip.offsetWidth>window.innerWidth-4)tx=e.clientX-14-tip.offsetWidth;
if(ty+tip.offsetHeight>window.innerHeight-4)ty=e.clientY-14-tip.offsetHeight;
tip.style.left=tx+'px';tip.style.top=ty+'px';}
var plots=document.querySelectorAll('svg.qc-plot'),drawn=0,empty=0,hovering=0;
for(var i=0;i<plots.length;i++){var p=plots[i],ok=false,lines=p.querySelectorAll('.series');
for(var j=0;j<lines.length;j++){var b=lines[j].getBBox();if(b.width>0||b.height>0){ok=true;}}
if(ok){drawn++;p.setAttribute('data-drawn','1');}else{if(p.getAttribute('data-empty')){empty++;}p.setAttribute('data-drawn','0');}
var raw=p.getAttribute('data-hover');if(!raw)continue;var d=JSON.parse(raw),o=readout(d,d.l+d.w/2);
if(o&&o.rows.length>0)hovering++;
(function(svg,d){svg.addEventListener('mousemove',function(e){show(svg,d,e);});
svg.addEventListener('mouseleave',function(){hide(svg);});})(p,d);}
var body=document.body;body.setAttribute('data-plots',plots.length);body.setAttribute('data-plots-drawn',drawn);
body.setAttribute('data-plots-empty',empty);body.setAttribute('data-plots-hover',hovering);
body.setAttribute('data-errors',window.qcErrors.length);body.setAttribute('data-qc-ready','1');})();</script>
)JS";

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
    << "<style>body{font-family:sans-serif;margin:1.5em;color:#222}table{border-collapse:collapse;margin:0.6em 0 1em}"
       "td,th{border:1px solid #ccc;padding:3px 8px;text-align:left}th{background:#f3f3f3}td.num{text-align:right}"
       ".pass{background:#c8ecc8}.warn{background:#fde9a8}.fail{background:#f6b7b7}.na{color:#888}"
       "h3{margin:1.2em 0 0.3em;font-size:1.05em;color:#333}.plots{display:flex;flex-wrap:wrap;gap:6px 18px}"
       "figure{margin:0}figcaption{font-size:12px;color:#555;max-width:580px;margin:0 0 0 60px}"
       "svg.qc-plot{font-family:sans-serif}.title{font-weight:bold;font-size:14px}.tick{font-size:11px;fill:#444}"
       ".axis{font-size:12px;fill:#222}.legend{font-size:12px;fill:#222}.empty{fill:#888;font-size:13px}"
       ".grid{stroke:#e4e4e4}.tick-mark{stroke:#999}.hover-line{stroke:#666;stroke-dasharray:3,3;pointer-events:none}"
       "code{font-size:12px}#qc-tip{position:fixed;display:none;pointer-events:none;background:rgba(255,255,255,0.95);"
       "border:1px solid #999;border-radius:3px;padding:4px 7px;font-size:12px;line-height:1.45;box-shadow:0 1px 4px rgba(0,0,0,0.2);z-index:10}"
       ".side{align-self:flex-start;margin-top:24px;font-size:14px}.side table{font-size:13px;margin-top:0}.side code{font-size:11px}.hint{color:#555;font-size:13px}"
       "#qc-tip .head{font-weight:bold}#qc-tip .sw{display:inline-block;width:9px;height:9px;margin-right:5px}"
       "</style></head>\n";
  o << "<body data-qc-ready=\"0\">\n<h1>QC report: " << Escape(sample) << "</h1>\n";
  o << "<p>cramjet " << Escape(qc.cramjet_version) << ", qc.json schema v" << kQcSchemaVersion
    << ". Input: " << Escape(qc.input) << (qc.reference.empty() ? "" : ". Reference: " + Escape(qc.reference))
    << ". Overall verdict: <span class=\"" << VerdictClass(qc.verdict) << "\" id=\"verdict\">"
    << Escape(QcVerdictName(qc.verdict)) << "</span></p>\n";

  const QcSummary& s = qc.summary;
  o << "<h2>Summary</h2>\n<table id=\"summary\"><tr><th>reads</th><th>bases</th><th>Q30 %</th><th>GC %</th>"
       "<th>N %</th><th>mean length</th><th>duplication %</th><th>placed %</th><th>mean depth</th>"
       "<th>mean depth, contigs with reads</th></tr>\n<tr><td class=\"num\">"
    << Grouped(s.reads) << "</td><td class=\"num\">" << Grouped(s.bases) << "</td><td>" << Fmt(s.q30_percent) << "</td><td>"
    << Fmt(s.gc_percent) << "</td><td>" << Fmt(s.n_percent, 3) << "</td><td>" << Fmt(s.mean_length, 1) << "</td><td>"
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

  o << "<h2>Plots</h2>\n<p class=\"hint\">Hover over a plot for its values.</p>\n";
  o << PerReadSections(mates);

  o << "<h3>GC content and length</h3>\n<div class=\"plots\">\n";
  {  // GC distribution (% of reads per GC %).
    LineChartSpec spec{"plot-gc", "GC content of reads", "GC %", "% of reads", "%"};
    for (QcMate k : kMatesByName) {
      if (!MajorMate(mates, k)) continue;
      const QcMateMetrics& m = *mates[k];
      const double reads = double(m.reads);
      Points pts;
      for (size_t i = 0; i < m.gc_histogram.size(); ++i)
        pts.push_back({double(i), reads > 0 ? 100.0 * m.gc_histogram[i] / reads : 0});
      spec.series.push_back({kMateLabels[k], kMateColors[k], Style::kLine, std::move(pts)});
    }
    spec.integer_x = true;
    o << LineChart(spec);
  }
  o << LengthPlot(mates);
  o << "</div>\n";

  // The table beside the histogram where the page is wide enough, below it where not.
  o << "<h3>Duplication and overrepresented sequences</h3>\n<div class=\"plots\">\n" << DuplicationPlot(qc.duplication)
    << "<div class=\"side\">" << OverrepresentedSection(qc.overrepresented) << "</div></div>\n";

  o << "<h3>Placement</h3>\n<div class=\"plots\">\n" << InsertSizePlot(qc.insert_size);
  {  // Coverage along the reference.
    LineChartSpec spec{"plot-coverage", "Coverage along the reference",
                       "position along the contigs with placed reads, in header order", "mean depth", ""};
    spec.hover_x_name = "position";
    const auto& track = qc.coverage.depth_track;
    if (track.size() >= 2) spec.x_bin = track[1].first - track[0].first;  // each point a mean over whole bins
    if (qc.coverage.aligned_bases > 0)
      spec.series.push_back({"depth", "#ff7f0e", Style::kArea, ToPoints(qc.coverage.depth_track)});
    o << LineChart(spec);
  }
  o << "</div>\n<h3>Mismatches and adapters</h3>\n<div class=\"plots\">\n";
  {  // Mismatches per cycle (placed reads against the reference).
    LineChartSpec spec{"plot-mismatch", "Mismatches per cycle against the reference", "cycle", "% of aligned bases", "%"};
    for (QcMate k : kMatesByName) {
      if (!MajorMate(mates, k)) continue;
      const QcMateMetrics& m = *mates[k];
      if (m.placed.aligned_bases_compared == 0) continue;
      spec.series.push_back({kMateLabels[k], kMateColors[k], Style::kLine, Curve(m.per_cycle.mismatch_percent)});
    }
    spec.integer_x = true;
    o << LineChart(spec);
  }
  {  // Adapter content.
    LineChartSpec spec{"plot-adapter", "Adapter content (reads with the adapter by this cycle)", "cycle", "% of reads",
                       "%"};
    for (QcMate k : kMatesByName) {
      if (!MajorMate(mates, k)) continue;
      const auto& ad = mates[k]->adapter;
      spec.series.push_back({std::string("TruSeq ") + kMateLabels[k], kMateColors[k], Style::kLine, Curve(ad[0].cumulative_percent)});
      spec.series.push_back({std::string("Nextera ") + kMateLabels[k], kMateColors[k], Style::kDashed, Curve(ad[1].cumulative_percent)});
    }
    spec.y_max_at_least = 1;
    spec.integer_x = true;
    o << LineChart(spec);
  }
  o << "</div>\n";

  o << kScript;
  o << "</body></html>\n";
  return o.str();
}

}  // namespace cramjet
