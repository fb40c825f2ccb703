// Step 1 of the short-read path, encode reads: each mappable record's bases as codes of both
// strands (what seeding, the flank check and the alignment read) and as 2-bit words with N masks
// (what the Hamming kernels read).
#include <algorithm>
#include <cstring>

#include "common/common.h"
#include "kernel_shape.h"
#include "map/map_steps.h"

namespace cramjet::map_internal {
namespace {

// Base-code tables (kNt16ToCode, kCodeComplement): common/common.h.
// A BAM sequence byte (two 4-bit codes, first base high) -> the two base codes, first in byte 0
// (`pair`), and their complements in reverse order, second base's in byte 0 (`reverse_complement`).
struct BamByteToCodes {
  uint8_t pair[256][2];
  uint8_t reverse_complement[256][2];
  constexpr BamByteToCodes() : pair{}, reverse_complement{} {
    for (int b = 0; b < 256; ++b) {
      pair[b][0] = kNt16ToCode[b >> 4];
      pair[b][1] = kNt16ToCode[b & 15];
      reverse_complement[b][0] = kCodeComplement[pair[b][1]];
      reverse_complement[b][1] = kCodeComplement[pair[b][0]];
    }
  }
};
constexpr BamByteToCodes kBamByteToCodes;

// Writes the codes of record `b` (n bases) at `out`: forward, then its reverse complement from
// the same bytes (2n codes).
void AppendCodes(const bam1_t* b, uint32_t n, uint8_t* out) {
  const uint8_t* seq = bam_get_seq(b);
  // Two bases per BAM byte, through a table of byte -> two codes.
  for (uint32_t j = 0; j + 1 < n; j += 2) std::memcpy(out + j, &kBamByteToCodes.pair[seq[j >> 1]], 2);
  if (n & 1) out[n - 1] = kNt16ToCode[bam_seqi(seq, n - 1)];
  // Byte b holds bases 2b and 2b + 1, which land at n - 1 - 2b and n - 2 - 2b of the reverse.
  uint8_t* reverse = out + n;
  for (uint32_t j = 0; j + 1 < n; j += 2)
    std::memcpy(reverse + n - 2 - j, &kBamByteToCodes.reverse_complement[seq[j >> 1]], 2);
  if (n & 1) reverse[0] = kCodeComplement[out[n - 1]];
}

// Appends n codes (with 8 readable bytes after them) as 2-bit words and N masks.
void AppendWords(const uint8_t* c, uint32_t n, EncodedReads& out) {
  const size_t w0 = out.words.size();
  // 8 codes at a time: gather the 2-bit values (and the N flags) of 8 bytes into 16 bits.
  for (uint32_t j0 = 0; j0 < n; j0 += 32) {
    uint64_t word = 0, mask = 0;
    const uint32_t end = std::min(n, j0 + 32);
    for (uint32_t j = j0; j < end; j += 8) {
      uint64_t eight;
      std::memcpy(&eight, c + j, 8);
      if (end - j < 8) eight &= (uint64_t{1} << (8 * (end - j))) - 1;
      const uint64_t shift = 2 * (j - j0);
      word |= Gather2Bits(eight & 0x0303030303030303ull) << shift;
      mask |= Gather2Bits((eight >> 2) & 0x0101010101010101ull) << shift;
    }
    out.words.push_back(word & ~(mask * 3));
    out.n_masks.push_back(mask);
  }
  out.word_offsets.push_back(static_cast<uint32_t>(w0));
  out.lengths.push_back(n);
}

}  // namespace

void EncodeReads(const ReadBatch& batch, const MapOptions& options, EncodedReads& out) {
  out.reads.clear();
  out.read_of.assign(batch.size, -1);
  out.codes.clear();
  out.code_offsets.assign(1, 0);
  out.words.clear();
  out.n_masks.clear();
  out.word_offsets.clear();
  out.lengths.clear();
  size_t total_bases = 0;
  for (size_t i = 0; i < batch.size; ++i) total_bases += Mappable(batch[i]) ? batch[i]->core.l_qseq : 0;
  out.codes.reserve(2 * total_bases + 8);
  out.words.reserve(total_bases / 16 + 2 * batch.size + 16);
  out.n_masks.reserve(out.words.capacity());
  // Records were written by the reader thread and are cold here: each record's fields (one
  // allocation) and then its name and bases (another) are fetched a few records ahead.
  constexpr size_t kRecordsAhead = 4;
  for (size_t i = 0; i < std::min(batch.size, kRecordsAhead); ++i) __builtin_prefetch(batch[i]->data);
  for (size_t i = 0; i < batch.size; ++i) {
    if (i + 2 * kRecordsAhead < batch.size) __builtin_prefetch(batch[i + 2 * kRecordsAhead]);
    if (i + kRecordsAhead < batch.size) {
      const bam1_t* ahead = batch[i + kRecordsAhead];
      __builtin_prefetch(ahead->data);
      __builtin_prefetch(ahead->data + 64);
      __builtin_prefetch(ahead->data + 128);
    }
    const bam1_t* b = batch[i];
    if (!Mappable(b)) continue;
    const uint32_t n = static_cast<uint32_t>(b->core.l_qseq);
    ReadState st;
    st.record = i;
    st.length = n;
    st.budget = static_cast<uint32_t>(options.max_mismatch_fraction * n);
    st.accept = std::min(st.budget, 2 + n / 50);
    out.read_of[i] = static_cast<int>(out.reads.size());
    out.reads.push_back(st);
    const size_t forward = out.codes.size();
    out.codes.resize(forward + 2 * size_t{n} + 8);  // 8 bytes of slack for the packer, trimmed below
    AppendCodes(b, n, out.codes.data() + forward);
    out.code_offsets.push_back(static_cast<uint32_t>(forward + n));
    out.code_offsets.push_back(static_cast<uint32_t>(forward + 2 * n));
    for (int strand = 0; strand < 2; ++strand) AppendWords(out.codes.data() + forward + strand * n, n, out);
    out.codes.resize(forward + 2 * size_t{n});
  }
  // Kernels may read a vector past the last sequence.
  out.words.resize(out.words.size() + CJ_PACKED_PAD_WORDS, 0);
  out.n_masks.resize(out.n_masks.size() + CJ_PACKED_PAD_WORDS, 0);
}

}  // namespace cramjet::map_internal
