#!/usr/bin/env python3
"""Scores a mapper's SAM (stdin) against a simulator's truth SAM: placed and placed-correctly.

Usage: samtools view MAPPED | placement_judge.py TRUTH.sam [TOLERANCE]
Correct: same contig and strand, and the unclipped start (POS less the leading soft clip) within
TOLERANCE (20) bases of the true start. Truth is read as text: ART 2.5.8 sometimes writes a CIGAR
one base longer than the read, which htslib rejects. Primary records only; keyed by name and mate.
Prints: reads placed correct placed_pct correct_pct
"""
import re
import sys

def key(fields):
    return fields[0] + ("/2" if int(fields[1]) & 0x80 else "/1")

truth = {}
with open(sys.argv[1]) as f:
    for line in f:
        if line.startswith("@"):
            continue
        x = line.split("\t", 6)
        flag = int(x[1])
        if flag & 0x900:
            continue
        truth[key(x)] = (x[2], int(x[3]), bool(flag & 0x10))
tolerance = int(sys.argv[2]) if len(sys.argv) > 2 else 20
reads = placed = correct = 0
lead_clip = re.compile(r"^(\d+)S")
for line in sys.stdin:
    if line.startswith("@"):
        continue
    x = line.split("\t", 7)
    flag = int(x[1])
    if flag & 0x900:
        continue
    reads += 1
    if flag & 0x4:
        continue
    placed += 1
    t = truth[key(x)]
    m = lead_clip.match(x[5])
    start = int(x[3]) - (int(m.group(1)) if m else 0)
    if x[2] == t[0] and bool(flag & 0x10) == t[2] and abs(start - t[1]) <= tolerance:
        correct += 1
if reads != len(truth):
    sys.exit(f"placement_judge: {reads} primary records, truth has {len(truth)}")
print(reads, placed, correct, f"{100 * placed / reads:.2f}", f"{100 * correct / reads:.2f}")
