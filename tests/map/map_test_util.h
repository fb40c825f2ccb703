// Helpers for the mapper tests: synthetic references, unaligned records, FASTQ loading, and
// mapping a set of records with a given backend.
#pragma once

#include <zlib.h>

#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "common/common.h"
#include "common/test_util.h"
#include "map/map.h"

namespace cramjet::testing {

inline std::string RandomBases(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::string s(n, 'A');
  for (auto& c : s) c = "ACGT"[rng() & 3];
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

// Reads up to `max_records` FASTQ records (plain or gzip) as unaligned records with `flag`.
inline std::vector<BamPtr> LoadFastq(const std::string& path, size_t max_records, uint16_t flag) {
  std::vector<BamPtr> out;
  gzFile f = gzopen(path.c_str(), "rb");
  if (!f) return out;
  std::vector<char> buf(1 << 16);
  auto line = [&](std::string& s) {
    s.clear();
    while (gzgets(f, buf.data(), static_cast<int>(buf.size()))) {
      s += buf.data();
      if (!s.empty() && s.back() == '\n') break;
    }
    while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) s.pop_back();
    return !s.empty();
  };
  std::string h, seq, plus, qual;
  while (out.size() < max_records && line(h) && line(seq) && line(plus) && line(qual)) {
    std::string name = h.substr(1, h.find_first_of(" \t") == std::string::npos ? std::string::npos
                                                                               : h.find_first_of(" \t") - 1);
    BamPtr b = NewBam();
    for (auto& c : qual) c = static_cast<char>(c - 33);
    if (bam_set1(b.get(), name.size(), name.c_str(), flag, -1, -1, 0, 0, nullptr, -1, -1, 0, seq.size(),
                 seq.c_str(), qual.c_str(), 0) < 0)
      break;
    out.push_back(std::move(b));
  }
  gzclose(f);
  return out;
}

// Interleaves R1 and R2 records as the lead's reader does (R1 then R2, pair flags).
inline std::vector<BamPtr> LoadPairs(const std::string& r1, const std::string& r2, size_t max_pairs) {
  auto a = LoadFastq(r1, max_pairs, BAM_FPAIRED | BAM_FREAD1 | BAM_FUNMAP | BAM_FMUNMAP);
  auto b = LoadFastq(r2, max_pairs, BAM_FPAIRED | BAM_FREAD2 | BAM_FUNMAP | BAM_FMUNMAP);
  std::vector<BamPtr> out;
  for (size_t i = 0; i < std::min(a.size(), b.size()); ++i) {
    out.push_back(std::move(a[i]));
    out.push_back(std::move(b[i]));
  }
  return out;
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
  for (size_t b = 0; b < records.size(); b += batch_size) {
    ReadBatch batch = CopyToBatch(records, b, std::min(records.size(), b + batch_size));
    const Status st = (*mapper)->MapBatch(batch);
    EXPECT_TRUE(st.ok()) << st.ToString();
    for (size_t i = 0; i < batch.size; ++i) out.push_back(RecordText(batch[i]));
  }
  if (stats) *stats = (*mapper)->stats();
  return out;
}

}  // namespace cramjet::testing
