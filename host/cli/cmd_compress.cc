// `cramjet compress` and `cramjet decompress`.
#include <sys/stat.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <string_view>
#include <thread>

#include "cli/cli.h"
#include "cramjet/compress.h"
#include "cramjet/inputs.h"
#include "cramjet/log.h"
#include "cramjet/version.h"

namespace cramjet::cli {
namespace {

// One line, redrawn: the stage, how far it is and its ETA where its size is known, the records
// through it, the input read and its rate while reading, the job's time so far.
void DrawProgress(const Progress& p) {
  char line[256];
  int n = std::snprintf(line, sizeof line, "\r\033[K[%s]", p.stage);
  bool first = true;
  auto add = [&](const char* format, auto... values) {
    if (n < 0 || n >= static_cast<int>(sizeof line)) return;
    n += std::snprintf(line + n, sizeof line - n, "%s", first ? " " : ", ");
    first = false;
    if (n < static_cast<int>(sizeof line)) n += std::snprintf(line + n, sizeof line - n, format, values...);
  };
  if (p.stage_fraction >= 0) {
    add("%3.0f%%", p.stage_fraction * 100);
    if (p.stage_fraction > 0.02 && p.stage_fraction < 1)
      add("ETA %.0f s", p.stage_seconds * (1 - p.stage_fraction) / p.stage_fraction);
  }
  if (p.records > 0) add("%llu records", static_cast<unsigned long long>(p.records));
  if (std::string_view(p.stage) == "read" && p.input_bytes > 0) {
    const double mb = p.input_bytes / 1e6;
    add("%.1f MB read, %.1f MB/s", mb, p.stage_seconds > 0 ? mb / p.stage_seconds : 0.0);
  }
  add("%.0f s", p.elapsed_seconds);
  std::fputs(line, stderr);
}

}  // namespace

void RegisterCompressCommands(CLI::App& app, Context& ctx) {
  // ---- compress ----
  auto* c = app.add_subcommand("compress", "FASTQ or SAM/BAM/CRAM in, verified CRAM out");
  auto opts = std::make_shared<CompressOptions>();
  auto profile = std::make_shared<std::string>("normal");
  auto single = std::make_shared<bool>(false);
  auto quiet = std::make_shared<bool>(false);
  auto stats = std::make_shared<bool>(false);
  c->add_option("inputs", opts->inputs,
                "FASTQ (plain/gz; R1 R2 pairs detected by name), or SAM/BAM/CRAM files; '-' reads standard input "
                "(FASTQ, SAM or BAM as it arrives, a CRAM spooled to $TMPDIR first; needs --sample)")
      ->required();
  c->add_option("-o,--output", opts->output,
                "Output CRAM; '-' writes it to standard output once it is proven (needs --sidecar-prefix)")
      ->required();
  auto sidecar_prefix = std::make_shared<std::string>();
  c->add_option("--sidecar-prefix", *sidecar_prefix,
                "With -o -: the CRAM is made as PREFIX.cram (spooled there, then streamed) and its .crai, .md5, "
                ".seqchksum and QC files are written as for that name; save the stream as PREFIX.cram to keep "
                "them together");
  c->add_option("-T,--reference", opts->reference, "Reference FASTA (plain or bgzip)")->required();
  c->add_option("-@,--threads", opts->threads, "Threads for compression and decoding")
      ->check(CLI::Range(1, 256));
  c->add_option("--cram-version", opts->cram_version, "CRAM version")
      ->check(CLI::IsMember({"3.0", "3.1"}));
  c->add_option("--profile", *profile, "CRAM profile")
      ->check(CLI::IsMember({"fast", "normal", "small", "archive"}));
  c->add_flag("--paired", opts->paired, "Inputs are R1 R2 file pairs (default: detected by name)");
  c->add_flag("--single", *single, "Inputs are single-end even if their names look paired");
  c->add_flag("--interleaved", opts->interleaved, "One FASTQ holds R1,R2 alternating");
  c->add_option("--drop-tags", opts->drop_tags, "Aux tags to remove from aligned input")
      ->delimiter(',');
  c->add_option("--sample", opts->sample, "Sample name for @RG SM");
  auto rg_line = std::make_shared<std::string>();
  c->add_option("-R,--read-group", *rg_line,
                "FASTQ: the @RG line as bwa and minimap2 take it, '@RG\\tID:x\\tSM:y\\tPL:ILLUMINA\\tLB:lib1' "
                "(\\t or real tabs; ID only with one input file or pair); cramjet fills PL and PU from Illumina read "
                "names where not given");
  c->add_option("--rg-field", opts->rg_fields, "FASTQ: one @RG field KEY:VALUE for every read group (repeatable), e.g. LB:lib1");
  c->add_flag("--no-index", [opts](int64_t) { opts->write_index = false; }, "Do not write .crai");
  c->add_flag("--no-qc", [opts](int64_t) { opts->qc = false; }, "Do not compute QC");
  auto mem = std::make_shared<std::string>();
  c->add_flag("--unaligned", [opts](int64_t) { opts->placement = FastqPlacement::kUnaligned; },
              "Store FASTQ reads unplaced, in input order (default: place them on the reference "
              "and write a position-sorted CRAM)");
  c->add_flag("--build-index", opts->build_index,
              "Build the reference's mapper index first if it is missing or stale "
              "(default: refuse and say so)");
  c->add_option("--accel", opts->accel,
                "Accelerator for the mapper's and QC's hot loops: auto (an FPGA when its image is "
                "installed and a card takes it, else SIMD), simd, scalar, opencl[:PLATFORM:DEVICE] "
                "(indices as `cramjet --version` lists them) or xrt; with opencl or xrt a device "
                "failure fails the job, with auto the job goes on on the CPU (docs/accelerators.md)");
  c->add_option("--xclbin", opts->xclbin,
                std::string("FPGA image for --accel xrt / auto (default ") + kDefaultXclbinPath + ")");
  c->add_option("--long-reads", opts->long_reads,
                "Long reads: ont (Nanopore), hifi or clr (PacBio) place every read with minimap2's "
                "preset for them; none (default): short reads");
  c->add_option("--mem", *mem, "Sort memory budget, e.g. 8G (default 8G)");
  c->add_flag("--keep-order,!--no-keep-order", opts->keep_order,
              "FASTQ: record the input (sequencer) order so decompress gives the FASTQ back byte "
              "for byte (default; costs the reads that break the order their names imply, "
              "docs/sort.md). --no-keep-order: mates are still written in sync");
  c->add_option("--container-records", opts->container_records,
                "Records per CRAM container (default: htslib's for the profile: 10000, small 25000, "
                "archive 100000)")
      ->check(CLI::Range(1u, 1000000u));
  // Kept so that existing scripts run: every thread encodes now, with identical bytes.
  auto parallel_encode = std::make_shared<bool>(false);
  c->add_flag("--parallel-encode", *parallel_encode,
              "No effect (kept for old scripts): the CRAM is always encoded on all -@ threads, "
              "with the same bytes whatever -@ is");
  c->add_option("--qc-config", opts->qc_config, "QC thresholds (TOML, docs/qc.md)");
  c->add_flag("-q,--quiet", *quiet, "No progress line or summary");
  auto verbose = std::make_shared<bool>(false);
  c->add_flag("--stats", *stats, "Print the wall time of each stage (and what -v prints)");
  c->add_flag("-v,--verbose", *verbose,
              "Log the mapper backend and SIMD target, mapper and sort statistics");
  c->callback([&ctx, opts, profile, single, quiet, stats, mem, verbose, parallel_encode, rg_line, sidecar_prefix] {
    // parallel_encode is captured so that the flag's storage lives as long as the parser.
    (void)parallel_encode;
    // -o -: the sidecars (the proof among them) need a name; the CRAM goes out only once proven.
    const bool to_stdout = opts->output == "-";
    if (to_stdout) {
      if (sidecar_prefix->empty()) {
        ctx.exit_code = ReportError("compress", InvalidArgument(
            "-o - writes the CRAM to standard output, but its .crai, .md5, .seqchksum and QC files need a name: "
            "give --sidecar-prefix PREFIX (they are named as for PREFIX.cram)"));
        return;
      }
      if (StdoutIsTerminal()) {
        ctx.exit_code = ReportError("compress", InvalidArgument(
            "-o -: standard output is a terminal; redirect it (> FILE.cram, | samtools view) or give -o FILE.cram"));
        return;
      }
      opts->output = *sidecar_prefix + ".cram";
      // The sidecars would describe the stream, not a file of that name beside them (unless that
      // file is where the stream goes: `> PREFIX.cram`, which the shell makes before we run).
      struct stat named, out;
      if (::stat(opts->output.c_str(), &named) == 0 &&
          !(::fstat(STDOUT_FILENO, &out) == 0 && out.st_dev == named.st_dev && out.st_ino == named.st_ino)) {
        ctx.exit_code = ReportError("compress", InvalidArgument(
            "--sidecar-prefix " + *sidecar_prefix + ": '" + opts->output +
            "' exists and is not where standard output goes: the stream's sidecars would sit beside it as if they "
            "were its own; remove it or choose another prefix"));
        return;
      }
      opts->output_fd = STDOUT_FILENO;
      // A reader that goes away is an error this command reports (and its sidecars are removed),
      // not a signal that ends it with the sidecars of a stream that never arrived.
      std::signal(SIGPIPE, SIG_IGN);
    } else if (!sidecar_prefix->empty()) {
      ctx.exit_code = ReportError("compress", InvalidArgument(
          "--sidecar-prefix is for -o - (standard output); with -o FILE.cram the sidecars go beside the file"));
      return;
    }
    if (!rg_line->empty()) {
      // bwa's form: "@RG" then fields separated by tabs, written as \t on a command line.
      std::string line = *rg_line;
      for (size_t at; (at = line.find("\\t")) != std::string::npos;) line.replace(at, 2, "\t");
      if (line.rfind("@RG\t", 0) != 0) {
        ctx.exit_code = ReportError("compress", InvalidArgument("-R '" + *rg_line + "': the line must start with @RG\\t"));
        return;
      }
      std::vector<std::string> fields;
      for (size_t start = 4; start <= line.size();) {
        const size_t tab = line.find('\t', start);
        const std::string field = line.substr(start, tab == std::string::npos ? std::string::npos : tab - start);
        if (!field.empty()) fields.push_back(field);
        if (tab == std::string::npos) break;
        start = tab + 1;
      }
      // -R first, then --rg-field (later wins within the read stage's checks).
      opts->rg_fields.insert(opts->rg_fields.begin(), fields.begin(), fields.end());
    }
    if (*verbose || *stats) SetLogLevel(LogLevel::kInfo);
    if (!mem->empty()) {
      auto bytes = ParseMemorySize(*mem);
      if (!bytes.ok()) {
        ctx.exit_code = ReportError("compress", bytes.status());
        return;
      }
      opts->memory_bytes = *bytes;
    }
    auto p = ParseCramProfile(*profile);
    opts->profile = *p;
    opts->command_line = ctx.command_line;
    if (!opts->paired && !*single && !opts->interleaved) opts->paired = InputsLookPaired(opts->inputs);
    if (StderrIsTerminal() && !*quiet) opts->progress = DrawProgress;
    auto result = Compress(*opts);
    if (opts->progress) std::fputs("\r\033[K", stderr);
    if (!result.ok()) {
      ctx.exit_code = ReportError("compress", result.status());
      return;
    }
    if (!*quiet) {
      const std::string wrote = to_stdout ? "standard output (sidecars " + opts->output + ".*)" : opts->output;
      std::fprintf(stderr,
                   "cramjet compress: wrote %s: %llu reads, %llu bases, %.2f MB from %.2f MB of "
                   "input (%.3fx), verified, in %.1f s\n",
                   wrote.c_str(), static_cast<unsigned long long>(result->records),
                   static_cast<unsigned long long>(result->bases), result->output_bytes / 1e6,
                   result->input_bytes / 1e6,
                   result->input_bytes ? double(result->output_bytes) / result->input_bytes : 0.0,
                   result->seconds);
    }
    if (*stats) {
      for (const auto& [name, secs] : result->stage_seconds)
        std::fprintf(stderr, "stage %-10s %8.3f s\n", name.c_str(), secs);
    }
  });

  // ---- decompress ----
  auto* d = app.add_subcommand("decompress", "CRAM back to FASTQ (exact records) or SAM/BAM");
  auto dopts = std::make_shared<DecompressOptions>();
  auto format = std::make_shared<std::string>();
  auto output = std::make_shared<std::string>();
  auto out_r1 = std::make_shared<std::string>();
  auto out_r2 = std::make_shared<std::string>();
  d->add_option("input", dopts->input, "CRAM (or BAM/SAM) file; '-' reads standard input")->required();
  auto* o_opt = d->add_option("-o,--output", *output,
                              "One output: FASTQ (single-end, or pairs interleaved) or SAM/BAM; "
                              "'-' for standard output");
  auto* r1_opt = d->add_option("-1", *out_r1, "FASTQ for read 1 of pairs (with -2)");
  auto* r2_opt = d->add_option("-2", *out_r2, "FASTQ for read 2 of pairs (with -1)");
  r1_opt->needs(r2_opt);
  r2_opt->needs(r1_opt);
  o_opt->excludes(r1_opt);
  r1_opt->excludes(o_opt);
  d->add_option("-T,--reference", dopts->reference, "Reference FASTA if not found by M5/UR");
  d->add_option("-O,--output-fmt", *format, "fastq, fastq.gz, sam or bam (default: from the name)")
      ->check(CLI::IsMember({"fastq", "fastq.gz", "sam", "bam"}));
  d->add_option("-@,--threads", dopts->threads, "Threads")->check(CLI::Range(1, 256));
  auto original = std::make_shared<bool>(false);
  auto stored = std::make_shared<bool>(false);
  auto* original_opt = d->add_flag("--original-order", *original,
                                   "FASTQ in input order, or an error if the CRAM did not record it "
                                   "(default: input order when recorded, else mates collated by name)");
  auto* stored_opt = d->add_flag("--stored-order", *stored,
                                 "FASTQ as stored (position order): faster, one output only, mates "
                                 "may be far apart");
  original_opt->excludes(stored_opt);
  d->callback([&ctx, dopts, format, output, out_r1, out_r2, original, stored] {
    using Order = DecompressOptions::Order;
    dopts->order = *original ? Order::kOriginal : *stored ? Order::kStored : Order::kAuto;
    if (output->empty() && out_r1->empty()) {
      ctx.exit_code = ReportError("decompress", InvalidArgument("give -o FILE, or -1 R1 -2 R2"));
      return;
    }
    dopts->outputs = output->empty() ? std::vector<std::string>{*out_r1, *out_r2}
                                     : std::vector<std::string>{*output};
    std::string f = *format;
    if (f.empty()) {
      const std::string& first = dopts->outputs[0];
      auto ends = [&](const char* s) {
        std::string suf(s);
        return first.size() >= suf.size() && first.compare(first.size() - suf.size(), suf.size(), suf) == 0;
      };
      f = ends(".bam") ? "bam" : ends(".sam") ? "sam" : ends(".gz") ? "fastq.gz" : "fastq";
    }
    dopts->format = f == "bam" ? DecompressFormat::kBam : f == "sam" ? DecompressFormat::kSam
                  : f == "fastq.gz" ? DecompressFormat::kFastqGz : DecompressFormat::kFastq;
    auto result = Decompress(*dopts);
    if (!result.ok()) ctx.exit_code = ReportError("decompress", result.status());
  });
}

}  // namespace cramjet::cli
