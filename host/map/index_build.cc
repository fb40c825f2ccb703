// Building `<fasta>.cjidx` (docs/mapper.md, "Building at genome scale").
//
// The build streams the FASTA twice and the packed sequence twice, so that the only large
// allocations are the three arrays the index itself holds (2-bit sequence, bucket offsets, seed
// positions): ~2.4 bytes per reference base, 7.3 GiB for 3.1 Gb. Steps, each timed in the log:
//   1. scan    the FASTA: contig names and lengths, N runs, errors with their line; the >4 Gb
//              refusal and the memory projection (refused against --max-memory before any
//              large allocation);
//   2. pack    read it again into the 2-bit sequence, the N runs and each contig's MD5;
//   3. count   minimizers of chunks of the packed sequence, in parallel, into bucket counters;
//   4. place   the same minimizers again, each position into its bucket's next free slot;
//              then every bucket sorted (positions ascending, whatever the thread timing);
//   5. write   sections to a hidden temporary, the header last, fsync, rename.
// Seeding twice costs CPU but never holds the (hash, position) list, which for a human genome is
// another 4.4 GB (the old single-pass build peaked at 17.8 GiB).
// Length: ~590 lines: the five build steps below share one streaming state and its memory
// projection; each step is a function of its own.
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>
#include <dirent.h>
#include <zlib.h>

#include <htslib/hts.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <functional>
#include <thread>
#include <unordered_set>

#include "cramjet/backend.h"
#include "cramjet/log.h"
#include "map/index_format.h"
#include "map/map.h"

namespace cramjet {
namespace {

using namespace index_format;

// 0..3 for ACGT (either case), 4 for any other sequence character, kSkip for bytes that are not
// part of a sequence (white space, controls, bytes outside ASCII 33-126).
constexpr uint8_t kSkip = 0xFF;
constexpr std::array<uint8_t, 256> kBaseCode = [] {
  std::array<uint8_t, 256> t{};
  for (int c = 0; c < 256; ++c) t[c] = (c < 33 || c > 126) ? kSkip : 4;
  t['A'] = t['a'] = 0;
  t['C'] = t['c'] = 1;
  t['G'] = t['g'] = 2;
  t['T'] = t['t'] = 3;
  return t;
}();

// Streams a FASTA (plain, gzip or bgzip) in large blocks: `on_header(name, line)` for each '>'
// line, `on_bases(data, n)` for the bytes of sequence lines (raw: the caller skips white space).
class FastaStream {
 public:
  using HeaderFn = std::function<Status(const std::string& name, uint64_t line)>;
  using BasesFn = std::function<Status(const char* data, size_t n)>;

  static Status Scan(const std::string& path, const HeaderFn& on_header, const BasesFn& on_bases) {
    gzFile in = gzopen(path.c_str(), "rb");
    if (!in) return IoErrorFromErrno("'" + path + "': cannot open", errno);
    struct Closer {
      gzFile f;
      ~Closer() { gzclose(f); }
    } closer{in};
    gzbuffer(in, 1 << 20);
    std::vector<char> buffer(4 << 20);
    uint64_t line = 1;
    bool at_line_start = true, in_header = false, seen_header = false;
    std::string header;
    while (true) {
      const int got = gzread(in, buffer.data(), static_cast<unsigned>(buffer.size()));
      if (got < 0) {
        int zerr = 0;
        const char* text = gzerror(in, &zerr);
        return IoError("'" + path + "': read error (" + (text ? text : "?") +
                       "; truncated or corrupt compressed file?)");
      }
      if (got == 0) break;
      const char* p = buffer.data();
      const char* const end = p + got;
      while (p < end) {
        if (in_header) {
          const char* nl = static_cast<const char*>(std::memchr(p, '\n', end - p));
          header.append(p, nl ? nl : end);
          if (!nl) break;
          p = nl + 1;
          in_header = false;
          at_line_start = true;
          CRAMJET_RETURN_IF_ERROR(EmitHeader(path, header, line, on_header));
          ++line;
          continue;
        }
        if (at_line_start && *p == '>') {
          in_header = seen_header = true;
          header.clear();
          ++p;
          continue;
        }
        const char* nl = static_cast<const char*>(std::memchr(p, '\n', end - p));
        const char* stop = nl ? nl : end;
        if (!seen_header) {
          for (const char* q = p; q < stop; ++q) {
            if (kBaseCode[static_cast<uint8_t>(*q)] != kSkip)
              return BadInput("'" + path + "': line " + std::to_string(line) +
                              ": sequence before the first '>' header (not a FASTA file?)");
          }
        } else if (stop > p) {
          CRAMJET_RETURN_IF_ERROR(on_bases(p, static_cast<size_t>(stop - p)));
        }
        at_line_start = nl != nullptr;
        if (nl) ++line;
        p = nl ? nl + 1 : end;
      }
    }
    if (!gzeof(in)) return IoError("'" + path + "': read error (truncated or corrupt compressed file?)");
    if (in_header) CRAMJET_RETURN_IF_ERROR(EmitHeader(path, header, line, on_header));
    if (!seen_header) return BadInput("'" + path + "': no FASTA records ('>' header) found");
    return Status::Ok();
  }

 private:
  static Status EmitHeader(const std::string& path, std::string& header, uint64_t line,
                           const HeaderFn& on_header) {
    if (!header.empty() && header.back() == '\r') header.pop_back();
    size_t name_end = 0;
    while (name_end < header.size() && !std::isspace(static_cast<unsigned char>(header[name_end]))) ++name_end;
    if (name_end == 0)
      return BadInput("'" + path + "': line " + std::to_string(line) + ": contig without a name");
    return on_header(header.substr(0, name_end), line);
  }
};

struct ScannedContig {
  std::string name;
  uint64_t line = 0;
  uint64_t length = 0;
};

// Step 1: names, lengths and the N-run count; errors with their line. Allocates nothing large.
Status ScanStructure(const std::string& path, std::vector<ScannedContig>& contigs, uint64_t& total,
                     uint64_t& n_runs) {
  std::unordered_set<std::string> names;
  bool previous_n = false;
  auto finish = [&]() -> Status {
    if (!contigs.empty() && contigs.back().length == 0)
      return BadInput("'" + path + "': line " + std::to_string(contigs.back().line) + ": contig '" +
                      contigs.back().name + "' has no sequence");
    return Status::Ok();
  };
  CRAMJET_RETURN_IF_ERROR(FastaStream::Scan(
      path,
      [&](const std::string& name, uint64_t line) -> Status {
        CRAMJET_RETURN_IF_ERROR(finish());
        if (!names.insert(name).second)
          return BadInput("'" + path + "': line " + std::to_string(line) + ": duplicate contig name '" +
                          name + "'");
        contigs.push_back({name, line, 0});
        previous_n = false;  // N runs never cross a contig boundary
        return Status::Ok();
      },
      [&](const char* data, size_t n) -> Status {
        uint64_t bases = 0;
        for (size_t i = 0; i < n; ++i) {
          const uint8_t code = kBaseCode[static_cast<uint8_t>(data[i])];
          if (code == kSkip) continue;
          ++bases;
          const bool is_n = code == 4;
          n_runs += is_n && !previous_n;
          previous_n = is_n;
        }
        contigs.back().length += bases;
        total += bases;
        if (total > kMaxReferenceBases)
          return BadInput("'" + path + "': more than " + std::to_string(kMaxReferenceBases) +
                          " bases of sequence (contig '" + contigs.back().name +
                          "'); the index holds at most 4 Gb (32-bit positions)");
        return Status::Ok();
      }));
  return finish();
}

struct PackedSequence {
  std::vector<uint64_t> words;    // 2 bits per base, SequenceWords(total) words
  std::vector<uint64_t> n_runs;   // (start, length) pairs, ascending
  std::vector<std::string> md5s;  // one per contig
};

// Step 2: the 2-bit sequence, N runs and MD5s. The FASTA must give what step 1 saw.
Status PackSequence(const std::string& path, const std::vector<ScannedContig>& contigs, uint64_t total,
                    uint64_t n_run_count, PackedSequence& packed) {
  packed.words.assign(SequenceWords(total), 0);
  packed.n_runs.reserve(2 * n_run_count);
  packed.md5s.reserve(contigs.size());
  const Status changed = FailedPrecondition("'" + path + "' changed while it was being indexed; try again");
  std::unique_ptr<Md5> md5;
  std::string upper;  // upper-cased sequence characters awaiting the MD5
  upper.reserve(1 << 16);
  uint64_t position = 0, contig_end = 0;
  size_t contig = 0;
  bool in_n = false;
  uint64_t n_start = 0;
  auto close_contig = [&]() -> Status {
    if (!md5) return Status::Ok();
    if (position != contig_end) return changed;
    md5->Update(upper.data(), upper.size());
    upper.clear();
    packed.md5s.push_back(md5->Hex());
    if (in_n) packed.n_runs.insert(packed.n_runs.end(), {n_start, position - n_start});
    in_n = false;
    return Status::Ok();
  };
  CRAMJET_RETURN_IF_ERROR(FastaStream::Scan(
      path,
      [&](const std::string& name, uint64_t) -> Status {
        CRAMJET_RETURN_IF_ERROR(close_contig());
        if (contig >= contigs.size() || contigs[contig].name != name) return changed;
        contig_end = position + contigs[contig].length;
        ++contig;
        md5 = std::make_unique<Md5>();
        if (!md5->ok()) return Internal("cannot start an MD5 digest");
        return Status::Ok();
      },
      [&](const char* data, size_t n) -> Status {
        for (size_t i = 0; i < n; ++i) {
          const uint8_t c = static_cast<uint8_t>(data[i]);
          const uint8_t code = kBaseCode[c];
          if (code == kSkip) continue;
          if (position >= contig_end) return changed;
          upper.push_back(static_cast<char>(c >= 'a' && c <= 'z' ? c - 32 : c));
          packed.words[position / 32] |= static_cast<uint64_t>(code & 3) << (2 * (position % 32));
          if (code == 4 && !in_n) in_n = true, n_start = position;
          if (code != 4 && in_n) {
            packed.n_runs.insert(packed.n_runs.end(), {n_start, position - n_start});
            in_n = false;
          }
          ++position;
        }
        if (upper.size() >= (1 << 16)) {
          md5->Update(upper.data(), upper.size());
          upper.clear();
        }
        return Status::Ok();
      }));
  CRAMJET_RETURN_IF_ERROR(close_contig());
  if (contig != contigs.size() || position != total || packed.n_runs.size() != 2 * n_run_count) return changed;
  return Status::Ok();
}

// A stretch of one contig's minimizer windows, seeded on its own.
struct SeedChunk {
  uint64_t contig_start, contig_length;
  uint64_t window_begin, window_end;  // windows [begin, end) of the contig
};

std::vector<SeedChunk> PlanChunks(const std::vector<ContigInfo>& contigs, uint64_t chunk_windows) {
  std::vector<SeedChunk> chunks;
  for (const ContigInfo& c : contigs) {
    const uint64_t kmers = SeedKmerCount(c.length);
    if (kmers < static_cast<uint64_t>(CJ_SEED_W)) {
      chunks.push_back({c.start, c.length, 0, kmers ? 1u : 0u});
      continue;
    }
    const uint64_t windows = kmers - CJ_SEED_W + 1;
    for (uint64_t b = 0; b < windows; b += chunk_windows)
      chunks.push_back({c.start, c.length, b, std::min(windows, b + chunk_windows)});
  }
  return chunks;
}

// Per-thread buffers of the seeding steps.
struct SeedScratch {
  std::vector<uint8_t> codes;
  std::vector<Seed> seeds, first;
};

// The minimizers of `chunk`'s windows with positions in concatenated coordinates, exactly those a
// whole-contig pass emits for them. Windows slide monotonically, so a minimizer shared with the
// previous chunk is the one of its last window: seeding starts one window early and drops that
// window's minimizer when it has one.
void SeedOneChunk(const PackedSequence& ref, const SeedChunk& chunk, SeedScratch& s,
                  const std::function<void(uint32_t hash, uint32_t position)>& emit) {
  const bool whole = SeedKmerCount(chunk.contig_length) < static_cast<uint64_t>(CJ_SEED_W);
  const bool has_previous = !whole && chunk.window_begin > 0;
  const uint64_t first_window = chunk.window_begin - (has_previous ? 1 : 0);
  const uint64_t span = whole ? chunk.contig_length
                              : (chunk.window_end - first_window) + CJ_SEED_W - 1 + CJ_SEED_K - 1;
  const uint64_t start = chunk.contig_start + first_window;
  s.codes.resize(span);
  for (uint64_t i = 0; i < span; ++i) {
    const uint64_t p = start + i;
    s.codes[i] = static_cast<uint8_t>((ref.words[p / 32] >> (2 * (p % 32))) & 3);
  }
  // Overlay the N runs that meet [start, start + span): from the first run ending after `start`.
  size_t lo = 0, hi = ref.n_runs.size() / 2;
  while (lo < hi) {
    const size_t mid = (lo + hi) / 2;
    if (ref.n_runs[2 * mid] + ref.n_runs[2 * mid + 1] <= start) lo = mid + 1; else hi = mid;
  }
  for (size_t r = 2 * lo; r < ref.n_runs.size(); r += 2) {
    const uint64_t run_start = ref.n_runs[r], run_end = run_start + ref.n_runs[r + 1];
    if (run_start >= start + span) break;
    for (uint64_t p = std::max(run_start, start); p < std::min(run_end, start + span); ++p) s.codes[p - start] = 4;
  }
  s.seeds.clear();
  AppendMinimizers(s.codes.data(), span, s.seeds);
  size_t skip = 0;
  if (has_previous) {
    s.first.clear();
    AppendMinimizers(s.codes.data(), CJ_SEED_W + CJ_SEED_K - 1, s.first);
    skip = s.first.empty() ? 0 : 1;
  }
  for (size_t i = skip; i < s.seeds.size(); ++i)
    emit(s.seeds[i].hash, static_cast<uint32_t>(start + s.seeds[i].position));
}

// Runs `work(chunk index, scratch)` over all chunks on `threads` threads (the caller's included).
void ForEachChunk(size_t chunks, int threads, const std::function<void(size_t, SeedScratch&)>& work) {
  const size_t workers = std::max<size_t>(1, std::min<size_t>(static_cast<size_t>(threads), chunks));
  std::atomic<size_t> next{0};
  auto loop = [&] {
    SeedScratch scratch;
    for (size_t i; (i = next.fetch_add(1, std::memory_order_relaxed)) < chunks;) work(i, scratch);
  };
  std::vector<std::thread> pool;
  for (size_t t = 1; t < workers; ++t) pool.emplace_back(loop);
  loop();
  for (auto& t : pool) t.join();
}

// Temporaries of builds that died (SIGKILL, power loss) before their rename: a live build holds
// an exclusive lock on its temporary, so one we can lock belongs to nobody and goes.
void RemoveAbandonedTemporaries(const std::string& index_path) {
  const std::string dir = DirName(index_path);
  const std::string prefix = "." + BaseName(index_path) + ".tmp.";
  DIR* d = ::opendir(dir.c_str());
  if (!d) return;
  while (const dirent* e = ::readdir(d)) {
    if (std::strncmp(e->d_name, prefix.c_str(), prefix.size()) != 0) continue;
    const std::string path = dir + "/" + e->d_name;
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0) continue;
    if (::flock(fd, LOCK_EX | LOCK_NB) == 0) {
      CJ_LOG(kWarning) << "removing '" << path << "', left by an index build that did not finish";
      ::unlink(path.c_str());
    }
    ::close(fd);
  }
  ::closedir(d);
}

std::string_view Bytes(const void* data, uint64_t n) { return {static_cast<const char*>(data), n}; }

Status PadTo(int fd, uint64_t& written, uint64_t offset, const std::string& what) {
  static const char zeros[kSectionAlign] = {};
  if (written > offset) return Internal("index layout overrun in " + what);
  CRAMJET_RETURN_IF_ERROR(WriteAll(fd, Bytes(zeros, offset - written), what));
  written = offset;
  return Status::Ok();
}

class StepTimer {
 public:
  explicit StepTimer(const std::string& fasta) : fasta_(fasta), last_(Clock::now()) {}
  void Done(const char* step) {
    const auto now = Clock::now();
    CJ_LOG(kDebug) << "index '" << fasta_ << "': " << step << " "
                   << std::chrono::duration<double>(now - last_).count() << " s";
    last_ = now;
  }

 private:
  using Clock = std::chrono::steady_clock;
  std::string fasta_;
  Clock::time_point last_;
};

}  // namespace

uint64_t ReferenceIndex::DefaultBuildMemoryLimit() {
  const long pages = ::sysconf(_SC_PHYS_PAGES), page = ::sysconf(_SC_PAGESIZE);
  if (pages <= 0 || page <= 0) return uint64_t{16} << 30;
  return static_cast<uint64_t>(pages) * static_cast<uint64_t>(page) / 10 * 8;
}

uint64_t ReferenceIndex::EstimateBuildMemory(uint64_t total_bases, uint64_t n_runs, uint64_t entries,
                                             const IndexBuildOptions& options) {
  if (entries == 0) entries = total_bases * 2 / (CJ_SEED_W + 1) + 1;
  // A chunk never spans more than the whole reference.
  const uint64_t chunk_windows = std::clamp<uint64_t>(options.chunk_bases, 1, std::max<uint64_t>(1, total_bases));
  // codes (1 B) + k-mer hashes and window minima (4 + 4 B) per base, seeds (8 B) at 2/(w+1).
  const uint64_t per_thread = chunk_windows * 9 + chunk_windows * 2 / (CJ_SEED_W + 1) * 8 * 2 + (8 << 20);
  return SequenceWords(total_bases) * 8 + n_runs * 16 + ((uint64_t{1} << BucketBits(total_bases)) + 1) * 4 +
         entries * sizeof(SeedEntry) + static_cast<uint64_t>(std::max(1, options.threads)) * per_thread;
}

Status ReferenceIndex::Build(const std::string& fasta_path, int threads) {
  IndexBuildOptions options;
  options.threads = threads;
  return Build(fasta_path, options);
}

Status ReferenceIndex::Build(const std::string& fasta_path, const IndexBuildOptions& options) {
  const int threads = std::max(1, options.threads);
  const uint64_t limit = options.max_memory ? options.max_memory : DefaultBuildMemoryLimit();
  StepTimer timer(fasta_path);
  CRAMJET_ASSIGN_OR_RETURN(FastaStat before, StatFasta(fasta_path));
  const std::string index_path = IndexPath(fasta_path);

  // 1. scan
  std::vector<ScannedContig> scanned;
  uint64_t total = 0, n_run_count = 0;
  CRAMJET_RETURN_IF_ERROR(ScanStructure(fasta_path, scanned, total, n_run_count));
  auto refuse_memory = [&](uint64_t needed) {
    return FailedPrecondition("'" + fasta_path + "': indexing " + std::to_string(total) + " bases needs about " +
                             FormatBytes(needed) + " of memory, more than the " + FormatBytes(limit) +
                             " allowed (--max-memory; the default is 80% of this machine's memory)");
  };
  const uint64_t projected = EstimateBuildMemory(total, n_run_count, 0, options);
  if (projected > limit) return refuse_memory(projected);
  timer.Done("scan");

  // 2. pack
  PackedSequence packed;
  CRAMJET_RETURN_IF_ERROR(PackSequence(fasta_path, scanned, total, n_run_count, packed));
  std::vector<ContigInfo> contigs;
  contigs.reserve(scanned.size());
  for (size_t i = 0, start = 0; i < scanned.size(); start += scanned[i].length, ++i)
    contigs.push_back(ContigInfo{scanned[i].name, scanned[i].length, start, packed.md5s[i]});
  timer.Done("pack");

  // 3. count
  const uint32_t bucket_bits = BucketBits(total);
  const uint64_t buckets = uint64_t{1} << bucket_bits;
  const uint32_t mask = static_cast<uint32_t>(buckets - 1);
  const std::vector<SeedChunk> chunks = PlanChunks(contigs, std::max<uint64_t>(1, options.chunk_bases));
  std::vector<uint32_t> offsets(buckets + 1, 0);
  std::atomic<uint64_t> entry_count{0};
  ForEachChunk(chunks.size(), threads, [&](size_t i, SeedScratch& scratch) {
    uint64_t emitted = 0;
    SeedOneChunk(packed, chunks[i], scratch, [&](uint32_t hash, uint32_t) {
      std::atomic_ref<uint32_t>(offsets[(hash & mask) + 1]).fetch_add(1, std::memory_order_relaxed);
      ++emitted;
    });
    entry_count.fetch_add(emitted, std::memory_order_relaxed);
  });
  if (entry_count >= (uint64_t{1} << 32))
    return BadInput("'" + fasta_path + "': more than 2^32 minimizers; the index holds at most 4 Gb");
  for (uint64_t b = 0; b < buckets; ++b) offsets[b + 1] += offsets[b];
  const uint64_t needed = EstimateBuildMemory(total, n_run_count, entry_count, options);
  if (needed > limit) return refuse_memory(needed);
  timer.Done("count");

  // 4. place: offsets[b] serves as bucket b's cursor, ending at the start of bucket b + 1.
  std::vector<SeedEntry> entries(entry_count);
  ForEachChunk(chunks.size(), threads, [&](size_t i, SeedScratch& scratch) {
    SeedOneChunk(packed, chunks[i], scratch, [&](uint32_t hash, uint32_t position) {
      entries[std::atomic_ref<uint32_t>(offsets[hash & mask]).fetch_add(1, std::memory_order_relaxed)] = {
          position, ReferenceFlanks(packed.words.data(), position)};
    });
  });
  std::memmove(offsets.data() + 1, offsets.data(), buckets * sizeof(uint32_t));
  offsets[0] = 0;
  {
    std::atomic<uint64_t> next{0};
    constexpr uint64_t kBucketsPerTask = 1 << 16;
    auto sort_buckets = [&] {
      for (uint64_t t; (t = next.fetch_add(kBucketsPerTask)) < buckets;) {
        for (uint64_t b = t; b < std::min(buckets, t + kBucketsPerTask); ++b) {
          if (offsets[b + 1] - offsets[b] > 1)
            std::sort(entries.begin() + offsets[b], entries.begin() + offsets[b + 1],
                      [](const SeedEntry& x, const SeedEntry& y) { return x.position < y.position; });
        }
      }
    };
    std::vector<std::thread> pool;
    for (int t = 1; t < threads; ++t) pool.emplace_back(sort_buckets);
    sort_buckets();
    for (auto& t : pool) t.join();
  }
  timer.Done("place");

  // 5. write
  std::vector<uint64_t> n_blocks(NBlockWords(total), 0);
  for (size_t r = 0; r < packed.n_runs.size(); r += 2) {
    for (uint64_t b = packed.n_runs[r] >> 10; b <= (packed.n_runs[r] + packed.n_runs[r + 1] - 1) >> 10; ++b)
      n_blocks[b / 64] |= uint64_t{1} << (b % 64);
  }
  IndexHeader h{};
  std::memcpy(h.magic, kMagic, sizeof kMagic);
  h.version = CJ_INDEX_FORMAT_VERSION;
  h.seed_k = CJ_SEED_K;
  h.seed_w = CJ_SEED_W;
  h.bucket_bits = bucket_bits;
  h.contig_count = static_cast<uint32_t>(contigs.size());
  h.fasta_size = before.size;
  h.fasta_mtime_ns = before.mtime_ns;
  h.total_length = total;
  h.entry_count = entry_count;
  h.n_run_count = n_run_count;
  std::string names;
  std::vector<ContigRecord> records;
  for (const ContigInfo& c : contigs) {
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

  RemoveAbandonedTemporaries(index_path);
  CRAMJET_ASSIGN_OR_RETURN(AtomicOutput out, AtomicOutput::Create(index_path));
  const int fd = ::open(out.temp_path().c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0) return IoErrorFromErrno("'" + out.temp_path() + "': cannot create", errno);
  struct FdCloser {
    int fd;
    ~FdCloser() { ::close(fd); }
  } closer{fd};
  // Held until the file is closed: tells a later build that this temporary is still being written.
  (void)::flock(fd, LOCK_EX | LOCK_NB);
  const std::string what = "'" + out.temp_path() + "': write failed";
  uint64_t written = 0;
  IndexHeader unfinished{};  // no magic until the end
  const std::pair<uint64_t, std::string_view> sections[] = {
      {0, Bytes(&unfinished, sizeof unfinished)},
      {layout.contigs, Bytes(records.data(), records.size() * sizeof(ContigRecord))},
      {layout.names, names},
      {layout.n_runs, Bytes(packed.n_runs.data(), packed.n_runs.size() * 8)},
      {layout.n_blocks, Bytes(n_blocks.data(), n_blocks.size() * 8)},
      {layout.sequence, Bytes(packed.words.data(), packed.words.size() * 8)},
      {layout.offsets, Bytes(offsets.data(), offsets.size() * 4)},
      {layout.entries, Bytes(entries.data(), entries.size() * sizeof(SeedEntry))},
  };
  for (const auto& [offset, data] : sections) {
    CRAMJET_RETURN_IF_ERROR(PadTo(fd, written, offset, what));
    CRAMJET_RETURN_IF_ERROR(WriteAll(fd, data, what));
    written += data.size();
  }
  if (written != layout.end) return Internal("index layout mismatch in '" + out.temp_path() + "'");
  // Everything else is on disk before the header says the file is an index.
  if (::fdatasync(fd) != 0) return IoErrorFromErrno(what, errno);
  if (::pwrite(fd, &h, sizeof h, 0) != static_cast<ssize_t>(sizeof h)) return IoErrorFromErrno(what, errno);
  // The FASTA must not have changed while we read it, or the index would describe neither.
  CRAMJET_ASSIGN_OR_RETURN(FastaStat after, StatFasta(fasta_path));
  if (after.size != before.size || after.mtime_ns != before.mtime_ns)
    return FailedPrecondition("'" + fasta_path + "' changed while it was being indexed; try again");
  CRAMJET_RETURN_IF_ERROR(out.Commit());
  timer.Done("write");
  CJ_LOG(kInfo) << "indexed '" << fasta_path << "': " << contigs.size() << " contigs, " << total << " bases, "
                << h.entry_count << " minimizers, " << layout.end << " bytes";
  return Status::Ok();
}

}  // namespace cramjet
