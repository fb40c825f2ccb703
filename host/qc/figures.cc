// The typed figures of QC's accumulators (accumulators_internal.h): quartiles, percentages,
// histograms as qc.json lists them.
#include <algorithm>
#include <cmath>
#include <limits>

#include "qc/accumulators_internal.h"

namespace cramjet::qc_internal {
namespace {

double NaN() { return std::numeric_limits<double>::quiet_NaN(); }

// Smallest quality whose cumulative count reaches fraction `p` of the cycle's bases.
int QuantileOfHist(const uint64_t* hist, uint64_t total, double p) {
  if (total == 0) return 0;
  const double target = p * double(total);
  uint64_t cum = 0;
  for (size_t q = 0; q < kQualityBins; ++q) {
    cum += hist[q];
    if (double(cum) >= target) return int(q);
  }
  return int(kQualityBins - 1);
}

}  // namespace

double Percent(double part, double whole) { return whole > 0 ? 100.0 * part / whole : 0.0; }

QcMateMetrics MateMetrics(MateAcc& m, MateFigures* figures) {
  m.Flush();
  QcMateMetrics j;
  j.reads = m.reads;
  j.bases = m.bases;
  j.q20_bases = m.q20;
  j.q30_bases = m.q30;
  j.q20_percent = Percent(double(m.q20), double(m.bases));
  j.q30_percent = Percent(double(m.q30), double(m.bases));
  j.mean_quality = m.bases ? double(m.quality_sum) / double(m.bases) : 0.0;
  j.reads_without_quality = m.reads_without_quality;
  const auto& ct = m.code_total;
  const double acgt = double(ct[kCodeA] + ct[kCodeC] + ct[kCodeG] + ct[kCodeT]);
  j.base_counts = m.code_total;
  j.base_counts_as_stored = m.code_total_as_stored;
  j.gc_percent = Percent(double(ct[kCodeC] + ct[kCodeG]), acgt);
  j.n_percent = Percent(double(ct[kCodeN]), double(m.bases));
  j.min_length = m.reads ? m.min_length : 0;
  j.max_length = m.max_length;
  j.mean_length = m.reads ? double(m.bases) / double(m.reads) : 0.0;
  for (size_t l = 0; l < m.length_hist.size(); ++l)
    if (m.length_hist[l]) j.length_histogram.emplace_back(l, m.length_hist[l]);
  // N50: the length L such that reads of length >= L hold at least half of the bases.
  uint64_t n50 = 0, cumulative = 0;
  for (size_t l = m.length_hist.size(); l-- > 0 && 2 * cumulative < m.bases;) {
    cumulative += uint64_t(l) * m.length_hist[l];
    n50 = l;
  }
  j.n50_length = n50;
  j.gc_histogram = m.GcHistogram();
  // Per read: the arithmetic mean Phred of its bases (FastQC's per-sequence quality), bin = floor.
  j.read_mean_quality_histogram = m.read_mean_quality_hist;
  {
    QcMateMetrics::Identity& identity = j.identity;
    identity.reads = m.identity_reads;
    identity.mean_percent = m.identity_reads ? 1e-4 * double(m.identity_sum_ppm) / double(m.identity_reads) : NaN();
    uint64_t seen = 0;
    double median = NaN();
    for (size_t i = 0; i < m.identity_hist.size(); ++i) {
      if (m.identity_hist[i]) identity.histogram.emplace_back(i / 10.0, m.identity_hist[i]);
      if (std::isnan(median) && m.identity_reads && 2 * (seen += m.identity_hist[i]) >= m.identity_reads) median = i / 10.0;
    }
    identity.median_percent = median;
  }

  const size_t cycles = std::min<size_t>(m.max_length, m.stride);
  QcMateMetrics::PerCycle& pc = j.per_cycle;
  uint64_t adapter_running[2] = {0, 0};
  MateFigures f;
  if (m.bases) f.q30_percent = Percent(double(m.q30), double(m.bases));
  for (size_t i = 0; i < cycles; ++i) {
    const uint64_t* h = &m.quality_hist[i * kQualityBins];
    uint64_t total = 0;
    size_t top = 0;
    for (size_t q = 0; q < kQualityBins; ++q) {
      total += h[q];
      if (h[q]) top = q;
    }
    pc.quality_histogram.emplace_back(h, h + top + 1);
    pc.quality_mean.push_back(total ? double(m.cycle_quality_sum[i]) / double(total) : 0.0);
    const int l = QuantileOfHist(h, total, 0.25), md = QuantileOfHist(h, total, 0.5);
    pc.quality_lower_quartile.push_back(l);
    pc.quality_median.push_back(md);
    pc.quality_upper_quartile.push_back(QuantileOfHist(h, total, 0.75));
    if (total) {
      if (std::isnan(f.min_lower_quartile) || l < f.min_lower_quartile) f.min_lower_quartile = l;
      if (std::isnan(f.min_median) || md < f.min_median) f.min_median = md;
    }
    uint64_t bases_at = 0;
    for (size_t c = 0; c < kNumCodes; ++c) bases_at += m.cycle_code[c * m.stride + i];
    for (size_t c = 0; c < kNumCodes; ++c)
      pc.base_percent[c].push_back(Percent(double(m.cycle_code[c * m.stride + i]), double(bases_at)));
    if (bases_at) {
      const double n_pct = Percent(double(m.cycle_code[kCodeN * m.stride + i]), double(bases_at));
      if (std::isnan(f.max_n_percent) || n_pct > f.max_n_percent) f.max_n_percent = n_pct;
    }
    pc.aligned_bases.push_back(m.cycle_aligned[i]);
    pc.mismatch_percent.push_back(Percent(double(m.cycle_mismatch[i]), double(m.cycle_aligned[i])));
    for (size_t a = 0; a < 2; ++a) {
      adapter_running[a] += m.adapter_start[a][i];
      j.adapter[a].cumulative_percent.push_back(Percent(double(adapter_running[a]), double(m.reads)));
    }
  }
  for (size_t a = 0; a < 2; ++a) {
    j.adapter[a].reads = m.adapter_reads[a];
    j.adapter[a].percent = Percent(double(m.adapter_reads[a]), double(m.reads));
  }
  j.placed.reads = m.placed;
  j.placed.percent = Percent(double(m.placed), double(m.reads));
  j.placed.aligned_bases_compared = m.aligned_bases;
  j.placed.mismatches = m.mismatches;
  j.placed.mismatch_percent = Percent(double(m.mismatches), double(m.aligned_bases));
  if (figures) *figures = f;
  return j;
}

double GcDeviationPercent(const std::array<double, 101>& hist) {
  double n = 0, sum = 0, sum2 = 0;
  for (size_t i = 0; i < hist.size(); ++i) {
    n += hist[i];
    sum += hist[i] * double(i);
    sum2 += hist[i] * double(i) * double(i);
  }
  if (n == 0) return NaN();
  const double mean = sum / n;
  const double sd = std::sqrt(std::max(0.0, sum2 / n - mean * mean));
  if (sd == 0) return 0;
  double deviation = 0, norm = 0;
  std::array<double, 101> expected{};
  for (size_t i = 0; i < hist.size(); ++i) {
    const double z = (double(i) - mean) / sd;
    expected[i] = std::exp(-0.5 * z * z);
    norm += expected[i];
  }
  for (size_t i = 0; i < hist.size(); ++i) deviation += std::fabs(hist[i] - n * expected[i] / norm);
  return 100.0 * deviation / n;
}

QcDuplication DuplicationMetrics(const DupSampler& d) {
  // Histogram of copy numbers (fastp-like, 1..kDupLevels).
  constexpr size_t kDupLevels = 100;
  std::vector<uint64_t> dup_levels(kDupLevels + 1, 0);
  d.ForEachCount([&](uint32_t count) { ++dup_levels[std::min<size_t>(count, kDupLevels)]; });
  QcDuplication out;
  out.sampled_fragments = d.sampled();
  out.distinct_sampled = d.distinct();
  out.sampling_fraction = d.sampling_fraction();
  out.percent = d.sampled() ? 100.0 * (1.0 - double(d.distinct()) / double(d.sampled())) : NaN();
  out.copy_number_histogram.assign(dup_levels.begin() + 1, dup_levels.end());
  return out;
}

std::vector<QcOverrepresented> OverrepresentedMetrics(const FlatCounter& counts,
                                                      const std::unordered_map<uint64_t, std::string>& sequences,
                                                      uint64_t reads, double* top) {
  static const std::string kUnknown;
  struct Over { uint64_t count; const std::string* sequence; };
  // Only prefixes above the limit can be listed: sorting just those keeps Finish() cheap when a
  // table holds 100,000 prefixes (per read group too).
  std::vector<Over> over;
  uint64_t top_count = 0;
  counts.ForEach([&](uint64_t key, uint32_t count) {
    top_count = std::max<uint64_t>(top_count, count);
    if (double(count) * 1000.0 <= double(reads)) return;
    const auto it = sequences.find(key);
    over.push_back({count, it != sequences.end() ? &it->second : &kUnknown});
  });
  std::sort(over.begin(), over.end(), [](const Over& a, const Over& b) {
    return a.count != b.count ? a.count > b.count : *a.sequence < *b.sequence;
  });
  std::vector<QcOverrepresented> listed;
  for (const Over& o : over) {
    if (listed.size() >= 20) break;
    listed.push_back({*o.sequence, o.count, Percent(double(o.count), double(reads))});
  }
  if (top) *top = counts.size() == 0 ? NaN() : Percent(double(top_count), double(reads));
  return listed;
}

QcInsertSize InsertSizeMetrics(const std::vector<uint64_t>& insert_hist) {
  QcInsertSize out;
  uint64_t pairs = 0;
  for (size_t i = 0; i < insert_hist.size(); ++i) {
    if (!insert_hist[i]) continue;
    pairs += insert_hist[i];
    out.histogram.emplace_back(i, insert_hist[i]);
  }
  double isum = 0, isum2 = 0, bulk = 0;
  for (size_t i = 0; i < insert_hist.size() && pairs; ++i) {
    bulk += double(insert_hist[i]);
    isum += double(i) * double(insert_hist[i]);
    isum2 += double(i) * double(i) * double(insert_hist[i]);
    if (bulk / double(pairs) >= 0.99) break;
  }
  const double imean = bulk > 0 ? isum / bulk : 0;
  const double isd = bulk > 0 ? std::sqrt(std::max(0.0, isum2 / bulk - imean * imean)) : 0;
  uint64_t half = 0, imedian = 0, ipeak = 0, ipeak_count = 0;
  for (size_t i = 0; i < insert_hist.size(); ++i) {
    if (insert_hist[i] > ipeak_count) { ipeak_count = insert_hist[i]; ipeak = i; }
    if (!imedian && pairs && (half += insert_hist[i]) * 2 >= pairs) imedian = i;
  }
  out.pairs = pairs;
  out.mean = imean;
  out.sd = isd;
  out.median = imedian;
  out.peak = ipeak;
  return out;
}

QcCoverage CoverageMetrics(const CoverageBins& coverage, const sam_hdr_t* header, bool with_track) {
  QcCoverage cov;
  uint64_t ref_length = 0, covered_bases = 0;
  std::array<uint64_t, 5> bins_at{};  // bins with mean depth >= 1, 10, 15, 30, 100
  const auto& kDepths = QcCoverage::kDepths;
  uint64_t n_bins = 0;
  const int n_targets = header ? sam_hdr_nref(header) : 0;
  for (int tid = 0; tid < n_targets; ++tid) {
    const hts_pos_t tlen = sam_hdr_tid2len(header, tid);
    ref_length += uint64_t(tlen);
    const size_t nb = size_t((tlen + kCoverageBin - 1) / kCoverageBin);
    const size_t held = coverage.bins(tid);
    for (size_t i = 0; i < nb; ++i) {
      const uint64_t v = i < held ? coverage.at(tid, i) : 0;
      covered_bases += v;
      const double width = double(std::min<hts_pos_t>(kCoverageBin, tlen - hts_pos_t(i) * kCoverageBin));
      const double depth = double(v) / width;
      ++n_bins;
      for (size_t d = 0; d < 5; ++d) bins_at[d] += depth >= kDepths[d];
    }
  }
  // A depth track of at most 500 points over the contigs that have placed reads (an exome or
  // a chrM sample on a whole-genome header would otherwise be one spike), and their depths.
  uint64_t track_length = 0;
  for (int tid = 0; tid < n_targets && size_t(tid) < coverage.contigs(); ++tid) {
    if (coverage.bins(tid) == 0) continue;
    const hts_pos_t tlen = sam_hdr_tid2len(header, tid);
    track_length += uint64_t(tlen);
    uint64_t aligned = 0;
    for (size_t i = 0; i < coverage.bins(tid); ++i) aligned += coverage.at(tid, i);
    if (cov.contigs_with_reads.size() < 1000)
      cov.contigs_with_reads.push_back({sam_hdr_tid2name(header, tid), int64_t(tlen), aligned,
                                        tlen ? double(aligned) / double(tlen) : 0.0});
  }
  cov.has_depth_track = with_track;
  if (with_track && track_length > 0) {
    // Whole bins per point, so every point is a true mean depth.
    const uint64_t total_bins = (track_length + kCoverageBin - 1) / kCoverageBin;
    const uint64_t step = uint64_t(kCoverageBin) * std::max<uint64_t>(1, (total_bins + 499) / 500);
    std::vector<double> track((track_length + step - 1) / step, 0.0);
    uint64_t offset = 0;
    for (int tid = 0; tid < n_targets && size_t(tid) < coverage.contigs(); ++tid) {
      const size_t nb = coverage.bins(tid);
      if (nb == 0) continue;
      for (size_t i = 0; i < nb; ++i)
        track[std::min<size_t>(track.size() - 1, (offset + i * kCoverageBin) / step)] += double(coverage.at(tid, i));
      offset += uint64_t(sam_hdr_tid2len(header, tid));
    }
    for (size_t i = 0; i < track.size(); ++i) {
      const double width = double(std::min<uint64_t>(step, track_length - i * step));
      cov.depth_track.emplace_back(i * step, track[i] / width);
    }
  }
  cov.mean_depth_contigs_with_reads = track_length ? double(covered_bases) / double(track_length) : 0.0;
  cov.reference_length = ref_length;
  cov.aligned_bases = covered_bases;
  cov.mean_depth = ref_length ? double(covered_bases) / double(ref_length) : 0.0;
  cov.bin_size = kCoverageBin;
  for (size_t d = 0; d < 5; ++d) cov.bins_at_least_percent[d] = Percent(double(bins_at[d]), double(n_bins));
  return cov;
}

}  // namespace cramjet::qc_internal
