// `cramjet index REF.fa[.gz]`: builds the mapper's reference index beside the FASTA
// (REF.fa.cjidx; docs/mapper.md). `compress` maps against it and refuses a stale one.
#include <string>

#include "cli/cli.h"
#include "cramjet/log.h"
#include "cramjet/index.h"
#include "cramjet/inputs.h"

namespace cramjet::cli {
void RegisterIndexCommand(CLI::App& app, Context& ctx) {
  auto* sub = app.add_subcommand("index", "Build the mapper's reference index beside a FASTA (REF.fa.cjidx)");
  auto fasta = std::make_shared<std::string>();
  auto threads = std::make_shared<int>(1);
  auto max_memory = std::make_shared<std::string>();
  sub->add_option("reference", *fasta, "Reference FASTA (plain, gzip or bgzip)")->required();
  sub->add_option("-@,--threads", *threads, "Worker threads")->check(CLI::Range(1, 1024));
  sub->add_option("--max-memory", *max_memory,
                  "Refuse to build when the build would need more memory than this (e.g. 16G; "
                  "default: 80% of this machine's memory)");
  sub->callback([&ctx, fasta, threads, max_memory] {
    SetLogLevel(LogLevel::kInfo);  // the "indexed ..." summary is this command's report
    ReferenceIndexOptions options;
    options.threads = *threads;
    if (!max_memory->empty()) {
      const StatusOr<uint64_t> bytes = ParseMemorySize(*max_memory);
      if (!bytes.ok()) {
        ctx.exit_code = ReportError("index", InvalidArgument("--max-memory '" + *max_memory +
                                                             "': expected a size such as 16G or 512M"));
        return;
      }
      options.max_memory = *bytes;
    }
    const Status status = BuildReferenceIndex(*fasta, options);
    if (!status.ok()) ctx.exit_code = ReportError("index", status);
  });
}
}  // namespace cramjet::cli
