#!/usr/bin/env python3
"""Rename simulated reads to Illumina-style names in flow-cell order, optionally binning qualities.

ART names reads after the reference and a counter (`NC_000913-40000/1`), and its reads come out in
random genome order, which is what a sequencer gives. This keeps the read order and replaces each
name with `@<instrument>:<run>:<flowcell>:<lane>:<tile>:<x>:<y> <read>:N:0:<index>`, where
lane, tile and then y increase through the file (x is random within a row), as bcl2fastq writes
them. The names carry no genome position.

Usage: illumina_names.py R1.fq R2.fq OUT_PREFIX [--bins 2,11,25,37] [--seed N]
Writes OUT_PREFIX_R1.fastq.gz and OUT_PREFIX_R2.fastq.gz (gzip -6 via the gzip tool) and, with
--bins, also OUT_PREFIX.binned_R1.fastq.gz / _R2 with 4-level NovaSeq-style qualities.
"""
import argparse
import random
import subprocess
import sys

# Illumina RTA3 (NovaSeq) binning ranges; the values written per range come from --bins.
RANGES = [(0, 2), (3, 14), (15, 30), (31, 93)]


def gzip_writer(path):
    out = open(path, "wb")
    proc = subprocess.Popen(["gzip", "-6", "-c"], stdin=subprocess.PIPE, stdout=out)
    return proc, out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("r1")
    ap.add_argument("r2")
    ap.add_argument("prefix")
    ap.add_argument("--bins", default="", help="4 comma-separated phred values, e.g. 2,11,25,37")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--instrument", default="A00123")
    ap.add_argument("--run", default="42")
    ap.add_argument("--flowcell", default="HBENCHDSX3")
    ap.add_argument("--reads-per-tile", type=int, default=20000)
    args = ap.parse_args()
    rng = random.Random(args.seed)

    table = None
    if args.bins:
        values = [int(v) for v in args.bins.split(",")]
        if len(values) != 4:
            sys.exit("--bins needs 4 values")
        table = bytearray(range(256))
        for (lo, hi), v in zip(RANGES, values):
            for q in range(lo, hi + 1):
                if q + 33 < 256:
                    table[q + 33] = v + 33
        table = bytes(table)

    outs = [gzip_writer(f"{args.prefix}_R{r}.fastq.gz") for r in (1, 2)]
    binned = [gzip_writer(f"{args.prefix}.binned_R{r}.fastq.gz") for r in (1, 2)] if table else []

    # Tiles as on a NovaSeq S4 lane: surface 1-2, swath 1-4, tile 01-78 (we use the first ones).
    tiles = [s * 1000 + w * 100 + t for s in (1, 2) for w in (1, 2, 3, 4) for t in range(1, 79)]
    lane, tile_index, in_tile, y = 1, 0, 0, 1000
    index = "ACGTACGT+TGCATGCA"
    with open(args.r1, "rb") as f1, open(args.r2, "rb") as f2:
        while True:
            rec1 = [f1.readline() for _ in range(4)]
            rec2 = [f2.readline() for _ in range(4)]
            if not rec1[0]:
                if rec2[0]:
                    sys.exit("R2 has more records than R1")
                break
            if not rec2[0]:
                sys.exit("R1 has more records than R2")
            if in_tile == args.reads_per_tile:
                in_tile, y = 0, 1000
                tile_index += 1
                if tile_index == len(tiles):
                    tile_index, lane = 0, lane + 1
            in_tile += 1
            y += rng.randint(1, 12)
            x = rng.randint(1000, 32000)
            name = f"@{args.instrument}:{args.run}:{args.flowcell}:{lane}:{tiles[tile_index]}:{x}:{y}"
            for r, rec in ((0, rec1), (1, rec2)):
                head = f"{name} {r + 1}:N:0:{index}\n".encode()
                outs[r][0].stdin.write(head + rec[1] + b"+\n" + rec[3])
                if table:
                    binned[r][0].stdin.write(head + rec[1] + b"+\n" + rec[3].translate(table))
    for proc, out in outs + binned:
        proc.stdin.close()
        if proc.wait() != 0:
            sys.exit("gzip failed")
        out.close()


if __name__ == "__main__":
    main()
