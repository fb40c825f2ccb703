// Tests of host/common: status values, crash-safe output, digests, paths, logging.
#include <htslib/hts.h>
#include <stdlib.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>

#include "common/common.h"
#include "common/unique_fd.h"
#include "common/test_util.h"
#include "cramjet/log.h"
#include "cramjet/status.h"

namespace cramjet {
namespace {

using testing::TempDir;

TEST(Status, CarriesCodeAndMessage) {
  Status s = BadInput("reads.fq:5: bad");
  EXPECT_FALSE(s.ok());
  EXPECT_EQ(s.code(), StatusCode::kBadInput);
  EXPECT_EQ(s.ToString(), "bad input: reads.fq:5: bad");
  EXPECT_EQ(s.WithContext("compress").message(), "compress: reads.fq:5: bad");
  EXPECT_TRUE(Status::Ok().ok());
}

StatusOr<int> Half(int v) {
  if (v % 2) return InvalidArgument("odd");
  return v / 2;
}
Status UseHalf(int v, int* out) {
  CRAMJET_ASSIGN_OR_RETURN(*out, Half(v));
  return Status::Ok();
}

TEST(StatusOr, PropagatesThroughMacros) {
  int out = 0;
  EXPECT_TRUE(UseHalf(8, &out).ok());
  EXPECT_EQ(out, 4);
  Status s = UseHalf(3, &out);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
}

TEST(AtomicOutput, NothingUnderFinalNameUntilCommit) {
  TempDir dir;
  std::string final_path = dir / "x.cram";
  {
    auto out = AtomicOutput::Create(final_path);
    ASSERT_TRUE(out.ok()) << out.status().ToString();
    testing::WriteFile(out->temp_path(), "data");
    EXPECT_FALSE(testing::PathExists(final_path));
    // Dropped without commit: the temporary goes too.
  }
  EXPECT_TRUE(testing::ListDir(dir.path()).empty());
  {
    auto out = AtomicOutput::Create(final_path);
    ASSERT_TRUE(out.ok());
    testing::WriteFile(out->temp_path(), "data");
    ASSERT_TRUE(out->Commit().ok());
  }
  EXPECT_EQ(testing::ReadFile(final_path), "data");
  EXPECT_EQ(testing::ListDir(dir.path()).size(), 1u);
}

TEST(AtomicOutput, RefusesMissingOrUnwritableFolder) {
  TempDir dir;
  auto missing = AtomicOutput::Create(dir / "nope/x.cram");
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("nope"), std::string::npos);
  if (::geteuid() != 0) {  // root can write anywhere
    std::string ro = dir / "ro";
    ::mkdir(ro.c_str(), 0555);
    auto denied = AtomicOutput::Create(ro + "/x.cram");
    EXPECT_FALSE(denied.ok());
  }
}

// The daemon's restart cleanup reads AtomicOutput's temporary names back: the scheme must round
// trip, and names that merely look alike must not be taken for temporaries.
TEST(AtomicOutput, TemporaryNamesParseBack) {
  TempDir dir;
  auto out = AtomicOutput::Create(dir / "S1.cram.crai");
  ASSERT_TRUE(out.ok());
  auto parsed = ParseAtomicTemporaryName(BaseName(out->temp_path()));
  ASSERT_TRUE(parsed.has_value()) << out->temp_path();
  EXPECT_EQ(parsed->final_name, "S1.cram.crai");
  EXPECT_EQ(parsed->pid, static_cast<long>(::getpid()));
  for (const char* not_temporary : {"S1.cram", ".S1.cram", ".S1.cram.tmp.12.abc", ".S1.cram.tmp.12.0000000g",
                                    ".S1.cram.tmp..0000abcd", ".S1.cram.tmp.-4.0000abcd", "S1.cram.tmp.12.0000abcd",
                                    "..tmp.12.0000abcd", ".S1.cram.tmq.12.0000abcd", ".tmp.12.0000abcd",
                                    // a stray file that aborted the daemon at every start (issue 15)
                                    ".LATER5.cram.tmp.99999999999999999999.0abc",
                                    ".LATER5.cram.tmp.99999999999999999999.0000abcd"})
    EXPECT_FALSE(ParseAtomicTemporaryName(not_temporary).has_value()) << not_temporary;
}

TEST(AtomicOutput, RemovesOnlyStaleTemporariesThatBelong) {
  TempDir dir;
  // A pid that cannot exist (above pid_max's ceiling of 2^22) stands for a killed process.
  const std::string dead = ".S1.cram.tmp.4194999.0000abcd";
  const std::string dead_other_sample = ".S2.cram.tmp.4194999.0000abcd";
  const std::string alive = ".S1.cram.md5.tmp.1.0000abcd";  // pid 1 lives
  const std::string mine = ".S1.qc.json.tmp." + std::to_string(::getpid()) + ".0000abcd";
  for (const auto& n : {dead, dead_other_sample, alive, mine, std::string("S1.cram")}) testing::WriteFile(dir / n, "x");
  auto removed = RemoveStaleTemporaries(dir.path(), [](std::string_view final_name) {
    return final_name.starts_with("S1.");
  });
  ASSERT_EQ(removed.size(), 1u);
  EXPECT_EQ(removed[0], dir / dead);
  EXPECT_FALSE(testing::PathExists(dir / dead));
  for (const auto& n : {dead_other_sample, alive, mine, std::string("S1.cram")})
    EXPECT_TRUE(testing::PathExists(dir / n)) << n;
  EXPECT_TRUE(RemoveStaleTemporaries(dir / "missing", [](std::string_view) { return true; }).empty());
}

// A killed process not yet reaped (a zombie: its parent has not waited, or an init that reaps
// slowly) never writes again: its temporaries are stale. A workflow that SIGKILLs a run and
// starts the next at once met this (tests/workflow).
TEST(AtomicOutput, AZombiesTemporariesAreStale) {
  TempDir dir;
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) ::_exit(0);
  // Not waited for yet: the child is a zombie until waitpid below.
  bool zombie = false;
  for (int i = 0; i < 200 && !zombie; ++i) {
    const std::string stat = testing::ReadFile("/proc/" + std::to_string(child) + "/stat");
    const size_t close = stat.rfind(')');
    zombie = close != std::string::npos && close + 2 < stat.size() && stat[close + 2] == 'Z';
    if (!zombie) ::usleep(10000);
  }
  ASSERT_TRUE(zombie);
  const std::string temp = ".S1.cram.tmp." + std::to_string(child) + ".0000abcd";
  testing::WriteFile(dir / temp, "x");
  const auto removed = RemoveStaleTemporaries(dir.path(), [](std::string_view) { return true; });
  int status = 0;
  ::waitpid(child, &status, 0);
  ASSERT_EQ(removed.size(), 1u);
  EXPECT_EQ(removed[0], dir / temp);
}

TEST(OwnOutputs, SameFileUnderAnyNameIsRefusedDevicesAreNot) {
  TempDir dir;
  const std::string in = dir / "in.fq";
  testing::WriteFile(in, "@r\nA\n+\nI\n");
  ASSERT_EQ(::link(in.c_str(), (dir / "alias.fq").c_str()), 0);
  EXPECT_TRUE(CheckOutputsAreNotInputs({in}, {dir / "out.cram", dir / "out.cram.md5"}).ok());
  EXPECT_EQ(CheckOutputsAreNotInputs({in}, {dir / "alias.fq"}).message(),
            "output '" + (dir / "alias.fq") + "' is the input '" + in + "': refusing to overwrite what this command reads");
  EXPECT_EQ(CheckOutputsAreNotInputs({in}, {dir / "./in.fq"}).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(CheckOutputsAreNotInputs({in}, {dir / "a.fq", dir / "a.fq"}).message(),
            "outputs '" + (dir / "a.fq") + "' and '" + (dir / "a.fq") + "' are the same file");
  // Standard output twice is not one file overwritten; a FIFO or device is no file at all.
  EXPECT_TRUE(CheckOutputsAreNotInputs({in}, {"-", "-"}).ok());
  ASSERT_EQ(::mkfifo((dir / "pipe").c_str(), 0600), 0);
  EXPECT_EQ(CheckOutputsAreNotInputs({in}, {dir / "pipe"}).message(),
            "output '" + (dir / "pipe") + "' is a device or FIFO, not a file (write to - for standard output)");
  EXPECT_FALSE(CheckOutputsAreNotInputs({in}, {"/dev/null"}).ok());
}

// Commit's rename would replace a device or FIFO with a plain file (`decompress -o /dev/null` run
// as root replaced /dev/null itself).
TEST(AtomicOutput, RefusesDevicesAndFifos) {
  TempDir dir;
  ASSERT_EQ(::mkfifo((dir / "pipe").c_str(), 0600), 0);
  auto fifo = AtomicOutput::Create(dir / "pipe");
  ASSERT_FALSE(fifo.ok());
  EXPECT_EQ(fifo.status().message(),
            "output '" + (dir / "pipe") + "' is a device or FIFO, not a file (write to - for standard output)");
  EXPECT_FALSE(AtomicOutput::Create("/dev/null").ok());
  struct stat st;
  ASSERT_EQ(::stat("/dev/null", &st), 0);
  EXPECT_TRUE(S_ISCHR(st.st_mode));
}

TEST(UniqueFd, ClosesOnceAndMoves) {
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  {
    UniqueFd a(fds[0]);
    UniqueFd b(std::move(a));
    EXPECT_FALSE(a.valid());
    EXPECT_EQ(b.get(), fds[0]);
    UniqueFd c;
    c = std::move(b);
    EXPECT_TRUE(c.valid());
  }
  // The read end is closed: writing to the pipe now fails with EPIPE (SIGPIPE ignored here).
  signal(SIGPIPE, SIG_IGN);
  EXPECT_EQ(::write(fds[1], "x", 1), -1);
  EXPECT_EQ(errno, EPIPE);
  UniqueFd w(fds[1]);
  const int raw = w.release();
  EXPECT_FALSE(w.valid());
  EXPECT_EQ(::close(raw), 0);  // release() did not close it
}

TEST(Digest, Md5MatchesKnownAnswer) {
  // RFC 1321 test suite values.
  EXPECT_EQ(Md5Hex(""), "d41d8cd98f00b204e9800998ecf8427e");
  EXPECT_EQ(Md5Hex("abc"), "900150983cd24fb0d6963f7d28e17f72");
  TempDir dir;
  testing::WriteFile(dir / "f", "abc");
  auto md5 = FileMd5Hex(dir / "f");
  ASSERT_TRUE(md5.ok());
  EXPECT_EQ(*md5, "900150983cd24fb0d6963f7d28e17f72");
}

TEST(Paths, DirAndBaseName) {
  EXPECT_EQ(DirName("a/b.cram"), "a");
  EXPECT_EQ(DirName("b.cram"), ".");
  EXPECT_EQ(DirName("/b.cram"), "/");
  EXPECT_EQ(BaseName("a/b.cram"), "b.cram");
}

TEST(Logging, ParseLogLevelAndHtslibsLevel) {
  EXPECT_EQ(ParseLogLevel("debug"), LogLevel::kDebug);
  EXPECT_EQ(ParseLogLevel("info"), LogLevel::kInfo);
  EXPECT_EQ(ParseLogLevel("warning"), LogLevel::kWarning);
  EXPECT_EQ(ParseLogLevel("error"), LogLevel::kError);
  for (const char* wrong : {"", "INFO", "warn", "loud"}) EXPECT_FALSE(ParseLogLevel(wrong).has_value()) << wrong;
  ASSERT_EQ(unsetenv("CRAMJET_HTSLIB_LOG"), 0);
  ConfigureHtslibLogging();
  EXPECT_EQ(hts_get_log_level(), HTS_LOG_OFF);
  ASSERT_EQ(setenv("CRAMJET_HTSLIB_LOG", "1", 1), 0);
  ConfigureHtslibLogging();
  EXPECT_EQ(hts_get_log_level(), HTS_LOG_WARNING);
  ASSERT_EQ(unsetenv("CRAMJET_HTSLIB_LOG"), 0);
  ConfigureHtslibLogging();
}

TEST(Paths, StripReadFileExtensions) {
  const std::pair<const char*, const char*> cases[] = {
      {"S1_R1_001.fastq.gz", "S1_R1_001"}, {"reads.fq.bgz", "reads"}, {"x.fastq", "x"}, {"x.bam", "x"},
      {"dir/x.cram", "dir/x"}, {"x.sam.gz", "x"}, {"x.txt", "x.txt"}, {"x.gz", "x"},
      {".fastq", ".fastq"},  // nothing left would be no name
      {"a.fastq.bam", "a.fastq"},  // one format extension only
  };
  for (const auto& [in, out] : cases) EXPECT_EQ(StripReadFileExtensions(in), out) << in;
}

// Outside text reaches JSON (which must be UTF-8) only through these two.
TEST(OutsideText, Utf8IsCheckedAndExcerptsArePrintable) {
  EXPECT_TRUE(IsValidUtf8(""));
  EXPECT_TRUE(IsValidUtf8("plain ASCII"));
  EXPECT_TRUE(IsValidUtf8("Probe_\xc3\xa4_S1"));          // ä
  EXPECT_TRUE(IsValidUtf8("\xe2\x82\xac \xf0\x9f\xa7\xac"));  // € and a 4-byte emoji
  EXPECT_FALSE(IsValidUtf8("Probe_\xe4_S1"));             // Latin-1 ä
  EXPECT_FALSE(IsValidUtf8("\xc3"));                      // cut off
  EXPECT_FALSE(IsValidUtf8("\xe2\x82"));                  // cut off
  EXPECT_FALSE(IsValidUtf8("\xc0\xaf"));                  // overlong '/'
  EXPECT_FALSE(IsValidUtf8("\xe0\x80\xaf"));              // overlong '/'
  EXPECT_FALSE(IsValidUtf8("\xed\xa0\x80"));              // a surrogate
  EXPECT_FALSE(IsValidUtf8("\xf4\x90\x80\x80"));          // past U+10FFFF
  EXPECT_FALSE(IsValidUtf8("\xfd\xff"));
  EXPECT_EQ(PrintableExcerpt("Slow\r\nDown\xfd\x01 ok", 100), "Slow??Down?? ok");
  EXPECT_EQ(PrintableExcerpt("abcdef", 3), "abc");
}

// The daemon's capture of what libraries print to stderr themselves: each line comes out of the
// logger with a priority (journald), at the level htslib's prefix names. Run in a child process,
// whose standard error is a pipe read here.
TEST(Log, StrayStderrLinesGoThroughTheLoggerWithAPriority) {
  int out[2];
  ASSERT_EQ(::pipe(out), 0);
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    ::dup2(out[1], STDERR_FILENO);
    ::close(out[0]);
    SetLogSink(JournaldSink());
    if (!CaptureStrayStderr()) ::_exit(3);
    std::fputs("[E::cram_decode] broken slice\n/refs/gone.fa: No such file or directory\n[W::hts_x] two\nparts", stderr);
    std::fflush(stderr);
    ::close(STDERR_FILENO);  // the reader sees the end and logs the unfinished last line
    CJ_LOG(kInfo) << "own line";
    ::usleep(300000);
    ::_exit(0);
  }
  ::close(out[1]);
  std::string got;
  char buffer[4096];
  for (ssize_t n; (n = ::read(out[0], buffer, sizeof buffer)) > 0;) got.append(buffer, static_cast<size_t>(n));
  ::close(out[0]);
  int status = 0;
  ::waitpid(child, &status, 0);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
  EXPECT_NE(got.find("<3>stderr: [E::cram_decode] broken slice\n"), std::string::npos) << got;
  EXPECT_NE(got.find("<4>stderr: /refs/gone.fa: No such file or directory\n"), std::string::npos) << got;
  EXPECT_NE(got.find("<4>stderr: [W::hts_x] two\n"), std::string::npos) << got;
  EXPECT_NE(got.find("<4>stderr: parts\n"), std::string::npos) << got;
  EXPECT_NE(got.find("<6>own line\n"), std::string::npos) << got;
  // Nothing unprefixed.
  size_t start = 0;
  for (size_t eol; (eol = got.find('\n', start)) != std::string::npos; start = eol + 1) EXPECT_EQ(got[start], '<') << got;
}

}  // namespace
}  // namespace cramjet

