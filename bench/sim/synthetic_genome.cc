// A synthetic reference with human-like structure, for benchmarks at genome size where no human
// genome is at hand (issue 11, item 2). Not a test fixture and not human: what it is, and what it
// can and cannot tell, is in bench/README.md ("Synthetic genome").
//
//   synthetic_genome OUT.fa TOTAL_BASES REPEAT_LIBRARY.fa [SEED]
//
// Contigs sized like the 24 human chromosomes scaled to TOTAL_BASES. Each is built left to right
// from: background sequence from an order-1 Markov chain with 41 % GC and CpG at a quarter of
// its expected rate; interspersed repeats, copies of the soft-masked (lower-case) segments of
// REPEAT_LIBRARY.fa (the real GRCh38 chr2 set) at 2-20 % divergence (substitutions and small
// indels), either strand, written lower-case as a soft-masked reference is, until ~45 % of the
// bases are repeats; short tandem repeats (units of 1-6 and 10-60 bases, 1-3 % divergence, ~3 %).
// Then segmental duplications: 10-100 kb pieces copied elsewhere at 1-5 % divergence, ~5 % of
// the genome; then N gaps (both ends, and three inside each contig). Prints what it made.
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <random>
#include <string>
#include <vector>

namespace {

std::mt19937_64 rng;
double Uniform() { return std::uniform_real_distribution<double>(0, 1)(rng); }
uint64_t Below(uint64_t n) { return n ? std::uniform_int_distribution<uint64_t>(0, n - 1)(rng) : 0; }

const char kBases[] = "ACGT";
char Complement(char c) {
  switch (c) {
    case 'A': return 'T'; case 'C': return 'G'; case 'G': return 'C'; case 'T': return 'A';
    case 'a': return 't'; case 'c': return 'g'; case 'g': return 'c'; case 't': return 'a';
    default: return c;
  }
}
int Code(char c) {
  switch (c | 0x20) {
    case 'a': return 0; case 'c': return 1; case 'g': return 2; case 't': return 3;
    default: return -1;
  }
}

// Order-1 chain: 41 % GC, and after C the chance of G cut to a quarter (CpG depletion).
struct Background {
  double next[4][4];
  Background() {
    const double base[4] = {0.295, 0.205, 0.205, 0.295};
    for (int a = 0; a < 4; ++a) {
      double sum = 0;
      for (int b = 0; b < 4; ++b) {
        next[a][b] = base[b] * (a == 1 && b == 2 ? 0.25 : 1.0);
        sum += next[a][b];
      }
      for (int b = 0; b < 4; ++b) next[a][b] /= sum;
    }
  }
  void Append(std::string& out, uint64_t n) const {
    int prev = out.empty() ? 0 : std::max(0, Code(out.back()));
    for (uint64_t i = 0; i < n; ++i) {
      double u = Uniform(), acc = 0;
      int b = 3;
      for (int k = 0; k < 4; ++k) {
        acc += next[prev][k];
        if (u < acc) {
          b = k;
          break;
        }
      }
      out.push_back(kBases[b]);
      prev = b;
    }
  }
};

// Appends `src` (or its reverse complement) with `divergence` of its bases changed: 85 %
// substitutions, 15 % one- to three-base insertions or deletions. Keeps the case of `src`.
void AppendMutated(std::string& out, const std::string& src, double divergence, bool reverse) {
  const size_t n = src.size();
  for (size_t k = 0; k < n; ++k) {
    char c = reverse ? Complement(src[n - 1 - k]) : src[k];
    const bool lower = c >= 'a';
    if (Uniform() >= divergence) {
      out.push_back(c);
      continue;
    }
    double kind = Uniform();
    if (kind < 0.85) {
      char s = kBases[(Code(c) + 1 + Below(3)) % 4];
      out.push_back(lower ? static_cast<char>(s | 0x20) : s);
    } else if (kind < 0.925) {
      out.push_back(c);
      for (uint64_t i = 0, m = 1 + Below(3); i < m; ++i) {
        char s = kBases[Below(4)];
        out.push_back(lower ? static_cast<char>(s | 0x20) : s);
      }
    } else {
      k += Below(3);  // a deletion of one to three bases
    }
  }
}

std::vector<std::string> LoadRepeatLibrary(const std::string& path) {
  std::ifstream in(path);
  if (!in) {
    std::fprintf(stderr, "synthetic_genome: cannot read '%s'\n", path.c_str());
    std::exit(1);
  }
  std::vector<std::string> repeats;
  std::string line, run;
  auto flush = [&] {
    if (run.size() >= 50) repeats.push_back(run);
    run.clear();
  };
  while (std::getline(in, line)) {
    if (!line.empty() && line[0] == '>') {
      flush();
      continue;
    }
    for (char c : line) {
      if (c >= 'a' && c <= 'z' && c != 'n') {
        run.push_back(c);
      } else {
        flush();
      }
    }
  }
  flush();
  return repeats;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 4) {
    std::fprintf(stderr, "usage: synthetic_genome OUT.fa TOTAL_BASES REPEAT_LIBRARY.fa [SEED]\n");
    return 2;
  }
  const std::string out_path = argv[1];
  const uint64_t total = std::strtoull(argv[2], nullptr, 10);
  rng.seed(argc > 4 ? std::strtoull(argv[4], nullptr, 10) : 20261203);
  const std::vector<std::string> library = LoadRepeatLibrary(argv[3]);
  if (library.empty() || total < 1000000) {
    std::fprintf(stderr, "synthetic_genome: need a soft-masked repeat library and >= 1 Mb\n");
    return 1;
  }
  // GRCh38 chromosome lengths in Mb (1-22, X, Y), scaled to `total`.
  const double human[24] = {248.96, 242.19, 198.30, 190.22, 181.54, 170.81, 159.35, 145.14,
                            138.39, 133.80, 135.09, 133.28, 114.36, 107.04, 101.99, 90.34,
                            83.26,  80.37,  58.62,  64.44,  46.71,  50.82,  156.04, 57.23};
  double human_total = 0;
  for (double m : human) human_total += m;
  const Background background;
  std::ofstream out(out_path);
  if (!out) {
    std::fprintf(stderr, "synthetic_genome: cannot write '%s'\n", out_path.c_str());
    return 1;
  }
  uint64_t bases = 0, repeat_bases = 0, tandem_bases = 0, dup_bases = 0, n_bases = 0, gc = 0, acgt = 0;
  for (int chrom = 0; chrom < 24; ++chrom) {
    const uint64_t length = static_cast<uint64_t>(human[chrom] / human_total * static_cast<double>(total));
    std::string seq;
    seq.reserve(length + 100000);
    while (seq.size() < length) {
      double u = Uniform();
      // Aim at ~45 % interspersed repeats and ~3 % tandem repeats by base count.
      const double repeat_share = static_cast<double>(repeat_bases) / std::max<uint64_t>(1, bases + seq.size());
      if (u < 0.08) {
        std::string unit;
        background.Append(unit, Uniform() < 0.7 ? 1 + Below(6) : 10 + Below(51));
        std::string tandem;
        while (tandem.size() < 50 + Below(450)) tandem += unit;
        const size_t before = seq.size();
        AppendMutated(seq, tandem, 0.01 + 0.02 * Uniform(), false);
        tandem_bases += seq.size() - before;
      } else if (repeat_share < 0.45 && u < 0.55) {
        const std::string& r = library[Below(library.size())];
        const size_t before = seq.size();
        AppendMutated(seq, r, 0.02 + 0.18 * Uniform(), Uniform() < 0.5);
        repeat_bases += seq.size() - before;
      } else {
        background.Append(seq, 50 + Below(600));
      }
    }
    seq.resize(length);
    // Segmental duplications: ~5 % of the contig, pieces of 10-100 kb copied elsewhere.
    if (length > 500000) {
      uint64_t copied = 0;
      while (copied < length / 20) {
        const uint64_t piece = std::min<uint64_t>(10000 + Below(90000), length / 10);
        const uint64_t from = Below(length - piece), to = Below(length - piece);
        std::string copy;
        AppendMutated(copy, seq.substr(from, piece), 0.01 + 0.04 * Uniform(), Uniform() < 0.5);
        copy.resize(piece, 'N');
        std::copy(copy.begin(), copy.end(), seq.begin() + static_cast<std::ptrdiff_t>(to));
        copied += piece;
      }
      dup_bases += copied;
    }
    // N gaps: both ends (10 kb, as telomeres are), and three inside of 0.2-1.5 % of the contig
    // each (GRCh38 is ~5 % N, most of it in centromeres and heterochromatin).
    const uint64_t end_gap = std::min<uint64_t>(10000, length / 100);
    std::fill(seq.begin(), seq.begin() + static_cast<std::ptrdiff_t>(end_gap), 'N');
    std::fill(seq.end() - static_cast<std::ptrdiff_t>(end_gap), seq.end(), 'N');
    for (int g = 0; g < 3 && length > 1000000; ++g) {
      const uint64_t gap = static_cast<uint64_t>(static_cast<double>(length) * (0.002 + 0.013 * Uniform()));
      const uint64_t at = Below(length - gap);
      std::fill(seq.begin() + static_cast<std::ptrdiff_t>(at), seq.begin() + static_cast<std::ptrdiff_t>(at + gap), 'N');
    }
    for (char c : seq) {
      int code = Code(c);
      if (code < 0) {
        ++n_bases;
      } else {
        ++acgt;
        gc += code == 1 || code == 2;
      }
    }
    bases += seq.size();
    out << '>' << (chrom < 22 ? "syn" + std::to_string(chrom + 1) : chrom == 22 ? std::string("synX") : std::string("synY"))
        << " synthetic, " << seq.size() << " bp\n";
    for (size_t i = 0; i < seq.size(); i += 60) out.write(seq.data() + i, static_cast<std::streamsize>(std::min<size_t>(60, seq.size() - i))) << '\n';
  }
  out.close();
  if (!out) {
    std::fprintf(stderr, "synthetic_genome: writing '%s' failed\n", out_path.c_str());
    return 1;
  }
  std::printf("bases %llu  contigs 24  GC %.1f%%  interspersed repeats %.1f%%  tandem %.1f%%  "
              "segmental duplications %.1f%%  N %.2f%%  repeat library %zu segments\n",
              static_cast<unsigned long long>(bases), 100.0 * gc / std::max<uint64_t>(1, acgt),
              100.0 * repeat_bases / bases, 100.0 * tandem_bases / bases, 100.0 * dup_bases / bases,
              100.0 * n_bases / bases, library.size());
  return 0;
}
