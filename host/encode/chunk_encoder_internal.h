// host/encode/chunk_encoder_internal.h — internal to the encode stage: one lane's htslib CRAM
// writer (CramWriter in encode.cc runs up to kEncodeLanes of them, docs/design.md).
#pragma once

#include <fcntl.h>
#include <htslib/hfile.h>
#include <htslib/sam.h>
#include <sys/mman.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "encode/encode.h"

namespace cramjet::encode_internal {

// An htslib CRAM writer of its own on an anonymous memory file: one per lane (and one for the rest
// of the input in streaming mode). What it wrote is read back and its memory released.
class ChunkEncoder {
 public:
  ChunkEncoder() = default;
  ChunkEncoder(const ChunkEncoder&) = delete;
  ChunkEncoder& operator=(const ChunkEncoder&) = delete;
  ~ChunkEncoder() {
    if (fp_) sam_close(fp_);
    if (fd_ >= 0) ::close(fd_);
  }

  // `header` is this encoder's own copy. `preamble` gets the file definition and header container.
  // `lane`: a lane's writer (see CramWriter) rather than the one of streaming mode.
  Status Open(HeaderPtr header, const EncodeOptions& o, const std::string& id_name, bool lane,
              std::string* preamble) {
    header_ = std::move(header);
    fd_ = ::memfd_create("cramjet-encode", MFD_CLOEXEC);
    if (fd_ < 0) return IoErrorFromErrno("cannot create an encoding buffer", errno);
    int handed = ::dup(fd_);
    if (handed < 0) return IoErrorFromErrno("cannot create an encoding buffer", errno);
    raw_ = hdopen(handed, "w");
    if (!raw_) {
      ::close(handed);
      return IoErrorFromErrno("cannot create an encoding buffer", errno);
    }
    fp_ = hts_hopen(raw_, id_name.c_str(), "wc");
    if (!fp_) {
      hclose_abruptly(raw_);
      raw_ = nullptr;
      return Internal("cannot start a CRAM encoder");
    }
    hts_set_opt(fp_, CRAM_OPT_VERSION, o.cram_version.c_str());
    hts_set_opt(fp_, HTS_OPT_PROFILE, static_cast<int>(o.profile) + HTS_PROFILE_FAST -
                                          static_cast<int>(CramProfile::kFast));
    // MD/NM exactly as given, or left out where htslib regenerates the same (common.h).
    hts_set_opt(fp_, CRAM_OPT_STORE_MD, o.regenerate_md_nm ? 0 : 1);
    hts_set_opt(fp_, CRAM_OPT_STORE_NM, o.regenerate_md_nm ? 0 : 1);
    if (lane) {
      // A lane's containers end where its chunks do (StartChunk), never by htslib's own limits:
      // room for the largest chunk, no bases limit, and no automatic multi-reference containers
      // (ChunkRule ends a chunk at every new contig instead).
      const ChunkRule rule = ChunkRuleFor(o.profile, o.container_records);
      if (hts_set_opt(fp_, CRAM_OPT_SEQS_PER_SLICE, static_cast<int>(rule.max_records)) != 0 ||
          hts_set_opt(fp_, CRAM_OPT_BASES_PER_SLICE, INT_MAX) != 0 ||
          hts_set_opt(fp_, CRAM_OPT_MULTI_SEQ_PER_SLICE, 0) != 0)
        return Internal("cannot set the CRAM container size");
    } else if (o.container_records) {
      // As the profile does for its own figure: bases per slice follow records per slice.
      hts_set_opt(fp_, CRAM_OPT_SEQS_PER_SLICE, static_cast<int>(o.container_records));
      hts_set_opt(fp_, CRAM_OPT_BASES_PER_SLICE, static_cast<int>(500 * o.container_records));
    }
    if (hts_set_fai_filename(fp_, o.reference.c_str()) != 0)
      return BadInput("'" + o.reference + "': cannot use as the CRAM reference");
    if (sam_hdr_write(fp_, header_.get()) < 0) return Internal("cannot write the CRAM header");
    return TakeWritten(preamble);
  }

  Status Add(const bam1_t* b) {
    if (sam_write1(fp_, header_.get(), b) < 0)
      return Internal("cannot encode record '" + std::string(bam_get_qname(b)) + "'" +
                      HtsErrorHint());
    return Status::Ok();
  }

  // Adds the first record of a lane's next chunk and ends the container before it: htslib ends
  // a container when a record arrives and the container holds at least bases-per-slice bases,
  // so that limit is 0 for this one record. The previous container is then written.
  Status StartChunk(const bam1_t* b) {
    if (hts_set_opt(fp_, CRAM_OPT_BASES_PER_SLICE, 0) != 0)
      return Internal("cannot end a CRAM container");
    Status s = Add(b);
    if (hts_set_opt(fp_, CRAM_OPT_BASES_PER_SLICE, INT_MAX) != 0 && s.ok())
      s = Internal("cannot end a CRAM container");
    return s;
  }

  // The whole containers written since the last call (htslib writes each one when it is full).
  Status TakeWritten(std::string* out) {
    if (hflush(raw_) != 0) return IoErrorFromErrno("cannot fill an encoding buffer", errno);
    return ReadNew(out);
  }

  // Writes the last container and the EOF container, closes, and returns what is left unread.
  Status Finish(std::string* tail) {
    int rc = sam_close(fp_);
    fp_ = nullptr;
    raw_ = nullptr;
    if (rc < 0) return Internal("cannot finish a CRAM encoder" + HtsErrorHint());
    return ReadNew(tail);
  }

  bool is_open() const { return fp_ != nullptr; }

 private:
  Status ReadNew(std::string* out) {
    struct stat st;
    if (::fstat(fd_, &st) != 0) return IoErrorFromErrno("cannot read an encoding buffer", errno);
    const size_t n = static_cast<size_t>(st.st_size - consumed_);
    out->resize(n);
    size_t got = 0;
    while (got < n) {
      ssize_t r = ::pread(fd_, out->data() + got, n - got, consumed_ + static_cast<off_t>(got));
      if (r < 0 && errno == EINTR) continue;
      if (r <= 0) return IoErrorFromErrno("cannot read an encoding buffer", r < 0 ? errno : EIO);
      got += static_cast<size_t>(r);
    }
    // Give the pages back; the writer's offset moves on, so the file only grows in name.
    if (n > 0)
      (void)::fallocate(fd_, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, consumed_,
                        static_cast<off_t>(n));
    consumed_ = st.st_size;
    return Status::Ok();
  }

  int fd_ = -1;
  hFILE* raw_ = nullptr;  // owned by fp_
  htsFile* fp_ = nullptr;
  HeaderPtr header_;
  off_t consumed_ = 0;
};

}  // namespace cramjet::encode_internal
