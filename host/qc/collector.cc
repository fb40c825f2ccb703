// QcCollector: the collection. Every record goes through two passes into the accumulators
// (accumulators_internal.h), and Finish() turns them into the typed figures (QcMetrics) that
// every output is rendered from (document.cc, report.cc, html.cc).
//
// The worker pass (ShardAdd: per-base sums, hashes, mismatches, the bulk of the cost) runs on any
// worker into its own QcShard; the in-order pass (OrderedAdd: mate join, duplication,
// overrepresented sequences, coverage, sortedness, counters) sees the records in output order,
// one batch at a time, on whichever worker finds it free: what it counts depends on order
// (sampling caps, first-seen tables). Add() only copies the record into a batch; the batches go
// through common/ordered_batches.h (the queue compress's passes use), at most 2 * workers + 2
// submitted at once, so memory stays bounded. Without workers (one core) both passes run inline
// in Add().
// Length: ~570 lines: the collector's two passes, its workers and Finish() share the shards and
// the order state; the sums themselves are in accumulators.cc, the figures in figures.cc.
#include <algorithm>
#include <cmath>
#include <limits>
#include <optional>
#include <string_view>
#include <thread>
#include <unordered_map>

#include <nlohmann/json.hpp>

#include "common/ordered_batches.h"
#include "cramjet/version.h"
#include "qc/accumulators_internal.h"
#include "qc/qc.h"

namespace cramjet {
namespace {

using namespace qc_internal;  // NOLINT: the accumulators are this file's vocabulary

double NaN() { return std::numeric_limits<double>::quiet_NaN(); }

// The per-read metrics that add up in any order: per read group (by RG value) and mate, the
// per-cycle and per-read sums of MateAcc. Each worker has its own and sees any records; Finish()
// merges them into the read groups. The sums are exact integers, so the figures do not depend on
// how the records were split among workers (tested).
struct QcShard {
  std::unordered_map<std::string, std::array<MateAcc, 3>> groups;  // nodes: references stay valid
  std::string last_rg;
  std::array<MateAcc, 3>* last = nullptr;
  std::vector<uint8_t> codes, quals;  // one read in sequencing direction
  // A worker batch for a device backend's QC kernel: its reads in sequencing direction, each with
  // the accumulator slot (a MateAcc of this shard) its per-cycle columns go to.
  std::vector<uint8_t> batch_codes, batch_quals;
  std::vector<uint32_t> batch_offsets, batch_slots;
  std::vector<uint8_t> batch_has_quality;
  std::vector<MateAcc*> slot_mates;
  std::vector<int64_t> batch_read;  // record i of the batch -> its read in the device batch, or -1
  QcBatchOutput device_out;
  Status device_error;  // the first failure of the device's QC kernel on this worker
  int ref_tid = -2;
  ReferenceCodes::Contig ref;

  std::array<MateAcc, 3>& MatesFor(std::string_view rg) {
    if (last && last_rg == rg) return *last;
    last_rg.assign(rg);
    last = &groups[last_rg];
    return *last;
  }
  // The reference codes of contig `tid` (null: none), kept while this worker stays on it.
  const std::vector<uint8_t>* Reference(int tid, ReferenceCodes& reference) {
    if (ref_tid != tid) {
      ref = reference.Get(tid);
      ref_tid = tid;
    }
    return ref.get();
  }
};

// What a worker's pass over a record hands to the in-order pass.
struct RecordDigest {
  uint64_t hash = 0;         // the read's bases (sequencing direction, seeded by mate)
  uint64_t prefix_hash = 0;  // its first kOverrepresentedPrefix bases
};

// A worker batch: copies of the records, and what the worker pass found for each.
constexpr size_t kBatchRecords = 2048;
struct QcBatch {
  std::vector<BamPtr> records;
  std::vector<RecordDigest> digests;
  size_t size = 0;
};

// A read ShardBatch already decoded and sent through the backend's QC kernel: its codes and
// qualities in the batch's arrays and its per-base summary (the per-cycle columns are added by
// ShardBatch).
struct DeviceRead {
  const uint8_t* codes;
  const uint8_t* quals;
  bool has_quality;
  const uint32_t* summary;
};

}  // namespace

struct QcCollector::Impl {
  QcOptions options;
  QcThresholds thresholds;
  const sam_hdr_t* header = nullptr;
  bool header_has_contigs = false;

  // ---- What the in-order pass counts (sample level, and per read group) ----
  std::vector<GroupAcc> groups;
  std::unordered_map<std::string, size_t> group_index;
  std::string last_rg;
  size_t last_group = 0;
  SamtoolsCounters counters;
  std::vector<uint64_t> insert_hist = std::vector<uint64_t>(kMaxInsert + 1, 0);
  // Duplication: hash sampling keeps every copy of a sequence or none, so the sampled rate is an
  // unbiased estimate while memory stays bounded (docs/qc.md). The sample's table is allocated
  // whole (6 MB) so that lookups never wait for a rehash.
  DupSampler dup = DupSampler(kDuplicationSampleCap, 2 * kDuplicationSampleCap);
  MateJoiner joiner;
  OverrepresentedCounter overrep;
  CoverageBins coverage;  // reference bases covered by aligned read bases, in bins
  // Per-read-group duplication, overrepresented sequences, insert size and coverage: off while the
  // input has one read group (its figures are the sample's), on from the second one's first read.
  bool per_group = false;

  // Reference for mismatch-per-cycle, loaded contig by contig when placed reads arrive.
  ReferenceCodes reference;

  bool finished = false;
  QcMetrics metrics;

  // ---- The collection ----
  std::vector<QcShard> shards;  // one per worker; one for the inline passes
  std::unique_ptr<OrderedBatchQueue<QcBatch>> queue;  // null: no workers, both passes inline
  std::vector<std::thread> workers;
  std::optional<QcBatch> filling;  // the batch Add() copies records into
  bool copy_failed = false;
  const Backend* device = nullptr;  // QcOptions::backend when it is a device backend

  ~Impl() { StopWorkers(/*drain=*/false); }

  void StartWorkers(int n) {
    shards.resize(size_t(n));
    // 2 * n + 2 batches submitted at most, and the one being filled.
    queue = std::make_unique<OrderedBatchQueue<QcBatch>>(2 * size_t(n) + 3, /*transform=*/true);
    for (int i = 0; i < n; ++i) workers.emplace_back([this, i] { WorkerLoop(shards[size_t(i)]); });
  }
  void WorkerLoop(QcShard& shard) {
    while (auto item = queue->NextToTransform()) {
      ShardBatch(item->batch, shard);
      queue->Transformed(std::move(*item));
      // The in-order pass over every batch ready at the front, unless another worker is on it
      // (it then takes this batch when its turn comes).
      while (auto next = queue->TryNextInOrder()) {
        OrderedPass(next->batch);
        next->batch.size = 0;
        queue->Consumed(std::move(next->batch));
      }
    }
  }
  void OrderedPass(const QcBatch& batch) {
    constexpr size_t kAhead = 8;  // table slots start loading this many records ahead
    for (size_t i = 0; i < batch.size; ++i) {
      if (i + kAhead < batch.size) overrep.Prefetch(batch.digests[i + kAhead].prefix_hash);
      OrderedAdd(batch.records[i].get(), batch.digests[i]);
    }
  }
  void Enqueue(const bam1_t* record) {
    if (!filling) filling = queue->Acquire();
    if (!filling) {  // stopped: cannot happen while the caller adds
      copy_failed = true;
      return;
    }
    QcBatch& batch = *filling;
    if (batch.records.size() <= batch.size) {
      batch.records.push_back(NewBam());
      batch.digests.emplace_back();
    }
    if (!bam_copy1(batch.records[batch.size].get(), record)) {
      copy_failed = true;  // out of memory: Finish() reports it rather than QC silently missing reads
      return;
    }
    if (++batch.size == kBatchRecords) Submit();
  }
  void Submit() {
    if (filling && filling->size > 0) queue->Submit(std::move(*filling));
    filling.reset();
  }
  // `drain`: every record added goes through both passes first; otherwise the workers stop now.
  void StopWorkers(bool drain) {
    if (workers.empty()) return;
    if (drain) {
      Submit();
      queue->EndOfInput();
    } else {
      queue->Stop();
    }
    for (auto& w : workers) w.join();
    workers.clear();
  }
  // The workers' sums into their read groups (every RG value a worker saw has its group: the
  // in-order pass made it).
  void MergeShards() {
    for (QcShard& shard : shards) {
      for (auto& [rg, mates] : shard.groups) {
        auto it = group_index.find(rg);
        if (it == group_index.end()) continue;
        for (size_t k = 0; k < 3; ++k) groups[it->second].mates[k].MergeFrom(mates[k]);
      }
      shard.groups.clear();
      shard.last = nullptr;
    }
  }

  void Add(const bam1_t* b) {
    RecordDigest digest;
    ShardAdd(b, shards[0], &digest);
    OrderedAdd(b, digest);
  }
  // The worker pass of a batch (on a device backend, its per-base sums in one device call).
  void ShardBatch(QcBatch& batch, QcShard& shard);
  // The worker pass of one record. `device` null: the record is decoded and QC's own kernel runs here.
  void ShardAdd(const bam1_t* b, QcShard& shard, RecordDigest* digest, const DeviceRead* device = nullptr);
  // The in-order pass of one record.
  void OrderedAdd(const bam1_t* b, const RecordDigest& digest);
  size_t GroupFor(const bam1_t* b);
  void StartPerGroupMetrics();
  // A fragment whose last read is in read group `group` (a pair split across read groups counts
  // in its second read's group).
  void CountFragment(uint64_t h, size_t group) {
    dup.Add(h);
    if (per_group) groups[group].dup.Add(h);
  }
  void BuildMetrics();
};

void QcCollector::Impl::ShardBatch(QcBatch& batch, QcShard& shard) {
  if (!device) {
    for (size_t i = 0; i < batch.size; ++i) ShardAdd(batch.records[i].get(), shard, &batch.digests[i]);
    return;
  }
  // The per-base accumulation of the whole batch in one device call: the reads decoded once here,
  // their codes and summaries handed to ShardAdd, the per-cycle columns added to each slot's block afterwards
  // (ShardAdd has grown every slot to its reads' cycles by then).
  shard.batch_codes.clear();
  shard.batch_quals.clear();
  shard.batch_offsets.assign(1, 0);
  shard.batch_slots.clear();
  shard.batch_has_quality.clear();
  shard.slot_mates.clear();
  shard.batch_read.assign(batch.size, -1);
  for (size_t i = 0; i < batch.size; ++i) {
    const bam1_t* b = batch.records[i].get();
    const size_t len = size_t(b->core.l_qseq);
    if ((b->core.flag & (BAM_FSECONDARY | BAM_FSUPPLEMENTARY)) || len == 0) continue;
    MateAcc* m = &shard.MatesFor(ReadGroupOf(b))[MateOf(b->core.flag)];
    size_t slot = 0;
    while (slot < shard.slot_mates.size() && shard.slot_mates[slot] != m) ++slot;
    if (slot == shard.slot_mates.size()) shard.slot_mates.push_back(m);
    shard.batch_has_quality.push_back(DecodeRead(b, shard.codes, shard.quals));
    shard.batch_codes.insert(shard.batch_codes.end(), shard.codes.begin(), shard.codes.begin() + len);
    shard.batch_quals.insert(shard.batch_quals.end(), shard.quals.begin(), shard.quals.begin() + len);
    shard.batch_offsets.push_back(static_cast<uint32_t>(shard.batch_codes.size()));
    shard.batch_read[i] = static_cast<int64_t>(shard.batch_slots.size());
    shard.batch_slots.push_back(static_cast<uint32_t>(slot));
  }
  const QcBatchInput input{shard.batch_codes.data(), shard.batch_quals.data(), shard.batch_offsets.data(),
                           shard.batch_slots.data(), shard.batch_slots.size(),
                           static_cast<uint32_t>(shard.slot_mates.size())};
  const Status status = input.count ? device->AccumulateQc(input, shard.device_out) : Status::Ok();
  if (!status.ok()) {
    // The figures stay right (QC's own kernel takes the batch); the job fails at Finish().
    if (shard.device_error.ok()) shard.device_error = status.WithContext("QC");
    for (size_t i = 0; i < batch.size; ++i) ShardAdd(batch.records[i].get(), shard, &batch.digests[i]);
    return;
  }
  for (size_t i = 0; i < batch.size; ++i) {
    const int64_t r = shard.batch_read[i];
    if (r < 0) {
      ShardAdd(batch.records[i].get(), shard, &batch.digests[i]);
      continue;
    }
    const size_t at = shard.batch_offsets[size_t(r)];
    const DeviceRead read{shard.batch_codes.data() + at, shard.batch_quals.data() + at, shard.batch_has_quality[size_t(r)] != 0,
                          shard.device_out.summaries.data() + size_t{CJ_QC_SUMMARY_WORDS} * size_t(r)};
    ShardAdd(batch.records[i].get(), shard, &batch.digests[i], &read);
  }
  for (size_t slot = 0; slot < shard.slot_mates.size(); ++slot)
    shard.slot_mates[slot]->AddDeviceColumns(
        shard.device_out.cycle_quality.data() + slot * CJ_QC_MAX_CYCLES,
        shard.device_out.cycle_codes.data() + slot * CJ_QC_NUM_CODES * CJ_QC_MAX_CYCLES);
}

void QcCollector::Impl::ShardAdd(const bam1_t* b, QcShard& shard, RecordDigest* digest, const DeviceRead* device) {
  const uint16_t flag = b->core.flag;
  if (flag & (BAM_FSECONDARY | BAM_FSUPPLEMENTARY)) return;  // counted in the in-order pass
  const size_t len = size_t(b->core.l_qseq);
  const QcMate mate = MateOf(flag);
  const bool reverse = flag & BAM_FREVERSE;
  MateAcc& m = shard.MatesFor(ReadGroupOf(b))[mate];
  m.AddLength(len);
  if (len > 0) {
    const bool has_quality = device ? device->has_quality : DecodeRead(b, shard.codes, shard.quals);
    const uint8_t* codes = device ? device->codes : shard.codes.data();
    const uint8_t* quals = device ? device->quals : shard.quals.data();
    digest->hash = HashCodes(codes, len, mate);
    const size_t prefix = std::min(len, kOverrepresentedPrefix);
    digest->prefix_hash = prefix == len ? digest->hash : HashCodes(codes, prefix, mate);
    m.AddBases(codes, quals, len, has_quality, reverse, device ? device->summary : nullptr);
  }
  if (!(flag & BAM_FUNMAP)) m.AddAlignment(b, shard.Reference(b->core.tid, reference), len, reverse);
}

void QcCollector::Impl::OrderedAdd(const bam1_t* b, const RecordDigest& digest) {
  if (!counters.AddRecord(b)) return;  // secondary or supplementary: counted, nothing else
  const uint16_t flag = b->core.flag;
  const size_t len = size_t(b->core.l_qseq);
  const size_t group = GroupFor(b);
  GroupAcc& g = groups[group];
  if (len > 0) {
    const uint64_t h = digest.hash, ph = digest.prefix_hash;
    if (per_group) g.overrep.Prefetch(ph);
    const QcMate mate = MateOf(flag);
    uint64_t fragment = h;
    if (mate == kQcSingle || joiner.Join(bam_get_qname(b), mate, h, group, &fragment)) CountFragment(fragment, group);
    // A read group counts the prefixes the sample's table tracks, so its sequences are there.
    if (overrep.Count(ph, b, std::min(len, kOverrepresentedPrefix)) && per_group) g.overrep.CountGrowing(ph);
  }
  if (flag & BAM_FUNMAP) return;
  if (const int bin = InsertSizeBin(b); bin >= 0) {
    ++insert_hist[size_t(bin)];
    if (per_group) {
      if (g.insert_hist.empty()) g.insert_hist.assign(kMaxInsert + 1, 0);
      ++g.insert_hist[size_t(bin)];
    }
  }
  coverage.AddRecord(b);
  if (per_group) g.coverage.AddRecord(b);
}

size_t QcCollector::Impl::GroupFor(const bam1_t* b) {
  const std::string_view name = ReadGroupOf(b);
  if (!groups.empty() && last_rg == name) return last_group;
  last_rg = name;
  auto it = group_index.find(last_rg);
  if (it == group_index.end()) {
    GroupAcc g;
    g.id = last_rg.empty() ? std::string("(no read group)") : last_rg;
    if (header && !last_rg.empty()) {
      kstring_t ks = KS_INITIALIZE;
      if (sam_hdr_find_tag_id(const_cast<sam_hdr_t*>(header), "RG", "ID", last_rg.c_str(), "SM", &ks) == 0)
        g.sample = ks.s;
      ks_free(&ks);
    }
    groups.push_back(std::move(g));
    it = group_index.emplace(last_rg, groups.size() - 1).first;
    if (groups.size() == 2) StartPerGroupMetrics();
  }
  last_group = it->second;
  return last_group;
}

void QcCollector::Impl::StartPerGroupMetrics() {
  // Everything counted so far belongs to the first read group.
  GroupAcc& first = groups[0];
  first.dup = dup.Compacted(kGroupTableSlots);
  first.overrep = overrep.counts().Compacted(kGroupTableSlots);
  first.insert_hist = insert_hist;
  first.coverage = coverage;
  per_group = true;
}

void QcCollector::Impl::BuildMetrics() {
  // Mates whose partner never came count as single fragments.
  joiner.DrainUnjoined([&](uint64_t h, size_t group) { CountFragment(h, group); });

  QcMetrics& q = metrics;
  q = QcMetrics();
  // Sample-level accumulators: merge of every read group, mates kept apart, plus "all".
  std::array<MateAcc, 3> sample_mates;
  MateAcc all;
  for (GroupAcc& g : groups) {
    QcReadGroupMetrics gm;
    gm.id = g.id;
    gm.sample = g.sample;
    for (size_t k = 0; k < 3; ++k) {
      if (g.mates[k].reads == 0) continue;
      gm.mates[k] = MateMetrics(g.mates[k], nullptr);
      sample_mates[k].MergeFrom(g.mates[k]);
    }
    // With one read group its figures are the sample's (counted once, in the sample's tables).
    gm.duplication = DuplicationMetrics(per_group ? g.dup : dup);
    gm.overrepresented = OverrepresentedMetrics(*(per_group ? &g.overrep : &overrep.counts()), overrep.sequences(),
                                                g.reads(), nullptr);
    gm.insert_size = InsertSizeMetrics(per_group ? g.insert_hist : insert_hist);
    gm.coverage = CoverageMetrics(per_group ? g.coverage : coverage, header, false);
    q.read_groups.push_back(std::move(gm));
  }
  MateFigures worst;
  for (size_t k = 0; k < 3; ++k) {
    if (sample_mates[k].reads == 0) continue;
    MateFigures f;
    q.mates[k] = MateMetrics(sample_mates[k], &f);
    auto lower = [](double& a, double b) { if (!std::isnan(b) && (std::isnan(a) || b < a)) a = b; };
    auto higher = [](double& a, double b) { if (!std::isnan(b) && (std::isnan(a) || b > a)) a = b; };
    lower(worst.min_lower_quartile, f.min_lower_quartile);
    lower(worst.min_median, f.min_median);
    higher(worst.max_n_percent, f.max_n_percent);
    all.MergeFrom(sample_mates[k]);
  }
  q.all = MateMetrics(all, nullptr);

  double top_over = NaN();
  q.duplication = DuplicationMetrics(dup);
  q.overrepresented = OverrepresentedMetrics(overrep.counts(), overrep.sequences(), counters.reads, &top_over);
  q.insert_size = InsertSizeMetrics(insert_hist);
  q.coverage = CoverageMetrics(coverage, header, true);
  const double dup_percent = q.duplication.percent;

  // Metrics with verdicts.
  const uint64_t placed_reads = all.placed;
  const bool placement_expected = header_has_contigs;
  std::unordered_map<std::string, double> values = {
      {"q30_percent", all.bases ? Percent(double(all.q30), double(all.bases)) : NaN()},
      {"per_cycle_quality_lower_quartile", worst.min_lower_quartile},
      {"per_cycle_quality_median", worst.min_median},
      {"per_cycle_n_percent", worst.max_n_percent},
      {"gc_deviation_percent", GcDeviationPercent(all.GcHistogram())},
      {"adapter_percent", all.reads ? std::max(Percent(double(all.adapter_reads[0]), double(all.reads)),
                                               Percent(double(all.adapter_reads[1]), double(all.reads)))
                                    : NaN()},
      {"duplication_percent", dup_percent},
      {"overrepresented_percent", top_over},
      {"placed_percent", placement_expected && all.reads ? Percent(double(placed_reads), double(all.reads)) : NaN()},
      {"mismatch_percent", all.aligned_bases ? Percent(double(all.mismatches), double(all.aligned_bases)) : NaN()},
  };
  QcVerdict overall = QcVerdict::kPass;
  for (const auto& t : thresholds.items) {
    const double v = values.count(t.key) ? values[t.key] : NaN();
    const QcVerdict verdict = JudgeQcValue(t, v);
    if (verdict == QcVerdict::kFail) overall = QcVerdict::kFail;
    else if (verdict == QcVerdict::kWarn && overall == QcVerdict::kPass) overall = QcVerdict::kWarn;
    q.checks.push_back({t.key, t.description, v, t.warn, t.fail, t.higher_is_better, verdict});
  }
  // An input with no reads is not a good run, whatever the (empty) metrics say.
  const uint64_t total_reads = counters.reads, total_bases = counters.bases;
  if (total_reads == 0) {
    overall = QcVerdict::kFail;
    q.verdict_reason = "no reads";
  }
  q.cramjet_version = Version();
  q.sample = options.sample;
  q.input = options.input_description;
  q.reference = options.reference;
  q.kernel_target = QcKernelTargetName();
  q.verdict = overall;

  QcSummary& s = q.summary;
  s.reads = total_reads;
  s.bases = total_bases;
  s.q20_percent = q.all.q20_percent;
  s.q30_percent = q.all.q30_percent;
  s.gc_percent = q.all.gc_percent;
  s.n_percent = q.all.n_percent;
  s.mean_quality = q.all.mean_quality;
  s.mean_length = q.all.mean_length;
  s.n50_length = q.all.n50_length;
  s.identity_mean_percent = q.all.identity.mean_percent;
  s.duplication_percent = dup_percent;
  s.adapter_percent = {q.all.adapter[0].percent, q.all.adapter[1].percent};
  s.placed_reads = placed_reads;
  s.placed_percent = Percent(double(placed_reads), double(total_reads));
  s.mismatch_percent = values["mismatch_percent"];
  s.mean_depth = q.coverage.mean_depth;
  s.mean_depth_contigs_with_reads = q.coverage.mean_depth_contigs_with_reads;

  QcSamtoolsCounts& st = q.samtools_stats;
  const SamtoolsCounters& c = counters;
  st.raw_total_sequences = total_reads;
  st.sequences = total_reads;
  st.is_sorted = c.sorted;
  st.first_fragments = sample_mates[kQcSingle].reads + sample_mates[kQcRead1].reads;
  st.last_fragments = sample_mates[kQcRead2].reads;
  st.reads_mapped = placed_reads;
  st.reads_mapped_and_paired = c.mapped_and_paired;
  st.reads_unmapped = total_reads - placed_reads;
  st.reads_properly_paired = c.properly_paired;
  st.reads_paired = c.paired;
  st.reads_duplicated = c.duplicates_flagged;
  st.reads_mq0 = c.mapq0;
  st.reads_qc_failed = c.qc_failed;
  st.non_primary_alignments = c.secondary;
  st.supplementary_alignments = c.supplementary;
  st.total_length = total_bases;
  st.total_first_fragment_length = sample_mates[kQcSingle].bases + sample_mates[kQcRead1].bases;
  st.total_last_fragment_length = sample_mates[kQcRead2].bases;
  st.bases_mapped = c.bases_mapped;
  st.bases_mapped_cigar = c.bases_mapped_cigar;
  st.bases_duplicated = c.duplicate_bases;
  st.mismatches_nm = c.nm_mismatches;
  st.quality_sum = all.quality_sum;
  st.inward_pairs = c.inward;
  st.outward_pairs = c.outward;
  st.other_orientation_pairs = c.other_orientation;
  st.pairs_on_different_chromosomes = c.pairs_other_chromosome / 2;
}

// ---- QcCollector ------------------------------------------------------------------------------

QcCollector::QcCollector(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
QcCollector::~QcCollector() = default;

StatusOr<std::unique_ptr<QcCollector>> QcCollector::Create(const QcOptions& options,
                                                         const sam_hdr_t* header) {
  auto impl = std::make_unique<Impl>();
  CRAMJET_ASSIGN_OR_RETURN(impl->thresholds, LoadQcThresholds(options.config_path));
  if (!options.reference.empty()) CRAMJET_RETURN_IF_ERROR(CheckReadableFile(options.reference));
  impl->options = options;
  impl->header = header;
  impl->header_has_contigs = header && sam_hdr_nref(header) > 0;
  if (impl->options.sample.empty() && header) {
    kstring_t ks = KS_INITIALIZE;
    if (sam_hdr_find_tag_pos(const_cast<sam_hdr_t*>(header), "RG", 0, "SM", &ks) == 0) impl->options.sample = ks.s;
    ks_free(&ks);
  }
  if (impl->options.sample.empty()) impl->options.sample = "sample";
  impl->reference.Configure(impl->options.reference, header);
  // A device backend takes the per-base accumulation of each worker batch (docs/accelerators.md).
  if (options.backend && (options.backend->kind() == AccelKind::kOpenCL || options.backend->kind() == AccelKind::kXrt))
    impl->device = options.backend;
  // Workers run QC beside the caller; on one core the work is done inline.
  if (std::thread::hardware_concurrency() > 1) impl->StartWorkers(std::max(1, options.threads));
  else impl->shards.resize(1);
  return std::unique_ptr<QcCollector>(new QcCollector(std::move(impl)));
}

void QcCollector::Add(const bam1_t* record) {
  if (impl_->queue) impl_->Enqueue(record);
  else impl_->Add(record);
}

Status QcCollector::Finish() {
  if (impl_->finished) return FailedPrecondition("QC: Finish() called twice");
  impl_->StopWorkers(/*drain=*/true);
  if (impl_->copy_failed) return Internal("QC: out of memory copying records for the QC workers");
  if (impl_->queue && impl_->queue->consumed() != impl_->queue->submitted())
    return Internal("QC: a batch of records missed the in-order pass");
  for (const QcShard& shard : impl_->shards)
    if (!shard.device_error.ok()) return shard.device_error;
  impl_->MergeShards();
  impl_->BuildMetrics();
  impl_->finished = true;
  return Status::Ok();
}

const QcMetrics& QcCollector::Metrics() const { return impl_->metrics; }
nlohmann::json QcCollector::Document() const { return QcMetricsJson(impl_->metrics); }
uint64_t QcCollector::reads() const { return impl_->metrics.summary.reads; }
uint64_t QcCollector::bases() const { return impl_->metrics.summary.bases; }
QcVerdict QcCollector::overall_verdict() const { return impl_->metrics.verdict; }

Status QcCollector::WriteOutputs(const std::string& prefix) {
  if (!impl_->finished) return FailedPrecondition("QC: WriteOutputs() before Finish()");
  const QcMetrics& qc = impl_->metrics;
  const auto paths = QcOutputPaths(prefix);
  const std::string contents[5] = {RenderQcJson(qc), RenderQcHtml(qc), RenderSamtoolsStats(qc),
                                   RenderFastpJson(qc), RenderMultiqcCustom(qc)};
  for (size_t i = 0; i < paths.size(); ++i) CRAMJET_RETURN_IF_ERROR(WriteFileAtomically(paths[i], contents[i]));
  return Status::Ok();
}

}  // namespace cramjet
