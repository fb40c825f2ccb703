// host/qc/html_internal.h — internal to host/qc: the pieces of the HTML report (html.cc) that
// decide what a reader sees in numbers, apart from the drawing, so tests can check them on their
// own: axis ticks and their labels, the duplication-level bars, the possible source of an
// overrepresented sequence. Nothing outside host/qc includes this; the stage's contract is qc/qc.h.
#pragma once

#include <string>
#include <vector>

#include "qc/qc.h"

namespace cramjet::qc_html {

// An axis from `min` to `max`, ticks at every multiple of `step` between them (both ends are
// ticks), `step` being 1, 2 or 5 x 10^k.
struct AxisTicks {
  double min = 0, max = 1, step = 1;
  std::vector<double> values;
  std::vector<std::string> labels;  // one per value, all different
};

// Ticks covering [lo, hi] in about `target_intervals` steps (d3's rule: the 1/2/5 x 10^k step
// nearest to the span / target). The axis is widened to the ticks around the range, so min <= lo
// and max >= hi. An empty range (lo == hi) is widened around the value. `integer_steps`: never a
// step below 1 (cycles, lengths, copy numbers have no halves).
AxisTicks NiceTicks(double lo, double hi, int target_intervals = 5, bool integer_steps = false);

// The label of tick `value` on an axis with ticks `step` apart whose largest tick magnitude is
// `largest`: a k / M / G suffix from `largest` (so every label on the axis has the same one) and
// as many decimals as the step needs, which keeps labels of different ticks different.
std::string TickLabel(double value, double step, double largest);

// One bar of the duplication-level histogram (FastQC's levels: 1 to 9 copies, then 10-49, 50-99
// and 100+), as percentages of the sampled fragments and of the distinct ones.
struct DuplicationLevel {
  std::string label;
  double fragments_percent = 0;  // fragments (every copy) at this level / sampled fragments
  double distinct_percent = 0;   // distinct sequences at this level / distinct sequences
};
// Empty when no fragment was sampled.
std::vector<DuplicationLevel> DuplicationLevels(const QcDuplication& duplication);

// What an overrepresented sequence may come from: one of the adapters QC looks for (kQcAdapters,
// their 12-base start anywhere in it), a homopolymer ("poly-A" when 90 % or more is one base),
// else "no hit".
std::string PossibleSource(const std::string& sequence);

}  // namespace cramjet::qc_html
