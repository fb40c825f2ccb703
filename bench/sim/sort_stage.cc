// sort_stage — runs only host/sort's PositionSorter over a SAM/BAM/CRAM in input order and
// writes the sorted records (BAM, level 1), to measure the sort stage's time and peak RSS against
// its budget. Built and run by bench/sort_memory.sh; not part of the product.
//   sort_stage IN OUT.bam MEM THREADS [keep-order]
#include <cstdio>
#include <string>

#include "common/common.h"
#include "sort/sort.h"

using namespace cramjet;

int main(int argc, char** argv) {
  if (argc < 5) {
    std::fprintf(stderr, "usage: sort_stage IN OUT.bam MEM THREADS [keep-order]\n");
    return 2;
  }
  HtsFilePtr in(hts_open(argv[1], "r"));
  if (!in) return 1;
  HeaderPtr header(sam_hdr_read(in.get()));
  auto mem = ParseMemorySize(argv[3]);
  if (!mem.ok()) return 2;
  SortOptions so;
  so.memory_bytes = *mem;
  so.threads = std::atoi(argv[4]);
  so.temp_dir = DirName(argv[2]);
  const bool tag_every_record = argc > 5;  // the order rules' worst case: every read an exception
  auto sorter = PositionSorter::Create(so, header.get());
  if (!sorter.ok()) {
    std::fprintf(stderr, "%s\n", sorter.status().ToString().c_str());
    return 1;
  }
  ReadBatch batch;
  size_t total = 0;
  while (true) {
    batch.Resize(4096);
    size_t n = 0;
    while (n < 4096 && sam_read1(in.get(), header.get(), batch[n]) >= 0) ++n;
    batch.size = n;
    if (n == 0) break;
    total += n;
    Status s = (*sorter)->Add(batch);
    if (!s.ok()) { std::fprintf(stderr, "%s\n", s.ToString().c_str()); return 1; }
  }
  Status s = (*sorter)->Finish();
  if (!s.ok()) { std::fprintf(stderr, "%s\n", s.ToString().c_str()); return 1; }
  HtsFilePtr out(hts_open(argv[2], "wb1"));
  if (!out || sam_hdr_write(out.get(), header.get()) < 0) return 1;
  ReadBatch sorted;
  std::vector<uint64_t> indices;
  while (true) {
    auto n = (*sorter)->NextBatch(sorted, 4096, &indices);
    if (!n.ok()) { std::fprintf(stderr, "%s\n", n.status().ToString().c_str()); return 1; }
    if (*n == 0) break;
    for (size_t i = 0; i < *n; ++i) {
      if (tag_every_record && !AddOriginalIndexTag(sorted[i], indices[i]).ok()) return 1;
      if (sam_write1(out.get(), header.get(), sorted[i]) < 0) return 1;
    }
  }
  std::printf("records %zu runs %d spilled_bytes %llu sorter_peak_bytes %llu\n", total,
              (*sorter)->runs_spilled(),
              static_cast<unsigned long long>((*sorter)->spilled_bytes()),
              static_cast<unsigned long long>((*sorter)->peak_memory_bytes()));
  return 0;
}
