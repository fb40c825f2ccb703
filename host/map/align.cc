// Step 5 of the short-read path, align the rest: reads that no diagonal places well enough get a
// banded local alignment (small indels, soft clips) against their best candidate by mismatches
// and their best by votes. Where a read has two candidates only the scores decide which one it
// keeps, so both are scored without a traceback (Backend::ScoreBanded, ksw2's score-only mode)
// and the CIGAR is computed for the winner alone, and only when its score is high enough to be
// kept.
#include <algorithm>
#include <cstdlib>

#include "kernel_shape.h"
#include "map/map_steps.h"

namespace cramjet::map_internal {
namespace {

constexpr int kR = CJ_BAND_RADIUS;
constexpr size_t kMaxTargets = 2;

// The alignment's window: read_length + 2R reference codes around the candidate's diagonal,
// CJ_REF_OUTSIDE beyond the contig.
void AppendWindow(const ReferenceIndex& index, const Candidate& c, uint32_t length, std::vector<uint8_t>& windows) {
  const ContigInfo& contig = index.contigs()[c.contig];
  const int64_t lo = static_cast<int64_t>(contig.start);
  const int64_t hi = static_cast<int64_t>(contig.start + contig.length);
  const size_t w0 = windows.size();
  const size_t wn = length + 2 * kR;
  windows.resize(w0 + wn);
  for (size_t j = 0; j < wn; ++j) {
    const int64_t g = c.diag() - kR + static_cast<int64_t>(j);
    windows[w0 + j] = (g < lo || g >= hi) ? CJ_REF_OUTSIDE : static_cast<uint8_t>(index.BaseCode(static_cast<uint64_t>(g)));
  }
}

// Up to two candidates of the read: the best by mismatches and the best by votes, unless within
// a band of it. Returns how many.
size_t PickTargets(const ReadState& st, const std::vector<Candidate>& voted, Candidate (&picks)[kMaxTargets]) {
  size_t n = 0;
  if (st.best_mm != UINT32_MAX) picks[n++] = st.best;
  for (uint32_t v = st.votes.begin; v < st.votes.end && n < kMaxTargets; ++v) {
    const Candidate& c = voted[v];
    bool near = false;
    for (size_t q = 0; q < n; ++q)
      near |= picks[q].contig == c.contig && picks[q].strand() == c.strand() && std::llabs(picks[q].diag() - c.diag()) <= kR;
    if (!near) picks[n++] = c;
  }
  return n;
}

// The smallest score a banded alignment of a read of `length` bases is kept with.
int NeededScore(const MapOptions& options, uint32_t length) {
  return std::max(options.min_score, static_cast<int>(options.min_score_fraction * length));
}

}  // namespace

Status AlignRest(const MapContext& context, WorkerBuffer& buffer) {
  const EncodedReads& encoded = buffer.encoded;
  AlignScratch& a = buffer.align;
  a.targets.clear();
  a.windows.clear();
  for (size_t r = 0; r < encoded.reads.size(); ++r) {
    const ReadState& st = encoded.reads[r];
    if (!st.needs_alignment) continue;
    Candidate picks[kMaxTargets];
    const size_t n = PickTargets(st, buffer.candidates.voted, picks);
    for (size_t t = 0; t < n; ++t) {
      a.targets.push_back({r, picks[t], a.windows.size()});
      AppendWindow(context.index, picks[t], st.length, a.windows);
    }
  }
  buffer.counts.aligned += a.targets.size();
  auto job_of = [&](const AlignTarget& t) {
    return AlignJob{encoded.strand_codes(t.read, t.candidate.strand()), a.windows.data() + t.window,
                    encoded.reads[t.read].length};
  };
  auto group_end = [&](size_t t) {
    size_t end = t;
    while (end < a.targets.size() && a.targets[end].read == a.targets[t].read) ++end;
    return end;
  };

  // Scores only, for the reads with more than one target.
  a.jobs.clear();
  for (size_t t = 0; t < a.targets.size();) {
    const size_t end = group_end(t);
    if (end - t > 1)
      for (size_t k = t; k < end; ++k) a.jobs.push_back(job_of(a.targets[k]));
    t = end;
  }
  a.scores.resize(a.jobs.size());
  if (!a.jobs.empty()) CRAMJET_RETURN_IF_ERROR(context.backend.ScoreBanded(a.jobs.data(), a.jobs.size(), a.scores.data()));

  // The target each read keeps (the first of the best scores) and the best of the others'; a
  // read's only target is kept without scoring it first.
  a.jobs.clear();
  a.chosen.clear();
  a.second.clear();
  size_t scored = 0;
  for (size_t t = 0; t < a.targets.size();) {
    const size_t end = group_end(t);
    size_t best = t;
    int second = CJ_SCORE_NEG_INF;
    if (end - t > 1) {
      auto score = [&](size_t k) { return a.scores[scored + (k - t)]; };  // of target k of this read
      for (size_t k = t + 1; k < end; ++k) {
        if (score(k) > score(best)) {
          second = std::max(second, score(best));
          best = k;
        } else {
          second = std::max(second, score(k));
        }
      }
      const bool kept = score(best) >= NeededScore(context.options, encoded.reads[a.targets[t].read].length);
      scored += end - t;
      t = end;
      if (!kept) continue;  // no CIGAR needed
    } else {
      t = end;
    }
    a.chosen.push_back(best);
    a.second.push_back(second);
    a.jobs.push_back(job_of(a.targets[best]));
  }
  if (!a.jobs.empty()) CRAMJET_RETURN_IF_ERROR(context.backend.AlignBanded(a.jobs.data(), a.jobs.size(), a.output));

  for (size_t j = 0; j < a.chosen.size(); ++j) {
    const AlignResult& result = a.output.results[j];
    const AlignTarget& target = a.targets[a.chosen[j]];
    const ReadState& st = encoded.reads[target.read];
    if (result.score < NeededScore(context.options, st.length) || result.cigar_length == 0) continue;
    const Candidate& c = target.candidate;
    Placement& p = buffer.placements[target.read];
    p.placed = true;
    p.gapped = true;
    p.strand = c.strand();
    p.contig = c.contig;
    p.ref_start = c.diag() - kR + result.window_begin;
    if (result.read_begin) p.cigar.push_back(result.read_begin << 4 | BAM_CSOFT_CLIP);
    p.cigar.insert(p.cigar.end(), a.output.cigar.begin() + result.cigar_begin,
                   a.output.cigar.begin() + result.cigar_begin + result.cigar_length);
    if (result.read_end < st.length) p.cigar.push_back((st.length - result.read_end) << 4 | BAM_CSOFT_CLIP);
    p.mapq = a.second[j] == result.score ? 0 : 60;
  }
  return Status::Ok();
}

}  // namespace cramjet::map_internal
