// Standard input as an input ("-"): opened once, sniffed without consuming, CRAM spooled.
#include "common/stdin_input.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <mutex>

#include <zlib.h>

#include "common/common.h"

// Exported by libhts but declared in hfile.h only inside an inline function.
extern "C" int hfile_set_blksize(hFILE* fp, size_t bufsiz);

namespace cramjet {
namespace {

// How much of standard input can be looked at before it is read: its first records, long reads
// (a 100 kb read and its qualities) included. The stream's buffer is made this large, since a
// peek never returns more than the buffer holds (a pipe's default: 4 KiB).
constexpr size_t kPeekBytes = 4u << 20;

// The process has one standard input: its state lives here, guarded by a mutex (the CLI reads
// it from one thread, but nothing stops a library user from asking twice at once).
struct StdinState {
  std::mutex mu;
  bool opened = false;
  Status open_status = Status::Ok();
  hFILE* stream = nullptr;  // until taken
  bool taken = false;
  htsFormat format{};
  std::string spool_path;   // a CRAM, copied whole
  int spool_fd = -1;        // kept open for the process: the file is unlinked
};

StdinState& State() {
  static StdinState* state = new StdinState;  // never destroyed: a reader may use it at exit
  return *state;
}

// Copies the rest of `in` into an unlinked file in $TMPDIR (or /tmp) and names it by /proc.
Status Spool(StdinState& s) {
  const char* tmp = std::getenv("TMPDIR");
  const std::string dir = tmp && *tmp ? tmp : "/tmp";
  int fd = ::open(dir.c_str(), O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
  if (fd < 0) {
    // File systems without O_TMPFILE: a named file, unlinked at once.
    std::string name = dir + "/cramjet-stdin.XXXXXX";
    fd = ::mkostemp(name.data(), O_CLOEXEC);
    if (fd < 0) return IoErrorFromErrno("standard input: cannot make a temporary file in '" + dir + "'", errno);
    ::unlink(name.c_str());
  }
  char buf[1 << 16];
  for (;;) {
    const ssize_t n = hread(s.stream, buf, sizeof buf);
    if (n < 0) {
      ::close(fd);
      return IoErrorFromErrno("standard input: read error", errno);
    }
    if (n == 0) break;
    Status written = WriteAll(fd, std::string_view(buf, static_cast<size_t>(n)),
                              "standard input: cannot copy the CRAM to '" + dir + "'");
    if (!written.ok()) {
      ::close(fd);
      return written;
    }
  }
  if (hclose(s.stream) != 0) {
    s.stream = nullptr;
    ::close(fd);
    return IoError("standard input: read error at its end");
  }
  s.stream = nullptr;
  s.spool_fd = fd;
  s.spool_path = "/proc/self/fd/" + std::to_string(fd);
  return Status::Ok();
}

Status OpenOnce(StdinState& s) {
  if (s.opened) return s.open_status;
  s.opened = true;
  // A duplicate, so that closing the stream leaves descriptor 0 itself alone.
  const int fd = ::fcntl(0, F_DUPFD_CLOEXEC, 3);
  if (fd < 0) return s.open_status = IoErrorFromErrno("standard input", errno);
  s.stream = hdopen(fd, "r");
  if (!s.stream) {
    const int e = errno;
    ::close(fd);
    return s.open_status = IoErrorFromErrno("standard input", e);
  }
  if (hfile_set_blksize(s.stream, kPeekBytes) != 0) return s.open_status = Internal("standard input: out of memory");
  if (hts_detect_format2(s.stream, "-", &s.format) < 0)
    return s.open_status = IoErrorFromErrno("standard input: cannot read", errno);
  // An empty stream reads as "unknown format" with nothing peeked.
  char first;
  if (hpeek(s.stream, &first, 1) <= 0) return s.open_status = BadInput("'-' (standard input): empty, no reads");
  if (s.format.format == cram) s.open_status = Spool(s);
  return s.open_status;
}

}  // namespace

StatusOr<htsFormat> DetectStdinFormat() {
  StdinState& s = State();
  std::lock_guard<std::mutex> lock(s.mu);
  CRAMJET_RETURN_IF_ERROR(OpenOnce(s));
  return s.format;
}

StatusOr<hFILE*> TakeStdinStream() {
  StdinState& s = State();
  std::lock_guard<std::mutex> lock(s.mu);
  CRAMJET_RETURN_IF_ERROR(OpenOnce(s));
  if (!s.spool_path.empty()) return Internal("standard input was spooled: open '" + s.spool_path + "'");
  if (s.taken) return InvalidArgument("'-' (standard input) can be read only once: give it as one input only");
  s.taken = true;
  hFILE* stream = s.stream;
  s.stream = nullptr;
  return stream;
}

StatusOr<std::string> PeekStdinText(size_t n) {
  StdinState& s = State();
  std::lock_guard<std::mutex> lock(s.mu);
  CRAMJET_RETURN_IF_ERROR(OpenOnce(s));
  if (!s.stream) return std::string();  // taken or spooled: the format is known by then
  std::string raw(kPeekBytes, '\0');
  const ssize_t got = hpeek(s.stream, raw.data(), raw.size());
  if (got < 0) return IoErrorFromErrno("standard input: cannot read", errno);
  raw.resize(static_cast<size_t>(got));
  if (s.format.compression == no_compression) return raw.substr(0, n);
  // gzip and BGZF (a gzip member each block): zlib with header detection, as far as it goes.
  std::string out(n, '\0');
  z_stream z{};
  if (inflateInit2(&z, 15 + 32) != Z_OK) return Internal("zlib: inflateInit2 failed");
  z.next_in = reinterpret_cast<Bytef*>(raw.data());
  z.avail_in = static_cast<uInt>(raw.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  const int r = inflate(&z, Z_SYNC_FLUSH);
  const size_t produced = out.size() - z.avail_out;
  inflateEnd(&z);
  if (r != Z_OK && r != Z_STREAM_END && r != Z_BUF_ERROR)
    return BadInput("'-' (standard input): cannot decompress: the stream is corrupt");
  out.resize(produced);
  return out;
}

std::string StdinSpoolPath() {
  StdinState& s = State();
  std::lock_guard<std::mutex> lock(s.mu);
  return s.spool_path;
}

}  // namespace cramjet
