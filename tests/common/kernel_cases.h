// Random kernel inputs shared by the kernel identity tests (tests/map: every Highway target;
// tests/backend: every device backend), each with the edge cases a batch must survive.
#pragma once

#include <algorithm>
#include <cstdint>
#include <random>
#include <vector>

#include <gtest/gtest.h>

#include "cramjet/backend.h"

namespace cramjet::testing {

inline std::vector<uint8_t> RandomCodes(std::mt19937& rng, size_t n, int n_per_mille) {
  std::vector<uint8_t> c(n);
  for (auto& x : c) x = (rng() % 1000 < static_cast<unsigned>(n_per_mille)) ? 4 : rng() & 3;
  return c;
}

// Reads with mismatches and Ns against a random reference (one read at the maximum alignment
// length, one ending at the reference's last base, one all N); each read has a job with a small
// and one with a large budget.
struct HammingCase {
  size_t ref_length = 100000;
  std::vector<uint64_t> ref_words, words, masks;
  std::vector<uint32_t> offsets, lengths;
  std::vector<VerifyJob> jobs;
  PackedReference ref() const { return {ref_words.data(), ref_length}; }
  PackedSequences reads() const { return {words.data(), masks.data(), offsets.data(), lengths.data()}; }
  void AddRead(const std::vector<uint8_t>& read) {
    offsets.push_back(static_cast<uint32_t>(words.size()));
    lengths.push_back(static_cast<uint32_t>(read.size()));
    words.resize(words.size() + (read.size() + 31) / 32, 0);
    masks.resize(words.size(), 0);
    for (size_t j = 0; j < read.size(); ++j) {
      if (read[j] < 4) words[offsets.back() + j / 32] |= uint64_t{read[j]} << (2 * (j % 32));
      else masks[offsets.back() + j / 32] |= uint64_t{1} << (2 * (j % 32));
    }
  }
  HammingCase() {
    std::mt19937 rng(2);
    std::vector<uint8_t> ref_codes = RandomCodes(rng, ref_length, 0);
    ref_words.assign(ref_length / 32 + CJ_PACKED_PAD_WORDS, 0);  // exactly what PackedReference promises
    for (size_t i = 0; i < ref_length; ++i) ref_words[i / 32] |= uint64_t{ref_codes[i]} << (2 * (i % 32));
    for (uint32_t s = 0; s < 3000; ++s) {
      uint32_t n = 1 + rng() % 700;
      if (s == 7) n = CJ_MAX_ALIGN_LENGTH;
      const uint64_t start = s == 9 ? ref_length - n : rng() % (ref_length - n);  // s 9: the reference's last base
      std::vector<uint8_t> read(ref_codes.begin() + start, ref_codes.begin() + start + n);
      for (int m = rng() % 12; m > 0; --m) read[rng() % n] = static_cast<uint8_t>(rng() % 5);
      if (s == 11) std::fill(read.begin(), read.end(), CJ_BASE_N);
      AddRead(read);
      jobs.push_back({s, static_cast<uint32_t>(rng() % 10), start});
      jobs.push_back({s, 100000, start});
    }
    words.resize(words.size() + CJ_PACKED_PAD_WORDS, 0);
    masks.resize(masks.size() + CJ_PACKED_PAD_WORDS, 0);
  }
  std::vector<uint32_t> Run(const Backend& backend, size_t first = 0, size_t count = SIZE_MAX) const {
    count = std::min(count, jobs.size() - first);
    std::vector<uint32_t> out(count, 12345);
    EXPECT_TRUE(backend.VerifyHamming(ref(), reads(), jobs.data() + first, count, out.data()).ok());
    return out;
  }
};

// Banded alignment jobs with indels, mismatches and contig barriers; job 5 at the maximum
// length, job 6 over it (not aligned), job 8 all N, and a last, empty job; up to `max_edits`
// mismatches and indels a read. Other seeds and counts give other random cases with the same
// edge cases.
struct AlignCase {
  std::vector<std::vector<uint8_t>> reads, windows;
  std::vector<AlignJob> jobs;
  explicit AlignCase(uint32_t seed = 3, int count = 700, int max_edits = 3) {
    std::mt19937 rng(seed);
    for (int i = 0; i < count; ++i) {
      uint32_t n = 1 + rng() % (i % 10 == 0 ? 1200 : 250);
      if (i == 5) n = CJ_MAX_ALIGN_LENGTH;      // the longest the kernel takes
      if (i == 6) n = CJ_MAX_ALIGN_LENGTH + 1;  // not aligned (result stays empty)
      std::vector<uint8_t> window = RandomCodes(rng, n + 2 * CJ_BAND_RADIUS + 10, 1);
      if (i % 9 == 0) std::fill(window.begin(), window.begin() + rng() % n, CJ_REF_OUTSIDE);
      std::vector<uint8_t> read(window.begin() + CJ_BAND_RADIUS, window.begin() + CJ_BAND_RADIUS + n);
      for (int e = static_cast<int>(rng() % static_cast<unsigned>(max_edits + 1)); e > 0; --e) {
        const size_t at = rng() % read.size();
        switch (rng() % 3) {
          case 0: read[at] = rng() % 5; break;
          case 1: read.insert(read.begin() + at, rng() % 4), read.pop_back(); break;
          default: read.erase(read.begin() + at), read.push_back(rng() % 4); break;
        }
      }
      if (i == 8) std::fill(read.begin(), read.end(), CJ_BASE_N);
      window.resize(n + 2 * CJ_BAND_RADIUS);
      reads.push_back(read);
      windows.push_back(window);
    }
    for (size_t i = 0; i < reads.size(); ++i)
      jobs.push_back({reads[i].data(), windows[i].data(), static_cast<uint32_t>(reads[i].size())});
    jobs.push_back({nullptr, nullptr, 0});  // an empty job
  }
};

inline void ExpectSameAlignments(const AlignOutput& got, const AlignOutput& want) {
  ASSERT_EQ(got.results.size(), want.results.size());
  for (size_t i = 0; i < want.results.size(); ++i) {
    const AlignResult& a = got.results[i];
    const AlignResult& b = want.results[i];
    ASSERT_EQ(a.score, b.score) << i;
    ASSERT_EQ(a.read_begin, b.read_begin) << i;
    ASSERT_EQ(a.read_end, b.read_end) << i;
    ASSERT_EQ(a.window_begin, b.window_begin) << i;
    ASSERT_EQ(std::vector<uint32_t>(got.cigar.begin() + a.cigar_begin, got.cigar.begin() + a.cigar_begin + a.cigar_length),
              std::vector<uint32_t>(want.cigar.begin() + b.cigar_begin, want.cigar.begin() + b.cigar_begin + b.cigar_length))
        << i;
  }
}

}  // namespace cramjet::testing
