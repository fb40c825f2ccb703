// Opening SAM/BAM/CRAM files with htslib: one set of checks and errors for every stage.
#include "common/alignment_file.h"
#include "common/cram_containers.h"
#include "common/stdin_input.h"

#include <unistd.h>

#include <htslib/bgzf.h>
#include <htslib/hts.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <map>
#include <vector>

#include "cramjet/log.h"

namespace cramjet {

namespace {
// Standard input is named as the user gave it, also when it was spooled (stdin_input.h).
std::string Quoted(const std::string& path) {
  if (IsStdinPath(path) || (!path.empty() && path == StdinSpoolPath())) return "'-' (standard input)";
  return "'" + path + "'";
}
bool IsAlignmentFormat(enum htsExactFormat f) { return f == sam || f == bam || f == cram; }
}  // namespace

bool AlignmentFile::is_cram() const { return file && hts_get_format(file.get())->format == cram; }

StatusOr<AlignmentFile> OpenAlignmentFile(const std::string& input, const AlignmentOpenOptions& options) {
  // "-": SAM or BAM read from standard input as it arrives; a CRAM there was spooled to a file
  // first (stdin_input.h) and is checked and opened as one.
  const bool stream = IsStdinPath(input) && StdinSpoolPath().empty();
  const std::string path = ResolveInputPath(input);
  if (!stream) {
    CRAMJET_RETURN_IF_ERROR(CheckReadableFile(path));
    CRAMJET_ASSIGN_OR_RETURN(uint64_t size, FileSize(path));
    if (size == 0) return BadInput(Quoted(path) + ": empty file, not SAM/BAM/CRAM");
  }
  const std::string& reference = options.reference;
  if (!reference.empty()) {
    Status ref_ok = CheckReadableFile(reference);
    if (!ref_ok.ok()) return ref_ok.WithContext("reference");
  }
  // Before htslib allocates what the file says.
  if (!stream) CRAMJET_RETURN_IF_ERROR(options.header_only ? CheckCramFileStart(path) : CheckCramSliceCounts(path));
  AlignmentFile f;
  f.path = path;
  f.reference = reference;
  f.stream = stream;
  errno = 0;
  if (stream) {
    CRAMJET_ASSIGN_OR_RETURN(hFILE* h, TakeStdinStream());
    f.file.reset(hts_hopen(h, "-", "r"));
    if (!f.file) hclose_abruptly(h);
  } else {
    f.file.reset(hts_open(path.c_str(), "r"));
  }
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
  // A BGZF or CRAM file without its EOF block was cut short; htslib only warns at close. (A
  // stream cannot be checked before it is read: ReadAlignmentRecord checks at its end.)
  if (!stream && (format->format != sam || format->compression == bgzf)) {
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

namespace {

// htslib's expansion of a REF_PATH / REF_CACHE element for an MD5: "%2s" takes the next two
// characters, "%s" the rest; an element without '%' is a folder holding files named by MD5.
std::string ExpandReferencePattern(const std::string& pattern, const std::string& md5) {
  if (pattern.find('%') == std::string::npos) return pattern + "/" + md5;
  std::string out;
  size_t used = 0;
  for (size_t i = 0; i < pattern.size(); ++i) {
    if (pattern[i] == '%' && i + 1 < pattern.size()) {
      size_t width = std::string::npos, j = i + 1;
      if (j < pattern.size() && pattern[j] >= '0' && pattern[j] <= '9') width = size_t(pattern[j++] - '0');
      if (j < pattern.size() && pattern[j] == 's') {
        out += md5.substr(std::min(used, md5.size()), width);
        used = width == std::string::npos ? md5.size() : used + width;
        i = j;
        continue;
      }
    }
    out += pattern[i];
  }
  return out;
}

std::vector<std::string> SplitReferencePath(const std::string& value) {
  // ':' separates elements, except in "http://" / "https://" (htslib joins them back the same way).
  std::vector<std::string> parts, out;
  size_t start = 0;
  for (size_t i = 0; i <= value.size(); ++i)
    if (i == value.size() || value[i] == ':') {
      parts.push_back(value.substr(start, i - start));
      start = i + 1;
    }
  for (size_t i = 0; i < parts.size(); ++i) {
    if ((parts[i] == "http" || parts[i] == "https" || parts[i] == "ftp") && i + 1 < parts.size()) {
      out.push_back(parts[i] + ":" + parts[i + 1]);
      ++i;
    } else if (!parts[i].empty()) {
      out.push_back(parts[i]);
    }
  }
  return out;
}

bool IsRemote(const std::string& element) { return element.find("://") != std::string::npos; }

// Names in a FASTA index with their lengths (REF.fa.fai), for a reference given with -T.
std::map<std::string, uint64_t> FaiContigs(const std::string& reference) {
  std::map<std::string, uint64_t> contigs;
  auto text = ReadSmallFile(reference + ".fai");
  if (!text.ok()) return contigs;
  size_t start = 0;
  while (start < text->size()) {
    size_t end = text->find('\n', start);
    if (end == std::string::npos) end = text->size();
    const std::string line = text->substr(start, end - start);
    const size_t tab = line.find('\t');
    if (tab != std::string::npos) {
      const size_t tab2 = line.find('\t', tab + 1);
      contigs[line.substr(0, tab)] = ParseDecimal(line.substr(tab + 1, tab2 - tab - 1)).value_or(0);
    }
    start = end + 1;
  }
  return contigs;
}

}  // namespace

std::string LocalReferenceForMd5(const std::string& md5) {
  if (md5.empty()) return "";
  if (const char* ref_cache = std::getenv("REF_CACHE"); ref_cache && *ref_cache) {
    const std::string candidate = ExpandReferencePattern(ref_cache, md5);
    if (::access(candidate.c_str(), R_OK) == 0) return candidate;
  }
  if (const char* ref_path = std::getenv("REF_PATH"); ref_path && *ref_path) {
    for (const std::string& element : SplitReferencePath(ref_path)) {
      if (IsRemote(element)) continue;
      const std::string candidate = ExpandReferencePattern(element, md5);
      if (::access(candidate.c_str(), R_OK) == 0) return candidate;
    }
  }
  return "";
}

std::string MissingCramReference(const AlignmentFile& f) {
  if (!f.is_cram() || !f.header) return "";
  const char* ref_cache = std::getenv("REF_CACHE");
  const char* ref_path = std::getenv("REF_PATH");
  const std::map<std::string, uint64_t> given = f.reference.empty() ? std::map<std::string, uint64_t>() : FaiContigs(f.reference);
  kstring_t ks = KS_INITIALIZE;
  auto tag = [&](int i, const char* name) {
    return sam_hdr_find_tag_pos(f.header.get(), "SQ", i, name, &ks) == 0 ? std::string(ks.s) : std::string();
  };
  std::string missing;
  const int n_sq = sam_hdr_count_lines(f.header.get(), "SQ");
  for (int i = 0; i < n_sq && missing.empty(); ++i) {
    const std::string sn = tag(i, "SN"), md5 = tag(i, "M5"), ur = tag(i, "UR"), ln = tag(i, "LN");
    if (!f.reference.empty()) {
      auto it = given.find(sn);
      if (given.empty()) break;  // no .fai to read: htslib's own error stands
      if (it == given.end()) {
        missing = "@SQ SN:" + sn + " is not in the reference given with -T ('" + f.reference + "')";
      } else if (const auto length = ParseDecimal(ln); length && *length != it->second) {
        missing = "@SQ SN:" + sn + " LN:" + ln + " is " + std::to_string(it->second) + " bases long in the reference given with -T ('" +
                  f.reference + "'): not the reference this CRAM was made with";
      }
      continue;
    }
    std::vector<std::string> looked;
    bool found = false;
    std::string ur_path = ur.rfind("file://", 0) == 0 ? ur.substr(7) : ur.rfind("file:", 0) == 0 ? ur.substr(5) : ur;
    if (!ur_path.empty() && !IsRemote(ur_path)) {
      if (::access(ur_path.c_str(), R_OK) == 0) found = true;
      else looked.push_back("UR " + ur_path + " (no such file)");
    }
    if (!found && !md5.empty()) {
      if (ref_cache && *ref_cache) {
        const std::string candidate = ExpandReferencePattern(ref_cache, md5);
        if (::access(candidate.c_str(), R_OK) == 0) found = true;
        else looked.push_back("REF_CACHE " + candidate);
      } else {
        looked.push_back("REF_CACHE (not set)");
      }
      bool remote = false;
      if (!found && ref_path && *ref_path) {
        for (const std::string& element : SplitReferencePath(ref_path)) {
          if (IsRemote(element)) {
            remote = true;
            continue;
          }
          const std::string candidate = ExpandReferencePattern(element, md5);
          if (::access(candidate.c_str(), R_OK) == 0) found = true;
          else looked.push_back("REF_PATH " + candidate);
        }
      } else if (!found) {
        looked.push_back("REF_PATH (not set: htslib 1.16 would ask the EBI server)");
      }
      if (!found && remote) found = true;  // a server may have it: htslib's own error stands
    }
    if (!found) {
      missing = "the reference of @SQ SN:" + sn + (md5.empty() ? "" : " M5:" + md5) + (ur.empty() ? "" : " UR:" + ur) +
                " is not available; looked in: -T (not given)";
      for (const std::string& place : looked) missing += ", " + place;
      missing += ". Give it with -T REF.fa, or put it where REF_PATH points (REF_PATH=/refs/%2s/%2s/%s, files named by M5)";
    }
  }
  ks_free(&ks);
  return missing;
}

StatusOr<bool> ReadAlignmentRecord(AlignmentFile& f, bam1_t* record, uint64_t records_read) {
  const int r = sam_read1(f.file.get(), f.header.get(), record);
  if (r >= 0) {
    if (f.regenerated) CRAMJET_RETURN_IF_ERROR(RestoreRegeneratedTags(record));
    return true;
  }
  if (r == -1) {
    const htsFile* fp = f.file.get();
    if (f.stream && fp->format.compression == bgzf && fp->fp.bgzf->no_eof_block)
      return BadInput(Quoted(f.path) + ": after record " + std::to_string(records_read) +
                      ": the end-of-file marker is missing: the stream was cut short");
    return false;
  }
  const std::string where = Quoted(f.path) + ": record " + std::to_string(records_read + 1) + ": cannot decode: ";
  // One cause, one message, in every command that decodes: a reference that cannot be found is
  // named with where it was looked for; only then is the data called damaged.
  if (const std::string missing = MissingCramReference(f); !missing.empty())
    return FailedPrecondition(where + missing);
  return BadInput(where + "the data is corrupt or truncated");
}

}  // namespace cramjet
