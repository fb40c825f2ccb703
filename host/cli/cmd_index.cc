// `cramjet index REF.fa[.gz]`: builds the mapper's reference index beside the FASTA
// (REF.fa.cjidx; docs/mapper.md). `compress` maps against it and refuses a stale one.
#include <string>

#include "cli/cli.h"
#include "cramjet/log.h"
#include "map/map.h"

namespace cramjet::cli {
void RegisterIndexCommand(CLI::App& app, Context& ctx) {
  auto* sub = app.add_subcommand("index", "Build the mapper's reference index beside a FASTA (REF.fa.cjidx)");
  auto fasta = std::make_shared<std::string>();
  auto threads = std::make_shared<int>(1);
  sub->add_option("reference", *fasta, "Reference FASTA (plain, gzip or bgzip)")->required();
  sub->add_option("-@,--threads", *threads, "Worker threads")->check(CLI::Range(1, 1024));
  sub->callback([&ctx, fasta, threads] {
    SetLogLevel(LogLevel::kInfo);  // the "indexed ..." summary is this command's report
    const Status status = ReferenceIndex::Build(*fasta, *threads);
    if (!status.ok()) ctx.exit_code = ReportError("index", status);
  });
}
}  // namespace cramjet::cli
