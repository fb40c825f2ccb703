#!/usr/bin/env python3
"""Scores long-read placements (SAM on stdin) against pbsim's MAF truth.

Usage: samtools view MAPPED | long_read_judge.py TRUTH.maf
Correct: same contig and strand, and the alignment overlaps at least half of the true interval.
Primary records only. Prints: reads placed correct placed_pct correct_pct
"""
import re
import sys

truth, ref = {}, None
for line in open(sys.argv[1]):
    if not line.startswith("s "):
        continue
    f = line.split()
    if ref is None:
        ref = (f[1], int(f[2]), int(f[2]) + int(f[3]))
    else:
        truth[f[1]] = (ref[0], ref[1], ref[2], f[4] == "-")
        ref = None
ops = re.compile(r"(\d+)([MIDNSHP=X])")
reads = placed = correct = 0
for line in sys.stdin:
    if line.startswith("@"):
        continue
    x = line.split("\t", 6)
    flag = int(x[1])
    if flag & 0x900:
        continue
    reads += 1
    if flag & 4:
        continue
    placed += 1
    contig, start, end, reverse = truth[x[0]]
    pos = int(x[3]) - 1
    span = sum(int(n) for n, op in ops.findall(x[5]) if op in "MDN=X")
    overlap = min(end, pos + span) - max(start, pos)
    if x[2] == contig and bool(flag & 16) == reverse and 2 * overlap >= end - start:
        correct += 1
if reads != len(truth):
    sys.exit(f"long_read_judge: {reads} primary records, truth has {len(truth)}")
print(reads, placed, correct, f"{100 * placed / reads:.2f}", f"{100 * correct / reads:.2f}")
