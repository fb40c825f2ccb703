// Unit tests of cramjetd's pieces: configuration, names, sample sheets, run folders, journal.
#include <sqlite3.h>
#include <sys/stat.h>

#include <gtest/gtest.h>

#include <filesystem>
#include <sstream>
#include <thread>
#include <vector>

#include "common/test_util.h"
#include "daemon/config.h"
#include "daemon/intake.h"
#include "daemon/stage_process.h"
#include "daemon/job.h"
#include "daemon/journal.h"
#include "daemon/metrics.h"

namespace cramjet::daemon {
namespace {

using cramjet::testing::TempDir;
using cramjet::testing::WriteFile;

TEST(DaemonConfig, DefaultsAndValues) {
  TempDir t;
  std::filesystem::create_directories(t / "runs");
  std::filesystem::create_directories(t / "out");
  WriteFile(t / "ref.fa", ">c\nACGT\n");
  auto c = ParseConfigText("[daemon]\nstate_dir = \"" + t / "state" + "\"\n[[watch]]\npath = \"" + t / "runs" +
                               "\"\noutput = \"" + t / "out" + "\"\nreference = \"r\"\n[references]\nr = \"" +
                               t / "ref.fa" + "\"\n[workers]\nmax_jobs = 4\nthreads_per_job = 2\ncpu_budget = 4\n",
                           "test.toml");
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->state_dir, t / "state");
  ASSERT_EQ(c->watch.size(), 1u);
  EXPECT_EQ(c->watch[0].reference, "r");
  EXPECT_EQ(c->socket_path, "/run/cramjet/api.sock");
  EXPECT_EQ(c->metrics_listen, "");  // off by default
  EXPECT_EQ(c->placement, "mapped");  // FASTQ is placed by the mapper unless told otherwise
  EXPECT_TRUE(c->keep_order);  // sequencer order is kept unless the config says otherwise
  EXPECT_TRUE(c->build_index);
  EXPECT_EQ(c->Concurrency(), 2);    // 4 CPUs / 2 threads per job
  c->memory_budget_mb = 3000;
  c->memory_per_job_mb = 2048;
  EXPECT_EQ(c->Concurrency(), 1);
}

TEST(DaemonConfig, UnknownKeyNamesFileAndLine) {
  auto c = ParseConfigText("[daemon]\nlog_level = \"info\"\n\n[workers]\nmax_job = 3\n", "/etc/cramjet/x.toml");
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().message(), "/etc/cramjet/x.toml: line 5: unknown key 'max_job' in [workers]");
  auto s = ParseConfigText("[nonsense]\na = 1\n", "x.toml");
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().message(), "x.toml: line 1: unknown section [nonsense]");
}

TEST(DaemonConfig, BadValuesRefused) {
  struct Case {
    std::string text, message;
  } cases[] = {
      {"[workers]\nmax_jobs = 0\n", "x.toml: line 2: max_jobs must be between 1 and 256"},
      {"[workers]\nmax_jobs = \"two\"\n", "x.toml: line 2: max_jobs must be an integer"},
      {"[metrics]\nlisten = \"0.0.0.0:9464\"\n",
       "x.toml: line 2: metrics.listen must be a loopback address with a port, e.g. \"127.0.0.1:9464\" or "
       "\"[::1]:9464\" (got \"0.0.0.0:9464\")"},
      {"[compress]\nprofile = \"tiny\"\n", "x.toml: line 2: profile must be fast, normal, small or archive"},
      {"[compress]\nplacement = \"aligned\"\n", "x.toml: line 2: placement must be \"mapped\" or \"unaligned\""},
      {"[compress]\nkeep_order = 1\n", "x.toml: line 2: keep_order must be true or false"},
      {"[accel]\nkind = \"gpu\"\n",
       "x.toml: line 2: unknown accelerator 'gpu' (expected auto, simd, scalar, opencl, opencl:PLATFORM:DEVICE or xrt)"},
      {"[accel]\nxclbin = \"cramjet.xclbin\"\n", "x.toml: line 2: xclbin must be an absolute path"},
      {"[accel]\nxclbin = \"/nonexistent/cramjet.xclbin\"\n",
       "x.toml: line 2: xclbin: cannot read '/nonexistent/cramjet.xclbin'"},
      {"[daemon]\nstate_dir = \"relative/dir\"\n", "x.toml: line 2: state_dir must be an absolute path"},
      {"[[watch]]\npath = \"/nonexistent-cramjet\"\noutput = \"/tmp\"\n",
       "x.toml: line 2: path: folder '/nonexistent-cramjet' does not exist"},
      {"[drop]\npath = \"/tmp\"\noutput = \"/tmp\"\nreference = \"hg38\"\n",
       "x.toml: line 4: reference 'hg38' is not defined in [references]"},
      {"[daemon]\nlog_level = \"loud\"\n", "x.toml: line 2: log_level must be debug, info, warning or error"},
      {"[cleanup]\npolicy = \"shred\"\n", "x.toml: line 2: cleanup.policy must be keep, delete-inputs or delete-all"},
      {"[daemon\n", "x.toml: line 1: Error while parsing table header: expected ']', saw '\\n'"},
  };
  for (const auto& c : cases) {
    auto r = ParseConfigText(c.text, "x.toml");
    ASSERT_FALSE(r.ok()) << c.text;
    EXPECT_EQ(r.status().message(), c.message) << c.text;
  }
  EXPECT_TRUE(ParseConfigText("[metrics]\nlisten = \"127.0.0.1:9464\"\n", "x.toml").ok());
  EXPECT_TRUE(ParseConfigText("[metrics]\nlisten = \"[::1]:9464\"\n", "x.toml").ok());
}

TEST(DaemonConfig, DropInsOverrideInNameOrder) {
  TempDir t;
  std::filesystem::create_directories(t / "cramjetd.toml.d");
  WriteFile(t / "cramjetd.toml", "[workers]\nmax_jobs = 2\n[daemon]\nlog_level = \"info\"\n");
  WriteFile(t / "cramjetd.toml.d/20-b.toml", "[workers]\nmax_jobs = 7\n");
  WriteFile(t / "cramjetd.toml.d/10-a.toml", "[workers]\nmax_jobs = 5\n[daemon]\nlog_level = \"debug\"\n");
  WriteFile(t / "cramjetd.toml.d/ignored.conf", "garbage");
  auto c = LoadConfig(t / "cramjetd.toml");
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->max_jobs, 7);
  EXPECT_EQ(c->log_level, "debug");
  EXPECT_EQ(c->files.size(), 3u);
  WriteFile(t / "cramjetd.toml.d/30-bad.toml", "\n\n[workers]\nthreads = 1\n");
  auto bad = LoadConfig(t / "cramjetd.toml");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().message(), t / "cramjetd.toml.d/30-bad.toml" + ": line 4: unknown key 'threads' in [workers]");
}

// A reload keeps what a running daemon cannot change (and names it) and names what it changes.
TEST(DaemonConfig, AReloadKeepsRestartOnlySettingsAndNamesTheChanges) {
  TempDir t;
  WriteFile(t / "x.fa", ">x\nACGT\n");
  WriteFile(t / "y.fa", ">y\nACGT\n");
  auto refs = [&](const std::string& text) {  // /r/ is the temporary folder
    std::string out = text;
    for (size_t at; (at = out.find("/r/")) != std::string::npos;) out.replace(at, 3, t.path() + "/");
    return out;
  };
  auto running = ParseConfigText(refs("[daemon]\nstate_dir = \"/var/lib/a\"\n[workers]\nmax_jobs = 2\nthreads_per_job = 2\n"
                                 "[qc]\non_fail = \"hold\"\n[references]\nx = \"/r/x.fa\"\n"), "running.toml");
  ASSERT_TRUE(running.ok()) << running.status().message();
  auto next = ParseConfigText(refs("[daemon]\nstate_dir = \"/var/lib/b\"\n[workers]\nmax_jobs = 8\nthreads_per_job = 4\n"
                              "[qc]\non_fail = \"warn\"\n[references]\nx = \"/r/x.fa\"\ny = \"/r/y.fa\"\n"
                              "[api]\nsocket = \"/run/other.sock\"\n"), "next.toml");
  ASSERT_TRUE(next.ok()) << next.status().message();
  const ConfigReload r = PrepareReload(*running, &*next);
  EXPECT_EQ(r.need_restart,
            (std::vector<std::string>{"daemon.state_dir", "api.socket", "workers.max_jobs", "workers.threads_per_job"}));
  EXPECT_EQ(r.changed, (std::vector<std::string>{"[references]", "qc.on_fail"}));
  // The running values stay in what is published; the live ones are the new file's.
  EXPECT_EQ(next->state_dir, "/var/lib/a");
  EXPECT_EQ(next->socket_path, running->socket_path);
  EXPECT_EQ(next->max_jobs, 2);
  EXPECT_EQ(next->threads_per_job, 2);  // the worker count was made from it at start
  EXPECT_EQ(next->qc_on_fail, "warn");
  EXPECT_EQ(next->references.size(), 2u);
  // The same file again: nothing to report.
  DaemonConfig same = *running;
  const ConfigReload none = PrepareReload(*running, &same);
  EXPECT_TRUE(none.changed.empty());
  EXPECT_TRUE(none.need_restart.empty());
}

TEST(DaemonNames, SafeNames) {
  for (const char* ok : {"NA12878", "S1-a_b.2", "sample 1"}) EXPECT_TRUE(CheckSafeName(ok, "name").ok()) << ok;
  for (const char* bad : {"", ".", "..", "../x", "a/b", "/abs", "x/../../y", ".hidden", "a\\b", "tab\there", "nl\n"})
    EXPECT_FALSE(CheckSafeName(bad, "name").ok()) << bad;
  EXPECT_EQ(CheckSafeName("../../etc", "Sample_ID").message(), "Sample_ID '../../etc' contains '..'");
  EXPECT_EQ(CheckSafeName("a\x01" "b", "Sample_ID").message(), "Sample_ID 'a?b' contains a control character");
  // "-rf" would reach file names (-rf.cram) that an operator's shell command takes for options.
  EXPECT_EQ(CheckSafeName("-rf", "Sample_ID").message(), "Sample_ID '-rf' starts with '-'");
  // Names reach the journal's JSON, API replies and manifests, which are UTF-8.
  EXPECT_TRUE(CheckSafeName("Probe_\xc3\xa4", "Sample_ID").ok());
  EXPECT_EQ(CheckSafeName("Probe_\xe4", "Sample_ID").message(), "Sample_ID 'Probe_\xe4' is not valid UTF-8");
}

TEST(DaemonNames, PathIsInside) {
  TempDir t;
  std::filesystem::create_directories(t / "root/a");
  EXPECT_TRUE(PathIsInside(t / "root/a/x.cram", t / "root"));
  EXPECT_TRUE(PathIsInside(t / "root", t / "root"));
  EXPECT_FALSE(PathIsInside(t / "root/../x.cram", t / "root"));
  EXPECT_FALSE(PathIsInside(t / "rootother/x", t / "root"));
  std::filesystem::create_directory_symlink("/etc", t / "root/link");
  EXPECT_FALSE(PathIsInside(t / "root/link/passwd", t / "root"));  // symlinks are resolved
}

TEST(DaemonSampleSheet, V1) {
  auto s = ParseSampleSheet(
      "\xEF\xBB\xBF[Header],,,\r\nIEMFileVersion,4,,\r\nInvestigator Name,x,,\r\n,,,\r\n[Reads],,,\r\n151,,,\r\n151,,,\r\n"
      "[Settings],,,\r\nAdapter,CTGTCTCTTATACACATCT,,\r\n[Data],,,\r\n"
      "Lane,Sample_ID,Sample_Name,index,Sample_Project,Genome\r\n1,S1,Alpha,ACGT,P1,hg38\r\n2,S1,Alpha,ACGT,P1,hg38\r\n"
      "1,S2,,TTTT,P1,\r\n,,,,,\r\n",
      "SampleSheet.csv");
  ASSERT_TRUE(s.ok()) << s.status().message();
  EXPECT_EQ(s->version, 1);
  EXPECT_EQ(s->data_section, "Data");
  ASSERT_EQ(s->rows.size(), 3u);
  EXPECT_EQ(s->rows[0].sample_id, "S1");
  EXPECT_EQ(s->rows[0].sample_name, "Alpha");
  EXPECT_EQ(s->rows[0].reference, "hg38");
  EXPECT_EQ(s->rows[1].lane, 2);
  EXPECT_EQ(s->rows[2].sample_id, "S2");
  EXPECT_EQ(s->rows[2].line, 14);
}

TEST(DaemonSampleSheet, V2AndMixed) {
  auto v2 = ParseSampleSheet(
      "[Header]\nFileFormatVersion,2\nRunName,r1\n\n[Reads]\nRead1Cycles,151\nRead2Cycles,151\n\n"
      "[BCLConvert_Settings]\nSoftwareVersion,3.9.3\n\n[BCLConvert_Data]\nSample_ID,Index,Index2\nA1,ACGT,TTTT\nB2,GGGG,CCCC\n\n"
      "[Cloud_Data]\nSample_ID,ProjectName\nA1,p\n",
      "v2.csv");
  ASSERT_TRUE(v2.ok()) << v2.status().message();
  EXPECT_EQ(v2->version, 2);
  EXPECT_EQ(v2->data_section, "BCLConvert_Data");
  ASSERT_EQ(v2->rows.size(), 2u);
  EXPECT_EQ(v2->rows[1].sample_id, "B2");
  // v2 header with a v1 [Data] section, quoted cells: what labs really write.
  auto mixed = ParseSampleSheet("[Header]\nFileFormatVersion,2\n[Data]\n\"Sample_ID\",\"Description\"\n\"X,1\",\"a \"\"q\"\"\"\n",
                                "mixed.csv");
  ASSERT_TRUE(mixed.ok()) << mixed.status().message();
  EXPECT_EQ(mixed->data_section, "Data");
  EXPECT_EQ(mixed->rows[0].sample_id, "X,1");
}

TEST(DaemonSampleSheet, RefusesEscapingNames) {
  auto s = ParseSampleSheet("[Data]\nSample_ID,Sample_Name\nok,ok\n../../etc/evil,x\n", "/runs/r/SampleSheet.csv");
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().message(), "/runs/r/SampleSheet.csv: line 4: Sample_ID '../../etc/evil' contains '..'");
  auto abs = ParseSampleSheet("[Data]\nSample_ID\n/etc/passwd\n", "s.csv");
  ASSERT_FALSE(abs.ok());
  EXPECT_EQ(abs.status().message(), "s.csv: line 3: Sample_ID '/etc/passwd' contains a path separator");
  auto name = ParseSampleSheet("[Data]\nSample_ID,Sample_Name\nS1,..\n", "s.csv");
  ASSERT_FALSE(name.ok());
  auto none = ParseSampleSheet("[Header]\nx,y\n", "s.csv");
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.status().message(), "s.csv: no [Data] or [BCLConvert_Data] section with samples");
}

TEST(DaemonFastqNames, Parse) {
  auto a = ParseFastqName("NA12878-1_S3_L002_R2_001.fastq.gz");
  ASSERT_TRUE(a.has_value());
  EXPECT_EQ(a->sample, "NA12878-1");
  EXPECT_EQ(a->s_number, 3);
  EXPECT_EQ(a->lane, 2);
  EXPECT_EQ(a->read, 2);
  auto b = ParseFastqName("My_Sample_S12_R1_001.fastq.gz");  // no lane splitting
  ASSERT_TRUE(b.has_value());
  EXPECT_EQ(b->sample, "My_Sample");
  EXPECT_EQ(b->lane, 0);
  EXPECT_FALSE(ParseFastqName("S1_S1_L001_I1_001.fastq.gz").has_value());  // index read
  EXPECT_FALSE(ParseFastqName("reads_1.fq.gz").has_value());
  // A sample number too large for an int is no bcl-convert name (it threw from std::atoi's
  // cousins before; now nothing a file name holds can stop intake).
  EXPECT_FALSE(ParseFastqName("X_S99999999999999999999_L001_R1_001.fastq.gz").has_value());
}

TEST(DaemonRunInfo, NumbersThatAreNotNumbersAreZeroNotACrash) {
  auto info = ParseRunInfo("<RunInfo><Run Id=\"R1\" Number=\"99999999999999999999999\"><Flowcell>F</Flowcell>"
                           "<Instrument>I</Instrument><Reads><Read Number=\"1\" NumCycles=\"abc\"/></Reads>"
                           "<FlowcellLayout LaneCount=\"-1\"/></Run></RunInfo>", "RunInfo.xml");
  ASSERT_TRUE(info.ok()) << info.status().message();
  EXPECT_EQ(info->run_number, 0);
  EXPECT_EQ(info->lane_count, 0);
  ASSERT_EQ(info->read_cycles.size(), 1u);
  EXPECT_EQ(info->read_cycles[0], 0);
}

// RunInfo.xml is read as XML (expat), not with patterns: the pattern reader missed single quotes,
// took a commented-out <Run> and left entities unexpanded; malformed XML is refused by line.
TEST(DaemonRunInfo, ReadAsXmlWithQuotesCommentsAndEntities) {
  auto info = ParseRunInfo("<?xml version='1.0'?>\n<RunInfo>\n<!-- <Run Id=\"OLD\"> -->\n"
                           "<Run Id='240101_A00001_0001_AHX' Number='3'><Flowcell>\n  AHX\n</Flowcell>"
                           "<Instrument><![CDATA[A00001]]></Instrument><Reads><Read NumCycles='151'/>"
                           "<Read NumCycles=\"8\"></Read></Reads><FlowcellLayout LaneCount='2'/></Run></RunInfo>",
                           "RunInfo.xml");
  ASSERT_TRUE(info.ok()) << info.status().message();
  EXPECT_EQ(info->run_id, "240101_A00001_0001_AHX");
  EXPECT_EQ(info->run_number, 3);
  EXPECT_EQ(info->flowcell, "AHX");
  EXPECT_EQ(info->instrument, "A00001");
  EXPECT_EQ(info->lane_count, 2);
  EXPECT_EQ(info->read_cycles, (std::vector<int>{151, 8}));

  auto amp = ParseRunInfo("<RunInfo><Run Id=\"R&amp;D\"/></RunInfo>", "RunInfo.xml");
  ASSERT_TRUE(amp.ok()) << amp.status().message();
  EXPECT_EQ(amp->run_id, "R&D");

  auto broken = ParseRunInfo("<RunInfo>\n<Run Id=\"R1\">\n<Flowcell>F</Instrument></Run></RunInfo>", "x/RunInfo.xml");
  ASSERT_FALSE(broken.ok());
  EXPECT_EQ(broken.status().message(), "x/RunInfo.xml: line 3: not well-formed XML (mismatched tag)");
  auto none = ParseRunInfo("<RunInfo><!-- <Run Id=\"R1\"/> --></RunInfo>", "RunInfo.xml");
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.status().message(), "RunInfo.xml: no <Run> element (not an Illumina RunInfo.xml)");
  // Entity expansion ("billion laughs") is bounded by expat: refused, not expanded into memory.
  std::string laughs = "<?xml version=\"1.0\"?><!DOCTYPE r [<!ENTITY a \"aaaaaaaaaa\">";
  for (int i = 1; i < 10; ++i)
    laughs += "<!ENTITY " + std::string(1, static_cast<char>('a' + i)) + " \"" +
              [&] { std::string r; for (int k = 0; k < 10; ++k) r += "&" + std::string(1, static_cast<char>('a' + i - 1)) + ";"; return r; }() + "\">";
  laughs += "]><RunInfo><Run Id=\"&j;\"/></RunInfo>";
  EXPECT_FALSE(ParseRunInfo(laughs, "RunInfo.xml").ok());
}

TEST(DaemonRunFolder, ReadinessAndSamples) {
  TempDir t;
  std::string run = t / "240101_A00001_0001_AHXXXXXX";
  std::filesystem::create_directories(run + "/Data/Intensities/BaseCalls/L001");
  std::filesystem::create_directories(run + "/Analysis/1/Data/fastq");
  std::string why;
  EXPECT_EQ(CheckRunReady(run, 3600, &why), RunReadiness::kNotARun);
  WriteFile(run + "/RunInfo.xml",
            "<?xml version=\"1.0\"?>\n<RunInfo><Run Id=\"240101_A00001_0001_AHXXXXXX\" Number=\"1\">"
            "<Flowcell>HXXXXXX</Flowcell><Instrument>A00001</Instrument><Reads><Read Number=\"1\" NumCycles=\"151\" "
            "IsIndexedRead=\"N\"/><Read Number=\"2\" NumCycles=\"8\" IsIndexedRead=\"Y\"/></Reads>"
            "<FlowcellLayout LaneCount=\"2\"/></Run></RunInfo>\n");
  EXPECT_EQ(CheckRunReady(run, 3600, &why), RunReadiness::kWaiting);
  EXPECT_EQ(why, "waiting for RTAComplete.txt");
  WriteFile(run + "/RTAComplete.txt", "");
  EXPECT_EQ(CheckRunReady(run, 3600, &why), RunReadiness::kWaiting);
  EXPECT_EQ(CheckRunReady(run, 0, &why), RunReadiness::kReady);  // RTA-only timeout passed
  WriteFile(run + "/CopyComplete.txt", "");
  EXPECT_EQ(CheckRunReady(run, 3600, &why), RunReadiness::kReady);

  auto info = ParseRunInfo(cramjet::testing::ReadFile(run + "/RunInfo.xml"), "RunInfo.xml");
  ASSERT_TRUE(info.ok()) << info.status().message();
  EXPECT_EQ(info->instrument, "A00001");
  EXPECT_EQ(info->flowcell, "HXXXXXX");
  EXPECT_EQ(info->lane_count, 2);
  EXPECT_EQ(info->read_cycles, (std::vector<int>{151, 8}));

  auto sheet = ParseSampleSheet("[Data]\nLane,Sample_ID,Sample_Name\n1,S1,\n2,S1,\n1,S2,Beta\n1,S3,\n", "s");
  ASSERT_TRUE(sheet.ok());
  std::string bc = run + "/Data/Intensities/BaseCalls/";
  for (const char* f : {"S1_S1_L001_R1_001.fastq.gz", "S1_S1_L001_R2_001.fastq.gz", "S1_S1_L002_R1_001.fastq.gz",
                        "S1_S1_L002_R2_001.fastq.gz", "S1_S1_L001_I1_001.fastq.gz", "Undetermined_S0_L001_R1_001.fastq.gz"})
    WriteFile(bc + f, "x");
  WriteFile(run + "/Analysis/1/Data/fastq/Beta_S2_R1_001.fastq.gz", "x");  // bcl2fastq names by Sample_Name
  auto missing = CollectRunSamples(run, *sheet);
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);  // S3 has nothing yet: the run waits
  WriteFile(run + "/Analysis/1/Data/S3.bam", "x");
  auto samples = CollectRunSamples(run, *sheet);
  ASSERT_TRUE(samples.ok()) << samples.status().message();
  ASSERT_EQ(samples->size(), 3u);
  const auto& s1 = (*samples)[0];
  EXPECT_EQ(s1.sample, "S1");
  EXPECT_TRUE(s1.paired);
  EXPECT_EQ(s1.lanes, (std::vector<int>{1, 2}));
  ASSERT_EQ(s1.inputs.size(), 4u);
  EXPECT_EQ(s1.inputs[0], bc + "S1_S1_L001_R1_001.fastq.gz");
  EXPECT_EQ(s1.inputs[1], bc + "S1_S1_L001_R2_001.fastq.gz");
  EXPECT_EQ(s1.inputs[3], bc + "S1_S1_L002_R2_001.fastq.gz");
  EXPECT_FALSE((*samples)[1].paired);
  EXPECT_EQ((*samples)[1].inputs.size(), 1u);
  EXPECT_EQ((*samples)[2].format, "bam");
  // An R1 whose R2 never arrived is refused, naming the sample and lane.
  std::filesystem::remove(bc + "S1_S1_L002_R2_001.fastq.gz");
  auto unpaired = CollectRunSamples(run, *sheet);
  ASSERT_FALSE(unpaired.ok());
  EXPECT_EQ(unpaired.status().message(), run + ": sample 'S1' lane 2 has R1 but no R2");
}

TEST(DaemonDropFolder, Entries) {
  TempDir t;
  WriteFile(t / "NA1.bam", "x");
  auto bam = CollectDropSample(t / "NA1.bam");
  ASSERT_TRUE(bam.ok());
  EXPECT_EQ(bam->sample, "NA1");
  EXPECT_EQ(bam->format, "bam");
  std::filesystem::create_directories(t / "S9");
  WriteFile(t / "S9/x_R1.fastq.gz", "x");
  WriteFile(t / "S9/x_R2.fastq.gz", "x");
  auto folder = CollectDropSample(t / "S9");
  ASSERT_TRUE(folder.ok()) << folder.status().message();
  EXPECT_TRUE(folder->paired);
  EXPECT_EQ(folder->inputs, (std::vector<std::string>{t / "S9/x_R1.fastq.gz", t / "S9/x_R2.fastq.gz"}));
  WriteFile(t / "notes.txt", "x");
  EXPECT_FALSE(CollectDropSample(t / "notes.txt").ok());
}

TEST(DaemonJournal, UniqueKeysStagesAndRequeue) {
  TempDir t;
  std::string db = t / "j.sqlite";
  {
    auto j = Journal::Open(db);
    ASSERT_TRUE(j.ok()) << j.status().message();
    Job a;
    a.key = "/runs/r1#S1";
    a.origin = "run";
    a.sample = "S1";
    a.inputs = {"/in/a_R1.fq.gz", "/in/a_R2.fq.gz"};
    a.output = "/out/r1/S1.cram";
    Job b = a;
    b.key = "/runs/r1#S2";
    b.sample = "S2";
    auto added = (*j)->AddJobs({a, b}, "/runs/r1");
    ASSERT_TRUE(added.ok());
    EXPECT_EQ(*added, 2);
    EXPECT_TRUE(*(*j)->RunTaken("/runs/r1"));
    auto again = (*j)->AddJobs({a}, "/runs/r1");  // a second intake of the same run adds nothing
    ASSERT_TRUE(again.ok());
    EXPECT_EQ(*again, 0);
    auto claimed = (*j)->ClaimNext(1e12);
    ASSERT_TRUE(claimed.ok() && claimed->has_value());
    EXPECT_EQ((*claimed)->sample, "S1");
    EXPECT_EQ((*claimed)->state, JobState::kRunning);
    Job c = **claimed;
    c.stage = NextStage(c.stage);
    ASSERT_TRUE((*j)->Save(c).ok());
  }
  // A restart (the process died while the job ran): the job is queued again at its stage.
  auto j = Journal::Open(db);
  ASSERT_TRUE(j.ok());
  ASSERT_TRUE((*j)->RequeueRunning().ok());
  auto job = (*j)->GetJob(1);
  ASSERT_TRUE(job.ok());
  EXPECT_EQ(job->state, JobState::kQueued);
  EXPECT_EQ(job->stage, Stage::kVerify);
  EXPECT_EQ(job->inputs.size(), 2u);
  auto counts = (*j)->CountByState();
  ASSERT_TRUE(counts.ok());
  EXPECT_EQ((*counts)[JobState::kQueued], 2);
  EXPECT_EQ(NextStage(Stage::kCleanup), Stage::kDone);
  EXPECT_EQ(NextStage(Stage::kQc), Stage::kShip);
  EXPECT_EQ(NextStage(Stage::kDone), Stage::kDone);
  EXPECT_TRUE((*j)->SetSetting("paused", "1").ok());
  EXPECT_EQ(*(*j)->GetSetting("paused"), "1");
}

// A journal SQLite cannot read answers with an error naming it, never "not taken" / 0 / "": a
// daemon must not take a run twice because its journal broke under it.
TEST(DaemonJournal, ReadErrorsAreErrorsNotNo) {
  TempDir t;
  const std::string db = t / "j.sqlite";
  auto j = Journal::Open(db);
  ASSERT_TRUE(j.ok()) << j.status().message();
  sqlite3* other = nullptr;
  ASSERT_EQ(sqlite3_open(db.c_str(), &other), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(other, "DROP TABLE runs; DROP TABLE jobs; DROP TABLE settings;", nullptr, nullptr, nullptr),
            SQLITE_OK);
  sqlite3_close(other);
  const std::string named = "job journal '" + db + "': ";
  auto taken = (*j)->RunTaken("/runs/r1");
  ASSERT_FALSE(taken.ok());
  EXPECT_EQ(taken.status().message().rfind(named, 0), 0u) << taken.status().message();
  auto known = (*j)->HasJobKey("drop:/drop/x");
  ASSERT_FALSE(known.ok());
  EXPECT_EQ(known.status().message().rfind(named, 0), 0u) << known.status().message();
  EXPECT_FALSE((*j)->CountDoneSince(0).ok());
  EXPECT_FALSE((*j)->GetSetting("paused").ok());
}

// A status query (or a test) may open the journal while the daemon creates it: every opener
// must succeed and the schema must be migrated exactly once, not fail with "database is locked".
TEST(DaemonJournal, ConcurrentOpensOfAFreshJournalAllSucceed) {
  for (int round = 0; round < 10; ++round) {
    TempDir t;
    const std::string db = t / "j.sqlite";
    constexpr int kOpeners = 6;
    std::vector<std::string> errors(kOpeners);
    std::vector<std::thread> openers;
    for (int i = 0; i < kOpeners; ++i)
      openers.emplace_back([&, i] {
        auto j = Journal::Open(db);
        if (!j.ok()) errors[i] = j.status().message();
      });
    for (auto& th : openers) th.join();
    for (int i = 0; i < kOpeners; ++i) EXPECT_EQ(errors[i], "") << "round " << round << " opener " << i;
    auto j = Journal::Open(db);
    ASSERT_TRUE(j.ok()) << j.status().message();
    EXPECT_TRUE((*j)->ListJobs(std::nullopt, 0).ok());
  }
}

TEST(DaemonJournal, IsReadableByOwnerAndGroupOnly) {
  TempDir t;
  const std::string db = t / "j.sqlite";
  ASSERT_TRUE(Journal::Open(db).ok());
  struct stat st;
  ASSERT_EQ(::stat(db.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0640u);
  ASSERT_EQ(::chmod(db.c_str(), 0644), 0);  // a journal made by an older daemon is tightened
  ASSERT_TRUE(Journal::Open(db).ok());
  ASSERT_EQ(::stat(db.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0640u);
}

TEST(DaemonJournal, RefusesNewerSchema) {
  TempDir t;
  std::string db = t / "j.sqlite";
  ASSERT_TRUE(Journal::Open(db).ok());
  ASSERT_EQ(cramjet::testing::RunShell("sqlite3 " + db + " 'PRAGMA user_version=99' 2>/dev/null || python3 -c "
                                       "\"import sqlite3; c=sqlite3.connect('" + db + "'); c.execute('PRAGMA user_version=99'); c.commit()\"")
                .exit_code,
            0);
  auto j = Journal::Open(db);
  ASSERT_FALSE(j.ok());
  EXPECT_EQ(j.status().code(), StatusCode::kFailedPrecondition);
}

// A row this daemon never writes (edited by hand, another version) is an error naming the job,
// never a crash or a job run at a made-up stage.
TEST(DaemonJournal, UnreadableRowsAreErrorsNamingTheJob) {
  TempDir t;
  const std::string db = t / "j.sqlite";
  auto j = Journal::Open(db);
  ASSERT_TRUE(j.ok()) << j.status().message();
  Job a;
  a.key = "drop:/drop/a";
  a.origin = "drop";
  a.sample = "A";
  a.inputs = {"/drop/a.fq.gz"};
  a.output = "/out/A.cram";
  ASSERT_TRUE((*j)->AddJobs({a}, "").ok());
  const std::string named = "job journal '" + db + "': job 1 has an unreadable ";
  for (const auto& [sql, what] : std::vector<std::pair<std::string, std::string>>{
           {"UPDATE jobs SET stage='polish'", "stage"},
           {"UPDATE jobs SET stage='compress', state='paused'", "state"},
           {"UPDATE jobs SET state='queued', inputs='[\"a\",'", "inputs list"},
           {"UPDATE jobs SET inputs='{\"a\":1}'", "inputs list"},
           {"UPDATE jobs SET inputs='[]', lanes='[\"x\"]'", "lanes list"},
           {"UPDATE jobs SET lanes='[]', extra='[1]'", "extra object"}}) {
    sqlite3* other = nullptr;
    ASSERT_EQ(sqlite3_open(db.c_str(), &other), SQLITE_OK);
    ASSERT_EQ(sqlite3_exec(other, sql.c_str(), nullptr, nullptr, nullptr), SQLITE_OK) << sql;
    sqlite3_close(other);
    auto listed = (*j)->ListJobs(std::nullopt, 0);
    ASSERT_FALSE(listed.ok()) << sql;
    EXPECT_EQ(listed.status().message(), named + what) << sql;
    auto got = (*j)->GetJob(1);
    ASSERT_FALSE(got.ok());
    EXPECT_EQ(got.status().message(), named + what);
  }
}

TEST(DaemonJob, StageAndStateNamesRoundTrip) {
  for (Stage s : kJobStages) EXPECT_EQ(ParseStage(StageName(s)), s);
  EXPECT_EQ(ParseStage("done"), Stage::kDone);
  EXPECT_FALSE(ParseStage("Compress").has_value());
  for (JobState s : kJobStates) EXPECT_EQ(ParseJobState(JobStateName(s)), s);
  EXPECT_FALSE(ParseJobState("").has_value());
}

TEST(DaemonMetrics, Escape) { EXPECT_EQ(PromEscape("a\"b\\c\nd"), "a\\\"b\\\\c\\nd"); }

}  // namespace
}  // namespace cramjet::daemon

namespace cramjet::daemon {
namespace {

// The annotated example must parse, and every key it shows commented out must be a real key.
TEST(DaemonConfig, ExampleFileParsesWithEveryKeyEnabled) {
  TempDir t;
  for (const char* d : {"runs", "cram"}) std::filesystem::create_directories(t / d);
  WriteFile(t / "ref.fa", ">c\nACGT\n");
  std::string text = cramjet::testing::ReadFile(std::string(CRAMJET_SOURCE_DIR) + "/dist/cramjetd.toml.example");
  ASSERT_FALSE(text.empty());
  auto replace = [&](const std::string& from, const std::string& to) {
    for (size_t p = text.find(from); p != std::string::npos; p = text.find(from, p + to.size())) text.replace(p, from.size(), to);
  };
  replace("/data/runs", t / "runs");
  replace("/data/cram", t / "cram");
  replace("/data/references/GRCh38_no_alt.fa", t / "ref.fa");
  WriteFile(t / "cramjet.xclbin", "an image\n");  // only read when a job opens the backend
  replace("/usr/share/cramjet/cramjet.xclbin", t / "cramjet.xclbin");
  WriteFile(t / "qc.toml", "[thresholds.q30_percent]\nfail = 70\n");
  replace("/etc/cramjet/qc.toml", t / "qc.toml");
  auto plain = ParseConfigText(text, "cramjetd.toml.example");
  ASSERT_TRUE(plain.ok()) << plain.status().message();
  EXPECT_EQ(plain->references.at("hg38"), t / "ref.fa");
  // The archive's CRAM version is a choice the example makes explicit, and the default agrees.
  EXPECT_EQ(plain->cram_version, "3.0");
  EXPECT_NE(text.find("\ncram_version = \"3.0\"\n"), std::string::npos);
  auto bare = ParseConfigText("", "empty.toml");
  ASSERT_TRUE(bare.ok()) << bare.status().message();
  EXPECT_EQ(bare->cram_version, "3.0");
  // Uncomment "#key = value" lines (not prose): each must be accepted.
  std::string enabled, line;
  std::istringstream in(text);
  int uncommented = 0;
  while (std::getline(in, line)) {
    if (line.size() > 1 && line[0] == '#' && std::isalpha(static_cast<unsigned char>(line[1])) &&
        line.find(" = ") != std::string::npos) {
      line = line.substr(1);
      ++uncommented;
    }
    enabled += line + "\n";
  }
  EXPECT_GE(uncommented, 20);
  auto all = ParseConfigText(enabled, "cramjetd.toml.example (all keys)");
  ASSERT_TRUE(all.ok()) << all.status().message();
  EXPECT_EQ(all->socket_group, "cramjet-ops");
  EXPECT_EQ(all->accel, "auto");
  EXPECT_EQ(all->xclbin, t / "cramjet.xclbin");
  EXPECT_EQ(all->qc_on_fail, "hold");
  EXPECT_EQ(all->qc_thresholds, t / "qc.toml");
  EXPECT_EQ(all->archive_table.size(), 1u);  // url, handed to the ship stage
}

}  // namespace
}  // namespace cramjet::daemon

namespace cramjet::daemon {
namespace {

// What the daemon sends a stage process and reads back: every field survives the trip (a field
// forgotten here would silently run the child with its default).
TEST(StageProcessWire, EveryFieldRoundTrips) {
  CompressOptions o;
  o.inputs = {"/in/a.bam", "/in/b.bam"};
  o.paired = true;
  o.interleaved = true;
  o.output = "/out/S.cram";
  o.reference = "/ref/r.fa";
  o.cram_version = "3.0";
  o.profile = CramProfile::kArchive;
  o.threads = 7;
  o.drop_tags = {"OQ", "XS"};
  o.command_line = "cramjetd job 4";
  o.sample = "S";
  o.rg_fields = {"PL:ILLUMINA", "LB:lib1"};
  o.verify = false;
  o.write_index = false;
  o.placement = FastqPlacement::kUnaligned;
  o.build_index = true;
  o.accel = "scalar";
  o.xclbin = "/x.xclbin";
  o.long_reads = "ont";
  o.memory_bytes = 12345;
  o.keep_order = false;
  o.container_records = 999;
  o.qc = false;
  o.qc_config = "/qc.toml";
  auto back = CompressOptionsFromJson(nlohmann::json::parse(CompressOptionsJson(o).dump()));
  ASSERT_TRUE(back.ok()) << back.status().message();
  EXPECT_EQ(CompressOptionsJson(*back), CompressOptionsJson(o));
  EXPECT_EQ(back->profile, CramProfile::kArchive);
  EXPECT_EQ(back->placement, FastqPlacement::kUnaligned);
  EXPECT_EQ(back->memory_bytes, 12345u);
  EXPECT_EQ(back->drop_tags, o.drop_tags);
  EXPECT_EQ(back->rg_fields, o.rg_fields);
  // Every key the JSON has is one the reader takes back: a new option must be added to both.
  const nlohmann::json wire = CompressOptionsJson(o);
  for (const auto& item : wire.items()) {
    const std::string key = item.key();
    nlohmann::json changed = wire;
    changed[key] = nlohmann::json::array({nlohmann::json::object()});  // a type no field has
    EXPECT_FALSE(CompressOptionsFromJson(changed).ok()) << key;
  }

  CompressResult r;
  r.records = 10;
  r.bases = 1500;
  r.input_bytes = 77;
  r.output_bytes = 55;
  r.output_md5 = std::string(32, 'a');
  r.seqchksum_path = "/out/S.cram.seqchksum";
  r.md5_path = "/out/S.cram.md5";
  r.index_path = "/out/S.cram.crai";
  r.qc_paths = {"/out/S.qc.json"};
  r.seconds = 1.5;
  r.stage_seconds = {{"read", 0.5}, {"encode", 1.0}};
  auto r_back = CompressResultFromJson(nlohmann::json::parse(CompressResultJson(r).dump()));
  ASSERT_TRUE(r_back.ok()) << r_back.status().message();
  EXPECT_EQ(CompressResultJson(*r_back), CompressResultJson(r));
  EXPECT_EQ(r_back->stage_seconds, r.stage_seconds);

  VerifyOptions v;
  v.cram = "/out/S.cram";
  v.reference = "/ref/r.fa";
  v.against = {"/in/a.fq", "/in/b.fq"};
  v.paired = true;
  v.interleaved = true;
  v.threads = 3;
  auto v_back = VerifyOptionsFromJson(nlohmann::json::parse(VerifyOptionsJson(v).dump()));
  ASSERT_TRUE(v_back.ok()) << v_back.status().message();
  EXPECT_EQ(VerifyOptionsJson(*v_back), VerifyOptionsJson(v));

  VerifyResult vr;
  vr.equal = true;
  vr.records = 10;
  vr.expected_records = 10;
  vr.md5_checked = true;
  vr.md5_equal = true;
  vr.verdict = "OK";
  vr.cram_seqchksum = "a";
  vr.expected_seqchksum = "b";
  vr.md5 = "c";
  vr.expected_md5 = "d";
  vr.expected_source = "e";
  vr.differences = {"f"};
  auto vr_back = VerifyResultFromJson(nlohmann::json::parse(VerifyResultJson(vr).dump()));
  ASSERT_TRUE(vr_back.ok()) << vr_back.status().message();
  EXPECT_EQ(VerifyResultJson(*vr_back), VerifyResultJson(vr));
  EXPECT_FALSE(VerifyResultFromJson(nlohmann::json::array()).ok());
}

}  // namespace
}  // namespace cramjet::daemon
