#!/usr/bin/env python3
"""A second, independent Crypt4GH v1 implementation for cramjet's tests (tests/ship/crypt4gh_test.cc).

Written from the GA4GH specification on Python's `cryptography` (X25519, ChaCha20-Poly1305) and
hashlib (BLAKE2b-512 for the crypto_kx session keys, scrypt for passphrase-protected keys), so it
shares no code with cramjet's libsodium path. Keys are given as hex on the command line.

  pubkey SK_HEX                                   -> the X25519 public key, hex
  decrypt SK_HEX IN OUT                           -> plaintext of IN (exit 3: no packet opens, 4: a segment fails)
  encrypt WRITER_SK SESSION_KEY IN OUT PK_HEX... [--junk-packet]
      fixed nonces: header packet p: bytes([0xA0 + p]) * 12; segment n (from 0): n as 12 bytes
      little-endian. --junk-packet puts a packet of an unknown header method (7) first.
  private-key SK_HEX PASSPHRASE OUT               -> a c4gh-v1 private key file (kdf scrypt; "" -> kdf none)
"""
import base64
import hashlib
import os
import struct
import sys

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
from cryptography.hazmat.primitives import serialization

SEGMENT = 65536


def public_of(sk):
    raw = X25519PrivateKey.from_private_bytes(sk).public_key()
    return raw.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def kx_key(my_sk, client_pk, server_pk, peer_pk):
    # libsodium crypto_kx: BLAKE2b-512(q || client_pk || server_pk); the client's rx and the
    # server's tx are its first 32 bytes.
    q = X25519PrivateKey.from_private_bytes(my_sk).exchange(X25519PublicKey.from_public_bytes(peer_pk))
    return hashlib.blake2b(q + client_pk + server_pk, digest_size=64).digest()[:32]


def decrypt(sk, data):
    assert data[:8] == b'crypt4gh', 'magic'
    version, count = struct.unpack_from('<II', data, 8)
    assert version == 1, 'version'
    pos = 16
    my_pk = public_of(sk)
    keys = []
    for _ in range(count):
        (length,) = struct.unpack_from('<I', data, pos)
        packet = data[pos + 4:pos + length]
        pos += length
        (method,) = struct.unpack_from('<I', packet, 0)
        if method != 0:
            continue
        writer_pk, nonce, sealed = packet[4:36], packet[36:48], packet[48:]
        try:
            opened = ChaCha20Poly1305(kx_key(sk, my_pk, writer_pk, writer_pk)).decrypt(nonce, sealed, None)
        except Exception:
            continue
        ptype, dmethod = struct.unpack_from('<II', opened, 0)
        assert ptype == 0 and dmethod == 0, 'packet type / data method'
        keys.append(opened[8:40])
    if not keys:
        sys.exit(3)
    out = bytearray()
    n = 0
    while pos < len(data):
        seg = data[pos:pos + 12 + SEGMENT + 16]
        pos += len(seg)
        n += 1
        for k in keys:
            try:
                out += ChaCha20Poly1305(k).decrypt(seg[:12], seg[12:], None)
                break
            except Exception:
                pass
        else:
            print(f'segment {n} fails', file=sys.stderr)
            sys.exit(4)
    return bytes(out)


def encrypt(writer_sk, session, recipients, plain, junk):
    writer_pk = public_of(writer_sk)
    packets = []
    if junk:
        packets.append(struct.pack('<I', 7) + b'\x55' * 60)
    for p, rpk in enumerate(recipients):
        shared = kx_key(writer_sk, rpk, writer_pk, rpk)
        nonce = bytes([0xA0 + p]) * 12
        payload = struct.pack('<II', 0, 0) + session
        packets.append(struct.pack('<I', 0) + writer_pk + nonce + ChaCha20Poly1305(shared).encrypt(nonce, payload, None))
    out = bytearray(b'crypt4gh' + struct.pack('<II', 1, len(packets)))
    for packet in packets:
        out += struct.pack('<I', len(packet) + 4) + packet
    for n, start in enumerate(range(0, len(plain), SEGMENT)):
        nonce = n.to_bytes(12, 'little')
        out += nonce + ChaCha20Poly1305(session).encrypt(nonce, plain[start:start + SEGMENT], None)
    return bytes(out)


def string(b):
    return len(b).to_bytes(2, 'big') + b


def private_key(sk, passphrase):
    if not passphrase:
        blob = b'c4gh-v1' + string(b'none') + string(b'none') + string(sk)
    else:
        salt = os.urandom(16)
        key = hashlib.scrypt(passphrase.encode(), salt=salt, n=1 << 14, r=8, p=1, dklen=32)
        nonce = os.urandom(12)
        blob = (b'c4gh-v1' + string(b'scrypt') + string((0).to_bytes(4, 'big') + salt) + string(b'chacha20_poly1305') +
                string(nonce + ChaCha20Poly1305(key).encrypt(nonce, sk, None)) + string(b'made by crypt4gh_reference.py'))
    return (b'-----BEGIN CRYPT4GH PRIVATE KEY-----\n' + base64.b64encode(blob) +
            b'\n-----END CRYPT4GH PRIVATE KEY-----\n')


def main(argv):
    cmd = argv[1]
    if cmd == 'pubkey':
        print(public_of(bytes.fromhex(argv[2])).hex())
    elif cmd == 'decrypt':
        with open(argv[3], 'rb') as f:
            plain = decrypt(bytes.fromhex(argv[2]), f.read())
        with open(argv[4], 'wb') as f:
            f.write(plain)
    elif cmd == 'encrypt':
        junk = '--junk-packet' in argv
        args = [a for a in argv[2:] if a != '--junk-packet']
        writer_sk, session, src, dst = bytes.fromhex(args[0]), bytes.fromhex(args[1]), args[2], args[3]
        with open(src, 'rb') as f:
            plain = f.read()
        with open(dst, 'wb') as f:
            f.write(encrypt(writer_sk, session, [bytes.fromhex(k) for k in args[4:]], plain, junk))
    elif cmd == 'private-key':
        with open(argv[4], 'wb') as f:
            f.write(private_key(bytes.fromhex(argv[2]), argv[3]))
    else:
        sys.exit(2)


if __name__ == '__main__':
    main(sys.argv)
