// Step 7 of the placement paths, apply: a placement written into its record (CIGAR, position,
// flags; SEQ and QUAL reverse-complemented for the reverse strand), everything else byte for byte.
#include <algorithm>
#include <cstdlib>
#include <cstring>

#include "common/common.h"
#include "map/map_steps.h"

namespace cramjet::map_internal {
namespace {

// Base-code tables (kNt16Complement): common/common.h.
// A BAM sequence byte with both halves complemented, in the same order and swapped.
struct BamByteComplement {
  uint8_t same_order[256], swapped[256];
  constexpr BamByteComplement() : same_order{}, swapped{} {
    for (int b = 0; b < 256; ++b) {
      same_order[b] = static_cast<uint8_t>(kNt16Complement[b >> 4] << 4 | kNt16Complement[b & 15]);
      swapped[b] = static_cast<uint8_t>(kNt16Complement[b & 15] << 4 | kNt16Complement[b >> 4]);
    }
  }
};
constexpr BamByteComplement kBamByteComplement;

}  // namespace

// Rewrites `b` as placed: CIGAR in, SEQ/QUAL reverse-complemented for the reverse strand; the
// name and aux data are copied byte for byte.
Status ApplyPlacement(bam1_t* b, const Placement& p, const ReferenceIndex& index,
                      std::vector<uint8_t>& buffer) {
  const uint32_t l_qname = b->core.l_qname;
  const int32_t length = b->core.l_qseq;
  const int l_aux = bam_get_l_aux(b);
  const size_t seq_bytes = (static_cast<size_t>(length) + 1) / 2;
  const size_t new_len = l_qname + 4 * p.cigar.size() + seq_bytes + length + l_aux;
  buffer.resize(new_len);
  uint8_t* out = buffer.data();
  std::memcpy(out, b->data, l_qname);
  std::memcpy(out + l_qname, p.cigar.data(), 4 * p.cigar.size());
  uint8_t* seq = out + l_qname + 4 * p.cigar.size();
  uint8_t* qual = seq + seq_bytes;
  const uint8_t* old_seq = bam_get_seq(b);
  const uint8_t* old_qual = bam_get_qual(b);
  if (p.strand == 1) {
    // Byte j of the reverse complement holds old bases length - 1 - 2j (high) and length - 2 - 2j.
    // Even length: both sit in old byte k = (length - 2 - 2j) / 2, swapped. Odd length: the high
    // one is old byte k's high half and the low one old byte k - 1's low half.
    const int32_t bytes = static_cast<int32_t>(seq_bytes);
    if (length % 2 == 0) {
      for (int32_t j = 0; j < bytes; ++j) seq[j] = kBamByteComplement.swapped[old_seq[bytes - 1 - j]];
    } else {
      for (int32_t j = 0; j < bytes; ++j) {
        const int32_t k = bytes - 1 - j;
        const uint8_t low = k > 0 ? old_seq[k - 1] & 0x0F : 0;  // last byte: pad half 0, complement 0
        seq[j] = kBamByteComplement.same_order[(old_seq[k] & 0xF0) | low];
      }
    }
    std::reverse_copy(old_qual, old_qual + length, qual);
  } else {
    std::memcpy(seq, old_seq, seq_bytes);
    std::memcpy(qual, old_qual, length);
  }
  std::memcpy(qual + length, bam_get_aux(b), l_aux);
  if (b->m_data < new_len) {
    if (bam_get_mempolicy(b) & BAM_USER_OWNS_DATA)
      return Internal("mapper: record buffer is owned by the caller and too small");
    const size_t capacity = new_len + new_len / 4 + 32;
    auto* grown = static_cast<uint8_t*>(std::realloc(b->data, capacity));
    if (!grown) return Internal("mapper: out of memory growing a record");
    b->data = grown;
    b->m_data = capacity;
  }
  std::memcpy(b->data, out, new_len);
  b->l_data = static_cast<int>(new_len);
  b->core.n_cigar = static_cast<uint32_t>(p.cigar.size());
  b->core.tid = static_cast<int32_t>(p.contig);
  b->core.pos = p.ref_start - static_cast<int64_t>(index.contigs()[p.contig].start);
  b->core.qual = p.mapq;
  b->core.flag &= ~BAM_FUNMAP;
  if (p.strand == 1) b->core.flag |= BAM_FREVERSE; else b->core.flag &= ~BAM_FREVERSE;
  b->core.bin = hts_reg2bin(b->core.pos, bam_endpos(b), 14, 5);
  return Status::Ok();
}

bool Mappable(const bam1_t* b) {
  return (b->core.flag & BAM_FUNMAP) && !(b->core.flag & (BAM_FSECONDARY | BAM_FSUPPLEMENTARY)) &&
         b->core.l_qseq > 0;
}

Status ApplyPlacements(const ReferenceIndex& index, ReadBatch& batch, WorkerBuffer& buffer) {
  const std::vector<ReadState>& reads = buffer.encoded.reads;
  for (size_t r = 0; r < reads.size(); ++r) {
    const Placement& p = buffer.placements[r];
    if (!p.placed) continue;
    CRAMJET_RETURN_IF_ERROR(ApplyPlacement(batch[reads[r].record], p, index, buffer.record));
    ++buffer.counts.placed;
    buffer.counts.placed_gapped += p.gapped;
  }
  return Status::Ok();
}

}  // namespace cramjet::map_internal
