#!/usr/bin/env python3
"""Where two CRAMs' bytes differ, series by series: `cramjet inspect --json` of cramjet's CRAM
and of the peer's, side by side (bench/compress_vs_peer.sh writes one table per set and profile).

Usage: series_table.py LABEL CRAMJET.json PEER.json
Prints a markdown table: series, category, cramjet bytes, peer bytes, difference, and the
difference as a share of the peer's file, largest difference first; then the totals.
"""
import json
import sys


def rows(path):
    with open(path) as f:
        doc = json.load(f)
    return doc, {r["key"]: r for r in doc["rows"]}


def main():
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    label, cj_path, peer_path = sys.argv[1:]
    cj_doc, cj = rows(cj_path)
    peer_doc, peer = rows(peer_path)
    peer_total = peer_doc["bytes"] or 1
    keys = sorted(set(cj) | set(peer),
                  key=lambda k: -abs(cj.get(k, {}).get("bytes", 0) - peer.get(k, {}).get("bytes", 0)))
    print(f"#### {label}: cramjet {cj_doc['bytes']} bytes, peer {peer_doc['bytes']} bytes "
          f"({cj_doc['bytes'] / peer_total:.4f}x)")
    print()
    print("| series | category | cramjet | peer | cramjet - peer | of peer's file |")
    print("|---|---|---|---|---|---|")
    for k in keys:
        a = cj.get(k, {}).get("bytes", 0)
        b = peer.get(k, {}).get("bytes", 0)
        if a == b == 0:
            continue
        category = (cj.get(k) or peer.get(k))["category"]
        print(f"| {k} | {category} | {a} | {b} | {a - b:+d} | {100.0 * (a - b) / peer_total:+.2f}% |")
    print()


if __name__ == "__main__":
    main()
