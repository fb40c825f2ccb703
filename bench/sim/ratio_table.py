#!/usr/bin/env python3
"""Prints the ratio table of bench/compress_vs_peer.sh (markdown) from its results.tsv.

Usage: ratio_table.py results.tsv THREADS REPEATS CRAM_VERSION
Targets of issue 3 are checked per row: size cramjet/peer <= 0.97, wall cramjet/peer <= 0.35 at
profile normal, wall cramjet/floor <= 1.25, placement within 1 percentage point of minimap2.
"""
import csv
import math
import sys


def num(v):
    try:
        return float(v)
    except ValueError:
        return math.nan


def ratio(a, b):
    return a / b if b and not math.isnan(a) and not math.isnan(b) and a > 0 else math.nan


def fmt(v, digits=2):
    return "-" if math.isnan(v) else f"{v:.{digits}f}"


def mark(ok):
    return "" if ok is None else (" ok" if ok else " MISS")


def main():
    path, threads, repeats, version = sys.argv[1:5]
    rows = list(csv.DictReader(open(path), delimiter="\t"))
    by = {}
    gz = {}
    order = []
    for r in rows:
        if r["tool"] == "fastq.gz":
            gz[r["set"]] = num(r["bytes"])
            continue
        key = (r["set"], r["profile"])
        if key not in by:
            by[key] = {}
            order.append(key)
        by[key][r["tool"]] = r
    print(f"CRAM {version}, {threads} threads, median of {repeats} runs; sizes in bytes, times in s, RSS in MB.")
    print()
    head = ["set", "profile", "cramjet state", "cramjet bytes", "peer bytes", "size cj/peer",
            "cj / fastq.gz", "peer / fastq.gz", "wall cj", "wall peer", "wall cj/peer", "floor wall",
            "wall cj/floor", "CPU cj", "CPU peer", "RSS cj", "RSS peer", "placed cj %", "placed peer %"]
    print("| " + " | ".join(head) + " |")
    print("|" + "---|" * len(head))
    for key in order:
        t = by[key]
        cj, peer, floor = t.get("cramjet"), t.get("peer"), t.get("floor")
        g = lambda row, f: num(row[f]) if row else math.nan
        cjb, pb = g(cj, "bytes"), g(peer, "bytes")
        cjw, pw, fw = g(cj, "wall_s"), g(peer, "wall_s"), g(floor, "wall_s")
        state = cj["note"] if cj else "not run"
        aligned = state.split(",")[0] == "aligned"
        size_r = ratio(cjb, pb)
        wall_r = ratio(cjw, pw)
        floor_r = ratio(cjw, fw)
        pc, pp = g(cj, "placed_pct"), g(peer, "placed_pct")
        size_ok = None if math.isnan(size_r) or not aligned else size_r <= 0.97
        wall_ok = None if math.isnan(wall_r) or key[1] != "normal" or not aligned else wall_r <= 0.35
        floor_ok = None if math.isnan(floor_r) or not aligned else floor_r <= 1.25
        place_ok = None if math.isnan(pc) or math.isnan(pp) or not aligned else pc >= pp - 1.0
        cells = [key[0], key[1], state, fmt(cjb, 0), fmt(pb, 0), fmt(size_r, 3) + mark(size_ok),
                 fmt(ratio(cjb, gz.get(key[0], math.nan)), 3),
                 fmt(ratio(pb, gz.get(key[0], math.nan)), 3),
                 fmt(cjw), fmt(pw), fmt(wall_r, 3) + mark(wall_ok), fmt(fw), fmt(floor_r, 3) + mark(floor_ok),
                 fmt(g(cj, "cpu_s")), fmt(g(peer, "cpu_s")),
                 fmt(g(cj, "rss_kb") / 1024, 0), fmt(g(peer, "rss_kb") / 1024, 0),
                 fmt(pc), fmt(pp) + mark(place_ok)]
        print("| " + " | ".join(cells) + " |")
    print()
    print("Targets: size cj/peer <= 0.97 (aligned rows only); wall cj/peer <= 0.35 at normal; "
          "wall cj/floor <= 1.25; placed at most 1 point below minimap2 (more is fine). 'MISS' marks a missed target; "
          "targets are only marked on rows where cramjet's CRAM is aligned.")


if __name__ == "__main__":
    main()
