// cramjet/compress.h — the three jobs a lab runs: compress, decompress, verify.
//
// compress:   FASTQ (plain/gzip/bgzip; single, R1+R2 pairs, interleaved) or SAM/BAM/CRAM in,
//             reference-based CRAM out, with `.seqchksum` and `.md5` beside it. The output is
//             written under a temporary name, fsynced, decoded again and checked against the
//             checksums taken while reading, and only then renamed to its final name.
// decompress: CRAM back to FASTQ (byte-identical records for CRAMs cramjet made from FASTQ) or
//             to SAM/BAM.
// verify:     decode a CRAM and compare its checksums with its `.seqchksum` and `.md5`, or with
//             the inputs it was made from.
//
// Every function returns a Status: ok, or an error whose message names the file and record.
// On error nothing is left under any final output name.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "cramjet/backend.h"
#include "cramjet/status.h"

namespace cramjet {

enum class CramProfile { kFast, kNormal, kSmall, kArchive };
// "fast" | "normal" | "small" | "archive".
const char* CramProfileName(CramProfile profile);
[[nodiscard]] StatusOr<CramProfile> ParseCramProfile(const std::string& name);

// Live progress, called from the pipeline thread at most a few times a second.
// Where a job is: called at the start and the end of every stage and at most every 500 ms in
// between, on one thread at a time.
struct Progress {
  uint64_t records = 0;        // records through this stage so far
  uint64_t input_bytes = 0;    // compressed bytes consumed from the inputs so far (read stage)
  double elapsed_seconds = 0;  // since the job started
  const char* stage = "";      // "read", "sort", "encode", "verify", "qc", "index", "commit"
  // How far the stage is, 0..1, where its size is known (the read stage by input bytes, encode
  // and verify by records); negative where it is not (sort, index: one call each).
  double stage_fraction = -1;
  double stage_seconds = 0;    // since the stage started
};
using ProgressCallback = std::function<void(const Progress&)>;

enum class FastqPlacement { kMapped, kUnaligned };

struct CompressOptions {
  // Input files. FASTQ: one file (single-end or, with `interleaved`, interleaved pairs), or R1 R2
  // pairs in order (R1 R2 [R1 R2 ...]) when `paired`; several lanes of one sample are given in
  // order. SAM/BAM/CRAM: one or more files with compatible headers. "-" is standard input, once:
  // FASTQ (plain, gzip, BGZF), SAM and BAM are read as they arrive, a CRAM is spooled to $TMPDIR
  // first; it needs `sample` (or SM in rg_fields), having no file name to take it from.
  std::vector<std::string> inputs;
  bool paired = false;       // inputs are R1,R2 file pairs (the CLI detects _R1/_R2 names)
  bool interleaved = false;  // single FASTQ holds R1,R2,R1,R2...
  // Final CRAM path; required. With `output_fd`, the name the stream is made under: the CRAM is
  // spooled beside it as a temporary and its sidecars take its name (`<output>.crai`, ...).
  std::string output;
  // >= 0: after the proof, the CRAM's bytes are written to this descriptor (the CLI's standard
  // output for `-o -`) and not kept under `output`; its sidecars are. -1: a file.
  int output_fd = -1;
  std::string reference;     // FASTA (plain or bgzipped); `.fai` made if missing
  std::string cram_version = "3.1";  // "3.0" or "3.1"
  CramProfile profile = CramProfile::kNormal;
  int threads = 1;           // htslib thread pool size for (de)compression
  std::vector<std::string> drop_tags;  // aux tags to remove from aligned input
  std::string command_line;  // recorded in @PG CL
  std::string sample;        // sample name for @RG SM (default: derived from the first input)
  // FASTQ: "KEY:VALUE" fields for every @RG (the CLI's -R '@RG\tID:..\tPL:..' and --rg-field),
  // over the PL:ILLUMINA and PU:flowcell.lane.index cramjet takes from Illumina read names. SM
  // sets the sample; ID only with one input unit; DS is refused (cramjet records the layout there).
  std::vector<std::string> rg_fields;
  bool verify = true;        // decode and compare before renaming (always on in the CLI)
  bool write_index = true;   // write `<output>.crai`
  // How FASTQ reads are stored; aligned input (SAM/BAM/CRAM) is always re-encoded as given.
  //  kMapped (default): placed on the reference by cramjet's mapper, position-sorted CRAM
  //    (docs/mapper.md, docs/sort.md). Needs the mapper index beside the reference
  //    (`cramjet index REF`, or `build_index`); without one Compress fails before writing.
  //  kUnaligned: stored unplaced in input order; no index needed.
  FastqPlacement placement = FastqPlacement::kMapped;
  bool build_index = false;      // build (or rebuild) a missing or stale mapper index first
  std::string accel = "auto";    // accelerator: auto | simd | scalar | opencl[:P:D] | xrt
  std::string xclbin;            // FPGA image for xrt / auto (empty: kDefaultXclbinPath)
  // A backend made by the caller (tests inject failing devices; an embedder its own), used
  // instead of creating one from `accel`; must outlive the call.
  const Backend* backend = nullptr;
  // Mapped FASTQ from a long-read instrument: "ont", "hifi" or "clr" places every read with
  // minimap2's map-ont / map-hifi / map-pb (docs/mapper.md, "Long reads"); "none": short reads.
  std::string long_reads = "none";
  uint64_t memory_bytes = 0;     // sort budget; 0: the default (docs/sort.md)
  // Mapped FASTQ: record the input (sequencer) order so that `decompress` gives the FASTQ back
  // byte for byte in that order. The order rule goes into each @RG and only the reads that break
  // it carry their index (docs/sort.md: what it costs, when it falls back). Unaligned FASTQ is
  // stored in input order whatever this says; aligned input keeps its own order.
  bool keep_order = true;
  // Records per CRAM container; 0: htslib's for the profile (10,000; small 25,000; archive
  // 100,000). The CRAM is encoded on all `threads` and its bytes never depend on them.
  uint32_t container_records = 0;
  bool qc = true;            // QC in the same pass, files beside the CRAM (docs/qc.md)
  std::string qc_config;     // QC thresholds (TOML); empty: defaults
  ProgressCallback progress; // optional
};

struct CompressResult {
  uint64_t records = 0;        // primary records written
  uint64_t bases = 0;
  uint64_t input_bytes = 0;    // sum of input file sizes
  uint64_t output_bytes = 0;   // CRAM size
  std::string output_md5;      // lower-case hex MD5 of the CRAM
  std::string seqchksum_path;  // `<output>.seqchksum`
  std::string md5_path;        // `<output>.md5`
  std::string index_path;      // `<output>.crai` or empty
  std::vector<std::string> qc_paths;  // QC files (`<prefix>.qc.json`, ...) or empty
  double seconds = 0;
  // Wall seconds of each stage, in order, for `--stats` and the daemon.
  std::vector<std::pair<std::string, double>> stage_seconds;
};

[[nodiscard]] StatusOr<CompressResult> Compress(const CompressOptions& options);

enum class DecompressFormat { kFastq, kFastqGz, kSam, kBam };

struct DecompressOptions {
  std::string input;          // CRAM (or BAM/SAM)
  std::string reference;      // needed when the CRAM's reference cannot be found by M5/UR
  DecompressFormat format = DecompressFormat::kFastq;
  // FASTQ: one output (single-end or interleaved) or two (R1, R2). SAM/BAM: one output.
  // "-" writes to standard output.
  std::vector<std::string> outputs;
  bool interleaved = false;   // pairs to one FASTQ output, R1 then R2
  // FASTQ output order. kAuto: the input order when the CRAM recorded it (every cramjet CRAM of
  // FASTQ unless made with --no-keep-order), else mates collated by name so pairs are in sync.
  // kOriginal: the input order, an error when it was not recorded. kStored: as stored (position
  // order; single output only, mates may be far apart). SAM/BAM output is always as stored.
  enum class Order { kAuto, kOriginal, kStored };
  Order order = Order::kAuto;
  uint64_t memory_bytes = 0;    // budget for restoring the order or collating; 0: default
  int threads = 1;
};

struct DecompressResult {
  uint64_t records = 0;
};

[[nodiscard]] StatusOr<DecompressResult> Decompress(const DecompressOptions& options);

struct VerifyOptions {
  std::string cram;                   // file to check
  std::string reference;              // optional, as for Decompress
  std::vector<std::string> against;   // inputs to compare with; empty: compare with .seqchksum/.md5
  bool paired = false;                // `against` are R1,R2 pairs
  bool interleaved = false;
  int threads = 1;
};

struct VerifyResult {
  bool equal = false;              // the verdict
  uint64_t records = 0;            // primary records in the CRAM
  uint64_t expected_records = 0;   // from the .seqchksum or the inputs
  bool md5_checked = false;        // a .md5 was present and compared
  bool md5_equal = false;
  std::string verdict;             // one line, e.g. "OK: 56320 reads, checksums equal"
  std::string cram_seqchksum;      // the recomputed .seqchksum text
  std::string expected_seqchksum;  // the one compared against
  std::string md5;                 // MD5 of the CRAM when md5_checked
  std::string expected_md5;        // from the .md5 file when md5_checked
  std::string expected_source;     // what was compared with: "<cram>.seqchksum" or the inputs
  std::vector<std::string> differences;  // one line per differing row/column (empty when equal)
};

// Ok with result.equal == false when the comparison ran and found a difference; an error when
// the comparison could not run (missing or unreadable file).
[[nodiscard]] StatusOr<VerifyResult> Verify(const VerifyOptions& options);

}  // namespace cramjet
