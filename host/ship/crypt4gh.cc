// Crypt4GH v1 files and key files (crypt4gh.h), on libsodium's primitives.
#include "ship/crypt4gh.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <memory>

#include <htslib/hts.h>
#include <sodium.h>

#include "common/common.h"
#include "common/unique_fd.h"

namespace cramjet::crypt4gh {
namespace {

constexpr char kMagic[8] = {'c', 'r', 'y', 'p', 't', '4', 'g', 'h'};
constexpr std::string_view kKeyMagic = "c4gh-v1";
constexpr std::string_view kPublicBegin = "-----BEGIN CRYPT4GH PUBLIC KEY-----";
constexpr std::string_view kPublicEnd = "-----END CRYPT4GH PUBLIC KEY-----";
constexpr std::string_view kPrivateBegin = "-----BEGIN CRYPT4GH PRIVATE KEY-----";
constexpr std::string_view kPrivateEnd = "-----END CRYPT4GH PRIVATE KEY-----";
constexpr size_t kSaltBytes = 16;
// A header packet larger than this is not one any writer makes (ours: 108 bytes).
constexpr uint32_t kMaxPacketBytes = 1u << 20;
// A delivery has one packet per recipient (a handful); a crafted header of thousands would make
// accept read and try each one.
constexpr uint32_t kMaxPackets = 1024;
// Each segment is tried against every session key that opened: more than a few would let a
// crafted file multiply accept's decryption work.
constexpr size_t kMaxSessionKeys = 16;
// Key files are a few hundred bytes; anything near this is not a key.
constexpr size_t kMaxKeyFileBytes = 64 * 1024;

void PutU32(std::string& out, uint32_t v) {
  for (int i = 0; i < 4; ++i) out += static_cast<char>((v >> (8 * i)) & 0xff);
}
uint32_t GetU32(const uint8_t* p) {
  return static_cast<uint32_t>(p[0]) | static_cast<uint32_t>(p[1]) << 8 | static_cast<uint32_t>(p[2]) << 16 |
         static_cast<uint32_t>(p[3]) << 24;
}

// Reads up to `n` bytes (fewer only at the end of the file).
StatusOr<size_t> ReadFull(int fd, uint8_t* buf, size_t n, const std::string& path) {
  size_t got = 0;
  while (got < n) {
    const ssize_t r = ::read(fd, buf + got, n - got);
    if (r < 0) {
      if (errno == EINTR) continue;
      return IoErrorFromErrno("reading '" + path + "'", errno);
    }
    if (r == 0) break;
    got += static_cast<size_t>(r);
  }
  return got;
}

// Secret bytes wiped when they go out of scope.
template <size_t N>
struct Secret {
  std::array<uint8_t, N> bytes{};
  ~Secret() { sodium_memzero(bytes.data(), bytes.size()); }
  uint8_t* data() { return bytes.data(); }
  const uint8_t* data() const { return bytes.data(); }
};

// Wipes a container of secret bytes (a string, a vector, an array) on every return path, error
// returns included: the buffer itself outlives nothing, but freed heap memory is not cleared.
template <typename Container>
class WipeOnExit {
 public:
  explicit WipeOnExit(Container& c) : c_(c) {}
  ~WipeOnExit() {
    if (!c_.empty()) sodium_memzero(c_.data(), c_.size() * sizeof(c_[0]));
  }
  WipeOnExit(const WipeOnExit&) = delete;
  WipeOnExit& operator=(const WipeOnExit&) = delete;

 private:
  Container& c_;
};

// The same for a raw buffer (the segment buffers, which hold plaintext).
class WipeBytes {
 public:
  WipeBytes(uint8_t* p, size_t n) : p_(p), n_(n) {}
  ~WipeBytes() { sodium_memzero(p_, n_); }
  WipeBytes(const WipeBytes&) = delete;
  WipeBytes& operator=(const WipeBytes&) = delete;

 private:
  uint8_t* p_;
  size_t n_;
};

// A key file's text: a regular file (not a FIFO or a device, which could block or never end,
// and whose stat size says nothing), at most kMaxKeyFileBytes read. O_NONBLOCK so that opening
// a FIFO does not wait for a writer before fstat can refuse it.
StatusOr<std::string> ReadKeyFile(const std::string& path, const char* what) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK));
  if (fd.get() < 0) return IoErrorFromErrno("opening '" + path + "'", errno);
  struct stat st;
  if (::fstat(fd.get(), &st) != 0) return IoErrorFromErrno("stat '" + path + "'", errno);
  if (!S_ISREG(st.st_mode))
    return BadInput("'" + path + "': not a Crypt4GH " + what + " (not a regular file)");
  std::string text(kMaxKeyFileBytes + 1, '\0');
  auto got = ReadFull(fd.get(), reinterpret_cast<uint8_t*>(text.data()), text.size(), path);
  if (!got.ok()) {
    sodium_memzero(text.data(), text.size());
    return got.status();
  }
  if (*got > kMaxKeyFileBytes) {
    sodium_memzero(text.data(), text.size());
    return BadInput("'" + path + "': not a Crypt4GH " + what + " (more than " + std::to_string(kMaxKeyFileBytes) +
                    " bytes)");
  }
  text.resize(*got);
  return text;
}

// The base64 body between an armour's BEGIN and END lines.
StatusOr<std::string> Unarmour(std::string_view text, std::string_view begin, std::string_view end,
                               const std::string& source, const char* what) {
  std::vector<std::string_view> lines;
  size_t start = 0;
  while (start < text.size()) {
    size_t nl = text.find('\n', start);
    if (nl == std::string_view::npos) nl = text.size();
    std::string_view line = text.substr(start, nl - start);
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ' || line.back() == '\t')) line.remove_suffix(1);
    while (!line.empty() && (line.front() == ' ' || line.front() == '\t')) line.remove_prefix(1);
    if (!line.empty()) lines.push_back(line);
    start = nl + 1;
  }
  if (lines.empty() || lines.front() != begin)
    return BadInput("'" + source + "': not a Crypt4GH " + what + " (expected a first line '" + std::string(begin) + "')");
  if (lines.size() < 2 || lines.back() != end)
    return BadInput("'" + source + "': not a Crypt4GH " + what + " (no line '" + std::string(end) + "' at its end)");
  std::string b64;
  // A private key's body: wiped (reserved once, so no reallocation leaves a copy behind).
  size_t body_size = 0;
  for (size_t i = 1; i + 1 < lines.size(); ++i) body_size += lines[i].size();
  b64.reserve(body_size);
  WipeOnExit wipe_b64(b64);
  for (size_t i = 1; i + 1 < lines.size(); ++i) b64 += lines[i];
  std::string bin(b64.size(), '\0');
  size_t bin_len = 0;
  const char* b64_end = nullptr;
  if (sodium_base642bin(reinterpret_cast<unsigned char*>(bin.data()), bin.size(), b64.data(), b64.size(), nullptr,
                        &bin_len, &b64_end, sodium_base64_VARIANT_ORIGINAL) != 0 ||
      b64_end != b64.data() + b64.size()) {
    sodium_memzero(bin.data(), bin.size());
    return BadInput("'" + source + "': not a Crypt4GH " + what + " (its body is not base64)");
  }
  bin.resize(bin_len);
  return bin;
}

// The private key format's strings: u16 big-endian length, then the bytes.
class StringReader {
 public:
  explicit StringReader(std::string_view data) : data_(data) {}
  std::optional<std::string_view> Next() {
    if (data_.size() < 2) return std::nullopt;
    const size_t n = static_cast<size_t>(static_cast<uint8_t>(data_[0])) << 8 | static_cast<uint8_t>(data_[1]);
    if (data_.size() < 2 + n) return std::nullopt;
    std::string_view s = data_.substr(2, n);
    data_.remove_prefix(2 + n);
    return s;
  }

 private:
  std::string_view data_;
};
void PutString(std::string& out, std::string_view s) {
  out += static_cast<char>((s.size() >> 8) & 0xff);
  out += static_cast<char>(s.size() & 0xff);
  out += s;
}

Status ScryptKey(std::string_view passphrase, std::string_view salt, uint8_t* out) {
  if (crypto_pwhash_scryptsalsa208sha256_ll(reinterpret_cast<const uint8_t*>(passphrase.data()), passphrase.size(),
                                            reinterpret_cast<const uint8_t*>(salt.data()), salt.size(), 1u << 14, 8, 1,
                                            out, kKeyBytes) != 0)
    return Internal("scrypt failed (out of memory?)");
  return Status::Ok();
}

// Writes a new file whole with `mode`; refuses an existing one. Committed with link(), not
// rename(): link fails with EEXIST when the name appeared meanwhile, so an existing key is never
// replaced, even by a race between a check and the commit.
Status WriteNewFile(const std::string& path, std::string_view contents, mode_t mode) {
  const std::string exists = "'" + path + "' exists: a key is never overwritten";
  struct stat st;
  if (::lstat(path.c_str(), &st) == 0) return InvalidArgument(exists);
  // The temporary is AtomicOutput's (removed on every error path, and by name when a crash
  // leaves it); its Commit is not used, as rename would replace.
  CRAMJET_ASSIGN_OR_RETURN(AtomicOutput out, AtomicOutput::Create(path));
  UniqueFd fd(::open(out.temp_path().c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode));
  if (fd.get() < 0) return IoErrorFromErrno("creating '" + out.temp_path() + "'", errno);
  if (::fchmod(fd.get(), mode) != 0) return IoErrorFromErrno("chmod '" + out.temp_path() + "'", errno);
  CRAMJET_RETURN_IF_ERROR(WriteAll(fd.get(), contents, "writing '" + out.temp_path() + "'"));
  if (::fsync(fd.get()) != 0) return IoErrorFromErrno("fsync '" + out.temp_path() + "'", errno);
  if (::close(fd.release()) != 0) return IoErrorFromErrno("closing '" + out.temp_path() + "'", errno);
  if (::link(out.temp_path().c_str(), path.c_str()) != 0) {
    if (errno == EEXIST) return InvalidArgument(exists);
    return IoErrorFromErrno("linking '" + out.temp_path() + "' to '" + path + "'", errno);
  }
  out.Abandon();  // unlinks the temporary name; the key stays under `path`
  return FsyncPath(DirName(path), true);
}

}  // namespace

Status Init() {
  static const int result = sodium_init();
  if (result < 0) return Internal("libsodium could not be initialised");
  return Status::Ok();
}

void Wipe(Key& key) { sodium_memzero(key.data(), key.size()); }

Key PublicKeyOf(const Key& secret) {
  // Init is idempotent and cannot fail in practice; the header promises every function calls it.
  (void)Init();
  Key pk{};
  crypto_scalarmult_base(pk.data(), secret.data());
  return pk;
}

std::string KeyBase64(const Key& key) {
  (void)Init();
  char out[sodium_base64_ENCODED_LEN(kKeyBytes, sodium_base64_VARIANT_ORIGINAL)];
  sodium_bin2base64(out, sizeof out, key.data(), key.size(), sodium_base64_VARIANT_ORIGINAL);
  return out;
}

StatusOr<Key> ParsePublicKey(std::string_view text, const std::string& source) {
  CRAMJET_RETURN_IF_ERROR(Init());
  CRAMJET_ASSIGN_OR_RETURN(std::string bin, Unarmour(text, kPublicBegin, kPublicEnd, source, "public key"));
  if (bin.size() != kKeyBytes)
    return BadInput("'" + source + "': not a Crypt4GH public key (" + std::to_string(bin.size()) +
                    " bytes, an X25519 key has 32)");
  Key k;
  std::memcpy(k.data(), bin.data(), kKeyBytes);
  return k;
}

Status CheckUsablePublicKey(const Key& public_key, const std::string& source) {
  CRAMJET_RETURN_IF_ERROR(Init());
  // A low-order point gives the all-zero shared secret with every secret key, so every packet
  // for it would be sealed with a key anyone can compute. crypto_scalarmult refuses exactly
  // those (all-zero output); a throwaway secret is enough to ask.
  Secret<kKeyBytes> throwaway, shared;
  randombytes_buf(throwaway.data(), kKeyBytes);
  if (crypto_scalarmult(shared.data(), throwaway.data(), public_key.data()) != 0)
    return BadInput("'" + source + "': the Crypt4GH public key " + KeyBase64(public_key) +
                    " is a low-order X25519 point (every shared secret with it is zero): not a usable recipient");
  return Status::Ok();
}

StatusOr<Key> ReadPublicKeyFile(const std::string& path) {
  CRAMJET_ASSIGN_OR_RETURN(std::string text, ReadKeyFile(path, "public key"));
  return ParsePublicKey(text, path);
}

StatusOr<Key> ParsePrivateKey(std::string_view text, const std::string& source,
                              const std::optional<std::string>& passphrase) {
  CRAMJET_RETURN_IF_ERROR(Init());
  CRAMJET_ASSIGN_OR_RETURN(std::string bin, Unarmour(text, kPrivateBegin, kPrivateEnd, source, "private key"));
  WipeOnExit wipe_bin(bin);  // holds the key itself with kdf "none"
  auto bad = [&](const std::string& why) { return BadInput("'" + source + "': not a Crypt4GH private key (" + why + ")"); };
  if (bin.compare(0, kKeyMagic.size(), kKeyMagic) != 0) return bad("no c4gh-v1 magic");
  StringReader r(std::string_view(bin).substr(kKeyMagic.size()));
  const auto kdf = r.Next();
  if (!kdf) return bad("truncated");
  std::optional<std::string_view> options;
  if (*kdf != "none") {
    if (*kdf == "bcrypt" || *kdf == "pbkdf2_hmac_sha256")
      return BadInput("'" + source + "': the key is protected with kdf '" + std::string(*kdf) +
                      "', which cramjet does not read (save it again with scrypt or without a passphrase)");
    if (*kdf != "scrypt") return bad("unknown kdf '" + PrintableExcerpt(*kdf, 40) + "'");
    options = r.Next();
    if (!options || options->size() < 4) return bad("truncated kdf options");
  }
  const auto cipher = r.Next();
  const auto blob = r.Next();
  if (!cipher || !blob) return bad("truncated");
  Secret<kKeyBytes> key;  // this copy wiped; the caller's is the caller's to wipe
  if (*kdf == "none") {
    if (*cipher != "none") return bad("kdf none with cipher '" + PrintableExcerpt(*cipher, 40) + "'");
    if (blob->size() != kKeyBytes) return bad(std::to_string(blob->size()) + " key bytes, expected 32");
    std::memcpy(key.data(), blob->data(), kKeyBytes);
    return key.bytes;
  }
  if (*cipher != "chacha20_poly1305") return bad("unknown cipher '" + PrintableExcerpt(*cipher, 40) + "'");
  if (blob->size() != kNonceBytes + kKeyBytes + kMacBytes) return bad("encrypted key of " + std::to_string(blob->size()) + " bytes");
  if (!passphrase)
    return FailedPrecondition("'" + source + "' is protected by a passphrase: set " + std::string(kPassphraseVariable));
  Secret<kKeyBytes> derived;
  CRAMJET_RETURN_IF_ERROR(ScryptKey(*passphrase, options->substr(4), derived.data()));
  const auto* b = reinterpret_cast<const uint8_t*>(blob->data());
  unsigned long long n = 0;
  if (crypto_aead_chacha20poly1305_ietf_decrypt(key.data(), &n, nullptr, b + kNonceBytes, blob->size() - kNonceBytes,
                                                nullptr, 0, b, derived.data()) != 0 ||
      n != kKeyBytes)
    return BadInput("'" + source + "': the passphrase in " + std::string(kPassphraseVariable) +
                    " does not open this key (a wrong passphrase, or a damaged key)");
  return key.bytes;
}

StatusOr<Key> ReadPrivateKeyFile(const std::string& path) {
  CRAMJET_ASSIGN_OR_RETURN(std::string text, ReadKeyFile(path, "private key"));
  WipeOnExit wipe_text(text);
  const char* env = std::getenv(kPassphraseVariable);
  std::optional<std::string> passphrase;
  if (env) passphrase = env;
  auto key = ParsePrivateKey(text, path, passphrase);
  if (passphrase) sodium_memzero(passphrase->data(), passphrase->size());
  return key;
}

std::string EncodePublicKey(const Key& public_key) {
  return std::string(kPublicBegin) + "\n" + KeyBase64(public_key) + "\n" + std::string(kPublicEnd) + "\n";
}

StatusOr<std::string> EncodePrivateKey(const Key& secret, std::string_view passphrase) {
  CRAMJET_RETURN_IF_ERROR(Init());
  std::string bin(kKeyMagic);
  if (passphrase.empty()) {
    PutString(bin, "none");
    PutString(bin, "none");
    PutString(bin, std::string_view(reinterpret_cast<const char*>(secret.data()), kKeyBytes));
  } else {
    std::string options(4, '\0');  // rounds: 0 for scrypt, as the crypt4gh tools write it
    std::string salt(kSaltBytes, '\0');
    randombytes_buf(salt.data(), salt.size());
    options += salt;
    Secret<kKeyBytes> derived;
    CRAMJET_RETURN_IF_ERROR(ScryptKey(passphrase, salt, derived.data()));
    std::string blob(kNonceBytes + kKeyBytes + kMacBytes, '\0');
    auto* b = reinterpret_cast<uint8_t*>(blob.data());
    randombytes_buf(b, kNonceBytes);
    unsigned long long n = 0;
    crypto_aead_chacha20poly1305_ietf_encrypt(b + kNonceBytes, &n, secret.data(), kKeyBytes, nullptr, 0, nullptr, b,
                                              derived.data());
    PutString(bin, "scrypt");
    PutString(bin, options);
    PutString(bin, "chacha20_poly1305");
    PutString(bin, blob);
  }
  std::string b64(sodium_base64_ENCODED_LEN(bin.size(), sodium_base64_VARIANT_ORIGINAL), '\0');
  sodium_bin2base64(b64.data(), b64.size(), reinterpret_cast<const uint8_t*>(bin.data()), bin.size(),
                    sodium_base64_VARIANT_ORIGINAL);
  b64.resize(std::strlen(b64.c_str()));
  sodium_memzero(bin.data(), bin.size());
  std::string text = std::string(kPrivateBegin) + "\n" + b64 + "\n" + std::string(kPrivateEnd) + "\n";
  sodium_memzero(b64.data(), b64.size());
  return text;
}

Status GenerateKeyPair(const std::string& public_path, const std::string& private_path, std::string_view passphrase) {
  CRAMJET_RETURN_IF_ERROR(Init());
  if (public_path == private_path) return InvalidArgument("the public and the private key need two files");
  for (const std::string& p : {public_path, private_path}) {
    struct stat st;
    if (::lstat(p.c_str(), &st) == 0) return InvalidArgument("'" + p + "' exists: a key is never overwritten");
  }
  Key pk{};
  Key sk{};
  crypto_kx_keypair(pk.data(), sk.data());
  auto sk_text = EncodePrivateKey(sk, passphrase);
  sodium_memzero(sk.data(), sk.size());
  if (!sk_text.ok()) return sk_text.status();
  Status written = WriteNewFile(private_path, *sk_text, 0600);
  sodium_memzero(sk_text->data(), sk_text->size());
  CRAMJET_RETURN_IF_ERROR(written);
  Status public_written = WriteNewFile(public_path, EncodePublicKey(pk), 0644);
  if (!public_written.ok()) {
    // A private key without its public key is of no use and would block the next try.
    ::unlink(private_path.c_str());
    (void)FsyncPath(DirName(private_path), true);
  }
  return public_written;
}

StatusOr<Digests> EncryptFile(const std::string& plain_path, const std::string& cipher_path,
                              const std::vector<Key>& recipients, const FixedInputs* fixed,
                              const std::function<bool()>& stop) {
  CRAMJET_RETURN_IF_ERROR(Init());
  if (recipients.empty()) return InvalidArgument("Crypt4GH: no recipient public keys");
  if (recipients.size() > kMaxPackets) return InvalidArgument("Crypt4GH: too many recipients");
  UniqueFd in(::open(plain_path.c_str(), O_RDONLY | O_CLOEXEC));
  if (in.get() < 0) return IoErrorFromErrno("opening '" + plain_path + "'", errno);
  CRAMJET_ASSIGN_OR_RETURN(AtomicOutput out, AtomicOutput::Create(cipher_path));
  UniqueFd fd(::open(out.temp_path().c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
  if (fd.get() < 0) return IoErrorFromErrno("creating '" + out.temp_path() + "'", errno);
  const std::string writing = "writing '" + out.temp_path() + "'";

  Secret<kKeyBytes> writer_sk, session;
  Key writer_pk{};
  if (fixed) {
    writer_sk.bytes = fixed->writer_secret;
    session.bytes = fixed->session_key;
    crypto_scalarmult_base(writer_pk.data(), writer_sk.data());
  } else {
    crypto_kx_keypair(writer_pk.data(), writer_sk.data());  // ephemeral: one per file
    crypto_aead_chacha20poly1305_ietf_keygen(session.data());
  }

  Md5 plain_md5, cipher_md5;
  if (!plain_md5.ok() || !cipher_md5.ok()) return Internal("cannot allocate MD5 contexts");
  Digests d;
  std::string header(kMagic, sizeof kMagic);
  PutU32(header, kVersion);
  PutU32(header, static_cast<uint32_t>(recipients.size()));
  for (size_t i = 0; i < recipients.size(); ++i) {
    Secret<kKeyBytes> rx, tx;
    if (crypto_kx_server_session_keys(rx.data(), tx.data(), writer_pk.data(), writer_sk.data(), recipients[i].data()) != 0)
      return BadInput("Crypt4GH recipient " + KeyBase64(recipients[i]) + " is not a usable X25519 public key");
    Secret<8 + kKeyBytes> payload;
    std::string p;
    PutU32(p, kPacketTypeDataEncryptionParameters);
    PutU32(p, kDataMethodChaCha20Poly1305);
    std::memcpy(payload.data(), p.data(), 8);
    std::memcpy(payload.data() + 8, session.data(), kKeyBytes);
    Nonce nonce{};
    if (fixed && fixed->header_nonce) nonce = fixed->header_nonce(i);
    else randombytes_buf(nonce.data(), nonce.size());
    uint8_t sealed[8 + kKeyBytes + kMacBytes];
    unsigned long long n = 0;
    crypto_aead_chacha20poly1305_ietf_encrypt(sealed, &n, payload.data(), payload.bytes.size(), nullptr, 0, nullptr,
                                              nonce.data(), tx.data());
    PutU32(header, static_cast<uint32_t>(kDataKeyPacketBytes));
    PutU32(header, kHeaderMethodX25519ChaCha20Poly1305);
    header.append(reinterpret_cast<const char*>(writer_pk.data()), kKeyBytes);
    header.append(reinterpret_cast<const char*>(nonce.data()), kNonceBytes);
    header.append(reinterpret_cast<const char*>(sealed), static_cast<size_t>(n));
  }
  CRAMJET_RETURN_IF_ERROR(WriteAll(fd.get(), header, writing));
  cipher_md5.Update(header.data(), header.size());
  d.cipher_size = header.size();

  std::unique_ptr<uint8_t[]> plain(new uint8_t[kSegmentBytes]);
  std::unique_ptr<uint8_t[]> sealed(new uint8_t[kCipherSegmentBytes]);
  WipeBytes wipe_plain(plain.get(), kSegmentBytes);
  for (uint64_t segment = 0;; ++segment) {
    // Once per segment (64 KiB): a 100 GB CRAM is stoppable within milliseconds. The temporary
    // is removed by `out` on this return.
    if (stop && stop()) return Aborted("encrypting '" + plain_path + "': stopped on request");
    CRAMJET_ASSIGN_OR_RETURN(size_t got, ReadFull(in.get(), plain.get(), kSegmentBytes, plain_path));
    if (got == 0) break;
    plain_md5.Update(plain.get(), got);
    d.plain_size += got;
    Nonce nonce{};
    if (fixed && fixed->segment_nonce) nonce = fixed->segment_nonce(segment);
    else randombytes_buf(nonce.data(), nonce.size());
    std::memcpy(sealed.get(), nonce.data(), kNonceBytes);
    unsigned long long n = 0;
    crypto_aead_chacha20poly1305_ietf_encrypt(sealed.get() + kNonceBytes, &n, plain.get(), got, nullptr, 0, nullptr,
                                              nonce.data(), session.data());
    const size_t total = kNonceBytes + static_cast<size_t>(n);
    CRAMJET_RETURN_IF_ERROR(
        WriteAll(fd.get(), std::string_view(reinterpret_cast<const char*>(sealed.get()), total), writing));
    cipher_md5.Update(sealed.get(), total);
    d.cipher_size += total;
    ++d.segments;
    if (got < kSegmentBytes) break;
  }
  if (::close(fd.release()) != 0) return IoErrorFromErrno("closing '" + out.temp_path() + "'", errno);
  CRAMJET_RETURN_IF_ERROR(out.Commit());
  d.plain_md5 = plain_md5.Hex();
  d.cipher_md5 = cipher_md5.Hex();
  return d;
}

StatusOr<Digests> DecryptFile(const std::string& cipher_path, const std::string& plain_path, const Key& secret,
                              const std::string& key_name, uint64_t max_plain_bytes, const std::string& what) {
  CRAMJET_RETURN_IF_ERROR(Init());
  UniqueFd in(::open(cipher_path.c_str(), O_RDONLY | O_CLOEXEC));
  if (in.get() < 0) return IoErrorFromErrno("opening '" + cipher_path + "'", errno);
  Md5 plain_md5, cipher_md5;
  if (!plain_md5.ok() || !cipher_md5.ok()) return Internal("cannot allocate MD5 contexts");
  Digests d;

  uint8_t start[16];
  CRAMJET_ASSIGN_OR_RETURN(size_t got, ReadFull(in.get(), start, sizeof start, cipher_path));
  cipher_md5.Update(start, got);
  d.cipher_size = got;
  if (got < sizeof kMagic || std::memcmp(start, kMagic, sizeof kMagic) != 0)
    return BadInput(what + ": not a Crypt4GH file (no 'crypt4gh' magic)");
  if (got < sizeof start) return DataLoss(what + ": truncated Crypt4GH header (" + std::to_string(got) + " bytes)");
  const uint32_t version = GetU32(start + 8);
  if (version != kVersion)
    return BadInput(what + ": Crypt4GH version " + std::to_string(version) + ", this reader takes version 1");
  const uint32_t packets = GetU32(start + 12);
  if (packets == 0) return BadInput(what + ": a Crypt4GH header without header packets");
  if (packets > kMaxPackets) return BadInput(what + ": " + std::to_string(packets) + " header packets");

  Key my_pk = PublicKeyOf(secret);
  std::vector<Key> session_keys;
  session_keys.reserve(kMaxSessionKeys);  // never reallocated: no unwiped copy left behind
  WipeOnExit wipe_session_keys(session_keys);
  std::vector<uint8_t> packet;
  for (uint32_t i = 0; i < packets; ++i) {
    uint8_t len_bytes[4];
    CRAMJET_ASSIGN_OR_RETURN(size_t n, ReadFull(in.get(), len_bytes, 4, cipher_path));
    cipher_md5.Update(len_bytes, n);
    d.cipher_size += n;
    if (n < 4) return DataLoss(what + ": truncated in header packet " + std::to_string(i + 1));
    const uint32_t length = GetU32(len_bytes);
    if (length < 8 || length > kMaxPacketBytes)
      return BadInput(what + ": header packet " + std::to_string(i + 1) + " has length " + std::to_string(length));
    packet.resize(length - 4);
    CRAMJET_ASSIGN_OR_RETURN(n, ReadFull(in.get(), packet.data(), packet.size(), cipher_path));
    cipher_md5.Update(packet.data(), n);
    d.cipher_size += n;
    if (n < packet.size()) return DataLoss(what + ": truncated in header packet " + std::to_string(i + 1));
    const uint32_t method = GetU32(packet.data());
    if (method != kHeaderMethodX25519ChaCha20Poly1305) continue;  // a method this reader does not know: skipped
    if (packet.size() < 4 + kKeyBytes + kNonceBytes + kMacBytes + 4) continue;
    const uint8_t* writer_pk = packet.data() + 4;
    const uint8_t* nonce = writer_pk + kKeyBytes;
    const uint8_t* sealed = nonce + kNonceBytes;
    const size_t sealed_len = packet.size() - 4 - kKeyBytes - kNonceBytes;
    Secret<kKeyBytes> rx, tx;
    if (crypto_kx_client_session_keys(rx.data(), tx.data(), my_pk.data(), secret.data(), writer_pk) != 0) continue;
    std::vector<uint8_t> opened(sealed_len - kMacBytes);
    WipeOnExit wipe_opened(opened);
    unsigned long long opened_len = 0;
    if (crypto_aead_chacha20poly1305_ietf_decrypt(opened.data(), &opened_len, nullptr, sealed, sealed_len, nullptr, 0,
                                                  nonce, rx.data()) != 0)
      continue;  // for another recipient
    const uint32_t type = GetU32(opened.data());
    if (type == kPacketTypeDataEditList)
      return BadInput(what + ": header packet " + std::to_string(i + 1) +
                      " is a data edit list, which cramjet does not apply");
    if (type != kPacketTypeDataEncryptionParameters)
      return BadInput(what + ": header packet " + std::to_string(i + 1) + " has type " + std::to_string(type));
    if (opened_len < 8 + kKeyBytes) return BadInput(what + ": header packet " + std::to_string(i + 1) + " is too short");
    const uint32_t data_method = GetU32(opened.data() + 4);
    if (data_method != kDataMethodChaCha20Poly1305)
      return BadInput(what + ": data encryption method " + std::to_string(data_method) + " is not chacha20_ietf_poly1305");
    Secret<kKeyBytes> k;
    std::memcpy(k.data(), opened.data() + 8, kKeyBytes);
    // The same key in two packets (one file for two of our keys, or a crafted repeat) is one key.
    if (std::find(session_keys.begin(), session_keys.end(), k.bytes) != session_keys.end()) continue;
    if (session_keys.size() == kMaxSessionKeys)
      return BadInput(what + ": more than " + std::to_string(kMaxSessionKeys) +
                      " header packets open with the key, each with its own data key: refused (a writer makes one)");
    session_keys.push_back(k.bytes);
  }
  if (session_keys.empty())
    return FailedPrecondition(what + ": no header packet could be decrypted with the key " + key_name + " (public key " +
                              KeyBase64(my_pk) + "): the file was not encrypted for it");

  UniqueFd out(::open(plain_path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
  if (out.get() < 0) return IoErrorFromErrno("creating '" + plain_path + "'", errno);
  bool keep = false;
  struct Remover {
    const std::string& path;
    const bool& keep;
    ~Remover() {
      if (!keep) ::unlink(path.c_str());
    }
  } remover{plain_path, keep};

  std::unique_ptr<uint8_t[]> sealed(new uint8_t[kCipherSegmentBytes]);
  std::unique_ptr<uint8_t[]> plain(new uint8_t[kSegmentBytes]);
  WipeBytes wipe_plain(plain.get(), kSegmentBytes);
  size_t last_key = 0;
  for (uint64_t segment = 1;; ++segment) {
    CRAMJET_ASSIGN_OR_RETURN(size_t n, ReadFull(in.get(), sealed.get(), kCipherSegmentBytes, cipher_path));
    if (n == 0) break;
    cipher_md5.Update(sealed.get(), n);
    d.cipher_size += n;
    if (n <= kNonceBytes + kMacBytes)
      return DataLoss(what + ": segment " + std::to_string(segment) + " is truncated (" + std::to_string(n) + " bytes)");
    unsigned long long plain_len = 0;
    bool opened = false;
    // The key that opened the last segment first: every segment of a file has the same one.
    for (size_t t = 0; t < session_keys.size(); ++t) {
      const size_t k = (last_key + t) % session_keys.size();
      if (crypto_aead_chacha20poly1305_ietf_decrypt(plain.get(), &plain_len, nullptr, sealed.get() + kNonceBytes,
                                                    n - kNonceBytes, nullptr, 0, sealed.get(),
                                                    session_keys[k].data()) == 0) {
        opened = true;
        last_key = k;
        break;
      }
    }
    if (!opened)
      return DataLoss(what + ": segment " + std::to_string(segment) +
                      " fails authentication (damaged or truncated ciphertext)");
    if (d.plain_size + plain_len > max_plain_bytes)
      return DataLoss(what + ": decrypts to more than " + std::to_string(max_plain_bytes) + " bytes");
    CRAMJET_RETURN_IF_ERROR(WriteAll(out.get(), std::string_view(reinterpret_cast<const char*>(plain.get()), plain_len),
                                     "writing '" + plain_path + "'"));
    plain_md5.Update(plain.get(), plain_len);
    d.plain_size += plain_len;
    ++d.segments;
    if (n < kCipherSegmentBytes) break;  // the short last segment (ReadFull stops short only at the end)
  }
  if (::close(out.release()) != 0) return IoErrorFromErrno("closing '" + plain_path + "'", errno);
  keep = true;
  d.plain_md5 = plain_md5.Hex();
  d.cipher_md5 = cipher_md5.Hex();
  return d;
}

}  // namespace cramjet::crypt4gh
