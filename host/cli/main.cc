// cramjet — the command line. Subcommands follow samtools conventions (inputs positional, -o, -T,
// -@); every one has --help; errors are one line on stderr with a non-zero exit status.
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <algorithm>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include <htslib/hts_log.h>

#include "cramjet/log.h"

#include "cli/cli.h"
#include "cramjet/backend.h"
#include "cramjet/version.h"

namespace cramjet::cli {

int ReportError(std::string_view command, const Status& status) {
  std::string line = "cramjet ";
  line.append(command);
  line += ": error: ";
  line += status.message();
  line += "\n";
  std::fputs(line.c_str(), stderr);
  switch (status.code()) {
    case StatusCode::kOk: return kExitOk;
    case StatusCode::kInvalidArgument: return kExitUsage;
    case StatusCode::kDataLoss: return kExitMismatch;
    case StatusCode::kUnavailable: return kExitUnavailable;
    default: return kExitError;
  }
}

bool StderrIsTerminal() { return ::isatty(STDERR_FILENO) == 1; }
bool StdoutIsTerminal() { return ::isatty(STDOUT_FILENO) == 1; }

namespace {

// Edit distance (insertions, deletions, substitutions): how a typo is matched to a command.
size_t EditDistance(std::string_view a, std::string_view b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diagonal = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

// The command list, as samtools prints it: one line per command with its description, from the
// registered subcommands themselves (no second list to keep in step).
std::string CommandList(const CLI::App& app) {
  std::string out = "Usage: cramjet <command> [options]   (cramjet <command> --help for its options)\n\nCommands:\n";
  for (const CLI::App* sub : app.get_subcommands([](const CLI::App*) { return true; })) {
    std::string name = sub->get_name();
    name.resize(std::max<size_t>(name.size(), 12), ' ');
    out += "  " + name + "  " + sub->get_description() + "\n";
  }
  out += "\nEvery command takes -v/--verbose (more log lines) and --help; cramjet --version names the build.\n";
  return out;
}

// The closest command to a word that is none, when it is close enough to be a typo.
std::string NearestCommand(const CLI::App& app, std::string_view word) {
  std::string best;
  size_t best_distance = std::max<size_t>(2, word.size() / 3) + 1;
  for (const CLI::App* sub : app.get_subcommands([](const CLI::App*) { return true; })) {
    const std::string& name = sub->get_name();
    const size_t d = name.rfind(word, 0) == 0 ? 0 : EditDistance(word, name);
    if (d < best_distance) best_distance = d, best = name;
  }
  return best;
}

// What the first argument asks for before CLI11 sees it: nothing, `help [COMMAND]`, or a word
// that is no command. Returns the exit status when it was handled here, -1 to go on parsing,
// kHelpForTopic for `help COMMAND` (parsed as `COMMAND --help`, the same text either way).
constexpr int kHelpForTopic = -2;
int HandleTopLevel(CLI::App& app, int argc, char** argv) {
  if (argc < 2) {
    std::fputs(CommandList(app).c_str(), stderr);
    return kExitUsage;
  }
  const std::string_view first = argv[1];
  if (first == "help") {
    if (argc == 2) {
      std::fputs(CommandList(app).c_str(), stdout);
      return kExitOk;
    }
    const std::string topic = argv[2];
    for (CLI::App* sub : app.get_subcommands([](const CLI::App*) { return true; }))
      if (sub->get_name() == topic) return kHelpForTopic;  // main parses `cramjet TOPIC --help`
    const std::string near = NearestCommand(app, topic);
    std::fprintf(stderr, "cramjet help: '%s' is not a cramjet command%s\n", topic.c_str(),
                 near.empty() ? "" : ("; did you mean '" + near + "'?").c_str());
    return kExitUsage;
  }
  if (first == "-v" || first == "--verbose") {
    std::fprintf(stderr, "cramjet: %s goes after a command (cramjet <command> -v)\n\n%s", argv[1], CommandList(app).c_str());
    return kExitUsage;
  }
  if (!first.empty() && first[0] != '-') {
    bool known = false;
    for (const CLI::App* sub : app.get_subcommands([](const CLI::App*) { return true; })) known |= sub->get_name() == first;
    if (!known) {
      const std::string near = NearestCommand(app, first);
      std::fprintf(stderr, "cramjet: '%s' is not a cramjet command%s (cramjet help lists them)\n", argv[1],
                   near.empty() ? "" : ("; did you mean '" + near + "'?").c_str());
      return kExitUsage;
    }
  }
  return -1;
}

// -v/--verbose on every command (compress has its own, which also prints mapper statistics).
void AddVerboseFlags(CLI::App& app) {
  for (CLI::App* sub : app.get_subcommands([](const CLI::App*) { return true; })) {
    if (sub->get_option_no_throw("--verbose") != nullptr || sub->get_option_no_throw("-v") != nullptr) continue;
    sub->add_flag_callback("-v,--verbose", [] { cramjet::SetLogLevel(cramjet::LogLevel::kInfo); },
                           "Log info lines (what each step did) besides warnings and errors");
  }
}

}  // namespace
}  // namespace cramjet::cli

int main(int argc, char** argv) {
  using namespace cramjet::cli;
  // A file-size limit (or full quota) must surface as a write error with a message, not a kill.
  std::signal(SIGXFSZ, SIG_IGN);
  // htslib's diagnostics (and its warning that 1.16 still calls CRAM 3.1 a draft) only with
  // CRAMJET_HTSLIB_LOG=1: our own one-line errors name the file and record.
  cramjet::ConfigureHtslibLogging();
  // Errors and warnings only; `compress -v` / `--stats` and `index` ask for the info lines.
  cramjet::SetLogLevel(cramjet::LogLevel::kWarning);
  CLI::App app{"cramjet: reference-based CRAM compression, lossless proof and QC for sequencing labs", "cramjet"};
  app.set_version_flag("--version", [] { return cramjet::VersionReport() + cramjet::BackendReport() + "\n"; });
  app.require_subcommand(1, 1);
  app.fallthrough(false);

  Context ctx;
  // The command line goes into @PG CL. Thread counts and the mapper backend are left out: they
  // never change the records, and the same input must give the same CRAM bytes whatever they are.
  for (int i = 0; i < argc; ++i) {
    std::string_view arg = argv[i];
    if ((arg == "-@" || arg == "--threads" || arg == "--accel") && i + 1 < argc) {
      ++i;
      continue;
    }
    if ((arg.size() > 2 && arg.substr(0, 2) == "-@") || arg.substr(0, 10) == "--threads=" ||
        arg.substr(0, 8) == "--accel=")
      continue;
    if (!ctx.command_line.empty()) ctx.command_line += ' ';
    ctx.command_line += arg;
  }
  RegisterCompressCommands(app, ctx);
  RegisterVerifyCommand(app, ctx);
  RegisterInspectCommand(app, ctx);
  RegisterIndexCommand(app, ctx);
  RegisterQcCommand(app, ctx);
  RegisterShipCommand(app, ctx);
  RegisterAcceptCommand(app, ctx);
  RegisterDaemonCommands(app, ctx);
  AddVerboseFlags(app);
  const int handled = HandleTopLevel(app, argc, argv);
  if (handled >= 0) return handled;
  char help_flag[] = "--help";
  char* help_argv[] = {argv[0], handled == kHelpForTopic ? argv[2] : nullptr, help_flag, nullptr};
  if (handled == kHelpForTopic) {
    argc = 3;
    argv = help_argv;
  }

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    // One line, samtools style, and the usage exit status.
    std::string sub;
    for (const auto* s : app.get_subcommands()) sub = s->get_name();
    std::fprintf(stderr, "cramjet%s%s: usage error: %s (see --help)\n", sub.empty() ? "" : " ",
                 sub.c_str(), e.what());
    return kExitUsage;
  }
  return ctx.exit_code;
}
