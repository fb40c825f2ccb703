// host/encode/stitch_internal.h — byte-level surgery on CRAM 3.x containers, so that containers
// encoded by separate htslib writers can be joined into one valid CRAM file (encode.h's
// "deterministic parallel encoding"). Internal to the encode stage; tested on its own.
//
// A CRAM 3.x file is: a 26-byte file definition ("CRAM", major, minor, 20-byte file ID), the header
// container, data containers, and the EOF container. Containers are position-independent: their
// slice offsets (landmarks) are relative to the container's own data, so a container can be moved
// to another file as it is. The one field that is not is the record counter (the 0-based index of
// the container's first record in the file), stored in the container header and in every slice
// header; RebaseContainers() rewrites it and the CRCs that cover it.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "cramjet/status.h"

namespace cramjet {
namespace cram_bytes {

// ITF8 / LTF8 as the CRAM 3 specification defines them (section 2.3). Put* append to `out`;
// Get* read at `*pos`, advance it and return false when the bytes end early.
void PutItf8(uint32_t value, std::string* out);
void PutLtf8(uint64_t value, std::string* out);
bool GetItf8(std::string_view bytes, size_t* pos, uint32_t* value);
bool GetLtf8(std::string_view bytes, size_t* pos, uint64_t* value);

// What a container header says; `header_size` is its own length in bytes (through the CRC).
struct ContainerHeader {
  int32_t length = 0;  // bytes of container data after the header
  int32_t ref_seq_id = 0;
  uint32_t ref_seq_start = 0;
  uint32_t ref_seq_span = 0;
  uint32_t num_records = 0;
  uint64_t record_counter = 0;
  uint64_t num_bases = 0;
  uint32_t num_blocks = 0;
  std::vector<int32_t> landmarks;
  size_t header_size = 0;
};

// Parses the container header at `offset`. Error (kBadInput) when it is cut short, its CRC32 is
// wrong or its data run past the end of `bytes`.
[[nodiscard]] StatusOr<ContainerHeader> ParseContainerHeader(std::string_view bytes, size_t offset);
// The same without the check that its data are in `bytes` (for reading a file container by
// container).
[[nodiscard]] StatusOr<ContainerHeader> ParseContainerHeaderOnly(std::string_view bytes, size_t offset);

// Appends the header (with a fresh CRC32) to `out`; `header.header_size` is ignored.
void AppendContainerHeader(const ContainerHeader& header, std::string* out);

// Whether the container is the EOF marker (no records, ref -1, start 0x454f46).
bool IsEofContainer(const ContainerHeader& header);

// One block (CRAM 3.x: method, content type, content ID, sizes, data, CRC32).
struct Block {
  uint8_t method = 0;        // 0 raw, 1 gzip, 2 bzip2, 3 lzma, 4 rans4x8, 5 rans4x16, 6 arith,
                             // 7 fqzcomp, 8 name tokeniser
  uint8_t content_type = 0;  // 0 file header, 1 compression header, 2 slice header, 4 external, 5 core
  uint32_t content_id = 0;
  uint32_t raw_size = 0;
  std::string_view data;     // as stored (compressed unless method 0)
  size_t size = 0;           // the whole block, CRC32 included
};
// Parses the block at `pos`; false when it is cut short or its CRC32 is wrong.
[[nodiscard]] bool ParseBlock(std::string_view bytes, size_t pos, Block* block);

// Bytes before the EOF container that ends `tail` (whole containers, then the EOF one); error when
// `tail` is not that.
[[nodiscard]] StatusOr<size_t> DataBeforeEof(std::string_view tail);

// Length of the file definition plus the header container at the start of `bytes`; error when
// `bytes` does not start with a complete CRAM 3.x preamble.
[[nodiscard]] StatusOr<size_t> PreambleLength(std::string_view bytes);

// Appends the data containers in `containers` (whole containers, back to back, no EOF) to `out`
// with every record counter, in container and slice headers, increased by `delta` (CRCs and, where
// a counter's encoding changes length, block sizes, landmarks and container lengths follow).
// Returns the number of records those containers hold. Error when the bytes are not whole
// containers, a slice header is not where the landmarks say, or a counter would go negative.
[[nodiscard]] StatusOr<uint64_t> RebaseContainers(std::string_view containers, int64_t delta,
                                                  std::string* out);

}  // namespace cram_bytes
}  // namespace cramjet
