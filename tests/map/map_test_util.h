// Helpers for the mapper tests: synthetic references, unaligned records, FASTQ loading, and
// mapping a set of records with a given backend.
#pragma once

#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "common/common.h"
#include "common/test_util.h"
#include "map/map.h"
#include "read/read.h"

namespace cramjet::testing {

inline std::string RandomBases(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::string s(n, 'A');
  for (auto& c : s) c = "ACGT"[rng() & 3];
  return s;
}

// FASTA text of the contigs, 60 bases a line.
inline std::string FastaText(const std::vector<std::pair<std::string, std::string>>& contigs) {
  std::string s;
  for (const auto& [name, seq] : contigs) {
    s += ">" + name + " synthetic\n";
    for (size_t i = 0; i < seq.size(); i += 60) s += seq.substr(i, 60) + "\n";
  }
  return s;
}

inline std::string ReverseComplement(const std::string& s) {
  std::string r(s.rbegin(), s.rend());
  for (auto& c : r) {
    switch (c) {
      case 'A': c = 'T'; break;
      case 'C': c = 'G'; break;
      case 'G': c = 'C'; break;
      case 'T': c = 'A'; break;
      default: c = 'N';
    }
  }
  return r;
}

// An unaligned record as the FASTQ reader makes it (UNMAP, or pair flags), optionally with CO:Z.
inline BamPtr MakeRead(const std::string& name, const std::string& seq, uint16_t flag = BAM_FUNMAP,
                       const std::string& comment = "") {
  BamPtr b = NewBam();
  std::string qual(seq.size(), 0);
  for (size_t i = 0; i < seq.size(); ++i) qual[i] = static_cast<char>(10 + i % 30);
  if (bam_set1(b.get(), name.size(), name.c_str(), flag, -1, -1, 0, 0, nullptr, -1, -1, 0, seq.size(),
               seq.c_str(), qual.c_str(), 64) < 0)
    std::abort();
  if (!comment.empty()) bam_aux_append(b.get(), "CO", 'Z', comment.size() + 1,
                                       reinterpret_cast<const uint8_t*>(comment.c_str()));
  return b;
}

inline std::string SeqOf(const bam1_t* b) {
  std::string s(b->core.l_qseq, 'N');
  for (int i = 0; i < b->core.l_qseq; ++i) s[i] = seq_nt16_str[bam_seqi(bam_get_seq(b), i)];
  return s;
}

inline std::string CigarOf(const bam1_t* b) {
  std::string s;
  const uint32_t* c = bam_get_cigar(b);
  for (uint32_t i = 0; i < b->core.n_cigar; ++i)
    s += std::to_string(bam_cigar_oplen(c[i])) + bam_cigar_opchr(c[i]);
  return s.empty() ? "*" : s;
}

// The whole record as SAM text (header-free: tid as a number).
inline std::string RecordText(const bam1_t* b) {
  std::string q;
  for (int i = 0; i < b->core.l_qseq; ++i) q += static_cast<char>(33 + bam_get_qual(b)[i]);
  std::string aux(reinterpret_cast<const char*>(bam_get_aux(b)), bam_get_l_aux(b));
  return std::string(bam_get_qname(b)) + "\t" + std::to_string(b->core.flag) + "\t" +
         std::to_string(b->core.tid) + "\t" + std::to_string(b->core.pos) + "\t" +
         std::to_string(b->core.qual) + "\t" + CigarOf(b) + "\t" + std::to_string(b->core.mtid) + "\t" +
         std::to_string(b->core.mpos) + "\t" + std::to_string(b->core.isize) + "\t" + SeqOf(b) + "\t" + q +
         "\t" + aux;
}

// Up to `max_records` single-end FASTQ records (plain or gzip), through the product's reader.
inline std::vector<BamPtr> LoadFastq(const std::string& path, size_t max_records) {
  ReadOptions o;
  o.inputs = {path};
  auto records = ReadRecords(o, max_records);
  EXPECT_TRUE(records.ok()) << records.status().ToString();
  return records.ok() ? std::move(records).value() : std::vector<BamPtr>();
}

// Up to `max_pairs` pairs from R1 and R2 files, READ1 then READ2, as compress reads them.
inline std::vector<BamPtr> LoadPairs(const std::string& r1, const std::string& r2, size_t max_pairs) {
  ReadOptions o;
  o.inputs = {r1, r2};
  o.paired = true;
  auto records = ReadRecords(o, max_pairs == SIZE_MAX ? SIZE_MAX : 2 * max_pairs);
  EXPECT_TRUE(records.ok()) << records.status().ToString();
  return records.ok() ? std::move(records).value() : std::vector<BamPtr>();
}

inline ReadBatch CopyToBatch(const std::vector<BamPtr>& records, size_t begin, size_t end) {
  ReadBatch batch;
  batch.Resize(end - begin);
  for (size_t i = begin; i < end; ++i)
    if (!bam_copy1(batch[i - begin], records[i].get())) std::abort();
  return batch;
}

// Maps copies of `records` in batches of `batch_size`; returns the records' SAM texts.
inline std::vector<std::string> MapAll(const ReferenceIndex& index, Backend& backend,
                                       const std::vector<BamPtr>& records, size_t batch_size,
                                       const MapOptions& options = {}, MapStats* stats = nullptr) {
  auto mapper = Mapper::Create(index, backend, options);
  EXPECT_TRUE(mapper.ok()) << mapper.status().ToString();
  std::vector<std::string> out;
  MapBuffer buffer;  // one for every batch: what a batch leaves in it must not change the next
  for (size_t b = 0; b < records.size(); b += batch_size) {
    ReadBatch batch = CopyToBatch(records, b, std::min(records.size(), b + batch_size));
    const Status st = (*mapper)->MapBatch(batch, buffer);
    EXPECT_TRUE(st.ok()) << st.ToString();
    for (size_t i = 0; i < batch.size; ++i) out.push_back(RecordText(batch[i]));
  }
  if (stats) *stats = (*mapper)->stats();
  return out;
}

// Calls fn(header, record) for every primary record of a SAM/BAM/CRAM file.
template <typename Fn>
void ForEachPrimary(const std::string& sam_path, Fn&& fn) {
  samFile* in = sam_open(sam_path.c_str(), "r");
  ASSERT_NE(in, nullptr) << sam_path;
  sam_hdr_t* header = sam_hdr_read(in);
  ASSERT_NE(header, nullptr) << sam_path;
  bam1_t* b = bam_init1();
  int r;
  while ((r = sam_read1(in, header, b)) >= 0) {
    if (b->core.flag & (BAM_FSECONDARY | BAM_FSUPPLEMENTARY)) continue;
    fn(header, b);
  }
  EXPECT_EQ(r, -1) << sam_path;
  bam_destroy1(b);
  sam_hdr_destroy(header);
  sam_close(in);
}

}  // namespace cramjet::testing
