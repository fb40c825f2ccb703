// The decompress job: CRAM (or BAM/SAM) back to FASTQ, exactly as it came in for CRAMs that
// cramjet made from FASTQ, or to SAM/BAM. Outputs are written under temporary names and renamed
// when complete; "-" streams to standard output.
#include <htslib/bgzf.h>

#include <optional>

#include "common/common.h"
#include "cramjet/log.h"
#include "pipeline/pipeline.h"
#include "read/read.h"
#include "sort/sort.h"

namespace cramjet {
namespace {

constexpr size_t kBatchRecords = 4096;

// One FASTQ output stream: plain or gzip (BGZF, which every gzip reader accepts).
class FastqSink {
 public:
  Status Open(const std::string& path, bool gzip, hts_tpool* pool) {
    path_ = path;
    std::string target = path;
    if (path != "-") {
      CRAMJET_ASSIGN_OR_RETURN(AtomicOutput out, AtomicOutput::Create(path));
      out_.emplace(std::move(out));
      target = out_->temp_path();
    }
    fp_ = bgzf_open(target.c_str(), gzip ? "w" : "wu");
    if (!fp_) return IoErrorFromErrno("'" + path + "': cannot create", errno);
    if (gzip && pool) bgzf_thread_pool(fp_, pool, 0);
    return Status::Ok();
  }
  ~FastqSink() {
    if (fp_) bgzf_close(fp_);
  }
  Status Write(const std::string& text) {
    if (bgzf_write(fp_, text.data(), text.size()) < 0)
      return IoErrorFromErrno("'" + path_ + "': write failed", errno ? errno : EIO);
    return Status::Ok();
  }
  Status Finish() {
    int rc = bgzf_close(fp_);
    fp_ = nullptr;
    if (rc < 0) return IoErrorFromErrno("'" + path_ + "': cannot finish writing", errno ? errno : EIO);
    return out_ ? out_->Commit() : Status::Ok();
  }

 private:
  std::string path_;
  BGZF* fp_ = nullptr;
  std::optional<AtomicOutput> out_;
};

Status DecompressToFastq(const DecompressOptions& o, ReadSource& src, hts_tpool* pool,
                         DecompressResult& result) {
  if (o.outputs.empty() || o.outputs.size() > 2)
    return InvalidArgument("FASTQ output needs one file (single-end or interleaved) or two (R1 R2)");
  const bool split = o.outputs.size() == 2;
  using Order = DecompressOptions::Order;
  if (split && o.order == Order::kStored)
    return InvalidArgument("R1 and R2 outputs need their mates in sync: they cannot be written in "
                           "stored order (leave out --stored-order, or write one output)");
  CRAMJET_ASSIGN_OR_RETURN(auto order_rules, ReadOrderRules(src.header()));
  const bool recorded = !order_rules.empty();
  FastqFormatter formatter(src.header());
  const bool restore = o.order == Order::kOriginal || (o.order == Order::kAuto && recorded);
  if (formatter.NeedsInputOrder() && !restore)
    return InvalidArgument("'" + o.input + "' names its SRA reads by their place in the input (@RG sd): "
                           "it can only be written in the input order (leave out --stored-order)");
  // Outputs are claimed only once the order is settled: a refusal leaves not even a temporary.
  bool gzip = o.format == DecompressFormat::kFastqGz;
  std::vector<std::unique_ptr<FastqSink>> sinks;
  for (const auto& path : o.outputs) {
    sinks.push_back(std::make_unique<FastqSink>());
    CRAMJET_RETURN_IF_ERROR(sinks.back()->Open(path, gzip, pool));
  }
  std::string text;
  uint64_t record = 0;
  // Split output: the READ1 whose READ2 must come next, by the name mates share (StripMateSuffix).
  std::string waiting_r1;
  // Formats each primary record to its sink; works the same in every order. Two outputs take
  // pairs only, READ1 then its READ2, so the files stay in sync.
  RecordSink write = [&](const bam1_t* b) -> Status {
    ++record;
    if (b->core.flag & (BAM_FSECONDARY | BAM_FSUPPLEMENTARY)) return Status::Ok();
    int which = 0;
    if (split) {
      auto where = [&] {
        return "'" + o.input + "': record " + std::to_string(record) + " ('" + bam_get_qname(b) + "')";
      };
      if (!(b->core.flag & BAM_FPAIRED)) {
        return InvalidArgument(where() + " is not paired, but two FASTQ outputs were given; "
                               "write one (single-end) output instead");
      }
      which = (b->core.flag & BAM_FREAD2) ? 1 : 0;
      if (which == 0) {
        if (!waiting_r1.empty())
          return InvalidArgument("'" + o.input + "': read '" + waiting_r1 +
                                 "' has no READ2 mate, so R1 and R2 outputs cannot stay in sync; "
                                 "write one (interleaved) output instead");
        waiting_r1 = StripMateSuffix(bam_get_qname(b));
      } else {
        if (waiting_r1.empty() || waiting_r1 != StripMateSuffix(bam_get_qname(b)))
          return InvalidArgument(where() + " is a READ2 without its READ1 mate, so R1 and R2 "
                                 "outputs cannot stay in sync; write one (interleaved) output instead");
        waiting_r1.clear();
      }
    }
    text.clear();
    formatter.Format(b, text);
    ++result.records;
    return sinks[which]->Write(text);
  };
  SortOptions so;
  if (o.memory_bytes) so.memory_bytes = o.memory_bytes;
  so.temp_dir = DirName(o.outputs[0] == "-" ? std::string("./x") : o.outputs[0]);
  so.threads = o.threads;
  RecordSource read = [&src](ReadBatch& b, size_t max) { return src.NextBatch(b, max); };
  if (restore) {
    CRAMJET_RETURN_IF_ERROR(RestoreOriginalOrder(so, o.input, src.header(), read, write).status());
  } else if (o.order == Order::kAuto) {
    CJ_LOG(kInfo) << "'" << o.input << "' did not record the input order: writing mates together";
    CRAMJET_RETURN_IF_ERROR(CollateByName(so, read, write).status());
  } else {
    ReadBatch batch;
    for (;;) {
      CRAMJET_ASSIGN_OR_RETURN(size_t n, src.NextBatch(batch, kBatchRecords));
      if (n == 0) break;
      for (size_t i = 0; i < n; ++i) CRAMJET_RETURN_IF_ERROR(write(batch[i]));
    }
  }
  if (!waiting_r1.empty())
    return InvalidArgument("'" + o.input + "': read '" + waiting_r1 +
                           "' has no READ2 mate, so R1 and R2 outputs cannot stay in sync; "
                           "write one (interleaved) output instead");
  for (auto& s : sinks) CRAMJET_RETURN_IF_ERROR(s->Finish());
  return Status::Ok();
}

Status DecompressToAlignment(const DecompressOptions& o, ReadSource& src, hts_tpool* pool,
                             DecompressResult& result) {
  if (o.outputs.size() != 1) return InvalidArgument("SAM/BAM output needs exactly one file");
  const std::string& path = o.outputs[0];
  std::optional<AtomicOutput> out;
  std::string target = path;
  if (path != "-") {
    CRAMJET_ASSIGN_OR_RETURN(AtomicOutput a, AtomicOutput::Create(path));
    out.emplace(std::move(a));
    target = out->temp_path();
  }
  HtsFilePtr fp(sam_open(target.c_str(), o.format == DecompressFormat::kBam ? "wb" : "w"));
  if (!fp) return IoErrorFromErrno("'" + path + "': cannot create", errno);
  if (pool) {
    htsThreadPool p = {pool, 0};
    hts_set_opt(fp.get(), HTS_OPT_THREAD_POOL, &p);
  }
  if (sam_hdr_write(fp.get(), src.header()) < 0)
    return IoErrorFromErrno("'" + path + "': cannot write the header", errno ? errno : EIO);
  ReadBatch batch;
  for (;;) {
    CRAMJET_ASSIGN_OR_RETURN(size_t n, src.NextBatch(batch, kBatchRecords));
    if (n == 0) break;
    for (size_t i = 0; i < n; ++i) {
      if (sam_write1(fp.get(), src.header(), batch[i]) < 0)
        return IoErrorFromErrno("'" + path + "': write failed", errno ? errno : EIO);
    }
    result.records += n;
  }
  if (sam_close(fp.release()) < 0)
    return IoErrorFromErrno("'" + path + "': cannot finish writing", errno ? errno : EIO);
  return out ? out->Commit() : Status::Ok();
}

}  // namespace

namespace {

bool EndsWith(const std::string& s, std::string_view tail) {
  return s.size() >= tail.size() && s.compare(s.size() - tail.size(), tail.size(), tail) == 0;
}

// What an output's name says it holds, when it says: "CRAM", "BAM", "SAM", "FASTQ" or "".
std::string FormatNamedBy(const std::string& path) {
  if (EndsWith(path, ".cram")) return "CRAM";
  if (EndsWith(path, ".bam")) return "BAM";
  if (EndsWith(path, ".sam")) return "SAM";
  for (std::string_view fq : {".fastq", ".fq", ".fastq.gz", ".fq.gz"})
    if (EndsWith(path, fq)) return "FASTQ";
  return "";
}

// The outputs are not the input, the reference or each other, and no name promises another
// format than the one written (FASTQ text under x.cram went unnoticed).
Status CheckDecompressOutputs(const DecompressOptions& o) {
  const bool fastq = o.format == DecompressFormat::kFastq || o.format == DecompressFormat::kFastqGz;
  const std::string writes = fastq ? "FASTQ" : o.format == DecompressFormat::kBam ? "BAM" : "SAM";
  for (const std::string& out : o.outputs) {
    const std::string named = FormatNamedBy(out);
    if (named == "CRAM")
      return InvalidArgument("output '" + out + "': decompress writes " + writes +
                             ", not CRAM (compress writes CRAM; name the output for what it holds)");
    if (!named.empty() && named != writes)
      return InvalidArgument("output '" + out + "': the name says " + named + " but the output is " + writes +
                             " (-O names the format)");
  }
  return CheckOutputsAreNotInputs({o.input, o.reference}, o.outputs);
}

}  // namespace

StatusOr<DecompressResult> Decompress(const DecompressOptions& options) {
  if (options.input.empty()) return InvalidArgument("no input file given");
  CRAMJET_RETURN_IF_ERROR(CheckDecompressOutputs(options));
  ThreadPoolPtr pool = MakeThreadPool(options.threads);
  ReadOptions ro;
  ro.inputs = {options.input};
  ro.reference = options.reference;
  ro.pool = pool.get();
  CRAMJET_ASSIGN_OR_RETURN(auto src, OpenReads(ro));
  if (src->format() == InputFormat::kFastq)
    return InvalidArgument("'" + options.input + "' is FASTQ already; decompress takes CRAM/BAM/SAM");
  DecompressResult result;
  if (options.format == DecompressFormat::kFastq || options.format == DecompressFormat::kFastqGz) {
    CRAMJET_RETURN_IF_ERROR(DecompressToFastq(options, *src, pool.get(), result));
  } else {
    CRAMJET_RETURN_IF_ERROR(DecompressToAlignment(options, *src, pool.get(), result));
  }
  return result;
}

}  // namespace cramjet
