// An installable service (issue 16 item 12): `cmake --install` puts the binaries, the unit, its
// sysusers.d and tmpfiles.d files, the example config and the docs where Debian keeps them; the
// unit passes `systemd-analyze verify` and scores <= 3.0 in `systemd-analyze security` (it was
// 7.5 EXPOSED); `cramjetd --systemd-dropin` gives the folders and ceilings from the config.
#include <gtest/gtest.h>

#include <filesystem>
#include <regex>
#include <string>

#include "appliance.h"
#include "common/test_util.h"

namespace cramjet::daemon {
namespace {

namespace fs = std::filesystem;
using testing::RunShell;
using testing::ShellQuote;
using testing::TempDir;

TEST(Install, CmakeInstallPutsTheServiceInPlaceAndTheUnitIsHardened) {
  if (!testing::ToolAvailable("systemd-analyze")) GTEST_SKIP() << "systemd-analyze not installed (scripts/setup-debian.sh)";
  TempDir dir;
  const std::string root = dir / "root";
  auto install = RunShell("DESTDIR=" + ShellQuote(root) + " cmake --install " + ShellQuote(CRAMJET_BINARY_DIR) +
                          " --prefix /usr 2>&1");
  ASSERT_EQ(install.exit_code, 0) << install.out;
  for (const char* path : {"/usr/bin/cramjet", "/usr/bin/cramjetd", "/usr/lib/systemd/system/cramjetd.service",
                           "/usr/lib/sysusers.d/cramjet.conf", "/usr/lib/tmpfiles.d/cramjet.conf",
                           "/usr/share/doc/cramjet/examples/cramjetd.toml.example", "/usr/share/doc/cramjet/daemon.md",
                           "/usr/share/man/man1/cramjet.1", "/usr/share/bash-completion/completions/cramjet"})
    EXPECT_TRUE(fs::exists(root + path)) << path;
  // The man page: made from the help, every command in it, and man renders it.
  const std::string man = testing::ReadFile(root + "/usr/share/man/man1/cramjet.1");
  EXPECT_EQ(man.rfind(".TH CRAMJET 1 ", 0), 0u);
  for (const char* command : {"compress", "decompress", "verify", "qc", "ship", "status", "jobs", "release"})
    EXPECT_NE(man.find("\n.SS " + std::string(command) + "\n"), std::string::npos) << command;
  if (testing::ToolAvailable("man")) {
    auto rendered = RunShell("LC_ALL=C MANWIDTH=100 MAN_KEEP_FORMATTING= man -l " +
                             ShellQuote(root + "/usr/share/man/man1/cramjet.1") + " 2>&1");
    EXPECT_EQ(rendered.exit_code, 0) << rendered.out;
    EXPECT_NE(rendered.out.find("Usage: cramjet compress [OPTIONS] inputs..."), std::string::npos)
        << rendered.out.substr(0, 2000);
  }
  // Bash completion: the commands, and a command's options, from the installed binary's help.
  const std::string complete = "PATH=" + ShellQuote(root + "/usr/bin") + ":$PATH; source " +
                               ShellQuote(root + "/usr/share/bash-completion/completions/cramjet") + "; ";
  auto words = RunShell("bash -c " + ShellQuote(complete + "COMP_WORDS=(cramjet re); COMP_CWORD=1; _cramjet; echo ${COMPREPLY[@]}"));
  EXPECT_EQ(words.out, "retry release resume\n") << words.err;
  auto options = RunShell("bash -c " + ShellQuote(complete + "COMP_WORDS=(cramjet compress --rg); COMP_CWORD=2; _cramjet; "
                                                             "echo ${COMPREPLY[@]}"));
  EXPECT_EQ(options.out, "--rg-field\n") << options.err;
  EXPECT_EQ(RunShell(ShellQuote(root + "/usr/bin/cramjetd") + " --version").exit_code, 0);
  const std::string unit = root + "/usr/lib/systemd/system/cramjetd.service";
  // The unit names the installed binary and the user the sysusers file makes.
  const std::string text = testing::ReadFile(unit);
  EXPECT_NE(text.find("\nExecStart=/usr/bin/cramjetd --config /etc/cramjet/cramjetd.toml\n"), std::string::npos);
  EXPECT_NE(text.find("\nUser=cramjet\n"), std::string::npos);
  // A reload checks the files, then signals the daemon (DaemonIntegration.ASighupReloads...).
  EXPECT_NE(text.find("\nExecReload=/usr/bin/cramjetd --check-config --config /etc/cramjet/cramjetd.toml\n"
                      "ExecReload=/bin/kill -HUP $MAINPID\n"), std::string::npos) << text;
  EXPECT_NE(testing::ReadFile(root + "/usr/lib/sysusers.d/cramjet.conf").find("\nu cramjet - "), std::string::npos);

  // verify: the unit as installed, its /usr/bin paths pointed at the installed tree (verify checks
  // that the binaries it names are executable; this machine has none under /usr/bin).
  fs::create_directories(dir / "verify");
  std::string rooted = text;
  for (size_t at; (at = rooted.find("=/usr/bin/")) != std::string::npos;) rooted.replace(at, 10, "=" + root + "/usr/bin/");
  testing::WriteFile(dir / "verify/cramjetd.service", rooted);
  auto verify = RunShell("systemd-analyze verify --man=no " + ShellQuote(dir / "verify/cramjetd.service") + " 2>&1");
  EXPECT_EQ(verify.exit_code, 0) << verify.out;
  EXPECT_EQ(verify.out, "");
  // security: the overall exposure, 0 (best) to 10; --threshold fails above 3.0.
  auto security = RunShell("systemd-analyze security --offline=yes --threshold=30 " + ShellQuote(unit) + " 2>&1");
  EXPECT_EQ(security.exit_code, 0) << security.out;
  std::smatch m;
  const std::regex overall(R"(Overall exposure level for cramjetd\.service: ([0-9.]+) )");
  ASSERT_TRUE(std::regex_search(security.out, m, overall)) << security.out;
  EXPECT_LE(std::stod(m[1]), 3.0) << security.out;
  std::printf("systemd-analyze security: %s\n", m[0].str().c_str());
}

TEST(Install, TheSystemdDropinNamesTheFoldersAndCeilingsOfTheConfig) {
  TempDir dir;
  for (const char* d : {"runs", "cram", "drop", "dropout", "state"}) fs::create_directories(dir / d);
  testing::WriteFile(dir / "ref.fa", ">c\nACGT\n");
  const std::string config = dir / "cramjetd.toml";
  testing::WriteFile(config, "[daemon]\nstate_dir = \"" + (dir / "state") + "\"\n[api]\nsocket = \"" + (dir / "run/api.sock") +
                                 "\"\n[[watch]]\npath = \"" + (dir / "runs") + "\"\noutput = \"" + (dir / "cram") +
                                 "\"\n[drop]\npath = \"" + (dir / "drop") + "\"\noutput = \"" + (dir / "dropout") +
                                 "\"\n[workers]\ncpu_budget = 8\nmemory_budget_mb = 8192\n"
                                 "[cleanup]\npolicy = \"delete-inputs\"\n");
  auto r = RunShell(ShellQuote(CramjetdBinary()) + " --systemd-dropin --config " + ShellQuote(config));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::string expected_paths = "[Service]\nReadWritePaths=" + (dir / "cram") + "\nReadWritePaths=" + (dir / "runs") +
                                     "\nReadWritePaths=" + (dir / "dropout") + "\nReadWritePaths=" + (dir / "drop") +
                                     "\nReadWritePaths=" + (dir / "state") + "\nReadWritePaths=" + (dir / "run") +
                                     "\nMemoryMax=10240M\nCPUQuota=800%\n";
  EXPECT_NE(r.out.find(expected_paths), std::string::npos) << r.out;
  // With cleanup keep, the watch and drop folders stay read-only.
  std::string keep = testing::ReadFile(config);
  keep.replace(keep.find("delete-inputs"), 13, "keep");
  testing::WriteFile(config, keep);
  auto k = RunShell(ShellQuote(CramjetdBinary()) + " --systemd-dropin --config " + ShellQuote(config));
  ASSERT_EQ(k.exit_code, 0) << k.err;
  EXPECT_EQ(k.out.find("ReadWritePaths=" + (dir / "runs") + "\n"), std::string::npos) << k.out;
  EXPECT_NE(k.out.find("ReadWritePaths=" + (dir / "cram") + "\n"), std::string::npos) << k.out;
}

}  // namespace
}  // namespace cramjet::daemon
