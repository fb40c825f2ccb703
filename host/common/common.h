// host/common/common.h — helpers every stage uses: owned htslib handles, crash-safe output files,
// file digests. Internal to the library (not part of the public API in include/cramjet/).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <htslib/hts.h>
#include <htslib/sam.h>
#include <htslib/thread_pool.h>

#include "cramjet/status.h"

namespace cramjet {

// ---- Base codes -----------------------------------------------------------------------------
// One byte per base for the kernels and QC: 0..3 = A, C, G, T, 4 = anything else
// (kernels/include/kernel_shape.h, CJ_BASE_N). The one definition of each table below.
// BAM's 4-bit base (nt16) as a base code.
inline constexpr uint8_t kNt16ToCode[16] = {4, 0, 1, 4, 2, 4, 4, 4, 3, 4, 4, 4, 4, 4, 4, 4};
// The complement of a base code (N stays N) and of a 4-bit BAM base (IUPAC codes too).
inline constexpr uint8_t kCodeComplement[5] = {3, 2, 1, 0, 4};
inline constexpr uint8_t kNt16Complement[16] = {0, 8, 4, 12, 2, 10, 6, 14, 1, 9, 5, 13, 3, 11, 7, 15};
inline constexpr char kCodeChar[5] = {'A', 'C', 'G', 'T', 'N'};

// ---- Owned htslib handles -------------------------------------------------------------------
struct BamDeleter { void operator()(bam1_t* b) const { bam_destroy1(b); } };
struct HeaderDeleter { void operator()(sam_hdr_t* h) const { sam_hdr_destroy(h); } };
struct HtsFileDeleter { void operator()(htsFile* f) const { if (f) hts_close(f); } };
struct ThreadPoolDeleter {
  void operator()(hts_tpool* p) const { if (p) hts_tpool_destroy(p); }
};
using BamPtr = std::unique_ptr<bam1_t, BamDeleter>;
using HeaderPtr = std::unique_ptr<sam_hdr_t, HeaderDeleter>;
using HtsFilePtr = std::unique_ptr<htsFile, HtsFileDeleter>;
using ThreadPoolPtr = std::unique_ptr<hts_tpool, ThreadPoolDeleter>;

inline BamPtr NewBam() { return BamPtr(bam_init1()); }

// A batch of records moving between stages. Records are reused across batches to avoid churn.
struct ReadBatch {
  std::vector<BamPtr> records;
  size_t size = 0;  // records[0..size) are live
  // Makes room for `n` live records, allocating bam1_t objects only when growing.
  void Resize(size_t n) {
    while (records.size() < n) records.push_back(NewBam());
    size = n;
  }
  bam1_t* operator[](size_t i) { return records[i].get(); }
  const bam1_t* operator[](size_t i) const { return records[i].get(); }
};

// ---- Crash-safe output ----------------------------------------------------------------------
// Writes go to a temporary name in the same folder; Commit() fsyncs the file, renames it over
// the final name and fsyncs the folder. If the object dies uncommitted the temporary is removed,
// so a failed job never leaves a file under the final name.
class AtomicOutput {
 public:
  // Fails (naming the folder) when the folder does not exist or is not writable.
  [[nodiscard]] static StatusOr<AtomicOutput> Create(const std::string& final_path);
  AtomicOutput(AtomicOutput&& other) noexcept;
  AtomicOutput& operator=(AtomicOutput&& other) noexcept;
  AtomicOutput(const AtomicOutput&) = delete;
  AtomicOutput& operator=(const AtomicOutput&) = delete;
  ~AtomicOutput();

  const std::string& temp_path() const { return temp_path_; }
  const std::string& final_path() const { return final_path_; }
  // fsync(temp), rename(temp, final), fsync(folder).
  [[nodiscard]] Status Commit();
  // Removes the temporary now (also done by the destructor).
  void Abandon();

 private:
  AtomicOutput(std::string final_path, std::string temp_path);
  std::string final_path_;
  std::string temp_path_;
  bool done_ = false;
};

// The temporary AtomicOutput writes for `final_path` is ".<final name>.tmp.<pid>.<8 hex>" in the
// same folder. These two read that scheme back, so that a daemon restarting after a kill can
// remove what a dead process left, and nothing of a live one.
struct AtomicTemporaryName {
  std::string final_name;  // the name the temporary would have been renamed to
  long pid = 0;            // the process that created it
};
// nullopt when `file_name` is not one of AtomicOutput's temporaries.
std::optional<AtomicTemporaryName> ParseAtomicTemporaryName(std::string_view file_name);
// Removes the temporaries in `dir` whose final name `belongs` accepts and whose creating process
// no longer exists (never this process's own, which may belong to a concurrent job). Returns
// the paths removed.
std::vector<std::string> RemoveStaleTemporaries(const std::string& dir,
                                                const std::function<bool(std::string_view final_name)>& belongs);

// Writes all of `data` to `fd`, through short writes and EINTR; an error is `what` with the
// errno text.
[[nodiscard]] Status WriteAll(int fd, std::string_view data, const std::string& what);
// Copies the file at `path` to `fd` (standard output, a pipe), whole; the error names what failed.
[[nodiscard]] Status CopyFileToDescriptor(const std::string& path, int fd);
// Writes `contents` to `path` atomically (temporary name, fsync, rename, fsync folder).
[[nodiscard]] Status WriteFileAtomically(const std::string& path, std::string_view contents);
[[nodiscard]] StatusOr<std::string> ReadSmallFile(const std::string& path);
// fsync of an existing file or folder by path.
[[nodiscard]] Status FsyncPath(const std::string& path, bool is_directory);
// MD5 of data given in pieces, as a file streams past (htslib's MD5). ok() is false when htslib
// could not allocate its context; Hex() finishes the digest, once.
class Md5 {
 public:
  Md5() : ctx_(hts_md5_init()) {}
  ~Md5() {
    if (ctx_) hts_md5_destroy(ctx_);
  }
  Md5(const Md5&) = delete;
  Md5& operator=(const Md5&) = delete;
  bool ok() const { return ctx_ != nullptr; }
  void Update(const void* data, size_t n) {
    if (n) hts_md5_update(ctx_, data, static_cast<unsigned long>(n));
  }
  // Lower-case hex.
  std::string Hex() {
    unsigned char digest[16];
    char hex[33];
    hts_md5_final(digest, ctx_);
    hts_md5_hex(hex, digest);
    return std::string(hex, 32);
  }

 private:
  hts_md5_context* ctx_;
};

// Lower-case hex MD5 of a whole file.
[[nodiscard]] StatusOr<std::string> FileMd5Hex(const std::string& path);
// Lower-case hex of an MD5 digest of `data`.
std::string Md5Hex(std::string_view data);
// File size, or an error naming the file (NotFound when missing).
[[nodiscard]] StatusOr<uint64_t> FileSize(const std::string& path);
// No command may overwrite one of its own inputs: InvalidArgument naming both when an output is
// an input (the same path, or the same file under another name: same device and inode), or two
// outputs are one file, or an output is a device or FIFO (a commit renames over it: `-o
// /dev/null` as root replaced /dev/null). "-" (standard output) is never compared.
[[nodiscard]] Status CheckOutputsAreNotInputs(const std::vector<std::string>& inputs,
                                              const std::vector<std::string>& outputs);
// Error naming the path when it does not exist, is a folder, or cannot be opened for reading.
[[nodiscard]] Status CheckReadableFile(const std::string& path);

// A decimal number from outside input (a header tag, a config value): digits only, no sign or
// space, no overflow; nullopt otherwise. Never throws.
std::optional<uint64_t> ParseDecimal(std::string_view text);
// The same for an int: at most INT_MAX. Never throws.
std::optional<int> ParseDecimalInt(std::string_view text);
// A size from outside input: "64MiB", "5 MB", "1G", "16g", or a number of bytes (K/M/G are
// powers of 1024). nullopt when malformed or over 2^50 bytes. Never throws.
std::optional<uint64_t> ParseByteSize(std::string_view text);
// What a remote server or a file sent, made fit for a message (logs, the journal, JSON replies):
// at most `max_bytes`, every byte outside printable ASCII shown as '?'. Text from outside may be
// any bytes; JSON output must be UTF-8 (nlohmann::json::dump throws on anything else).
std::string PrintableExcerpt(std::string_view text, size_t max_bytes);
// True when `text` is valid UTF-8 (no overlong forms, surrogates or code points past U+10FFFF).
bool IsValidUtf8(std::string_view text);
// "7.3 GiB", "512.0 MiB", "900 B": for messages.
std::string FormatBytes(uint64_t bytes);

// A read name without a "/1" or "/2" mate suffix ("X/1" -> "X"); other names as they are. Mates
// share this part whether their suffixes were kept or not.
inline std::string_view StripMateSuffix(std::string_view name) {
  if (name.size() > 2 && name[name.size() - 2] == '/' && (name.back() == '1' || name.back() == '2'))
    name.remove_suffix(2);
  return name;
}

// Folder part and file part of a path ("a/b.cram" -> "a", "b.cram"; "b.cram" -> ".").
std::string DirName(const std::string& path);
std::string BaseName(const std::string& path);
// A reads file's name without its compression and format extensions: "S1_R1.fastq.gz" -> "S1_R1",
// "x.bam" -> "x" (one of .gz/.bgz, then one of .fastq/.fq/.sam/.bam/.cram; others are kept).
std::string StripReadFileExtensions(std::string name);

// Creates a thread pool of `threads` workers, or null when threads <= 1.
ThreadPoolPtr MakeThreadPool(int threads);

// The last htslib error message text is only on stderr; this captures what we can say.
std::string HtsErrorHint();

// ---- MD and NM regenerated from the reference (docs/formats.md, "MD and NM") -----------------
// A CRAM of aligned input leaves out the MD:Z and NM:i that the reference gives back (htslib's
// store_md/store_nm = 0: it drops a value equal to the one it computes) and says so in the
// header, `@HD md:regenerated`; decoders then regenerate them (htslib decode_md = 1). So that no
// decoder invents them where the input had none, a placed record with bases that lacks MD or NM
// carries htslib's own flag tag cF:C (bit 1: no MD, bit 2: no NM), which htslib's decoder obeys and
// removes. An MD that is not all upper case (htslib compares case-blind, then gives back upper
// case) is kept as zm:Z and renamed back after decoding.
inline constexpr char kRegeneratedTagsKey[3] = "md";
inline constexpr char kRegeneratedTagsValue[] = "regenerated";
// Sets `@HD md:regenerated`.
[[nodiscard]] Status MarkRegeneratedTags(sam_hdr_t* header);
// Whether `header` has `@HD md:regenerated`.
bool HasRegeneratedTags(const sam_hdr_t* header);
// Before encoding, on a record that was checksummed as it came: adds cF / renames MD as above.
// BadInput when the record carries a cF tag of its own (the decoder would take it as its flags).
[[nodiscard]] Status PrepareRegeneratedTags(bam1_t* record);
// After decoding: zm:Z back to MD:Z.
[[nodiscard]] Status RestoreRegeneratedTags(bam1_t* record);

}  // namespace cramjet
