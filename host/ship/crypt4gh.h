// host/ship/crypt4gh.h — GA4GH Crypt4GH v1 (https://samtools.github.io/hts-specs/crypt4gh.pdf):
// the encrypted file format the EGA's inbox takes, and its key files. Used by the ship stage
// (each file of an encrypted delivery is shipped as NAME.c4gh) and by `cramjet accept` (which
// decrypts with the archive's private key). The primitives are libsodium's: X25519 with
// crypto_kx session keys (BLAKE2b-512), ChaCha20-Poly1305-IETF, scrypt for passphrase keys.
//
// File layout, all integers little-endian (docs/shipping.md, "Crypt4GH"):
//   "crypt4gh" | version u32 = 1 | header packet count u32 | packets | data segments
//   packet: length u32 (including itself) | header encryption method u32 (0: X25519 +
//           ChaCha20-Poly1305) | writer's public key (32) | nonce (12) | encrypted payload + MAC (16)
//   payload (data encryption parameters): packet type u32 = 0 | data encryption method u32 = 0
//           (chacha20_ietf_poly1305) | session key (32)
//   segment: nonce (12) | ChaCha20-Poly1305-IETF of 65536 plaintext bytes (the last one fewer) | MAC (16)
// One header packet per recipient, each encrypted with the key shared between the writer's
// ephemeral X25519 key and that recipient: the writer takes crypto_kx_server_session_keys' tx
// key, the reader crypto_kx_client_session_keys' rx key (the same 32 bytes).
//
// Streaming: files are read and written one segment at a time, never whole.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cramjet/status.h"

namespace cramjet::crypt4gh {

inline constexpr size_t kKeyBytes = 32;
inline constexpr size_t kNonceBytes = 12;
inline constexpr size_t kMacBytes = 16;
inline constexpr size_t kSegmentBytes = 65536;  // plaintext bytes per data segment
inline constexpr size_t kCipherSegmentBytes = kNonceBytes + kSegmentBytes + kMacBytes;
inline constexpr uint32_t kVersion = 1;
inline constexpr uint32_t kHeaderMethodX25519ChaCha20Poly1305 = 0;
inline constexpr uint32_t kPacketTypeDataEncryptionParameters = 0;
inline constexpr uint32_t kPacketTypeDataEditList = 1;
inline constexpr uint32_t kDataMethodChaCha20Poly1305 = 0;
// The length of one X25519 header packet carrying data encryption parameters (what we write).
inline constexpr size_t kDataKeyPacketBytes = 4 + 4 + kKeyBytes + kNonceBytes + (4 + 4 + kKeyBytes) + kMacBytes;
// The passphrase of an encrypted private key, as the crypt4gh tools take it.
inline constexpr const char* kPassphraseVariable = "C4GH_PASSPHRASE";

using Key = std::array<uint8_t, kKeyBytes>;
using Nonce = std::array<uint8_t, kNonceBytes>;

// libsodium's one-time set-up; Internal when it fails. Every function below calls it.
[[nodiscard]] Status Init();

// OK, or BadInput naming `source` for a low-order X25519 point (the all-zero shared secret with
// every key: what is sealed for it anyone can open). For recipient keys, when a config is read.
[[nodiscard]] Status CheckUsablePublicKey(const Key& public_key, const std::string& source);

// Overwrites a secret key with zeros (sodium_memzero: not optimised away).
void Wipe(Key& key);

// The X25519 public key of a secret key.
Key PublicKeyOf(const Key& secret);
// Standard base64 (with padding) of a key: the body of a public key file, and how the manifest
// and the receipt name a recipient.
std::string KeyBase64(const Key& key);

// ---- Key files (the crypt4gh tools' formats) ----------------------------------------------------
// Public: "-----BEGIN CRYPT4GH PUBLIC KEY-----", base64 of the 32 bytes, "-----END ...-----".
// Private: "-----BEGIN CRYPT4GH PRIVATE KEY-----", base64 of "c4gh-v1" | string kdf name |
// [string kdf options: rounds u32 big-endian | salt] | string cipher name | string key blob |
// [string comment], each string a u16 big-endian length and its bytes. Read: kdf "none" (cipher
// "none", the 32 key bytes) or "scrypt" (N = 2^14, r = 8, p = 1, 32 bytes; cipher
// "chacha20_poly1305", blob = nonce (12) | encrypted key + MAC). Errors name `source`.
[[nodiscard]] StatusOr<Key> ParsePublicKey(std::string_view text, const std::string& source);
[[nodiscard]] StatusOr<Key> ReadPublicKeyFile(const std::string& path);
// `passphrase`: needed only for a protected key (FailedPrecondition naming kPassphraseVariable
// when it is nullopt then; BadInput for a wrong one).
[[nodiscard]] StatusOr<Key> ParsePrivateKey(std::string_view text, const std::string& source,
                                            const std::optional<std::string>& passphrase);
// The passphrase from $C4GH_PASSPHRASE when set.
[[nodiscard]] StatusOr<Key> ReadPrivateKeyFile(const std::string& path);
std::string EncodePublicKey(const Key& public_key);
// Empty passphrase: kdf "none" (an unprotected key); else scrypt with a random salt.
[[nodiscard]] StatusOr<std::string> EncodePrivateKey(const Key& secret, std::string_view passphrase);
// A new key pair: the public key written 0644, the private key 0600, each whole under its name
// (link() from a temporary, so an existing file is never replaced); neither may exist already
// (a key is never overwritten). When the public key cannot be written the private key is removed.
[[nodiscard]] Status GenerateKeyPair(const std::string& public_path, const std::string& private_path,
                                     std::string_view passphrase);

// ---- Files --------------------------------------------------------------------------------------
struct Digests {
  uint64_t plain_size = 0;
  std::string plain_md5;   // lower-case hex
  uint64_t cipher_size = 0;
  std::string cipher_md5;
  uint64_t segments = 0;
};

// Fixed inputs instead of random ones, for known-answer tests only.
struct FixedInputs {
  Key writer_secret{};
  Key session_key{};
  std::function<Nonce(size_t packet)> header_nonce;
  std::function<Nonce(uint64_t segment)> segment_nonce;  // segment counted from 0
};

// Encrypts `plain_path` for `recipients` (at least one) to `cipher_path`, written atomically
// (temporary name, fsync, rename) and fsync'd. Digests of both sides, taken while streaming.
// `stop`, when given, is asked before each segment: true gives kAborted, the temporary removed.
[[nodiscard]] StatusOr<Digests> EncryptFile(const std::string& plain_path, const std::string& cipher_path,
                                            const std::vector<Key>& recipients,
                                            const FixedInputs* fixed_for_tests = nullptr,
                                            const std::function<bool()>& stop = nullptr);

// Decrypts `cipher_path` with `secret` to a new file `plain_path`, at most `max_plain_bytes`.
// Errors name `what` (the file as the caller knows it): kFailedPrecondition when no header
// packet opens with the key (named by `key_name` and its public key); kDataLoss for a segment that fails authentication ("segment N",
// counted from 1), a truncated file or more plaintext than the limit; kBadInput for something
// that is not Crypt4GH v1 or uses what this reader does not (an edit list, another data method),
// more than 1024 header packets, or more than 16 distinct data keys that open with `secret`.
// Header packets of other methods are skipped.
[[nodiscard]] StatusOr<Digests> DecryptFile(const std::string& cipher_path, const std::string& plain_path,
                                            const Key& secret, const std::string& key_name,
                                            uint64_t max_plain_bytes, const std::string& what);

}  // namespace cramjet::crypt4gh
