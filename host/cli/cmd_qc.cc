// `cramjet qc FILE [FILE2] [-T REF] [-o PREFIX] [--config qc.toml] [--sample NAME] [-@ N]`:
// QC of an existing FASTQ/SAM/BAM/CRAM (two FASTQ files = R1 R2), the same metrics and files
// that `compress` writes beside the CRAM (docs/qc.md).
#include <cstdio>
#include <memory>

#include "cli/cli.h"
#include "cramjet/qc.h"

namespace cramjet::cli {

void RegisterQcCommand(CLI::App& app, Context& ctx) {
  auto options = std::make_shared<QcFileOptions>();
  auto* sub = app.add_subcommand(
      "qc", "Compute QC for a FASTQ/BAM/CRAM: PREFIX.qc.json, .qc.html, .stats (samtools stats), "
            ".fastp.json and _mqc.json (MultiQC); exit 5 when the verdict is fail");
  sub->add_option("input", options->inputs, "FASTQ(.gz), SAM, BAM or CRAM; or two FASTQ files (R1 R2)")
      ->required()
      ->expected(1, 2);
  sub->add_option("-T,--reference", options->reference,
                  "Reference FASTA (CRAM input; mismatch rates of placed reads)");
  sub->add_option("-o,--output-prefix", options->output_prefix,
                  "Output prefix (default: the input path without its extensions)");
  sub->add_option("--config", options->config_path, "QC thresholds (TOML; see docs/qc.md)");
  sub->add_option("--sample", options->sample, "Sample name (default: @RG SM, else the file name)");
  sub->add_option("-@,--threads", options->threads, "Decompression threads")->check(CLI::Range(1, 256));
  sub->callback([options, &ctx] {
    auto result = RunQcOnFile(*options);
    if (!result.ok()) {
      ctx.exit_code = ReportError("qc", result.status());
      return;
    }
    // The summary is the command's output; the files hold the detail.
    std::printf("%s: %llu reads, %llu bases, QC %s\n", options->inputs[0].c_str(),
                static_cast<unsigned long long>(result->reads),
                static_cast<unsigned long long>(result->bases), result->verdict.c_str());
    for (const auto& path : result->outputs) std::printf("wrote %s\n", path.c_str());
    // A failed QC must reach whoever runs this (a pipeline step, a script): the files are
    // written, and the exit status says fail. A warn is still 0.
    if (result->verdict == "fail") ctx.exit_code = kExitQcFail;
  });
}

}  // namespace cramjet::cli
