// Crypt4GH v1 (issue 14 item 5; host/ship/crypt4gh.h): the bytes our writer produces read back
// against the specification's layout, a second implementation (tests/ship/crypt4gh_reference.py,
// on Python's `cryptography` and hashlib: no libsodium) decrypting ours and writing a file with
// fixed keys and nonces that must equal ours byte for byte, and the failures: a wrong key, a
// damaged segment, a truncated file, an unknown header packet; and the key files.
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <random>
#include <set>
#include <string>
#include <vector>

#include <sodium.h>

#include "common/common.h"
#include "common/test_util.h"
#include "ship/crypt4gh.h"

namespace cramjet {
namespace {

using crypt4gh::Key;
using testing::ReadFile;
using testing::RunShell;
using testing::ShellQuote;
using testing::TempDir;
using testing::WriteFile;

std::string RandomBytes(size_t n, unsigned seed) {
  std::mt19937 rng(seed);
  std::string s(n, '\0');
  for (char& c : s) c = static_cast<char>(rng() & 0xff);
  return s;
}
Key KeyFrom(unsigned seed) {
  Key k;
  const std::string b = RandomBytes(32, seed);
  std::copy(b.begin(), b.end(), k.begin());
  return k;
}
std::string Hex(const Key& k) {
  static const char* d = "0123456789abcdef";
  std::string s;
  for (uint8_t b : k) s += {d[b >> 4], d[b & 15]};
  return s;
}
uint32_t U32(const std::string& s, size_t at) {
  return static_cast<uint8_t>(s[at]) | static_cast<uint8_t>(s[at + 1]) << 8 | static_cast<uint8_t>(s[at + 2]) << 16 |
         static_cast<uint32_t>(static_cast<uint8_t>(s[at + 3])) << 24;
}

// Debian's python3 (with python3-cryptography), not a virtual environment's.
std::string Python() {
  for (const char* p : {"/usr/bin/python3", "python3"})
    if (RunShell(std::string(p) + " -c 'import cryptography.hazmat.primitives.ciphers.aead' 2>/dev/null").exit_code == 0)
      return p;
  return "";
}
std::string Reference() { return std::string(CRAMJET_SOURCE_DIR) + "/tests/ship/crypt4gh_reference.py"; }
#define REQUIRE_PYTHON(py)                                                                    \
  const std::string py = Python();                                                            \
  if (py.empty()) GTEST_SKIP() << "python3 with the cryptography module (python3-cryptography) is not installed"

TEST(Crypt4gh, WhatWeWriteHasTheSpecificationsLayoutAtEverySize) {
  TempDir dir;
  const Key a = KeyFrom(1), b = KeyFrom(2);
  const std::vector<Key> recipients = {crypt4gh::PublicKeyOf(a), crypt4gh::PublicKeyOf(b)};
  for (size_t size : {size_t{0}, size_t{1}, size_t{65535}, size_t{65536}, size_t{65537}, size_t{3 * 1048576 + 17}}) {
    SCOPED_TRACE(size);
    const std::string plain = RandomBytes(size, static_cast<unsigned>(size));
    WriteFile(dir / "plain", plain);
    auto d = crypt4gh::EncryptFile(dir / "plain", dir / "c4gh", recipients);
    ASSERT_TRUE(d.ok()) << d.status().message();
    const std::string c = ReadFile(dir / "c4gh");
    // Header: magic, version 1, two packets (one per recipient) of 108 bytes each.
    ASSERT_GE(c.size(), 16u);
    EXPECT_EQ(c.substr(0, 8), "crypt4gh");
    EXPECT_EQ(U32(c, 8), 1u);
    ASSERT_EQ(U32(c, 12), 2u);
    size_t pos = 16;
    std::string writer_pk;
    for (int p = 0; p < 2; ++p) {
      EXPECT_EQ(U32(c, pos), 108u);      // length, itself included
      EXPECT_EQ(U32(c, pos + 4), 0u);    // X25519_chacha20_ietf_poly1305
      if (p == 0) writer_pk = c.substr(pos + 8, 32);
      EXPECT_EQ(c.substr(pos + 8, 32), writer_pk);  // one writer key per file
      pos += U32(c, pos);
    }
    // Segments: 12-byte nonce, 65536 bytes (the last fewer), 16-byte MAC; none for an empty file.
    const size_t full = size / 65536, rest = size % 65536;
    EXPECT_EQ(c.size(), pos + full * (65536 + 28) + (rest ? rest + 28 : 0));
    EXPECT_EQ(d->segments, full + (rest ? 1 : 0));
    EXPECT_EQ(d->plain_size, size);
    EXPECT_EQ(d->plain_md5, Md5Hex(plain));
    EXPECT_EQ(d->cipher_size, c.size());
    EXPECT_EQ(d->cipher_md5, Md5Hex(c));
    // Each recipient reads it back.
    for (const Key* sk : {&a, &b}) {
      ::unlink((dir / "back").c_str());
      auto back = crypt4gh::DecryptFile(dir / "c4gh", dir / "back", *sk, "'k'", size, "f");
      ASSERT_TRUE(back.ok()) << back.status().message();
      EXPECT_EQ(ReadFile(dir / "back"), plain);
      EXPECT_EQ(back->plain_md5, d->plain_md5);
      EXPECT_EQ(back->cipher_md5, d->cipher_md5);
    }
  }
}

TEST(Crypt4gh, ASecondImplementationDecryptsOursAndOursMatchesItsFixedVectorByteForByte) {
  REQUIRE_PYTHON(py);
  TempDir dir;
  const Key sk = KeyFrom(11), sk2 = KeyFrom(12);
  const std::string plain = RandomBytes(200000, 5);  // three full segments and a partial one
  WriteFile(dir / "plain", plain);
  // (a) Python decrypts what we wrote.
  auto d = crypt4gh::EncryptFile(dir / "plain", dir / "ours.c4gh", {crypt4gh::PublicKeyOf(sk)});
  ASSERT_TRUE(d.ok()) << d.status().message();
  auto r = RunShell(py + " " + ShellQuote(Reference()) + " decrypt " + Hex(sk) + " " + ShellQuote(dir / "ours.c4gh") +
                    " " + ShellQuote(dir / "py.plain"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(ReadFile(dir / "py.plain"), plain);
  // The public key of a secret key, both ways.
  r = RunShell(py + " " + ShellQuote(Reference()) + " pubkey " + Hex(sk));
  EXPECT_EQ(r.out, Hex(crypt4gh::PublicKeyOf(sk)) + "\n");

  // (b) Fixed writer key, session key and nonces: Python's file and ours are the same bytes, and
  // we decrypt Python's.
  const Key writer = KeyFrom(21), session = KeyFrom(22);
  r = RunShell(py + " " + ShellQuote(Reference()) + " encrypt " + Hex(writer) + " " + Hex(session) + " " +
               ShellQuote(dir / "plain") + " " + ShellQuote(dir / "py.c4gh") + " " + Hex(crypt4gh::PublicKeyOf(sk)) + " " +
               Hex(crypt4gh::PublicKeyOf(sk2)));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  crypt4gh::FixedInputs fixed;
  fixed.writer_secret = writer;
  fixed.session_key = session;
  fixed.header_nonce = [](size_t p) {
    crypt4gh::Nonce n;
    n.fill(static_cast<uint8_t>(0xA0 + p));
    return n;
  };
  fixed.segment_nonce = [](uint64_t s) {
    crypt4gh::Nonce n{};
    for (int i = 0; i < 8; ++i) n[i] = static_cast<uint8_t>(s >> (8 * i));
    return n;
  };
  auto fixed_d = crypt4gh::EncryptFile(dir / "plain", dir / "fixed.c4gh",
                                       {crypt4gh::PublicKeyOf(sk), crypt4gh::PublicKeyOf(sk2)}, &fixed);
  ASSERT_TRUE(fixed_d.ok()) << fixed_d.status().message();
  const std::string theirs = ReadFile(dir / "py.c4gh");
  EXPECT_EQ(theirs.size(), 16 + 2 * 108 + 3 * (65536 + 28) + (200000 - 3 * 65536) + 28);
  EXPECT_TRUE(ReadFile(dir / "fixed.c4gh") == theirs) << "our fixed-input file differs from the reference's";
  auto back = crypt4gh::DecryptFile(dir / "py.c4gh", dir / "back", sk2, "'k'", plain.size(), "py.c4gh");
  ASSERT_TRUE(back.ok()) << back.status().message();
  EXPECT_EQ(ReadFile(dir / "back"), plain);
  EXPECT_EQ(back->segments, 4u);

  // A header packet of a method we do not know comes first: skipped, the next one opens.
  r = RunShell(py + " " + ShellQuote(Reference()) + " encrypt " + Hex(writer) + " " + Hex(session) + " " +
               ShellQuote(dir / "plain") + " " + ShellQuote(dir / "junk.c4gh") + " " + Hex(crypt4gh::PublicKeyOf(sk)) +
               " --junk-packet");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(U32(ReadFile(dir / "junk.c4gh"), 12), 2u);
  EXPECT_EQ(U32(ReadFile(dir / "junk.c4gh"), 20), 7u);
  auto junk = crypt4gh::DecryptFile(dir / "junk.c4gh", dir / "junk.plain", sk, "'k'", plain.size(), "junk.c4gh");
  ASSERT_TRUE(junk.ok()) << junk.status().message();
  EXPECT_EQ(ReadFile(dir / "junk.plain"), plain);
}

TEST(Crypt4gh, AWrongKeyADamagedSegmentAndATruncatedFileAreNamed) {
  TempDir dir;
  const Key sk = KeyFrom(31), other = KeyFrom(32);
  const std::string plain = RandomBytes(3 * 65536 + 1000, 6);
  WriteFile(dir / "plain", plain);
  ASSERT_TRUE(crypt4gh::EncryptFile(dir / "plain", dir / "f.c4gh", {crypt4gh::PublicKeyOf(sk)}).ok());
  const std::string c = ReadFile(dir / "f.c4gh");

  auto wrong = crypt4gh::DecryptFile(dir / "f.c4gh", dir / "out1", other, "'other.sec'", plain.size(), "S1.cram.c4gh");
  ASSERT_FALSE(wrong.ok());
  EXPECT_EQ(wrong.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(wrong.status().message(), "S1.cram.c4gh: no header packet could be decrypted with the key 'other.sec' (public key " +
                                          crypt4gh::KeyBase64(crypt4gh::PublicKeyOf(other)) +
                                          "): the file was not encrypted for it");
  EXPECT_FALSE(testing::PathExists(dir / "out1"));

  // One byte flipped in segment 2.
  std::string damaged = c;
  damaged[16 + 108 + (65536 + 28) + 500] ^= 0x01;
  WriteFile(dir / "damaged.c4gh", damaged);
  auto seg = crypt4gh::DecryptFile(dir / "damaged.c4gh", dir / "out2", sk, "'k'", plain.size(), "S1.cram.c4gh");
  ASSERT_FALSE(seg.ok());
  EXPECT_EQ(seg.status().code(), StatusCode::kDataLoss);
  EXPECT_EQ(seg.status().message(), "S1.cram.c4gh: segment 2 fails authentication (damaged or truncated ciphertext)");
  EXPECT_FALSE(testing::PathExists(dir / "out2"));  // nothing half-decrypted is left

  // Cut inside the last segment, inside the header, and after the magic.
  WriteFile(dir / "cut.c4gh", c.substr(0, c.size() - 10));
  auto cut = crypt4gh::DecryptFile(dir / "cut.c4gh", dir / "out3", sk, "'k'", plain.size(), "f");
  EXPECT_EQ(cut.status().message(), "f: segment 4 fails authentication (damaged or truncated ciphertext)");
  WriteFile(dir / "cut.c4gh", c.substr(0, 16 + 50));
  cut = crypt4gh::DecryptFile(dir / "cut.c4gh", dir / "out3", sk, "'k'", plain.size(), "f");
  EXPECT_EQ(cut.status().code(), StatusCode::kDataLoss);
  EXPECT_EQ(cut.status().message(), "f: truncated in header packet 1");
  WriteFile(dir / "cut.c4gh", c.substr(0, 10));
  cut = crypt4gh::DecryptFile(dir / "cut.c4gh", dir / "out3", sk, "'k'", plain.size(), "f");
  EXPECT_EQ(cut.status().message(), "f: truncated Crypt4GH header (10 bytes)");
  WriteFile(dir / "cut.c4gh", "CRAM...");
  cut = crypt4gh::DecryptFile(dir / "cut.c4gh", dir / "out3", sk, "'k'", plain.size(), "f");
  EXPECT_EQ(cut.status().code(), StatusCode::kBadInput);
  EXPECT_EQ(cut.status().message(), "f: not a Crypt4GH file (no 'crypt4gh' magic)");
  // More plaintext than the caller allows (the manifest's size): stopped.
  auto big = crypt4gh::DecryptFile(dir / "f.c4gh", dir / "out4", sk, "'k'", 65536, "f");
  EXPECT_EQ(big.status().message(), "f: decrypts to more than 65536 bytes");
  EXPECT_FALSE(testing::PathExists(dir / "out4"));
}

TEST(Crypt4ghKeys, GeneratedPythonMadeProtectedAndGarbageKeys) {
  TempDir dir;
  ::unsetenv("C4GH_PASSPHRASE");
  // Unprotected pair.
  ASSERT_TRUE(crypt4gh::GenerateKeyPair(dir / "a.pub", dir / "a.sec", "").ok());
  struct stat st;
  ASSERT_EQ(::stat((dir / "a.sec").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  auto pk = crypt4gh::ReadPublicKeyFile(dir / "a.pub");
  auto sk = crypt4gh::ReadPrivateKeyFile(dir / "a.sec");
  ASSERT_TRUE(pk.ok() && sk.ok());
  EXPECT_EQ(crypt4gh::PublicKeyOf(*sk), *pk);
  EXPECT_EQ(ReadFile(dir / "a.pub"), "-----BEGIN CRYPT4GH PUBLIC KEY-----\n" + crypt4gh::KeyBase64(*pk) +
                                         "\n-----END CRYPT4GH PUBLIC KEY-----\n");
  // Never overwritten.
  EXPECT_EQ(crypt4gh::GenerateKeyPair(dir / "a.pub", dir / "b.sec", "").message(),
            "'" + (dir / "a.pub") + "' exists: a key is never overwritten");

  // Protected pair: the passphrase from C4GH_PASSPHRASE.
  ASSERT_TRUE(crypt4gh::GenerateKeyPair(dir / "p.pub", dir / "p.sec", "correct horse").ok());
  auto missing = crypt4gh::ReadPrivateKeyFile(dir / "p.sec");
  EXPECT_EQ(missing.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(missing.status().message(), "'" + (dir / "p.sec") + "' is protected by a passphrase: set C4GH_PASSPHRASE");
  ::setenv("C4GH_PASSPHRASE", "wrong", 1);
  auto wrong = crypt4gh::ReadPrivateKeyFile(dir / "p.sec");
  EXPECT_EQ(wrong.status().message(), "'" + (dir / "p.sec") +
                                          "': the passphrase in C4GH_PASSPHRASE does not open this key (a wrong "
                                          "passphrase, or a damaged key)");
  ::setenv("C4GH_PASSPHRASE", "correct horse", 1);
  auto right = crypt4gh::ReadPrivateKeyFile(dir / "p.sec");
  ASSERT_TRUE(right.ok()) << right.status().message();
  EXPECT_EQ(crypt4gh::PublicKeyOf(*right), *crypt4gh::ReadPublicKeyFile(dir / "p.pub"));
  ::unsetenv("C4GH_PASSPHRASE");

  // Keys made by the second implementation (hashlib.scrypt, cryptography's ChaCha20-Poly1305).
  const std::string py = Python();
  if (!py.empty()) {
    const Key secret = KeyFrom(41);
    ASSERT_EQ(RunShell(py + " " + ShellQuote(Reference()) + " private-key " + Hex(secret) + " 'py pass' " +
                       ShellQuote(dir / "py.sec")).exit_code, 0);
    ASSERT_EQ(RunShell(py + " " + ShellQuote(Reference()) + " private-key " + Hex(secret) + " '' " +
                       ShellQuote(dir / "py-none.sec")).exit_code, 0);
    auto k = crypt4gh::ParsePrivateKey(ReadFile(dir / "py.sec"), "py.sec", std::string("py pass"));
    ASSERT_TRUE(k.ok()) << k.status().message();
    EXPECT_EQ(*k, secret);
    EXPECT_EQ(crypt4gh::ParsePrivateKey(ReadFile(dir / "py.sec"), "py.sec", std::string("nope")).status().code(),
              StatusCode::kBadInput);
    auto none = crypt4gh::ParsePrivateKey(ReadFile(dir / "py-none.sec"), "py-none.sec", std::nullopt);
    ASSERT_TRUE(none.ok()) << none.status().message();
    EXPECT_EQ(*none, secret);
  }

  // Garbage.
  const std::pair<std::string, std::string> bad_public[] = {
      {"hello\n", "'x.pub': not a Crypt4GH public key (expected a first line '-----BEGIN CRYPT4GH PUBLIC KEY-----')"},
      {"-----BEGIN CRYPT4GH PUBLIC KEY-----\nAAAA\n",
       "'x.pub': not a Crypt4GH public key (no line '-----END CRYPT4GH PUBLIC KEY-----' at its end)"},
      {"-----BEGIN CRYPT4GH PUBLIC KEY-----\n!!!!\n-----END CRYPT4GH PUBLIC KEY-----\n",
       "'x.pub': not a Crypt4GH public key (its body is not base64)"},
      {"-----BEGIN CRYPT4GH PUBLIC KEY-----\nAAAA\n-----END CRYPT4GH PUBLIC KEY-----\n",
       "'x.pub': not a Crypt4GH public key (3 bytes, an X25519 key has 32)"},
      {ReadFile(dir / "a.sec"),
       "'x.pub': not a Crypt4GH public key (expected a first line '-----BEGIN CRYPT4GH PUBLIC KEY-----')"},
  };
  for (const auto& [text, message] : bad_public) EXPECT_EQ(crypt4gh::ParsePublicKey(text, "x.pub").status().message(), message);
  const std::pair<std::string, std::string> bad_private[] = {
      {ReadFile(dir / "a.pub"),
       "'x.sec': not a Crypt4GH private key (expected a first line '-----BEGIN CRYPT4GH PRIVATE KEY-----')"},
      {"-----BEGIN CRYPT4GH PRIVATE KEY-----\nAAAA\n-----END CRYPT4GH PRIVATE KEY-----\n",
       "'x.sec': not a Crypt4GH private key (no c4gh-v1 magic)"},
      // "c4gh-v1" then a kdf string cut short.
      {"-----BEGIN CRYPT4GH PRIVATE KEY-----\nYzRnaC12MQAG\n-----END CRYPT4GH PRIVATE KEY-----\n",
       "'x.sec': not a Crypt4GH private key (truncated)"},
      // kdf "bcrypt".
      {"-----BEGIN CRYPT4GH PRIVATE KEY-----\nYzRnaC12MQAGYmNyeXB0\n-----END CRYPT4GH PRIVATE KEY-----\n",
       "'x.sec': the key is protected with kdf 'bcrypt', which cramjet does not read (save it again with scrypt or "
       "without a passphrase)"},
  };
  for (const auto& [text, message] : bad_private)
    EXPECT_EQ(crypt4gh::ParsePrivateKey(text, "x.sec", std::nullopt).status().message(), message);
}

std::string LE32(uint32_t v) {
  std::string s;
  for (int i = 0; i < 4; ++i) s += static_cast<char>((v >> (8 * i)) & 0xff);
  return s;
}
std::string Bytes(const uint8_t* p, size_t n) { return std::string(reinterpret_cast<const char*>(p), n); }

// One X25519 header packet for `recipient_pk` carrying `payload`, sealed as the specification
// says (a fresh writer key), made here with libsodium directly so the payload can be anything.
std::string Packet(const Key& recipient_pk, const std::string& payload) {
  EXPECT_EQ(sodium_init() < 0, false);
  uint8_t wpk[32], wsk[32], rx[32], tx[32], nonce[12];
  crypto_kx_keypair(wpk, wsk);
  EXPECT_EQ(crypto_kx_server_session_keys(rx, tx, wpk, wsk, recipient_pk.data()), 0);
  randombytes_buf(nonce, sizeof nonce);
  std::string sealed(payload.size() + 16, '\0');
  unsigned long long n = 0;
  crypto_aead_chacha20poly1305_ietf_encrypt(reinterpret_cast<uint8_t*>(sealed.data()), &n,
                                            reinterpret_cast<const uint8_t*>(payload.data()), payload.size(), nullptr,
                                            0, nullptr, nonce, tx);
  const std::string body = LE32(0) + Bytes(wpk, 32) + Bytes(nonce, 12) + sealed;
  return LE32(static_cast<uint32_t>(4 + body.size())) + body;
}
std::string DataKeyPayload(const Key& session, uint32_t method = 0) { return LE32(0) + LE32(method) + Bytes(session.data(), 32); }
std::string Header(const std::vector<std::string>& packets, uint32_t version = 1) {
  std::string h = "crypt4gh" + LE32(version) + LE32(static_cast<uint32_t>(packets.size()));
  for (const auto& p : packets) h += p;
  return h;
}
// One segment of `plain` sealed with `session`.
std::string Segment(const Key& session, const std::string& plain) {
  uint8_t nonce[12];
  randombytes_buf(nonce, sizeof nonce);
  std::string sealed(plain.size() + 16, '\0');
  unsigned long long n = 0;
  crypto_aead_chacha20poly1305_ietf_encrypt(reinterpret_cast<uint8_t*>(sealed.data()), &n,
                                            reinterpret_cast<const uint8_t*>(plain.data()), plain.size(), nullptr, 0,
                                            nullptr, nonce, session.data());
  return Bytes(nonce, 12) + sealed;
}

TEST(Crypt4gh, ManyOpeningHeaderPacketsAreRefusedAndRepeatedKeysCountOnce) {
  TempDir dir;
  const Key sk = KeyFrom(51);
  const Key pk = crypt4gh::PublicKeyOf(sk);
  const std::string plain = RandomBytes(70000, 9);
  std::vector<Key> sessions;
  for (unsigned i = 0; i < 17; ++i) sessions.push_back(KeyFrom(100 + i));
  // The data is sealed with the last session key: every other key is tried and fails first.
  const std::string data = Segment(sessions.back(), plain.substr(0, 65536)) + Segment(sessions.back(), plain.substr(65536));
  std::vector<std::string> packets;
  for (const Key& k : sessions) packets.push_back(Packet(pk, DataKeyPayload(k)));

  // 17 distinct data keys that open: refused, naming the file.
  WriteFile(dir / "many.c4gh", Header(packets) + data);
  auto many = crypt4gh::DecryptFile(dir / "many.c4gh", dir / "out", sk, "'k'", plain.size(), "S1.cram.c4gh");
  ASSERT_FALSE(many.ok());
  EXPECT_EQ(many.status().code(), StatusCode::kBadInput);
  EXPECT_EQ(many.status().message(), "S1.cram.c4gh: more than 16 header packets open with the key, each with its own "
                                     "data key: refused (a writer makes one)");
  EXPECT_FALSE(testing::PathExists(dir / "out"));

  // 16 distinct keys: read, every segment with the one that works.
  std::vector<std::string> sixteen(packets.end() - 16, packets.end());
  WriteFile(dir / "sixteen.c4gh", Header(sixteen) + data);
  auto ok = crypt4gh::DecryptFile(dir / "sixteen.c4gh", dir / "out16", sk, "'k'", plain.size(), "f");
  ASSERT_TRUE(ok.ok()) << ok.status().message();
  EXPECT_EQ(ReadFile(dir / "out16"), plain);

  // The same key in 40 packets (each sealed anew) is one key.
  std::vector<std::string> repeated;
  for (int i = 0; i < 40; ++i) repeated.push_back(Packet(pk, DataKeyPayload(sessions.back())));
  WriteFile(dir / "repeated.c4gh", Header(repeated) + data);
  auto rep = crypt4gh::DecryptFile(dir / "repeated.c4gh", dir / "outr", sk, "'k'", plain.size(), "f");
  ASSERT_TRUE(rep.ok()) << rep.status().message();
  EXPECT_EQ(ReadFile(dir / "outr"), plain);
}

TEST(Crypt4gh, HostileHeadersAreRefusedWithExactCodesAndMessages) {
  TempDir dir;
  const Key sk = KeyFrom(61);
  const Key pk = crypt4gh::PublicKeyOf(sk);
  const Key session = KeyFrom(62);
  const std::string good_packet = Packet(pk, DataKeyPayload(session));
  const std::string data = Segment(session, "hello");
  struct Case {
    const char* name;
    std::string bytes;
    StatusCode code;
    std::string message;
  };
  std::string too_long = "crypt4gh" + LE32(1) + LE32(1) + LE32((1u << 20) + 1);
  const Case cases[] = {
      {"no packets", Header({}) + data, StatusCode::kBadInput, "f: a Crypt4GH header without header packets"},
      {"1025 packets", "crypt4gh" + LE32(1) + LE32(1025) + good_packet, StatusCode::kBadInput, "f: 1025 header packets"},
      {"version 2", Header({good_packet}, 2) + data, StatusCode::kBadInput,
       "f: Crypt4GH version 2, this reader takes version 1"},
      {"length 7", "crypt4gh" + LE32(1) + LE32(1) + LE32(7) + "abc", StatusCode::kBadInput,
       "f: header packet 1 has length 7"},
      {"length 1 MiB + 1", too_long, StatusCode::kBadInput, "f: header packet 1 has length 1048577"},
      {"edit list", Header({Packet(pk, LE32(1) + LE32(1) + std::string(8, '\0')), good_packet}) + data,
       StatusCode::kBadInput, "f: header packet 1 is a data edit list, which cramjet does not apply"},
      {"data method 1", Header({Packet(pk, DataKeyPayload(session, 1))}) + data, StatusCode::kBadInput,
       "f: data encryption method 1 is not chacha20_ietf_poly1305"},
      {"empty segment", Header({good_packet}) + Segment(session, ""), StatusCode::kDataLoss,
       "f: segment 1 is truncated (28 bytes)"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    WriteFile(dir / "h.c4gh", c.bytes);
    auto r = crypt4gh::DecryptFile(dir / "h.c4gh", dir / "out", sk, "'k'", 1000, "f");
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), c.code);
    EXPECT_EQ(r.status().message(), c.message);
    EXPECT_FALSE(testing::PathExists(dir / "out"));
  }
  // The good header with the same data opens (the cases above differ from it in one thing each).
  WriteFile(dir / "h.c4gh", Header({good_packet}) + data);
  auto r = crypt4gh::DecryptFile(dir / "h.c4gh", dir / "out", sk, "'k'", 1000, "f");
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(ReadFile(dir / "out"), "hello");
}

TEST(Crypt4gh, NoncesAreDistinctWithinAFileAndWriterKeysAndNoncesDifferBetweenFiles) {
  TempDir dir;
  const std::vector<Key> recipients = {crypt4gh::PublicKeyOf(KeyFrom(71)), crypt4gh::PublicKeyOf(KeyFrom(72)),
                                       crypt4gh::PublicKeyOf(KeyFrom(73))};
  WriteFile(dir / "plain", RandomBytes(5 * 65536 + 3, 10));
  auto nonces_of = [&](const std::string& c, std::string* writer_pk, std::string* first_segment_nonce) {
    std::vector<std::string> nonces;
    size_t pos = 16;
    for (int p = 0; p < 3; ++p) {
      *writer_pk = c.substr(pos + 8, 32);
      nonces.push_back(c.substr(pos + 40, 12));
      pos += U32(c, pos);
    }
    *first_segment_nonce = c.substr(pos, 12);
    for (; pos < c.size(); pos += 65536 + 28) nonces.push_back(c.substr(pos, 12));
    return nonces;
  };
  ASSERT_TRUE(crypt4gh::EncryptFile(dir / "plain", dir / "a.c4gh", recipients).ok());
  ASSERT_TRUE(crypt4gh::EncryptFile(dir / "plain", dir / "b.c4gh", recipients).ok());
  std::string pk_a, pk_b, first_a, first_b;
  const auto a = nonces_of(ReadFile(dir / "a.c4gh"), &pk_a, &first_a);
  const auto b = nonces_of(ReadFile(dir / "b.c4gh"), &pk_b, &first_b);
  ASSERT_EQ(a.size(), 3u + 6u);  // three header packets, six segments
  EXPECT_EQ(std::set<std::string>(a.begin(), a.end()).size(), a.size()) << "a nonce repeats within one file";
  EXPECT_EQ(std::set<std::string>(b.begin(), b.end()).size(), b.size()) << "a nonce repeats within one file";
  EXPECT_NE(pk_a, pk_b) << "the writer key is not ephemeral";
  EXPECT_NE(first_a, first_b);
}

TEST(Crypt4gh, EncryptionStopsOnRequestAndLeavesNoTemporary) {
  TempDir dir;
  WriteFile(dir / "plain", RandomBytes(4 * 65536, 11));
  ASSERT_EQ(::mkdir((dir / "out").c_str(), 0755), 0);
  int asked = 0;
  auto r = crypt4gh::EncryptFile(dir / "plain", dir / "out/f.c4gh", {crypt4gh::PublicKeyOf(KeyFrom(81))}, nullptr,
                            [&] { return ++asked == 3; });
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kAborted);
  EXPECT_EQ(r.status().message(), "encrypting '" + (dir / "plain") + "': stopped on request");
  EXPECT_EQ(asked, 3);  // asked once per segment: stopped before the third
  EXPECT_EQ(RunShell("ls -A " + ShellQuote(dir / "out")).out, "");
}

TEST(Crypt4ghKeys, KeyFilesThatAreNotRegularFilesAndLowOrderKeysAreRefused) {
  TempDir dir;
  auto pub = crypt4gh::ReadPublicKeyFile("/dev/zero");
  EXPECT_EQ(pub.status().code(), StatusCode::kBadInput);
  EXPECT_EQ(pub.status().message(), "'/dev/zero': not a Crypt4GH public key (not a regular file)");
  auto sec = crypt4gh::ReadPrivateKeyFile("/dev/zero");
  EXPECT_EQ(sec.status().code(), StatusCode::kBadInput);
  EXPECT_EQ(sec.status().message(), "'/dev/zero': not a Crypt4GH private key (not a regular file)");
  // A FIFO with no writer: refused at once, not waited on.
  ASSERT_EQ(::mkfifo((dir / "fifo").c_str(), 0600), 0);
  EXPECT_EQ(crypt4gh::ReadPrivateKeyFile(dir / "fifo").status().message(),
            "'" + (dir / "fifo") + "': not a Crypt4GH private key (not a regular file)");
  // A regular file over the limit.
  WriteFile(dir / "big.pub", std::string(64 * 1024 + 1, 'A'));
  EXPECT_EQ(crypt4gh::ReadPublicKeyFile(dir / "big.pub").status().message(),
            "'" + (dir / "big.pub") + "': not a Crypt4GH public key (more than 65536 bytes)");

  // The all-zero public key (a low-order point) and the order-8 point 1; a real key passes.
  const Key zero{};
  EXPECT_EQ(crypt4gh::CheckUsablePublicKey(zero, "z.pub").message(),
            "'z.pub': the Crypt4GH public key " + crypt4gh::KeyBase64(zero) +
                " is a low-order X25519 point (every shared secret with it is zero): not a usable recipient");
  Key one{};
  one[0] = 1;
  EXPECT_EQ(crypt4gh::CheckUsablePublicKey(one, "one.pub").code(), StatusCode::kBadInput);
  EXPECT_TRUE(crypt4gh::CheckUsablePublicKey(crypt4gh::PublicKeyOf(KeyFrom(91)), "k.pub").ok());
}

TEST(Crypt4ghKeys, KeygenNeverReplacesAKeyAndLeavesNoPrivateKeyWithoutItsPublicKey) {
  TempDir dir;
  // An existing public key: refused, and no private key written.
  WriteFile(dir / "x.pub", "existing\n");
  EXPECT_EQ(crypt4gh::GenerateKeyPair(dir / "x.pub", dir / "x.sec", "").message(),
            "'" + (dir / "x.pub") + "' exists: a key is never overwritten");
  EXPECT_FALSE(testing::PathExists(dir / "x.sec"));
  EXPECT_EQ(ReadFile(dir / "x.pub"), "existing\n");
  // The public key cannot be written (its folder is missing) after the private key was: the
  // private key is removed again, and no temporary is left.
  auto r = crypt4gh::GenerateKeyPair(dir / "missing/y.pub", dir / "y.sec", "");
  EXPECT_FALSE(r.ok());
  EXPECT_FALSE(testing::PathExists(dir / "y.sec"));
  EXPECT_EQ(RunShell("ls -A " + ShellQuote(dir.path())).out, "x.pub\n");
  // A dangling symlink under the private key's name is an existing name too (never followed).
  ASSERT_EQ(::symlink((dir / "elsewhere").c_str(), (dir / "z.sec").c_str()), 0);
  EXPECT_EQ(crypt4gh::GenerateKeyPair(dir / "z.pub", dir / "z.sec", "").message(),
            "'" + (dir / "z.sec") + "' exists: a key is never overwritten");
  EXPECT_FALSE(testing::PathExists(dir / "elsewhere"));
  EXPECT_FALSE(testing::PathExists(dir / "z.pub"));
}

}  // namespace
}  // namespace cramjet
