// The long-read path of the map stage: minimap2 2.24 (libminimap2) places ONT and PacBio reads,
// whose 1-15% error rates (mostly indels) defeat the short-read rounds' Hamming checks and narrow
// band. Why minimap2 rather than our own: its chaining of minimizer anchors over kilobases and
// ksw2's extension are what the long-read field uses and measures itself against, and Debian
// ships it as a library; re-deriving them would only approach it (docs/mapper.md, "Long reads").
// The short-read hot loops stay ours, behind the backend interface.
#include <fcntl.h>
#include <sys/stat.h>

#include <chrono>
#include <cstdio>
#include <initializer_list>
#include <cstdlib>
#include <cstring>
#include <unordered_map>

#include <minimap.h>

#include "common/common.h"
#include "cramjet/log.h"
#include "map/map_buffer.h"
#include "map/placement.h"

namespace cramjet {

StatusOr<LongReadPreset> ParseLongReadPreset(std::string_view name) {
  if (name == "none") return LongReadPreset::kNone;
  if (name == "ont") return LongReadPreset::kOnt;
  if (name == "hifi") return LongReadPreset::kHifi;
  if (name == "clr") return LongReadPreset::kClr;
  return InvalidArgument("--long-reads '" + std::string(name) + "': expected none, ont, hifi or clr");
}

const char* Minimap2PresetName(LongReadPreset preset) {
  switch (preset) {
    case LongReadPreset::kOnt: return "map-ont";
    case LongReadPreset::kHifi: return "map-hifi";
    case LongReadPreset::kClr: return "map-pb";
    case LongReadPreset::kNone: break;
  }
  return "";
}

namespace {

// A BAM 4-bit code as the letter minimap2 reads (it treats anything but ACGT as N).
constexpr char kNt16Letter[] = "=ACMGRSVTWYHKDBN";

bool Later(const timespec& a, const timespec& b) {
  return a.tv_sec > b.tv_sec || (a.tv_sec == b.tv_sec && a.tv_nsec > b.tv_nsec);
}

// True when `cache` exists, is a minimap2 index and is at least as new as every file in `sources`.
bool CacheIsFresh(const std::string& cache, std::initializer_list<std::string> sources) {
  struct stat c;
  if (::stat(cache.c_str(), &c) != 0 || !S_ISREG(c.st_mode) || mm_idx_is_idx(cache.c_str()) <= 0) return false;
  for (const std::string& source : sources) {
    struct stat s;
    if (::stat(source.c_str(), &s) != 0) return false;
    if (Later(s.st_mtim, c.st_mtim)) return false;
  }
  return true;
}

// minimap2's index written to `path` with every write checked.
Status DumpIndex(const mm_idx_t* index, const std::string& path) {
  FILE* f = std::fopen(path.c_str(), "wb");
  if (!f) return IoErrorFromErrno("creating '" + path + "'", errno);
  mm_idx_dump(f, index);
  const bool write_failed = std::ferror(f) != 0 || std::fflush(f) != 0;
  const int write_errno = errno;
  if (std::fclose(f) != 0 || write_failed) return IoErrorFromErrno("writing '" + path + "'", write_failed ? write_errno : errno);
  return Status::Ok();
}

// A source with a time ahead of the clock (a copy from a machine whose clock runs fast) would
// make a cache written now look stale to every later job: it takes the newest source's time.
void KeepCacheNoOlderThan(const std::string& cache, std::initializer_list<std::string> sources) {
  struct stat c;
  if (::stat(cache.c_str(), &c) != 0) return;
  timespec newest = c.st_mtim;
  for (const std::string& source : sources) {
    struct stat s;
    if (::stat(source.c_str(), &s) == 0 && Later(s.st_mtim, newest)) newest = s.st_mtim;
  }
  if (!Later(newest, c.st_mtim)) return;
  const timespec times[2] = {newest, newest};
  (void)::utimensat(AT_FDCWD, cache.c_str(), times, 0);
}

}  // namespace

struct LongReadAligner::Impl {
  mm_idx_t* index = nullptr;
  mm_mapopt_t map_options{};
  const ReferenceIndex* reference = nullptr;  // ours: contig starts in concatenated coordinates
  std::vector<uint32_t> contig_of;           // minimap2 rid -> our contig
  ~Impl() {
    if (index) mm_idx_destroy(index);
  }
};

// minimap2's index from `source` (the FASTA, or a cached .mmi); then the contigs matched to ours
// by name, so that tid i stays contig i of our index.
namespace {

Status ReadIndex(LongReadAligner::Impl& impl, const std::string& source, const mm_idxopt_t& options, int threads,
                 const ReferenceIndex& index, const std::string& fasta_path) {
  if (impl.index) mm_idx_destroy(impl.index);
  impl.index = nullptr;
  impl.contig_of.clear();
  mm_idx_reader_t* reader = mm_idx_reader_open(source.c_str(), &options, nullptr);
  if (!reader) return BadInput("'" + source + "': minimap2 cannot open it");
  mm_idx_t* read = mm_idx_reader_read(reader, threads);
  mm_idx_reader_close(reader);
  if (!read) return BadInput("'" + source + "': minimap2 read no sequence from it");
  impl.index = read;
  std::unordered_map<std::string, uint32_t> by_name;
  for (size_t t = 0; t < index.contig_count(); ++t) by_name.emplace(index.contig_name(t), static_cast<uint32_t>(t));
  for (uint32_t rid = 0; rid < read->n_seq; ++rid) {
    const mm_idx_seq_t& s = read->seq[rid];
    const auto it = by_name.find(s.name);
    if (it == by_name.end() || index.contig_length(it->second) != s.len) {
      mm_idx_destroy(impl.index);
      impl.index = nullptr;
      impl.contig_of.clear();
      return FailedPrecondition("'" + fasta_path + "': contig '" + s.name + "' as minimap2 reads it (" +
                                std::to_string(s.len) + " bases) is not in the index beside it: run `cramjet index " +
                                fasta_path + "`");
    }
    impl.contig_of.push_back(it->second);
  }
  return Status::Ok();
}

}  // namespace

LongReadAligner::LongReadAligner(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
LongReadAligner::~LongReadAligner() = default;

StatusOr<std::unique_ptr<LongReadAligner>> LongReadAligner::Create(const ReferenceIndex& index,
                                                                   const std::string& fasta_path,
                                                                   LongReadPreset preset, int threads) {
  if (preset == LongReadPreset::kNone) return InvalidArgument("long-read aligner: no preset");
  const auto started = std::chrono::steady_clock::now();
  auto impl = std::make_unique<Impl>();
  mm_idxopt_t index_options;
  mm_set_opt(nullptr, &index_options, &impl->map_options);
  if (mm_set_opt(Minimap2PresetName(preset), &index_options, &impl->map_options) != 0)
    return Internal(std::string("minimap2 does not know preset ") + Minimap2PresetName(preset));
  impl->map_options.flag |= MM_F_CIGAR;
  // One index part whatever the reference size (minimap2 -I): a read is aligned against all of it.
  index_options.batch_size = UINT64_MAX >> 1;
  impl->reference = &index;
  const std::string cache = LongReadIndexCachePath(fasta_path, preset);
  const int index_threads = std::max(1, threads);
  // A cached index is used when it is newer than the FASTA and than our index beside it (which
  // is rebuilt when the FASTA changes) and holds the same contigs; anything else builds anew.
  const char* how = "built";
  if (CacheIsFresh(cache, {fasta_path, index.path()})) {
    Status loaded = ReadIndex(*impl, cache, index_options, index_threads, index, fasta_path);
    if (loaded.ok()) {
      how = "loaded from the cache";
    } else {
      CJ_LOG(kWarning) << "'" << cache << "': " << loaded.message() << "; building it again";
    }
  }
  if (!impl->index) {
    // Written under a temporary name and renamed when whole: a crash or a job beside this one
    // never leaves a partial cache under the name. A folder this job cannot write: built for
    // this job only.
    StatusOr<AtomicOutput> out = AtomicOutput::Create(cache);
    if (!out.ok()) {
      CJ_LOG(kInfo) << "long reads: minimap2's index of '" << fasta_path << "' is not cached (" << out.status().message()
                    << "): every job builds it";
    }
    CRAMJET_RETURN_IF_ERROR(ReadIndex(*impl, fasta_path, index_options, index_threads, index, fasta_path));
    // Dumped here rather than by minimap2's reader, which does not check its writes: a disk that
    // fills mid-dump must not leave a short cache that later jobs would load as garbage.
    Status dumped = out.ok() ? DumpIndex(impl->index, out->temp_path()) : Status::Ok();
    if (!dumped.ok()) {
      CJ_LOG(kWarning) << "long reads: cannot cache minimap2's index as '" << cache << "': " << dumped.message();
    } else if (out.ok()) {
      if (Status committed = out->Commit(); committed.ok()) {
        how = "built and cached";
        KeepCacheNoOlderThan(cache, {fasta_path, index.path()});
      } else {
        CJ_LOG(kWarning) << "long reads: cannot cache minimap2's index as '" << cache << "': " << committed.message();
      }
    }
  }
  mm_mapopt_update(&impl->map_options, impl->index);
  CJ_LOG(kInfo) << "long reads: minimap2 -x " << Minimap2PresetName(preset) << " index of '" << fasta_path << "' "
                << how << " in " << std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count()
                << " s";
  return std::unique_ptr<LongReadAligner>(new LongReadAligner(std::move(impl)));
}

std::string LongReadIndexCachePath(const std::string& fasta_path, LongReadPreset preset) {
  return fasta_path + "." + Minimap2PresetName(preset) + ".mmi";
}

void map_internal::Minimap2BufferDeleter::operator()(mm_tbuf_s* buffer) const { mm_tbuf_destroy(buffer); }

map_internal::Placement LongReadAligner::Align(const bam1_t* b, map_internal::LongReadBuffer& buffer) const {
  map_internal::Placement p;
  const int length = b->core.l_qseq;
  // minimap2's buffer is independent of the index it serves: made once per worker's buffer.
  if (!buffer.minimap2) buffer.minimap2.reset(mm_tbuf_init());
  std::string& bases = buffer.bases;
  bases.resize(static_cast<size_t>(length));
  const uint8_t* seq = bam_get_seq(b);
  for (int i = 0; i < length; ++i) bases[static_cast<size_t>(i)] = kNt16Letter[bam_seqi(seq, i)];
  int n_regs = 0;
  mm_reg1_t* regs = mm_map(impl_->index, length, bases.data(), &n_regs, buffer.minimap2.get(), &impl_->map_options,
                           bam_get_qname(b));
  const mm_reg1_t* primary = nullptr;
  for (int j = 0; j < n_regs && !primary; ++j)
    if (regs[j].sam_pri && regs[j].p) primary = &regs[j];
  if (primary) {
    const mm_reg1_t& r = *primary;
    // Our SEQ is reverse-complemented for the reverse strand, so the clips swap ends there.
    const uint32_t lead = static_cast<uint32_t>(r.rev ? length - r.qe : r.qs);
    const uint32_t trail = static_cast<uint32_t>(r.rev ? r.qs : length - r.qe);
    if (lead) p.cigar.push_back(lead << 4 | BAM_CSOFT_CLIP);
    // minimap2's CIGAR ops use BAM's encoding (M I D N S H P = X).
    p.cigar.insert(p.cigar.end(), r.p->cigar, r.p->cigar + r.p->n_cigar);
    if (trail) p.cigar.push_back(trail << 4 | BAM_CSOFT_CLIP);
    int64_t query = 0;
    for (uint32_t op : p.cigar)
      if (bam_cigar_type(bam_cigar_op(op)) & 1) query += bam_cigar_oplen(op);
    if (query == length) {
      const uint32_t contig = impl_->contig_of[static_cast<size_t>(r.rid)];
      p.placed = true;
      p.gapped = true;
      p.strand = r.rev ? 1 : 0;
      p.contig = contig;
      p.ref_start = static_cast<int64_t>(impl_->reference->contigs()[contig].start) + r.rs;
      p.mapq = static_cast<uint8_t>(r.mapq);
    } else {
      p.cigar.clear();  // never a record whose CIGAR disagrees with its bases: store it unplaced
    }
  }
  for (int j = 0; j < n_regs; ++j) std::free(regs[j].p);
  std::free(regs);
  return p;
}

Status Mapper::MapLongBatch(ReadBatch& batch, map_internal::WorkerBuffer& buffer) {
  std::vector<bool>& attempted = buffer.attempted;
  attempted.assign(batch.size, false);
  map_internal::BatchCounts& counts = buffer.counts;
  for (size_t i = 0; i < batch.size; ++i) {
    bam1_t* b = batch[i];
    if (!map_internal::Mappable(b)) continue;
    attempted[i] = true;
    ++counts.reads;
    ++counts.aligned;
    const map_internal::Placement p = long_reads_->Align(b, buffer.long_reads);
    if (!p.placed) continue;
    CRAMJET_RETURN_IF_ERROR(map_internal::ApplyPlacement(b, p, index_, buffer.record));
    ++counts.placed;
    ++counts.placed_gapped;
  }
  counts.proper_pairs += map_internal::SetMateFields(batch, attempted, options_.max_insert);
  return Status::Ok();
}

}  // namespace cramjet
