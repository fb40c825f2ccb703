// Opening SAM/BAM/CRAM files with htslib: one set of checks and errors for every stage.
#include "common/alignment_file.h"

#include <htslib/hts.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "cramjet/log.h"

namespace cramjet {

namespace {
std::string Quoted(const std::string& path) { return "'" + path + "'"; }
bool IsAlignmentFormat(enum htsExactFormat f) { return f == sam || f == bam || f == cram; }
}  // namespace

bool AlignmentFile::is_cram() const { return file && hts_get_format(file.get())->format == cram; }

StatusOr<AlignmentFile> OpenAlignmentFile(const std::string& path, const AlignmentOpenOptions& options) {
  CRAMJET_RETURN_IF_ERROR(CheckReadableFile(path));
  CRAMJET_ASSIGN_OR_RETURN(uint64_t size, FileSize(path));
  if (size == 0) return BadInput(Quoted(path) + ": empty file, not SAM/BAM/CRAM");
  const std::string& reference = options.reference;
  if (!reference.empty()) {
    Status ref_ok = CheckReadableFile(reference);
    if (!ref_ok.ok()) return ref_ok.WithContext("reference");
  }
  AlignmentFile f;
  f.path = path;
  f.reference = reference;
  errno = 0;
  f.file.reset(hts_open(path.c_str(), "r"));
  if (!f.file)
    return BadInput(Quoted(path) + ": cannot open as SAM/BAM/CRAM" +
                    (errno ? std::string(": ") + std::strerror(errno) : std::string()));
  const htsFormat* format = hts_get_format(f.file.get());
  if (!IsAlignmentFormat(format->format)) {
    char* description = hts_format_description(format);
    std::string what = description ? description : "unknown format";
    std::free(description);
    return BadInput(Quoted(path) + ": not SAM/BAM/CRAM (looks like " + what + ")");
  }
  if (format->format == cram) {
    // No MD/NM generation unless the header asks for it (below): a proof must see exactly the
    // tags the input had, and aligned input is re-encoded exactly as given.
    if (!options.htslib_default_md_nm && hts_set_opt(f.file.get(), CRAM_OPT_DECODE_MD, 0) != 0)
      return Internal(Quoted(path) + ": cannot turn off MD/NM generation");
    if (!reference.empty() && hts_set_opt(f.file.get(), CRAM_OPT_REFERENCE, reference.c_str()) != 0)
      return BadInput(Quoted(path) + ": cannot use reference '" + reference + "'");
  }
  // A BGZF or CRAM file without its EOF block was cut short; htslib only warns at close.
  if (format->format != sam || format->compression == bgzf) {
    const int eof = hts_check_EOF(f.file.get());
    if (eof == 0)
      return BadInput(Quoted(path) +
                      ": the end-of-file marker is missing: the file is truncated or was not closed");
    if (eof < 0) return IoErrorFromErrno(Quoted(path) + ": cannot check the end-of-file marker", errno);
  }
  hts_tpool* pool = options.shared_pool;
  if (!pool && options.threads > 1) {
    f.pool = MakeThreadPool(options.threads);
    pool = f.pool.get();
  }
  if (pool) {
    htsThreadPool tp = {pool, 0};
    if (hts_set_opt(f.file.get(), HTS_OPT_THREAD_POOL, &tp) != 0) {
      CJ_LOG(kWarning) << Quoted(path) << ": could not attach the thread pool; decoding on one thread";
    }
  }
  f.header.reset(sam_hdr_read(f.file.get()));
  if (!f.header)
    return BadInput(Quoted(path) + ": cannot read the header (corrupt or not " +
                    std::string(hts_format_file_extension(format)) + ")");
  f.regenerated = format->format == cram && HasRegeneratedTags(f.header.get());
  if (f.regenerated && hts_set_opt(f.file.get(), CRAM_OPT_DECODE_MD, 1) != 0)
    return Internal(Quoted(path) + ": cannot turn on MD/NM generation");
  return f;
}

StatusOr<bool> ReadAlignmentRecord(AlignmentFile& f, bam1_t* record, uint64_t records_read) {
  const int r = sam_read1(f.file.get(), f.header.get(), record);
  if (r >= 0) {
    if (f.regenerated) CRAMJET_RETURN_IF_ERROR(RestoreRegeneratedTags(record));
    return true;
  }
  if (r == -1) return false;
  std::string message = Quoted(f.path) + ": record " + std::to_string(records_read + 1) +
                        ": cannot decode (corrupt or truncated data";
  if (f.is_cram() && f.reference.empty()) message += ", or the reference it needs is not available";
  return BadInput(message + ")");
}

}  // namespace cramjet
