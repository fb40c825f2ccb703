// The read stage: opens FASTQ (our reader) or SAM/BAM/CRAM (htslib) inputs and yields batches.
// Length: ~530 lines: the two ReadSource implementations (FASTQ units, SAM/BAM/CRAM) and the
// format detection they share; FASTQ parsing itself is in fastq.cc, inflating in gzip_inflate.cc.
#include "read/read.h"

#include <htslib/cram.h>
#include <htslib/hfile.h>

#include <sys/stat.h>

#include <algorithm>
#include <cctype>
#include <cstring>
#include <optional>
#include <regex>
#include <set>

#include "common/alignment_file.h"
#include "common/cram_containers.h"
#include "common/stdin_input.h"
#include "cramjet/log.h"
#include "read/read_internal.h"

namespace cramjet {

const char* InputFormatName(InputFormat format) {
  switch (format) {
    case InputFormat::kFastq: return "FASTQ";
    case InputFormat::kSam: return "SAM";
    case InputFormat::kBam: return "BAM";
    case InputFormat::kCram: return "CRAM";
  }
  return "?";
}

namespace {

// "-": what standard input holds, from the bytes htslib peeked at (stdin_input.h).
StatusOr<InputFormat> DetectStdinInputFormat() {
  CRAMJET_ASSIGN_OR_RETURN(htsFormat fmt, DetectStdinFormat());
  switch (fmt.format) {
    case fastq_format: return InputFormat::kFastq;
    case sam: return InputFormat::kSam;
    case bam: return InputFormat::kBam;
    case cram: return InputFormat::kCram;
    case fasta_format: return BadInput("'-' (standard input): is FASTA, not reads (give a reference with -T)");
    default: break;
  }
  // As for files: a FASTQ whose first record is malformed is still FASTQ, for the reader to name
  // the line that is wrong.
  CRAMJET_ASSIGN_OR_RETURN(std::string head, PeekStdinText(4));
  if (!head.empty() && head[0] == '@' && !(head.size() == 4 && head[3] == '\t')) return InputFormat::kFastq;
  return BadInput("'-' (standard input): not a FASTQ, SAM, BAM or CRAM stream");
}

}  // namespace

StatusOr<InputFormat> DetectInputFormat(const std::string& input) {
  if (IsStdinPath(input) && StdinSpoolPath().empty()) return DetectStdinInputFormat();
  const std::string path = ResolveInputPath(input);
  CRAMJET_RETURN_IF_ERROR(CheckReadableFile(path));
  CRAMJET_ASSIGN_OR_RETURN(uint64_t size, FileSize(path));
  if (size == 0) return BadInput("'" + path + "': file is empty");
  // htslib's sniffing needs a whole well-formed first record; a FASTQ whose first record is
  // malformed is still FASTQ for us, so that the reader can name the exact line that is wrong.
  auto looks_like_fastq = [&path]() -> StatusOr<bool> {
    BGZF* f = bgzf_open(path.c_str(), "r");
    if (!f) return false;
    char head[5] = {0};
    ssize_t n = bgzf_read(f, head, 4);
    bgzf_close(f);
    if (n < 0) return BadInput("'" + path + "': cannot decompress: the file is truncated or corrupt");
    bool sam_header = n == 4 && head[3] == '\t';  // "@HD\t", "@SQ\t", ...
    return n > 0 && head[0] == '@' && !sam_header;
  };
  CRAMJET_RETURN_IF_ERROR(CheckCramFileStart(path));  // before htslib allocates what it says
  htsFile* fp = hts_open(path.c_str(), "r");
  if (!fp) {
    CRAMJET_ASSIGN_OR_RETURN(bool fastq, looks_like_fastq());
    if (fastq) return InputFormat::kFastq;
    return BadInput("'" + path + "': cannot read: not a FASTQ, SAM, BAM or CRAM file, or "
                    "its compression is damaged");
  }
  htsFormat fmt = *hts_get_format(fp);
  hts_close(fp);
  switch (fmt.format) {
    case fastq_format: return InputFormat::kFastq;
    case sam: return InputFormat::kSam;
    case bam: return InputFormat::kBam;
    case cram: return InputFormat::kCram;
    case fasta_format:
      return BadInput("'" + path + "': is FASTA, not reads (give a reference with -T)");
    default: break;
  }
  CRAMJET_ASSIGN_OR_RETURN(bool fastq, looks_like_fastq());
  if (fastq) return InputFormat::kFastq;
  return BadInput("'" + path + "': not a FASTQ, SAM, BAM or CRAM file");
}

IlluminaFileName ParseIlluminaFileName(const std::string& path) {
  static const std::regex kPattern(
      R"(^(.+)_S([0-9]+)(?:_L00([0-9]))?_R([12])_001\.f(?:ast)?q(?:\.gz)?$)");
  IlluminaFileName out;
  std::smatch m;
  std::string base = BaseName(path);
  if (std::regex_match(base, m, kPattern)) {
    // Digits by the pattern, but any number of them: one too large for an int is no such name.
    const std::optional<int> number = ParseDecimalInt(m[2].str());
    if (!number) return out;
    out.sample = m[1];
    out.sample_number = *number;
    out.lane = m[3].matched ? ParseDecimalInt(m[3].str()).value_or(0) : 0;
    out.read = m[4].str() == "2" ? 2 : 1;
  }
  return out;
}

bool InputsLookPaired(const std::vector<std::string>& inputs) {
  if (inputs.size() < 2 || inputs.size() % 2) return false;
  for (size_t i = 0; i < inputs.size(); i += 2) {
    const std::string& a = inputs[i];
    const std::string& b = inputs[i + 1];
    if (a.size() != b.size()) return false;
    int diffs = 0;
    bool one_two = false;
    for (size_t k = 0; k < a.size(); ++k) {
      if (a[k] != b[k]) {
        ++diffs;
        one_two = a[k] == '1' && b[k] == '2';
      }
    }
    if (diffs != 1 || !one_two) return false;
  }
  return true;
}

namespace {

// Read-group id for an input unit: "<sample>.L00n" for Illumina names, else the file's stem.
std::string UnitGroupId(const std::string& r1, std::set<std::string>& used) {
  IlluminaFileName ill = ParseIlluminaFileName(r1);
  std::string id = ill.sample.empty() ? StripReadFileExtensions(BaseName(r1))
                                      : ill.sample + (ill.lane ? ".L00" + std::to_string(ill.lane) : "");
  static const std::regex kPairSuffix(R"(([._])R?[12]$)");
  if (ill.sample.empty()) id = std::regex_replace(id, kPairSuffix, "");
  for (char& c : id)
    if (c < 33 || c > 126) c = '_';
  if (id.empty()) id = "reads";
  std::string unique = id;
  for (int n = 2; used.count(unique); ++n) unique = id + "." + std::to_string(n);
  used.insert(unique);
  return unique;
}

std::string DefaultSample(const std::string& first_input) {
  IlluminaFileName ill = ParseIlluminaFileName(first_input);
  if (!ill.sample.empty()) return ill.sample;
  static const std::regex kPairSuffix(R"(([._])R?[12]$)");
  return std::regex_replace(StripReadFileExtensions(BaseName(first_input)), kPairSuffix, "");
}

class FastqSource : public ReadSource {
 public:
  struct Unit {
    std::string r1, r2;  // r2 empty for single-end or interleaved
    bool interleaved = false;
    std::string group;
    // What the unit's first record (pair) showed (read.h): `ms`, `ct`, `pl`, `sd`, `sl`.
    FastqGroupRules rules;
    std::string platform, platform_unit;  // @RG PL, PU from an Illumina read name; empty otherwise
  };

  Status Init(const ReadOptions& o) {
    pool_ = o.pool;
    header_.reset(sam_hdr_init());
    std::string hd = "@HD\tVN:1.6\tSO:unsorted\tGO:query\n";
    if (sam_hdr_add_lines(header_.get(), hd.c_str(), hd.size()) < 0) return Internal("header");
    std::set<std::string> used;
    const bool from_stdin = std::any_of(o.inputs.begin(), o.inputs.end(), IsStdinPath);
    std::string sample = o.sample.empty() && !from_stdin ? DefaultSample(o.inputs[0]) : o.sample;
    // The operator's @RG fields (-R, --rg-field), checked before anything is read.
    std::vector<std::pair<std::string, std::string>> fields;
    std::string given_id;
    for (const std::string& f : o.rg_fields) {
      const bool key_ok = f.size() >= 3 && f[2] == ':' && std::isalpha(static_cast<unsigned char>(f[0])) &&
                          std::isalnum(static_cast<unsigned char>(f[1]));
      if (!key_ok) return InvalidArgument("read-group field '" + f + "': expected KEY:VALUE with a two-character key (PL:ILLUMINA)");
      const std::string key = f.substr(0, 2), value = f.substr(3);
      if (value.empty() || value.find_first_of("\t\n") != std::string::npos)
        return InvalidArgument("read-group field '" + f + "': the value must be non-empty, without tabs or newlines");
      if (key == "DS") return InvalidArgument("read-group field '" + f + "': DS is cramjet's own (it records the input layout)");
      if (key == "SM") sample = value;
      else if (key == "ID") given_id = value;
      else fields.emplace_back(key, value);
    }
    // A stream has no file name to take the sample (@RG SM) or the read group from.
    if (sample.empty() && from_stdin)
      return InvalidArgument("'-' (standard input) has no file name to take the sample from: give it (--sample NAME, "
                             "or SM in -R/--rg-field)");
    if (o.paired && o.inputs.size() % 2 != 0) {
      return InvalidArgument("paired input needs R1 and R2 files in pairs; got " +
                             std::to_string(o.inputs.size()) + " files");
    }
    const size_t units = o.paired ? o.inputs.size() / 2 : o.inputs.size();
    if (!given_id.empty() && units != 1)
      return InvalidArgument("read-group field 'ID:" + given_id + "' needs a single input unit; with " +
                             std::to_string(units) + " each gets its id from its file name");
    if (!o.group_ids.empty() && o.group_ids.size() != units)
      return InvalidArgument(std::to_string(o.group_ids.size()) + " read-group ids for " + std::to_string(units) +
                             " input unit(s)");
    for (size_t i = 0; i < o.inputs.size(); i += o.paired ? 2 : 1) {
      Unit u;
      u.r1 = o.inputs[i];
      if (o.paired) u.r2 = o.inputs[i + 1];
      u.interleaved = o.interleaved;
      u.group = !o.group_ids.empty() ? o.group_ids[units_.size()] : !given_id.empty() ? given_id
              : IsStdinPath(u.r1) ? UnitGroupId(sample, used) : UnitGroupId(u.r1, used);
      std::string files = BaseName(u.r1) + (u.r2.empty() ? "" : "," + BaseName(u.r2));
      std::string layout = o.paired ? "paired" : o.interleaved ? "interleaved" : "single";
      LearnNameRules(u, o.paired || o.interleaved, o.derive_sra_names);
      if (sam_hdr_add_line(header_.get(), "RG", "ID", u.group.c_str(), "SM", sample.c_str(),
                           "DS", ("cramjet:fastq:" + layout + ":" + files).c_str(), nullptr) < 0)
        return Internal("cannot add @RG to header");
      auto tag = [&](const char* key, const std::string& value) {
        if (sam_hdr_update_line(header_.get(), "RG", "ID", u.group.c_str(), key, value.c_str(), nullptr) < 0)
          return Internal(std::string("cannot add ") + key + " to @RG");
        return Status::Ok();
      };
      const FastqGroupRules& r = u.rules;
      if (r.mate_suffix) CRAMJET_RETURN_IF_ERROR(tag("ms", "/1/2"));
      if (!r.comment_tail.empty()) CRAMJET_RETURN_IF_ERROR(tag("ct", r.comment_tail));
      if (r.plus_repeats) CRAMJET_RETURN_IF_ERROR(tag("pl", "header"));
      if (!r.sra_prefix.empty()) CRAMJET_RETURN_IF_ERROR(tag("sd", r.sra_prefix + std::to_string(r.sra_first)));
      if (r.sra_length) CRAMJET_RETURN_IF_ERROR(tag("sl", "length"));
      // What GATK and Picard need (PL) and what tells lanes apart (PU), from Illumina read names
      // (instrument:run:flowcell:lane:... with the index in the comment); the operator's fields win.
      auto given = [&](const char* key) {
        return std::any_of(fields.begin(), fields.end(), [&](const auto& kv) { return kv.first == key; });
      };
      if (!u.platform.empty() && !given("PL")) CRAMJET_RETURN_IF_ERROR(tag("PL", u.platform));
      if (!u.platform_unit.empty() && !given("PU")) CRAMJET_RETURN_IF_ERROR(tag("PU", u.platform_unit));
      for (const auto& [key, value] : fields) CRAMJET_RETURN_IF_ERROR(tag(key.c_str(), value));
      units_.push_back(std::move(u));
    }
    return Status::Ok();
  }

  sam_hdr_t* header() override { return header_.get(); }
  InputFormat format() const override { return InputFormat::kFastq; }

  // The header is written before any record, so the unit's first record (pair) is read ahead to
  // learn its naming (read.h: `ms`, `ct`). A file that cannot be read here is reported when it is
  // read for real.
  // Casava 1.8+ names: @instrument:run:flowcell:lane:tile:x:y [read:filtered:control:index]:
  // PL ILLUMINA, PU flowcell.lane, and .index when the comment has one.
  static void LearnPlatform(Unit& u, const FastqRecord& a) {
    std::string_view name(a.header.data() + 1, a.name_length);
    std::vector<std::string_view> f;
    for (size_t start = 0;;) {
      const size_t colon = name.find(':', start);
      f.push_back(name.substr(start, colon == std::string_view::npos ? std::string_view::npos : colon - start));
      if (colon == std::string_view::npos) break;
      start = colon + 1;
    }
    auto digits = [](std::string_view v) {
      return !v.empty() && std::all_of(v.begin(), v.end(), [](char c) { return c >= '0' && c <= '9'; });
    };
    if (f.size() != 7 || f[2].empty() || !digits(f[1]) || !digits(f[3]) || !digits(f[4])) return;
    u.platform = "ILLUMINA";
    u.platform_unit = std::string(f[2]) + "." + std::string(f[3]);
    std::string_view comment(a.header.data() + 1 + a.name_length, a.header.size() - 1 - a.name_length);
    while (!comment.empty() && comment.front() == ' ') comment.remove_prefix(1);
    std::vector<std::string_view> c;
    for (size_t start = 0; c.size() < 5;) {
      const size_t colon = comment.find(':', start);
      c.push_back(comment.substr(start, colon == std::string_view::npos ? std::string_view::npos : colon - start));
      if (colon == std::string_view::npos) break;
      start = colon + 1;
    }
    if (c.size() == 4 && (c[0] == "1" || c[0] == "2") && (c[1] == "Y" || c[1] == "N")) {
      std::string index(c[3].substr(0, c[3].find_first_of(" \t")));
      const bool clean = !index.empty() && std::all_of(index.begin(), index.end(), [](char ch) {
        return (ch >= 'A' && ch <= 'Z') || ch == '+' || (ch >= '0' && ch <= '9');
      });
      if (clean) u.platform_unit += "." + index;
    }
  }

  static void LearnNameRules(Unit& u, bool paired, bool derive_sra_names) {
    FastqFile f1, f2;
    FastqRecord a, b;
    // Standard input is read once, by the reader proper: its first records come from the peek.
    if (!(IsStdinPath(u.r1) ? f1.OpenStdinHead() : f1.Open(u.r1, nullptr)).ok()) return;
    auto got_a = f1.Next(a);
    if (!got_a.ok() || !*got_a) return;
    FastqGroupRules& r = u.rules;
    LearnPlatform(u, a);
    std::string tail = CommentTail(a, '1');
    r.plus_repeats = a.plus.size() > 1 && std::string_view(a.plus).substr(1) == std::string_view(a.header).substr(1);
    if (paired) {
      FastqFile& second = u.r2.empty() ? f1 : f2;
      if (!u.r2.empty() && !(IsStdinPath(u.r2) ? f2.OpenStdinHead() : f2.Open(u.r2, nullptr)).ok()) return;
      auto got_b = second.Next(b);
      if (!got_b.ok() || !*got_b) return;
      r.mate_suffix = HasMateSuffixes(a, b);
      if (!tail.empty() && CommentTail(b, '2') == tail) r.comment_tail = tail;
    } else {
      r.comment_tail = tail;
    }
    // SRA deflines: only where the order is kept (the name follows from the read's place), and
    // not with the other name rules.
    SraDefline da, db;
    auto parse = [](const FastqRecord& x, SraDefline* d) {
      std::string_view name(x.header.data() + 1, x.name_length);
      std::string_view rest(x.header.data() + 1 + x.name_length, x.header.size() - 1 - x.name_length);
      return ParseSraDefline(name, rest, x.seq.size(), d);
    };
    if (derive_sra_names && !r.mate_suffix && r.comment_tail.empty() && parse(a, &da) &&
        (!paired || (parse(b, &db) && db.prefix == da.prefix && db.spot == da.spot && db.length == da.length))) {
      r.sra_prefix.assign(da.prefix);
      r.sra_first = da.spot;
      r.sra_length = da.length;
    }
  }
  // "1:N:0:ACGT" after one space (with `digit` first) -> ":N:0:ACGT"; else empty. Printable only,
  // as it goes into a header line.
  static std::string CommentTail(const FastqRecord& r, char digit) {
    std::string_view rest(r.header.data() + 1 + r.name_length, r.header.size() - 1 - r.name_length);
    if (rest.size() < 4 || rest[0] != ' ' || rest[1] != digit || rest[2] != ':') return std::string();
    for (unsigned char c : rest.substr(2))
      if (c < 0x21 || c > 0x7e) return std::string();
    return std::string(rest.substr(2));
  }
  static bool HasMateSuffixes(const FastqRecord& a, const FastqRecord& b) {
    std::string_view n1(a.header.data() + 1, a.name_length), n2(b.header.data() + 1, b.name_length);
    std::string_view stem = StripMateSuffix(n1);
    // "X/1" then "X/2"; the stem must stay a valid QNAME (StripMateSuffix keeps it non-empty), not "*".
    return stem.size() + 2 == n1.size() && n1.back() == '1' && n2.back() == '2' && StripMateSuffix(n2) == stem &&
           StripMateSuffix(n2).size() + 2 == n2.size() && stem != "*";
  }
  uint64_t bytes_read() const override {
    return done_bytes_ + (r1_ ? r1_->bytes_read() : 0) + (r2_ ? r2_->bytes_read() : 0);
  }

  StatusOr<size_t> NextBatch(ReadBatch& batch, size_t max_records) override {
    if (max_records < 2) max_records = 2;
    batch.Resize(max_records);
    size_t n = 0;
    while (n + 2 <= max_records || (n < max_records && !paired_unit())) {
      if (!r1_) {
        if (next_unit_ >= units_.size()) break;
        CRAMJET_RETURN_IF_ERROR(OpenUnit(units_[next_unit_++]));
      }
      CRAMJET_ASSIGN_OR_RETURN(bool got, ReadOne(batch, n));
      if (!got) {
        CRAMJET_RETURN_IF_ERROR(CloseUnit());
        continue;
      }
    }
    batch.size = n;
    return n;
  }

 private:
  bool paired_unit() const {
    return current_ && (!current_->r2.empty() || current_->interleaved);
  }

  Status OpenUnit(const Unit& u) {
    current_ = &u;
    spot_ = u.rules.sra_first;
    r1_ = std::make_unique<FastqFile>();
    CRAMJET_RETURN_IF_ERROR(r1_->Open(u.r1, pool_));
    if (!u.r2.empty()) {
      r2_ = std::make_unique<FastqFile>();
      CRAMJET_RETURN_IF_ERROR(r2_->Open(u.r2, pool_));
    }
    return Status::Ok();
  }

  Status CloseUnit() {
    if (r1_ && r1_->records() == 0) {
      return BadInput("'" + r1_->path() + "': file holds no FASTQ records");
    }
    done_bytes_ += r1_->bytes_read() + (r2_ ? r2_->bytes_read() : 0);
    r1_.reset();
    r2_.reset();
    current_ = nullptr;
    return Status::Ok();
  }

  // Reads one record (single) or one pair into batch[n..]; false at the end of the unit.
  StatusOr<bool> ReadOne(ReadBatch& batch, size_t& n) {
    const std::string& rg = current_->group;
    CRAMJET_ASSIGN_OR_RETURN(bool got1, r1_->Next(rec1_));
    if (current_->interleaved) {
      if (!got1) return false;
      CRAMJET_ASSIGN_OR_RETURN(bool got2, r1_->Next(rec2_));
      if (!got2) {
        return BadInput("'" + r1_->path() + "': interleaved file ends with an unpaired record (" +
                        std::to_string(r1_->records()) + " records, an odd number)");
      }
      CRAMJET_RETURN_IF_ERROR(CheckMates(*r1_, *r1_));
      return EmitPair(batch, n, rg);
    }
    if (!r2_) {
      if (!got1) return false;
      CRAMJET_RETURN_IF_ERROR(
          FastqToBam(rec1_, BAM_FUNMAP, rg, batch[n], scratch_, NameRule::kVerbatim, current_->rules, spot_));
      EndSpot(rec1_);
      ++n;
      return true;
    }
    CRAMJET_ASSIGN_OR_RETURN(bool got2, r2_->Next(rec2_));
    if (got1 != got2) {
      const FastqFile& longer = got1 ? *r1_ : *r2_;
      const FastqFile& shorter = got1 ? *r2_ : *r1_;
      return BadInput("R1 and R2 have different read counts: '" + shorter.path() + "' ends after " +
                      std::to_string(shorter.records()) + " records but '" + longer.path() +
                      "' has more (record " + std::to_string(longer.records()) + " at line " +
                      std::to_string(got1 ? rec1_.first_line : rec2_.first_line) + ")");
    }
    if (!got1) return false;
    CRAMJET_RETURN_IF_ERROR(CheckMates(*r1_, *r2_));
    return EmitPair(batch, n, rg);
  }

  Status CheckMates(const FastqFile& f1, const FastqFile& f2) {
    std::string_view n1(rec1_.header.data() + 1, rec1_.name_length);
    std::string_view n2(rec2_.header.data() + 1, rec2_.name_length);
    if (StripMateSuffix(n1) != StripMateSuffix(n2)) {
      return BadInput(f2.At(rec2_.first_line, f2.records()) + ": read name '" + std::string(n2) +
                      "' does not match its mate '" + std::string(n1) + "' in '" + f1.path() +
                      "' line " + std::to_string(rec1_.first_line));
    }
    return Status::Ok();
  }

  StatusOr<bool> EmitPair(ReadBatch& batch, size_t& n, const std::string& rg) {
    constexpr uint16_t kBoth = BAM_FPAIRED | BAM_FUNMAP | BAM_FMUNMAP;
    NameRule rule = NameRule::kVerbatim;
    if (current_->rules.mate_suffix)
      rule = HasMateSuffixes(rec1_, rec2_) ? NameRule::kStripMateSuffix : NameRule::kVerbatimMarked;
    const FastqGroupRules& rules = current_->rules;
    CRAMJET_RETURN_IF_ERROR(FastqToBam(rec1_, kBoth | BAM_FREAD1, rg, batch[n], scratch_, rule, rules, spot_));
    CRAMJET_RETURN_IF_ERROR(FastqToBam(rec2_, kBoth | BAM_FREAD2, rg, batch[n + 1], scratch_, rule, rules, spot_));
    EndSpot(rec2_);
    n += 2;
    return true;
  }

  HeaderPtr header_;
  std::vector<Unit> units_;
  size_t next_unit_ = 0;
  const Unit* current_ = nullptr;
  std::unique_ptr<FastqFile> r1_, r2_;
  FastqRecord rec1_, rec2_;
  uint64_t spot_ = 0;  // SRA units: the spot number the next spot's name should have

  // The spot that `last` (a single read, or READ2) ends sets the next one's number.
  void EndSpot(const FastqRecord& last) {
    if (current_->rules.sra_prefix.empty()) return;
    spot_ = NextSraSpot(current_->rules, std::string_view(last.header.data() + 1, last.name_length), spot_);
  }
  std::string scratch_;
  uint64_t done_bytes_ = 0;
  hts_tpool* pool_ = nullptr;
};

// SAM/BAM/CRAM through htslib. Several files must describe the same reference contigs.
class HtsSource : public ReadSource {
 public:
  Status Init(const ReadOptions& o, InputFormat format) {
    format_ = format;
    options_ = o;
    if (std::count_if(o.inputs.begin(), o.inputs.end(), IsStdinPath) > 1)
      return InvalidArgument("'-' (standard input) can be read only once: give it as one input only");
    for (size_t i = 0; i < o.inputs.size(); ++i) {
      CRAMJET_ASSIGN_OR_RETURN(AlignmentFile f, OpenOne(o.inputs[i]));
      if (i == 0) {
        header_.reset(sam_hdr_dup(f.header.get()));
        if (!header_) return Internal("'" + o.inputs[i] + "': cannot copy the header");
        // The records come out with MD/NM regenerated: the output header does not say otherwise.
        sam_hdr_remove_tag_hd(header_.get(), kRegeneratedTagsKey);
        // The first file stays open for the records (a stream cannot be opened twice).
        first_ = std::move(f);
      } else {
        CRAMJET_RETURN_IF_ERROR(CheckSameContigs(o.inputs[0], o.inputs[i], f.header.get()));
        MergeReadGroups(f.header.get());
        // Opened again when its turn comes, except standard input, which is kept as it is.
        if (IsStdinPath(o.inputs[i])) kept_stdin_ = std::move(f);
      }
    }
    return Status::Ok();
  }

  sam_hdr_t* header() override { return header_.get(); }
  InputFormat format() const override { return format_; }
  uint64_t bytes_read() const override {
    uint64_t cur = 0;
    if (file_) {
      const htsFile* fp = file_->file.get();
      hFILE* hf = fp->format.format == cram ? cram_fd_get_fp(fp->fp.cram)
                  : fp->format.compression != no_compression ? fp->fp.bgzf->fp : nullptr;
      if (hf) cur = static_cast<uint64_t>(htell(hf));
    }
    return done_bytes_ + cur;
  }

  StatusOr<size_t> NextBatch(ReadBatch& batch, size_t max_records) override {
    batch.Resize(max_records);
    size_t n = 0;
    while (n < max_records) {
      if (!file_) {
        if (next_ >= options_.inputs.size()) break;
        current_path_ = options_.inputs[next_++];
        if (next_ == 1 && first_) {
          file_ = std::move(first_);
          first_.reset();
        } else if (IsStdinPath(current_path_) && kept_stdin_) {
          file_ = std::move(kept_stdin_);
          kept_stdin_.reset();
        } else {
          CRAMJET_ASSIGN_OR_RETURN(AlignmentFile f, OpenOne(current_path_));
          file_ = std::move(f);
        }
        record_ = 0;
      }
      CRAMJET_ASSIGN_OR_RETURN(bool more, ReadAlignmentRecord(*file_, batch[n], record_));
      if (!more) {
        if (auto s = FileSize(current_path_); s.ok()) done_bytes_ += *s;
        file_.reset();
        continue;
      }
      ++record_;
      if (next_ > 1) CRAMJET_RETURN_IF_ERROR(RemapToFirstHeader(batch[n]));
      ++n;
    }
    batch.size = n;
    return n;
  }

 private:
  // Through the common opener: its checks (EOF block, header, the MD/NM rule) and its errors.
  StatusOr<AlignmentFile> OpenOne(const std::string& path) {
    AlignmentOpenOptions open;
    open.reference = options_.reference;
    open.shared_pool = options_.pool;
    return OpenAlignmentFile(path, open);
  }

  Status CheckSameContigs(const std::string& first, const std::string& other, sam_hdr_t* h) {
    int n = sam_hdr_nref(header_.get());
    bool same = n == sam_hdr_nref(h);
    for (int i = 0; same && i < n; ++i) {
      same = std::strcmp(sam_hdr_tid2name(header_.get(), i), sam_hdr_tid2name(h, i)) == 0 &&
             sam_hdr_tid2len(header_.get(), i) == sam_hdr_tid2len(h, i);
    }
    if (!same) {
      return BadInput("'" + other + "': its @SQ contigs differ from those of '" + first +
                      "'; inputs of one sample must be aligned to the same reference");
    }
    return Status::Ok();
  }

  void MergeReadGroups(sam_hdr_t* h) {
    int n = sam_hdr_count_lines(h, "RG");
    for (int i = 0; i < n; ++i) {
      const char* id = sam_hdr_line_name(h, "RG", i);
      if (!id || sam_hdr_line_index(header_.get(), "RG", id) >= 0) continue;
      kstring_t ks = {0, 0, nullptr};
      if (sam_hdr_find_line_id(h, "RG", "ID", id, &ks) == 0) {
        kputc('\n', &ks);
        sam_hdr_add_lines(header_.get(), ks.s, ks.l);
      }
      free(ks.s);
    }
  }

  // Contig ids are the same in all inputs (checked at open), so nothing to translate.
  Status RemapToFirstHeader(bam1_t*) { return Status::Ok(); }

  InputFormat format_;
  ReadOptions options_;
  HeaderPtr header_;
  std::optional<AlignmentFile> file_;  // the input being read; MD/NM per the common opener
  std::optional<AlignmentFile> first_, kept_stdin_;  // opened by Init, read from where Init left them
  size_t next_ = 0;
  std::string current_path_;
  uint64_t record_ = 0;
  uint64_t done_bytes_ = 0;
};

}  // namespace

StatusOr<std::vector<BamPtr>> ReadRecords(const ReadOptions& options, size_t max_records) {
  CRAMJET_ASSIGN_OR_RETURN(auto source, OpenReads(options));
  std::vector<BamPtr> out;
  ReadBatch batch;
  while (out.size() < max_records) {
    CRAMJET_ASSIGN_OR_RETURN(size_t n, source->NextBatch(batch, 4096));
    if (n == 0) break;
    // Take the records themselves; the batch makes new ones when it is filled again.
    for (size_t i = 0; i < n && out.size() < max_records; ++i) out.push_back(std::move(batch.records[i]));
    batch.records.clear();
  }
  return out;
}

StatusOr<std::unique_ptr<ReadSource>> OpenReads(const ReadOptions& options) {
  if (options.inputs.empty()) return InvalidArgument("no input files given");
  if (options.paired && options.interleaved)
    return InvalidArgument("--paired and --interleaved exclude each other");
  std::vector<InputFormat> formats;
  for (const auto& path : options.inputs) {
    CRAMJET_ASSIGN_OR_RETURN(InputFormat f, DetectInputFormat(path));
    formats.push_back(f);
  }
  bool fastq = formats[0] == InputFormat::kFastq;
  for (size_t i = 1; i < formats.size(); ++i) {
    if ((formats[i] == InputFormat::kFastq) != fastq) {
      return InvalidArgument("'" + options.inputs[i] + "' is " + InputFormatName(formats[i]) +
                             " but '" + options.inputs[0] + "' is " + InputFormatName(formats[0]) +
                             ": one job takes FASTQ or aligned files, not both");
    }
  }
  if (!fastq && (options.paired || options.interleaved))
    return InvalidArgument("--paired/--interleaved apply to FASTQ input only");
  ThreadPoolPtr pool;
  ReadOptions o = options;
  if (!o.pool && o.threads > 1) {
    pool = MakeThreadPool(o.threads);
    o.pool = pool.get();
  }
  std::unique_ptr<ReadSource> src;
  if (fastq) {
    auto fq = std::make_unique<FastqSource>();
    fq->owned_pool_ = std::move(pool);
    CRAMJET_RETURN_IF_ERROR(fq->Init(o));
    src = std::move(fq);
  } else {
    auto hts = std::make_unique<HtsSource>();
    hts->owned_pool_ = std::move(pool);
    CRAMJET_RETURN_IF_ERROR(hts->Init(o, formats[0]));
    src = std::move(hts);
  }
  return src;
}

}  // namespace cramjet
