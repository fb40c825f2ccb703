#!/usr/bin/env python3
"""Put FASTQ reads back into sequencer (flow-cell) order by their Illumina names.

Reads extracted from a coordinate-sorted BAM are in genome order, which compresses very differently
from what a sequencer writes. This sorts records (R1 and R2 files in lockstep, or one file) by the
name fields, stable for equal keys (mates stored as separate single-end records stay adjacent):
  instrument:run:flowcell:lane:tile:x:y   (CASAVA 1.8+)  -> (instrument, run, flowcell, lane, tile, y, x)
  instrument:lane:tile:x:y                (older)        -> (instrument, lane, tile, y, x)
  PREFIX_lane_tile_x_y style underscores are not parsed; SRA names `ERRnnn.serial` sort by serial.
When any name matches none of these, the file keeps its input order (and this says so).

Usage: sequencer_order.py OUT_PREFIX IN_R1.fastq.gz [IN_R2.fastq.gz]
Writes OUT_PREFIX_R1.fastq.gz (and _R2) or OUT_PREFIX.fastq.gz for one input, via gzip -6.
"""
import gzip
import re
import subprocess
import sys

SRA = re.compile(rb"^[SED]RR\d+\.(\d+)")


def key(name):
    name = name[1:].split(b" ", 1)[0].split(b"\t", 1)[0]
    if name.endswith((b"/1", b"/2")):
        name = name[:-2]
    f = name.split(b":")
    try:
        if len(f) >= 7:
            return (0, f[0], int(f[1]), f[2], int(f[3]), int(f[4]), int(f[6]), int(f[5]))
        if len(f) == 5:
            return (0, f[0], 0, b"", int(f[1]), int(f[2]), int(f[4]), int(f[3]))
    except ValueError:
        pass
    m = SRA.match(name)
    if m:
        return (1, int(m.group(1)))
    return (2,)


def read_records(path):
    with gzip.open(path, "rb") as f:
        data = f.read().split(b"\n")
    if data and data[-1] == b"":
        data.pop()
    if len(data) % 4:
        sys.exit(f"{path}: line count {len(data)} is not a multiple of 4")
    return [data[i:i + 4] for i in range(0, len(data), 4)]


def write(path, records, order):
    with open(path, "wb") as out:
        proc = subprocess.Popen(["gzip", "-6", "-c"], stdin=subprocess.PIPE, stdout=out)
        for i in order:
            proc.stdin.write(b"\n".join(records[i]) + b"\n")
        proc.stdin.close()
        if proc.wait() != 0:
            sys.exit("gzip failed")


def main():
    if len(sys.argv) not in (3, 4):
        sys.exit(__doc__)
    prefix, inputs = sys.argv[1], sys.argv[2:]
    files = [read_records(p) for p in inputs]
    if len(files) == 2 and len(files[0]) != len(files[1]):
        sys.exit("R1 and R2 differ in record count")
    keys = [key(r[0]) for r in files[0]]
    parsed = sum(1 for k in keys if k[0] < 2)
    if parsed == len(keys):
        order = sorted(range(len(keys)), key=lambda i: keys[i])  # stable
    else:
        order = range(len(keys))
    if len(files) == 1:
        write(f"{prefix}.fastq.gz", files[0], order)
    else:
        for r, recs in enumerate(files, 1):
            write(f"{prefix}_R{r}.fastq.gz", recs, order)
    state = "sorted by name" if parsed == len(keys) else "kept in input order"
    print(f"{prefix}: {len(keys)} records, {parsed} with parseable names: {state}", file=sys.stderr)


if __name__ == "__main__":
    main()
