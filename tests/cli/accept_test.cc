// `cramjet accept` (issue 14 item 4): the archive's check of a delivered set. One set is made and
// shipped to a file:// archive; each case takes a fresh copy of the delivery, damages it one way
// and must be rejected with an exact error naming the first problem, the exit code of its kind
// and a rejection document; the untouched copy is accepted with a receipt bound to its manifest.
#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/test_util.h"

namespace cramjet {
namespace {

using nlohmann::json;
using testing::CramjetBinary;
using testing::ReadFile;
using testing::RunShell;
using testing::ShellQuote;
using testing::TempDir;
using testing::WriteFile;

// A random 20 kb genome, and reads cut from it (100 bp, random qualities).
std::string Genome() {
  std::mt19937 rng(1);
  std::string g;
  for (int i = 0; i < 20000; ++i) g += "ACGT"[rng() % 4];
  return g;
}
std::string ReadsOf(const std::string& genome, int n, unsigned seed) {
  std::mt19937 rng(seed);
  std::string out;
  for (int i = 0; i < n; ++i) {
    out += "@A00785:42:HXXYYDSX2:2:1101:" + std::to_string(1000 + i) + ":2000 1:N:0:ACGTACGT\n";
    out += genome.substr(rng() % (genome.size() - 100), 100) + "\n+\n";
    for (int j = 0; j < 100; ++j) out += static_cast<char>('?' + rng() % 10);  // Q30-Q39: QC passes
    out += "\n";
  }
  return out;
}

class CliAccept : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir();
    const std::string d = ShellQuote(dir_->path());
    const std::string genome = Genome();
    WriteFile(*dir_ / "ref.fa", ">c1\n" + genome + "\n");
    WriteFile(*dir_ / "S1.fq", ReadsOf(genome, 2000, 7));
    WriteFile(*dir_ / "S2.fq", ReadsOf(genome, 2000, 8));
    const std::string cj = ShellQuote(CramjetBinary());
    // Mapped, as a lab delivers: the CRAM's @SQ carries the reference's M5.
    setup_ = RunShell("cd " + d + " && mkdir -p out other archive && " + cj + " index ref.fa 2>/dev/null && " + cj +
                      " compress -q -T ref.fa -o out/S1.cram S1.fq && " + cj +
                      " compress -q --sample S1 -T ref.fa -o other/S1.cram S2.fq && " + cj +
                      " ship out/S1.cram --run R1 --to file://" + dir_->path() + "/archive > /dev/null && "
                      "samtools view -H out/S1.cram | grep -o 'M5:[0-9a-f]*' | cut -c4- > known.txt && "
                      "echo 00000000000000000000000000000000 other-genome > unknown.txt");
  }
  static void TearDownTestSuite() {
    delete dir_;
    dir_ = nullptr;
  }
  void SetUp() override { ASSERT_EQ(setup_.exit_code, 0) << setup_.err; }

  // A fresh copy of the delivered folder, as `name`.
  std::string Copy(const std::string& name) const {
    const std::string to = *dir_ / name;
    EXPECT_EQ(RunShell("rm -rf " + ShellQuote(to) + " && cp -r " + ShellQuote(*dir_ / "archive/R1/S1") + " " +
                       ShellQuote(to)).exit_code, 0);
    return to;
  }
  testing::CommandResult Accept(const std::string& delivery, const std::string& extra = "--known-references known.txt") {
    return RunShell("cd " + ShellQuote(dir_->path()) + " && " + ShellQuote(CramjetBinary()) + " accept " +
                    ShellQuote(delivery) + " " + extra + " --receipt receipt.json");
  }
  json Receipt() const { return json::parse(ReadFile(*dir_ / "receipt.json")); }
  // Rewrites the delivery's manifest through a Python expression on `m`.
  void EditManifest(const std::string& delivery, const std::string& python) const {
    const std::string path = delivery + "/manifest.json";
    const auto r = RunShell("python3 -c " + ShellQuote("import json,sys; p=sys.argv[1]; m=json.load(open(p)); " + python +
                                                       "; json.dump(m, open(p, 'w'))") + " " + ShellQuote(path));
    ASSERT_EQ(r.exit_code, 0) << r.err;
  }
  void Expect(const testing::CommandResult& r, int exit_code, const std::string& reason) const {
    EXPECT_EQ(r.exit_code, exit_code) << r.err;
    EXPECT_EQ(r.err, "cramjet accept: error: " + reason + "\n");
    const json doc = Receipt();
    EXPECT_EQ(doc["accepted"], false);
    EXPECT_EQ(doc["reason"], reason);
  }

  inline static TempDir* dir_ = nullptr;
  inline static testing::CommandResult setup_;
};

TEST_F(CliAccept, AnIntactDeliveryIsAcceptedWithAReceiptBoundToItsManifest) {
  const std::string d = Copy("intact");
  const auto r = Accept(d);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const json receipt = Receipt();
  EXPECT_EQ(receipt["schema"], "cramjet-acceptance");
  EXPECT_EQ(receipt["accepted"], true);
  EXPECT_EQ(receipt["delivery"], "file://" + d);
  EXPECT_EQ(receipt["sample"], "S1");
  EXPECT_EQ(receipt["run"], "R1");
  EXPECT_EQ(receipt["reads"], 2000);
  // The verdict the QC document of the set gives (a warn is accepted; fail is the policy's).
  EXPECT_EQ(receipt["qc"]["verdict"], json::parse(ReadFile(*dir_ / "out/S1.qc.json"))["verdict"]);
  const std::string manifest_md5 = RunShell("md5sum " + ShellQuote(d + "/manifest.json") + " | cut -c1-32").out;
  EXPECT_EQ(receipt["manifest"]["md5"].get<std::string>() + "\n", manifest_md5);
  EXPECT_EQ(receipt["files"].size(), 9u);  // CRAM, .crai, .seqchksum, .md5, five QC files
  EXPECT_EQ(r.err, "cramjet accept: accepted S1: 9 files, 2000 reads, manifest MD5 " +
                       receipt["manifest"]["md5"].get<std::string>() + "\n");
  // No staging folder is left behind in $TMPDIR-like places: the delivery itself is untouched.
  EXPECT_EQ(RunShell("cd " + ShellQuote(d) + " && ls | wc -l").out, "10\n");
}

TEST_F(CliAccept, EachDamageIsRejectedNamingTheFirstProblem) {
  {
    const std::string d = Copy("missing");
    ASSERT_EQ(::unlink((d + "/S1.cram.crai").c_str()), 0);
    Expect(Accept(d), 1, "delivery 'file://" + d + "': R1/S1/S1.cram.crai (index) is missing ('" + d +
                             "/S1.cram.crai' does not exist)");
  }
  {
    const std::string d = Copy("truncated");
    const uint64_t size = ReadFile(d + "/S1.cram").size();
    ASSERT_EQ(RunShell("truncate -s -100 " + ShellQuote(d + "/S1.cram")).exit_code, 0);
    Expect(Accept(d), 3, "R1/S1/S1.cram (cram): " + std::to_string(size - 100) + " bytes, the manifest says " + std::to_string(size));
  }
  {
    const std::string d = Copy("tampered");
    const std::string before = RunShell("md5sum " + ShellQuote(d + "/S1.cram") + " | cut -c1-32").out;
    // One byte in the middle changed: same size.
    ASSERT_EQ(RunShell("printf 'Z' | dd of=" + ShellQuote(d + "/S1.cram") + " bs=1 seek=5000 conv=notrunc status=none").exit_code, 0);
    const std::string after = RunShell("md5sum " + ShellQuote(d + "/S1.cram") + " | cut -c1-32").out;
    ASSERT_NE(before, after);
    Expect(Accept(d), 3, "R1/S1/S1.cram (cram): MD5 " + after.substr(0, 32) + ", the manifest says " + before.substr(0, 32));
  }
  {
    // Another sample's CRAM put in its place with every MD5 and size brought in line: only the
    // decode against the .seqchksum can tell.
    const std::string d = Copy("swapped");
    ASSERT_EQ(RunShell("cp " + ShellQuote(*dir_ / "other/S1.cram") + " " + ShellQuote(d + "/S1.cram") + " && cd " +
                       ShellQuote(d) + " && md5sum S1.cram > S1.cram.md5").exit_code, 0);
    const std::string cram_md5 = RunShell("md5sum " + ShellQuote(d + "/S1.cram") + " | cut -c1-32 | tr -d '\\n'").out;
    const std::string md5_md5 = RunShell("md5sum " + ShellQuote(d + "/S1.cram.md5") + " | cut -c1-32 | tr -d '\\n'").out;
    const uint64_t size = ReadFile(d + "/S1.cram").size(), md5_size = ReadFile(d + "/S1.cram.md5").size();
    EditManifest(d, "f=m['files']; f[0]['md5']='" + cram_md5 + "'; f[0]['size']=" + std::to_string(size) + "; f[3]['md5']='" +
                        md5_md5 + "'; f[3]['size']=" + std::to_string(md5_size));
    const auto r = Accept(d);
    EXPECT_EQ(r.exit_code, 3) << r.err;
    EXPECT_EQ(r.err.rfind("cramjet accept: error: R1/S1/S1.cram does not match its .seqchksum: ", 0), 0u) << r.err;
    EXPECT_EQ(Receipt()["accepted"], false);
  }
  {
    const std::string d = Copy("contig");
    EditManifest(d, "m['reference']['contigs'][0]['M5']='0123456789abcdef0123456789abcdef'");
    const std::string m5 = RunShell("cut -c1-32 " + ShellQuote(*dir_ / "known.txt") + " | tr -d '\\n'").out;
    Expect(Accept(d), 3, "R1/S1/S1.cram @SQ 1 (SN:c1 LN:20000 M5:" + m5 +
                             ") is not the manifest's contigs[0] (c1, 20000, 0123456789abcdef0123456789abcdef)");
  }
  {
    const std::string d = Copy("reference");
    const std::string m5 = RunShell("cut -c1-32 " + ShellQuote(*dir_ / "known.txt") + " | tr -d '\\n'").out;
    Expect(Accept(d, "--known-references unknown.txt"), 1,
           "contig c1 M5:" + m5 + " is not a reference the archive knows (not in --known-references, REF_CACHE or a local REF_PATH)");
  }
  {
    const std::string d = Copy("qcfail");
    EditManifest(d, "m['qc']['verdict']='fail'");
    Expect(Accept(d), 1, "QC verdict fail, not released by an operator (--qc-fail accept takes it anyway)");
    const auto taken = Accept(d, "--known-references known.txt --qc-fail accept");
    EXPECT_EQ(taken.exit_code, 0) << taken.err;
    EXPECT_EQ(Receipt()["notes"], json::array({"QC verdict fail, accepted (--qc-fail accept)"}));
    EditManifest(d, "m['qc']['released_by_operator']=True");
    const auto released = Accept(d);
    EXPECT_EQ(released.exit_code, 0) << released.err;
    EXPECT_EQ(Receipt()["qc"]["released_by_operator"], true);
  }
  {
    const std::string d = Copy("malformed");
    ASSERT_EQ(RunShell("truncate -s 100 " + ShellQuote(d + "/manifest.json")).exit_code, 0);
    const auto r = Accept(d);
    EXPECT_EQ(r.exit_code, 1) << r.err;
    EXPECT_EQ(r.err.rfind("cramjet accept: error: file://" + d + "/manifest.json: ", 0), 0u) << r.err;
  }
  Expect(Accept(*dir_ / "nowhere"), 1,
         "delivery 'file://" + (*dir_ / "nowhere") + "': manifest.json is missing ('" + (*dir_ / "nowhere") +
             "/manifest.json' does not exist)");
  {
    // A delivered file that is a link to something else: refused, never followed.
    const std::string d = Copy("link");
    ASSERT_EQ(RunShell("cd " + ShellQuote(d) + " && mv S1.stats ../S1.stats.elsewhere && ln -s ../S1.stats.elsewhere S1.stats").exit_code, 0);
    Expect(Accept(d), 1, "R1/S1/S1.stats (qc): '" + d + "/S1.stats' is a symbolic link, not a delivered file");
  }
  {
    // A second CRAM (or .seqchksum) in the manifest would be accepted without being decoded.
    const std::string d = Copy("twocrams");
    EditManifest(d, "m['files'][1]['role']='cram'");
    Expect(Accept(d), 1, "file://" + d + "/manifest.json: files: 2 files have role 'cram' (one must)");
    EditManifest(d, "m['files'][1]['role']='seqchksum'");
    Expect(Accept(d), 1, "file://" + d + "/manifest.json: 2 files with role seqchksum");
  }
  {
    const std::string d = Copy("badname");
    EditManifest(d, "m['files'][5]['name']='R1/../../etc/x'");
    const auto r = Accept(d);
    EXPECT_EQ(r.exit_code, 1) << r.err;
    EXPECT_NE(r.err.find("R1/../../etc/x"), std::string::npos) << r.err;
    EXPECT_EQ(Receipt()["accepted"], false);
  }
}

// Crypt4GH deliveries (issue 14 item 5): the set shipped encrypted for the archive's key, an
// interrupted ship resumed with the same ciphertext, and the archive's side: accepted with its
// key; rejected without a key, with another key, with a passphrase that does not open the key,
// with a damaged .c4gh, and with a damaged segment whose MD5 was brought in line.
TEST_F(CliAccept, ACrypt4ghDeliveryIsShippedOnceAndAcceptedOnlyWithTheArchivesKey) {
  const std::string d = ShellQuote(dir_->path());
  const std::string cj = ShellQuote(CramjetBinary());
  auto run = [&](const std::string& command) { return RunShell("cd " + d + " && " + command); };
  ASSERT_EQ(run(cj + " crypt4gh-keygen --nocrypt --pk archive.pub --sk archive.sec").exit_code, 0);
  ASSERT_EQ(run(cj + " crypt4gh-keygen --nocrypt --pk other.pub --sk other.sec").exit_code, 0);
  const auto protected_key = run("C4GH_PASSPHRASE=secret " + cj + " crypt4gh-keygen --pk p.pub --sk p.sec");
  ASSERT_EQ(protected_key.exit_code, 0) << protected_key.err;
  const auto no_passphrase = run("env -u C4GH_PASSPHRASE " + cj + " crypt4gh-keygen --pk q.pub --sk q.sec");
  EXPECT_EQ(no_passphrase.exit_code, 1);
  EXPECT_EQ(no_passphrase.err, "cramjet crypt4gh-keygen: error: set C4GH_PASSPHRASE to the passphrase that protects the "
                               "private key, or give --nocrypt\n");
  const auto again = run(cj + " crypt4gh-keygen --nocrypt --pk archive.pub --sk x.sec");
  EXPECT_EQ(again.err, "cramjet crypt4gh-keygen: error: 'archive.pub' exists: a key is never overwritten\n");

  // An interrupted ship: a foreign object under the .md5's name stops it after the CRAM, .crai
  // and .seqchksum went up; the staged ciphertexts stay in the state folder.
  const std::string ship = cj + " ship out/S1.cram --run R1 --to file://" + dir_->path() +
                           "/c4gh-archive --crypt4gh-recipient archive.pub --state-dir c4gh-state";
  ASSERT_EQ(run("mkdir -p c4gh-archive/R1/S1 && echo foreign > c4gh-archive/R1/S1/S1.cram.md5.c4gh").exit_code, 0);
  auto first = run(ship);
  EXPECT_EQ(first.exit_code, 1) << first.err;
  EXPECT_NE(first.err.find("a different object already exists under 'R1/S1/S1.cram.md5.c4gh'"), std::string::npos) << first.err;
  const std::string cram_c4gh_md5 = run("md5sum c4gh-state/crypt4gh/S1.cram.c4gh | cut -c1-32").out;
  ASSERT_EQ(cram_c4gh_md5.size(), 33u);
  EXPECT_EQ(run("md5sum c4gh-archive/R1/S1/S1.cram.c4gh | cut -c1-32").out, cram_c4gh_md5);
  // Resumed: the same ciphertext is reused, so the CRAM already there stays and the manifest names it.
  ASSERT_EQ(run("rm c4gh-archive/R1/S1/S1.cram.md5.c4gh").exit_code, 0);
  auto second = run(ship);
  ASSERT_EQ(second.exit_code, 0) << second.err;
  EXPECT_NE(second.err.find("reusing the staged ciphertext of out/S1.cram "), std::string::npos) << second.err;
  EXPECT_NE(second.err.find("R1/S1/S1.cram.c4gh already in the archive and verified"), std::string::npos) << second.err;
  const json manifest = json::parse(ReadFile(*dir_ / "c4gh-archive/R1/S1/manifest.json"));
  EXPECT_EQ(manifest["format_version"], 2);
  EXPECT_EQ(manifest["encryption"]["method"], "crypt4gh");
  EXPECT_EQ(manifest["encryption"]["recipients"],
            json::array({RunShell("sed -n 2p " + ShellQuote(*dir_ / "archive.pub") + " | tr -d '\\n'").out}));
  EXPECT_EQ(manifest["files"][0]["name"], "R1/S1/S1.cram.c4gh");
  EXPECT_EQ(manifest["files"][0]["local_name"], "S1.cram");
  EXPECT_EQ(manifest["files"][0]["md5"].get<std::string>() + "\n", cram_c4gh_md5);
  EXPECT_EQ(manifest["files"][0]["plaintext"]["md5"].get<std::string>() + "\n",
            run("md5sum out/S1.cram | cut -c1-32").out);
  EXPECT_EQ(manifest["files"][0]["plaintext"]["size"], ReadFile(*dir_ / "out/S1.cram").size());
  // Only ciphertext in the archive; the staged ciphertexts gone after the verified ship, their records kept.
  EXPECT_EQ(run("ls c4gh-archive/R1/S1 | grep -v -c '\\.c4gh$'").out, "1\n");  // manifest.json
  EXPECT_EQ(run("ls c4gh-state/crypt4gh | grep -c '\\.c4gh$'").out, "0\n");
  EXPECT_EQ(run("ls c4gh-state/crypt4gh | grep -c '\\.c4gh\\.json$'").out, "9\n");
  // A third run finds everything in place (no ciphertext needed) and leaves the manifest alone.
  const std::string manifest_md5 = run("md5sum c4gh-archive/R1/S1/manifest.json").out;
  auto third = run(ship);
  ASSERT_EQ(third.exit_code, 0) << third.err;
  EXPECT_EQ(run("md5sum c4gh-archive/R1/S1/manifest.json").out, manifest_md5);

  // The archive's side.
  auto copy = [&](const std::string& name) {
    EXPECT_EQ(run("rm -rf " + name + " && cp -r c4gh-archive/R1/S1 " + name).exit_code, 0);
    return *dir_ / name;
  };
  const std::string good = copy("c4gh-good");
  auto ok = Accept(good, "--known-references known.txt --crypt4gh-key archive.sec");
  ASSERT_EQ(ok.exit_code, 0) << ok.err;
  const json receipt = Receipt();
  EXPECT_EQ(receipt["accepted"], true);
  EXPECT_EQ(receipt["reads"], 2000);
  EXPECT_EQ(receipt["encryption"]["method"], "crypt4gh");
  EXPECT_EQ(receipt["encryption"]["key"], manifest["encryption"]["recipients"][0]);
  EXPECT_EQ(receipt["files"][0]["md5"], manifest["files"][0]["md5"]);
  EXPECT_EQ(receipt["files"][0]["plaintext"], manifest["files"][0]["plaintext"]);

  const std::string recipient = manifest["encryption"]["recipients"][0];
  Expect(Accept(good), 1,
         "the delivery is encrypted with Crypt4GH (for " + recipient + "): give --crypt4gh-key with the archive's private key");
  const std::string other = RunShell("sed -n 2p " + ShellQuote(*dir_ / "other.pub") + " | tr -d '\\n'").out;
  Expect(Accept(good, "--known-references known.txt --crypt4gh-key other.sec"), 1,
         "R1/S1/S1.cram.c4gh (cram): no header packet could be decrypted with the key 'other.sec' (public key " + other +
             "): the file was not encrypted for it");
  {
    auto r = RunShell("cd " + d + " && C4GH_PASSPHRASE=wrong " + cj + " accept " + ShellQuote(good) +
                      " --known-references known.txt --crypt4gh-key p.sec --receipt receipt.json");
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_EQ(r.err, "cramjet accept: error: 'p.sec': the passphrase in C4GH_PASSPHRASE does not open this key (a wrong "
                     "passphrase, or a damaged key)\n");
  }
  // One byte of the stored ciphertext changed: its MD5 is not the manifest's.
  const std::string tampered = copy("c4gh-tampered");
  const std::string cram = tampered + "/S1.cram.c4gh";
  const uint64_t size = ReadFile(cram).size();
  ASSERT_GT(size, 16u + 108 + 65564 + 1000) << "the test needs a CRAM of two segments at least";
  const uint64_t offset = 16 + 108 + 65564 + 500;  // inside segment 2
  ASSERT_EQ(RunShell("printf 'Z' | dd of=" + ShellQuote(cram) + " bs=1 seek=" + std::to_string(offset) +
                     " conv=notrunc status=none").exit_code, 0);
  const std::string damaged_md5 = RunShell("md5sum " + ShellQuote(cram) + " | cut -c1-32 | tr -d '\\n'").out;
  Expect(Accept(tampered, "--known-references known.txt --crypt4gh-key archive.sec"), 3,
         "R1/S1/S1.cram.c4gh (cram): MD5 " + damaged_md5 + ", the manifest says " +
             manifest["files"][0]["md5"].get<std::string>());
  // ... and with the manifest's MD5 brought in line: the segment's MAC still tells.
  EditManifest(tampered, "m['files'][0]['md5']='" + damaged_md5 + "'");
  Expect(Accept(tampered, "--known-references known.txt --crypt4gh-key archive.sec"), 3,
         "R1/S1/S1.cram.c4gh (cram): segment 2 fails authentication (damaged or truncated ciphertext)");
  // A truncated ciphertext (manifest in line again): the last segment fails.
  const std::string cut = copy("c4gh-cut");
  ASSERT_EQ(RunShell("truncate -s -7 " + ShellQuote(cut + "/S1.cram.c4gh")).exit_code, 0);
  const std::string cut_md5 = RunShell("md5sum " + ShellQuote(cut + "/S1.cram.c4gh") + " | cut -c1-32 | tr -d '\\n'").out;
  EditManifest(cut, "m['files'][0]['md5']='" + cut_md5 + "'; m['files'][0]['size']-=7");
  const uint64_t segments = (size - 16 - 108 + 65563) / 65564;
  Expect(Accept(cut, "--known-references known.txt --crypt4gh-key archive.sec"), 3,
         "R1/S1/S1.cram.c4gh (cram): segment " + std::to_string(segments) +
             " fails authentication (damaged or truncated ciphertext)");

  // Objects X.c4gh and X.c4gh.c4gh: the second decrypts to the name the first is fetched
  // under. Named as the delivery's clash, before anything of the second is fetched.
  const std::string clash = copy("c4gh-clash");
  EditManifest(clash, "c=[f for f in m['files'] if f['role']=='index'][0]; d=dict(c); d['name']=c['name']+'.c4gh'; "
                      "m['files'].append(d)");
  const json edited = json::parse(ReadFile(clash + "/manifest.json"));
  std::string crai;
  for (const auto& f : edited["files"])
    if (f["role"] == "index" && crai.empty()) crai = f["name"];
  ASSERT_FALSE(crai.empty());
  Expect(Accept(clash, "--known-references known.txt --crypt4gh-key archive.sec"), 1,
         "file://" + clash + "/manifest.json: " + crai + " and " + crai + ".c4gh would both take the name '" +
             crai.substr(crai.rfind('/') + 1) + "' in the staging folder");
}

}  // namespace
}  // namespace cramjet
