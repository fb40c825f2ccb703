// Deterministic fuzzing of the FASTQ reader: every corpus file and thousands of mutations of them
// are either refused as bad input or read back byte for byte.
#include <dirent.h>

#include <random>

#include "common/test_util.h"
#include "fastq_property.h"

namespace cramjet {
namespace {

std::vector<std::string> Corpus() {
  std::vector<std::string> files;
  for (const auto& name : testing::ListDir(CRAMJET_FASTQ_CORPUS))
    files.push_back(testing::ReadFile(std::string(CRAMJET_FASTQ_CORPUS) + "/" + name));
  return files;
}

TEST(FastqProperty, CorpusFilesAreReproducedOrRefused) {
  testing::TempDir dir;
  auto corpus = Corpus();
  ASSERT_GE(corpus.size(), 5u);
  int accepted = 0;
  for (const auto& data : corpus) {
    int r = CheckFastqProperty(dir / "in.fq", data);
    ASSERT_GE(r, 0) << "property broken for:\n" << data;
    accepted += r;
  }
  EXPECT_EQ(accepted, 4);  // basic, odd, empty_read, sra_deflines; bad_length and crlf are refused
}

TEST(FastqProperty, MutationsAreReproducedOrRefused) {
  testing::TempDir dir;
  auto corpus = Corpus();
  std::mt19937 rng(20261124);
  const char alphabet[] = "@+\n\r\t ACGTNacgtn.!I~#\x7f\x01";
  int accepted = 0, refused = 0;
  for (int iter = 0; iter < 3000; ++iter) {
    std::string data = corpus[rng() % corpus.size()];
    int edits = 1 + rng() % 4;
    for (int e = 0; e < edits; ++e) {
      size_t pos = data.empty() ? 0 : rng() % (data.size() + 1);
      char c = alphabet[rng() % (sizeof alphabet - 1)];
      switch (rng() % 3) {
        case 0: data.insert(data.begin() + pos, c); break;
        case 1: if (pos < data.size()) data.erase(pos, 1); break;
        default: if (pos < data.size()) data[pos] = c; break;
      }
    }
    int r = CheckFastqProperty(dir / "in.fq", data);
    ASSERT_GE(r, 0) << "property broken at iteration " << iter << " for:\n" << data;
    (r ? accepted : refused)++;
  }
  // Both outcomes must actually occur, or the mutations test nothing.
  EXPECT_GT(accepted, 100);
  EXPECT_GT(refused, 100);
}

}  // namespace
}  // namespace cramjet
