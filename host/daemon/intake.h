// host/daemon/intake.h — what intake reads from the outside: names, Illumina run folders
// (RunInfo.xml, SampleSheet.csv v1/v2, FASTQ names, readiness markers) and drop-folder entries.
// Pure functions over files; the scanning that turns them into jobs is intake_scanner.h.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cramjet/status.h"

namespace cramjet::daemon {

// Ok when `name` can be used as one path component under an output root: not empty, not "." or
// "..", no '/', no '\\', no control characters, no leading '.' or '-', at most 200 bytes.
[[nodiscard]] Status CheckSafeName(std::string_view name, std::string_view what);
// Whether `path` (made absolute, symlinks resolved where it exists) is `root` or inside it.
bool PathIsInside(const std::string& path, const std::string& root);
// The one rule for a run folder, for the scanner and `submit` alike: `path` resolved (symlinks
// followed) must be a folder directly under `root`. A symlink to a folder elsewhere is refused:
// its files would be deleted by cleanup outside every configured root.
bool IsRunFolderOf(const std::string& path, const std::string& root);

struct RunInfo {
  std::string run_id;      // <Run Id="...">
  std::string instrument;
  std::string flowcell;
  int run_number = 0;
  int lane_count = 0;
  std::vector<int> read_cycles;  // per read, index reads included
};
[[nodiscard]] StatusOr<RunInfo> ParseRunInfo(std::string_view xml, std::string_view source);

struct SampleSheetRow {
  std::string sample_id;
  std::string sample_name;
  std::string project;
  std::string library;    // Library_ID / Library / Library_Name column: the @RG LB (may be empty)
  std::string reference;  // Reference / Genome / ReferenceGenome / GenomeFolder column: a name
  int lane = 0;           // 0: no Lane column
  int line = 0;
};
struct SampleSheet {
  int version = 1;        // 2 when [Header] has FileFormatVersion,2
  std::string data_section;  // e.g. "BCLConvert_Data" or "Data"
  std::vector<SampleSheetRow> rows;
};
// v1 ([Data]), v2 ([BCLConvert_Data]) and mixes, with BOM, CRLF, quotes and Excel's trailing
// commas. Every Sample_ID must pass CheckSafeName; the error names the file and line.
[[nodiscard]] StatusOr<SampleSheet> ParseSampleSheet(std::string_view text, std::string_view source);

// `<Sample>_S<n>[_L00<l>]_R<r>_001.fastq[.gz]`
struct FastqName {
  std::string sample;
  int s_number = 0;
  int lane = 0;  // 0: no lane splitting
  int read = 0;  // 1 or 2 (index reads I1/I2 are not matched)
};
std::optional<FastqName> ParseFastqName(std::string_view file_name);

// One sample of a run ready to become a job.
struct SampleInputs {
  std::string sample;
  std::vector<std::string> inputs;  // FASTQ: R1,R2 per lane in lane order; or one BAM/CRAM
  bool paired = false;
  std::string format;               // "fastq" | "bam" | "cram"
  std::vector<int> lanes;
  std::string reference;            // name from the sample sheet (may be empty)
  std::string library;              // the sheet's library column (may be empty): @RG LB
  uint64_t input_bytes = 0;
};

enum class RunReadiness { kNotARun, kWaiting, kReady };
// kReady when RTAComplete.txt and CopyComplete.txt exist, or RTAComplete.txt is older than
// `rta_only_timeout_s`. `why` says what is missing.
RunReadiness CheckRunReady(const std::string& run_dir, double rta_only_timeout_s, std::string* why);
// Finds each sheet sample's FASTQs (or onboard BAM/CRAM) in the run folder. Error when a sample
// has no inputs (the run is not complete yet) or an R1 has no R2.
[[nodiscard]] StatusOr<std::vector<SampleInputs>> CollectRunSamples(const std::string& run_dir,
                                                                    const SampleSheet& sheet);
// A file or sample folder in the drop folder as one sample.
[[nodiscard]] StatusOr<SampleInputs> CollectDropSample(const std::string& entry_path);

}  // namespace cramjet::daemon
