// The mapper's reference index: build from FASTA, open with mmap, refuse stale/foreign files.
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <htslib/hts.h>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <thread>
#include <unordered_set>

#include "backend/backend.h"
#include "cramjet/log.h"
#include "kernel_shape.h"
#include "map/map.h"

namespace cramjet {
namespace {

constexpr char kMagic[8] = {'C', 'J', 'M', 'A', 'P', 'I', 'D', 'X'};
constexpr uint64_t kSectionAlign = 64;
constexpr uint64_t kSequencePadWords = 16;  // kernels read up to a vector past a window's end

// Fixed-size header at offset 0 (little-endian, as written by this machine).
struct IndexHeader {
  char magic[8];
  uint32_t version;
  uint32_t seed_k;
  uint32_t seed_w;
  uint32_t bucket_bits;
  uint32_t contig_count;
  uint32_t reserved;
  uint64_t fasta_size;
  int64_t fasta_mtime_ns;
  uint64_t total_length;
  uint64_t entry_count;
  uint64_t n_run_count;
  uint64_t names_bytes;
  uint64_t file_size;
  uint64_t reserved2[4];
};
static_assert(sizeof(IndexHeader) == 120);

struct ContigRecord {
  uint64_t start;
  uint64_t length;
  char md5[32];
  uint32_t name_offset;
  uint32_t name_length;
  uint64_t reserved;
};
static_assert(sizeof(ContigRecord) == 64);

uint64_t AlignUp(uint64_t v) { return (v + kSectionAlign - 1) / kSectionAlign * kSectionAlign; }

// Section layout, derived from the header's counts (so a reader recomputes it).
struct Layout {
  uint64_t contigs, names, n_runs, n_blocks, sequence, offsets, entries, end;
};
Layout ComputeLayout(const IndexHeader& h) {
  Layout l;
  l.contigs = AlignUp(sizeof(IndexHeader));
  l.names = AlignUp(l.contigs + uint64_t{h.contig_count} * sizeof(ContigRecord));
  l.n_runs = AlignUp(l.names + h.names_bytes);
  l.n_blocks = AlignUp(l.n_runs + h.n_run_count * 16);
  const uint64_t blocks = (h.total_length >> 10) + 1;
  l.sequence = AlignUp(l.n_blocks + ((blocks + 63) / 64) * 8);
  l.offsets = AlignUp(l.sequence + ((h.total_length + 31) / 32 + kSequencePadWords) * 8);
  l.entries = AlignUp(l.offsets + ((uint64_t{1} << h.bucket_bits) + 1) * 4);
  l.end = l.entries + h.entry_count * 4;
  return l;
}

struct FastaStat {
  uint64_t size = 0;
  int64_t mtime_ns = 0;
};
StatusOr<FastaStat> StatFasta(const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) {
    if (errno == ENOENT) return NotFound("'" + path + "': no such file");
    return IoErrorFromErrno("'" + path + "'", errno);
  }
  if (S_ISDIR(st.st_mode)) return BadInput("'" + path + "': is a folder, not a FASTA file");
  return FastaStat{static_cast<uint64_t>(st.st_size),
                   static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec};
}

std::string RebuildHint(const std::string& fasta) {
  return ": run `cramjet index " + fasta + "`";
}

// ---- Building ----------------------------------------------------------------------------------

struct ParsedReference {
  std::vector<ContigInfo> contigs;
  std::vector<uint64_t> words;          // 2-bit packed
  std::vector<uint64_t> n_runs;         // (start, length) pairs
  std::vector<uint8_t> codes;           // one code per base (kept for seeding)
  uint64_t total = 0;
};

class Md5 {
 public:
  Md5() : ctx_(hts_md5_init()) {}
  ~Md5() { if (ctx_) hts_md5_destroy(ctx_); }
  void Update(const char* data, size_t n) { if (n) hts_md5_update(ctx_, data, n); }
  std::string Hex() {
    unsigned char digest[16];
    char hex[33];
    hts_md5_final(digest, ctx_);
    hts_md5_hex(hex, digest);
    return std::string(hex, 32);
  }
  bool ok() const { return ctx_ != nullptr; }

 private:
  hts_md5_context* ctx_;
};

Status ParseFasta(const std::string& path, ParsedReference& ref) {
  gzFile in = gzopen(path.c_str(), "rb");
  if (!in) return IoErrorFromErrno("'" + path + "': cannot open", errno);
  struct GzCloser {
    gzFile f;
    ~GzCloser() { if (f) gzclose(f); }
  } closer{in};
  gzbuffer(in, 1 << 20);
  std::unordered_set<std::string> names;
  std::unique_ptr<Md5> md5;
  std::string md5_chunk;
  uint64_t line_number = 0;
  uint64_t contig_start_line = 0;
  bool in_n_run = false;
  uint64_t n_run_start = 0;
  std::vector<char> line(1 << 16);
  std::string pending;  // a line longer than the buffer, assembled
  Status status;

  auto finish_contig = [&]() -> Status {
    if (ref.contigs.empty()) return Status::Ok();
    ContigInfo& c = ref.contigs.back();
    md5->Update(md5_chunk.data(), md5_chunk.size());
    md5_chunk.clear();
    c.md5 = md5->Hex();
    c.length = ref.total - c.start;
    if (in_n_run) {
      ref.n_runs.push_back(n_run_start);
      ref.n_runs.push_back(ref.total - n_run_start);
      in_n_run = false;
    }
    if (c.length == 0)
      return BadInput("'" + path + "': line " + std::to_string(contig_start_line) + ": contig '" +
                      c.name + "' has no sequence");
    return Status::Ok();
  };

  static const auto kCode = [] {
    std::array<uint8_t, 256> t;
    t.fill(4);
    t['A'] = t['a'] = 0;
    t['C'] = t['c'] = 1;
    t['G'] = t['g'] = 2;
    t['T'] = t['t'] = 3;
    return t;
  }();

  while (true) {
    pending.clear();
    bool got = false;
    while (gzgets(in, line.data(), static_cast<int>(line.size())) != nullptr) {
      got = true;
      pending.append(line.data());
      if (!pending.empty() && pending.back() == '\n') break;
    }
    if (!got) break;
    ++line_number;
    while (!pending.empty() && (pending.back() == '\n' || pending.back() == '\r')) pending.pop_back();
    if (!pending.empty() && pending[0] == '>') {
      CRAMJET_RETURN_IF_ERROR(finish_contig());
      size_t end = 1;
      while (end < pending.size() && !std::isspace(static_cast<unsigned char>(pending[end]))) ++end;
      std::string name = pending.substr(1, end - 1);
      if (name.empty()) {
        return BadInput("'" + path + "': line " + std::to_string(line_number) + ": contig without a name");
      }
      if (!names.insert(name).second) {
        return BadInput("'" + path + "': line " + std::to_string(line_number) +
                        ": duplicate contig name '" + name + "'");
      }
      ref.contigs.push_back(ContigInfo{name, 0, ref.total, ""});
      md5 = std::make_unique<Md5>();
      contig_start_line = line_number;
      continue;
    }
    if (ref.contigs.empty()) {
      bool blank = std::all_of(pending.begin(), pending.end(),
                               [](char c) { return std::isspace(static_cast<unsigned char>(c)); });
      if (blank) continue;
      return BadInput("'" + path + "': line " + std::to_string(line_number) +
                      ": sequence before the first '>' header (not a FASTA file?)");
    }
    for (char ch : pending) {
      const unsigned char c = static_cast<unsigned char>(ch);
      if (c < 33 || c > 126) continue;  // white space and controls are not part of the sequence
      md5_chunk.push_back(static_cast<char>(std::toupper(c)));
      const uint8_t code = kCode[c];
      const uint64_t pos = ref.total++;
      if (pos / 32 >= ref.words.size()) ref.words.push_back(0);
      ref.words[pos / 32] |= static_cast<uint64_t>(code & 3) << (2 * (pos % 32));
      ref.codes.push_back(code);
      if (code == 4 && !in_n_run) in_n_run = true, n_run_start = pos;
      if (code != 4 && in_n_run) {
        ref.n_runs.push_back(n_run_start);
        ref.n_runs.push_back(pos - n_run_start);
        in_n_run = false;
      }
    }
    if (md5_chunk.size() > (1 << 20)) {
      md5->Update(md5_chunk.data(), md5_chunk.size());
      md5_chunk.clear();
    }
    if (ref.total >= (uint64_t{1} << 32) - 64) {
      return BadInput("'" + path + "': more than 4 Gb of sequence; the index holds at most 4 Gb");
    }
  }
  const bool read_error = gzeof(in) == 0;
  closer.f = nullptr;
  gzclose(in);
  if (read_error) return IoError("'" + path + "': read error (truncated or corrupt compressed file?)");
  CRAMJET_RETURN_IF_ERROR(finish_contig());
  if (ref.contigs.empty()) return BadInput("'" + path + "': no FASTA records ('>' header) found");
  return Status::Ok();
}

struct GlobalSeed {
  uint32_t hash;
  uint32_t position;
};

// Minimizers of the whole reference, in ascending position; chunks of long contigs are seeded
// in parallel and joined exactly (a chunk emits the windows that start inside it).
std::vector<GlobalSeed> SeedReference(const ParsedReference& ref, int threads) {
  struct Chunk {
    uint64_t contig_start, contig_length, window_begin, window_end;  // windows [begin, end)
  };
  constexpr uint64_t kChunk = uint64_t{4} << 20;
  std::vector<Chunk> chunks;
  for (const ContigInfo& c : ref.contigs) {
    const size_t kmers = backend_internal::KmerCount(c.length);
    const uint64_t windows = kmers >= CJ_SEED_W ? kmers - CJ_SEED_W + 1 : (kmers ? 1 : 0);
    if (kmers < static_cast<size_t>(CJ_SEED_W)) {
      chunks.push_back({c.start, c.length, 0, windows});
      continue;
    }
    for (uint64_t b = 0; b < windows; b += kChunk) chunks.push_back({c.start, c.length, b, std::min(windows, b + kChunk)});
  }
  std::vector<std::vector<GlobalSeed>> results(chunks.size());
  auto work = [&](size_t index) {
    const Chunk& ch = chunks[index];
    std::vector<Seed> seeds;
    const uint64_t kmers = backend_internal::KmerCount(ch.contig_length);
    const uint64_t span = kmers < static_cast<uint64_t>(CJ_SEED_W)
                              ? ch.contig_length
                              : (ch.window_end - ch.window_begin) + CJ_SEED_W - 1 + CJ_SEED_K - 1;
    backend_internal::ExtractSeedsOneScalar(ref.codes.data() + ch.contig_start + ch.window_begin,
                                            span, seeds);
    auto& out = results[index];
    out.reserve(seeds.size());
    for (const Seed& s : seeds)
      out.push_back({s.hash, static_cast<uint32_t>(ch.contig_start + ch.window_begin + s.position)});
  };
  const size_t workers = std::max<size_t>(1, std::min<size_t>(threads, chunks.size()));
  std::atomic<size_t> next{0};
  std::vector<std::thread> pool;
  for (size_t t = 1; t < workers; ++t)
    pool.emplace_back([&] { for (size_t i; (i = next++) < chunks.size();) work(i); });
  for (size_t i; (i = next++) < chunks.size();) work(i);
  for (auto& t : pool) t.join();
  std::vector<GlobalSeed> all;
  size_t total = 0;
  for (auto& r : results) total += r.size();
  all.reserve(total);
  for (auto& r : results) {
    for (const GlobalSeed& s : r) {
      if (!all.empty() && all.back().position == s.position) continue;  // chunk seam
      all.push_back(s);
    }
    std::vector<GlobalSeed>().swap(r);
  }
  return all;
}

Status WriteAll(std::FILE* f, const void* data, size_t n, const std::string& path) {
  if (n && std::fwrite(data, 1, n, f) != n) return IoErrorFromErrno("'" + path + "': write failed", errno);
  return Status::Ok();
}
Status PadTo(std::FILE* f, uint64_t offset, const std::string& path) {
  const long here = std::ftell(f);
  if (here < 0) return IoErrorFromErrno("'" + path + "'", errno);
  static const char zeros[kSectionAlign] = {};
  if (static_cast<uint64_t>(here) > offset) return Internal("index layout overrun in '" + path + "'");
  return WriteAll(f, zeros, offset - here, path);
}

}  // namespace

std::string ReferenceIndex::IndexPath(const std::string& fasta_path) { return fasta_path + ".cjidx"; }

Status ReferenceIndex::Build(const std::string& fasta_path, int threads) {
  CRAMJET_ASSIGN_OR_RETURN(FastaStat before, StatFasta(fasta_path));
  ParsedReference ref;
  CRAMJET_RETURN_IF_ERROR(ParseFasta(fasta_path, ref));
  ref.words.resize((ref.total + 31) / 32 + kSequencePadWords, 0);

  std::vector<GlobalSeed> seeds = SeedReference(ref, std::max(1, threads));
  IndexHeader h{};
  std::memcpy(h.magic, kMagic, sizeof kMagic);
  h.version = CJ_INDEX_FORMAT_VERSION;
  h.seed_k = CJ_SEED_K;
  h.seed_w = CJ_SEED_W;
  h.bucket_bits = static_cast<uint32_t>(
      std::clamp<int>(std::bit_width(std::max<uint64_t>(seeds.size(), 1) - 1), 10, 30));
  h.contig_count = static_cast<uint32_t>(ref.contigs.size());
  h.fasta_size = before.size;
  h.fasta_mtime_ns = before.mtime_ns;
  h.total_length = ref.total;
  h.entry_count = seeds.size();
  h.n_run_count = ref.n_runs.size() / 2;
  std::string names;
  std::vector<ContigRecord> records;
  for (const ContigInfo& c : ref.contigs) {
    ContigRecord r{};
    r.start = c.start;
    r.length = c.length;
    std::memcpy(r.md5, c.md5.data(), 32);
    r.name_offset = static_cast<uint32_t>(names.size());
    r.name_length = static_cast<uint32_t>(c.name.size());
    names += c.name;
    records.push_back(r);
  }
  h.names_bytes = names.size();
  const Layout layout = ComputeLayout(h);
  h.file_size = layout.end;

  // Bucketed table by counting sort; positions stay ascending inside a bucket.
  const uint64_t buckets = uint64_t{1} << h.bucket_bits;
  std::vector<uint32_t> offsets(buckets + 1, 0);
  // Minimizers are window minima, so their high hash bits are mostly zero: bucket by the low bits.
  const uint32_t mask = static_cast<uint32_t>(buckets - 1);
  for (const GlobalSeed& s : seeds) ++offsets[(s.hash & mask) + 1];
  for (uint64_t b = 0; b < buckets; ++b) offsets[b + 1] += offsets[b];
  std::vector<uint32_t> entries(seeds.size());
  {
    std::vector<uint32_t> fill(offsets.begin(), offsets.end() - 1);
    for (const GlobalSeed& s : seeds) entries[fill[s.hash & mask]++] = s.position;
  }
  std::vector<GlobalSeed>().swap(seeds);

  std::vector<uint64_t> n_blocks(((ref.total >> 10) + 1 + 63) / 64, 0);
  for (size_t r = 0; r < ref.n_runs.size(); r += 2) {
    for (uint64_t b = ref.n_runs[r] >> 10; b <= (ref.n_runs[r] + ref.n_runs[r + 1] - 1) >> 10; ++b)
      n_blocks[b / 64] |= uint64_t{1} << (b % 64);
  }

  const std::string index_path = IndexPath(fasta_path);
  CRAMJET_ASSIGN_OR_RETURN(AtomicOutput out, AtomicOutput::Create(index_path));
  std::FILE* f = std::fopen(out.temp_path().c_str(), "wb");
  if (!f) return IoErrorFromErrno("'" + out.temp_path() + "': cannot create", errno);
  Status st = WriteAll(f, &h, sizeof h, index_path);
  if (st.ok()) st = PadTo(f, layout.contigs, index_path);
  if (st.ok()) st = WriteAll(f, records.data(), records.size() * sizeof(ContigRecord), index_path);
  if (st.ok()) st = PadTo(f, layout.names, index_path);
  if (st.ok()) st = WriteAll(f, names.data(), names.size(), index_path);
  if (st.ok()) st = PadTo(f, layout.n_runs, index_path);
  if (st.ok()) st = WriteAll(f, ref.n_runs.data(), ref.n_runs.size() * 8, index_path);
  if (st.ok()) st = PadTo(f, layout.n_blocks, index_path);
  if (st.ok()) st = WriteAll(f, n_blocks.data(), n_blocks.size() * 8, index_path);
  if (st.ok()) st = PadTo(f, layout.sequence, index_path);
  if (st.ok()) st = WriteAll(f, ref.words.data(), ref.words.size() * 8, index_path);
  if (st.ok()) st = PadTo(f, layout.offsets, index_path);
  if (st.ok()) st = WriteAll(f, offsets.data(), offsets.size() * 4, index_path);
  if (st.ok()) st = PadTo(f, layout.entries, index_path);
  if (st.ok()) st = WriteAll(f, entries.data(), entries.size() * 4, index_path);
  if (std::fclose(f) != 0 && st.ok()) st = IoErrorFromErrno("'" + index_path + "': write failed", errno);
  CRAMJET_RETURN_IF_ERROR(st);
  // The FASTA must not have changed while we read it, or the index would describe neither.
  CRAMJET_ASSIGN_OR_RETURN(FastaStat after, StatFasta(fasta_path));
  if (after.size != before.size || after.mtime_ns != before.mtime_ns)
    return FailedPrecondition("'" + fasta_path + "' changed while it was being indexed; try again");
  CRAMJET_RETURN_IF_ERROR(out.Commit());
  CJ_LOG(kInfo) << "indexed '" << fasta_path << "': " << ref.contigs.size() << " contigs, "
                << ref.total << " bases, " << h.entry_count << " minimizers, " << layout.end
                << " bytes";
  return Status::Ok();
}

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
  index->bucket_mask_ = static_cast<uint32_t>((uint64_t{1} << h.bucket_bits) - 1);
  index->n_runs_ = reinterpret_cast<const uint64_t*>(base + layout.n_runs);
  index->n_run_count_ = h.n_run_count;
  index->n_blocks_ = reinterpret_cast<const uint64_t*>(base + layout.n_blocks);
  index->sequence_ = reinterpret_cast<const uint64_t*>(base + layout.sequence);
  index->offsets_ = reinterpret_cast<const uint32_t*>(base + layout.offsets);
  index->entries_ = reinterpret_cast<const uint32_t*>(base + layout.entries);
  if (index->offsets_[uint64_t{1} << h.bucket_bits] != h.entry_count)
    return BadInput("'" + path + "' is corrupt (seed table)" + RebuildHint(fasta_path));
  return index;
}

ReferenceIndex::~ReferenceIndex() {
  if (map_) ::munmap(map_, map_size_);
}

size_t ReferenceIndex::ContigOf(uint64_t position) const {
  auto it = std::upper_bound(contigs_.begin(), contigs_.end(), position,
                             [](uint64_t p, const ContigInfo& c) { return p < c.start; });
  return static_cast<size_t>(it - contigs_.begin()) - 1;
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
