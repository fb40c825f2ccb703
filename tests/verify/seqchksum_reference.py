#!/usr/bin/env python3
"""Independent reference for cramjet's read checksums (samtools checksum 2.0, default columns).

Reads SAM *text* directly (no htslib) and prints the `.seqchksum` table that
`samtools checksum -q -t TAGS` prints, so the C++ implementation can be checked against a
second implementation written from the definition in docs/checksums.md:

  * records with SECONDARY (0x100) or SUPPLEMENTARY (0x800) are skipped;
  * flag byte = FLAG & (PAIRED|READ1|READ2) = FLAG & 0xC1;
  * reverse-strand (0x10) records: sequence reverse-complemented, qualities reversed;
  * qualities are the SAM characters (phred+33); a missing quality ("*") is 0xff per base in
    BAM, which +33 in 8 bits is 0x20 (space);
  * CRCs (zlib crc32):  seq  = crc(flag + SEQ)
                        name = crc(QNAME + NUL + flag + SEQ)
                        qual = crc(flag + SEQ + QUAL)
                        aux  = crc(flag + SEQ + selected tags in BAM binary form)
  * integer tags are encoded in the smallest type (C/S/I when >= 0, else c/s/i);
  * "*" selects every tag (minus those listed after it) sorted by tag name; a plain list
    selects those tags in the listed order;
  * each CRC is masked to 31 bits (0 and 2^31-1 count as 1) and multiplied into the running
    product modulo 2^31-1; per read group (RG:Z), "-" for none, and "all";
  * rows all/pass/fail by the QCFAIL (0x200) flag, zero-count rows not printed;
  * combined = product of count>>32, count&0xffffffff, seq, name, seq, aux (samtools' order).

Usage: seqchksum_reference.py FILE.sam TAGSPEC LABEL   (TAGSPEC "" means BC,FI,QT,RT,TC)
"""
import struct
import sys
import zlib

PRIME = (1 << 31) - 1
CODES = "=ACMGRSVTWYHKDBN"
COMPLEMENT = {a: b for a, b in zip(CODES, "=TGKCYSBAWRDMHVN")}


def fold(h, crc):
    crc &= PRIME
    if crc in (0, PRIME):
        crc = 1
    return h * crc % PRIME


def int_tag(name, value):
    v = int(value)
    if v >= 0:
        code, fmt = ("C", "<B") if v <= 0xFF else ("S", "<H") if v <= 0xFFFF else ("I", "<I")
    else:
        code, fmt = ("c", "<b") if v >= -128 else ("s", "<h") if v >= -32768 else ("i", "<i")
    return name.encode() + code.encode() + struct.pack(fmt, v)


def encode_tag(text):
    name, typ, value = text.split(":", 2)
    if typ == "i":
        return name, int_tag(name, value)
    if typ == "A":
        return name, (name + "A" + value).encode()
    if typ == "f":
        return name, name.encode() + b"f" + struct.pack("<f", float(value))
    if typ in ("Z", "H"):
        return name, (name + typ + value).encode() + b"\0"
    if typ == "B":
        parts = value.split(",")
        sub, items = parts[0], parts[1:]
        fmt = {"c": "b", "C": "B", "s": "h", "S": "H", "i": "i", "I": "I", "f": "f"}[sub]
        conv = float if sub == "f" else int
        body = b"".join(struct.pack("<" + fmt, conv(x)) for x in items)
        return name, name.encode() + b"B" + sub.encode() + struct.pack("<I", len(items)) + body
    raise ValueError("unsupported tag type " + typ)


def aux_bytes(tags, spec):
    items = spec.split(",") if spec else "BC,FI,QT,RT,TC".split(",")
    encoded = [encode_tag(t) for t in tags]
    if items[0] == "*":
        left_out = set(items[1:])
        chosen = [(name, i, b) for i, (name, b) in enumerate(encoded) if name not in left_out]
        chosen.sort(key=lambda x: (x[0], x[1]))
        return b"".join(b for _, _, b in chosen)
    last = {}
    for name, b in encoded:
        last[name] = b
    order = []
    for name in items:  # a repeated name keeps its last position
        if name in order:
            order.remove(name)
        order.append(name)
    return b"".join(last[n] for n in order if n in last)


def empty_group():
    return [[0, 1, 1, 1, 1] for _ in range(3)]  # rows all/pass/fail: count, seq, name, qual, aux


def main():
    path, spec, label = sys.argv[1], sys.argv[2], sys.argv[3]
    groups = {}
    total = empty_group()
    no_rg = empty_group()
    with open(path, "rb") as f:
        for raw in f:
            line = raw.rstrip(b"\n").decode()
            if not line or line.startswith("@"):
                continue
            fields = line.split("\t")
            qname, flag, seq, qual, tags = fields[0], int(fields[1]), fields[9], fields[10], fields[11:]
            if flag & 0x900:
                continue
            flag_byte = bytes([flag & 0xC1])
            bases = "" if seq == "*" else "".join(c if c in CODES else "N" for c in seq.upper())
            quals = bytes([0x20] * len(bases)) if qual == "*" else qual.encode()
            if flag & 0x10:
                bases = "".join(COMPLEMENT[c] for c in reversed(bases))
                quals = quals[::-1]
            b = bases.encode()
            c_seq = zlib.crc32(flag_byte + b)
            c_name = zlib.crc32(qname.encode() + b"\0" + flag_byte + b)
            c_qual = zlib.crc32(flag_byte + b + quals)
            c_aux = zlib.crc32(flag_byte + b + aux_bytes(tags, spec))
            rg = None
            for t in tags:
                if t.startswith("RG:Z:"):
                    rg = t[5:]
            group = no_rg if rg is None else groups.setdefault(rg, empty_group())
            for g in (group, total):
                for r in (0, 2 if flag & 0x200 else 1):
                    row = g[r]
                    row[0] += 1
                    for k, c in zip(range(1, 5), (c_seq, c_name, c_qual, c_aux)):
                        row[k] = fold(row[k], c)

    print("# Checksum 2.0 for file: " + label)
    print("# Aux tags:          " + (spec or "BC,FI,QT,RT,TC"))
    print("# BAM flags:         PAIRED,READ1,READ2")
    print()
    print("# Group    QC          count  flag+seq  +name     +qual     +aux      combined")

    def report(name, g):
        for r, qc in enumerate(("all", "pass", "fail")):
            count, s, n, q, a = g[r]
            if count == 0:
                continue
            h = 1
            for v in (count >> 32, count & 0xFFFFFFFF, s, n, s, a):
                h = fold(h, v)
            print("%-10s %-4s %12d  %08x  %08x  %08x  %08x  %08x" % (name, qc, count, s, n, q, a, h))

    report("all", total)
    report("-", no_rg)
    for name in sorted(groups, key=lambda x: x.encode()):
        report(name, groups[name])


if __name__ == "__main__":
    main()
