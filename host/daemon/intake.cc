// cramjetd intake: safe names, RunInfo.xml, SampleSheet.csv (v1, v2, mixed), run readiness,
// FASTQ discovery and drop-folder entries.
#include <expat.h>
#include <sys/stat.h>

#include <algorithm>
#include <cctype>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <memory>
#include <regex>
#include <set>

#include "common/common.h"
#include "daemon/intake.h"

namespace cramjet::daemon {
namespace fs = std::filesystem;

Status CheckSafeName(std::string_view name, std::string_view what) {
  std::string shown;
  for (char c : name) shown += static_cast<unsigned char>(c) < 0x20 || c == 0x7f ? '?' : c;
  auto refuse = [&](const char* why) {
    return BadInput(std::string(what) + " '" + shown + "' " + why);
  };
  if (name.empty()) return refuse("is empty");
  if (name.size() > 200) return refuse("is longer than 200 bytes");
  if (name == "." || name == "..") return refuse("is a relative folder name");
  if (name.find("..") != std::string_view::npos) return refuse("contains '..'");
  if (name.front() == '.') return refuse("starts with '.'");
  // "-rf.cram": a file name that a shell command of an operator would take for an option.
  if (name.front() == '-') return refuse("starts with '-'");
  // Names go into the journal's JSON, API replies and the manifest, which are UTF-8.
  if (!IsValidUtf8(name)) return refuse("is not valid UTF-8");
  for (char c : name) {
    if (c == '/' || c == '\\') return refuse("contains a path separator");
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) return refuse("contains a control character");
  }
  return Status::Ok();
}

static std::string Resolve(const std::string& path) {
  std::error_code ec;
  fs::path p = fs::absolute(path, ec);
  fs::path r = fs::weakly_canonical(p, ec);
  return (ec ? p.lexically_normal() : r).string();
}

bool PathIsInside(const std::string& path, const std::string& root) {
  if (root.empty()) return false;
  std::string p = Resolve(path), r = Resolve(root);
  while (r.size() > 1 && r.back() == '/') r.pop_back();
  if (p == r) return true;
  return p.size() > r.size() && p.compare(0, r.size(), r) == 0 && p[r.size()] == '/';
}

bool IsRunFolderOf(const std::string& path, const std::string& root) {
  const std::string resolved = Resolve(path);
  std::string r = Resolve(root);
  while (r.size() > 1 && r.back() == '/') r.pop_back();
  std::error_code ec;
  return fs::path(resolved).parent_path().string() == r && fs::is_directory(resolved, ec);
}

// ---- RunInfo.xml ----------------------------------------------------------------------------
// Read with expat, a well-kept XML parser (entities, comments, CDATA, either quote style, and
// entity-expansion limits), not with patterns: the fields come from the elements themselves.
namespace {

struct RunInfoReader {
  RunInfo info;
  bool saw_run = false;
  std::string number;        // <Run Number="...">
  std::string* text = nullptr;  // the <Flowcell> or <Instrument> being read, first of each only
  bool flowcell_done = false, instrument_done = false;

  static const char* Attribute(const XML_Char** attributes, const char* name) {
    for (size_t i = 0; attributes[i] != nullptr; i += 2)
      if (std::strcmp(attributes[i], name) == 0) return attributes[i + 1];
    return nullptr;
  }
  static void Start(void* user, const XML_Char* name, const XML_Char** attributes) {
    auto& r = *static_cast<RunInfoReader*>(user);
    if (std::strcmp(name, "Run") == 0 && !r.saw_run) {
      r.saw_run = true;
      if (const char* id = Attribute(attributes, "Id")) r.info.run_id = id;
      if (const char* n = Attribute(attributes, "Number")) r.number = n;
    } else if (std::strcmp(name, "Flowcell") == 0 && !r.flowcell_done) {
      r.text = &r.info.flowcell;
    } else if (std::strcmp(name, "Instrument") == 0 && !r.instrument_done) {
      r.text = &r.info.instrument;
    } else if (std::strcmp(name, "FlowcellLayout") == 0) {
      if (const char* lanes = Attribute(attributes, "LaneCount"))
        r.info.lane_count = ParseDecimalInt(lanes).value_or(0);
    } else if (std::strcmp(name, "Read") == 0) {
      if (const char* cycles = Attribute(attributes, "NumCycles"); cycles != nullptr && *cycles != '\0')
        r.info.read_cycles.push_back(ParseDecimalInt(cycles).value_or(0));
    }
  }
  static void End(void* user, const XML_Char* name) {
    auto& r = *static_cast<RunInfoReader*>(user);
    if (r.text == nullptr) return;
    if (r.text == &r.info.flowcell && std::strcmp(name, "Flowcell") == 0) r.flowcell_done = true;
    else if (r.text == &r.info.instrument && std::strcmp(name, "Instrument") == 0) r.instrument_done = true;
    else return;
    *r.text = std::string(Trim(*r.text));
    r.text = nullptr;
  }
  static void Text(void* user, const XML_Char* data, int length) {
    auto& r = *static_cast<RunInfoReader*>(user);
    if (r.text != nullptr && r.text->size() < 4096) r.text->append(data, static_cast<size_t>(length));
  }
  static std::string_view Trim(std::string_view s) {
    const size_t a = s.find_first_not_of(" \t\r\n");
    if (a == std::string_view::npos) return {};
    return s.substr(a, s.find_last_not_of(" \t\r\n") - a + 1);
  }
};

struct ExpatParserFree {
  void operator()(XML_Parser p) const { XML_ParserFree(p); }
};

}  // namespace

StatusOr<RunInfo> ParseRunInfo(std::string_view xml, std::string_view source_view) {
  const std::string source(source_view);
  // A RunInfo.xml is a few kilobytes; this bound keeps a stray huge file from being read whole.
  constexpr size_t kMaxRunInfoBytes = 16u << 20;
  if (xml.size() > kMaxRunInfoBytes)
    return BadInput(source + ": " + std::to_string(xml.size()) + " bytes, larger than any RunInfo.xml (limit 16 MiB)");
  std::unique_ptr<std::remove_pointer_t<XML_Parser>, ExpatParserFree> parser(XML_ParserCreate(nullptr));
  if (!parser) return Internal(source + ": cannot create an XML parser (out of memory)");
  RunInfoReader reader;
  XML_SetUserData(parser.get(), &reader);
  XML_SetElementHandler(parser.get(), &RunInfoReader::Start, &RunInfoReader::End);
  XML_SetCharacterDataHandler(parser.get(), &RunInfoReader::Text);
  if (XML_Parse(parser.get(), xml.data(), static_cast<int>(xml.size()), XML_TRUE) != XML_STATUS_OK)
    return BadInput(source + ": line " + std::to_string(XML_GetCurrentLineNumber(parser.get())) + ": not well-formed XML (" +
                    XML_ErrorString(XML_GetErrorCode(parser.get())) + ")");
  if (!reader.saw_run) return BadInput(source + ": no <Run> element (not an Illumina RunInfo.xml)");
  RunInfo info = std::move(reader.info);
  info.run_number = ParseDecimalInt(reader.number).value_or(0);  // informational only
  if (info.run_id.empty()) return BadInput(source + ": <Run> has no Id attribute");
  for (const auto& name : {info.instrument, info.flowcell})
    if (!name.empty()) CRAMJET_RETURN_IF_ERROR(CheckSafeName(name, source + ": name"));
  return info;
}

// ---- SampleSheet.csv --------------------------------------------------------------------------
static std::vector<std::string> SplitCsvLine(const std::string& line) {
  std::vector<std::string> cells;
  std::string cell;
  bool quoted = false;
  for (size_t i = 0; i < line.size(); ++i) {
    char c = line[i];
    if (quoted) {
      if (c == '"' && i + 1 < line.size() && line[i + 1] == '"') { cell += '"'; ++i; }
      else if (c == '"') quoted = false;
      else cell += c;
    } else if (c == '"') {
      quoted = true;
    } else if (c == ',') {
      cells.push_back(cell);
      cell.clear();
    } else {
      cell += c;
    }
  }
  cells.push_back(cell);
  for (auto& s : cells) {
    size_t a = s.find_first_not_of(" \t"), b = s.find_last_not_of(" \t");
    s = a == std::string::npos ? "" : s.substr(a, b - a + 1);
  }
  while (!cells.empty() && cells.back().empty()) cells.pop_back();  // Excel's trailing commas
  return cells;
}

static std::string Lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

StatusOr<SampleSheet> ParseSampleSheet(std::string_view text_view, std::string_view source_view) {
  std::string text(text_view), source(source_view);
  if (text.compare(0, 3, "\xEF\xBB\xBF") == 0) text.erase(0, 3);
  struct Section {
    std::string name;
    std::vector<std::pair<int, std::vector<std::string>>> lines;
  };
  std::vector<Section> sections;
  int line_no = 0;
  size_t pos = 0;
  while (pos <= text.size()) {
    size_t nl = text.find('\n', pos);
    std::string line = text.substr(pos, nl == std::string::npos ? std::string::npos : nl - pos);
    pos = nl == std::string::npos ? text.size() + 1 : nl + 1;
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    auto cells = SplitCsvLine(line);
    if (cells.empty()) continue;
    if (cells[0].size() >= 2 && cells[0].front() == '[' && cells[0].back() == ']') {
      sections.push_back({cells[0].substr(1, cells[0].size() - 2), {}});
      continue;
    }
    if (sections.empty())
      return BadInput(source + ": line " + std::to_string(line_no) + ": text before the first [Section]");
    sections.back().lines.push_back({line_no, cells});
  }
  SampleSheet sheet;
  for (const auto& s : sections)
    if (Lower(s.name) == "header")
      for (const auto& [n, cells] : s.lines)
        if (cells.size() >= 2 && Lower(cells[0]) == "fileformatversion")
          sheet.version = ParseDecimalInt(cells[1]).value_or(sheet.version);

  // The data section: BCL Convert's first, then v1's [Data], then any *_Data with a Sample_ID column.
  const Section* data = nullptr;
  for (const char* preferred : {"bclconvert_data", "data"})
    for (const auto& s : sections)
      if (!data && Lower(s.name) == preferred) data = &s;
  for (const auto& s : sections)
    if (!data && Lower(s.name).size() > 5 && Lower(s.name).ends_with("_data") && !s.lines.empty()) {
      for (const auto& cell : s.lines[0].second)
        if (Lower(cell) == "sample_id") data = &s;
    }
  if (!data || data->lines.empty())
    return BadInput(source + ": no [Data] or [BCLConvert_Data] section with samples");
  sheet.data_section = data->name;
  const auto& header = data->lines[0].second;
  int c_id = -1, c_name = -1, c_project = -1, c_lane = -1, c_ref = -1, c_library = -1;
  for (size_t i = 0; i < header.size(); ++i) {
    std::string h = Lower(header[i]);
    if (h == "sample_id") c_id = static_cast<int>(i);
    else if (h == "sample_name") c_name = static_cast<int>(i);
    else if (h == "sample_project" || h == "project") c_project = static_cast<int>(i);
    else if (h == "lane") c_lane = static_cast<int>(i);
    else if (h == "library_id" || h == "library" || h == "library_name") c_library = static_cast<int>(i);
    else if (h == "reference" || h == "genome" || h == "referencegenome" || h == "genomefolder")
      c_ref = static_cast<int>(i);
  }
  if (c_id < 0)
    return BadInput(source + ": line " + std::to_string(data->lines[0].first) + ": [" + data->name +
                    "] has no Sample_ID column");
  auto cell = [](const std::vector<std::string>& cells, int c) {
    return c >= 0 && c < static_cast<int>(cells.size()) ? cells[c] : std::string();
  };
  for (size_t i = 1; i < data->lines.size(); ++i) {
    const auto& [n, cells] = data->lines[i];
    SampleSheetRow row;
    row.line = n;
    row.sample_id = cell(cells, c_id);
    row.sample_name = cell(cells, c_name);
    row.project = cell(cells, c_project);
    row.reference = cell(cells, c_ref);
    row.library = cell(cells, c_library);
    std::string lane = cell(cells, c_lane);
    std::string where = source + ": line " + std::to_string(n);
    if (row.sample_id.empty()) return BadInput(where + ": empty Sample_ID");
    CRAMJET_RETURN_IF_ERROR(CheckSafeName(row.sample_id, where + ": Sample_ID"));
    if (!row.sample_name.empty()) CRAMJET_RETURN_IF_ERROR(CheckSafeName(row.sample_name, where + ": Sample_Name"));
    if (!row.project.empty()) CRAMJET_RETURN_IF_ERROR(CheckSafeName(row.project, where + ": Sample_Project"));
    if (!row.library.empty()) CRAMJET_RETURN_IF_ERROR(CheckSafeName(row.library, where + ": library"));
    if (!lane.empty()) {
      if (!std::all_of(lane.begin(), lane.end(), ::isdigit) || lane.size() > 2)
        return BadInput(where + ": Lane '" + lane + "' is not a lane number");
      row.lane = ParseDecimalInt(lane).value_or(0);  // two digits at most, checked above
    }
    sheet.rows.push_back(row);
  }
  if (sheet.rows.empty()) return BadInput(source + ": [" + data->name + "] lists no samples");
  return sheet;
}

// ---- FASTQ names and run folders -------------------------------------------------------------
std::optional<FastqName> ParseFastqName(std::string_view file_name) {
  static const std::regex re("^(.+)_S([0-9]+)(?:_L([0-9]{3}))?_R([12])_001\\.fastq(?:\\.gz)?$");
  std::string name(file_name);
  std::smatch m;
  if (!std::regex_match(name, m, re)) return std::nullopt;
  FastqName f;
  f.sample = m[1].str();
  // Digits by the pattern, but as many as a file name holds: too large is not a bcl-convert name.
  const std::optional<int> s_number = ParseDecimalInt(m[2].str());
  if (!s_number) return std::nullopt;
  f.s_number = *s_number;
  f.lane = m[3].matched ? ParseDecimalInt(m[3].str()).value_or(0) : 0;
  f.read = m[4].str() == "2" ? 2 : 1;
  return f;
}

static double FileAgeSeconds(const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) return -1;
  return std::difftime(std::time(nullptr), st.st_mtime);
}

RunReadiness CheckRunReady(const std::string& run_dir, double rta_only_timeout_s, std::string* why) {
  std::error_code ec;
  if (!fs::exists(run_dir + "/RunInfo.xml", ec)) return RunReadiness::kNotARun;
  double rta_age = FileAgeSeconds(run_dir + "/RTAComplete.txt");
  if (rta_age < 0) {
    if (why) *why = "waiting for RTAComplete.txt";
    return RunReadiness::kWaiting;
  }
  if (fs::exists(run_dir + "/CopyComplete.txt", ec)) return RunReadiness::kReady;
  if (rta_age >= rta_only_timeout_s) return RunReadiness::kReady;
  if (why)
    *why = "waiting for CopyComplete.txt (RTAComplete.txt is " + std::to_string(static_cast<int>(rta_age)) +
           " s old; taken anyway after " + std::to_string(static_cast<int>(rta_only_timeout_s)) + " s)";
  return RunReadiness::kWaiting;
}

// Folders that hold BCLs, images or logs: never where FASTQs are, and huge on real runs.
static bool SkipFolder(const std::string& name) {
  static const std::regex skip("^(L[0-9]{3}|C[0-9]+\\.[0-9]+|Thumbnail_Images|InterOp|Logs|Config|Recipe|Images|"
                               "PeriodicSaveRates|\\..*)$");
  return std::regex_match(name, skip);
}

static void FindFiles(const std::string& dir, int depth, std::vector<std::string>& out) {
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    std::string name = entry.path().filename().string();
    if (entry.is_directory(ec)) {
      if (depth > 0 && !entry.is_symlink(ec) && !SkipFolder(name)) FindFiles(entry.path().string(), depth - 1, out);
    } else if (entry.is_regular_file(ec)) {
      if (name.ends_with(".fastq.gz") || name.ends_with(".fastq") || name.ends_with(".bam") ||
          name.ends_with(".cram"))
        out.push_back(entry.path().string());
    }
  }
}

static uint64_t SizeOf(const std::string& path) {
  std::error_code ec;
  auto s = fs::file_size(path, ec);
  return ec ? 0 : s;
}

StatusOr<std::vector<SampleInputs>> CollectRunSamples(const std::string& run_dir, const SampleSheet& sheet) {
  std::vector<std::string> files;
  FindFiles(run_dir, 6, files);
  std::sort(files.begin(), files.end());
  // sample -> lane -> read -> path (a later Analysis/<n> replaces an earlier one: sorted order).
  std::map<std::string, std::map<int, std::map<int, std::string>>> fastqs;
  std::map<std::string, std::string> aligned;
  for (const auto& path : files) {
    std::string base = BaseName(path);
    if (auto f = ParseFastqName(base)) {
      fastqs[f->sample][f->lane][f->read] = path;
    } else if (base.ends_with(".bam") || base.ends_with(".cram")) {
      aligned[base.substr(0, base.rfind('.'))] = path;
    }
  }
  std::vector<SampleInputs> samples;
  std::set<std::string> seen;
  for (const auto& row : sheet.rows) {
    if (!seen.insert(row.sample_id).second) continue;  // one job per sample, all lanes together
    SampleInputs s;
    s.sample = row.sample_id;
    s.reference = row.reference;
    s.library = row.library;
    // bcl2fastq names files by Sample_Name when set; BCL Convert by Sample_ID.
    const std::map<int, std::map<int, std::string>>* lanes = nullptr;
    for (const auto& candidate : {row.sample_id, row.sample_name})
      if (!lanes && !candidate.empty() && fastqs.count(candidate)) lanes = &fastqs[candidate];
    if (lanes) {
      s.format = "fastq";
      bool any_r2 = false;
      for (const auto& [lane, reads] : *lanes) any_r2 |= reads.count(2) > 0;
      s.paired = any_r2;
      for (const auto& [lane, reads] : *lanes) {
        if (!reads.count(1))
          return BadInput(run_dir + ": sample '" + s.sample + "' lane " + std::to_string(lane) + " has R2 but no R1");
        if (any_r2 && !reads.count(2))
          return BadInput(run_dir + ": sample '" + s.sample + "' lane " + std::to_string(lane) + " has R1 but no R2");
        s.inputs.push_back(reads.at(1));
        if (any_r2) s.inputs.push_back(reads.at(2));
        if (lane) s.lanes.push_back(lane);
      }
    } else {
      std::string found;
      for (const auto& candidate : {row.sample_id, row.sample_name})
        if (found.empty() && !candidate.empty() && aligned.count(candidate)) found = aligned[candidate];
      if (found.empty())
        return NotFound(run_dir + ": no FASTQ, BAM or CRAM yet for sample '" + s.sample + "' (SampleSheet line " +
                        std::to_string(row.line) + ")");
      s.format = found.ends_with(".cram") ? "cram" : "bam";
      s.inputs.push_back(found);
    }
    for (const auto& in : s.inputs) s.input_bytes += SizeOf(in);
    samples.push_back(std::move(s));
  }
  return samples;
}

StatusOr<SampleInputs> CollectDropSample(const std::string& entry_path) {
  std::error_code ec;
  SampleInputs s;
  std::string base = BaseName(entry_path);
  auto strip = [](std::string name) {
    for (const char* ext : {".fastq.gz", ".fq.gz", ".fastq", ".fq", ".bam", ".cram"})
      if (name.ends_with(ext)) return name.substr(0, name.size() - std::string(ext).size());
    return std::string();
  };
  auto is_fastq = [](const std::string& n) {
    return n.ends_with(".fastq.gz") || n.ends_with(".fq.gz") || n.ends_with(".fastq") || n.ends_with(".fq");
  };
  if (fs::is_regular_file(entry_path, ec)) {
    s.sample = strip(base);
    if (s.sample.empty()) return BadInput(entry_path + ": not a FASTQ, BAM or CRAM file name");
    s.format = is_fastq(base) ? "fastq" : base.ends_with(".cram") ? "cram" : "bam";
    s.inputs.push_back(entry_path);
  } else if (fs::is_directory(entry_path, ec)) {
    s.sample = base;
    std::vector<std::string> files;
    for (const auto& e : fs::directory_iterator(entry_path, ec))
      if (e.is_regular_file(ec) && !strip(e.path().filename().string()).empty()) files.push_back(e.path().string());
    std::sort(files.begin(), files.end());
    if (files.empty()) return BadInput(entry_path + ": sample folder holds no FASTQ, BAM or CRAM");
    std::vector<std::string> r1, r2, other;
    static const std::regex r1_re(".*[._]R?1(_001)?\\.(fastq|fq)(\\.gz)?$"), r2_re(".*[._]R?2(_001)?\\.(fastq|fq)(\\.gz)?$");
    for (const auto& f : files) {
      std::string n = BaseName(f);
      if (!is_fastq(n)) other.push_back(f);
      else if (std::regex_match(n, r1_re)) r1.push_back(f);
      else if (std::regex_match(n, r2_re)) r2.push_back(f);
      else other.push_back(f);
    }
    if (!r1.empty() && r1.size() == r2.size() && other.empty()) {
      s.format = "fastq";
      s.paired = true;
      for (size_t i = 0; i < r1.size(); ++i) {
        s.inputs.push_back(r1[i]);
        s.inputs.push_back(r2[i]);
      }
    } else if (r1.empty() && r2.empty()) {
      bool all_fastq = std::all_of(other.begin(), other.end(), [&](const std::string& f) { return is_fastq(BaseName(f)); });
      bool all_aligned = std::none_of(other.begin(), other.end(), [&](const std::string& f) { return is_fastq(BaseName(f)); });
      if (!all_fastq && !all_aligned) return BadInput(entry_path + ": mixes FASTQ with BAM/CRAM files");
      s.format = all_fastq ? "fastq" : other[0].ends_with(".cram") ? "cram" : "bam";
      s.inputs = other;
    } else {
      return BadInput(entry_path + ": R1 and R2 FASTQs do not pair up (" + std::to_string(r1.size()) + " R1, " +
                      std::to_string(r2.size()) + " R2, " + std::to_string(other.size()) + " other)");
    }
  } else {
    return NotFound(entry_path + ": no such file or folder");
  }
  CRAMJET_RETURN_IF_ERROR(CheckSafeName(s.sample, entry_path + ": sample name"));
  for (const auto& in : s.inputs) s.input_bytes += SizeOf(in);
  return s;
}

}  // namespace cramjet::daemon
