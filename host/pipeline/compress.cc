// The compress job: read -> (map -> sort) -> encode, with checksums taken on the way in, then a
// full decode of the written CRAM as proof, then sidecars, then the atomic rename.
#include <fcntl.h>
#include <htslib/sam.h>
#include <sys/file.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <thread>
#include <future>
#include <optional>
#include <set>
#include <unordered_map>

#include "common/common.h"
#include "common/stdin_input.h"
#include "common/unique_fd.h"
#include "cramjet/checksum.h"
#include "cramjet/log.h"
#include "cramjet/qc.h"
#include "pipeline/batch_pipeline.h"
#include "encode/encode.h"
#include "pipeline/pipeline.h"
#include "map/map.h"
#include "qc/qc.h"
#include "sort/sort.h"
#include "read/read.h"
#include "verify/verify.h"

namespace cramjet {

std::string IndexPathFor(const std::string& cram) { return cram + ".crai"; }

namespace {

constexpr size_t kBatchRecords = 4096;

class CompressJob {
 public:
  explicit CompressJob(const CompressOptions& o) : o_(o), in_sums_(ProofTags(o)) {}
  // A job that fails early stops the reference check between contigs rather than waiting for it.
  ~CompressJob() {
    stop_reference_check_ = true;
    if (reference_check_.valid()) reference_check_.wait();
  }

  // Every given tag is proved, except those dropped on purpose and the input-order tags (oi/oh),
  // which compress itself adds to the exceptions of the order rule (sort.h).
  static std::string ProofTags(const CompressOptions& o) {
    std::vector<std::string> excluded = o.drop_tags;
    if (o.placement == FastqPlacement::kMapped && o.keep_order) excluded.insert(excluded.end(), {"oi", "oh"});
    return excluded.empty() ? std::string(kProofAuxTags) : ProofAuxTagsExcluding(excluded);
  }

  StatusOr<CompressResult> Run() {
    auto start = std::chrono::steady_clock::now();
    CRAMJET_RETURN_IF_ERROR(timer_.Run("read", [&] { return OpenInputs(); }));
    CRAMJET_RETURN_IF_ERROR(timer_.Run("reference", [&] { return PrepareHeader(); }));
    // "stream": read, check, checksum, map and feed the sorter (or QC and the encoder directly);
    // "encode": the sorted records through QC and the encoder.
    CRAMJET_RETURN_IF_ERROR(timer_.Run("stream", [&] { return Stream(); }));
    CRAMJET_RETURN_IF_ERROR(timer_.Run("encode", [&] { return EncodeSorted(); }));
    if (o_.verify) CRAMJET_RETURN_IF_ERROR(timer_.Run("verify", [&] { return VerifyOutput(); }));
    if (qc_) {
      BeginStage("qc", false);
      CRAMJET_RETURN_IF_ERROR(timer_.Run("qc", [&] { return qc_->Finish(); }));
    }
    if (o_.write_index) {
      BeginStage("index", false);
      CRAMJET_RETURN_IF_ERROR(timer_.Run("index", [&] { return BuildIndex(); }));
    }
    if (reference_check_.valid())
      CRAMJET_RETURN_IF_ERROR(timer_.Run("reference check", [&] { return reference_check_.get(); }));
    BeginStage("commit", false);
    CRAMJET_RETURN_IF_ERROR(timer_.Run("commit", [&] { return Commit(); }));
    std::chrono::duration<double> d = std::chrono::steady_clock::now() - start;
    result_.seconds = d.count();
    result_.stage_seconds = timer_.stages();
    return result_;
  }

 private:
  // ---- progress (Progress in cramjet/compress.h) ----
  // A stage starts: reported at once, with fraction 0 where the stage's size is known.
  void BeginStage(const char* stage, bool sized) {
    stage_ = stage;
    stage_start_ = std::chrono::steady_clock::now();
    Report(0, 0, sized ? 0.0 : -1.0, true);
  }
  // Where the stage is; at most every 500 ms unless `force` (a stage's start and end).
  void Report(uint64_t records, uint64_t input_bytes, double fraction, bool force) {
    if (!o_.progress) return;
    std::lock_guard<std::mutex> lock(progress_mu_);
    const auto now = std::chrono::steady_clock::now();
    if (!force && now - last_report_ < std::chrono::milliseconds(500)) return;
    last_report_ = now;
    Progress p;
    p.records = records;
    p.input_bytes = input_bytes;
    p.elapsed_seconds = std::chrono::duration<double>(now - job_start_).count();
    p.stage = stage_;
    p.stage_fraction = fraction < 0 ? -1.0 : std::min(1.0, fraction);
    p.stage_seconds = std::chrono::duration<double>(now - stage_start_).count();
    o_.progress(p);
  }
  double Fraction(uint64_t done, uint64_t total) const { return total > 0 ? static_cast<double>(done) / total : -1.0; }

  Status OpenInputs() {
    if (o_.output.empty()) return InvalidArgument("no output given (-o FILE.cram)");
    if (o_.threads > 1) pool_ = MakeThreadPool(o_.threads);
    for (const auto& in : o_.inputs) {
      if (IsStdinPath(in)) {  // a stream's size is known at its end (Stream)
        input_size_known_ = false;
        continue;
      }
      CRAMJET_ASSIGN_OR_RETURN(uint64_t size, FileSize(in));
      result_.input_bytes += size;
    }
    ReadOptions ro;
    ro.inputs = o_.inputs;
    ro.paired = o_.paired;
    ro.interleaved = o_.interleaved;
    ro.reference = o_.reference;
    ro.sample = o_.sample;
    ro.rg_fields = o_.rg_fields;
    ro.pool = pool_.get();
    // SRA names can follow from each read's place only where the CRAM keeps the input order.
    ro.derive_sra_names = o_.keep_order || o_.placement == FastqPlacement::kUnaligned;
    CRAMJET_ASSIGN_OR_RETURN(source_, OpenReads(ro));
    // Claim every output name's temporary now, so an unwritable folder fails before any work.
    CRAMJET_ASSIGN_OR_RETURN(AtomicOutput cram, AtomicOutput::Create(o_.output));
    cram_.emplace(std::move(cram));
    return Status::Ok();
  }

  Status PrepareHeader() {
    header_.reset(sam_hdr_dup(source_->header()));
    if (!header_) return Internal("cannot copy the input header");
    const bool fastq = source_->format() == InputFormat::kFastq;
    // The input order: mapped FASTQ records it (keep_order); an unaligned CRAM is stored in input
    // order, and says so; aligned input keeps its own order.
    if (fastq && o_.placement == FastqPlacement::kMapped) CRAMJET_RETURN_IF_ERROR(PrepareMapping());
    if (fastq && o_.placement == FastqPlacement::kUnaligned)
      CRAMJET_RETURN_IF_ERROR(WriteStoredOrderRules(header_.get()));
    // Aligned input: MD/NM the reference gives back are left out, and the header says so.
    regenerate_md_nm_ = !fastq;
    if (regenerate_md_nm_) CRAMJET_RETURN_IF_ERROR(MarkRegeneratedTags(header_.get()));
    // The mapper index holds each contig's MD5, taken from this FASTA when it was built: the
    // header uses them at once, and a thread beside the job reads the FASTA to confirm them
    // before the commit (hashing 3.1 Gb takes ~30 s, which the job would otherwise wait for).
    std::unordered_map<std::string, std::string> index_md5s;
    if (index_)
      for (const ContigInfo& c : index_->contigs()) index_md5s.emplace(c.name, c.md5);
    CRAMJET_RETURN_IF_ERROR(PrepareReference(o_.reference, header_.get(), o_.inputs[0], &unusable_contigs_,
                                             index_ ? &index_md5s : nullptr));
    if (index_)
      reference_check_ = std::async(std::launch::async, [this, md5s = std::move(index_md5s)] {
        return CheckReferenceDigests(o_.reference, md5s, &stop_reference_check_);
      });
    if (o_.qc) {
      QcOptions qo;
      qo.sample = o_.sample;
      qo.config_path = o_.qc_config;
      qo.reference = o_.reference;
      qo.threads = o_.threads;
      // QC uses the backend when it is a device (a job without mapping opens one only when asked).
      auto kind = ParseAccelKind(o_.accel);
      if (o_.backend || owned_backend_ || (kind.ok() && (*kind == AccelKind::kOpenCL || *kind == AccelKind::kXrt))) {
        CRAMJET_ASSIGN_OR_RETURN(qo.backend, EnsureBackend());
      }
      for (const auto& in : o_.inputs)
        qo.input_description += (qo.input_description.empty() ? "" : ", ") + BaseName(in);
      CRAMJET_ASSIGN_OR_RETURN(qc_, QcCollector::Create(qo, header_.get()));
    }
    return Status::Ok();
  }

  // The accelerator backend, chosen once: the mapper's, and QC's when it is a device.
  StatusOr<const Backend*> EnsureBackend() {
    if (o_.backend) return o_.backend;
    if (!owned_backend_) {
      CRAMJET_ASSIGN_OR_RETURN(AccelChoice accel, ParseAccelChoice(o_.accel));
      accel.xclbin = o_.xclbin;
      CRAMJET_ASSIGN_OR_RETURN(owned_backend_, CreateBackend(accel));
    }
    return owned_backend_.get();
  }

  // Mapper, backend (chosen once), @SQ from the index, and the sorter behind it.
  Status PrepareMapping() {
    CRAMJET_ASSIGN_OR_RETURN(index_, OpenMapperIndex());
    CRAMJET_ASSIGN_OR_RETURN(const Backend* backend, EnsureBackend());
    CRAMJET_RETURN_IF_ERROR(AddReferenceContigs(header_.get(), *index_, o_.reference));
    if (sam_hdr_update_hd(header_.get(), "SO", "coordinate") < 0) return Internal("cannot set @HD SO");
    sam_hdr_remove_tag_hd(header_.get(), "GO");
    MapOptions mo;
    CRAMJET_ASSIGN_OR_RETURN(mo.long_reads, ParseLongReadPreset(o_.long_reads));
    mo.long_read_index_threads = o_.threads;
    CRAMJET_ASSIGN_OR_RETURN(mapper_, Mapper::Create(*index_, *backend, mo));
    SortOptions so;
    if (o_.memory_bytes) so.memory_bytes = o_.memory_bytes;
    so.temp_dir = DirName(o_.output);
    so.threads = o_.threads;
    CRAMJET_ASSIGN_OR_RETURN(sorter_, PositionSorter::Create(so, header_.get()));
    if (o_.keep_order) recorder_ = std::make_unique<OrderRecorder>(header_.get());
    return Status::Ok();
  }

  // The index beside the reference; with build_index a missing, stale or foreign one is (re)built
  // first. I/O errors reading an existing index are not papered over by a rebuild.
  StatusOr<std::unique_ptr<ReferenceIndex>> OpenMapperIndex() {
    auto index = ReferenceIndex::Open(o_.reference);
    if (index.ok()) return index;
    const StatusCode code = index.status().code();
    const bool rebuildable = code == StatusCode::kFailedPrecondition || code == StatusCode::kBadInput;
    if (!rebuildable) return index.status();
    if (!o_.build_index)
      return Status(code, index.status().message() +
                              ", or let compress build it (--build-index), or store the reads "
                              "unplaced (--unaligned)");
    // Jobs on one reference at once (two daemon workers, two cramjet runs) build it once: each
    // takes an exclusive lock on the FASTA (flock works on a read-only file) and looks again
    // once it holds it; the first builds, the others find its index.
    UniqueFd lock(::open(o_.reference.c_str(), O_RDONLY | O_CLOEXEC));
    if (lock.valid())
      while (::flock(lock.get(), LOCK_EX) != 0 && errno == EINTR) {
      }
    auto built_meanwhile = ReferenceIndex::Open(o_.reference);
    if (built_meanwhile.ok()) {
      CJ_LOG(kInfo) << "mapper index for '" << o_.reference << "' built by another job meanwhile";
      return built_meanwhile;
    }
    CJ_LOG(kInfo) << "building the mapper index for '" << o_.reference << "' ("
                  << index.status().message() << ")";
    CRAMJET_RETURN_IF_ERROR(ReferenceIndex::Build(o_.reference, o_.threads));
    return ReferenceIndex::Open(o_.reference);
  }

  // "dir/S1.cram" -> "dir/S1": QC files are named after the CRAM.
  std::string QcPrefix() const { return QcPrefixForCram(o_.output); }

  // Tags the user asked to drop go before the checksum, so the proof covers what is stored.
  void DropTags(bam1_t* b) {
    for (const auto& tag : o_.drop_tags) {
      if (uint8_t* s = bam_aux_get(b, tag.c_str())) bam_aux_del(b, s);
    }
  }

  // The writer takes the header as it is now: for sorted output it opens after the input was
  // read, when the order rules are known.
  Status OpenWriter() {
    EncodeOptions eo;
    eo.reference = o_.reference;
    eo.cram_version = o_.cram_version;
    eo.profile = o_.profile;
    eo.command_line = o_.command_line;
    eo.threads = o_.threads;
    eo.container_records = o_.container_records;
    eo.file_name = BaseName(o_.output);
    eo.regenerate_md_nm = regenerate_md_nm_;
    CRAMJET_ASSIGN_OR_RETURN(writer_, CramWriter::Open(cram_->temp_path(), header_.get(), eo));
    return Status::Ok();
  }

  // Records in the input, from its size, for an encoder that sees the records as they are read
  // (the sorted path counts them exactly). Bytes per record at the low end of what short-read
  // files take (exome BAMs 36-86, our CRAMs 8-12, fastq.gz 60+), so the estimate errs high: a
  // file estimated at a few containers really is that small.
  uint64_t EstimatedRecords() const {
    uint64_t per_record = 32;  // BAM, gzip SAM
    switch (source_->format()) {
      case InputFormat::kCram: per_record = 8; break;
      case InputFormat::kFastq: per_record = 40; break;
      default: break;
    }
    return result_.input_bytes / per_record + 1;
  }

  Status Stream() {
    if (!sorter_) {
      CRAMJET_RETURN_IF_ERROR(OpenWriter());
      // A stream of unknown size is planned as a large input (all encode lanes).
      if (input_size_known_) CRAMJET_RETURN_IF_ERROR(writer_->SetRecordCount(EstimatedRecords()));
    }
    BeginStage("read", input_size_known_ && result_.input_bytes > 0);
    uint64_t read_records = 0;
    std::atomic<uint64_t> input_bytes{0};
    // Read, check and checksum (one thread) -> map (the other threads) -> sort or encode, in input
    // order (this thread). The encoder has threads of its own (encode.h).
    BatchProducer produce = [&](ReadBatch& batch) -> StatusOr<bool> {
      CRAMJET_ASSIGN_OR_RETURN(size_t n, source_->NextBatch(batch, kBatchRecords));
      input_bytes = source_->bytes_read();
      if (n == 0) return false;
      for (size_t i = 0; i < n; ++i) {
        bam1_t* b = batch[i];
        CRAMJET_RETURN_IF_ERROR(
            CheckRecordReference(b, unusable_contigs_, o_.inputs[0], read_records + i + 1));
        if (!o_.drop_tags.empty()) DropTags(b);
        if (in_sums_.Add(b)) result_.bases += static_cast<uint64_t>(b->core.l_qseq);
        if (regenerate_md_nm_) {  // after the checksum: the proof sees the tags as they came
          Status s = PrepareRegeneratedTags(b);
          if (!s.ok())
            return Status(s.code(), "'" + o_.inputs[0] + "': record " + std::to_string(read_records + i + 1) +
                                        " ('" + bam_get_qname(b) + "') " + s.message());
        }
      }
      read_records += n;
      return true;
    };
    // -@ 1 runs it all on this thread; with more, the reader gets a thread of its own and the
    // mapper the rest (reading alone keeps one core busy on gzip input).
    const int workers = o_.threads <= 1 ? 0 : std::max(1, o_.threads - 1);
    std::vector<MapBuffer> map_buffers(mapper_ ? std::max(1, workers) : 0);  // one per map worker
    BatchTransform map;
    if (mapper_)
      map = [&](ReadBatch& batch, int worker) { return mapper_->MapBatch(batch, map_buffers[worker]); };
    BatchConsumer consume = [&](ReadBatch& batch) -> Status {
      if (sorter_) {
        // Placed records go to the sorter; they reach QC and the encoder in position order. The
        // recorder sees them in input order, as placed (the stored rule needs the positions).
        if (recorder_)
          for (size_t i = 0; i < batch.size; ++i) recorder_->Add(batch[i]);
        CRAMJET_RETURN_IF_ERROR(sorter_->Add(batch));
      } else {
        for (size_t i = 0; i < batch.size; ++i) CRAMJET_RETURN_IF_ERROR(Emit(*writer_, batch[i]));
      }
      records_ += batch.size;
      Report(records_, input_bytes, input_size_known_ ? Fraction(input_bytes, result_.input_bytes) : -1.0, false);
      return Status::Ok();
    };
    CRAMJET_RETURN_IF_ERROR(RunBatchPipeline(workers, produce, map, consume));
    if (!input_size_known_) result_.input_bytes = input_bytes;  // what the stream held (compressed)
    Report(records_, input_bytes, result_.input_bytes > 0 ? 1.0 : -1.0, true);
    result_.records = in_sums_.count();
    return Status::Ok();
  }

  Status EncodeSorted() {
    if (sorter_) {
      BeginStage("sort", false);
      CRAMJET_RETURN_IF_ERROR(sorter_->Finish());
      if (recorder_) {
        recorder_->Finish();
        CRAMJET_RETURN_IF_ERROR(recorder_->WriteRules(header_.get()));
        for (const GroupOrder& g : recorder_->groups())
          CJ_LOG(kInfo) << "input order of read group " << g.id << ": rule " << OrderRuleName(g.rule)
                        << ", " << g.exceptions << " exceptions";
      }
      CRAMJET_RETURN_IF_ERROR(OpenWriter());
      // Every record is in the sorter now: the encoder plans its lanes for that many.
      CRAMJET_RETURN_IF_ERROR(writer_->SetRecordCount(records_));
      // Merge, order tags and QC on one thread, the encoder's per-record work on this one, in order.
      std::vector<uint64_t> input_index;
      BatchProducer merge_and_qc = [this, &input_index](ReadBatch& batch) -> StatusOr<bool> {
        CRAMJET_ASSIGN_OR_RETURN(size_t n, sorter_->NextBatch(batch, kBatchRecords, &input_index));
        if (recorder_)
          for (size_t i = 0; i < n; ++i)
            if (recorder_->IsException(input_index[i]))
              CRAMJET_RETURN_IF_ERROR(AddOriginalIndexTag(batch[i], input_index[i]));
        if (qc_)
          for (size_t i = 0; i < n; ++i) qc_->Add(batch[i]);
        return n > 0;
      };
      BeginStage("encode", records_ > 0);
      BatchConsumer encode = [this](ReadBatch& batch) -> Status {
        for (size_t i = 0; i < batch.size; ++i) CRAMJET_RETURN_IF_ERROR(writer_->Write(batch[i]));
        const uint64_t written = writer_->records_written();
        Report(written, 0, Fraction(written, records_), false);
        return Status::Ok();
      };
      CRAMJET_RETURN_IF_ERROR(
          RunBatchPipeline(o_.threads <= 1 ? 0 : 1, merge_and_qc, BatchTransform(), encode));
      MapStats ms = mapper_->stats();
      CJ_LOG(kInfo) << "mapped " << ms.placed << " of " << ms.reads << " reads ("
                    << ms.proper_pairs << " in proper pairs, " << ms.rescued
                    << " placed or moved next to their mate), "
                    << (ms.seconds > 0 ? static_cast<uint64_t>(ms.reads / ms.seconds) : 0)
                    << " reads/s per mapping thread ("
                    << (ms.cpu_seconds > 0 ? static_cast<uint64_t>(ms.reads / ms.cpu_seconds) : 0)
                    << " per CPU second), sort peak " << (sorter_->peak_memory_bytes() >> 20) << " MiB";
    }
    // Close waits for the containers still being encoded (the longest part at --profile archive):
    // their progress is reported meanwhile, so the line never stands still.
    if (!sorter_) BeginStage("encode", records_ > 0);
    std::atomic<bool> closed_flag{false};
    std::thread ticker;
    if (o_.progress)
      ticker = std::thread([this, &closed_flag] {
        while (!closed_flag) {
          std::this_thread::sleep_for(std::chrono::milliseconds(100));
          const uint64_t written = writer_->records_written();
          Report(written, 0, Fraction(written, records_), false);
        }
      });
    Status closed = writer_->Close();
    closed_flag = true;
    if (ticker.joinable()) ticker.join();
    if (closed.ok()) Report(writer_->records_written(), 0, records_ > 0 ? 1.0 : -1.0, true);
    writer_.reset();
    return closed;
  }

  // The last step of every record: QC, then the encoder.
  Status Emit(CramWriter& writer, const bam1_t* b) {
    if (qc_) qc_->Add(b);
    return writer.Write(b);
  }

  Status VerifyOutput() {
    BeginStage("verify", records_ > 0);
    CRAMJET_RETURN_IF_ERROR(ProveCramLossless(cram_->temp_path(), o_.reference, o_.threads, in_sums_,
                                              [this](uint64_t n) { Report(n, 0, Fraction(n, records_), false); }));
    Report(records_, 0, records_ > 0 ? 1.0 : -1.0, true);
    return Status::Ok();
  }

  Status BuildIndex() {
    CRAMJET_ASSIGN_OR_RETURN(AtomicOutput crai, AtomicOutput::Create(IndexPathFor(o_.output)));
    crai_.emplace(std::move(crai));
    if (sam_index_build3(cram_->temp_path().c_str(), crai_->temp_path().c_str(), 0,
                         o_.threads > 1 ? o_.threads : 0) < 0)
      return IoError("'" + o_.output + "': cannot build the .crai index");
    return Status::Ok();
  }

  // QC and sidecars first, the CRAM last: a CRAM under its final name always has its proof
  // beside it; on failure everything already renamed is removed again.
  Status Commit() {
    CRAMJET_ASSIGN_OR_RETURN(result_.output_bytes, FileSize(cram_->temp_path()));
    std::vector<std::string> committed;
    auto undo = [&committed](Status s) {
      for (const auto& p : committed) ::unlink(p.c_str());
      return s;
    };
    if (qc_) {
      result_.qc_paths = QcOutputPaths(QcPrefix());
      committed = result_.qc_paths;  // WriteOutputs may stop part-way: undo removes what it wrote
      Status s = qc_->WriteOutputs(QcPrefix());
      if (!s.ok()) return undo(s);
    }
    if (crai_) {
      Status s = crai_->Commit();
      if (!s.ok()) return undo(s);
      committed.push_back(crai_->final_path());
      result_.index_path = crai_->final_path();
    }
    auto sidecars = WriteChecksumSidecars(o_.output, cram_->temp_path(), in_sums_);
    if (!sidecars.ok()) return undo(sidecars.status());
    result_.seqchksum_path = sidecars->seqchksum_path;
    result_.md5_path = sidecars->md5_path;
    result_.output_md5 = sidecars->md5_hex;
    committed.push_back(result_.seqchksum_path);
    committed.push_back(result_.md5_path);
    if (o_.output_fd >= 0) {
      // The proven CRAM goes to the caller's descriptor (standard output); the spooled copy is
      // removed by cram_'s destructor. A copy that stops part-way leaves no sidecars claiming it.
      Status s = CopyFileToDescriptor(cram_->temp_path(), o_.output_fd);
      if (!s.ok()) return undo(s.WithContext("standard output"));
      return Status::Ok();
    }
    Status s = cram_->Commit();
    if (!s.ok()) return undo(s);
    return Status::Ok();
  }

  const CompressOptions& o_;
  StageTimer timer_;
  std::mutex progress_mu_;
  const std::chrono::steady_clock::time_point job_start_ = std::chrono::steady_clock::now();
  std::chrono::steady_clock::time_point stage_start_ = job_start_, last_report_ = job_start_;
  const char* stage_ = "read";
  ThreadPoolPtr pool_;
  std::unique_ptr<ReadSource> source_;
  HeaderPtr header_;
  std::vector<std::string> unusable_contigs_;  // by tid: why the reference cannot serve it
  std::optional<AtomicOutput> cram_, crai_;
  ReadChecksums in_sums_;
  std::unique_ptr<QcCollector> qc_;
  std::unique_ptr<ReferenceIndex> index_;
  std::unique_ptr<Backend> owned_backend_;
  std::unique_ptr<Mapper> mapper_;
  std::unique_ptr<CramWriter> writer_;
  std::unique_ptr<PositionSorter> sorter_;
  std::unique_ptr<OrderRecorder> recorder_;  // mapped FASTQ with keep_order
  bool regenerate_md_nm_ = false;  // aligned input: MD/NM left out where the reference gives them
  std::atomic<bool> stop_reference_check_{false};
  std::future<Status> reference_check_;  // mapped FASTQ: CheckReferenceDigests of the index's MD5s
  uint64_t records_ = 0;
  bool input_size_known_ = true;  // false when an input is standard input
  CompressResult result_;
};

}  // namespace

namespace {

// Every file a compress job writes: the CRAM and its sidecars, the QC files.
std::vector<std::string> CompressOutputPaths(const CompressOptions& o) {
  std::vector<std::string> writes = {o.output, SeqChecksumPath(o.output), Md5Path(o.output)};
  if (o.write_index) writes.push_back(o.output + ".crai");
  if (o.qc)
    for (const std::string& q : QcOutputPaths(QcPrefixForCram(o.output))) writes.push_back(q);
  return writes;
}

bool EndsWith(const std::string& s, std::string_view tail) {
  return s.size() >= tail.size() && s.compare(s.size() - tail.size(), tail.size(), tail) == 0;
}

// The output set of a compress job never takes the place of what the job reads (an input or the
// reference), and its name does not promise another format.
Status CheckCompressOutputs(const CompressOptions& o) {
  for (std::string_view other : {".bam", ".sam", ".fastq", ".fq", ".fastq.gz", ".fq.gz", ".fa", ".fasta"})
    if (EndsWith(o.output, other))
      return InvalidArgument("output '" + o.output + "': compress writes CRAM, but the name says " +
                             std::string(other.substr(1)) + " (name it .cram)");
  std::vector<std::string> reads = o.inputs;
  reads.push_back(o.reference);
  return CheckOutputsAreNotInputs(reads, CompressOutputPaths(o));
}

// A compress killed before its commit (SIGKILL, a node lost) leaves the temporaries of its outputs
// behind; the next compress of the same outputs removes those of processes that are gone, as
// cramjetd does at start (never a live process's: a concurrent job may own them).
void RemoveTemporariesOfDeadRuns(const CompressOptions& o) {
  std::set<std::string> names;
  for (const std::string& path : CompressOutputPaths(o)) names.insert(BaseName(path));
  for (const std::string& removed : RemoveStaleTemporaries(
           DirName(o.output), [&](std::string_view final_name) { return names.count(std::string(final_name)) > 0; }))
    CJ_LOG(kInfo) << "removed a temporary left by an interrupted run: " << removed;
}

}  // namespace

StatusOr<CompressResult> Compress(const CompressOptions& options) {
  if (options.inputs.empty()) return InvalidArgument("no input files given");
  CRAMJET_RETURN_IF_ERROR(CheckCompressOutputs(options));
  RemoveTemporariesOfDeadRuns(options);
  CompressJob job(options);
  return job.Run();
}

}  // namespace cramjet
