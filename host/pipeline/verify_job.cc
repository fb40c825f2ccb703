// `cramjet verify` (Verify() of cramjet/compress.h): a job of its own, later than compress and on
// another machine if need be. It decodes the CRAM into checksums (the verify stage) and compares
// them with its `.seqchksum` sidecar, or with the original inputs read exactly as compress reads
// them (the read stage), and checks the file's `.md5` on a thread beside the decode.
#include <future>

#include "cramjet/compress.h"
#include "read/read.h"
#include "verify/verify.h"

namespace cramjet {

namespace {

std::string Quoted(const std::string& path) { return "'" + path + "'"; }

// Checksums of the original inputs, read exactly as `compress` reads them.
StatusOr<ReadChecksums> ChecksumInputs(const VerifyOptions& options, std::string_view aux_tags) {
  ReadOptions read;
  read.inputs = options.against;
  read.paired = options.paired;
  read.interleaved = options.interleaved;
  read.reference = options.reference;
  read.threads = options.threads;
  // SRA deflines were stored by their place when the CRAM's @RG says so (`sd`): read them so.
  AlignmentOpenOptions header_only{options.reference, 1, nullptr};
  header_only.header_only = true;  // the decode below opens it again, with every check
  auto cram = OpenAlignmentFile(options.cram, header_only);
  size_t units = options.paired ? options.against.size() / 2 : options.against.size();
  const auto format = options.against.empty() ? StatusOr<InputFormat>(InputFormat::kFastq) : DetectInputFormat(options.against[0]);
  if (cram.ok() && format.ok() && *format == InputFormat::kFastq) {
    read.derive_sra_names = FastqRules(cram->header.get()).NeedsInputOrder();
    // The read groups come from the CRAM (compress made one per FASTQ unit, in order, with
    // DS cramjet:fastq:...), not from the names the inputs have now: renamed inputs compare.
    std::vector<std::string> ids;
    kstring_t ds = KS_INITIALIZE;
    const int n = sam_hdr_count_lines(cram->header.get(), "RG");
    for (int i = 0; i < n; ++i) {
      const char* id = sam_hdr_line_name(cram->header.get(), "RG", i);
      if (id && sam_hdr_find_tag_pos(cram->header.get(), "RG", i, "DS", &ds) == 0 &&
          std::string_view(ds.s).rfind("cramjet:fastq:", 0) == 0)
        ids.push_back(id);
    }
    ks_free(&ds);
    if (!ids.empty() && ids.size() == units) read.group_ids = std::move(ids);
    else if (!ids.empty())
      return FailedPrecondition(Quoted(options.cram) + " was made from " + std::to_string(ids.size()) +
                                " FASTQ input unit(s) (its @RG lines); --against gives " + std::to_string(units) +
                                ": give the same files, in the same order (R1 R2 pairs with --paired)");
  }
  if (cram.ok() && format.ok() && *format != InputFormat::kFastq)
    read.derive_sra_names = FastqRules(cram->header.get()).NeedsInputOrder();
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
  if (options.cram == "-" && options.against.empty())
    return InvalidArgument("'-' (standard input) has no .seqchksum or .md5 beside it: verify the file, or give "
                           "--against INPUT...");
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

  for (auto& line : SplitDifferenceLines(expected.Describe(actual))) result.differences.push_back(line);
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
