#!/usr/bin/env python3
"""Test helper: sets the content-id count in the first slice header of a CRAM 3.x file to COUNT
(the byte must be a one-byte ITF8 already), for a test that the slice check reads the fields in
the specification's order. Prints the slice's block count.  Usage: set_slice_content_ids.py CRAM COUNT"""
import sys


def itf8(d, i):
    b = d[i]
    extra = 0 if b < 0x80 else 1 if b < 0xC0 else 2 if b < 0xE0 else 3 if b < 0xF0 else 4
    v = b & (0x0F if extra == 4 else 0xFF >> (extra + 1))
    for k in range(extra):
        v = (v << 4) | (d[i + 1 + k] & 0x0F) if extra == 4 and k == 3 else (v << 8) | d[i + 1 + k]
    return v, i + 1 + extra


def ltf8(d, i):
    b = d[i]
    extra = 0
    while extra < 8 and b & (0x80 >> extra):
        extra += 1
    return 0, i + 1 + extra


def container(d, i):
    length = int.from_bytes(d[i:i + 4], "little")
    i += 4
    for _ in range(4):
        _, i = itf8(d, i)
    _, i = ltf8(d, i)
    _, i = ltf8(d, i)
    _, i = itf8(d, i)
    n_landmarks, i = itf8(d, i)
    landmarks = []
    for _ in range(n_landmarks):
        v, i = itf8(d, i)
        landmarks.append(v)
    i += 4  # CRC32
    return length, landmarks, i


path, count = sys.argv[1], int(sys.argv[2])
d = bytearray(open(path, "rb").read())
assert d[:4] == b"CRAM" and d[4] == 3
length, _, body = container(d, 26)
length, landmarks, body = container(d, body + length)
i = body + landmarks[0] + 2  # method, content type
for _ in range(3):
    _, i = itf8(d, i)  # content id, sizes
for _ in range(4):
    _, i = itf8(d, i)  # ref id, start, span, records
_, i = ltf8(d, i)  # record counter
blocks, i = itf8(d, i)
assert d[i] < 0x80 and count < 0x80
d[i] = count
open(path, "wb").write(d)
print(blocks)
