// The encode stage: reference checks, @PG, and the htslib CRAM writer.
#include "encode/encode.h"

#include <htslib/hfile.h>
#include <htslib/faidx.h>
#include <htslib/kstring.h>
#include <limits.h>
#include <stdlib.h>

#include <cctype>
#include <cstring>
#include <map>

#include "cramjet/log.h"
#include "cramjet/version.h"

namespace cramjet {
namespace {

struct FaiDeleter { void operator()(faidx_t* f) const { if (f) fai_destroy(f); } };
using FaiPtr = std::unique_ptr<faidx_t, FaiDeleter>;

// MD5 as @SQ M5 defines it: upper-cased, characters outside 33..126 removed.
std::string ContigMd5(const char* seq, hts_pos_t len) {
  std::string clean;
  clean.reserve(static_cast<size_t>(len));
  for (hts_pos_t i = 0; i < len; ++i) {
    unsigned char c = static_cast<unsigned char>(seq[i]);
    if (c < 33 || c > 126) continue;
    clean.push_back(static_cast<char>(std::toupper(c)));
  }
  return Md5Hex(clean);
}

std::string HeaderTag(sam_hdr_t* h, const char* type, const char* id_key, const char* id,
                      const char* key) {
  kstring_t ks = {0, 0, nullptr};
  std::string out;
  if (sam_hdr_find_tag_id(h, type, id_key, id, key, &ks) == 0) out.assign(ks.s, ks.l);
  free(ks.s);
  return out;
}

}  // namespace

const char* CramProfileName(CramProfile profile) {
  switch (profile) {
    case CramProfile::kFast: return "fast";
    case CramProfile::kNormal: return "normal";
    case CramProfile::kSmall: return "small";
    case CramProfile::kArchive: return "archive";
  }
  return "normal";
}

StatusOr<CramProfile> ParseCramProfile(const std::string& name) {
  if (name == "fast") return CramProfile::kFast;
  if (name == "normal") return CramProfile::kNormal;
  if (name == "small") return CramProfile::kSmall;
  if (name == "archive") return CramProfile::kArchive;
  return InvalidArgument("unknown CRAM profile '" + name + "' (fast, normal, small or archive)");
}

Status PrepareReference(const std::string& reference, sam_hdr_t* header,
                        const std::string& input_name, std::vector<std::string>* unusable) {
  if (reference.empty()) return InvalidArgument("a reference FASTA is required (-T/--reference)");
  CRAMJET_RETURN_IF_ERROR(CheckReadableFile(reference));
  // fai_load builds the .fai (and .gzi for bgzip) when missing.
  FaiPtr fai(fai_load(reference.c_str()));
  if (!fai) {
    return BadInput("'" + reference + "': cannot load as a FASTA reference (plain or bgzip "
                    "compressed; a .fai index is built beside it when missing, so its folder "
                    "must be writable if there is none)");
  }
  char abs[PATH_MAX];
  std::string ur = std::string("file://") + (realpath(reference.c_str(), abs) ? abs : reference.c_str());
  int n = sam_hdr_nref(header);
  unusable->assign(static_cast<size_t>(n), std::string());
  for (int tid = 0; tid < n; ++tid) {
    const char* name = sam_hdr_tid2name(header, tid);
    hts_pos_t want_len = sam_hdr_tid2len(header, tid);
    std::string& why = (*unusable)[static_cast<size_t>(tid)];
    if (!faidx_has_seq(fai.get(), name)) {
      why = "'" + reference + "': reference lacks contig '" + name + "'";
      continue;
    }
    hts_pos_t have_len = faidx_seq_len(fai.get(), name);
    if (have_len != want_len) {
      why = "'" + reference + "': contig '" + name + "' has length " + std::to_string(have_len) +
            " but the input's header says " + std::to_string(want_len);
      continue;
    }
    hts_pos_t len = 0;
    char* seq = faidx_fetch_seq64(fai.get(), name, 0, have_len - 1, &len);
    if (!seq) return IoError("'" + reference + "': cannot read contig '" + name + "'");
    std::string md5 = ContigMd5(seq, len);
    free(seq);
    std::string given = HeaderTag(header, "SQ", "SN", name, "M5");
    if (!given.empty() && given != md5) {
      return FailedPrecondition("'" + reference + "': contig '" + name + "' has MD5 " + md5 +
                                " but '" + input_name + "' says M5:" + given +
                                ": not the reference the input was aligned to");
    }
    if (sam_hdr_update_line(header, "SQ", "SN", name, "M5", md5.c_str(), "UR", ur.c_str(),
                            nullptr) < 0)
      return Internal("cannot update @SQ for '" + std::string(name) + "'");
  }
  return Status::Ok();
}

Status CheckRecordReference(const bam1_t* record, const std::vector<std::string>& unusable,
                            const std::string& input_name, uint64_t record_number) {
  int tid = record->core.tid;
  if (tid < 0 || (record->core.flag & BAM_FUNMAP) || unusable[static_cast<size_t>(tid)].empty())
    return Status::Ok();
  return BadInput(unusable[static_cast<size_t>(tid)] + ", and record " +
                  std::to_string(record_number) + " ('" + bam_get_qname(record) + "') of '" +
                  input_name + "' is placed on it");
}

// ---- CramWriter -----------------------------------------------------------------------------

StatusOr<std::unique_ptr<CramWriter>> CramWriter::Open(const std::string& path, sam_hdr_t* header,
                                                       const EncodeOptions& options) {
  if (options.cram_version != "3.0" && options.cram_version != "3.1") {
    return InvalidArgument("unsupported CRAM version '" + options.cram_version + "' (3.0 or 3.1)");
  }
  std::unique_ptr<CramWriter> w(new CramWriter());
  w->path_ = path;
  w->header_ = header;
  hFILE* raw = hopen(path.c_str(), "w");
  if (!raw) return IoErrorFromErrno("'" + path + "': cannot create", errno);
  const std::string id_name = options.file_name.empty() ? BaseName(path) : options.file_name;
  w->fp_ = hts_hopen(raw, id_name.c_str(), "wc");
  if (!w->fp_) {
    const int e = errno;
    hclose_abruptly(raw);
    return IoErrorFromErrno("'" + path + "': cannot create", e ? e : EIO);
  }
  hts_set_opt(w->fp_, CRAM_OPT_VERSION, options.cram_version.c_str());
  hts_set_opt(w->fp_, HTS_OPT_PROFILE, static_cast<int>(options.profile) + HTS_PROFILE_FAST -
                                           static_cast<int>(CramProfile::kFast));
  // MD/NM exactly as given: never dropped for being derivable, never invented on decode.
  hts_set_opt(w->fp_, CRAM_OPT_STORE_MD, 1);
  hts_set_opt(w->fp_, CRAM_OPT_STORE_NM, 1);
  if (hts_set_fai_filename(w->fp_, options.reference.c_str()) != 0)
    return BadInput("'" + options.reference + "': cannot use as the CRAM reference");
  if (options.pool) {
    if (!options.share_pool) w->own_pool_.reset(hts_tpool_init(1));
    htsThreadPool p = {options.share_pool ? options.pool : w->own_pool_.get(), 0};
    hts_set_opt(w->fp_, HTS_OPT_THREAD_POOL, &p);
  }
  std::string cl = options.command_line.empty() ? "cramjet" : options.command_line;
  if (sam_hdr_add_pg(header, "cramjet", "VN", Version(), "CL", cl.c_str(), "DS",
                     LibraryVersions().c_str(), nullptr) < 0)
    return Internal("cannot add @PG");
  if (sam_hdr_write(w->fp_, header) < 0)
    return IoErrorFromErrno("'" + path + "': cannot write the CRAM header", errno);
  return w;
}

CramWriter::~CramWriter() {
  if (fp_) sam_close(fp_);
}

Status CramWriter::Write(const bam1_t* record) {
  if (sam_write1(fp_, header_, record) < 0) {
    return IoErrorFromErrno("'" + path_ + "': cannot write record '" +
                                std::string(bam_get_qname(record)) + "'",
                            errno ? errno : EIO);
  }
  return Status::Ok();
}

Status CramWriter::Close() {
  errno = 0;
  int rc = sam_close(fp_);
  fp_ = nullptr;
  if (rc < 0) return IoErrorFromErrno("'" + path_ + "': cannot finish writing", errno ? errno : EIO);
  return Status::Ok();
}

}  // namespace cramjet
