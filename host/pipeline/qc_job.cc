// `cramjet qc FILE` (RunQcOnFile() of cramjet/qc.h): QC of an existing file through the same
// collector that compress uses. FASTQ goes through the read stage's OpenReads() (the same
// records, flags and @RG per input file that compress sees; two files are R1/R2 pairs).
// SAM/BAM/CRAM are opened with the common opener and read record by record, so QC sees every
// record as stored, secondary and supplementary ones included.
#include <htslib/sam.h>

#include "common/alignment_file.h"
#include "cramjet/qc.h"
#include "qc/qc.h"
#include "read/read.h"

namespace cramjet {
namespace {

std::string DefaultPrefix(const std::string& input) { return StripReadFileExtensions(input); }

std::string SampleFromPath(const std::string& input) {
  std::string name = BaseName(DefaultPrefix(input));
  for (const char* tail : {"_R1_001", "_R1", "_1"}) {
    const std::string t = tail;
    if (name.size() > t.size() && name.compare(name.size() - t.size(), t.size(), t) == 0) {
      name.resize(name.size() - t.size());
      break;
    }
  }
  return name;
}

}  // namespace

Status CheckQcConfig(const std::string& config_path) {
  return LoadQcThresholds(config_path).status();
}

namespace {

StatusOr<QcFileResult> Finish(QcCollector& collector, const QcFileOptions& options) {
  CRAMJET_RETURN_IF_ERROR(collector.Finish());
  const std::string prefix = options.output_prefix.empty() ? DefaultPrefix(options.inputs[0]) : options.output_prefix;
  CRAMJET_RETURN_IF_ERROR(collector.WriteOutputs(prefix));
  QcFileResult result;
  result.reads = collector.reads();
  result.bases = collector.bases();
  result.verdict = QcVerdictName(collector.overall_verdict());
  result.outputs = QcOutputPaths(prefix);
  return result;
}

StatusOr<QcFileResult> RunOnFastq(const QcFileOptions& options, QcOptions qc) {
  ReadOptions read;
  read.inputs = options.inputs;
  read.paired = options.inputs.size() == 2;
  read.sample = options.sample;
  read.threads = options.threads;
  CRAMJET_ASSIGN_OR_RETURN(auto source, OpenReads(read));
  CRAMJET_ASSIGN_OR_RETURN(auto collector, QcCollector::Create(qc, source->header()));
  ReadBatch batch;
  while (true) {
    CRAMJET_ASSIGN_OR_RETURN(size_t n, source->NextBatch(batch, 4096));
    if (n == 0) break;
    for (size_t i = 0; i < n; ++i) collector->Add(batch[i]);
  }
  return Finish(*collector, options);
}

}  // namespace

StatusOr<QcFileResult> RunQcOnFile(const QcFileOptions& options) {
  if (options.inputs.empty() || options.inputs.size() > 2) {
    return InvalidArgument("qc takes one input file, or two FASTQ files (R1 R2)");
  }
  QcOptions qc;
  qc.config_path = options.config_path;
  qc.reference = options.reference;
  qc.sample = options.sample;
  qc.threads = options.threads;
  qc.input_description = options.inputs[0] + (options.inputs.size() == 2 ? " + " + options.inputs[1] : "");
  // Refuse a bad config before reading anything.
  CRAMJET_RETURN_IF_ERROR(LoadQcThresholds(options.config_path).status());
  std::vector<InputFormat> formats;
  for (const auto& path : options.inputs) {
    CRAMJET_RETURN_IF_ERROR(CheckReadableFile(path));
    CRAMJET_ASSIGN_OR_RETURN(InputFormat format, DetectInputFormat(path));
    formats.push_back(format);
  }
  if (formats[0] == InputFormat::kFastq) {
    if (formats.size() == 2 && formats[1] != InputFormat::kFastq)
      return InvalidArgument("'" + options.inputs[1] + "': two inputs must both be FASTQ (R1 R2)");
    return RunOnFastq(options, qc);
  }
  if (options.inputs.size() == 2) {
    return InvalidArgument("'" + options.inputs[0] + "': two inputs must both be FASTQ (R1 R2)");
  }
  AlignmentOpenOptions open;
  open.reference = options.reference;
  open.threads = options.threads;
  open.htslib_default_md_nm = true;
  CRAMJET_ASSIGN_OR_RETURN(AlignmentFile in, OpenAlignmentFile(options.inputs[0], open));
  if (qc.sample.empty()) {
    kstring_t ks = KS_INITIALIZE;
    if (sam_hdr_find_tag_pos(in.header.get(), "RG", 0, "SM", &ks) != 0) qc.sample = SampleFromPath(options.inputs[0]);
    ks_free(&ks);
  }
  CRAMJET_ASSIGN_OR_RETURN(auto collector, QcCollector::Create(qc, in.header.get()));
  BamPtr b = NewBam();
  for (uint64_t records = 0;; ++records) {
    CRAMJET_ASSIGN_OR_RETURN(bool more, ReadAlignmentRecord(in, b.get(), records));
    if (!more) break;
    collector->Add(b.get());
  }
  return Finish(*collector, options);
}

}  // namespace cramjet
