// The verify stage: full decodes of SAM/BAM/CRAM into checksums, the compress-time proof, the
// sidecar files, and `cramjet verify` (Verify() of cramjet/compress.h).
#include "verify/verify.h"

#include <htslib/hts.h>
#include <htslib/sam.h>

#include <cctype>
#include <cerrno>
#include <cstring>
#include <future>

#include "cramjet/compress.h"
#include "cramjet/log.h"
#include "read/read.h"

namespace cramjet {

namespace {

std::string Quoted(const std::string& path) { return "'" + path + "'"; }

bool IsAlignmentFormat(enum htsExactFormat f) { return f == sam || f == bam || f == cram; }

// Differences worth one line each, at most `limit`, with a count of the rest.
std::string JoinDifferences(const std::vector<std::string>& lines, size_t limit) {
  std::string out;
  for (size_t i = 0; i < lines.size() && i < limit; ++i) {
    if (i) out += "; ";
    out += lines[i];
  }
  if (lines.size() > limit) out += "; and " + std::to_string(lines.size() - limit) + " more";
  return out;
}

std::vector<std::string> SplitLines(const std::string& text) {
  std::vector<std::string> lines;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t nl = text.find('\n', pos);
    if (nl == std::string::npos) nl = text.size();
    if (nl > pos) lines.push_back(text.substr(pos, nl - pos));
    pos = nl + 1;
  }
  return lines;
}

}  // namespace

std::string SeqChecksumPath(const std::string& cram_path) { return cram_path + ".seqchksum"; }
std::string Md5Path(const std::string& cram_path) { return cram_path + ".md5"; }

StatusOr<AlignmentFile> OpenAlignmentFile(const std::string& path, const std::string& reference,
                                          int threads) {
  CRAMJET_RETURN_IF_ERROR(CheckReadableFile(path));
  CRAMJET_ASSIGN_OR_RETURN(uint64_t size, FileSize(path));
  if (size == 0) return BadInput(Quoted(path) + ": empty file, not SAM/BAM/CRAM");
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
    // No MD/NM generation unless the header asks for it (below): the proof must see exactly the
    // tags the input had.
    if (hts_set_opt(f.file.get(), CRAM_OPT_DECODE_MD, 0) != 0)
      return Internal(Quoted(path) + ": cannot turn off MD/NM generation");
    if (!reference.empty() && hts_set_opt(f.file.get(), CRAM_OPT_REFERENCE, reference.c_str()) != 0)
      return BadInput(Quoted(path) + ": cannot use reference '" + reference + "'");
  }
  // A BGZF or CRAM file without its EOF block was cut short; htslib only warns at close.
  if (format->format != sam || format->compression == bgzf) {
    int eof = hts_check_EOF(f.file.get());
    if (eof == 0)
      return BadInput(Quoted(path) + ": the EOF marker is missing: the file is truncated");
    if (eof < 0) return IoErrorFromErrno(Quoted(path) + ": cannot check the EOF marker", errno);
  }
  if (threads > 1) {
    f.pool = MakeThreadPool(threads);
    if (f.pool) {
      htsThreadPool tp = {f.pool.get(), 0};
      if (hts_set_opt(f.file.get(), HTS_OPT_THREAD_POOL, &tp) != 0) {
        CJ_LOG(kWarning) << Quoted(path) << ": could not attach the thread pool; decoding on one thread";
      }
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
  int r = sam_read1(f.file.get(), f.header.get(), record);
  if (r >= 0) {
    if (f.regenerated) CRAMJET_RETURN_IF_ERROR(RestoreRegeneratedTags(record));
    return true;
  }
  if (r == -1) return false;
  std::string message = Quoted(f.path) + ": record " + std::to_string(records_read + 1) +
                         ": cannot decode (corrupt or truncated data";
  if (hts_get_format(f.file.get())->format == cram && f.reference.empty())
    message += ", or the reference it needs is not available";
  return BadInput(message + ")");
}

StatusOr<ReadChecksums> ChecksumAlignmentFile(const std::string& path, const std::string& reference,
                                              int threads, std::string_view aux_tags) {
  CRAMJET_RETURN_IF_ERROR(ValidateAuxTagSpec(aux_tags));
  CRAMJET_ASSIGN_OR_RETURN(AlignmentFile f, OpenAlignmentFile(path, reference, threads));
  ReadChecksums sums(aux_tags);
  BamPtr record = NewBam();
  uint64_t records = 0;
  for (;;) {
    CRAMJET_ASSIGN_OR_RETURN(bool more, ReadAlignmentRecord(f, record.get(), records));
    if (!more) break;
    ++records;
    sums.Add(record.get());
  }
  if (hts_close(f.file.release()) != 0)
    return IoError(Quoted(path) + ": error at the end of the file after " + std::to_string(records) +
                   " records");
  return sums;
}

Status ProveCramLossless(const std::string& written_cram, const std::string& reference, int threads,
                         const ReadChecksums& expected) {
  CRAMJET_ASSIGN_OR_RETURN(ReadChecksums actual,
                           ChecksumAlignmentFile(written_cram, reference, threads, expected.aux_tags()));
  std::string differences = expected.Describe(actual);
  if (differences.empty()) return Status::Ok();
  return DataLoss(Quoted(written_cram) + ": decoded CRAM differs from the input (input != CRAM): " +
                  JoinDifferences(SplitLines(differences), 4));
}

StatusOr<ChecksumSidecars> WriteChecksumSidecars(const std::string& final_cram_path,
                                                 const std::string& cram_path_to_hash,
                                                 const ReadChecksums& sums) {
  ChecksumSidecars out;
  out.seqchksum_path = SeqChecksumPath(final_cram_path);
  out.md5_path = Md5Path(final_cram_path);
  CRAMJET_ASSIGN_OR_RETURN(out.md5_hex, FileMd5Hex(cram_path_to_hash));
  const std::string name = BaseName(final_cram_path);
  CRAMJET_RETURN_IF_ERROR(WriteFileAtomically(out.seqchksum_path, sums.ToText(name)));
  CRAMJET_RETURN_IF_ERROR(WriteFileAtomically(out.md5_path, out.md5_hex + "  " + name + "\n"));
  return out;
}

StatusOr<std::string> ParseMd5File(std::string_view text, std::string_view source) {
  size_t i = 0;
  while (i < text.size() && std::isspace(static_cast<unsigned char>(text[i]))) ++i;
  std::string hex;
  while (i < text.size() && std::isxdigit(static_cast<unsigned char>(text[i])) && hex.size() <= 32)
    hex += static_cast<char>(std::tolower(static_cast<unsigned char>(text[i++])));
  bool ends_well = i == text.size() || std::isspace(static_cast<unsigned char>(text[i]));
  if (hex.size() != 32 || !ends_well)
    return BadInput(Quoted(std::string(source)) +
                    ": not an MD5 file (expected 32 hex digits, optionally followed by the file name)");
  return hex;
}

// ---- cramjet verify -----------------------------------------------------------------------------

namespace {

// Checksums of the original inputs, read exactly as `compress` reads them.
StatusOr<ReadChecksums> ChecksumInputs(const VerifyOptions& options, std::string_view aux_tags) {
  ReadOptions read;
  read.inputs = options.against;
  read.paired = options.paired;
  read.interleaved = options.interleaved;
  read.reference = options.reference;
  read.threads = options.threads;
  // SRA deflines were stored by their place when the CRAM's @RG says so (`sd`): read them so.
  auto cram = OpenAlignmentFile(options.cram, options.reference, 1);
  if (cram.ok()) read.derive_sra_names = FastqRules(cram->header.get()).NeedsInputOrder();
  CRAMJET_ASSIGN_OR_RETURN(std::unique_ptr<ReadSource> source, OpenReads(read));
  ReadChecksums sums(aux_tags);
  ReadBatch batch;
  for (;;) {
    CRAMJET_ASSIGN_OR_RETURN(size_t n, source->NextBatch(batch, 4096));
    if (n == 0) break;
    for (size_t i = 0; i < n; ++i) sums.Add(batch[i]);
  }
  return sums;
}

}  // namespace

StatusOr<VerifyResult> Verify(const VerifyOptions& options) {
  if (options.cram.empty()) return InvalidArgument("no CRAM file given");
  CRAMJET_RETURN_IF_ERROR(CheckReadableFile(options.cram));
  VerifyResult result;
  const std::string seq_path = SeqChecksumPath(options.cram);
  const std::string md5_path = Md5Path(options.cram);

  // The expected checksums, and the aux tags they were taken with.
  ReadChecksums expected;
  auto seq_text = ReadSmallFile(seq_path);
  if (options.against.empty()) {
    if (!seq_text.ok()) {
      if (seq_text.status().code() == StatusCode::kNotFound)
        return NotFound(Quoted(seq_path) + ": no such file (nothing to verify against; give --against INPUT...)");
      return seq_text.status();
    }
    CRAMJET_ASSIGN_OR_RETURN(expected, ReadChecksums::FromText(*seq_text, seq_path));
    result.expected_source = seq_path;
  } else {
    // Prefer the tag list recorded beside the CRAM (it may leave dropped tags out).
    std::string aux_tags(kProofAuxTags);
    if (seq_text.ok()) {
      auto recorded = ReadChecksums::FromText(*seq_text, seq_path);
      if (recorded.ok()) aux_tags = recorded->aux_tags();
    }
    CRAMJET_ASSIGN_OR_RETURN(expected, ChecksumInputs(options, aux_tags));
    result.expected_source = options.against.size() == 1
                                 ? options.against[0]
                                 : std::to_string(options.against.size()) + " inputs";
  }
  result.expected_seqchksum = expected.ToText(options.against.empty() ? BaseName(options.cram)
                                                                      : result.expected_source);

  // The file MD5, when a .md5 is there; hashed on its own thread while the decode runs.
  auto md5_text = ReadSmallFile(md5_path);
  std::future<StatusOr<std::string>> md5_job;
  if (md5_text.ok()) {
    CRAMJET_ASSIGN_OR_RETURN(result.expected_md5, ParseMd5File(*md5_text, md5_path));
    md5_job = std::async(std::launch::async, [path = options.cram] { return FileMd5Hex(path); });
  } else if (md5_text.status().code() != StatusCode::kNotFound) {
    return md5_text.status();
  }

  auto decoded = ChecksumAlignmentFile(options.cram, options.reference, options.threads,
                                      expected.aux_tags());
  if (md5_job.valid()) {
    auto md5 = md5_job.get();
    if (!md5.ok()) return md5.status();
    result.md5 = *md5;
    result.md5_checked = true;
    result.md5_equal = result.md5 == result.expected_md5;
  }
  if (!decoded.ok()) {
    if (result.md5_checked && !result.md5_equal)
      return Status(decoded.status().code(), decoded.status().message() +
                                                 "; the file's MD5 also differs from " + md5_path);
    return decoded.status();
  }
  ReadChecksums actual = std::move(decoded).value();
  result.cram_seqchksum = actual.ToText(BaseName(options.cram));
  result.records = actual.count();
  result.expected_records = expected.count();

  for (auto& line : SplitLines(expected.Describe(actual))) result.differences.push_back(line);
  if (result.md5_checked && !result.md5_equal)
    result.differences.insert(result.differences.begin(),
                              "md5 " + result.md5 + " != " + result.expected_md5 + " in " + md5_path);
  result.equal = result.differences.empty();

  const std::string reads = std::to_string(result.records) + " reads";
  if (result.equal) {
    std::string what = options.against.empty() ? "checksums" : "checksums equal to the inputs";
    if (options.against.empty())
      what += result.md5_checked ? " and md5 equal" : " equal (no .md5 to check)";
    else if (result.md5_checked)
      what += ", md5 equal";
    result.verdict = "OK: " + options.cram + ": " + reads + ", " + what;
  } else {
    result.verdict = "MISMATCH: " + options.cram + ": " + reads + " (expected " +
                     std::to_string(result.expected_records) + " from " + result.expected_source +
                     "): " + JoinDifferences(result.differences, 3);
  }
  return result;
}

}  // namespace cramjet
