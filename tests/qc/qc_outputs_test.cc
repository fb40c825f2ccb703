// The outputs as other tools read them: MultiQC (Debian's multiqc) on a real sample, the HTML
// report in headless Chromium, and `cramjet qc` on the command line.
#include <regex>

#include <nlohmann/json.hpp>

#include <gtest/gtest.h>

#include "common/test_util.h"

namespace cramjet {
namespace {

using nlohmann::json;
using testing::RunCramjet;
using testing::RunShell;
using testing::SharedPath;
using testing::ShellQuote;
using testing::TempDir;

const char kExomeBam[] = "human-exome-novaseq/bam/Sample1.bam";
const char kChrMBam[] = "human-chrM-1000g-lowcov/bam/HG03478.mapped.ILLUMINA.bwa.MSL.low_coverage.20121211.bam";
const char kChrMRef[] = "human-chrM-1000g-lowcov/rCRS.fasta";

// Column `column` of the row for `sample` in a MultiQC tab-separated data file.
std::string MultiqcValue(const std::string& table, const std::string& sample, const std::string& column) {
  std::istringstream in(table);
  std::string header, line;
  std::getline(in, header);
  std::vector<std::string> names;
  std::istringstream h(header);
  for (std::string f; std::getline(h, f, '\t');) names.push_back(f);
  while (std::getline(in, line)) {
    std::vector<std::string> f;
    std::istringstream l(line);
    for (std::string x; std::getline(l, x, '\t');) f.push_back(x);
    if (f.empty() || f[0] != sample) continue;
    for (size_t i = 0; i < names.size() && i < f.size(); ++i) {
      // General statistics columns carry a module prefix: "...-fastp-pct_duplication".
      const std::string& n = names[i];
      const bool suffix = n.size() > column.size() && n.compare(n.size() - column.size(), column.size(), column) == 0 &&
                          n[n.size() - column.size() - 1] == '-';
      if (n == column || suffix)
        return f[i];
    }
  }
  return "";
}

TEST(QcOutputs, MultiqcReportsTheSampleValues) {
  CRAMJET_REQUIRE_SHARED_DATA(kExomeBam);
  if (!testing::ToolAvailable("multiqc")) GTEST_SKIP() << "multiqc not installed (scripts/setup-debian.sh)";
  TempDir dir;
  RunShell("mkdir -p " + ShellQuote(dir / "qc"));
  const auto run = RunCramjet("qc " + ShellQuote(SharedPath(kExomeBam)) + " -o " + ShellQuote(dir / "qc/Sample1"));
  ASSERT_EQ(run.exit_code, 0) << run.err;
  const json qc = json::parse(testing::ReadFile(dir / "qc/Sample1.qc.json"));
  const auto mqc = RunShell("multiqc -q -f --no-ansi -o " + ShellQuote(dir / "report") + " " + ShellQuote(dir / "qc"));
  ASSERT_EQ(mqc.exit_code, 0) << mqc.err;
  const std::string data = dir / "report/multiqc_data";
  // samtools stats module: the SN numbers.
  const std::string samtools = testing::ReadFile(data + "/multiqc_samtools_stats.txt");
  EXPECT_EQ(MultiqcValue(samtools, "Sample1", "raw_total_sequences"), "23388.0");
  EXPECT_EQ(MultiqcValue(samtools, "Sample1", "reads_duplicated"), "11261.0");
  // fastp module: general statistics columns.
  const std::string general = testing::ReadFile(data + "/multiqc_general_stats.txt");
  const double q30_rate = std::stod(MultiqcValue(general, "Sample1", "after_filtering_q30_rate"));
  EXPECT_NEAR(q30_rate * 100, qc["summary"]["q30_percent"].get<double>(), 1e-6);
  const double dup = std::stod(MultiqcValue(general, "Sample1", "pct_duplication"));
  EXPECT_NEAR(dup, qc["summary"]["duplication_percent"].get<double>(), 1e-6);
  EXPECT_EQ(MultiqcValue(general, "Sample1", "raw_total_sequences"), "23388.0");
  // Custom content: cramjet's columns in General Statistics, the verdict among them.
  EXPECT_EQ(MultiqcValue(general, "Sample1", "cramjet-verdict"), qc["verdict"].get<std::string>());
  EXPECT_NEAR(std::stod(MultiqcValue(general, "Sample1", "cramjet-q30_percent")), qc["summary"]["q30_percent"].get<double>(),
              1e-9);
  EXPECT_NEAR(std::stod(MultiqcValue(general, "Sample1", "cramjet-placed_percent")),
              qc["summary"]["placed_percent"].get<double>(), 1e-9);
  const std::string html = testing::ReadFile(dir / "report/multiqc_report.html");
  EXPECT_NE(html.find("Sample1"), std::string::npos);
  // Titled, described, with units; the headline columns shown, the rest hidden until chosen.
  auto header = [&](const std::string& key) {
    const size_t at = html.find("<th id=\"header_mqc-generalstats-cramjet-" + key + "\"");
    return at == std::string::npos ? std::string() : html.substr(at, html.find("</th>", at) - at);
  };
  EXPECT_NE(header("verdict").find(">QC</span>"), std::string::npos) << header("verdict");
  EXPECT_EQ(header("verdict").find(" hidden\""), std::string::npos) << header("verdict");
  EXPECT_NE(header("placed_percent").find("title=\"cramjet: Primary reads placed on the reference\">% Placed</span>"),
            std::string::npos)
      << header("placed_percent");
  EXPECT_NE(header("q30_percent").find(" hidden\""), std::string::npos) << header("q30_percent");
  EXPECT_NE(header("q30_percent_verdict").find(" hidden\""), std::string::npos) << header("q30_percent_verdict");
  EXPECT_NE(header("adapter_truseq_percent").find(">% TruSeq</span>"), std::string::npos)  // not a snake_case title
      << header("adapter_truseq_percent");
}

// Long reads (issue 11, item 5): read-length N50, per-read mean quality and identity in qc.json,
// each checked against an independent computation (Python over the FASTQ; identity against
// pbsim's true alignments), and the N50 in MultiQC's table.
TEST(QcOutputs, LongReadN50MeanQualityAndIdentity) {
  const char* chr2 = "human-chr2-grch38-2mb/hg38_chr2_1-2333275.fa.gz";
  CRAMJET_REQUIRE_SHARED_DATA(chr2);
  if (!testing::ToolAvailable("pbsim") || !testing::ToolAvailable("multiqc"))
    GTEST_SKIP() << "pbsim or multiqc not installed (scripts/setup-debian.sh)";
  TempDir dir;
  const std::string ref = dir / "chr2.fa";
  ASSERT_EQ(RunShell("zcat " + ShellQuote(SharedPath(chr2)) + " | grep -v '^$' > " + ShellQuote(ref)).exit_code, 0);
  ASSERT_EQ(RunCramjet("index " + ShellQuote(ref)).exit_code, 0);
  ASSERT_EQ(RunShell("cd " + ShellQuote(dir.path()) + " && pbsim --prefix ont --data-type CLR --depth 1 --length-min 100 "
                     "--length-mean 6000 --length-sd 5000 --length-max 60000 --accuracy-mean 0.90 --accuracy-sd 0.04 "
                     "--accuracy-min 0.80 --difference-ratio 23:31:46 --model_qc /usr/share/pbsim/models/model_qc_clr "
                     "--seed 5 chr2.fa").exit_code, 0);
  RunShell("mkdir -p " + ShellQuote(dir / "qc"));
  const auto c = RunCramjet("compress -q --long-reads ont -T " + ShellQuote(ref) + " -o " + ShellQuote(dir / "qc/ont.cram") +
                            " " + ShellQuote(dir / "ont_0001.fastq"));
  ASSERT_EQ(c.exit_code, 0) << c.err;
  const json qc = json::parse(testing::ReadFile(dir / "qc/ont.qc.json"));
  const json& single = qc["mates"]["single"];

  // Independent figures: N50 and per-read floor(mean Phred) from the FASTQ, identity from the MAF
  // (matching columns / alignment columns of each true alignment).
  const char* expected_py = R"PY(
import json, sys
lines = open(sys.argv[1]).read().split("\n")
lengths = [len(lines[i]) for i in range(1, len(lines) - 1, 4)]
quals = [lines[i] for i in range(3, len(lines), 4)]
total, cum = sum(lengths), 0
for n50 in sorted(lengths, reverse=True):
    cum += n50
    if 2 * cum >= total: break
hist = [0] * 94
for q in quals: hist[min(93, sum(ord(c) - 33 for c in q) // len(q))] += 1
ids, ref = [], None
for line in open(sys.argv[2]):
    if not line.startswith("s "): continue
    aln = line.split()[6]
    if ref is None: ref = aln; continue
    cols = len(aln)
    ids.append(sum(1 for a, b in zip(ref.upper(), aln.upper()) if a == b and a != "-") / cols)
    ref = None
print(json.dumps({"n50": n50, "hist": hist, "identity": 100 * sum(ids) / len(ids)}))
)PY";
  testing::WriteFile(dir / "expected.py", expected_py);
  const auto e = RunShell("python3 " + ShellQuote(dir / "expected.py") + " " + ShellQuote(dir / "ont_0001.fastq") + " " +
                          ShellQuote(dir / "ont_0001.maf"));
  ASSERT_EQ(e.exit_code, 0) << e.err;
  const json expected = json::parse(e.out);
  EXPECT_EQ(single["n50_length"], expected["n50"]);
  EXPECT_EQ(qc["summary"]["n50_length"], expected["n50"]);
  EXPECT_EQ(single["read_mean_quality_histogram"], expected["hist"]);
  // The placed alignment is minimap2's, a little better than the simulator's own: within 1.5 points.
  EXPECT_EQ(single["identity"]["reads"], single["placed"]["reads"]);
  EXPECT_NEAR(single["identity"]["mean_percent"].get<double>(), expected["identity"].get<double>(), 1.5);
  EXPECT_GE(single["identity"]["mean_percent"].get<double>(), expected["identity"].get<double>() - 0.5);

  const auto mqc = RunShell("multiqc -q -f --no-ansi -o " + ShellQuote(dir / "report") + " " + ShellQuote(dir / "qc"));
  ASSERT_EQ(mqc.exit_code, 0) << mqc.err;
  const std::string custom = testing::ReadFile(dir / "report/multiqc_data/multiqc_general_stats.txt");
  const std::string sample = qc["sample"];
  EXPECT_EQ(std::stod(MultiqcValue(custom, sample, "cramjet-read_length_n50")), expected["n50"].get<double>()) << custom;
  EXPECT_NEAR(std::stod(MultiqcValue(custom, sample, "cramjet-identity_mean_percent")),
              single["identity"]["mean_percent"].get<double>(), 1e-6);
}

// The report in headless Chromium (issue 14): every plot drawn, a panel per read, the duplication
// histogram and overrepresented section, hover values shown under a pointer, no console error.
// The screenshots (build/test-output/qc/qc.png, qc-hover.png) are for a person to look at.
TEST(QcOutputs, HtmlReportDrawsEveryPlotInHeadlessChromium) {
  CRAMJET_REQUIRE_SHARED_DATA(kChrMBam);
  if (!testing::ToolAvailable("chromium")) GTEST_SKIP() << "chromium not installed (scripts/setup-debian.sh)";
  TempDir dir;
  // The BAM names the contig "MT", the FASTA "rCRS": a renamed copy in the temporary folder lets
  // the mismatch plot draw (the data set itself is read-only and never copied into the project).
  RunShell("sed 's/^>rCRS.*/>MT/' " + ShellQuote(SharedPath(kChrMRef)) + " > " + ShellQuote(dir / "mt.fa"));
  const auto run = RunCramjet("qc " + ShellQuote(SharedPath(kChrMBam)) + " -T " + ShellQuote(dir / "mt.fa") +
                              " -o " + ShellQuote(dir / "HG03478"));
  // Exit 5 is a fail verdict (this low-coverage set has one); the report is written either way.
  ASSERT_TRUE(run.exit_code == 0 || run.exit_code == 5) << run.exit_code << run.err;
  const std::string html = testing::ReadFile(dir / "HG03478.qc.html");
  // Self-contained: nothing fetched from anywhere.
  for (const char* forbidden : {"src=\"http", "href=\"http", "<link", "@import", "url(http", "src=\"//", "<script src"})
    EXPECT_EQ(html.find(forbidden), std::string::npos) << forbidden;

  // A quality and a composition panel for each read with a real share of the reads (this pair's
  // few orphans have none), as qc.json counts them.
  const json qc = json::parse(testing::ReadFile(dir / "HG03478.qc.json"));
  uint64_t reads = 0;
  for (const auto& [name, mate] : qc["mates"].items()) reads += mate["reads"].get<uint64_t>();
  size_t panels = 0;
  for (const char* mate : {"read1", "read2", "single"}) {
    const bool major = qc["mates"].contains(mate) && qc["mates"][mate]["reads"].get<uint64_t>() * 20 >= reads;
    for (const char* kind : {"quality", "composition"}) {
      const std::string id = std::string("id=\"plot-") + kind + "-" + mate + "\"";
      EXPECT_EQ(html.find(id) != std::string::npos, major) << id;
    }
    panels += major;
  }
  EXPECT_EQ(panels, 2u);  // R1 and R2
  EXPECT_NE(html.find("id=\"plot-duplication\""), std::string::npos);
  EXPECT_NE(html.find(qc["overrepresented"].empty() ? "id=\"overrepresented-none\"" : "<table id=\"overrepresented\">"),
            std::string::npos);
  // 2 panels per read, then GC, length, duplication, insert size, coverage, mismatch, adapter.
  const std::string plots = std::to_string(2 * panels + 7);

  const std::string out_dir = std::string(CRAMJET_BINARY_DIR) + "/test-output/qc";
  RunShell("mkdir -p " + ShellQuote(out_dir) + " && rm -f " + ShellQuote(out_dir + "/qc.png") + " " +
           ShellQuote(out_dir + "/qc-hover.png"));
  const std::string chromium = "timeout 120 chromium --headless --no-sandbox --disable-gpu --disable-background-networking "
                               "--disable-component-update --disable-sync --no-first-run --enable-logging=stderr --v=0 ";
  const std::string url = "file://" + (dir / "HG03478.qc.html");
  const auto dom = RunShell(chromium + "--user-data-dir=" + ShellQuote(dir / "profile1") + " --dump-dom " + ShellQuote(url));
  ASSERT_EQ(dom.exit_code, 0) << dom.err;
  std::smatch body;
  ASSERT_TRUE(std::regex_search(dom.out, body, std::regex("<body[^>]*>"))) << dom.out.substr(0, 500);
  const std::string tag = body.str();
  EXPECT_NE(tag.find("data-qc-ready=\"1\""), std::string::npos) << tag;
  EXPECT_NE(tag.find("data-plots=\"" + plots + "\""), std::string::npos) << tag;
  EXPECT_NE(tag.find("data-plots-drawn=\"" + plots + "\""), std::string::npos) << tag;
  EXPECT_NE(tag.find("data-plots-hover=\"" + plots + "\""), std::string::npos) << tag;
  EXPECT_NE(tag.find("data-errors=\"0\""), std::string::npos) << tag;
  // Console messages Chromium logs (uncaught errors, console.error) would name CONSOLE.
  std::istringstream log(dom.err);
  for (std::string line; std::getline(log, line);) {
    if (line.find("CONSOLE") != std::string::npos) ADD_FAILURE() << "console message: " << line;
  }
  const auto shot = RunShell(chromium + "--user-data-dir=" + ShellQuote(dir / "profile2") +
                             " --window-size=1400,3400 --screenshot=" + ShellQuote(out_dir + "/qc.png") + " " + ShellQuote(url));
  EXPECT_EQ(shot.exit_code, 0) << shot.err;
  EXPECT_GT(testing::ReadFile(out_dir + "/qc.png").size(), 10000u) << "screenshot " << out_dir << "/qc.png";

  // A pointer over the middle of R2's quality panel (cycle 50 of 100): a copy of the report moves
  // it there and records what the tooltip then says. The page's own code does the rest.
  const std::string hover_script =
      "<script>(function(){var p=document.getElementById('plot-quality-read2'),b=document.body;"
      "b.style.marginTop=-(p.getBoundingClientRect().top-40)+'px';var r=p.getBoundingClientRect();"
      "p.dispatchEvent(new MouseEvent('mousemove',{clientX:r.left+60+450*0.5,clientY:r.top+120,bubbles:true}));"
      "var t=document.getElementById('qc-tip');b.setAttribute('data-tip',t.textContent);"
      "b.setAttribute('data-tip-shown',getComputedStyle(t).display);})();</script></body>";
  std::string hovered = html;
  hovered.replace(hovered.rfind("</body>"), 7, hover_script);
  testing::WriteFile(dir / "hover.html", hovered);
  const std::string hover_url = "file://" + (dir / "hover.html");
  const auto hover = RunShell(chromium + "--user-data-dir=" + ShellQuote(dir / "profile3") + " --dump-dom " + ShellQuote(hover_url));
  ASSERT_EQ(hover.exit_code, 0) << hover.err;
  ASSERT_TRUE(std::regex_search(hover.out, body, std::regex("<body[^>]*>"))) << hover.out.substr(0, 500);
  const std::string hover_tag = body.str();
  EXPECT_NE(hover_tag.find("data-tip-shown=\"block\""), std::string::npos) << hover_tag;
  // The cycle under the pointer and R2's values there, read from qc.json.
  const json& r2 = qc["mates"]["read2"]["per_cycle"];
  std::smatch tip;
  ASSERT_TRUE(std::regex_search(hover_tag, tip, std::regex("data-tip=\"cycle: (\\d+)mean: ([0-9.]+)median: (\\d+)"
                                                           "upper quartile: (\\d+)lower quartile: (\\d+)\"")))
      << hover_tag;
  const int cycle = std::stoi(tip[1]);
  EXPECT_NEAR(cycle, 50, 1);
  EXPECT_NEAR(std::stod(tip[2]), r2["quality_mean"][cycle - 1].get<double>(), 0.005);
  EXPECT_EQ(std::stoi(tip[3]), r2["quality_median"][cycle - 1].get<int>());
  EXPECT_EQ(std::stoi(tip[4]), r2["quality_upper_quartile"][cycle - 1].get<int>());
  EXPECT_EQ(std::stoi(tip[5]), r2["quality_lower_quartile"][cycle - 1].get<int>());
  const auto hover_shot = RunShell(chromium + "--user-data-dir=" + ShellQuote(dir / "profile4") +
                                   " --window-size=1400,1000 --screenshot=" + ShellQuote(out_dir + "/qc-hover.png") + " " +
                                   ShellQuote(hover_url));
  EXPECT_EQ(hover_shot.exit_code, 0) << hover_shot.err;
  EXPECT_GT(testing::ReadFile(out_dir + "/qc-hover.png").size(), 10000u) << "screenshot " << out_dir << "/qc-hover.png";
}

TEST(QcCli, WritesFilesBesideThePrefixAndPrintsTheSummary) {
  CRAMJET_REQUIRE_SHARED_DATA("human-chrM-paired-binned/fastq/micro_R1.fq.gz");
  TempDir dir;
  const auto run = RunCramjet("qc " + ShellQuote(SharedPath("human-chrM-paired-binned/fastq/micro_R1.fq.gz")) + " " +
                              ShellQuote(SharedPath("human-chrM-paired-binned/fastq/micro_R2.fq.gz")) +
                              " --sample micro -@ 2 -o " + ShellQuote(dir / "m"));
  ASSERT_EQ(run.exit_code, 0) << run.err;
  EXPECT_NE(run.out.find(": 15440 reads, 2276743 bases, QC "), std::string::npos) << run.out;
  for (const char* suffix : {".qc.json", ".qc.html", ".stats", ".fastp.json", "_mqc.json"})
    EXPECT_TRUE(testing::PathExists(dir / (std::string("m") + suffix))) << suffix;
  const json qc = json::parse(testing::ReadFile(dir / "m.qc.json"));
  EXPECT_EQ(qc["sample"], "micro");
  EXPECT_EQ(qc["mates"]["read1"]["reads"], 7720);
  EXPECT_EQ(qc["mates"]["read2"]["reads"], 7720);
}

// A fail verdict reaches whoever ran `cramjet qc` (a pipeline step, a script): exit 5, the files
// written all the same; pass and warn exit 0 (issue 16: a failed QC never reached the operator).
TEST(QcCli, AFailVerdictExitsFiveWithTheFilesWritten) {
  TempDir dir;
  std::string good, bad;
  uint64_t x = 7;
  for (int i = 0; i < 400; ++i) {
    std::string seq;
    for (int j = 0; j < 100; ++j) seq += "ACGT"[(x = x * 6364136223846793005ull + 1442695040888963407ull) >> 62];
    good += "@g" + std::to_string(i) + "\n" + seq + "\n+\n" + std::string(100, 'I') + "\n";
    bad += "@b" + std::to_string(i) + "\n" + seq + "\n+\n" + std::string(100, '#') + "\n";  // Q2
  }
  testing::WriteFile(dir / "good.fq", good);
  testing::WriteFile(dir / "bad.fq", bad);
  const auto failed = RunCramjet("qc " + ShellQuote(dir / "bad.fq") + " -o " + ShellQuote(dir / "bad"));
  EXPECT_EQ(failed.exit_code, 5) << failed.err;
  EXPECT_EQ(failed.err, "");
  EXPECT_NE(failed.out.find(": 400 reads, 40000 bases, QC fail\n"), std::string::npos) << failed.out;
  EXPECT_EQ(json::parse(testing::ReadFile(dir / "bad.qc.json"))["verdict"], "fail");
  for (const char* suffix : {".qc.json", ".qc.html", ".stats", ".fastp.json", "_mqc.json"})
    EXPECT_TRUE(testing::PathExists(dir / (std::string("bad") + suffix))) << suffix;
  const auto passed = RunCramjet("qc " + ShellQuote(dir / "good.fq") + " -o " + ShellQuote(dir / "good"));
  const std::string verdict = json::parse(testing::ReadFile(dir / "good.qc.json"))["verdict"];
  EXPECT_NE(verdict, "fail");
  EXPECT_EQ(passed.exit_code, 0) << passed.out << passed.err;
}

TEST(QcCli, RefusesABadConfigWithFileKeyAndReason) {
  CRAMJET_REQUIRE_SHARED_DATA(kExomeBam);
  TempDir dir;
  testing::WriteFile(dir / "qc.toml", "[thresholds.q30_percent]\nwarn = 120\n");
  const auto run = RunCramjet("qc " + ShellQuote(SharedPath(kExomeBam)) + " --config " + ShellQuote(dir / "qc.toml") +
                              " -o " + ShellQuote(dir / "x"));
  EXPECT_EQ(run.exit_code, 1);
  EXPECT_EQ(run.err, "cramjet qc: error: '" + (dir / "qc.toml") +
                         "': 'thresholds.q30_percent.warn' = 120 is impossible (must be 0 to 100)\n");
  EXPECT_TRUE(testing::ListDir(dir.path()).size() == 1) << "no output files after a refused config";

  testing::WriteFile(dir / "qc.toml", "[thresholds]\nq30 = { warn = 90 }\n");
  const auto unknown = RunCramjet("qc " + ShellQuote(SharedPath(kExomeBam)) + " --config " + ShellQuote(dir / "qc.toml") +
                                  " -o " + ShellQuote(dir / "x"));
  EXPECT_EQ(unknown.exit_code, 1);
  EXPECT_EQ(unknown.err.rfind("cramjet qc: error: '" + (dir / "qc.toml") + "': unknown key 'thresholds.q30' (known metrics: ", 0), 0u)
      << unknown.err;
}

TEST(QcCli, MissingInputAndUsageErrors) {
  TempDir dir;
  const auto missing = RunCramjet("qc " + ShellQuote(dir / "absent.bam"));
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_EQ(missing.err.rfind("cramjet qc: error: ", 0), 0u) << missing.err;
  EXPECT_NE(missing.err.find("absent.bam"), std::string::npos) << missing.err;
  EXPECT_EQ(std::count(missing.err.begin(), missing.err.end(), '\n'), 1);

  const auto usage = RunCramjet("qc");
  EXPECT_EQ(usage.exit_code, 2);
  EXPECT_EQ(usage.err.rfind("cramjet qc: usage error: ", 0), 0u) << usage.err;

  testing::WriteFile(dir / "junk.txt", "this is not sequencing data\n");
  const auto junk = RunCramjet("qc " + ShellQuote(dir / "junk.txt") + " -o " + ShellQuote(dir / "j"));
  EXPECT_EQ(junk.exit_code, 1);
  EXPECT_EQ(junk.err.rfind("cramjet qc: error: '" + (dir / "junk.txt") + "': ", 0), 0u) << junk.err;
}

}  // namespace
}  // namespace cramjet
