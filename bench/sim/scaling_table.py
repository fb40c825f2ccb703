#!/usr/bin/env python3
"""Prints bench/scaling.sh's results.tsv as a Markdown table with speed-ups, the Amdahl serial
fraction, ratios against the peer and the floor, and the 800 M reads / 32 cores model line."""
import csv
import sys


def main(path):
    rows = list(csv.DictReader(open(path), delimiter="\t"))
    by = {(r["set"], r["profile"], int(r["threads"]), r["tool"]): r for r in rows}
    print("| set | profile | -@ | wall cj | CPU cj | speed-up | serial fraction | wall peer | cj/peer | "
          "floor | cj/floor | bytes cj | bytes peer | RSS cj MB | bytes vs -@1 | stages (s) |")
    print("|" + "---|" * 16)
    models = []
    for (s, p, n, tool), r in sorted(by.items()):
        if tool != "cramjet":
            continue
        one = by.get((s, p, 1, "cramjet"))
        peer = by.get((s, p, n, "peer"))
        floor = by.get((s, p, n, "floor"))
        wall = float(r["wall"])
        speedup = float(one["wall"]) / wall if one else float("nan")
        serial = (n / speedup - 1) / (n - 1) if n > 1 else float("nan")
        print(f"| {s} | {p} | {n} | {wall:.2f} | {r['cpu']} | {speedup:.2f}x | "
              f"{'-' if n == 1 else f'{serial:.1%}'} | {peer['wall'] if peer else '-'} | "
              f"{wall / float(peer['wall']):.3f} | {floor['wall'] if floor else '-'} | "
              f"{wall / float(floor['wall']):.3f} | {r['bytes']} | {peer['bytes'] if peer else '-'} | "
              f"{r['rss_mb']} | {r['same_bytes']} | {r['stages'].replace(',', ' ')} |")
        if n > 1 and one:
            per_read = float(one["wall"]) / int(r["reads"])
            t32 = per_read * 800e6 * (serial + (1 - serial) / 32)
            models.append(f"- {s} {p}: from -@{n}, serial fraction {serial:.1%}: 800 M reads on 32 cores "
                          f"~ {t32 / 3600:.2f} h ({per_read * 1e6:.2f} us per read on one thread)")
    print()
    print("\n".join(models))


if __name__ == "__main__":
    main(sys.argv[1])
