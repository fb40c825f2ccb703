// The encode stage's reference checks: the FASTA's index is fresh, every @SQ has the M5 of the
// reference's sequence (added where missing, a mismatch refused), and each record's contig is one
// the reference can encode against.
#include <htslib/faidx.h>
#include <htslib/kstring.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cctype>
#include <cstring>

#include "cramjet/log.h"
#include "encode/encode.h"

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

namespace {
// htslib reads a FASTA through its `.fai` without asking whether the `.fai` still describes it: a
// FASTA rewritten after `samtools faidx` is read with the old line offsets, i.e. as other bases.
// A `.fai` older than its FASTA is therefore built again (it is derived data, as when missing).
Status RefreshStaleFai(const std::string& reference) {
  struct stat fasta, fai;
  if (::stat(reference.c_str(), &fasta) != 0 || ::stat((reference + ".fai").c_str(), &fai) != 0)
    return Status::Ok();  // no .fai: fai_load builds it
  const bool older = fai.st_mtim.tv_sec < fasta.st_mtim.tv_sec ||
                     (fai.st_mtim.tv_sec == fasta.st_mtim.tv_sec && fai.st_mtim.tv_nsec < fasta.st_mtim.tv_nsec);
  if (!older) return Status::Ok();
  CJ_LOG(kInfo) << "'" << reference << ".fai' is older than '" << reference << "': building it again";
  if (fai_build(reference.c_str()) != 0)
    return IoError("'" + reference + ".fai' is older than '" + reference + "' and cannot be built again");
  return Status::Ok();
}

// ContigMd5 of contig `name` (`length` bases) read from the FASTA through `fai`.
StatusOr<std::string> FetchContigMd5(faidx_t* fai, const std::string& reference, const char* name,
                                     hts_pos_t length) {
  hts_pos_t got = 0;
  char* seq = faidx_fetch_seq64(fai, name, 0, length - 1, &got);
  if (!seq) return IoError("'" + reference + "': cannot read contig '" + name + "'");
  std::string md5 = ContigMd5(seq, got);
  free(seq);
  return md5;
}
}  // namespace

Status PrepareReference(const std::string& reference, sam_hdr_t* header, const std::string& input_name,
                        std::vector<std::string>* unusable,
                        const std::unordered_map<std::string, std::string>* known_md5s) {
  if (reference.empty()) return InvalidArgument("a reference FASTA is required (-T/--reference)");
  CRAMJET_RETURN_IF_ERROR(CheckReadableFile(reference));
  CRAMJET_RETURN_IF_ERROR(RefreshStaleFai(reference));
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
    const std::string* known = nullptr;
    if (known_md5s) {
      const auto it = known_md5s->find(name);
      if (it != known_md5s->end()) known = &it->second;
    }
    std::string md5;
    if (known) {
      md5 = *known;
    } else {
      CRAMJET_ASSIGN_OR_RETURN(md5, FetchContigMd5(fai.get(), reference, name, have_len));
    }
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

Status CheckReferenceDigests(const std::string& reference,
                             const std::unordered_map<std::string, std::string>& expected,
                             const std::atomic<bool>* cancel) {
  FaiPtr fai(fai_load(reference.c_str()));
  if (!fai) return BadInput("'" + reference + "': cannot load as a FASTA reference");
  // In FASTA order, so that the check reads the file front to back.
  for (int i = 0; i < faidx_nseq(fai.get()); ++i) {
    if (cancel && cancel->load()) return Aborted("reference check stopped");
    const char* name = faidx_iseq(fai.get(), i);
    const auto want = expected.find(name);
    if (want == expected.end()) continue;
    CRAMJET_ASSIGN_OR_RETURN(const std::string md5,
                             FetchContigMd5(fai.get(), reference, name, faidx_seq_len(fai.get(), name)));
    if (md5 != want->second)
      return FailedPrecondition("'" + reference + "': contig '" + name + "' has MD5 " + md5 + ", not the " +
                                want->second + " its mapper index recorded: the FASTA changed after it was " +
                                "indexed (its size and modification time did not); run `cramjet index " +
                                reference + "`");
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


}  // namespace cramjet
