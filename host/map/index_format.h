// host/map/index_format.h — the on-disk layout of `<fasta>.cjidx` (docs/mapper.md, "Reference
// index"), shared by the builder (index_build.cc) and the reader (index.cc). Internal to map/.
#pragma once

#include <cstdint>
#include <string>

#include "cramjet/status.h"
#include "kernel_shape.h"
#include "map/map.h"

namespace cramjet::index_format {

inline constexpr char kMagic[8] = {'C', 'J', 'M', 'A', 'P', 'I', 'D', 'X'};
inline constexpr uint64_t kSectionAlign = 64;
inline constexpr uint64_t kSequencePadWords = CJ_PACKED_PAD_WORDS;  // kernels read up to a vector past a window's end
// Positions are 32-bit; the last 64 are kept free so that end-of-window arithmetic never wraps.
inline constexpr uint64_t kMaxReferenceBases = (uint64_t{1} << 32) - 64;
static_assert(sizeof(SeedEntry) == 8);

// SeedEntry::flanks of a minimizer at `position` of the 2-bit sequence `words`: bases
// [position - 7, position) and [position + k, position + k + 7), and the k-mer's orientation.
// Bases before the start of the sequence read as A (0); `words` must hold at least one word past
// the last flank base (the sequence section has kSequencePadWords).
inline uint32_t ReferenceFlanks(const uint64_t* words, uint64_t position) {
  auto bases_at = [words](uint64_t first, int count) {  // bases [first, first + count), base i at bits 2i
    return static_cast<uint32_t>(PackedBasesAt(words, first) & ((uint64_t{1} << (2 * count)) - 1));
  };
  constexpr int kFlank = kSeedFlankBases;
  constexpr uint32_t kFlankMask = (1u << (2 * kFlank)) - 1;
  const uint32_t left = position >= kFlank ? bases_at(position - kFlank, kFlank)
                                           : (bases_at(0, kFlank) << (2 * (kFlank - position))) & kFlankMask;
  // The k-mer with its first base lowest; its reverse complement in the kernels' order (first
  // base highest) is the complement of exactly these bits, and the k-mer itself is these 2-bit
  // groups reversed.
  const uint32_t raw = bases_at(position, CJ_SEED_K);
  uint32_t reversed_groups = ((raw >> 2) & 0x33333333u) | ((raw & 0x33333333u) << 2);
  reversed_groups = ((reversed_groups >> 4) & 0x0F0F0F0Fu) | ((reversed_groups & 0x0F0F0F0Fu) << 4);
  const uint32_t value = __builtin_bswap32(reversed_groups) >> (32 - 2 * CJ_SEED_K);
  const uint32_t reverse_complement = ~raw & ((1u << (2 * CJ_SEED_K)) - 1);
  return left | bases_at(position + CJ_SEED_K, kFlank) << 16 | (value > reverse_complement ? kSeedEntryReverse : 0);
}

// Fixed-size header at offset 0 (little-endian, as written by this machine). The builder writes
// it last, after every section is on disk: a file cut short at any point has no magic.
struct IndexHeader {
  char magic[8];
  uint32_t version;
  uint32_t seed_k;
  uint32_t seed_w;
  uint32_t bucket_bits;
  uint32_t contig_count;
  uint32_t reserved;
  uint64_t fasta_size;
  int64_t fasta_mtime_ns;
  uint64_t total_length;
  uint64_t entry_count;
  uint64_t n_run_count;
  uint64_t names_bytes;
  uint64_t file_size;
  uint64_t reserved2[4];
};
static_assert(sizeof(IndexHeader) == 120);

struct ContigRecord {
  uint64_t start;
  uint64_t length;
  char md5[32];
  uint32_t name_offset;
  uint32_t name_length;
  uint64_t reserved;
};
static_assert(sizeof(ContigRecord) == 64);

inline uint64_t AlignUp(uint64_t v) { return (v + kSectionAlign - 1) / kSectionAlign * kSectionAlign; }

// Section offsets, derived from the header's counts (so a reader recomputes them).
struct Layout {
  uint64_t contigs, names, n_runs, n_blocks, sequence, offsets, entries, end;
};
inline uint64_t SequenceWords(uint64_t total_length) { return (total_length + 31) / 32 + kSequencePadWords; }
inline uint64_t NBlockWords(uint64_t total_length) { return ((total_length >> 10) + 1 + 63) / 64; }
inline Layout ComputeLayout(const IndexHeader& h) {
  Layout l;
  l.contigs = AlignUp(sizeof(IndexHeader));
  l.names = AlignUp(l.contigs + uint64_t{h.contig_count} * sizeof(ContigRecord));
  l.n_runs = AlignUp(l.names + h.names_bytes);
  l.n_blocks = AlignUp(l.n_runs + h.n_run_count * 16);
  l.sequence = AlignUp(l.n_blocks + NBlockWords(h.total_length) * 8);
  l.offsets = AlignUp(l.sequence + SequenceWords(h.total_length) * 8);
  l.entries = AlignUp(l.offsets + ((uint64_t{1} << h.bucket_bits) + 1) * 4);
  l.end = l.entries + h.entry_count * sizeof(SeedEntry);
  return l;
}

// Seed-table buckets for a reference of `total_length` bases: about one bucket per 16 expected
// minimizers (density 2/(w+1)), 2^10..2^30. Minimizers are window minima, so their high hash bits
// are mostly zero: buckets take the low bits. Bucket mates of other k-mers cost a flank check
// each, not a reference access (SeedEntry): full buckets keep the offsets table small (256 MB for
// 3.1 Gb, 4 bytes a bucket), which on this VM is worth more than the ~8 extra entries scanned per
// lookup (docs/mapper.md, "Speed on a genome-size index").
inline uint32_t BucketBits(uint64_t total_length) {
  const uint64_t expected = (total_length * 2 / (CJ_SEED_W + 1)) / 16 + 1;
  int bits = 0;
  while (bits < 30 && (uint64_t{1} << bits) < expected) ++bits;
  return static_cast<uint32_t>(bits < 10 ? 10 : bits);
}

struct FastaStat {
  uint64_t size = 0;
  int64_t mtime_ns = 0;
};
[[nodiscard]] StatusOr<FastaStat> StatFasta(const std::string& path);

inline std::string RebuildHint(const std::string& fasta) { return ": run `cramjet index " + fasta + "`"; }

}  // namespace cramjet::index_format
