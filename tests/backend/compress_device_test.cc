// A whole compress job through a device that fails or lies: a device error with --accel opencl /
// xrt's policy ends the job with no CRAM under the final name; a device that returns wrong but
// plausible numbers can cost bytes, never reads (the verify stage proves every read before the
// rename, and decompress gives the input back byte for byte).
#include <sys/stat.h>

#include <atomic>
#include <cstring>
#include <sstream>

#include <gtest/gtest.h>

#include "backend/device.h"
#include "common/test_util.h"
#include "cramjet/compress.h"
#include "csim_runner.h"

namespace cramjet {
namespace {

using backend_internal::DeviceArg;
using backend_internal::DeviceFailurePolicy;
using backend_internal::DeviceKernel;
using testing::CsimRunner;
using testing::Fault;
using testing::FaultyRunner;
using testing::ShellQuote;

constexpr const char* kR1 = "sarscov2-miseq-amplicon/subsample1_1.fastq.gz";
constexpr const char* kR2 = "sarscov2-miseq-amplicon/subsample1_2.fastq.gz";

struct Job {
  testing::TempDir dir;
  std::string ref, r1, r2;
  Job() {
    ref = dir / "ref.fa";
    r1 = dir / "in_1.fastq";
    r2 = dir / "in_2.fastq";
    // 4000 pairs: enough for many device chunks with small limits, quick to map.
    EXPECT_EQ(testing::RunShell("zcat -f " + ShellQuote(testing::SharedPath("sarscov2-miseq-amplicon/MN908947.3.fasta")) +
                                " > " + ShellQuote(ref) + " && zcat " + ShellQuote(testing::SharedPath(kR1)) +
                                " | head -16000 > " + ShellQuote(r1) + " && zcat " + ShellQuote(testing::SharedPath(kR2)) +
                                " | head -16000 > " + ShellQuote(r2))
                  .exit_code,
              0);
    EXPECT_EQ(testing::RunCramjet("index " + ShellQuote(ref)).exit_code, 0);
  }
  CompressOptions Options(const std::string& output, const Backend* backend) const {
    CompressOptions o;
    o.inputs = {r1, r2};
    o.paired = true;
    o.output = output;
    o.reference = ref;
    o.threads = 2;
    o.qc = false;
    o.backend = backend;
    return o;
  }
  // decompress back to FASTQ pairs; true when both equal the input byte for byte.
  bool RoundTrips(const std::string& cram) const {
    const auto d = testing::RunCramjet("decompress -1 " + ShellQuote(cram + ".1.fq") + " -2 " +
                                       ShellQuote(cram + ".2.fq") + " " + ShellQuote(cram));
    EXPECT_EQ(d.exit_code, 0) << d.err;
    return testing::RunShell("cmp " + ShellQuote(cram + ".1.fq") + " " + ShellQuote(r1) + " && cmp " +
                             ShellQuote(cram + ".2.fq") + " " + ShellQuote(r2))
               .exit_code == 0;
  }
};

backend_internal::DeviceLimits Small() {
  backend_internal::DeviceLimits l;
  l.seed_bases = 20000;
  l.verify_jobs = 300;
  l.align_trace_bytes = 100000;
  return l;
}

TEST(DeviceCompressTest, AFailingDeviceLeavesNoCramUnderTheFinalName) {
  CRAMJET_REQUIRE_SHARED_DATA(kR1);
  Job job;
  auto faulty = std::make_unique<FaultyRunner>(std::make_unique<CsimRunner>(), Fault{Fault::Kind::kFinishFails, 20, nullptr});
  FaultyRunner* runner = faulty.get();
  auto backend = backend_internal::MakeDeviceBackend(std::move(faulty), DeviceFailurePolicy::kFail, Small());
  const std::string out = job.dir / "out.cram";
  auto result = Compress(job.Options(out, backend.get()));
  ASSERT_FALSE(result.ok());
  EXPECT_GT(runner->calls(), 20u);  // it failed mid-job, not at the start
  EXPECT_NE(result.status().message().find("on faulty(hls-csim): injected: the kernel timed out"), std::string::npos)
      << result.status().message();
  EXPECT_FALSE(testing::PathExists(out));
  EXPECT_FALSE(testing::PathExists(out + ".crai"));
  // Nothing else left behind: the inputs, the reference and its indexes only.
  EXPECT_EQ(testing::RunShell("ls -A " + ShellQuote(job.dir.path())).out,
            "in_1.fastq\nin_2.fastq\nref.fa\nref.fa.cjidx\nref.fa.fai\n");
}

TEST(DeviceCompressTest, AMiscountingDeviceCostsBytesNeverReads) {
  CRAMJET_REQUIRE_SHARED_DATA(kR1);
  Job job;
  // Every candidate "matches perfectly" and every seed but the first of a read is lost: the
  // device's answers pass the range checks and are wrong, so reads are placed badly.
  Fault lie{Fault::Kind::kCorrupt, 0, [](DeviceKernel kernel, std::vector<DeviceArg>& args) {
              if (kernel == DeviceKernel::kHamming) std::memset(args[8].out, 0, args[8].bytes);
              if (kernel == DeviceKernel::kSeeds) {
                uint32_t* counts = static_cast<uint32_t*>(args[4].out);
                for (size_t s = 0; s < args[4].bytes / 4; ++s) counts[s] = std::min<uint32_t>(counts[s], 1);
              }
            }};
  auto liar = backend_internal::MakeDeviceBackend(
      std::make_unique<FaultyRunner>(std::make_unique<CsimRunner>(), std::move(lie)), DeviceFailurePolicy::kFail, Small());
  auto honest = backend_internal::MakeDeviceBackend(std::make_unique<CsimRunner>(), DeviceFailurePolicy::kFail, Small());
  auto scalar = backend_internal::MakeScalarBackend();
  // Same file name in three folders: CRAM's file definition holds the name.
  for (const char* sub : {"lied", "device", "host"}) ASSERT_EQ(mkdir((job.dir / sub).c_str(), 0755), 0);
  const std::string lied = job.dir / "lied/o.cram", device = job.dir / "device/o.cram", host = job.dir / "host/o.cram";
  auto a = Compress(job.Options(lied, liar.get()));
  ASSERT_TRUE(a.ok()) << a.status().message();
  auto b = Compress(job.Options(device, honest.get()));
  ASSERT_TRUE(b.ok()) << b.status().message();
  auto c = Compress(job.Options(host, scalar.get()));
  ASSERT_TRUE(c.ok()) << c.status().message();
  // An honest device: the same bytes as the host. A lying one: different (worse) placements...
  EXPECT_EQ(testing::RunShell("cmp " + ShellQuote(device) + " " + ShellQuote(host)).exit_code, 0);
  EXPECT_NE(testing::RunShell("cmp -s " + ShellQuote(lied) + " " + ShellQuote(host)).exit_code, 0);
  // ...and still every read, byte for byte.
  EXPECT_TRUE(job.RoundTrips(lied));
  EXPECT_TRUE(job.RoundTrips(host));
  EXPECT_EQ(testing::RunCramjet("verify " + ShellQuote(lied)).exit_code, 0);
}

// QC through the device's QC kernel (worker batches of 2048 records) gives the same figures as
// QC's own Highway kernel read by read: every QC file the same.
TEST(DeviceCompressTest, QcThroughTheDeviceKernelGivesTheSameFigures) {
  CRAMJET_REQUIRE_SHARED_DATA(kR1);
  Job job;
  std::atomic<size_t> qc_calls{0};
  Fault count{Fault::Kind::kCorrupt, 0, [&](DeviceKernel kernel, std::vector<DeviceArg>&) { qc_calls += kernel == DeviceKernel::kQc; }};
  auto device = backend_internal::MakeDeviceBackend(
      std::make_unique<FaultyRunner>(std::make_unique<CsimRunner>(), std::move(count)), DeviceFailurePolicy::kFail, Small());
  auto simd = CreateBackend(AccelKind::kSimd);
  ASSERT_TRUE(simd.ok());
  for (const char* sub : {"device", "host"}) ASSERT_EQ(mkdir((job.dir / sub).c_str(), 0755), 0);
  for (const char* sub : {"device", "host"}) {
    CompressOptions o = job.Options(job.dir / sub + "/o.cram", sub == std::string("device") ? device.get() : simd->get());
    o.qc = true;
    auto r = Compress(o);
    ASSERT_TRUE(r.ok()) << r.status().message();
  }
  const auto files = testing::RunShell("cd " + ShellQuote(job.dir / "host") + " && ls | grep -v 'cram'").out;
  EXPECT_NE(files.find("o.qc.json"), std::string::npos) << files;
  std::istringstream names(files);
  std::string name;
  size_t compared = 0;
  while (std::getline(names, name)) {
    const auto diff = testing::RunShell("diff " + ShellQuote(job.dir / "host/" + name) + " " + ShellQuote(job.dir / "device/" + name));
    EXPECT_EQ(diff.exit_code, 0) << name << ":\n" << diff.out.substr(0, 2000);
    ++compared;
  }
  EXPECT_GE(compared, 5u);
  // 8000 records in batches of 2048, chunks of at most Small() bases: the device did QC's sums.
  EXPECT_GE(qc_calls.load(), 4u);
}

// Unplaced reads: QC is the device's only user; its failure fails the job like the mapper's.
TEST(DeviceCompressTest, AFailingQcKernelFailsTheJob) {
  CRAMJET_REQUIRE_SHARED_DATA(kR1);
  Job job;
  auto faulty = backend_internal::MakeDeviceBackend(
      std::make_unique<FaultyRunner>(std::make_unique<CsimRunner>(), Fault{Fault::Kind::kStartFails, 1, nullptr}),
      DeviceFailurePolicy::kFail, Small());
  const std::string out = job.dir / "out.cram";
  CompressOptions o = job.Options(out, faulty.get());
  o.placement = FastqPlacement::kUnaligned;
  o.qc = true;
  auto r = Compress(o);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("QC: cramjet_qc on faulty(hls-csim): injected: the device is gone"), std::string::npos)
      << r.status().message();
  EXPECT_FALSE(testing::PathExists(out));
}

}  // namespace
}  // namespace cramjet
