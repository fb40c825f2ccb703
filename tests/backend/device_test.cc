// The device path: every kernel of kernels/hls (C simulation) and kernels/opencl (PoCL here, a GPU
// where one is installed) behind DeviceBackend gives exactly the scalar twin's results, over
// batch edge cases and batches split across many device buffers; device failures and wrong
// device outputs are caught; the XRT backend's checks up to the device call; whole-mapper and
// CRAM-byte identity on real reads.
#include <cstring>
#include <fstream>
#include <random>

#include <gtest/gtest.h>

#include "backend/device.h"
#include "common/test_util.h"
#include "csim_runner.h"
#include "device_backends.h"
#include "common/kernel_cases.h"
#include "map_test_util.h"
#include "qc/qc.h"
#include "cramjet/compress.h"

#ifdef CRAMJET_HAVE_XRT
#include <xclbin.h>
#endif

namespace cramjet {
namespace {

using backend_internal::DeviceArg;
using backend_internal::DeviceFailurePolicy;
using backend_internal::DeviceKernel;
using testing::CsimRunner;
using testing::DeviceBackends;
using testing::Faulty;
using testing::Fault;
using testing::FaultyRunner;
using testing::AlignCase;
using testing::ExpectSameAlignments;
using testing::HammingCase;
using testing::RandomCodes;
using testing::Scalar;
using testing::TinyLimits;

// ---- Seeds ----------------------------------------------------------------------------------

struct SeedCase {
  std::vector<uint8_t> codes;
  std::vector<uint32_t> offsets{0};
  std::vector<uint32_t> select;
  void Add(const std::vector<uint8_t>& c) {
    codes.insert(codes.end(), c.begin(), c.end());
    offsets.push_back(static_cast<uint32_t>(codes.size()));
  }
  SeedCase() {
    std::mt19937 rng(11);
    Add({});                                        // empty
    Add(RandomCodes(rng, CJ_SEED_K - 1, 0));        // no k-mer
    Add(RandomCodes(rng, CJ_SEED_K + 3, 0));        // fewer k-mers than a window
    Add(std::vector<uint8_t>(300, CJ_BASE_N));      // all N
    Add(RandomCodes(rng, 20000, 2));                // longer than any alignment
    Add(std::vector<uint8_t>(500, 2));              // one k-mer repeated: ties everywhere
    for (int i = 0; i < 500; ++i) Add(RandomCodes(rng, rng() % 400, i % 3 == 0 ? 20 : 0));
    for (uint32_t s = 0; s + 1 < offsets.size(); s += 2) select.push_back(s);
  }
  SeedInput All() const { return {codes.data(), offsets.data(), offsets.size() - 1}; }
  SeedInput Selected() const { return {codes.data(), offsets.data(), select.size(), select.data()}; }
};

void ExpectSameSeeds(const SeedOutput& got, const SeedOutput& want) {
  ASSERT_EQ(got.seed_offsets, want.seed_offsets);
  ASSERT_EQ(got.seeds.size(), want.seeds.size());
  for (size_t i = 0; i < want.seeds.size(); ++i) {
    ASSERT_EQ(got.seeds[i].hash, want.seeds[i].hash) << i;
    ASSERT_EQ(got.seeds[i].position, want.seeds[i].position) << i;
  }
}

TEST(DeviceBackendTest, SeedsMatchScalar) {
  const SeedCase c;
  for (const SeedInput& input : {c.All(), c.Selected(), SeedInput{c.codes.data(), c.offsets.data(), 1}, SeedInput{}}) {
    SeedOutput want;
    ASSERT_TRUE(Scalar()->ExtractSeeds(input, want).ok());
    if (input.count > 100) {
      ASSERT_GT(want.seeds.size(), 10000u);
    }
    for (auto& [name, backend] : DeviceBackends()) {
      SCOPED_TRACE(name + ", " + std::to_string(input.count) + " sequences");
      SeedOutput got;
      got.seeds.push_back({1, 2});  // replaced, not appended to
      ASSERT_TRUE(backend->ExtractSeeds(input, got).ok());
      ExpectSameSeeds(got, want);
    }
  }
}

// ---- Hamming --------------------------------------------------------------------------------

TEST(DeviceBackendTest, HammingMatchesScalar) {
  const HammingCase c;
  const auto want = c.Run(*Scalar());
  size_t exact = 0;
  for (size_t j = 1; j < c.jobs.size(); j += 2) exact += want[j] > 0;
  ASSERT_GT(exact, 1000u);
  for (auto& [name, backend] : DeviceBackends()) {
    SCOPED_TRACE(name);
    EXPECT_EQ(c.Run(*backend), want);
    EXPECT_EQ(c.Run(*backend, 14, 1), c.Run(*Scalar(), 14, 1));  // one job
    EXPECT_TRUE(c.Run(*backend, 0, 0).empty());                 // none
  }
}

// The uploaded reference is kept per reference id, not per address: new content at the same
// address under a new id is uploaded again; id 0 (unknown) is uploaded for every call.
TEST(DeviceBackendTest, TheKeptReferenceFollowsItsId) {
  HammingCase c;
  for (auto& [name, backend] : DeviceBackends()) {
    SCOPED_TRACE(name);
    for (uint64_t id : {uint64_t{0}, uint64_t{1000 + c.ref_words[0] % 1000}}) {
      HammingCase changed = c;
      PackedReference ref{changed.ref_words.data(), changed.ref_length, id};
      std::vector<uint32_t> got(c.jobs.size()), want(c.jobs.size());
      ASSERT_TRUE(backend->VerifyHamming(ref, changed.reads(), changed.jobs.data(), changed.jobs.size(), got.data()).ok());
      ASSERT_TRUE(Scalar()->VerifyHamming(ref, changed.reads(), changed.jobs.data(), changed.jobs.size(), want.data()).ok());
      ASSERT_EQ(got, want);
      for (auto& w : changed.ref_words) w = ~w;  // same address, new content
      ref.id = id ? id + 1 : 0;
      ASSERT_TRUE(backend->VerifyHamming(ref, changed.reads(), changed.jobs.data(), changed.jobs.size(), got.data()).ok());
      ASSERT_TRUE(Scalar()->VerifyHamming(ref, changed.reads(), changed.jobs.data(), changed.jobs.size(), want.data()).ok());
      ASSERT_EQ(got, want);
    }
  }
}

// ---- Banded alignment -----------------------------------------------------------------------

TEST(DeviceBackendTest, AlignmentMatchesScalar) {
  const AlignCase c;
  AlignOutput want;
  ASSERT_TRUE(Scalar()->AlignBanded(c.jobs.data(), c.jobs.size(), want).ok());
  size_t with_gaps = 0;
  for (uint32_t op : want.cigar) with_gaps += (op & 0xf) != 0;
  ASSERT_GT(with_gaps, 50u);
  ASSERT_GT(want.results[5].score, 16000);  // the longest job really aligned
  ASSERT_EQ(want.results[6].cigar_length, 0u);
  for (auto& [name, backend] : DeviceBackends()) {
    SCOPED_TRACE(name);
    AlignOutput got;
    ASSERT_TRUE(backend->AlignBanded(c.jobs.data(), c.jobs.size(), got).ok());
    ExpectSameAlignments(got, want);
    // Nothing to send (every job empty or over the maximum length): no device call, empty results.
    const AlignJob skipped[] = {c.jobs[6], c.jobs.back()};
    AlignOutput none;
    ASSERT_TRUE(backend->AlignBanded(skipped, 2, none).ok());
    ASSERT_EQ(none.results.size(), 2u);
    EXPECT_EQ(none.results[0].score, 0);
    EXPECT_TRUE(none.cigar.empty());
    AlignOutput one, one_want;
    ASSERT_TRUE(backend->AlignBanded(c.jobs.data() + 3, 1, one).ok());
    ASSERT_TRUE(Scalar()->AlignBanded(c.jobs.data() + 3, 1, one_want).ok());
    ExpectSameAlignments(one, one_want);
  }
}

// ---- QC -------------------------------------------------------------------------------------

struct QcCase {
  std::vector<uint8_t> codes, quals;
  std::vector<uint32_t> offsets{0}, slots;
  uint32_t slot_count = 3;
  QcCase() {
    std::mt19937 rng(5);
    for (int r = 0; r < 900; ++r) {
      size_t n = rng() % 300;
      if (r == 4) n = CJ_QC_MAX_CYCLES + 700;  // past the per-cycle columns
      for (size_t i = 0; i < n; ++i) {
        codes.push_back(r == 6 ? CJ_BASE_N : static_cast<uint8_t>(rng() % 7));  // 5, 6: count as N
        quals.push_back(static_cast<uint8_t>(rng() % 94));
      }
      offsets.push_back(static_cast<uint32_t>(codes.size()));
      slots.push_back(rng() % slot_count);
    }
  }
  QcBatchInput Input() const { return {codes.data(), quals.data(), offsets.data(), slots.data(), slots.size(), slot_count}; }
};

TEST(DeviceBackendTest, QcMatchesScalarAndTheQcStageKernel) {
  const QcCase c;
  QcBatchOutput want;
  ASSERT_TRUE(Scalar()->AccumulateQc(c.Input(), want).ok());
  // The backend's host form is QC's own scalar kernel applied read by read.
  std::vector<uint32_t> quality(size_t{CJ_QC_MAX_CYCLES} * c.slot_count), counts(size_t{5} * CJ_QC_MAX_CYCLES * c.slot_count);
  for (size_t r = 0; r < c.slots.size(); ++r) {
    const size_t n = c.offsets[r + 1] - c.offsets[r], cycles = std::min<size_t>(n, CJ_QC_MAX_CYCLES);
    ReadBaseSummary s, rest;
    AccumulateReadBasesScalar(c.codes.data() + c.offsets[r], c.quals.data() + c.offsets[r], cycles,
                              quality.data() + c.slots[r] * CJ_QC_MAX_CYCLES,
                              counts.data() + c.slots[r] * 5 * CJ_QC_MAX_CYCLES, CJ_QC_MAX_CYCLES, &s);
    AccumulateReadBasesScalar(c.codes.data() + c.offsets[r] + cycles, c.quals.data() + c.offsets[r] + cycles,
                              n - cycles, nullptr, nullptr, 0, &rest);
    const uint32_t* got = want.summaries.data() + CJ_QC_SUMMARY_WORDS * r;
    ASSERT_EQ(got[0], s.q20 + rest.q20) << r;
    ASSERT_EQ(got[1], s.q30 + rest.q30) << r;
    ASSERT_EQ(got[2], s.quality_sum + rest.quality_sum) << r;
    for (int k = 0; k < 5; ++k) ASSERT_EQ(got[3 + k], s.code_count[k] + rest.code_count[k]) << r;
  }
  ASSERT_EQ(want.cycle_quality, quality);
  ASSERT_EQ(want.cycle_codes, counts);
  for (auto& [name, backend] : DeviceBackends()) {
    SCOPED_TRACE(name);
    QcBatchOutput got;
    ASSERT_TRUE(backend->AccumulateQc(c.Input(), got).ok());
    EXPECT_EQ(got.summaries, want.summaries);
    EXPECT_EQ(got.cycle_quality, want.cycle_quality);
    EXPECT_EQ(got.cycle_codes, want.cycle_codes);
  }
}

// ---- Argument order and packing ---------------------------------------------------------------

std::vector<DeviceArg::Kind> Kinds(const backend_internal::DeviceCall& call) {
  std::vector<DeviceArg::Kind> k;
  for (const auto& a : call.args) k.push_back(a.kind);
  return k;
}

TEST(DevicePackingTest, CallsFollowTheKernelSignatures) {
  using K = DeviceArg::Kind;
  const HammingCase h;
  backend_internal::VerifyBatch vb;
  EXPECT_EQ(backend_internal::PackVerifyBatch(h.reads(), h.jobs.data(), h.jobs.size(), 10, TinyLimits(), vb), 10u + 97u);
  const auto verify = backend_internal::VerifyCall(h.ref(), vb);
  EXPECT_STREQ(backend_internal::DeviceKernelName(verify.kernel), "cramjet_hamming");
  EXPECT_EQ(Kinds(verify), (std::vector<K>{K::kResident, K::kInput, K::kInput, K::kInput, K::kInput, K::kInput,
                                           K::kInput, K::kInput, K::kOutput, K::kScalar}));
  EXPECT_EQ(verify.args[0].data, h.ref_words.data());
  // The device kernels read at most one word past a window's last: never past what PackedReference promises.
  EXPECT_EQ(verify.args[0].bytes, (h.ref_length / 32 + 2) * 8);
  EXPECT_EQ(verify.args[9].scalar, 97u);
  EXPECT_EQ(verify.items, 97u);
  // Each read the jobs share is sent once.
  EXPECT_EQ(vb.lengths.size(), 49u);

  const SeedCase s;
  backend_internal::SeedBatch sb;
  const size_t next = backend_internal::PackSeedBatch(s.All(), 0, TinyLimits(), sb);
  EXPECT_EQ(next, 4u);  // stops before the 20000-base sequence...
  const auto seeds = backend_internal::SeedCall(sb);
  EXPECT_EQ(Kinds(seeds), (std::vector<K>{K::kInput, K::kInput, K::kInput, K::kOutput, K::kOutput, K::kScalar}));
  EXPECT_EQ(seeds.args[5].scalar, 4u);
  EXPECT_EQ(backend_internal::PackSeedBatch(s.All(), next, TinyLimits(), sb), 5u);  // ...which goes alone

  const AlignCase a;
  backend_internal::AlignBatch ab;
  // 16384 bases go alone; job 6 (over the maximum length) is skipped, not sent: its result stays empty.
  EXPECT_EQ(backend_internal::PackAlignBatch(a.jobs.data(), a.jobs.size(), 5, TinyLimits(), ab), 7u);
  EXPECT_EQ(ab.job, std::vector<uint32_t>{5});
  const auto align = backend_internal::AlignCall(ab);
  EXPECT_EQ(Kinds(align), (std::vector<K>{K::kInput, K::kInput, K::kInput, K::kOutput, K::kOutput, K::kScalar}));
  EXPECT_EQ(align.args[3].bytes, size_t{CJ_MAX_ALIGN_LENGTH} * CJ_BAND_WIDTH);
  EXPECT_GT(backend_internal::PackAlignBatch(a.jobs.data(), a.jobs.size(), 6, TinyLimits(), ab), 8u);
  EXPECT_EQ(ab.job.front(), 7u);

  const QcCase q;
  backend_internal::QcBatch qb;
  backend_internal::PackQcBatch(q.Input(), 0, TinyLimits(), qb);
  const auto qc = backend_internal::QcCall(qb);
  EXPECT_EQ(Kinds(qc), (std::vector<K>{K::kInput, K::kInput, K::kInput, K::kInput, K::kOutput, K::kOutput, K::kOutput,
                                       K::kScalar, K::kScalar}));
  EXPECT_FALSE(qc.args[4].zeroed);
  EXPECT_TRUE(qc.args[5].zeroed);  // per-cycle columns are sums: they start at zero on the device
  EXPECT_TRUE(qc.args[6].zeroed);
  EXPECT_EQ(qc.args[8].scalar, 3u);
}

// ---- Device failures ------------------------------------------------------------------------

TEST(DeviceFailureTest, ExplicitDeviceFailsTheCallAndNamesTheKernel) {
  const AlignCase c;
  for (auto kind : {Fault::Kind::kStartFails, Fault::Kind::kFinishFails}) {
    auto backend = Faulty({kind, 3, nullptr}, DeviceFailurePolicy::kFail);
    AlignOutput out;
    const Status s = backend->AlignBanded(c.jobs.data(), c.jobs.size(), out);
    ASSERT_FALSE(s.ok());
    EXPECT_EQ(s.code(), StatusCode::kUnavailable);
    EXPECT_EQ(s.message(), std::string("cramjet_align on faulty(hls-csim): ") +
                               (kind == Fault::Kind::kStartFails ? "injected: the device is gone"
                                                                 : "injected: the kernel timed out"));
  }
}

TEST(DeviceFailureTest, AutoFallsBackToTheHostWithTheSameResults) {
  const AlignCase a;
  const HammingCase h;
  FaultyRunner* runner = nullptr;
  auto backend = Faulty({Fault::Kind::kFinishFails, 2, nullptr}, DeviceFailurePolicy::kFallBack, &runner);
  AlignOutput got, want;
  ASSERT_TRUE(backend->AlignBanded(a.jobs.data(), a.jobs.size(), got).ok());
  ASSERT_TRUE(Scalar()->AlignBanded(a.jobs.data(), a.jobs.size(), want).ok());
  ExpectSameAlignments(got, want);
  const size_t calls = runner->calls();
  EXPECT_GE(calls, 3u);
  // Every later call stays on the host: the device is not tried again mid-job.
  EXPECT_EQ(h.Run(*backend), h.Run(*Scalar()));
  EXPECT_EQ(runner->calls(), calls);
}

TEST(DeviceFailureTest, WrongDeviceOutputsAreCaught) {
  struct Case {
    const char* what;
    DeviceKernel kernel;
    std::function<void(std::vector<DeviceArg>&)> corrupt;
    std::string message;
  };
  const std::vector<Case> cases = {
      {"more seeds than k-mers", DeviceKernel::kSeeds,
       [](std::vector<DeviceArg>& a) { static_cast<uint32_t*>(a[4].out)[0] = 1u << 30; },
       "cramjet_seeds on faulty(hls-csim): the device returned 1073741824 seeds for a sequence of"},
      {"a seed past its sequence", DeviceKernel::kSeeds,
       [](std::vector<DeviceArg>& a) {
         uint32_t* counts = static_cast<uint32_t*>(a[4].out);
         uint32_t* seeds = static_cast<uint32_t*>(a[3].out);
         for (size_t s = 0; s * 4 < a[4].bytes; ++s) if (counts[s]) { seeds[1] = 1u << 30; break; }
       },
       "cramjet_seeds on faulty(hls-csim): the device returned a seed out of order or outside its sequence"},
      {"mismatches over the limit", DeviceKernel::kHamming,
       [](std::vector<DeviceArg>& a) { static_cast<uint32_t*>(a[8].out)[0] = 1u << 30; },
       "cramjet_hamming on faulty(hls-csim): the device returned 1073741824 mismatches for a read of"},
      {"a trace that leaves the band", DeviceKernel::kAlign,
       [](std::vector<DeviceArg>& a) { std::memset(a[3].out, CJ_TB_H_DEL | CJ_TB_DEL_EXTEND, a[3].bytes); },
       "cramjet_align on faulty(hls-csim): the device returned an alignment whose trace leaves the band"},
      {"a positive score without a best cell", DeviceKernel::kAlign,
       [](std::vector<DeviceArg>& a) { static_cast<int32_t*>(a[4].out)[1] = -1; },
       "cramjet_align on faulty(hls-csim): the device returned an alignment whose trace leaves the band"},
      {"a QC summary of the wrong size", DeviceKernel::kQc,
       [](std::vector<DeviceArg>& a) { static_cast<uint32_t*>(a[4].out)[3] += 1; },
       "cramjet_qc on faulty(hls-csim): the device returned a QC summary that does not add up to its read"},
  };
  const SeedCase s;
  const HammingCase h;
  const AlignCase a;
  const QcCase q;
  for (const Case& c : cases) {
    SCOPED_TRACE(c.what);
    Fault fault{Fault::Kind::kCorrupt, 0, [&](DeviceKernel k, std::vector<DeviceArg>& args) {
                  if (k == c.kernel) c.corrupt(args);
                }};
    auto backend = Faulty(fault, DeviceFailurePolicy::kFail);
    Status status;
    SeedOutput so;
    std::vector<uint32_t> mm(h.jobs.size());
    AlignOutput ao;
    QcBatchOutput qo;
    switch (c.kernel) {
      case DeviceKernel::kSeeds: status = backend->ExtractSeeds(s.All(), so); break;
      case DeviceKernel::kHamming: status = backend->VerifyHamming(h.ref(), h.reads(), h.jobs.data(), h.jobs.size(), mm.data()); break;
      case DeviceKernel::kAlign: status = backend->AlignBanded(a.jobs.data(), a.jobs.size(), ao); break;
      case DeviceKernel::kQc: status = backend->AccumulateQc(q.Input(), qo); break;
    }
    ASSERT_FALSE(status.ok());
    EXPECT_EQ(status.message().substr(0, c.message.size()), c.message) << status.message();
  }
}

// ---- XRT: everything up to the device call ---------------------------------------------------

#ifdef CRAMJET_HAVE_XRT
// An xclbin with only an IP layout naming `kernels` (what the backend checks before a card is
// opened); v++ writes the same structure (xclbin.h), with the bitstream and metadata besides.
void WriteXclbin(const std::string& path, const std::vector<std::string>& kernels) {
  const size_t header = sizeof(axlf);
  const size_t layout = sizeof(ip_layout) + (kernels.size() - 1) * sizeof(ip_data);
  std::vector<char> buf(header + layout, 0);
  axlf* top = reinterpret_cast<axlf*>(buf.data());
  std::memcpy(top->m_magic, "xclbin2", 8);
  top->m_signature_length = -1;
  std::memset(top->reserved, 0xff, sizeof top->reserved);
  top->m_header.m_length = buf.size();
  top->m_header.m_versionMajor = 2;
  top->m_header.m_numSections = 1;
  for (int i = 0; i < 16; ++i) top->m_header.uuid[i] = static_cast<unsigned char>(0xa0 + i);
  top->m_sections[0].m_sectionKind = IP_LAYOUT;
  std::strcpy(top->m_sections[0].m_sectionName, "ip_layout");
  top->m_sections[0].m_sectionOffset = header;
  top->m_sections[0].m_sectionSize = layout;
  ip_layout* ips = reinterpret_cast<ip_layout*>(buf.data() + header);
  ips->m_count = static_cast<int32_t>(kernels.size());
  for (size_t k = 0; k < kernels.size(); ++k) {
    ips->m_ip_data[k].m_type = IP_KERNEL;
    ips->m_ip_data[k].m_base_address = 0x10000 * (k + 1);
    std::snprintf(reinterpret_cast<char*>(ips->m_ip_data[k].m_name), 64, "%s:%s_1", kernels[k].c_str(), kernels[k].c_str());
  }
  std::ofstream(path, std::ios::binary).write(buf.data(), static_cast<std::streamsize>(buf.size()));
}

TEST(XrtBackendTest, TheImageIsCheckedThenTheCardIsRefusedCleanly) {
  testing::TempDir dir;
  const std::string missing = dir / "none.xclbin";
  auto none = backend_internal::CheckXclbin(missing);
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.status().code(), StatusCode::kNotFound);
  EXPECT_EQ(none.status().message(),
            "--accel xrt: no FPGA image at '" + missing + "' (build it with firmware/, or pass --xclbin)");

  const std::string text = dir / "text.xclbin";
  std::ofstream(text) << "not an image\n";
  auto bad = backend_internal::CheckXclbin(text);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(bad.status().message().rfind("--accel xrt: '" + text + "' is not an xclbin (", 0), 0u) << bad.status().message();

  const std::string partial = dir / "partial.xclbin";
  WriteXclbin(partial, {"cramjet_hamming", "cramjet_align", "vadd"});
  auto lacking = backend_internal::CheckXclbin(partial);
  ASSERT_FALSE(lacking.ok());
  EXPECT_EQ(lacking.status().message(), "--accel xrt: '" + partial +
                                            "' (UUID a0a1a2a3-a4a5-a6a7-a8a9-aaabacadaeaf) lacks the kernels "
                                            "cramjet_seeds, cramjet_qc (is it cramjet's image from firmware/?)");

  const std::string good = dir / "cramjet.xclbin";
  WriteXclbin(good, {"cramjet_seeds", "cramjet_hamming", "cramjet_align", "cramjet_qc"});
  auto uuid = backend_internal::CheckXclbin(good);
  ASSERT_TRUE(uuid.ok()) << uuid.status().message();
  EXPECT_EQ(*uuid, "a0a1a2a3-a4a5-a6a7-a8a9-aaabacadaeaf");

  // A good image and no card: --accel xrt refuses, --accel auto goes on on the CPU.
  AccelChoice xrt;
  xrt.kind = AccelKind::kXrt;
  xrt.xclbin = good;
  auto refused = CreateBackend(xrt);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), StatusCode::kUnavailable);
  EXPECT_EQ(refused.status().message().rfind("--accel xrt: no Xilinx card could be opened (", 0), 0u)
      << refused.status().message();
  AccelChoice automatic = xrt;
  automatic.kind = AccelKind::kAuto;
  auto fallback = CreateBackend(automatic);
  ASSERT_TRUE(fallback.ok()) << fallback.status().message();
  EXPECT_NE((*fallback)->kind(), AccelKind::kXrt);
  automatic.xclbin = partial;  // a wrong image is not a reason to fail a CPU job either
  EXPECT_TRUE(CreateBackend(automatic).ok());
}
#endif

// ---- Whole mapper and CRAM bytes on real reads ----------------------------------------------

void ExpectSameMapping(const std::string& folder, const std::string& fasta, const std::vector<BamPtr>& records) {
  testing::TempDir dir;
  const std::string link = dir / "ref.fa";
  ASSERT_EQ(symlink(testing::SharedPath(folder + "/" + fasta).c_str(), link.c_str()), 0);
  ASSERT_TRUE(ReferenceIndex::Build(link, 2).ok());
  auto index = ReferenceIndex::Open(link);
  ASSERT_TRUE(index.ok());
  MapStats stats;
  const auto want = testing::MapAll(**index, *Scalar(), records, 512, MapOptions{}, &stats);
  ASSERT_GT(stats.placed_gapped, 0u);
  for (auto& [name, backend] : DeviceBackends()) {
    SCOPED_TRACE(name);
    const auto got = testing::MapAll(**index, *backend, records, 512);
    ASSERT_EQ(got.size(), want.size());
    for (size_t i = 0; i < got.size(); ++i) ASSERT_EQ(got[i], want[i]) << "record " << i;
  }
}

TEST(DeviceMappingTest, RealSingleEndReadsMapIdentically) {
  CRAMJET_REQUIRE_SHARED_DATA("ecoli-mg1655-hiseq/E.coli.allreads.fastq.gz");
  const auto records = testing::LoadFastq(testing::SharedPath("ecoli-mg1655-hiseq/E.coli.allreads.fastq.gz"), 3000);
  ExpectSameMapping("ecoli-mg1655-hiseq", "E.coli.fa", records);
}

TEST(DeviceMappingTest, RealPairedReadsMapIdentically) {
  CRAMJET_REQUIRE_SHARED_DATA("sarscov2-miseq-amplicon/subsample1_1.fastq.gz");
  const auto records = testing::LoadPairs(testing::SharedPath("sarscov2-miseq-amplicon/subsample1_1.fastq.gz"),
                                          testing::SharedPath("sarscov2-miseq-amplicon/subsample1_2.fastq.gz"), 1500);
  ExpectSameMapping("sarscov2-miseq-amplicon", "MN908947.3.fasta", records);
}

}  // namespace
}  // namespace cramjet
