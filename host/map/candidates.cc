// Steps 2 and 3 of the short-read path, seed rounds and the vote: candidate places of each read
// from its minimizers' index hits (flank-checked), each checked by a Hamming distance with early
// exit, one backend call per round (docs/mapper.md, "Placement, per read").
#include <algorithm>

#include "kernel_shape.h"
#include "map/map_steps.h"

namespace cramjet::map_internal {
namespace {

// Seed lookups are cache misses on a large reference: they are issued in a pipeline that
// prefetches the bucket offsets kAhead lookups ahead, then the bucket's entries.
constexpr size_t kAhead = 32;

// Seeds (sampled as `sample`) of the forward strand of every read not yet resolved, into
// `s.picks` (canonical seeds: they find the reverse strand's hits too).
Status SeedUnresolved(const Backend& backend, SeedSample sample, const EncodedReads& encoded, SeedScratch& s) {
  s.picks.clear();
  s.sequences.clear();
  for (size_t r = 0; r < encoded.reads.size(); ++r)
    if (!encoded.reads[r].resolved) s.sequences.push_back(static_cast<uint32_t>(2 * r));
  CRAMJET_RETURN_IF_ERROR(backend.ExtractSeeds(SeedInput{encoded.codes.data(), encoded.code_offsets.data(),
                                                         s.sequences.size(), s.sequences.data(), sample},
                                               s.seeds));
  for (size_t i = 0; i < s.sequences.size(); ++i) {
    const uint32_t r = s.sequences[i] / 2, length = encoded.reads[r].length;
    const uint8_t* forward = encoded.strand_codes(r, 0);
    const uint8_t* reverse = encoded.strand_codes(r, 1);
    for (uint32_t k = s.seeds.seed_offsets[i]; k < s.seeds.seed_offsets[i + 1]; ++k) {
      const Seed& seed = s.seeds.seeds[k];
      s.picks.push_back({r, SeedIsReverse(forward + seed.position), seed,
                         {FlanksOfRead(forward, length, seed.position),
                          FlanksOfRead(reverse, length, length - CJ_SEED_K - seed.position)}});
    }
  }
  return Status::Ok();
}

// Hits of one read's seeds (`s.spans`) whose flanks agree with the read's (FlanksAgree), into
// `s.hits`. A seed keeping more than `max_hits_per_seed` of them is dropped. With a `hit_budget`,
// the seeds go rarest (smallest bucket) first and stop before the hits would exceed it: seeds in
// repeats (hundreds of copies) would otherwise cost a scan and a sort of thousands of hits for a
// vote that the read's rarer seeds decide anyway. The first seed that keeps any hit is always used.
void PushHits(const ReferenceIndex& index, const std::vector<ReadState>& reads, size_t max_hits_per_seed,
              size_t hit_budget, SeedScratch& s) {
  if (hit_budget != SIZE_MAX)
    std::stable_sort(s.spans.begin(), s.spans.end(),
                     [](const SeedSpan& a, const SeedSpan& b) { return a.found.size() < b.found.size(); });
  for (const SeedSpan& sp : s.spans) {
    const SeedPick& pk = s.picks[sp.pick];
    s.agreeing.clear();
    for (const SeedEntry& e : sp.found) {
      const int strand = ((e.flanks & kSeedEntryReverse) != 0) != pk.reverse;
      if (!FlanksAgree(e.flanks, pk.flanks[strand])) continue;
      s.agreeing.push_back({e.position, strand});
      if (s.agreeing.size() > max_hits_per_seed) break;
    }
    if (s.agreeing.size() > max_hits_per_seed) continue;
    // Over the budget: the seeds left have larger buckets (their agreeing hits may be fewer).
    if (!s.hits.empty() && s.hits.size() + s.agreeing.size() > hit_budget) break;
    const uint32_t length = reads[pk.read].length;
    for (const auto& [p, strand] : s.agreeing) {
      const int64_t on_strand = strand ? length - CJ_SEED_K - pk.seed.position : pk.seed.position;
      const int64_t diag = static_cast<int64_t>(p) - on_strand;
      s.hits.push_back({diag * 2 + strand, static_cast<uint32_t>(index.ContigOf(p)), 1});
    }
  }
  s.spans.clear();
}

// Looks up the seed of every pick, read by read, and calls on_read_done(read) with the read's
// hits in `s.hits` (PushHits). Seeds whose bucket holds more than `max_entries` minimizers are
// not followed (repeats).
template <typename OnReadDone>
void LookUpAll(const ReferenceIndex& index, const std::vector<ReadState>& reads, size_t max_entries,
               size_t max_hits_per_seed, size_t hit_budget, SeedScratch& s, OnReadDone&& on_read_done) {
  s.spans.clear();
  s.hits.clear();
  const std::vector<SeedPick>& picks = s.picks;
  for (size_t i = 0; i < std::min(picks.size(), kAhead); ++i) index.PrefetchBucket(picks[i].seed.hash);
  for (size_t i = 0; i < picks.size(); ++i) {
    if (i + kAhead < picks.size()) index.PrefetchBucket(picks[i + kAhead].seed.hash);
    if (i + kAhead / 2 < picks.size()) index.PrefetchEntries(picks[i + kAhead / 2].seed.hash);
    const SeedPick& pk = picks[i];
    const auto found = index.Lookup(pk.seed.hash);
    if (!found.empty() && found.size() <= max_entries) s.spans.push_back({found, static_cast<uint32_t>(i)});
    if (i + 1 == picks.size() || picks[i + 1].read != pk.read) {
      PushHits(index, reads, max_hits_per_seed, hit_budget, s);
      on_read_done(pk.read);
    }
  }
}

// Whether round 1 (1a or 1b) already tried `c` for the read.
bool TriedBefore(const CandidateLists& lists, const ReadState& st, const Candidate& c) {
  for (const Round round : {kRound1a, kRound1b})
    for (uint32_t k = st.tried[round].begin; k < st.tried[round].end; ++k)
      if (SamePlace(lists.tried[k], c)) return true;
  return false;
}

// Queues the Hamming check of the read's candidates tried[range]: clean windows go to the backend
// batch, others are compared base by base here (contig ends, N in the reference).
void QueueVerify(const ReferenceIndex& index, const EncodedReads& encoded, size_t r, Range range,
                 CandidateLists& lists, VerifyQueue& queue) {
  const ReadState& st = encoded.reads[r];
  for (uint32_t k = range.begin; k < range.end; ++k) {
    const Candidate& c = lists.tried[k];
    const int64_t diag = c.diag();
    const ContigInfo& contig = index.contigs()[c.contig];
    const bool clean = diag >= static_cast<int64_t>(contig.start) &&
                       diag + st.length <= static_cast<int64_t>(contig.start + contig.length) &&
                       index.AllAcgt(static_cast<uint64_t>(diag), st.length);
    if (clean) {
      queue.jobs.push_back({static_cast<uint32_t>(2 * r + c.strand()), st.budget, static_cast<uint64_t>(diag)});
      queue.slots.push_back(k);
    } else {
      lists.mismatches[k] = ExactMismatches(index, encoded.strand_codes(r, c.strand()), st.length, diag, c.contig,
                                            st.budget);
    }
  }
}

// Best and second best over everything tried for the read (ties: smallest (key, contig)).
void UpdateBest(const CandidateLists& lists, ReadState& st) {
  st.best_mm = st.second_mm = UINT32_MAX;
  for (const Range& range : st.tried) {
    for (uint32_t k = range.begin; k < range.end; ++k) {
      const uint32_t mm = lists.mismatches[k];
      const Candidate& c = lists.tried[k];
      const bool earlier = c.key < st.best.key || (c.key == st.best.key && c.contig < st.best.contig);
      if (mm < st.best_mm || (mm == st.best_mm && earlier)) {
        st.second_mm = std::min(st.second_mm, st.best_mm);
        st.best_mm = mm;
        st.best = c;
      } else {
        st.second_mm = std::min(st.second_mm, mm);
      }
    }
  }
  if (st.best_mm <= st.accept) st.resolved = true;
}

// The Hamming check of every read's candidates of `round`, then each such read's best.
Status CheckRound(const MapContext& context, Round round, WorkerBuffer& buffer) {
  EncodedReads& encoded = buffer.encoded;
  CandidateLists& lists = buffer.candidates;
  VerifyQueue& queue = buffer.verify;
  queue.jobs.clear();
  queue.slots.clear();
  lists.mismatches.resize(lists.tried.size(), UINT32_MAX);
  for (size_t r = 0; r < encoded.reads.size(); ++r)
    QueueVerify(context.index, encoded, r, encoded.reads[r].tried[round], lists, queue);
  queue.results.resize(queue.jobs.size());
  if (!queue.jobs.empty())
    CRAMJET_RETURN_IF_ERROR(context.backend.VerifyHamming(context.index.packed(), encoded.packed(), queue.jobs.data(),
                                                          queue.jobs.size(), queue.results.data()));
  for (size_t j = 0; j < queue.jobs.size(); ++j) lists.mismatches[queue.slots[j]] = queue.results[j];
  queue.jobs.clear();
  queue.slots.clear();
  for (ReadState& st : encoded.reads)
    if (!st.tried[round].empty()) UpdateBest(lists, st);
  return Status::Ok();
}

}  // namespace

void CandidateLists::Clear() {
  tried.clear();
  mismatches.clear();
  voted.clear();
}

Status SeedRound(const MapContext& context, Round round, WorkerBuffer& buffer) {
  std::vector<ReadState>& reads = buffer.encoded.reads;
  SeedScratch& s = buffer.seeding;
  std::vector<Candidate>& tried = buffer.candidates.tried;
  CRAMJET_RETURN_IF_ERROR(SeedUnresolved(context.backend,
                                         round == kRound1a ? SeedSample::kMiddleWindow : SeedSample::kEndWindows,
                                         buffer.encoded, s));
  // A sampled seed with more agreeing hits than round 1 may try gives an arbitrary subset of a
  // repeat's copies: such reads go to the vote of round 2 instead.
  const size_t max_tried = 2 * context.options.max_candidates;
  LookUpAll(context.index, reads, context.options.max_seed_occurrences, max_tried, SIZE_MAX, s, [&](uint32_t r) {
    std::sort(s.hits.begin(), s.hits.end(), ByKey);
    s.hits.erase(std::unique(s.hits.begin(), s.hits.end(), SamePlace), s.hits.end());
    ReadState& st = reads[r];
    st.tried[round].begin = static_cast<uint32_t>(tried.size());
    for (const Candidate& h : s.hits) {
      if (tried.size() - st.tried[round].begin >= max_tried) break;
      if (round == kRound1a || !TriedBefore(buffer.candidates, st, h)) tried.push_back(h);
    }
    st.tried[round].end = static_cast<uint32_t>(tried.size());
    s.hits.clear();
  });
  return CheckRound(context, round, buffer);
}

Status VoteRound(const MapContext& context, WorkerBuffer& buffer) {
  std::vector<ReadState>& reads = buffer.encoded.reads;
  SeedScratch& s = buffer.seeding;
  CandidateLists& lists = buffer.candidates;
  CRAMJET_RETURN_IF_ERROR(SeedUnresolved(context.backend, SeedSample::kAll, buffer.encoded, s));
  const MapOptions& options = context.options;
  uint64_t voting_reads = 0;
  LookUpAll(context.index, reads, options.max_seed_occurrences, SIZE_MAX, options.max_hits_per_read, s,
            [&](uint32_t r) {
              std::sort(s.hits.begin(), s.hits.end(), ByKey);
              ReadState& st = reads[r];
              st.votes.begin = static_cast<uint32_t>(lists.voted.size());
              for (const Candidate& h : s.hits) {
                if (lists.voted.size() > st.votes.begin && SamePlace(lists.voted.back(), h)) {
                  ++lists.voted.back().votes;
                } else {
                  lists.voted.push_back(h);
                }
              }
              st.votes.end = static_cast<uint32_t>(lists.voted.size());
              std::stable_sort(lists.voted.begin() + st.votes.begin, lists.voted.end(),
                               [](const Candidate& a, const Candidate& b) { return a.votes > b.votes; });
              Range& range = st.tried[kRound2];
              range.begin = static_cast<uint32_t>(lists.tried.size());
              for (uint32_t v = st.votes.begin;
                   v < st.votes.end && lists.tried.size() - range.begin < options.max_candidates; ++v) {
                if (!TriedBefore(lists, st, lists.voted[v])) lists.tried.push_back(lists.voted[v]);
              }
              range.end = static_cast<uint32_t>(lists.tried.size());
              s.hits.clear();
              ++voting_reads;
            });
  buffer.counts.second_round += voting_reads;
  return CheckRound(context, kRound2, buffer);
}

}  // namespace cramjet::map_internal
