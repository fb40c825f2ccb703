// host/cli/cli.h — shared pieces of the `cramjet` command line. Each command group lives in its
// own cmd_*.cc and registers its subcommands here; main.cc only lists the groups.
#pragma once

#include <string>
#include <string_view>

#include <CLI/CLI.hpp>

#include "cramjet/status.h"

namespace cramjet::cli {

// Exit statuses of every subcommand.
inline constexpr int kExitOk = 0;
inline constexpr int kExitError = 1;         // bad input, I/O, anything that stopped the job
inline constexpr int kExitUsage = 2;         // bad command line
inline constexpr int kExitMismatch = 3;      // verification ran and found a difference
inline constexpr int kExitUnavailable = 4;   // daemon or remote not reachable
inline constexpr int kExitQcFail = 5;        // `qc`: the files were written and the verdict is fail

struct Context {
  int exit_code = kExitOk;
  std::string command_line;  // the whole argv, for @PG CL
};

// Prints "cramjet <command>: error: <message>" on stderr (one line) and returns the exit status
// for the status code.
int ReportError(std::string_view command, const Status& status);
// Whether stderr is a terminal (progress lines are drawn only then).
bool StderrIsTerminal();
bool StdoutIsTerminal();

void RegisterCompressCommands(CLI::App& app, Context& ctx);  // compress, decompress
void RegisterVerifyCommand(CLI::App& app, Context& ctx);     // verify
void RegisterInspectCommand(CLI::App& app, Context& ctx);    // inspect
void RegisterIndexCommand(CLI::App& app, Context& ctx);      // index
void RegisterQcCommand(CLI::App& app, Context& ctx);         // qc
void RegisterShipCommand(CLI::App& app, Context& ctx);       // ship
void RegisterAcceptCommand(CLI::App& app, Context& ctx);     // accept
void RegisterDaemonCommands(CLI::App& app, Context& ctx);    // status, jobs, job, retry, ...

}  // namespace cramjet::cli
