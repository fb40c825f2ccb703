// FASTQ reading with exact error positions, and the FASTQ <-> unaligned record mapping described
// in read.h and docs/formats.md.
// Length: ~540 lines, one concern: the FASTQ record <-> unaligned bam1_t mapping in both
// directions, whose two halves must agree byte for byte (docs/formats.md).
#include <htslib/bgzf.h>
#include <htslib/kstring.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>

#include "common/stdin_input.h"
#include "read/read_internal.h"

namespace cramjet {
namespace {

constexpr int kMaxQname = 254;  // BAM's limit (l_qname is a uint8 including the NUL)

bool PrintableText(std::string_view s) {
  for (unsigned char c : s)
    if (c < 32 || c > 126) return false;
  return true;
}

// Whether BAM's 4-bit code gives back exactly this base character.

bool RoundTripsThroughNt16(unsigned char c) {
  return seq_nt16_str[seq_nt16_table[c]] == static_cast<char>(c);
}

// Stores `text` as a Z tag when printable, else as B:C raw bytes (both lossless).
int AppendTextTag(bam1_t* b, const char tag[2], std::string_view text) {
  if (PrintableText(text)) {
    return bam_aux_append(b, tag, 'Z', static_cast<int>(text.size() + 1),
                          reinterpret_cast<const uint8_t*>(std::string(text).c_str()));
  }
  return bam_aux_update_array(b, tag, 'C', static_cast<uint32_t>(text.size()),
                              const_cast<char*>(text.data()));
}

// Reads a text tag written by AppendTextTag; false when absent.
bool GetTextTag(const bam1_t* b, const char tag[2], std::string& out) {
  const uint8_t* s = bam_aux_get(b, tag);
  if (!s) return false;
  if (*s == 'Z') {
    out = bam_aux2Z(s);
    return true;
  }
  if (*s == 'B') {
    uint32_t n = bam_auxB_len(s);
    out.resize(n);
    for (uint32_t i = 0; i < n; ++i) out[i] = static_cast<char>(bam_auxB2i(s, i));
    return true;
  }
  return false;
}

}  // namespace

// ---- FastqFile ------------------------------------------------------------------------------

namespace {
constexpr size_t kRecordsPerBlock = 1024;
constexpr size_t kBlocksAhead = 4;
}  // namespace

FastqFile::~FastqFile() {
  if (parser_.joinable()) {
    {
      std::lock_guard<std::mutex> lk(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    parser_.join();
  }
  gz_.reset();
  if (fp_) bgzf_close(fp_);
}

Status FastqFile::Open(const std::string& path, hts_tpool* pool) {
  path_ = path;
  if (IsStdinPath(path)) {
    // Standard input, as it arrives: htslib's BGZF reader takes plain text, BGZF (inflated on
    // the pool) and plain gzip (zlib, on one thread: ISA-L's reader needs a file it can open).
    CRAMJET_ASSIGN_OR_RETURN(hFILE* stream, TakeStdinStream());
    fp_ = bgzf_hopen(stream, "r");
    if (!fp_) {
      hclose_abruptly(stream);
      return IoErrorFromErrno("'-' (standard input): cannot read", errno);
    }
    if (pool && fp_->is_compressed && !fp_->is_gzip && bgzf_thread_pool(fp_, pool, 0) < 0)
      return IoError("'-' (standard input): cannot start threads");
    if (pool) parser_ = std::thread([this] { ParseAhead(); });
    return Status::Ok();
  }
  CRAMJET_RETURN_IF_ERROR(CheckReadableFile(path));
  fp_ = bgzf_open(path.c_str(), "r");
  if (!fp_) return IoErrorFromErrno("'" + path + "': cannot open", errno);
  if (fp_->is_compressed && fp_->is_gzip) {
    // Plain gzip: ISA-L's igzip, ahead of the parser (in parallel when it has several members).
    bgzf_close(fp_);
    fp_ = nullptr;
    gz_ = std::make_unique<GzipInflater>();
    CRAMJET_RETURN_IF_ERROR(gz_->Open(path, pool));
  } else if (pool && fp_->is_compressed) {
    // True BGZF: htslib inflates its blocks in parallel on the pool.
    if (bgzf_thread_pool(fp_, pool, 0) < 0) return IoError("'" + path + "': cannot start threads");
  }
  if (pool) parser_ = std::thread([this] { ParseAhead(); });
  return Status::Ok();
}

Status FastqFile::OpenStdinHead() {
  path_ = "-";
  CRAMJET_ASSIGN_OR_RETURN(std::string head, PeekStdinText(8u << 20));  // decompressed: up to 8 MiB
  // htslib's memory stream takes a malloc'd buffer and frees it.
  char* buffer = static_cast<char*>(std::malloc(std::max<size_t>(head.size(), 1)));
  if (!buffer) return Internal("out of memory");
  std::memcpy(buffer, head.data(), head.size());
  hFILE* stream = hopen("mem:", "r:", buffer, head.size());
  if (!stream) return IoErrorFromErrno("'-' (standard input): cannot read its first records", errno);
  fp_ = bgzf_hopen(stream, "r");
  if (!fp_) {
    hclose_abruptly(stream);
    return IoErrorFromErrno("'-' (standard input): cannot read its first records", errno);
  }
  return Status::Ok();
}

uint64_t FastqFile::SourceBytes() const {
  if (gz_) return gz_->compressed_bytes();
  if (!fp_) return 0;
  // Compressed offset for BGZF; for plain files the block address is the byte offset.
  return static_cast<uint64_t>(fp_->block_address);
}

uint64_t FastqFile::bytes_read() const {
  return parser_.joinable() ? bytes_ahead_.load(std::memory_order_relaxed) : SourceBytes();
}

void FastqFile::ParseAhead() {
  Status end;
  for (;;) {
    RecordBlock block;
    {
      std::unique_lock<std::mutex> lk(mu_);
      cv_.wait(lk, [this] { return stop_ || ready_.size() < kBlocksAhead; });
      if (stop_) break;
      if (!spare_.empty()) {
        block = std::move(spare_.back());
        spare_.pop_back();
      }
    }
    if (block.records.size() < kRecordsPerBlock) block.records.resize(kRecordsPerBlock);
    block.size = 0;
    bool more = true;
    while (block.size < kRecordsPerBlock) {
      auto got = Parse(block.records[block.size]);
      if (!got.ok()) end = got.status();
      if (!got.ok() || !*got) {
        more = false;
        break;
      }
      ++block.size;
    }
    bytes_ahead_.store(SourceBytes(), std::memory_order_relaxed);
    std::lock_guard<std::mutex> lk(mu_);
    if (block.size > 0) ready_.push_back(std::move(block));
    cv_.notify_all();
    if (!more) break;
  }
  std::lock_guard<std::mutex> lk(mu_);
  parse_end_ = std::move(end);
  parse_done_ = true;
  cv_.notify_all();
}

StatusOr<bool> FastqFile::Next(FastqRecord& rec) {
  if (!parser_.joinable()) {
    CRAMJET_ASSIGN_OR_RETURN(bool got, Parse(rec));
    if (got) ++delivered_;
    return got;
  }
  if (current_pos_ == current_.size) {
    std::unique_lock<std::mutex> lk(mu_);
    cv_.wait(lk, [this] { return !ready_.empty() || parse_done_; });
    if (current_.records.size() > 0) spare_.push_back(std::move(current_));
    current_ = RecordBlock();
    current_pos_ = 0;
    if (ready_.empty()) {
      if (!parse_end_.ok()) return parse_end_;
      return false;
    }
    current_ = std::move(ready_.front());
    ready_.pop_front();
    cv_.notify_all();
  }
  // A swap, so that the caller's old strings go back to the parser with their capacity.
  std::swap(rec, current_.records[current_pos_++]);
  ++delivered_;
  return true;
}

std::string FastqFile::Where(uint64_t line) const { return At(line, records_ + 1); }

std::string FastqFile::At(uint64_t line, uint64_t record) const {
  return "'" + path_ + "': line " + std::to_string(line) + " (record " + std::to_string(record) +
         ")";
}

StatusOr<bool> FastqFile::Refill() {
  if (gz_) {
    auto more = gz_->Next(buf_);
    if (!more.ok()) {
      if (more.status().code() != StatusCode::kBadInput)
        return IoError("'" + path_ + "': line " + std::to_string(line_no_ + 1) +
                       ": cannot read: " + more.status().message());
      return BadInput("'" + path_ + "': line " + std::to_string(line_no_ + 1) +
                      ": cannot decompress: the file is truncated or corrupt");
    }
    buf_pos_ = 0;
    buf_len_ = buf_.size();
    return *more;
  }
  if (buf_.empty()) buf_.resize(1 << 16);
  ssize_t n = bgzf_read(fp_, buf_.data(), buf_.size());
  if (n < 0) {
    return BadInput("'" + path_ + "': line " + std::to_string(line_no_ + 1) +
                    ": cannot decompress: the file is truncated or corrupt");
  }
  buf_pos_ = 0;
  buf_len_ = static_cast<size_t>(n);
  return n > 0;
}

StatusOr<bool> FastqFile::ReadLine(std::string& out, bool at_record_start) {
  out.clear();
  bool any = false;
  for (;;) {
    if (buf_pos_ == buf_len_) {
      CRAMJET_ASSIGN_OR_RETURN(bool more, Refill());
      if (!more) {
        if (any) break;  // last line without its newline
        if (at_record_start) return false;
        return BadInput(Where(line_no_ + 1) + ": file ends in the middle of a FASTQ record");
      }
    }
    any = true;
    const char* start = buf_.data() + buf_pos_;
    const char* nl = static_cast<const char*>(std::memchr(start, '\n', buf_len_ - buf_pos_));
    if (nl) {
      out.append(start, nl);
      buf_pos_ += static_cast<size_t>(nl - start) + 1;
      break;
    }
    out.append(start, buf_len_ - buf_pos_);
    buf_pos_ = buf_len_;
  }
  ++line_no_;
  if (!out.empty() && out.back() == '\r') {
    return BadInput(Where(line_no_) +
                    ": Windows (CRLF) line ends are not supported; convert the file with "
                    "dos2unix first");
  }
  return true;
}

StatusOr<bool> FastqFile::Parse(FastqRecord& rec) {
  // Skip nothing: blank lines between records are malformed FASTQ, except at the very end.
  CRAMJET_ASSIGN_OR_RETURN(bool have, ReadLine(rec.header, true));
  if (!have) return false;
  rec.first_line = line_no_;
  if (rec.header.empty() || rec.header[0] != '@') {
    if (rec.header.empty()) {
      // Trailing blank lines at the end of a file are tolerated only if nothing follows.
      std::string rest;
      for (;;) {
        CRAMJET_ASSIGN_OR_RETURN(bool more, ReadLine(rest, true));
        if (!more) return false;
        if (!rest.empty()) break;
      }
      return BadInput(Where(rec.first_line) + ": blank line inside the file");
    }
    return BadInput(Where(line_no_) + ": expected a FASTQ header starting with '@', found '" +
                    rec.header.substr(0, 20) + "'");
  }
  CRAMJET_ASSIGN_OR_RETURN(have, ReadLine(rec.seq, false));
  CRAMJET_ASSIGN_OR_RETURN(have, ReadLine(rec.plus, false));
  if (rec.plus.empty() || rec.plus[0] != '+') {
    return BadInput(Where(line_no_) + ": expected the '+' separator line, found '" +
                    rec.plus.substr(0, 20) + "'");
  }
  CRAMJET_ASSIGN_OR_RETURN(have, ReadLine(rec.qual, false));
  if (rec.qual.size() != rec.seq.size()) {
    return BadInput(Where(line_no_) + ": quality length " + std::to_string(rec.qual.size()) +
                    " differs from sequence length " + std::to_string(rec.seq.size()));
  }
  for (size_t i = 0; i < rec.qual.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(rec.qual[i]);
    if (c < 33 || c > 126) {
      return BadInput(Where(line_no_) + ": quality character " + std::to_string(c) +
                      " at position " + std::to_string(i + 1) +
                      " is outside the Phred+33 range '!'..'~'");
    }
  }
  for (size_t i = 0; i < rec.seq.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(rec.seq[i]);
    bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '.' || c == '-' ||
              c == '*' || c == '=';
    if (!ok) {
      return BadInput(Where(rec.first_line + 1) + ": character " + std::to_string(c) +
                      " at position " + std::to_string(i + 1) + " is not a base");
    }
  }
  // A CRAM keeps names and tags up to a NUL byte: a header or '+' line holding one could not come
  // back, so it is refused here instead of by the proof after the whole file (found by fuzzing).
  if (rec.header.find('\0') != std::string::npos)
    return BadInput(Where(rec.first_line) + ": the header line holds a NUL byte, which a CRAM name or tag cannot store");
  if (rec.plus.find('\0') != std::string::npos)
    return BadInput(Where(rec.first_line + 2) + ": the '+' line holds a NUL byte, which a CRAM tag cannot store");
  size_t name_end = rec.header.find_first_of(" \t");
  rec.name_length = name_end == std::string::npos ? rec.header.size() - 1 : name_end - 1;
  if (rec.name_length == 0) return BadInput(Where(rec.first_line) + ": empty read name");
  if (rec.name_length > kMaxQname) {
    return BadInput(Where(rec.first_line) + ": read name longer than " +
                    std::to_string(kMaxQname) + " characters");
  }
  ++records_;
  return true;
}

// ---- FASTQ <-> record -----------------------------------------------------------------------

bool ValidQname(std::string_view name) {
  if (name.empty() || name.size() > 254 || name == "*") return false;
  for (unsigned char c : name)
    if (c < '!' || c > '~' || c == '@') return false;
  return true;
}

bool ParseSraDefline(std::string_view name, std::string_view rest, size_t read_length, SraDefline* out) {
  // "SRR504956.24": accession (S/E/D RR + digits), '.', spot number.
  if (name.size() < 5 || (name[0] != 'S' && name[0] != 'E' && name[0] != 'D') || name[1] != 'R' ||
      name[2] != 'R')
    return false;
  size_t dot = name.find('.');
  if (dot == std::string_view::npos || dot < 4) return false;
  for (size_t i = 3; i < dot; ++i)
    if (name[i] < '0' || name[i] > '9') return false;
  std::optional<uint64_t> spot = ParseDecimal(name.substr(dot + 1));
  if (!spot || name.size() - dot - 1 > 18 || name[dot + 1] == '0') return false;
  // " <original name>[ length=<read length>]"
  if (rest.size() < 2 || rest[0] != ' ') return false;
  rest.remove_prefix(1);
  size_t space = rest.find(' ');
  std::string_view original = rest.substr(0, space);
  if (!ValidQname(original)) return false;
  bool length = false;
  if (space != std::string_view::npos) {
    if (rest.substr(space) != " length=" + std::to_string(read_length)) return false;
    length = true;
  }
  out->prefix = name.substr(0, dot + 1);
  out->spot = *spot;
  out->original = original;
  out->length = length;
  return true;
}

uint64_t NextSraSpot(const FastqGroupRules& rules, std::string_view sra_name, uint64_t expected) {
  if (sra_name.size() > rules.sra_prefix.size() && sra_name.compare(0, rules.sra_prefix.size(), rules.sra_prefix) == 0) {
    std::string_view digits = sra_name.substr(rules.sra_prefix.size());
    std::optional<uint64_t> n = digits.size() <= 18 ? ParseDecimal(digits) : std::nullopt;
    if (n) return *n + 1;
  }
  return expected + 1;
}

Status FastqToBam(const FastqRecord& rec, uint16_t flag, const std::string& read_group,
                  bam1_t* b, std::string& scratch, NameRule rule, const FastqGroupRules& rules,
                  uint64_t spot) {
  const std::string& comment_tail = rules.comment_tail;
  std::string_view name(rec.header.data() + 1, rec.name_length);
  if (rule == NameRule::kStripMateSuffix) name.remove_suffix(2);
  std::string_view rest(rec.header.data() + 1 + rec.name_length, rec.header.size() - 1 - rec.name_length);
  // An SRA defline that fits its unit's rule: the original name is the QNAME, the rest follows.
  bool sra_fits = false;
  if (!rules.sra_prefix.empty()) {
    SraDefline d;
    sra_fits = ParseSraDefline(name, rest, rec.seq.size(), &d) && d.prefix == rules.sra_prefix &&
               d.spot == spot && d.length == rules.sra_length;
    if (sra_fits) name = d.original;
  }
  size_t len = rec.seq.size();
  scratch.resize(len);
  for (size_t i = 0; i < len; ++i) scratch[i] = static_cast<char>(rec.qual[i] - 33);
  std::string seq_upper;
  const std::string* seq = &rec.seq;
  bool exotic = false;
  for (unsigned char c : rec.seq) {
    if (!RoundTripsThroughNt16(c)) {
      exotic = true;
      break;
    }
  }
  if (bam_set1(b, name.size(), name.data(), flag, -1, -1, 0, 0, nullptr, -1, -1, 0, len,
               seq->data(), scratch.data(), 64) < 0) {
    return Internal("cannot build a record for read '" + std::string(name) + "'");
  }
  // Comment: after the name comes a separator and free text. A single space + printable text is
  // the common case (CO:Z); anything else keeps the raw bytes, separator included (zc).
  if (sra_fits) rest = std::string_view();
  const bool derivable = !comment_tail.empty() && rest.size() == comment_tail.size() + 2 && rest[0] == ' ' &&
                         rest[1] == CommentReadDigit(flag) && rest.substr(2) == comment_tail;
  if (!comment_tail.empty() && rest.empty()) {
    // No comment in a unit whose comments are implied: say so with an empty zc.
    if (bam_aux_update_array(b, "zc", 'C', 0, const_cast<char*>("")) < 0) return Internal("aux append failed");
  } else if (!rest.empty() && !derivable) {
    if (rest.size() > 1 && rest[0] == ' ' && PrintableText(rest.substr(1))) {
      if (AppendTextTag(b, "CO", rest.substr(1)) < 0) return Internal("aux append failed");
    } else {
      if (bam_aux_update_array(b, "zc", 'C', static_cast<uint32_t>(rest.size()),
                               const_cast<char*>(rest.data())) < 0)
        return Internal("aux append failed");
    }
  }
  const std::string_view plus = std::string_view(rec.plus).substr(1);
  if (rules.plus_repeats) {
    // Nothing when the '+' line repeats the header; an empty zp for a bare '+'.
    if (plus != std::string_view(rec.header).substr(1) && AppendTextTag(b, "zp", plus) < 0)
      return Internal("aux append failed");
  } else if (!plus.empty()) {
    if (AppendTextTag(b, "zp", plus) < 0) return Internal("aux append failed");
  }
  if (exotic) {
    if (AppendTextTag(b, "zs", rec.seq) < 0) return Internal("aux append failed");
  }
  if (rule == NameRule::kVerbatimMarked) {
    const char verbatim = 'v';
    if (bam_aux_append(b, "zn", 'A', 1, reinterpret_cast<const uint8_t*>(&verbatim)) < 0)
      return Internal("aux append failed");
  }
  if (!rules.sra_prefix.empty() && !sra_fits) {
    const char verbatim = 'v';  // kept its SRA name and comment as they were
    if (bam_aux_append(b, "zd", 'A', 1, reinterpret_cast<const uint8_t*>(&verbatim)) < 0)
      return Internal("aux append failed");
  }
  if (!read_group.empty()) {
    if (bam_aux_append(b, "RG", 'Z', static_cast<int>(read_group.size() + 1),
                       reinterpret_cast<const uint8_t*>(read_group.c_str())) < 0)
      return Internal("aux append failed");
  }
  return Status::Ok();
}

FastqRules::FastqRules(const sam_hdr_t* header) {
  sam_hdr_t* h = const_cast<sam_hdr_t*>(header);  // htslib's lookups take a non-const header
  const int n = h ? sam_hdr_count_lines(h, "RG") : 0;
  kstring_t id = KS_INITIALIZE, value = KS_INITIALIZE;
  for (int i = 0; i < n; ++i) {
    if (sam_hdr_find_tag_pos(h, "RG", i, "ID", &id) != 0) continue;
    FastqGroupRules r;
    if (sam_hdr_find_tag_pos(h, "RG", i, "ms", &value) == 0) r.mate_suffix = std::string_view(value.s, value.l) == "/1/2";
    if (sam_hdr_find_tag_pos(h, "RG", i, "ct", &value) == 0) r.comment_tail.assign(value.s, value.l);
    if (sam_hdr_find_tag_pos(h, "RG", i, "pl", &value) == 0) r.plus_repeats = std::string_view(value.s, value.l) == "header";
    if (sam_hdr_find_tag_pos(h, "RG", i, "sd", &value) == 0) {
      std::string_view sd(value.s, value.l);
      size_t dot = sd.rfind('.');
      std::optional<uint64_t> first = dot == std::string_view::npos ? std::nullopt : ParseDecimal(sd.substr(dot + 1));
      if (first) {
        r.sra_prefix.assign(sd.substr(0, dot + 1));
        r.sra_first = *first;
      }
      r.sra_length = sam_hdr_find_tag_pos(h, "RG", i, "sl", &value) == 0 &&
                     std::string_view(value.s, value.l) == "length";
    }
    if (r.mate_suffix || !r.comment_tail.empty() || r.plus_repeats || !r.sra_prefix.empty())
      groups_.emplace_back(std::string(id.s, id.l), std::move(r));
  }
  ks_free(&id);
  ks_free(&value);
}

const FastqGroupRules* FastqRules::For(const bam1_t* b) const {
  if (groups_.empty()) return nullptr;
  const uint8_t* rg = bam_aux_get(b, "RG");
  const char* id = rg ? bam_aux2Z(rg) : nullptr;
  if (!id) return nullptr;
  for (const auto& [name, rules] : groups_)
    if (name == id) return &rules;
  return nullptr;
}

void FormatFastq(const bam1_t* b, std::string& out, const FastqGroupRules* rules, uint64_t spot) {
  const bool reverse = b->core.flag & BAM_FREVERSE;
  const int len = b->core.l_qseq;
  const size_t header_start = out.size();
  out.push_back('@');
  const bool sra = rules && !rules->sra_prefix.empty() && !bam_aux_get(b, "zd");
  if (sra) {
    out.append(rules->sra_prefix);
    out.append(std::to_string(spot));
    out.push_back(' ');
  }
  out.append(bam_get_qname(b));
  if (rules && rules->mate_suffix && (b->core.flag & BAM_FPAIRED) && !bam_aux_get(b, "zn"))
    out.append(b->core.flag & BAM_FREAD2 ? "/2" : "/1");
  std::string text;
  if (sra) {
    if (rules->sra_length) out.append(" length=" + std::to_string(len));
  } else if (GetTextTag(b, "zc", text)) {
    out.append(text);
  } else if (GetTextTag(b, "CO", text)) {
    out.push_back(' ');
    out.append(text);
  } else if (rules && !rules->comment_tail.empty()) {
    out.push_back(' ');
    out.push_back(CommentReadDigit(b->core.flag));
    out.append(rules->comment_tail);
  }
  const size_t header_end = out.size();
  out.push_back('\n');
  if (GetTextTag(b, "zs", text)) {
    out.append(text);
  } else {
    const uint8_t* seq = bam_get_seq(b);
    size_t start = out.size();
    out.resize(start + static_cast<size_t>(len));
    for (int i = 0; i < len; ++i) {
      if (reverse) {
        out[start + i] = seq_nt16_str[kNt16Complement[bam_seqi(seq, len - 1 - i)]];
      } else {
        out[start + i] = seq_nt16_str[bam_seqi(seq, i)];
      }
    }
  }
  out.append("\n+");
  if (GetTextTag(b, "zp", text)) {
    out.append(text);
  } else if (rules && rules->plus_repeats) {
    text.assign(out, header_start + 1, header_end - header_start - 1);
    out.append(text);
  }
  out.push_back('\n');
  const uint8_t* qual = bam_get_qual(b);
  size_t start = out.size();
  out.resize(start + static_cast<size_t>(len));
  if (len > 0 && qual[0] == 0xff) {
    // Missing qualities ('*' in SAM): FASTQ needs something; samtools writes '!'... we follow it.
    for (int i = 0; i < len; ++i) out[start + i] = '!';
  } else {
    for (int i = 0; i < len; ++i)
      out[start + i] = static_cast<char>((reverse ? qual[len - 1 - i] : qual[i]) + 33);
  }
  out.push_back('\n');
}

void FastqFormatter::Format(const bam1_t* b, std::string& out) {
  const FastqGroupRules* rules = rules_.For(b);
  if (!rules || rules->sra_prefix.empty()) return FormatFastq(b, out, rules);
  uint64_t* next = nullptr;
  for (auto& [group, spot] : spots_)
    if (group == rules) next = &spot;
  if (!next) {
    spots_.emplace_back(rules, rules->sra_first);
    next = &spots_.back().second;
  }
  FormatFastq(b, out, rules, *next);
  // A spot is a single-end read or a pair: it ends with the single read or READ2, and the next
  // one follows the SRA name it had (derived, or kept with zd).
  if (!(b->core.flag & BAM_FPAIRED) || (b->core.flag & BAM_FREAD2)) {
    const std::string name = bam_aux_get(b, "zd") ? std::string(bam_get_qname(b))
                                                  : rules->sra_prefix + std::to_string(*next);
    *next = NextSraSpot(*rules, name, *next);
  }
}

}  // namespace cramjet
