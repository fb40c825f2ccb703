// The mapper's reference index: open with mmap, refuse stale/foreign/unfinished files, look up.
// Building is in index_build.cc.
#include <atomic>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "cramjet/log.h"
#include "map/index_format.h"
#include "map/map.h"

namespace cramjet {
using namespace index_format;

StatusOr<FastaStat> index_format::StatFasta(const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) {
    if (errno == ENOENT) return NotFound("'" + path + "': no such file");
    return IoErrorFromErrno("'" + path + "'", errno);
  }
  if (S_ISDIR(st.st_mode)) return BadInput("'" + path + "': is a folder, not a FASTA file");
  return FastaStat{static_cast<uint64_t>(st.st_size),
                   static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec};
}

std::string ReferenceIndex::IndexPath(const std::string& fasta_path) { return fasta_path + ".cjidx"; }

StatusOr<std::unique_ptr<ReferenceIndex>> ReferenceIndex::Open(const std::string& fasta_path) {
  CRAMJET_ASSIGN_OR_RETURN(FastaStat fasta, StatFasta(fasta_path));
  const std::string path = IndexPath(fasta_path);
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT)
      return FailedPrecondition("no mapper index for '" + fasta_path + "' ('" + path + "' is missing)" +
                                RebuildHint(fasta_path));
    return IoErrorFromErrno("'" + path + "': cannot open", errno);
  }
  struct stat st;
  if (::fstat(fd, &st) != 0) {
    const int e = errno;
    ::close(fd);
    return IoErrorFromErrno("'" + path + "'", e);
  }
  const uint64_t size = static_cast<uint64_t>(st.st_size);
  IndexHeader h{};
  if (size < sizeof h || ::pread(fd, &h, sizeof h, 0) != static_cast<ssize_t>(sizeof h) ||
      std::memcmp(h.magic, kMagic, sizeof kMagic) != 0) {
    ::close(fd);
    static constexpr char kUnfinished[sizeof kMagic] = {};
    if (size >= sizeof h && std::memcmp(h.magic, kUnfinished, sizeof kMagic) == 0)
      return FailedPrecondition("'" + path + "' is an unfinished index (its build was interrupted)" +
                                RebuildHint(fasta_path));
    return FailedPrecondition("'" + path + "' is not a cramjet mapper index" + RebuildHint(fasta_path));
  }
  if (h.version != CJ_INDEX_FORMAT_VERSION || h.seed_k != CJ_SEED_K || h.seed_w != CJ_SEED_W) {
    ::close(fd);
    return FailedPrecondition("'" + path + "' was written in index format " + std::to_string(h.version) +
                              " (k=" + std::to_string(h.seed_k) + ", w=" + std::to_string(h.seed_w) +
                              "); this cramjet reads format " + std::to_string(CJ_INDEX_FORMAT_VERSION) +
                              RebuildHint(fasta_path));
  }
  if (h.fasta_size != fasta.size || h.fasta_mtime_ns != fasta.mtime_ns) {
    ::close(fd);
    return FailedPrecondition("'" + path + "' is stale or belongs to another FASTA ('" + fasta_path +
                              "' is not the file it was built from: size or modification time differ)" +
                              RebuildHint(fasta_path));
  }
  const Layout layout = ComputeLayout(h);
  if (h.bucket_bits < 10 || h.bucket_bits > 30 || h.file_size != layout.end || size != layout.end) {
    ::close(fd);
    return BadInput("'" + path + "' is truncated or corrupt (size " + std::to_string(size) +
                    ", expected " + std::to_string(layout.end) + ")" + RebuildHint(fasta_path));
  }
  void* map = ::mmap(nullptr, size, PROT_READ, MAP_SHARED, fd, 0);
  const int map_errno = errno;
  ::close(fd);
  if (map == MAP_FAILED) return IoErrorFromErrno("'" + path + "': mmap failed", map_errno);

  std::unique_ptr<ReferenceIndex> index(new ReferenceIndex());
  index->index_path_ = path;
  index->map_ = map;
  index->map_size_ = size;
  const auto* base = static_cast<const uint8_t*>(map);
  const auto* records = reinterpret_cast<const ContigRecord*>(base + layout.contigs);
  const char* names = reinterpret_cast<const char*>(base + layout.names);
  for (uint32_t i = 0; i < h.contig_count; ++i) {
    const ContigRecord& r = records[i];
    if (uint64_t{r.name_offset} + r.name_length > h.names_bytes || r.start + r.length > h.total_length)
      return BadInput("'" + path + "' is corrupt (contig table)" + RebuildHint(fasta_path));
    index->contigs_.push_back(ContigInfo{std::string(names + r.name_offset, r.name_length), r.length,
                                         r.start, std::string(r.md5, 32)});
  }
  index->total_length_ = h.total_length;
  // Contig of a position in two loads: the contig at each 1 Mb block start, then a search only
  // within blocks that hold a contig boundary (every seed hit asks; see ContigOf).
  for (const ContigInfo& c : index->contigs_) index->contig_starts_.push_back(c.start);
  const uint64_t blocks = (h.total_length >> kContigBlockBits) + 2;
  index->contig_at_block_.resize(blocks);
  for (uint64_t b = 0, c = 0; b < blocks; ++b) {
    while (c + 1 < index->contig_starts_.size() && index->contig_starts_[c + 1] <= (b << kContigBlockBits)) ++c;
    index->contig_at_block_[b] = static_cast<uint32_t>(c);
  }
  index->entry_count_ = h.entry_count;
  index->bucket_mask_ = static_cast<uint32_t>((uint64_t{1} << h.bucket_bits) - 1);
  index->n_runs_ = reinterpret_cast<const uint64_t*>(base + layout.n_runs);
  index->n_run_count_ = h.n_run_count;
  index->n_blocks_ = reinterpret_cast<const uint64_t*>(base + layout.n_blocks);
  index->sequence_ = reinterpret_cast<const uint64_t*>(base + layout.sequence);
  static std::atomic<uint64_t> next_serial{1};
  index->serial_ = next_serial++;
  index->offsets_ = reinterpret_cast<const uint32_t*>(base + layout.offsets);
  index->entries_ = reinterpret_cast<const SeedEntry*>(base + layout.entries);
  if (index->offsets_[uint64_t{1} << h.bucket_bits] != h.entry_count)
    return BadInput("'" + path + "' is corrupt (seed table)" + RebuildHint(fasta_path));
  return index;
}

ReferenceIndex::~ReferenceIndex() {
  if (map_) ::munmap(map_, map_size_);
}

size_t ReferenceIndex::ContigOf(uint64_t position) const {
  const uint64_t block = position >> kContigBlockBits;
  const uint32_t first = contig_at_block_[block], last = contig_at_block_[block + 1];
  if (first == last) return first;
  const auto begin = contig_starts_.begin() + first, end = contig_starts_.begin() + last + 1;
  return static_cast<size_t>(std::upper_bound(begin, end, position) - contig_starts_.begin()) - 1;
}

bool ReferenceIndex::IsN(uint64_t position) const {
  // First run starting after `position`, then look at the one before it.
  uint64_t lo = 0, hi = n_run_count_;
  while (lo < hi) {
    const uint64_t mid = (lo + hi) / 2;
    if (n_runs_[2 * mid] <= position) lo = mid + 1; else hi = mid;
  }
  if (lo == 0) return false;
  return position < n_runs_[2 * (lo - 1)] + n_runs_[2 * (lo - 1) + 1];
}

bool ReferenceIndex::AllAcgt(uint64_t start, uint64_t length) const {
  if (length == 0) return true;
  for (uint64_t b = start >> 10; b <= (start + length - 1) >> 10; ++b) {
    if ((n_blocks_[b / 64] >> (b % 64)) & 1) {
      // Exact check: any run intersecting [start, start+length)?
      uint64_t lo = 0, hi = n_run_count_;
      while (lo < hi) {
        const uint64_t mid = (lo + hi) / 2;
        if (n_runs_[2 * mid] + n_runs_[2 * mid + 1] <= start) lo = mid + 1; else hi = mid;
      }
      return lo == n_run_count_ || n_runs_[2 * lo] >= start + length;
    }
  }
  return true;
}

Status AddReferenceContigs(sam_hdr_t* header, const ReferenceIndex& index, const std::string& fasta_path) {
  const int existing = sam_hdr_nref(header);
  if (existing > 0) {
    bool same = static_cast<size_t>(existing) == index.contig_count();
    for (int i = 0; same && i < existing; ++i) {
      same = index.contig_name(i) == sam_hdr_tid2name(header, i) &&
             index.contig_length(i) == static_cast<uint64_t>(sam_hdr_tid2len(header, i));
    }
    if (!same)
      return FailedPrecondition("the input header's @SQ lines do not match the contigs of '" +
                                fasta_path + "'");
    return Status::Ok();
  }
  char* absolute = ::realpath(fasta_path.c_str(), nullptr);
  const std::string ur = std::string("file:") + (absolute ? absolute : fasta_path.c_str());
  std::free(absolute);
  for (size_t i = 0; i < index.contig_count(); ++i) {
    const std::string length = std::to_string(index.contig_length(i));
    if (sam_hdr_add_line(header, "SQ", "SN", index.contig_name(i).c_str(), "LN", length.c_str(), "M5",
                         index.contig_md5(i).c_str(), "UR", ur.c_str(), nullptr) != 0)
      return Internal("cannot add @SQ line for contig '" + index.contig_name(i) + "'");
  }
  return Status::Ok();
}

}  // namespace cramjet
