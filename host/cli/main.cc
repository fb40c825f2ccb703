// cramjet — the command line. Subcommands follow samtools conventions (inputs positional, -o, -T,
// -@); every one has --help; errors are one line on stderr with a non-zero exit status.
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

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
  CLI::App app{"cramjet: reference-based CRAM compression, lossless proof and QC for sequencing labs"};
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
  RegisterDaemonCommands(app, ctx);

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
