// `cramjet qc FILE`: QC of an existing file through the same collector that compress uses.
// Input is read with htslib (SAM/BAM/CRAM and FASTQ; two FASTQ files are read as R1/R2 pairs).
#include <htslib/hts.h>
#include <htslib/sam.h>

#include "cramjet/qc.h"
#include "qc/qc.h"

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

std::string DefaultPrefix(const std::string& input) {
  std::string p = input;
  for (const char* ext : {".gz", ".bgz", ".bam", ".cram", ".sam", ".fastq", ".fq"}) {
    const std::string e = ext;
    if (p.size() > e.size() && p.compare(p.size() - e.size(), e.size(), e) == 0) p.resize(p.size() - e.size());
  }
  return p;
}

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

StatusOr<QcFileResult> RunQcOnFile(const QcFileOptions& options) {
  if (options.inputs.empty() || options.inputs.size() > 2) {
    return InvalidArgument("qc takes one input file, or two FASTQ files (R1 R2)");
  }
  std::vector<OpenInput> inputs;
  for (const auto& path : options.inputs) {
    CRAMJET_ASSIGN_OR_RETURN(OpenInput in, Open(path, options.reference, options.threads));
    inputs.push_back(std::move(in));
  }
  const bool pairs = inputs.size() == 2;
  if (pairs) {
    for (const auto& in : inputs) {
      if (hts_get_format(in.file.get())->format != fastq_format)
        return InvalidArgument("'" + in.path + "': two inputs must both be FASTQ (R1 R2)");
    }
  }
  QcOptions qc;
  qc.config_path = options.config_path;
  qc.reference = options.reference;
  qc.sample = options.sample;
  if (qc.sample.empty()) {
    kstring_t ks = KS_INITIALIZE;
    if (sam_hdr_find_tag_pos(inputs[0].header.get(), "RG", 0, "SM", &ks) != 0) qc.sample = SampleFromPath(options.inputs[0]);
    ks_free(&ks);
  }
  qc.input_description = options.inputs[0] + (pairs ? " + " + options.inputs[1] : "");
  CRAMJET_ASSIGN_OR_RETURN(auto collector, QcCollector::Create(qc, inputs[0].header.get()));

  BamPtr b = NewBam();
  if (!pairs) {
    while (true) {
      CRAMJET_ASSIGN_OR_RETURN(bool more, Next(inputs[0], b.get()));
      if (!more) break;
      collector->Add(b.get());
    }
  } else {
    BamPtr mate = NewBam();
    while (true) {
      CRAMJET_ASSIGN_OR_RETURN(bool more1, Next(inputs[0], b.get()));
      CRAMJET_ASSIGN_OR_RETURN(bool more2, Next(inputs[1], mate.get()));
      if (more1 != more2) {
        const OpenInput& shorter = more1 ? inputs[1] : inputs[0];
        const OpenInput& longer = more1 ? inputs[0] : inputs[1];
        return BadInput("'" + shorter.path + "': ends after " + std::to_string(shorter.records) +
                        " records while '" + longer.path + "' has more (R1 and R2 must pair up)");
      }
      if (!more1) break;
      b->core.flag = (b->core.flag & ~BAM_FREAD2) | BAM_FPAIRED | BAM_FREAD1 | BAM_FUNMAP | BAM_FMUNMAP;
      mate->core.flag = (mate->core.flag & ~BAM_FREAD1) | BAM_FPAIRED | BAM_FREAD2 | BAM_FUNMAP | BAM_FMUNMAP;
      collector->Add(b.get());
      collector->Add(mate.get());
    }
  }
  CRAMJET_RETURN_IF_ERROR(collector->Finish());
  const std::string prefix = options.output_prefix.empty() ? DefaultPrefix(options.inputs[0]) : options.output_prefix;
  CRAMJET_RETURN_IF_ERROR(collector->WriteOutputs(prefix));
  QcFileResult result;
  result.reads = collector->reads();
  result.bases = collector->bases();
  result.verdict = QcVerdictName(collector->overall_verdict());
  result.outputs = QcOutputPaths(prefix);
  return result;
}

}  // namespace cramjet
