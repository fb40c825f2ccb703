// tests/pipeline/roundtrip_sets.h — what the round-trip tests share: a real data set of
// ../shared/data and the helpers that run cramjet and samtools on it.
#pragma once

#include <fcntl.h>
#include <sys/stat.h>

#include <ostream>
#include <string>
#include <vector>

#include "common/common.h"
#include "common/test_util.h"

namespace cramjet::roundtrip {

using testing::RunCramjet;
using testing::RunShell;
using testing::ShellQuote;
using testing::SharedPath;
using testing::TempDir;


struct DataSet {
  const char* name;
  const char* reference;
  std::vector<const char*> files;  // one (single-end) or two (R1, R2), or one BAM
  bool paired;
};

inline std::ostream& operator<<(std::ostream& os, const DataSet& d) { return os << d.name; }

inline std::string Files(const DataSet& d) {
  std::string s;
  for (const char* f : d.files) {
    s += ' ';  // appended apart: GCC 12's -Wrestrict misfires on " " + std::string
    s += ShellQuote(SharedPath(f));
  }
  return s;
}

// Why a set cannot run here (its files or samtools absent), or "" when it can.
inline std::string MissingForSet(const DataSet& d) {
  if (testing::SharedDataDir().empty()) return "shared data not found (../shared/data)";
  for (const char* f : d.files)
    if (!testing::PathExists(SharedPath(f))) return std::string("shared data not found: ") + f;
  if (!testing::ToolAvailable("samtools")) return "samtools not installed";
  return "";
}
// Skips the calling test, visibly, when the set cannot run. A macro: GTEST_SKIP() returns from the
// function it is written in, so inside a helper the test would have gone on (and failed).
#define CRAMJET_REQUIRE_SET(d)                                      \
  do {                                                              \
    const std::string missing_for_set = MissingForSet(d);           \
    if (!missing_for_set.empty()) GTEST_SKIP() << missing_for_set;  \
  } while (0)

inline uint64_t Count(const std::string& cmd) {
  auto r = RunShell(cmd);
  EXPECT_EQ(r.exit_code, 0) << cmd << "\n" << r.err;
  return std::stoull(r.out.empty() ? "0" : r.out);
}

// "dir/ref.fa": an indexed copy of a shared reference (plain or gzip). The mapper's index lives
// beside the FASTA, and ../shared/data is never written. Empty when that failed.
inline std::string IndexedReferenceCopy(const TempDir& dir, const std::string& shared_reference) {
  const std::string ref = dir / "ref.fa";
  auto copy = RunShell("zcat -f " + ShellQuote(SharedPath(shared_reference)) + " > " + ShellQuote(ref));
  EXPECT_EQ(copy.exit_code, 0) << copy.err;
  auto index = RunCramjet("index " + ShellQuote(ref));
  EXPECT_EQ(index.exit_code, 0) << index.err;
  return copy.exit_code == 0 && index.exit_code == 0 ? ref : std::string();
}

// `cramjet compress ARGS -o m.cram` run inside `folder` (made if missing): the same relative -o
// gives the same @PG CL, so CRAMs made this way in two folders can be compared byte for byte.
inline testing::CommandResult CompressIn(const std::string& folder, const std::string& args) {
  return RunShell("mkdir -p " + ShellQuote(folder) + " && cd " + ShellQuote(folder) + " && " +
                  ShellQuote(testing::CramjetBinary()) + " compress " + args + " -o m.cram");
}


// Every real FASTQ set in ../shared/data, with its reference.
inline const std::vector<DataSet>& RealFastqSets() {
  static const std::vector<DataSet> sets = {
        DataSet{"ecoli_10k_paired", "ecoli-10k-paired/reference_MG1655_first10k.fasta",
                {"ecoli-10k-paired/reads1.fastq.gz", "ecoli-10k-paired/reads2.fastq.gz"}, true},
        DataSet{"ecoli_hiseq", "ecoli-mg1655-hiseq/E.coli.fa",
                {"ecoli-mg1655-hiseq/E.coli.allreads.fastq.gz"}, false},
        DataSet{"chrM_1000g_HG03478", "human-chrM-1000g-lowcov/rCRS.fasta",
                {"human-chrM-1000g-lowcov/bam/HG03478.MT.allreads.fastq.gz"}, false},
        DataSet{"chrM_1000g_HG03706", "human-chrM-1000g-lowcov/rCRS.fasta",
                {"human-chrM-1000g-lowcov/bam/HG03706.MT.allreads.fastq.gz"}, false},
        DataSet{"chrM_na12878_htsspecs", "human-chrM-na12878/chrM_hg19.fa",
                {"human-chrM-na12878/hts-specs/NA12878_chrM_htsspecs.allreads.fastq.gz"}, false},
        DataSet{"chrM_na12878_strelka", "human-chrM-na12878/chrM_hg19.fa",
                {"human-chrM-na12878/strelka/NA12878_chrM_strelka.allreads.fastq.gz"}, false},
        DataSet{"chrM_paired_binned", "human-chrM-paired-binned/chrM_NC_012920.1.fa",
                {"human-chrM-paired-binned/fastq/micro_R1.fq.gz",
                 "human-chrM-paired-binned/fastq/micro_R2.fq.gz"}, true},
        DataSet{"ex1_2008", "human-ex1-2008/ex1.fa", {"human-ex1-2008/ex1.allreads.fastq.gz"}, false},
        DataSet{"exome_sample1", "human-exome-novaseq/ref.fa.gz",
                {"human-exome-novaseq/fastq/Sample1.fastq.gz"}, false},
        DataSet{"exome_sample6", "human-exome-novaseq/ref.fa.gz",
                {"human-exome-novaseq/fastq/Sample6.fastq.gz"}, false},
        DataSet{"na12878_chr20_21_paired",
                "human-na12878-chr20-21-paired/human_g1k_v37.20.21.10M-10M200k.fasta",
                {"human-na12878-chr20-21-paired/NA12878_20_21_R1.fastq.gz",
                 "human-na12878-chr20-21-paired/NA12878_20_21_R2.fastq.gz"}, true},
        DataSet{"na12878_chr20_21_single",
                "human-na12878-chr20-21-paired/human_g1k_v37.20.21.10M-10M200k.fasta",
                {"human-na12878-chr20-21-paired/NA12878_20_21_single.fastq.gz"}, false},
        DataSet{"na12878_chr22_tiny", "human-na12878-chr22-tiny/q.fa",
                {"human-na12878-chr22-tiny/NA12878.chr22.tiny.allreads.fastq.gz"}, false},
        DataSet{"sarscov2_paired", "sarscov2-miseq-amplicon/MN908947.3.fasta",
                {"sarscov2-miseq-amplicon/subsample1_1.fastq.gz",
                 "sarscov2-miseq-amplicon/subsample1_2.fastq.gz"}, true}
  };
  return sets;
}

}  // namespace cramjet::roundtrip
