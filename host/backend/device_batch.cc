// Packing of Backend calls into device kernel calls and unpacking (with checks) of what a device
// returns; shared by every device runner (OpenCL, XRT, the tests' HLS C simulation). Argument
// orders follow kernels/include/kernel_shape.h.
#include <algorithm>
#include <cstring>

#include "backend/device.h"

namespace cramjet::backend_internal {

const char* DeviceKernelName(DeviceKernel kernel) {
  switch (kernel) {
    case DeviceKernel::kSeeds: return "cramjet_seeds";
    case DeviceKernel::kHamming: return "cramjet_hamming";
    case DeviceKernel::kAlign: return "cramjet_align";
    case DeviceKernel::kQc: return "cramjet_qc";
  }
  return "?";
}

namespace {

template <typename T>
DeviceArg In(const std::vector<T>& v) {
  DeviceArg a;
  a.kind = DeviceArg::Kind::kInput;
  a.data = v.data();
  a.bytes = v.size() * sizeof(T);
  return a;
}
template <typename T>
DeviceArg Out(std::vector<T>& v, bool zeroed = false) {
  DeviceArg a;
  a.kind = DeviceArg::Kind::kOutput;
  a.out = v.data();
  a.bytes = v.size() * sizeof(T);
  a.zeroed = zeroed;
  return a;
}
DeviceArg Scalar(size_t value) {
  DeviceArg a;
  a.kind = DeviceArg::Kind::kScalar;
  a.scalar = static_cast<uint32_t>(value);
  return a;
}

}  // namespace

// ---- Seeds -----------------------------------------------------------------------------------

size_t PackSeedBatch(const SeedInput& input, size_t first, const DeviceLimits& limits, SeedBatch& batch) {
  batch.codes.clear();
  batch.offsets.assign(1, 0);
  batch.slot_offsets.assign(1, 0);
  size_t i = first;
  for (; i < input.count; ++i) {
    size_t length;
    const uint8_t* codes = SeedSequence(input, i, length);
    if (i > first && batch.codes.size() + length > limits.seed_bases) break;
    batch.codes.insert(batch.codes.end(), codes, codes + length);
    batch.offsets.push_back(static_cast<uint32_t>(batch.codes.size()));
    batch.slot_offsets.push_back(batch.slot_offsets.back() + static_cast<uint32_t>(SeedKmerCount(length)));
  }
  const size_t count = i - first;
  batch.seeds.assign(size_t{CJ_SEED_WORDS} * std::max<uint32_t>(batch.slot_offsets.back(), 1), 0);
  batch.counts.assign(std::max<size_t>(count, 1), 0);
  if (batch.codes.empty()) batch.codes.push_back(CJ_BASE_N);  // no zero-size device buffers
  return i;
}

DeviceCall SeedCall(SeedBatch& batch) {
  const size_t count = batch.offsets.size() - 1;
  return {DeviceKernel::kSeeds, count,
          {In(batch.codes), In(batch.offsets), In(batch.slot_offsets), Out(batch.seeds), Out(batch.counts),
           Scalar(count)}};
}

Status UnpackSeedBatch(const SeedBatch& batch, SeedOutput& out) {
  const size_t count = batch.offsets.size() - 1;
  for (size_t s = 0; s < count; ++s) {
    const uint32_t kmers = batch.slot_offsets[s + 1] - batch.slot_offsets[s];
    const uint32_t n = batch.counts[s];
    if (n > kmers) {
      return Unavailable("the device returned " + std::to_string(n) + " seeds for a sequence of " +
                      std::to_string(kmers) + " k-mers");
    }
    const uint32_t* seed = batch.seeds.data() + size_t{CJ_SEED_WORDS} * batch.slot_offsets[s];
    int64_t last = -1;
    for (uint32_t k = 0; k < n; ++k, seed += CJ_SEED_WORDS) {
      // Minimizers come in increasing position, inside the sequence, never the invalid hash.
      if (seed[0] == CJ_SEED_INVALID || seed[1] >= kmers || static_cast<int64_t>(seed[1]) <= last)
        return Unavailable("the device returned a seed out of order or outside its sequence");
      last = seed[1];
      out.seeds.push_back({seed[0], seed[1]});
    }
    out.seed_offsets.push_back(static_cast<uint32_t>(out.seeds.size()));
  }
  return Status::Ok();
}

// ---- Hamming ---------------------------------------------------------------------------------

size_t PackVerifyBatch(const PackedSequences& reads, const VerifyJob* jobs, size_t count, size_t first,
                       const DeviceLimits& limits, VerifyBatch& batch) {
  batch.words.clear();
  batch.masks.clear();
  batch.ref_start.clear();
  batch.word_offsets.clear();
  batch.lengths.clear();
  batch.sequence.clear();
  batch.max_mismatches.clear();
  // Only the sequences the jobs use, renumbered; `renumber` is reset where it was set.
  const size_t end = std::min(count, first + std::max<size_t>(limits.verify_jobs, 1));
  for (size_t j = first; j < end; ++j) {
    const uint32_t s = jobs[j].sequence;
    if (batch.renumber.size() <= s) batch.renumber.resize(s + 1, -1);
    if (batch.renumber[s] < 0) {
      batch.renumber[s] = static_cast<int64_t>(batch.lengths.size());
      const uint32_t n = reads.lengths[s];
      const uint32_t nw = (n + CJ_BASES_PER_WORD - 1) / CJ_BASES_PER_WORD;
      batch.word_offsets.push_back(static_cast<uint32_t>(batch.words.size()));
      batch.lengths.push_back(n);
      const uint64_t* w = reads.words + reads.word_offsets[s];
      const uint64_t* m = reads.n_masks + reads.word_offsets[s];
      batch.words.insert(batch.words.end(), w, w + nw);
      batch.masks.insert(batch.masks.end(), m, m + nw);
    }
    batch.sequence.push_back(static_cast<uint32_t>(batch.renumber[s]));
    batch.max_mismatches.push_back(jobs[j].max_mismatches);
    batch.ref_start.push_back(jobs[j].ref_start);
  }
  for (size_t j = first; j < end; ++j) batch.renumber[jobs[j].sequence] = -1;
  batch.words.push_back(0);
  batch.masks.push_back(0);
  if (batch.lengths.empty()) batch.lengths.push_back(0), batch.word_offsets.push_back(0);
  batch.mismatches.assign(std::max<size_t>(end - first, 1), 0);
  batch.first = first;
  return end;
}

DeviceCall VerifyCall(const PackedReference& reference, VerifyBatch& batch) {
  DeviceArg ref;
  ref.kind = DeviceArg::Kind::kResident;
  ref.data = reference.words;
  // The device kernels read at most the word after a window's last one.
  ref.bytes = (reference.length / CJ_BASES_PER_WORD + 2) * sizeof(uint64_t);
  ref.resident_id = reference.id;
  const size_t count = batch.sequence.size();
  return {DeviceKernel::kHamming, count,
          {ref, In(batch.words), In(batch.masks), In(batch.word_offsets), In(batch.lengths), In(batch.sequence),
           In(batch.max_mismatches), In(batch.ref_start), Out(batch.mismatches), Scalar(count)}};
}

Status UnpackVerifyBatch(const VerifyBatch& batch, uint32_t* mismatches) {
  for (size_t j = 0; j < batch.sequence.size(); ++j) {
    const uint64_t limit = uint64_t{batch.max_mismatches[j]} + 1;
    const uint32_t length = batch.lengths[batch.sequence[j]];
    if (batch.mismatches[j] > limit || batch.mismatches[j] > length)
      return Unavailable("the device returned " + std::to_string(batch.mismatches[j]) + " mismatches for a read of " +
                      std::to_string(length) + " bases");
    mismatches[batch.first + j] = batch.mismatches[j];
  }
  return Status::Ok();
}

// ---- Banded alignment ------------------------------------------------------------------------

size_t PackAlignBatch(const AlignJob* jobs, size_t count, size_t first, const DeviceLimits& limits,
                      AlignBatch& batch) {
  batch.reads.clear();
  batch.windows.clear();
  batch.read_offsets.assign(1, 0);
  batch.job.clear();
  size_t j = first;
  for (; j < count; ++j) {
    const AlignJob& job = jobs[j];
    if (job.read_length == 0 || job.read_length > CJ_MAX_ALIGN_LENGTH) continue;
    const size_t traces = (batch.reads.size() + job.read_length) * CJ_BAND_WIDTH;
    if (!batch.job.empty() && traces > limits.align_trace_bytes) break;
    batch.reads.insert(batch.reads.end(), job.read, job.read + job.read_length);
    batch.windows.insert(batch.windows.end(), job.window, job.window + job.read_length + 2 * CJ_BAND_RADIUS);
    batch.read_offsets.push_back(static_cast<uint32_t>(batch.reads.size()));
    batch.job.push_back(static_cast<uint32_t>(j));
  }
  batch.traces.assign(std::max<size_t>(batch.reads.size() * CJ_BAND_WIDTH, 1), 0);
  batch.results.assign(size_t{CJ_ALIGN_RESULT_WORDS} * std::max<size_t>(batch.job.size(), 1), 0);
  if (batch.reads.empty()) batch.reads.push_back(0), batch.windows.push_back(CJ_REF_OUTSIDE);
  return j;
}

DeviceCall AlignCall(AlignBatch& batch) {
  const size_t count = batch.job.size();
  return {DeviceKernel::kAlign, count,
          {In(batch.reads), In(batch.read_offsets), In(batch.windows), Out(batch.traces), Out(batch.results),
           Scalar(count)}};
}

Status UnpackAlignBatch(const AlignBatch& batch, AlignOutput& out) {
  for (size_t k = 0; k < batch.job.size(); ++k) {
    const int rows = static_cast<int>(batch.read_offsets[k + 1] - batch.read_offsets[k]);
    const int32_t* r = batch.results.data() + size_t{CJ_ALIGN_RESULT_WORDS} * k;
    AlignResult& result = out.results[batch.job[k]];
    if (!TraceBack(batch.traces.data() + size_t{batch.read_offsets[k]} * CJ_BAND_WIDTH, 1, 0, rows, r[1], r[2], r[0],
                   result, out.cigar))
      return Unavailable("the device returned an alignment whose trace leaves the band");
  }
  return Status::Ok();
}

Status UnpackAlignScores(const AlignBatch& batch, int32_t* scores) {
  for (size_t k = 0; k < batch.job.size(); ++k) {
    const int rows = static_cast<int>(batch.read_offsets[k + 1] - batch.read_offsets[k]);
    const int32_t* r = batch.results.data() + size_t{CJ_ALIGN_RESULT_WORDS} * k;
    if (r[1] < 0 || r[1] >= rows || r[2] < 0 || r[2] >= CJ_BAND_WIDTH)
      return Unavailable("the device returned an alignment whose best cell lies outside the band");
    scores[batch.job[k]] = std::max(r[0], 0);  // as TraceBack: nothing aligned scores 0
  }
  return Status::Ok();
}

// ---- QC --------------------------------------------------------------------------------------

size_t PackQcBatch(const QcBatchInput& input, size_t first, const DeviceLimits& limits, QcBatch& batch) {
  batch.codes.clear();
  batch.quals.clear();
  batch.offsets.assign(1, 0);
  batch.slots.clear();
  size_t r = first;
  for (; r < input.count; ++r) {
    const uint32_t begin = input.offsets[r], length = input.offsets[r + 1] - begin;
    if (r > first && batch.codes.size() + length > limits.qc_bases) break;
    batch.codes.insert(batch.codes.end(), input.codes + begin, input.codes + begin + length);
    batch.quals.insert(batch.quals.end(), input.quals + begin, input.quals + begin + length);
    batch.offsets.push_back(static_cast<uint32_t>(batch.codes.size()));
    batch.slots.push_back(input.slots[r]);
  }
  batch.first = first;
  batch.slot_count = input.slot_count;
  const size_t count = r - first;
  batch.summaries.assign(size_t{CJ_QC_SUMMARY_WORDS} * std::max<size_t>(count, 1), 0);
  batch.cycle_quality.assign(size_t{CJ_QC_MAX_CYCLES} * std::max<uint32_t>(input.slot_count, 1), 0);
  batch.cycle_codes.assign(size_t{CJ_QC_NUM_CODES} * CJ_QC_MAX_CYCLES * std::max<uint32_t>(input.slot_count, 1), 0);
  if (batch.codes.empty()) batch.codes.push_back(0), batch.quals.push_back(0);
  if (batch.slots.empty()) batch.slots.push_back(0);
  return r;
}

DeviceCall QcCall(QcBatch& batch) {
  const size_t count = batch.offsets.size() - 1;
  return {DeviceKernel::kQc, count,
          {In(batch.codes), In(batch.quals), In(batch.offsets), In(batch.slots), Out(batch.summaries),
           Out(batch.cycle_quality, true), Out(batch.cycle_codes, true), Scalar(count), Scalar(batch.slot_count)}};
}

Status UnpackQcBatch(const QcBatch& batch, QcBatchOutput& out) {
  const size_t count = batch.offsets.size() - 1;
  for (size_t r = 0; r < count; ++r) {
    const uint32_t* s = batch.summaries.data() + size_t{CJ_QC_SUMMARY_WORDS} * r;
    const uint32_t length = batch.offsets[r + 1] - batch.offsets[r];
    uint32_t bases = 0;
    for (int c = 0; c < CJ_QC_NUM_CODES; ++c) bases += s[3 + c];
    if (bases != length || s[0] > length || s[1] > s[0])
      return Unavailable("the device returned a QC summary that does not add up to its read");
    std::memcpy(out.summaries.data() + size_t{CJ_QC_SUMMARY_WORDS} * (batch.first + r), s,
                sizeof(uint32_t) * CJ_QC_SUMMARY_WORDS);
  }
  for (size_t i = 0; i < out.cycle_quality.size(); ++i) out.cycle_quality[i] += batch.cycle_quality[i];
  for (size_t i = 0; i < out.cycle_codes.size(); ++i) out.cycle_codes[i] += batch.cycle_codes[i];
  return Status::Ok();
}

}  // namespace cramjet::backend_internal
