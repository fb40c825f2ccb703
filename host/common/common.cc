#include "common/common.h"
#include "common/unique_fd.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstdio>
#include <charconv>
#include <filesystem>
#include <initializer_list>
#include <limits>
#include <string_view>
#include <cstring>
#include <random>
#include <vector>

namespace cramjet {

std::string StripReadFileExtensions(std::string name) {
  auto strip = [&name](std::initializer_list<std::string_view> extensions) {
    for (std::string_view ext : extensions)
      if (name.size() > ext.size() && name.ends_with(ext)) {
        name.resize(name.size() - ext.size());
        return;
      }
  };
  strip({".gz", ".bgz"});
  strip({".fastq", ".fq", ".sam", ".bam", ".cram"});
  return name;
}

std::optional<uint64_t> ParseDecimal(std::string_view text) {
  uint64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

std::optional<int> ParseDecimalInt(std::string_view text) {
  const std::optional<uint64_t> v = ParseDecimal(text);
  if (!v || *v > static_cast<uint64_t>(std::numeric_limits<int>::max())) return std::nullopt;
  return static_cast<int>(*v);
}

std::optional<uint64_t> ParseByteSize(std::string_view text) {
  size_t i = 0;
  uint64_t value = 0;
  if (text.empty() || !std::isdigit(static_cast<unsigned char>(text[0]))) return std::nullopt;
  while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i]))) {
    value = value * 10 + (text[i] - '0');
    if (value > (1ull << 50)) return std::nullopt;
    ++i;
  }
  while (i < text.size() && text[i] == ' ') ++i;
  std::string unit(text.substr(i));
  for (auto& c : unit) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  uint64_t mult = 1;
  if (unit.empty() || unit == "b") mult = 1;
  else if (unit == "k" || unit == "kb" || unit == "kib") mult = 1ull << 10;
  else if (unit == "m" || unit == "mb" || unit == "mib") mult = 1ull << 20;
  else if (unit == "g" || unit == "gb" || unit == "gib") mult = 1ull << 30;
  else return std::nullopt;
  return value * mult;
}

std::string FormatBytes(uint64_t bytes) {
  static const char* const kUnits[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double value = static_cast<double>(bytes);
  int unit = 0;
  while (value >= 1024 && unit < 4) value /= 1024, ++unit;
  char text[32];
  if (unit == 0) std::snprintf(text, sizeof text, "%llu B", static_cast<unsigned long long>(bytes));
  else std::snprintf(text, sizeof text, "%.1f %s", value, kUnits[unit]);
  return text;
}

std::string DirName(const std::string& path) {
  auto slash = path.find_last_of('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

std::string BaseName(const std::string& path) {
  auto slash = path.find_last_of('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

// ---- AtomicOutput ---------------------------------------------------------------------------

AtomicOutput::AtomicOutput(std::string final_path, std::string temp_path)
    : final_path_(std::move(final_path)), temp_path_(std::move(temp_path)) {}

AtomicOutput::AtomicOutput(AtomicOutput&& other) noexcept
    : final_path_(std::move(other.final_path_)), temp_path_(std::move(other.temp_path_)),
      done_(other.done_) {
  other.done_ = true;
}

AtomicOutput& AtomicOutput::operator=(AtomicOutput&& other) noexcept {
  if (this != &other) {
    Abandon();
    final_path_ = std::move(other.final_path_);
    temp_path_ = std::move(other.temp_path_);
    done_ = other.done_;
    other.done_ = true;
  }
  return *this;
}

namespace {
// AtomicOutput's temporaries: "." + final name + kTemporaryInfix + pid + "." + 8 hex digits.
constexpr const char* kTemporaryInfix = ".tmp.";
}  // namespace

AtomicOutput::~AtomicOutput() { Abandon(); }

StatusOr<AtomicOutput> AtomicOutput::Create(const std::string& final_path) {
  if (final_path.empty()) return InvalidArgument("no output path given");
  std::string dir = DirName(final_path);
  struct stat st;
  if (::stat(dir.c_str(), &st) != 0)
    return IoErrorFromErrno("output folder '" + dir + "'", errno);
  if (!S_ISDIR(st.st_mode)) return IoError("output folder '" + dir + "' is not a folder");
  if (::access(dir.c_str(), W_OK) != 0)
    return IoErrorFromErrno("output folder '" + dir + "' is not writable", errno);
  struct stat fst;
  if (::stat(final_path.c_str(), &fst) == 0 && S_ISDIR(fst.st_mode))
    return IoError("output '" + final_path + "' is a folder");
  // The rename at Commit would put a plain file in place of a device or FIFO (`-o /dev/null` as
  // root replaced /dev/null itself): refused; standard output is "-".
  if (::stat(final_path.c_str(), &fst) == 0 && !S_ISREG(fst.st_mode))
    return InvalidArgument("output '" + final_path + "' is a device or FIFO, not a file (write to - for standard output)");
  // Hidden name in the same folder, so the rename is atomic and `ls *.cram` never shows it.
  std::random_device rd;
  char suffix[32];
  std::snprintf(suffix, sizeof suffix, "%s%d.%08x", kTemporaryInfix, static_cast<int>(::getpid()), rd());
  std::string temp = (dir == "." && final_path.find('/') == std::string::npos ? "" : dir + "/") +
                     "." + BaseName(final_path) + suffix;
  return AtomicOutput(final_path, temp);
}

Status AtomicOutput::Commit() {
  if (done_) return Internal("output '" + final_path_ + "' committed twice");
  CRAMJET_RETURN_IF_ERROR(FsyncPath(temp_path_, false));
  if (::rename(temp_path_.c_str(), final_path_.c_str()) != 0)
    return IoErrorFromErrno("renaming '" + temp_path_ + "' to '" + final_path_ + "'", errno);
  done_ = true;
  return FsyncPath(DirName(final_path_), true);
}

void AtomicOutput::Abandon() {
  if (!done_ && !temp_path_.empty()) ::unlink(temp_path_.c_str());
  done_ = true;
}

std::optional<AtomicTemporaryName> ParseAtomicTemporaryName(std::string_view name) {
  if (name.size() < 2 || name[0] != '.') return std::nullopt;
  const size_t dot = name.rfind('.');
  const std::string_view hex = name.substr(dot + 1);
  if (hex.size() != 8 || hex.find_first_not_of("0123456789abcdef") != std::string_view::npos) return std::nullopt;
  const std::string_view head = name.substr(0, dot);  // ".<final>.tmp.<pid>"
  const size_t pid_dot = head.rfind('.');
  const std::optional<uint64_t> pid = ParseDecimal(head.substr(pid_dot + 1));
  const std::string_view infix = std::string_view(kTemporaryInfix).substr(0, 4);  // ".tmp"
  if (!pid || *pid == 0 || *pid > 0x7fffffff || pid_dot < 1 + infix.size() ||
      head.substr(pid_dot - infix.size(), infix.size()) != infix)
    return std::nullopt;
  AtomicTemporaryName out;
  out.final_name = std::string(head.substr(1, pid_dot - infix.size() - 1));
  out.pid = static_cast<long>(*pid);
  if (out.final_name.empty()) return std::nullopt;
  return out;
}

namespace {
// Whether process `pid` still runs. kill(pid, 0) fails with ESRCH only when no such process
// exists (EPERM means it lives); a zombie (killed, not yet reaped: an init that reaps slowly, a
// parent that died with it) counts as gone, as it will never write again.
bool ProcessRuns(pid_t pid) {
  if (::kill(pid, 0) != 0 && errno == ESRCH) return false;
  const std::string stat_path = "/proc/" + std::to_string(pid) + "/stat";
  FILE* f = std::fopen(stat_path.c_str(), "re");
  if (!f) return true;  // no /proc to ask: it exists
  char line[512];
  const bool read = std::fgets(line, sizeof line, f) != nullptr;
  std::fclose(f);
  if (!read) return true;
  // "pid (comm) S ...": the state follows the last ')' (comm may hold spaces and parentheses).
  const char* close = std::strrchr(line, ')');
  return !(close && close[1] == ' ' && close[2] == 'Z');
}
}  // namespace

std::vector<std::string> RemoveStaleTemporaries(const std::string& dir,
                                                const std::function<bool(std::string_view final_name)>& belongs) {
  std::vector<std::string> removed;
  DIR* d = ::opendir(dir.c_str());
  if (!d) return removed;
  while (const dirent* e = ::readdir(d)) {
    const std::optional<AtomicTemporaryName> temp = ParseAtomicTemporaryName(e->d_name);
    if (!temp || !belongs(temp->final_name)) continue;
    const pid_t pid = static_cast<pid_t>(temp->pid);
    if (pid == ::getpid() || ProcessRuns(pid)) continue;
    const std::string path = dir + "/" + e->d_name;
    if (::unlink(path.c_str()) == 0) removed.push_back(path);
  }
  ::closedir(d);
  return removed;
}

namespace {
// One file's identity: device and inode when it exists, else its absolute, normalised path.
struct FileIdentity {
  bool exists = false;
  bool regular = true;  // false for a device or FIFO: no output may take its place
  dev_t device = 0;
  ino_t inode = 0;
  std::string path;
  bool operator==(const FileIdentity& o) const {
    return exists == o.exists && (exists ? device == o.device && inode == o.inode : path == o.path);
  }
};
FileIdentity IdentityOf(const std::string& path) {
  FileIdentity id;
  struct stat st;
  if (::stat(path.c_str(), &st) == 0) {
    id.exists = true;
    id.regular = S_ISREG(st.st_mode);
    id.device = st.st_dev;
    id.inode = st.st_ino;
  }
  std::error_code ec;
  id.path = std::filesystem::absolute(path, ec).lexically_normal().string();
  return id;
}
}  // namespace

Status CheckOutputsAreNotInputs(const std::vector<std::string>& inputs, const std::vector<std::string>& outputs) {
  std::vector<std::pair<std::string, FileIdentity>> seen;
  for (const auto& in : inputs)
    if (!in.empty() && in != "-") seen.emplace_back(in, IdentityOf(in));
  const size_t input_count = seen.size();
  for (const auto& out : outputs) {
    if (out.empty() || out == "-") continue;
    const FileIdentity id = IdentityOf(out);
    // Outputs are committed by a rename, which would put a plain file in place of a device.
    if (!id.regular)
      return InvalidArgument("output '" + out + "' is a device or FIFO, not a file (write to - for standard output)");
    for (size_t i = 0; i < seen.size(); ++i) {
      // A missing output matches an input only by path (the input exists, so by inode too).
      const bool same = id == seen[i].second || (!id.exists && id.path == seen[i].second.path);
      if (!same) continue;
      if (i < input_count)
        return InvalidArgument("output '" + out + "' is the input '" + seen[i].first +
                               "': refusing to overwrite what this command reads");
      return InvalidArgument("outputs '" + seen[i].first + "' and '" + out + "' are the same file");
    }
    seen.emplace_back(out, id);
  }
  return Status::Ok();
}

// ---- Files ------------------------------------------------------------------------------------

Status FsyncPath(const std::string& path, bool is_directory) {
  int fd = ::open(path.c_str(), (is_directory ? O_RDONLY | O_DIRECTORY : O_RDWR) | O_CLOEXEC);
  if (fd < 0) fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return IoErrorFromErrno("opening '" + path + "' to fsync", errno);
  int rc = ::fsync(fd);
  int err = errno;
  ::close(fd);
  if (rc != 0) return IoErrorFromErrno("fsync of '" + path + "'", err);
  return Status::Ok();
}

Status WriteAll(int fd, std::string_view data, const std::string& what) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return IoErrorFromErrno(what, errno);
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  return Status::Ok();
}

Status CopyFileToDescriptor(const std::string& path, int fd) {
  UniqueFd in(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!in.valid()) return IoErrorFromErrno("opening '" + path + "'", errno);
  std::vector<char> buf(1 << 20);
  for (;;) {
    const ssize_t n = ::read(in.get(), buf.data(), buf.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return IoErrorFromErrno("reading '" + path + "'", errno);
    }
    if (n == 0) return Status::Ok();
    CRAMJET_RETURN_IF_ERROR(WriteAll(fd, std::string_view(buf.data(), static_cast<size_t>(n)), "writing"));
  }
}

Status WriteFileAtomically(const std::string& path, std::string_view contents) {
  CRAMJET_ASSIGN_OR_RETURN(AtomicOutput out, AtomicOutput::Create(path));
  int fd = ::open(out.temp_path().c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return IoErrorFromErrno("creating '" + out.temp_path() + "'", errno);
  Status written = WriteAll(fd, contents, "writing '" + path + "'");
  if (!written.ok()) {
    ::close(fd);
    return written;
  }
  if (::close(fd) != 0) return IoErrorFromErrno("closing '" + path + "'", errno);
  return out.Commit();
}

StatusOr<std::string> ReadSmallFile(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return NotFound("'" + path + "': no such file");
    return IoErrorFromErrno("'" + path + "'", errno);
  }
  std::string out;
  char buf[65536];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      int err = errno;
      ::close(fd);
      return IoErrorFromErrno("reading '" + path + "'", err);
    }
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  return out;
}

StatusOr<uint64_t> FileSize(const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) {
    if (errno == ENOENT) return NotFound("'" + path + "': no such file");
    return IoErrorFromErrno("'" + path + "'", errno);
  }
  return static_cast<uint64_t>(st.st_size);
}

Status CheckReadableFile(const std::string& path) {
  if (path == "-") return Status::Ok();
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) {
    if (errno == ENOENT) return NotFound("'" + path + "': no such file");
    return IoErrorFromErrno("'" + path + "'", errno);
  }
  if (S_ISDIR(st.st_mode)) return BadInput("'" + path + "': is a folder, not a file");
  if (::access(path.c_str(), R_OK) != 0) return IoErrorFromErrno("'" + path + "'", errno);
  return Status::Ok();
}

StatusOr<std::string> FileMd5Hex(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return IoErrorFromErrno("opening '" + path + "' for MD5", errno);
  Md5 md5;
  if (!md5.ok()) {
    ::close(fd);
    return Internal("cannot allocate MD5 context");
  }
  std::vector<char> buf(1 << 20);
  for (;;) {
    ssize_t n = ::read(fd, buf.data(), buf.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      int err = errno;
      ::close(fd);
      return IoErrorFromErrno("reading '" + path + "' for MD5", err);
    }
    if (n == 0) break;
    md5.Update(buf.data(), static_cast<size_t>(n));
  }
  ::close(fd);
  return md5.Hex();
}

std::string Md5Hex(std::string_view data) {
  Md5 md5;
  md5.Update(data.data(), data.size());
  return md5.Hex();
}

ThreadPoolPtr MakeThreadPool(int threads) {
  if (threads <= 1) return nullptr;
  return ThreadPoolPtr(hts_tpool_init(threads));
}

Status MarkRegeneratedTags(sam_hdr_t* header) {
  int rc = sam_hdr_count_lines(header, "HD") > 0
               ? sam_hdr_update_hd(header, kRegeneratedTagsKey, kRegeneratedTagsValue)
               : sam_hdr_add_line(header, "HD", "VN", "1.6", kRegeneratedTagsKey, kRegeneratedTagsValue, nullptr);
  if (rc < 0) return Internal("cannot set @HD md");
  return Status::Ok();
}

bool HasRegeneratedTags(const sam_hdr_t* header) {
  kstring_t ks = KS_INITIALIZE;
  bool yes = sam_hdr_find_tag_hd(const_cast<sam_hdr_t*>(header), kRegeneratedTagsKey, &ks) == 0 &&
             std::string_view(ks.s, ks.l) == kRegeneratedTagsValue;
  ks_free(&ks);
  return yes;
}

namespace {
constexpr char kCaseKeptMdTag[3] = "zm";
}  // namespace

Status PrepareRegeneratedTags(bam1_t* b) {
  if (bam_aux_get(b, "cF"))
    return BadInput("carries a cF tag, which CRAM decoders take as their own flags; remove it "
                    "(--drop-tags cF) to compress this file");
  if (bam_aux_get(b, kCaseKeptMdTag))
    return BadInput("carries a zm tag, which cramjet uses for a lower-case MD; remove it "
                    "(--drop-tags zm) to compress this file");
  uint8_t* md = bam_aux_get(b, "MD");
  if (md && md[0] == 'Z') {
    const char* value = reinterpret_cast<const char*>(md + 1);
    bool lower = false;
    for (const char* p = value; *p; ++p) lower |= (*p >= 'a' && *p <= 'z');
    if (lower) {
      std::string keep(value);
      if (bam_aux_del(b, md) < 0 ||
          bam_aux_append(b, kCaseKeptMdTag, 'Z', static_cast<int>(keep.size() + 1),
                         reinterpret_cast<const uint8_t*>(keep.c_str())) < 0)
        return Internal("cannot keep a lower-case MD");
      md = nullptr;
    }
  }
  // What htslib's decoder regenerates: placed, mapped, with bases (cram_decode.c).
  if ((b->core.flag & BAM_FUNMAP) || b->core.tid < 0 || b->core.l_qseq == 0) return Status::Ok();
  uint8_t flags = (md ? 0 : 1) | (bam_aux_get(b, "NM") ? 0 : 2);
  if (flags && bam_aux_append(b, "cF", 'C', 1, &flags) < 0) return Internal("cannot add cF");
  return Status::Ok();
}

Status RestoreRegeneratedTags(bam1_t* b) {
  uint8_t* kept = bam_aux_get(b, kCaseKeptMdTag);
  if (!kept || kept[0] != 'Z') return Status::Ok();
  std::string value(reinterpret_cast<const char*>(kept + 1));
  if (uint8_t* md = bam_aux_get(b, "MD")) (void)bam_aux_del(b, md);
  kept = bam_aux_get(b, kCaseKeptMdTag);
  if (bam_aux_del(b, kept) < 0 ||
      bam_aux_append(b, "MD", 'Z', static_cast<int>(value.size() + 1),
                     reinterpret_cast<const uint8_t*>(value.c_str())) < 0)
    return Internal("cannot restore MD");
  return Status::Ok();
}

std::string HtsErrorHint() {
  return errno ? std::string(std::strerror(errno)) : std::string("htslib reported an error");
}

std::string PrintableExcerpt(std::string_view text, size_t max_bytes) {
  std::string out(text.substr(0, max_bytes));
  for (char& c : out)
    if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) > 0x7e) c = '?';
  return out;
}

bool IsValidUtf8(std::string_view text) {
  size_t i = 0;
  while (i < text.size()) {
    const auto b = static_cast<unsigned char>(text[i]);
    if (b < 0x80) { ++i; continue; }
    int extra;
    uint32_t cp;
    if (b >= 0xc2 && b <= 0xdf) { extra = 1; cp = b & 0x1f; }
    else if (b >= 0xe0 && b <= 0xef) { extra = 2; cp = b & 0x0f; }
    else if (b >= 0xf0 && b <= 0xf4) { extra = 3; cp = b & 0x07; }
    else return false;
    if (i + extra >= text.size()) return false;  // cut off
    for (int k = 1; k <= extra; ++k) {
      const auto c = static_cast<unsigned char>(text[i + k]);
      if ((c & 0xc0) != 0x80) return false;
      cp = (cp << 6) | (c & 0x3f);
    }
    if ((extra == 2 && cp < 0x800) || (extra == 3 && (cp < 0x10000 || cp > 0x10ffff)) || (cp >= 0xd800 && cp <= 0xdfff))
      return false;
    i += extra + 1;
  }
  return true;
}

}  // namespace cramjet
