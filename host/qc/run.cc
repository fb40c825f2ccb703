// `cramjet qc FILE`: QC of an existing file through the same collector that compress uses.
// FASTQ goes through the read stage's OpenReads() (the same records, flags and @RG per input file
// that compress sees; two files are R1/R2 pairs). SAM/BAM/CRAM are read with htslib directly, so
// QC sees every record as stored, secondary and supplementary ones included.
#include <htslib/hts.h>
#include <htslib/sam.h>

#include "cramjet/qc.h"
#include "qc/qc.h"
#include "read/read.h"

namespace cramjet {
namespace {

struct OpenInput {
  std::string path;
  HtsFilePtr file;
  HeaderPtr header;
  uint64_t records = 0;
};

StatusOr<OpenInput> Open(const std::string& path, const std::string& reference, int threads) {
  CRAMJET_RETURN_IF_ERROR(CheckReadableFile(path));
  OpenInput in;
  in.path = path;
  in.file.reset(hts_open(path.c_str(), "r"));
  if (!in.file) return BadInput("'" + path + "': not a FASTQ, SAM, BAM or CRAM file htslib can open");
  const htsFormat* fmt = hts_get_format(in.file.get());
  if (fmt->category != sequence_data ||
      (fmt->format != sam && fmt->format != bam && fmt->format != cram && fmt->format != fastq_format)) {
    return BadInput("'" + path + "': not a FASTQ, SAM, BAM or CRAM file (htslib sees " +
                    std::string(hts_format_description(fmt) ? hts_format_description(fmt) : "?") + ")");
  }
  if (fmt->format == cram && !reference.empty() && hts_set_fai_filename(in.file.get(), reference.c_str()) != 0) {
    return BadInput("'" + reference + "': cannot use as the reference for '" + path + "'");
  }
  if (threads > 1) hts_set_threads(in.file.get(), threads);
  in.header.reset(sam_hdr_read(in.file.get()));
  if (!in.header) return BadInput("'" + path + "': cannot read the header");
  return in;
}

// Reads the next record; false at the end. Errors name the file and the record number.
StatusOr<bool> Next(OpenInput& in, bam1_t* b) {
  const int r = sam_read1(in.file.get(), in.header.get(), b);
  if (r == -1) return false;
  if (r < -1) {
    return BadInput("'" + in.path + "': record " + std::to_string(in.records + 1) +
                    ": malformed or truncated (htslib could not read it)");
  }
  ++in.records;
  return true;
}

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
  CRAMJET_ASSIGN_OR_RETURN(OpenInput in, Open(options.inputs[0], options.reference, options.threads));
  if (qc.sample.empty()) {
    kstring_t ks = KS_INITIALIZE;
    if (sam_hdr_find_tag_pos(in.header.get(), "RG", 0, "SM", &ks) != 0) qc.sample = SampleFromPath(options.inputs[0]);
    ks_free(&ks);
  }
  CRAMJET_ASSIGN_OR_RETURN(auto collector, QcCollector::Create(qc, in.header.get()));
  const bool is_cram = formats[0] == InputFormat::kCram;
  BamPtr b = NewBam();
  while (true) {
    auto more = Next(in, b.get());
    if (!more.ok() && is_cram && options.reference.empty()) {
      return BadInput(more.status().message() + "; a CRAM needs its reference: give -T");
    }
    if (!more.ok()) return more.status();
    if (!*more) break;
    collector->Add(b.get());
  }
  return Finish(*collector, options);
}

}  // namespace cramjet
