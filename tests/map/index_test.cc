// The reference index at genome scale (issue 11): the chunked two-pass build holds exactly the
// minimizers of a whole-contig pass, on contigs with N runs and of every awkward length; an
// interrupted build never leaves a usable-looking index; references over 4 Gb or over the memory
// limit are refused before anything large is allocated. The index as the mapper opens it
// (contigs, MD5s, @SQ lines; missing/stale/foreign/corrupt files refused) and `cramjet index`.
#include <sys/resource.h>
#include <unistd.h>
#include <utime.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <map>

#include <gtest/gtest.h>

#include "backend/backend.h"
#include "common/test_util.h"
#include "map/map.h"
#include "map_test_util.h"

namespace cramjet {
namespace {

using testing::FastaText;
using testing::RandomBases;

std::string FastaLines(const std::vector<std::pair<std::string, std::string>>& contigs, size_t width) {
  std::string s;
  for (const auto& [name, seq] : contigs) {
    s += ">" + name + " test contig\n";
    for (size_t i = 0; i < seq.size(); i += width) s += seq.substr(i, width) + "\n";
  }
  return s;
}

std::vector<uint8_t> Codes(const std::string& seq) {
  std::vector<uint8_t> codes;
  for (char c : seq) {
    switch (c) {
      case 'A': case 'a': codes.push_back(0); break;
      case 'C': case 'c': codes.push_back(1); break;
      case 'G': case 'g': codes.push_back(2); break;
      case 'T': case 't': codes.push_back(3); break;
      default: codes.push_back(4);
    }
  }
  return codes;
}

// Contigs that meet every seam case: N runs at the start, middle and end, a contig shorter than a
// k-mer, one shorter than a window, an all-N contig, lower case, long and short lines.
std::vector<std::pair<std::string, std::string>> AwkwardContigs() {
  std::string big = RandomBases(60000, 101);
  big.replace(0, 40, std::string(40, 'N'));
  big.replace(20000, 3000, std::string(3000, 'N'));
  big.replace(30011, 1, "R");
  big.replace(59990, 10, std::string(10, 'N'));
  std::string lower = RandomBases(9000, 102);
  std::transform(lower.begin(), lower.begin() + 4000, lower.begin(), [](char c) { return static_cast<char>(c | 0x20); });
  // A tandem repeat: the same minimizer over and over, across many chunk seams.
  std::string tandem;
  while (tandem.size() < 12000) tandem += "ACGTTGCAAG";
  return {{"chr1", big}, {"tiny", "ACGTACGTAC"}, {"short", RandomBases(20, 103)},
          {"allN", std::string(500, 'N')}, {"mixed", lower}, {"tandem", tandem},
          {"last", RandomBases(7777, 104)}};
}

TEST(IndexBuildTest, ChunkedParallelBuildHoldsExactlyTheWholeContigMinimizers) {
  testing::TempDir dir;
  const auto contigs = AwkwardContigs();
  const std::string fasta = dir / "awkward.fa";
  testing::WriteFile(fasta, FastaLines(contigs, 61));

  // Expected: each contig seeded in one piece, bucket -> positions (concatenated coordinates).
  IndexBuildOptions whole;
  whole.chunk_bases = uint64_t{1} << 40;
  ASSERT_TRUE(ReferenceIndex::Build(fasta, whole).ok());
  const std::string reference_bytes = testing::ReadFile(fasta + ".cjidx");
  auto index = ReferenceIndex::Open(fasta);
  ASSERT_TRUE(index.ok()) << index.status().ToString();
  std::map<uint32_t, std::vector<uint32_t>> expected;  // hash -> positions
  std::map<uint32_t, uint32_t> expected_flanks;         // position -> SeedEntry::flanks
  std::vector<uint8_t> all;                             // the concatenated reference, N as A
  for (const auto& [name, seq] : contigs)
    for (uint8_t c : Codes(seq)) all.push_back(c > 3 ? 0 : c);
  uint64_t start = 0, expected_count = 0;
  for (const auto& [name, seq] : contigs) {
    const std::vector<uint8_t> codes = Codes(seq);
    std::vector<Seed> seeds;
    backend_internal::ExtractSeedsOneScalar(codes.data(), codes.size(), seeds);
    for (const Seed& s : seeds) {
      const uint64_t p = start + s.position;
      expected[s.hash].push_back(static_cast<uint32_t>(p));
      // The flanks, written out base by base (bases outside the reference read as A).
      uint32_t flanks = SeedIsReverse(codes.data() + s.position) ? kSeedEntryReverse : 0;
      for (int i = 0; i < kSeedFlankBases; ++i) {
        const int64_t before = static_cast<int64_t>(p) - kSeedFlankBases + i;
        const uint64_t after = p + CJ_SEED_K + i;
        if (before >= 0) flanks |= uint32_t{all[before]} << (2 * i);
        if (after < all.size()) flanks |= uint32_t{all[after]} << (16 + 2 * i);
      }
      expected_flanks[static_cast<uint32_t>(p)] = flanks;
    }
    expected_count += seeds.size();
    start += seq.size();
  }
  ASSERT_GT(expected_count, 10000u);
  EXPECT_EQ((*index)->entry_count(), expected_count);
  EXPECT_EQ((*index)->total_length(), start);
  for (const auto& [hash, positions] : expected) {
    std::vector<uint32_t> found;
    for (const SeedEntry& e : (*index)->Lookup(hash)) {
      found.push_back(e.position);
      if (expected_flanks.count(e.position)) {
        ASSERT_EQ(e.flanks, expected_flanks[e.position]) << "flanks of the minimizer at " << e.position;
      }
    }
    EXPECT_TRUE(std::is_sorted(found.begin(), found.end()));
    for (uint32_t p : positions)
      ASSERT_TRUE(std::binary_search(found.begin(), found.end(), p)) << "hash " << hash << " position " << p;
  }
  EXPECT_EQ((*index)->BaseCode(0), 4);
  EXPECT_EQ((*index)->BaseCode(20000 + 2999), 4);
  EXPECT_EQ((*index)->BaseCode(30011), 4);
  EXPECT_NE((*index)->BaseCode(30012), 4);
  EXPECT_FALSE((*index)->AllAcgt(59000, 991));
  EXPECT_TRUE((*index)->AllAcgt(40, 19960));
  EXPECT_EQ((*index)->contig_length(3), 500u);

  // Small chunks (seams every 97 windows, inside N runs and tandem repeats) on 1 and 3 threads:
  // the same file, byte for byte.
  for (int threads : {1, 3}) {
    IndexBuildOptions chunked;
    chunked.chunk_bases = 97;
    chunked.threads = threads;
    ASSERT_TRUE(ReferenceIndex::Build(fasta, chunked).ok());
    EXPECT_TRUE(testing::ReadFile(fasta + ".cjidx") == reference_bytes) << threads << " threads";
  }
}

TEST(IndexBuildTest, FailedOrKilledBuildLeavesNoUsableIndexAndTheNextBuildCleansUp) {
  testing::TempDir dir;
  const std::string fasta = dir / "ref.fa";
  testing::WriteFile(fasta, FastaLines({{"a", RandomBases(400000, 7)}, {"b", RandomBases(300000, 8)}}, 70));
  const auto listing = [&] { return testing::RunShell("ls -A " + testing::ShellQuote(dir.path())).out; };

  // A write that fails (here a 64 KiB file-size limit; a full disk is the same): an error naming
  // the temporary, and nothing left behind.
  const auto full = testing::RunShell("ulimit -f 64; exec " + testing::CramjetBinary() + " index " + testing::ShellQuote(fasta));
  EXPECT_EQ(full.exit_code, 1);
  EXPECT_NE(full.err.find("write failed"), std::string::npos) << full.err;
  EXPECT_EQ(listing(), "ref.fa\n");

  // A build killed after writing every section but before its header (SIGKILL injected at the
  // fdatasync that precedes the header): what a power cut in the middle of the write leaves.
  const auto killed = testing::RunShell("strace -f -qq -o /dev/null -e trace=fdatasync -e inject=fdatasync:signal=KILL " +
                                        testing::CramjetBinary() + " index " + testing::ShellQuote(fasta));
  EXPECT_NE(killed.exit_code, 0);
  EXPECT_FALSE(testing::PathExists(fasta + ".cjidx"));
  const auto leftovers = testing::RunShell("ls -A " + testing::ShellQuote(dir.path()) + " | grep -c '^\\.ref\\.fa\\.cjidx\\.tmp\\.'");
  ASSERT_EQ(leftovers.out, "1\n") << "the killed build should have left its temporary: " << listing();
  auto missing = ReferenceIndex::Open(fasta);
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("is missing"), std::string::npos) << missing.status().ToString();

  // Even renamed into place by hand, the unfinished file is refused: its header is written last.
  ASSERT_EQ(testing::RunShell("cd " + testing::ShellQuote(dir.path()) + " && cp .ref.fa.cjidx.tmp.* ref.fa.cjidx").exit_code, 0);
  auto unfinished = ReferenceIndex::Open(fasta);
  ASSERT_FALSE(unfinished.ok());
  EXPECT_EQ(unfinished.status().message(), "'" + fasta + ".cjidx' is an unfinished index (its build was interrupted): run `cramjet index " + fasta + "`");

  // The next build removes the dead build's temporary and replaces the bad file.
  const auto rebuilt = testing::RunCramjet("index " + testing::ShellQuote(fasta));
  EXPECT_EQ(rebuilt.exit_code, 0) << rebuilt.err;
  EXPECT_NE(rebuilt.err.find("left by an index build that did not finish"), std::string::npos) << rebuilt.err;
  EXPECT_EQ(listing(), "ref.fa\nref.fa.cjidx\n");
  auto opened = ReferenceIndex::Open(fasta);
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  EXPECT_EQ((*opened)->total_length(), 700000u);
}

// Peak resident memory of a child command, from /usr/bin/time (KiB).
uint64_t PeakKib(const std::string& time_output) {
  const size_t at = time_output.rfind("peak=");
  return at == std::string::npos ? UINT64_MAX : std::stoull(time_output.substr(at + 5));
}

// Peak resident memory of the same binary refusing a missing file: what loading it costs before any
// work (a sanitizer build starts near 70 MiB, a Release build near 12 MiB), so a limit on top of
// it measures the command's own buffers on every build.
uint64_t StartupPeakKib() {
  const auto r = testing::RunShell("/usr/bin/time -f peak=%M " + testing::CramjetBinary() + " index /nonexistent/cramjet.fa");
  EXPECT_EQ(r.exit_code, 1) << r.err;
  return PeakKib(r.err);
}

TEST(IndexBuildTest, OverTheMemoryLimitIsRefusedBeforeAnythingLargeIsAllocated) {
  testing::TempDir dir;
  const std::string fasta = dir / "big.fa";
  // 64 Mb: the build would need ~180 MiB; the limit says 100 MiB.
  ASSERT_EQ(testing::RunShell("{ echo '>big'; yes ACGTTGCAGGTCAATCGGAT | head -c 67200000; } > " + testing::ShellQuote(fasta)).exit_code, 0);
  const auto r = testing::RunShell("/usr/bin/time -f peak=%M " + testing::CramjetBinary() + " index --max-memory 100M " +
                                   testing::ShellQuote(fasta));
  EXPECT_EQ(r.exit_code, 1);
  const std::string first_line = r.err.substr(0, r.err.find('\n') + 1);
  EXPECT_EQ(first_line, "cramjet index: error: '" + fasta + "': indexing 64000000 bases needs about 163.7 MiB of "
            "memory, more than the 100.0 MiB allowed (--max-memory; the default is 80% of this machine's memory)\n");
  // The scan holds a few buffers, not the 64 MiB sequence.
  EXPECT_LT(PeakKib(r.err), StartupPeakKib() + 36u * 1024) << r.err;
  EXPECT_EQ(testing::RunShell("ls -A " + testing::ShellQuote(dir.path())).out, "big.fa\n");
  const auto usage = testing::RunCramjet("index --max-memory lots " + testing::ShellQuote(fasta));
  EXPECT_EQ(usage.exit_code, 2);
  EXPECT_EQ(usage.err, "cramjet index: error: --max-memory 'lots': expected a size such as 16G or 512M\n");
}

TEST(IndexBuildTest, MoreThanFourGigabasesIsRefusedWithoutHoldingTheSequence) {
  testing::TempDir dir;
  const std::string fasta = dir / "huge.fa.gz";
  // 4.3 Gb of sequence in ~20 MB: 43 concatenated gzip members of 100 MB each.
  ASSERT_EQ(testing::RunShell("cd " + testing::ShellQuote(dir.path()) +
                              " && echo '>huge' | gzip > m0.gz"
                              " && head -c 100000000 /dev/zero | tr '\\0' 'C' | gzip -1 > m1.gz"
                              " && for i in $(seq 43); do cat m1.gz; done | cat m0.gz - > huge.fa.gz && rm m0.gz m1.gz").exit_code, 0);
  const auto r = testing::RunShell("/usr/bin/time -f peak=%M " + testing::CramjetBinary() + " index " + testing::ShellQuote(fasta));
  EXPECT_EQ(r.exit_code, 1);
  const std::string first_line = r.err.substr(0, r.err.find('\n') + 1);
  EXPECT_EQ(first_line, "cramjet index: error: '" + fasta + "': more than 4294967232 bases of sequence (contig 'huge'); "
            "the index holds at most 4 Gb (32-bit positions)\n");
  EXPECT_LT(PeakKib(r.err), StartupPeakKib() + 36u * 1024) << r.err;  // not the 4.3 GiB sequence
  EXPECT_FALSE(testing::PathExists(fasta + ".cjidx"));
}

std::string UpperAcgtMd5(const std::string& seq) {
  std::string u;
  for (char c : seq) u += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return Md5Hex(u);
}

// ---- Index ----------------------------------------------------------------------------------

TEST(ReferenceIndexTest, ContigsLengthsAndMd5sAndSqLines) {
  testing::TempDir dir;
  std::string a = RandomBases(5000, 11), b = RandomBases(3000, 12);
  a[10] = 'a';
  a[11] = 'R';  // lower case and IUPAC: MD5 is over the upper-cased text
  b.replace(100, 50, std::string(50, 'N'));
  const std::string fasta = dir / "two.fa";
  testing::WriteFile(fasta, FastaText({{"one", a}, {"two", b}}));
  ASSERT_TRUE(ReferenceIndex::Build(fasta, 1).ok());
  auto index = ReferenceIndex::Open(fasta);
  ASSERT_TRUE(index.ok()) << index.status().ToString();
  ASSERT_EQ((*index)->contig_count(), 2u);
  EXPECT_EQ((*index)->contig_name(0), "one");
  EXPECT_EQ((*index)->contig_length(0), 5000u);
  EXPECT_EQ((*index)->contig_name(1), "two");
  EXPECT_EQ((*index)->contig_length(1), 3000u);
  EXPECT_EQ((*index)->contig_md5(0), UpperAcgtMd5(a));
  EXPECT_EQ((*index)->contig_md5(1), UpperAcgtMd5(b));
  EXPECT_EQ((*index)->BaseCode(5000 + 120), 4);
  EXPECT_EQ((*index)->BaseCode(11), 4);
  EXPECT_EQ((*index)->BaseCode(10), 0);
  HeaderPtr header(sam_hdr_init());
  ASSERT_TRUE(AddReferenceContigs(header.get(), **index, fasta).ok());
  const std::string text = sam_hdr_str(header.get());
  char* abs = realpath(fasta.c_str(), nullptr);
  EXPECT_NE(text.find("@SQ\tSN:one\tLN:5000\tM5:" + UpperAcgtMd5(a) + "\tUR:file:" + abs), std::string::npos) << text;
  EXPECT_NE(text.find("@SQ\tSN:two\tLN:3000\tM5:" + UpperAcgtMd5(b)), std::string::npos) << text;
  EXPECT_LT(text.find("SN:one"), text.find("SN:two"));
  free(abs);
  // Gzip FASTA gives the same contigs.
  ASSERT_EQ(testing::RunShell("gzip -c " + testing::ShellQuote(fasta) + " > " + testing::ShellQuote(dir / "two.fa.gz")).exit_code, 0);
  ASSERT_TRUE(ReferenceIndex::Build(dir / "two.fa.gz", 1).ok());
  auto gz = ReferenceIndex::Open(dir / "two.fa.gz");
  ASSERT_TRUE(gz.ok());
  EXPECT_EQ((*gz)->contig_md5(1), UpperAcgtMd5(b));
  EXPECT_EQ((*gz)->total_length(), 8000u);
}

TEST(ReferenceIndexTest, MissingStaleForeignAndCorruptIndexesAreRefused) {
  testing::TempDir dir;
  const std::string fasta = dir / "ref.fa";
  const std::string other = dir / "other.fa";
  testing::WriteFile(fasta, FastaText({{"c", RandomBases(4000, 21)}}));
  testing::WriteFile(other, FastaText({{"d", RandomBases(4500, 22)}}));
  const std::string hint = "run `cramjet index " + fasta + "`";

  auto missing = ReferenceIndex::Open(fasta);
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(missing.status().message(),
            "no mapper index for '" + fasta + "' ('" + fasta + ".cjidx' is missing): " + hint);

  auto no_fasta = ReferenceIndex::Open(dir / "nothing.fa");
  ASSERT_FALSE(no_fasta.ok());
  EXPECT_EQ(no_fasta.status().code(), StatusCode::kNotFound);

  ASSERT_TRUE(ReferenceIndex::Build(fasta, 1).ok());
  ASSERT_TRUE(ReferenceIndex::Open(fasta).ok());

  // Stale: the FASTA changed after indexing (same size, one base, new mtime).
  std::string text = testing::ReadFile(fasta);
  text[text.size() - 2] = text[text.size() - 2] == 'A' ? 'C' : 'A';
  testing::WriteFile(fasta, text);
  struct utimbuf times{1000000000, 1000000000};
  ASSERT_EQ(utime(fasta.c_str(), &times), 0);
  auto stale = ReferenceIndex::Open(fasta);
  ASSERT_FALSE(stale.ok());
  EXPECT_EQ(stale.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(stale.status().message().find("is stale or belongs to another FASTA"), std::string::npos);
  EXPECT_NE(stale.status().message().find(hint), std::string::npos);
  ASSERT_TRUE(ReferenceIndex::Build(fasta, 1).ok());
  ASSERT_TRUE(ReferenceIndex::Open(fasta).ok());

  // Foreign: another FASTA's index under this name.
  ASSERT_TRUE(ReferenceIndex::Build(other, 1).ok());
  ASSERT_EQ(testing::RunShell("cp " + testing::ShellQuote(other + ".cjidx") + " " + testing::ShellQuote(fasta + ".cjidx")).exit_code, 0);
  auto foreign = ReferenceIndex::Open(fasta);
  ASSERT_FALSE(foreign.ok());
  EXPECT_NE(foreign.status().message().find("is stale or belongs to another FASTA"), std::string::npos);

  // Not an index at all.
  testing::WriteFile(fasta + ".cjidx", "this is not an index, just some text that is long enough..............................................................");
  auto garbage = ReferenceIndex::Open(fasta);
  ASSERT_FALSE(garbage.ok());
  EXPECT_EQ(garbage.status().message(), "'" + fasta + ".cjidx' is not a cramjet mapper index: " + hint);

  // Truncated.
  ASSERT_TRUE(ReferenceIndex::Build(fasta, 1).ok());
  ASSERT_EQ(truncate((fasta + ".cjidx").c_str(), 4096), 0);
  auto truncated = ReferenceIndex::Open(fasta);
  ASSERT_FALSE(truncated.ok());
  EXPECT_NE(truncated.status().message().find("is truncated or corrupt"), std::string::npos);
}

TEST(ReferenceIndexTest, BadFastaIsReportedWithTheLine) {
  testing::TempDir dir;
  testing::WriteFile(dir / "dup.fa", ">a\nACGT\n>b\nACGT\n>a\nACGT\n");
  Status st = ReferenceIndex::Build(dir / "dup.fa", 1);
  EXPECT_EQ(st.message(), "'" + (dir / "dup.fa") + "': line 5: duplicate contig name 'a'");
  testing::WriteFile(dir / "text.fa", "hello\n");
  st = ReferenceIndex::Build(dir / "text.fa", 1);
  EXPECT_EQ(st.message(), "'" + (dir / "text.fa") + "': line 1: sequence before the first '>' header (not a FASTA file?)");
  testing::WriteFile(dir / "empty.fa", ">a\n>b\nAC\n");
  st = ReferenceIndex::Build(dir / "empty.fa", 1);
  EXPECT_EQ(st.message(), "'" + (dir / "empty.fa") + "': line 1: contig 'a' has no sequence");
  EXPECT_FALSE(testing::PathExists(dir / "empty.fa.cjidx"));
}

// ---- CLI ------------------------------------------------------------------------------------

TEST(IndexCommandTest, MissingFastaIsOneErrorLine) {
  testing::TempDir dir;
  const auto r = testing::RunCramjet("index " + testing::ShellQuote(dir / "missing.fa"));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err, "cramjet index: error: '" + (dir / "missing.fa") + "': no such file\n");
  EXPECT_EQ(r.out, "");
}

TEST(IndexCommandTest, BuildsAnIndexThatOpens) {
  testing::TempDir dir;
  testing::WriteFile(dir / "r.fa", FastaText({{"x", RandomBases(3000, 5)}}));
  const auto r = testing::RunCramjet("index -@ 2 " + testing::ShellQuote(dir / "r.fa"));
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(testing::PathExists(dir / "r.fa.cjidx"));
  EXPECT_TRUE(ReferenceIndex::Open(dir / "r.fa").ok());
  const auto usage = testing::RunCramjet("index");
  EXPECT_EQ(usage.exit_code, 2);
}

}  // namespace
}  // namespace cramjet
