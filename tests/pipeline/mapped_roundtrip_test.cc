// Round trips through the mapper and the sorter: position-sorted CRAMs from real FASTQ that verify
// and decompress to the input byte for byte, in input order; every backend gives the same bytes;
// long reads; a reference changed behind its index.
#include <random>

#include "roundtrip_sets.h"

namespace cramjet::roundtrip {
namespace {

// FASTQ through the mapper and the sorter: a position-sorted, reference-based CRAM that verifies,
// and plain `decompress` gives the FASTQ back byte for byte, in input order (the default keeps it).
class MappedRoundTrip : public ::testing::TestWithParam<DataSet> {};

TEST_P(MappedRoundTrip, MapSortVerifyRestoreOrder) {
  const DataSet& d = GetParam();
  CRAMJET_REQUIRE_SET(d);
  TempDir dir;
  const std::string ref = IndexedReferenceCopy(dir, d.reference);
  ASSERT_FALSE(ref.empty());
  // The same command in two folders with 1 and 2 threads.
  std::string out = dir / "t1/m.cram";
  for (int threads : {1, 2}) {
    auto c = CompressIn(dir / ("t" + std::to_string(threads)), "-q --mem 1M -@ " +
                                                                     std::to_string(threads) + " -T " +
                                                                     ShellQuote(ref) + Files(d));
    ASSERT_EQ(c.exit_code, 0) << c.err;
  }
  // Deterministic: byte-identical CRAMs whatever the thread count.
  EXPECT_EQ(RunShell("cmp " + ShellQuote(out) + " " + ShellQuote(dir / "t2/m.cram")).exit_code, 0);
  EXPECT_EQ(RunShell("samtools quickcheck " + ShellQuote(out)).exit_code, 0);
  // Sorted, mostly placed, and the same records whatever the thread count.
  EXPECT_EQ(RunShell("samtools view -H " + ShellQuote(out) + " | grep -c 'SO:coordinate'").out, "1\n");
  uint64_t total = Count("samtools view -c " + ShellQuote(out));
  uint64_t placed = Count("samtools view -c -F 4 " + ShellQuote(out));
  // Placement within 1 percentage point of minimap2 -ax sr on the same reads (issue 3's target).
  if (testing::ToolAvailable("minimap2")) {
    std::string mm = "minimap2 -t 2 -ax sr " + ShellQuote(ref) + Files(d) + " 2>/dev/null | samtools view -c -F 0x900 ";
    double mm_total = Count(mm + "-");
    double mm_placed = Count(mm + "-F 0x904 -");
    ASSERT_GT(mm_total, 0);
    EXPECT_EQ(mm_total, total);
    EXPECT_GE(100.0 * placed / total, 100.0 * mm_placed / mm_total - 1.0)
        << placed << " of " << total << " placed; minimap2 " << mm_placed;
  } else {
    EXPECT_GT(placed * 10, total * 5) << placed << " of " << total << " placed";
  }
  auto v = RunCramjet("verify " + ShellQuote(out));
  EXPECT_EQ(v.exit_code, 0) << v.out << v.err;
  std::string olist = d.files.size() == 2
                          ? "-1 " + ShellQuote(dir / "b1.fq") + " -2 " + ShellQuote(dir / "b2.fq")
                          : "-o " + ShellQuote(dir / "b1.fq");
  // The order rule each read group got, for the log (the files here are in genome order, which
  // the stored order of the CRAM mostly keeps).
  std::printf("%s", RunShell("samtools view -H " + ShellQuote(out) + " | grep -o 'or:.*'").out.c_str());
  auto back = RunCramjet("decompress " + olist + " " + ShellQuote(out));
  ASSERT_EQ(back.exit_code, 0) << back.err;
  for (size_t i = 0; i < d.files.size(); ++i) {
    auto cmp = RunShell("cmp <(zcat -f " + ShellQuote(SharedPath(d.files[i])) + ") " +
                        ShellQuote(dir / ("b" + std::to_string(i + 1) + ".fq")));
    EXPECT_EQ(cmp.exit_code, 0) << d.files[i] << ": " << cmp.out << cmp.err;
  }
}

INSTANTIATE_TEST_SUITE_P(RealData, MappedRoundTrip, ::testing::ValuesIn(RealFastqSets()),
    [](const auto& info) { return std::string(info.param.name); });

// Whether every primary record of `sam` (a mapper's output) sits next to its mate: READ1 then
// READ2 with the same name. Returns how many pairs broke that.
uint64_t PairsOutOfSync(const std::string& sam_command) {
  return Count(sam_command + " | samtools view -F 0x900 - | cut -f1,2 | paste - - | "
               "awk -F'\\t' '$1 != $3 || int($2 / 64) % 4 != 1 || int($4 / 64) % 4 != 2' | wc -l");
}

// Without the recorded order (--no-keep-order) decompress still writes mates in sync, R1/R2 and
// interleaved, by collating by name; bwa mem and minimap2 -ax sr pair every read of the output.
TEST(MatesInSync, WithoutTheRecordedOrderBwaAndMinimap2PairEveryRead) {
  const char* r1 = "human-chrM-paired-binned/fastq/micro_R1.fq.gz";
  const char* r2 = "human-chrM-paired-binned/fastq/micro_R2.fq.gz";
  CRAMJET_REQUIRE_SHARED_DATA(r1);
  for (const char* tool : {"samtools", "bwa", "minimap2"})
    if (!testing::ToolAvailable(tool)) GTEST_SKIP() << tool << " not installed";
  TempDir dir;
  const std::string ref = IndexedReferenceCopy(dir, "human-chrM-paired-binned/chrM_NC_012920.1.fa");
  ASSERT_FALSE(ref.empty());
  const std::string cram = dir / "m.cram";
  auto c = RunCramjet("compress -q --no-keep-order -T " + ShellQuote(ref) + " -o " + ShellQuote(cram) + " " +
                      ShellQuote(SharedPath(r1)) + " " + ShellQuote(SharedPath(r2)));
  ASSERT_EQ(c.exit_code, 0) << c.err;
  EXPECT_EQ(RunShell("samtools view -H " + ShellQuote(cram) + " | grep -c 'or:'").out, "0\n");
  const uint64_t pairs = Count("zcat " + ShellQuote(SharedPath(r1)) + " | wc -l") / 4;
  ASSERT_GT(pairs, 1000u);
  auto split = RunCramjet("decompress -1 " + ShellQuote(dir / "b1.fq") + " -2 " + ShellQuote(dir / "b2.fq") +
                          " " + ShellQuote(cram));
  ASSERT_EQ(split.exit_code, 0) << split.err;
  auto inter = RunCramjet("decompress -o " + ShellQuote(dir / "i.fq") + " " + ShellQuote(cram));
  ASSERT_EQ(inter.exit_code, 0) << inter.err;
  // Stored order would put mates apart: R1/R2 files cannot be written so, and that is said.
  auto stored = RunCramjet("decompress --stored-order -1 " + ShellQuote(dir / "s1.fq") + " -2 " +
                           ShellQuote(dir / "s2.fq") + " " + ShellQuote(cram));
  EXPECT_EQ(stored.exit_code, 2);  // a usage error
  EXPECT_EQ(stored.err, "cramjet decompress: error: R1 and R2 outputs need their mates in sync: they cannot be "
                        "written in stored order (leave out --stored-order, or write one output)\n");
  EXPECT_FALSE(testing::PathExists(dir / "s1.fq"));
  // The same reads as went in, as sets.
  EXPECT_EQ(RunShell("cmp <(zcat " + ShellQuote(SharedPath(r1)) + " | paste - - - - | sort) <(paste - - - - < " +
                     ShellQuote(dir / "b1.fq") + " | sort)").exit_code, 0);
  ASSERT_EQ(RunShell("bwa index " + ShellQuote(ref) + " 2>/dev/null").exit_code, 0);
  const std::string b1 = ShellQuote(dir / "b1.fq"), b2 = ShellQuote(dir / "b2.fq"), i = ShellQuote(dir / "i.fq");
  auto bwa = RunShell("bwa mem -t 2 " + ShellQuote(ref) + " " + b1 + " " + b2 + " > " + ShellQuote(dir / "bwa.sam"));
  ASSERT_EQ(bwa.exit_code, 0) << bwa.err;  // bwa stops on "paired reads have different names"
  EXPECT_EQ(Count("samtools view -c -F 0x900 -f 1 " + ShellQuote(dir / "bwa.sam")), 2 * pairs);
  EXPECT_EQ(PairsOutOfSync("cat " + ShellQuote(dir / "bwa.sam")), 0u);
  EXPECT_EQ(PairsOutOfSync("bwa mem -t 2 -p " + ShellQuote(ref) + " " + i + " 2>/dev/null"), 0u);
  EXPECT_EQ(PairsOutOfSync("minimap2 -t 2 -ax sr " + ShellQuote(ref) + " " + b1 + " " + b2 + " 2>/dev/null"), 0u);
  // minimap2 pairs them: most pairs proper, as from the original files (15 of 15,440 reads
  // paired when the files were out of sync).
  const uint64_t proper = Count("minimap2 -t 2 -ax sr " + ShellQuote(ref) + " " + b1 + " " + b2 +
                                " 2>/dev/null | samtools view -c -F 0x900 -f 2 -");
  const uint64_t proper_original = Count("minimap2 -t 2 -ax sr " + ShellQuote(ref) + " " + ShellQuote(SharedPath(r1)) +
                                         " " + ShellQuote(SharedPath(r2)) + " 2>/dev/null | samtools view -c -F 0x900 -f 2 -");
  EXPECT_EQ(proper, proper_original);
}

// SRA deflines (fastq-dump style, made from a real set's Illumina names): stored by their place,
// so the SRA name, the original name's comment, "length=" and the repeated '+' line cost
// (almost) nothing over the original names alone; the FASTQ comes back byte for byte, verify
// --against reads the inputs the same way, and without the order kept they stay as they were.
TEST(SraDeflinesThroughCompress, CostNothingOverTheOriginalNamesAndComeBackExactly) {
  const char* fq = "human-chrM-na12878/hts-specs/NA12878_chrM_htsspecs.allreads.fastq.gz";
  CRAMJET_REQUIRE_SHARED_DATA(fq);
  if (!testing::ToolAvailable("samtools")) GTEST_SKIP() << "samtools not installed";
  TempDir dir;
  const std::string ref = IndexedReferenceCopy(dir, "human-chrM-na12878/chrM_hg19.fa");
  ASSERT_FALSE(ref.empty());
  const std::string sra = dir / "sra.fastq", plain = dir / "plain.fastq";
  // Spot 500 is missing (a gap): the count goes on from the next name.
  ASSERT_EQ(RunShell("zcat " + ShellQuote(SharedPath(fq)) + " | awk 'NR % 4 == 1 { h = substr($1, 2); next } "
                     "NR % 4 == 2 { s = $0; next } NR % 4 == 0 { n++; if (n >= 500) m = n + 1; else m = n; "
                     "d = \"SRR504956.\" m \" \" h \" length=\" length(s); "
                     "print \"@\" d; print s; print \"+\" d; print $0 }' > " + ShellQuote(sra)).exit_code, 0);
  ASSERT_EQ(RunShell("zcat " + ShellQuote(SharedPath(fq)) + " > " + ShellQuote(plain)).exit_code, 0);
  for (const char* f : {"sra", "plain"}) {
    auto c = RunCramjet("compress -q --no-qc -T " + ShellQuote(ref) + " -o " + ShellQuote(dir / (std::string(f) + ".cram")) +
                        " " + ShellQuote(dir / (std::string(f) + ".fastq")));
    ASSERT_EQ(c.exit_code, 0) << c.err;
  }
  EXPECT_EQ(RunShell("samtools view -H " + ShellQuote(dir / "sra.cram") + " | grep -c 'pl:header.sd:SRR504956.1.sl:length'").out, "1\n");
  auto size = [&](const char* f) { return Count("stat -c %s " + ShellQuote(dir / f)); };
  // 20,000 reads: at most 0.1 byte a read over the CRAM of the same reads with their own names.
  EXPECT_LE(size("sra.cram"), size("plain.cram") + 2000) << size("sra.cram") << " vs " << size("plain.cram");
  auto d = RunCramjet("decompress -o " + ShellQuote(dir / "back.fq") + " " + ShellQuote(dir / "sra.cram"));
  ASSERT_EQ(d.exit_code, 0) << d.err;
  EXPECT_EQ(RunShell("cmp " + ShellQuote(sra) + " " + ShellQuote(dir / "back.fq")).exit_code, 0);
  auto v = RunCramjet("verify " + ShellQuote(dir / "sra.cram") + " --against " + ShellQuote(sra));
  EXPECT_EQ(v.exit_code, 0) << v.out << v.err;
  // --no-keep-order: the names stay SRA names (nothing to derive them from), still lossless.
  auto n = RunCramjet("compress -q --no-qc --no-keep-order -T " + ShellQuote(ref) + " -o " +
                      ShellQuote(dir / "nko.cram") + " " + ShellQuote(sra));
  ASSERT_EQ(n.exit_code, 0) << n.err;
  EXPECT_EQ(RunShell("samtools view -H " + ShellQuote(dir / "nko.cram") + " | grep -c 'sd:'").out, "0\n");
  auto nd = RunCramjet("decompress -o " + ShellQuote(dir / "nko.fq") + " " + ShellQuote(dir / "nko.cram"));
  ASSERT_EQ(nd.exit_code, 0) << nd.err;
  EXPECT_EQ(RunShell("cmp <(paste - - - - < " + ShellQuote(sra) + " | sort) <(paste - - - - < " +
                     ShellQuote(dir / "nko.fq") + " | sort)").exit_code, 0);
}

// Every mapper backend gives the same CRAM bytes (in-process, tests/map compares the records of
// every compiled SIMD target with the scalar twin).
TEST(MappedCompress, EveryBackendGivesTheSameCramBytes) {
  const char* r1 = "sarscov2-miseq-amplicon/subsample1_1.fastq.gz";
  const char* r2 = "sarscov2-miseq-amplicon/subsample1_2.fastq.gz";
  CRAMJET_REQUIRE_SHARED_DATA(r1);
  TempDir dir;
  const std::string ref = IndexedReferenceCopy(dir, "sarscov2-miseq-amplicon/MN908947.3.fasta");
  ASSERT_FALSE(ref.empty());
  std::vector<std::string> made;
  for (const char* accel : {"scalar", "simd", "opencl"}) {
    std::string sub = dir / accel;
    auto c = CompressIn(sub, std::string("-q -@ 2 --accel ") + accel + " -T " + ShellQuote(ref) + " " +
                                 ShellQuote(SharedPath(r1)) + " " + ShellQuote(SharedPath(r2)));
    if (std::string(accel) == "opencl" && c.exit_code != 0) {
      std::printf("opencl backend not available here: %s", c.err.c_str());
      continue;
    }
    ASSERT_EQ(c.exit_code, 0) << accel << ": " << c.err;
    made.push_back(sub + "/m.cram");
  }
  ASSERT_GE(made.size(), 2u);
  for (size_t i = 1; i < made.size(); ++i)
    EXPECT_EQ(RunShell("cmp " + ShellQuote(made[0]) + " " + ShellQuote(made[i])).exit_code, 0) << made[i];
}

// --parallel-encode is kept for old scripts and changes nothing: every thread encodes already.
TEST(MappedCompress, ParallelEncodeIsANoOpAlias) {
  const char* r1 = "human-exome-novaseq/fastq/Sample1.fastq.gz";
  CRAMJET_REQUIRE_SHARED_DATA(r1);
  TempDir dir;
  const std::string ref = IndexedReferenceCopy(dir, "human-exome-novaseq/ref.fa.gz");
  ASSERT_FALSE(ref.empty());
  for (const char* mode : {"", "--parallel-encode"}) {
    auto c = CompressIn(dir / (*mode ? "p" : "d"), std::string("-q -@ 2 --profile small ") + mode + " -T " +
                                                      ShellQuote(ref) + " " + ShellQuote(SharedPath(r1)));
    ASSERT_EQ(c.exit_code, 0) << mode << c.err;
  }
  // @PG CL names the flag, so compare everything after the header: the records' containers.
  EXPECT_EQ(RunShell("cmp <(samtools view " + ShellQuote(dir / "d/m.cram") + ") <(samtools view " +
                     ShellQuote(dir / "p/m.cram") + ")").exit_code, 0);
  auto v = RunCramjet("verify " + ShellQuote(dir / "p/m.cram"));
  EXPECT_EQ(v.exit_code, 0) << v.out << v.err;
}

TEST(MappedCompress, MissingIndexIsAClearError) {
  TempDir dir;
  testing::WriteFile(dir / "ref.fa", ">c1\nACGTACGTACGTACGTACGTACGTACGTACGTAC\n");
  testing::WriteFile(dir / "a.fq", "@r1\nACGTACGTACGTACGTACGT\n+\nIIIIIIIIIIIIIIIIIIII\n");
  std::string args = " -T " + ShellQuote(dir / "ref.fa") + " -o " + ShellQuote(dir / "o.cram") + " " +
                     ShellQuote(dir / "a.fq");
  // FASTQ is mapped by default: no index, no output, and the message says the three ways out.
  auto r = RunCramjet("compress" + args);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err, "cramjet compress: error: no mapper index for '" + dir / "ref.fa" + "' ('" + dir / "ref.fa" +
                       ".cjidx' is missing): run `cramjet index " + dir / "ref.fa" +
                       "`, or let compress build it (--build-index), or store the reads unplaced (--unaligned)\n");
  EXPECT_FALSE(testing::PathExists(dir / "o.cram"));
  EXPECT_EQ(testing::ListDir(dir.path()).size(), 2u);  // ref.fa and a.fq only: no temporaries
  // --build-index makes the index, then maps.
  auto b = RunCramjet("compress -q --build-index" + args);
  ASSERT_EQ(b.exit_code, 0) << b.err;
  EXPECT_TRUE(testing::PathExists(dir / "ref.fa.cjidx"));
  EXPECT_EQ(RunShell("samtools view -c -F 4 " + ShellQuote(dir / "o.cram")).out, "1\n");
  // A stale index (the FASTA changed after it was built) is refused, and rebuilt on request.
  testing::WriteFile(dir / "ref.fa", ">c1\nTTTTACGTACGTACGTACGTACGTACGTACGTACGT\n");
  auto stale = RunCramjet("compress" + args);
  EXPECT_EQ(stale.exit_code, 1);
  EXPECT_NE(stale.err.find("is stale or belongs to another FASTA"), std::string::npos) << stale.err;
  // The .fai the first job left is older than the new FASTA: built again, not trusted (htslib
  // would read the new file with the old line offsets), so the M5 is the new sequence's.
  auto rebuilt = RunCramjet("compress -q --build-index" + args);
  EXPECT_EQ(rebuilt.exit_code, 0) << rebuilt.err;
  EXPECT_EQ(RunShell("samtools view -H " + ShellQuote(dir / "o.cram") + " | grep -o 'M5:[0-9a-f]*'").out,
            "M5:" + Md5Hex("TTTTACGTACGTACGTACGTACGTACGTACGTACGT") + "\n");
}

// Long reads as MinKNOW and Dorado write them (issue 11, item 4): MinKNOW's "key=value" header
// words (runid=, read=, ch=, start_time=, flow_cell_id=, parent_read_id=), Dorado's tab-separated
// SAM tags after the read id, reads of 100 bp to 120 kb, qualities up to Q93 ('~'); placed by the
// long-read path and given back byte for byte.
TEST(LongReadFastq, MinknowAndDoradoHeadersComeBackByteForByte) {
  const char* chr2 = "human-chr2-grch38-2mb/hg38_chr2_1-2333275.fa.gz";
  CRAMJET_REQUIRE_SHARED_DATA(chr2);
  if (!testing::ToolAvailable("samtools")) GTEST_SKIP() << "samtools not installed";
  TempDir dir;
  const std::string ref = dir / "chr2.fa", fq = dir / "ont.fastq";
  ASSERT_EQ(RunShell("zcat " + ShellQuote(SharedPath(chr2)) + " > " + ShellQuote(ref)).exit_code, 0);
  ASSERT_EQ(RunCramjet("index " + ShellQuote(ref)).exit_code, 0);
  const char* generator = R"PY(
import random, sys
random.seed(11)
seq = "".join(l.strip() for l in open(sys.argv[1]) if not l.startswith(">")).upper()
comp = str.maketrans("ACGTN", "TGCAN")
out = open(sys.argv[2], "w")
lengths = [100, 150, 800, 2000, 15000, 48000, 120000, 5000]
for i, n in enumerate(lengths):
    start = random.randrange(0, len(seq) - n)
    s = list(seq[start:start + n])
    r = []
    for c in s:  # ~8% errors, R9.4.1-like: more deletions and insertions than substitutions
        x = random.random()
        if x < 0.02: r.append(random.choice("ACGT"))
        elif x < 0.05: r.extend([c, random.choice("ACGT")])
        elif x < 0.08: pass
        else: r.append(c)
    read = "".join(r)
    if i % 2: read = read.translate(comp)[::-1]
    if i == 7: read = "".join(random.choice("ACGT") for _ in range(n))  # from nothing in chr2
    qual = "".join(chr(33 + min(93, int(random.expovariate(1 / 14)))) for _ in read)
    qual = "~" + qual[1:-1] + "!"
    rid = "%08x-%04x-%04x-%04x-%012x" % tuple(random.getrandbits(b) for b in (32, 16, 16, 16, 48))
    if i < 4:
        h = "@%s runid=4f1a9b7c2e0d8a6b5c3e1f0a9b8c7d6e5f4a3b2c read=%d ch=%d start_time=2026-11-30T09:%02d:17.512345+00:00 flow_cell_id=PAQ12345 protocol_group_id=run42 sample_id=NA12878 barcode=barcode07 barcode_alias=barcode07" % (rid, 1000 + i, 17 + 40 * i, i)
        if i == 3: h += " parent_read_id=" + rid.replace("-", "")[::-1][:8] + rid[8:]
    else:
        h = "@%s\tqs:i:%d\tdu:f:%.4f\tns:i:%d\tts:i:%d\tmx:i:1\tch:i:%d\tst:Z:2026-11-30T10:0%d:00.000+00:00\trn:i:%d\tfn:Z:PAQ12345_pass_4f1a9b7c_0.pod5\tsm:f:93.3\tsd:f:11.1\tsv:Z:quantile\tdx:i:0\tRG:Z:4f1a9b7c_dna_r10.4.1_e8.2_400bps_sup@v4.3.0\tpi:Z:%s" % (rid, 12 + i, n / 400.0, n * 10, 120, 300 + i, i, 2000 + i, rid)
    out.write(h + "\n" + read + "\n+\n" + qual + "\n")
)PY";
  testing::WriteFile(dir / "gen.py", generator);
  ASSERT_EQ(RunShell("python3 " + ShellQuote(dir / "gen.py") + " " + ShellQuote(ref) + " " + ShellQuote(fq)).exit_code, 0);
  const std::string cram = dir / "ont.cram";
  auto c = RunCramjet("compress -q --long-reads ont -T " + ShellQuote(ref) + " -o " + ShellQuote(cram) + " " + ShellQuote(fq));
  ASSERT_EQ(c.exit_code, 0) << c.err;
  // Seven reads come from chr2 and are placed; the random one is stored unplaced.
  EXPECT_EQ(RunShell("samtools view -c -F 4 " + ShellQuote(cram)).out, "7\n");
  EXPECT_EQ(RunShell("samtools view -c -f 4 " + ShellQuote(cram)).out, "1\n");
  auto d = RunCramjet("decompress -o " + ShellQuote(dir / "back.fastq") + " " + ShellQuote(cram));
  ASSERT_EQ(d.exit_code, 0) << d.err;
  EXPECT_EQ(RunShell("cmp " + ShellQuote(fq) + " " + ShellQuote(dir / "back.fastq")).exit_code, 0);
  auto v = RunCramjet("verify " + ShellQuote(cram) + " --against " + ShellQuote(fq));
  EXPECT_EQ(v.exit_code, 0) << v.out << v.err;
  // A preset that does not exist is a usage error naming the choices.
  auto bad = RunCramjet("compress -q --long-reads nanopore -T " + ShellQuote(ref) + " -o " + ShellQuote(dir / "x.cram") + " " + ShellQuote(fq));
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_EQ(bad.err, "cramjet compress: error: --long-reads 'nanopore': expected none, ont, hifi or clr\n");
  EXPECT_FALSE(testing::PathExists(dir / "x.cram"));
}

// The @SQ MD5s of a mapped job come from the mapper index (no 30 s hash of a genome before the
// job starts), and a thread beside the job confirms them against the FASTA before the commit: a
// FASTA edited behind an unchanged size and modification time fails the job, with no output.
TEST(MappedCompress, AFastaChangedBehindItsIndexFailsBeforeTheCommit) {
  TempDir dir;
  std::mt19937 rng(3);
  std::string bases;
  for (int i = 0; i < 5000; ++i) bases.push_back("ACGT"[rng() % 4]);
  const std::string fasta = dir / "ref.fa";
  testing::WriteFile(fasta, ">c1\n" + bases + "\n");
  testing::WriteFile(dir / "a.fq", "@r1\n" + bases.substr(1000, 100) + "\n+\n" + std::string(100, 'I') + "\n");
  std::string args = " -T " + ShellQuote(fasta) + " -o " + ShellQuote(dir / "o.cram") + " " + ShellQuote(dir / "a.fq");
  ASSERT_EQ(RunCramjet("index " + ShellQuote(fasta)).exit_code, 0);
  auto ok = RunCramjet("compress -q --no-qc" + args);
  ASSERT_EQ(ok.exit_code, 0) << ok.err;
  const std::string m5 = RunShell("samtools view -H " + ShellQuote(dir / "o.cram") + " | grep -o 'M5:[0-9a-f]*'").out;
  EXPECT_EQ(m5, "M5:" + Md5Hex(bases) + "\n");
  ASSERT_EQ(RunShell("rm " + ShellQuote(dir / "o.cram") + "*").exit_code, 0);
  // One base changed in place; size and modification time (to the nanosecond) put back.
  struct stat before;
  ASSERT_EQ(::stat(fasta.c_str(), &before), 0);
  std::string changed = bases;
  changed[4000] = changed[4000] == 'A' ? 'C' : 'A';
  testing::WriteFile(fasta, ">c1\n" + changed + "\n");
  const timespec times[2] = {before.st_atim, before.st_mtim};
  ASSERT_EQ(::utimensat(AT_FDCWD, fasta.c_str(), times, 0), 0);
  auto r = RunCramjet("compress --no-qc" + args);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err, "cramjet compress: error: '" + fasta + "': contig 'c1' has MD5 " + Md5Hex(changed) +
                       ", not the " + Md5Hex(bases) + " its mapper index recorded: the FASTA changed after it " +
                       "was indexed (its size and modification time did not); run `cramjet index " + fasta + "`\n");
  EXPECT_FALSE(testing::PathExists(dir / "o.cram"));
}

}  // namespace
}  // namespace cramjet::roundtrip
