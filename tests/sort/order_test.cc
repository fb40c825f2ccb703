// Tests of the input-order rules (host/sort/order.cc): name fields, key packing, the recorder's
// choice and exceptions on orders that follow, nearly follow and break the rules, the restore
// from exceptions + rule, its refusals, and name collation.
#include <algorithm>
#include <numeric>
#include <random>
#include <string>
#include <tuple>
#include <vector>

#include "common/common.h"
#include "common/test_util.h"
#include "sort/record_source.h"
#include "sort/sort.h"

namespace cramjet {
namespace {

using testing::TempDir;

// ---- Name fields and keys ----------------------------------------------------------------------

TEST(NameFields, SplitsTheNumbersThatEndAName) {
  NameFields f;
  ASSERT_TRUE(SplitNameFields("A00785:516:HMTN3DSX3:1:1101:9796:1579", &f));
  EXPECT_EQ(f.prefix, "A00785:516:HMTN3DSX3:");
  ASSERT_EQ(f.count, 4);
  EXPECT_EQ(f.value[0], 1u);
  EXPECT_EQ(f.value[1], 1101u);
  EXPECT_EQ(f.value[2], 9796u);
  EXPECT_EQ(f.value[3], 1579u);
  ASSERT_TRUE(SplitNameFields("HWI-ST1083:8:1101:3356:1901", &f));
  EXPECT_EQ(f.prefix, "HWI-ST1083:");
  EXPECT_EQ(f.count, 4);
  ASSERT_TRUE(SplitNameFields("SRR504956.24", &f));
  EXPECT_EQ(f.prefix, "SRR504956.");
  ASSERT_EQ(f.count, 1);
  EXPECT_EQ(f.value[0], 24u);
  ASSERT_TRUE(SplitNameFields("EAS20_8_6_1_6_1211", &f));  // GA II: lane 6, tile 1, x 6, y 1211
  EXPECT_EQ(f.prefix, "EAS20_8_");
  EXPECT_EQ(f.count, 4);
  EXPECT_EQ(f.value[3], 1211u);
  ASSERT_TRUE(SplitNameFields("12_34", &f));  // numbers only: empty prefix
  EXPECT_EQ(f.prefix, "");
  EXPECT_EQ(f.count, 2);
  EXPECT_FALSE(SplitNameFields("read_abc", &f));
  EXPECT_FALSE(SplitNameFields("SRR504956", &f));            // digits glued to text
  EXPECT_FALSE(SplitNameFields("x:1234567890123456789", &f));  // 19 digits
  EXPECT_FALSE(SplitNameFields("", &f));
}

TEST(NameKey, KeysCompareAsTheirTuples) {
  std::mt19937 rng(3);
  struct T {
    uint32_t group, prefix;
    NameFields f;
    int mate;
    OrderKey key;
  };
  std::vector<T> items;
  for (int i = 0; i < 2000; ++i) {
    T t;
    t.group = rng() % 3;
    t.prefix = rng() % 3;
    t.f.count = 4;
    t.f.value[0] = rng() % 4;
    t.f.value[1] = rng() % 3000;
    t.f.value[2] = rng() % 40000;
    t.f.value[3] = rng() % 40000;
    t.mate = static_cast<int>(rng() % 2);
    ASSERT_TRUE(PackNameKey(t.group, t.prefix, t.f, /*swap_last_two=*/true, t.mate, &t.key));
    items.push_back(t);
  }
  auto tuple = [](const T& t) {
    return std::make_tuple(t.group, t.prefix, t.f.value[0], t.f.value[1], t.f.value[3], t.f.value[2], t.mate);
  };
  for (size_t i = 0; i + 1 < items.size(); ++i) {
    EXPECT_EQ(items[i].key < items[i + 1].key, tuple(items[i]) < tuple(items[i + 1])) << i;
    EXPECT_EQ(items[i].key == items[i + 1].key, tuple(items[i]) == tuple(items[i + 1])) << i;
  }
  NameFields wide;
  wide.count = 4;
  wide.value[0] = 4096;  // lane gets 12 bits
  OrderKey k;
  EXPECT_FALSE(PackNameKey(0, 0, wide, false, 0, &k));
  wide.count = 1;
  wide.value[0] = uint64_t{1} << 61;  // a spot number gets 62 bits
  EXPECT_TRUE(PackNameKey(0, 0, wide, false, 0, &k));
}

// ---- Recorder and restore ----------------------------------------------------------------------

struct Read {
  std::string name;
  std::string group = "g1";
  uint16_t flag = BAM_FUNMAP;
  int32_t tid = -1;
  int64_t pos = -1;
};

BamPtr MakeRecord(const Read& r, size_t serial) {
  BamPtr b = NewBam();
  // The sequence tells records apart even when names repeat.
  std::string seq = "ACGT";
  for (size_t s = serial; s; s /= 4) seq.push_back("ACGT"[s % 4]);
  std::string qual(seq.size(), 30);
  const bool mapped = !(r.flag & BAM_FUNMAP);
  uint32_t cigar = bam_cigar_gen(seq.size(), BAM_CMATCH);
  EXPECT_GE(bam_set1(b.get(), r.name.size(), r.name.c_str(), r.flag, r.tid, r.pos, mapped ? 60 : 0,
                     mapped ? 1 : 0, &cigar, -1, -1, 0, seq.size(), seq.c_str(), qual.c_str(), 0),
            0);
  EXPECT_EQ(bam_aux_append(b.get(), "RG", 'Z', static_cast<int>(r.group.size() + 1),
                           reinterpret_cast<const uint8_t*>(r.group.c_str())),
            0);
  return b;
}

std::string Describe(const bam1_t* b) {
  std::string s = bam_get_qname(b);
  s += "|" + std::to_string(b->core.flag) + "|" + std::to_string(b->core.pos) + "|";
  for (int i = 0; i < b->core.l_qseq; ++i) s.push_back(seq_nt16_str[bam_seqi(bam_get_seq(b), i)]);
  s.append(reinterpret_cast<const char*>(bam_get_aux(b)), bam_get_l_aux(b));
  return s;
}

HeaderPtr MakeHeader(const std::vector<std::string>& groups) {
  std::string text = "@HD\tVN:1.6\tSO:coordinate\n@SQ\tSN:chr\tLN:100000000\n";
  for (const auto& g : groups) text += "@RG\tID:" + g + "\tSM:s\n";
  return HeaderPtr(sam_hdr_parse(text.size(), text.c_str()));
}

struct Outcome {
  std::vector<GroupOrder> groups;
  uint64_t exceptions = 0;
  std::vector<std::string> restored;  // in the restored order
  std::vector<std::string> expected;  // the input, in input order
  std::string header_text;
};

// What compress does, without the mapper and the CRAM: record in input order, sort by position,
// tag the exceptions; then what decompress does: restore with the header's rules.
Outcome RecordAndRestore(const std::vector<Read>& reads, const std::vector<std::string>& groups,
                         uint64_t memory = kDefaultSortMemoryBytes) {
  TempDir dir;
  Outcome out;
  HeaderPtr header = MakeHeader(groups);
  OrderRecorder recorder(header.get());
  SortOptions so;
  so.temp_dir = dir.path();
  so.memory_bytes = memory;
  auto sorter = PositionSorter::Create(so, header.get());
  EXPECT_TRUE(sorter.ok());
  ReadBatch batch;
  batch.Resize(reads.size());
  for (size_t i = 0; i < reads.size(); ++i) {
    batch.records[i] = MakeRecord(reads[i], i);
    out.expected.push_back(Describe(batch[i]));
    recorder.Add(batch[i]);
  }
  EXPECT_TRUE((*sorter)->Add(batch).ok());
  EXPECT_TRUE((*sorter)->Finish().ok());
  recorder.Finish();
  EXPECT_TRUE(recorder.WriteRules(header.get()).ok());
  out.groups = recorder.groups();
  out.header_text = sam_hdr_str(header.get());
  std::vector<BamPtr> stored;
  ReadBatch sorted;
  std::vector<uint64_t> index;
  while (true) {
    auto n = (*sorter)->NextBatch(sorted, 100, &index);
    EXPECT_TRUE(n.ok());
    if (!n.ok() || *n == 0) break;
    for (size_t k = 0; k < *n; ++k) {
      if (recorder.IsException(index[k])) {
        EXPECT_TRUE(AddOriginalIndexTag(sorted[k], index[k]).ok());
        ++out.exceptions;
      }
      stored.emplace_back(bam_dup1(sorted[k]));
    }
  }
  // The decoder sees the header as the CRAM stores it: text, parsed again.
  HeaderPtr decoded(sam_hdr_parse(out.header_text.size(), out.header_text.c_str()));
  RecordSource source = testing::CopiesOf(stored);
  RecordSink sink = [&](const bam1_t* r) {
    out.restored.push_back(Describe(r));
    return Status::Ok();
  };
  auto result = RestoreOriginalOrder(so, "t.cram", decoded.get(), source, sink);
  EXPECT_TRUE(result.ok()) << result.status().ToString();
  if (result.ok()) {
    EXPECT_EQ(result->exceptions, out.exceptions);
  }
  return out;
}

// Illumina reads in flow-cell order (lane, tile, y, x), placed at random positions.
std::vector<Read> FlowCellReads(size_t n, uint32_t seed, bool paired = false,
                                const std::string& prefix = "A00785:516:HMTN3DSX3:") {
  std::mt19937 rng(seed);
  std::vector<Read> reads;
  int lane = 1, tile = 1101, y = 1000, x = 0;
  for (size_t i = 0; i < n; ++i) {
    // About 900 reads per lane: a few thousand reads cross tiles and lanes.
    x += 1 + static_cast<int>(rng() % 2000);
    if (x > 32000) {
      x = static_cast<int>(rng() % 100);
      y += 1 + static_cast<int>(rng() % 5000);
    }
    if (y > 37000) {
      y = 1000;
      if (++tile > 1102) {
        tile = 1101;
        ++lane;
      }
    }
    Read r;
    r.name = prefix + std::to_string(lane) + ":" + std::to_string(tile) + ":" + std::to_string(x) + ":" +
             std::to_string(y);
    r.flag = 0;
    r.tid = 0;
    r.pos = static_cast<int64_t>(rng() % 90000000);
    if (rng() % 20 == 0) {
      r.flag = BAM_FUNMAP;
      r.tid = -1;
      r.pos = -1;
    }
    if (paired) {
      Read r1 = r, r2 = r;
      r1.flag |= BAM_FPAIRED | BAM_FREAD1;
      r2.flag |= BAM_FPAIRED | BAM_FREAD2;
      r2.pos = r.tid >= 0 ? r.pos + 300 : -1;
      reads.push_back(r1);
      reads.push_back(r2);
    } else {
      reads.push_back(r);
    }
  }
  return reads;
}

TEST(OrderRules, FlowCellOrderCostsNothing) {
  auto reads = FlowCellReads(3000, 1);
  Outcome o = RecordAndRestore(reads, {"g1"});
  ASSERT_EQ(o.groups.size(), 1u);
  EXPECT_EQ(o.groups[0].rule, OrderRule::kNamesYx);
  EXPECT_EQ(o.exceptions, 0u);
  EXPECT_EQ(o.restored, o.expected);
  EXPECT_NE(o.header_text.find("\tor:names-yx\top:4A00785:516:HMTN3DSX3:\toe:0"), std::string::npos)
      << o.header_text;
}

TEST(OrderRules, PairsMixedLanesAndXBeforeY) {
  auto reads = FlowCellReads(2000, 2, /*paired=*/true);
  Outcome o = RecordAndRestore(reads, {"g1"});
  EXPECT_EQ(o.exceptions, 0u);
  EXPECT_EQ(o.restored, o.expected);
  // A GA II writes tile by tile in x order: the rule without the swap fits.
  std::vector<Read> ga;
  for (int x = 0; x < 600; ++x)
    ga.push_back({"EAS20_8_6_1_" + std::to_string(x * 3) + "_" + std::to_string((x * 7919) % 2000), "g1", 0, 0,
                  (x * 104729) % 100000});
  Outcome g = RecordAndRestore(ga, {"g1"});
  EXPECT_EQ(g.groups[0].rule, OrderRule::kNames);
  EXPECT_EQ(g.exceptions, 0u);
  EXPECT_EQ(g.restored, g.expected);
}

TEST(OrderRules, OneReadOutOfPlaceAtTheStartMiddleAndEndIsOneExceptionEach) {
  auto reads = FlowCellReads(3000, 4);
  // Far-away tiles: each would make every later read an exception if it were kept in order.
  reads[0].name = "A00785:516:HMTN3DSX3:9:2678:100:100";
  reads[1500].name = "A00785:516:HMTN3DSX3:9:2678:200:200";
  reads[2999].name = "A00785:516:HMTN3DSX3:1:1101:1:1";  // the end: behind everything
  Outcome o = RecordAndRestore(reads, {"g1"});
  EXPECT_EQ(o.groups[0].rule, OrderRule::kNamesYx);
  EXPECT_EQ(o.exceptions, 3u);
  EXPECT_EQ(o.groups[0].exceptions, 3u);
  EXPECT_EQ(o.restored, o.expected);
}

TEST(OrderRules, ShuffledInputFallsBackAndStillRestores) {
  auto reads = FlowCellReads(3000, 5);
  std::mt19937 rng(6);
  std::shuffle(reads.begin(), reads.end(), rng);
  // A small budget: both sorts of the restore spill.
  Outcome o = RecordAndRestore(reads, {"g1"}, kMinSortMemoryBytes);
  EXPECT_GT(o.exceptions, 2700u);
  EXPECT_EQ(o.restored, o.expected);
}

TEST(OrderRules, NamesWithoutNumbersInPositionOrderUseTheStoredOrder) {
  std::vector<Read> reads;
  for (int i = 0; i < 500; ++i) {
    Read r{"read_" + std::string(1, static_cast<char>('a' + i % 26)) + "x", "g1", 0, 0, i * 10};
    if (i % 50 == 7) r.pos = i * 10 - 5;  // ties and near-ties of position keep input order
    reads.push_back(r);
  }
  for (int i = 0; i < 20; ++i) reads.push_back({"unplaced_x", "g1", BAM_FUNMAP, -1, -1});
  Outcome o = RecordAndRestore(reads, {"g1"});
  EXPECT_EQ(o.groups[0].rule, OrderRule::kStored);
  EXPECT_EQ(o.exceptions, 0u);
  EXPECT_EQ(o.restored, o.expected);
  EXPECT_NE(o.header_text.find("\tor:stored\toe:0"), std::string::npos) << o.header_text;
}

TEST(OrderRules, RepeatedNamesFlowCellsAndSpotsAndGroups) {
  // Mates stored as single-end records with one name (the exome sets), two flow cells where the
  // second sorts first by text, SRA spot numbers in a second read group.
  std::vector<Read> reads;
  int pos = 0;
  for (const char* flowcell : {"B:1:FCB:", "A:1:FCA:"}) {
    for (int i = 0; i < 300; ++i) {
      std::string name = std::string(flowcell) + "1:1101:" + std::to_string(i) + ":" + std::to_string(5 + i);
      reads.push_back({name, "g1", 0, 0, (pos += 7) % 5000});
      reads.push_back({name, "g1", 0, 0, (pos += 7) % 5000 + 6000});  // its twin, placed later
    }
  }
  for (int i = 1; i <= 400; ++i)
    reads.push_back({"SRR504956." + std::to_string(i), "g2", 0, 0, (i * 7919) % 3000});
  // Mates as "/1" "/2" single-end records of one file, in flow-cell order.
  for (int i = 0; i < 300; ++i)
    for (const char* mate : {"/1", "/2"})
      reads.push_back({"HSQ1004:134:C0D8DACXX:1:1104:" + std::to_string(3000 + i) + ":86238" + mate, "g3", 0, 0,
                       (i * 7919) % 3000});
  Outcome o = RecordAndRestore(reads, {"g1", "g2", "g3"});
  ASSERT_EQ(o.groups.size(), 3u);
  EXPECT_NE(o.groups[2].rule, OrderRule::kStored);
  EXPECT_NE(o.groups[0].rule, OrderRule::kStored);
  EXPECT_EQ(o.groups[0].prefixes, (std::vector<std::string>{"4B:1:FCB:", "4A:1:FCA:"}));
  EXPECT_NE(o.groups[1].rule, OrderRule::kStored);
  EXPECT_EQ(o.exceptions, 0u);
  EXPECT_EQ(o.restored, o.expected);
}

// ---- Refusals ------------------------------------------------------------------------------------

StatusOr<RestoreResult> RestoreWithHeader(const std::string& header_text, std::vector<BamPtr>& records) {
  TempDir dir;
  HeaderPtr header(sam_hdr_parse(header_text.size(), header_text.c_str()));
  RecordSource source = testing::CopiesOf(records);
  SortOptions so;
  so.temp_dir = dir.path();
  return RestoreOriginalOrder(so, "x.cram", header.get(), source, [](const bam1_t*) { return Status::Ok(); });
}

TEST(OrderRules, RestoreRefusesWhatTheRulesCannotPlace) {
  std::vector<BamPtr> records;
  records.push_back(MakeRecord({"A:1:F:1:1101:5:5"}, 0));
  records.push_back(MakeRecord({"no_numbers_here"}, 1));
  auto no_rule = RestoreWithHeader("@RG\tID:g1\n", records);
  ASSERT_FALSE(no_rule.ok());
  EXPECT_EQ(no_rule.status().code(), StatusCode::kBadInput);
  EXPECT_EQ(no_rule.status().message(),
            "'x.cram': record 1 ('A:1:F:1:1101:5:5') has no valid oi tag: it was not written with --keep-order");
  auto misfit = RestoreWithHeader("@RG\tID:g1\tor:names\top:4A:1:F:\toe:0\n", records);
  ASSERT_FALSE(misfit.ok());
  EXPECT_EQ(misfit.status().code(), StatusCode::kDataLoss);
  EXPECT_EQ(misfit.status().message(),
            "'x.cram': record 2 ('no_numbers_here') has no oi tag, but its name does not fit its read "
            "group's order rule 'names'");
  auto unknown = RestoreWithHeader("@RG\tID:g1\tor:random\n", records);
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.status().message(), "'x.cram': @RG 'g1' states unknown order rule 'random'");
  auto no_prefixes = RestoreWithHeader("@RG\tID:g1\tor:names-yx\toe:0\n", records);
  ASSERT_FALSE(no_prefixes.ok());
  EXPECT_EQ(no_prefixes.status().message(),
            "'x.cram': @RG 'g1' states order rule 'names-yx' without its name prefixes (op)");
  // An exception index past the end leaves a hole.
  records.pop_back();
  ASSERT_TRUE(AddOriginalIndexTag(records[0].get(), 5).ok());
  auto hole = RestoreWithHeader("@RG\tID:g1\tor:stored\toe:1\n", records);
  ASSERT_FALSE(hole.ok());
  EXPECT_EQ(hole.status().code(), StatusCode::kDataLoss);
  EXPECT_EQ(hole.status().message(), "'x.cram': the record with original index 0 is missing");
}

// ---- Collation -----------------------------------------------------------------------------------

TEST(CollateByName, MatesComeTogetherReadOneFirst) {
  TempDir dir;
  auto reads = FlowCellReads(4000, 8, /*paired=*/true);
  // Every fourth pair named "X/1" "X/2" (FASTQ names kept verbatim): mates all the same.
  for (size_t i = 0; i < reads.size(); i += 8) {
    reads[i].name += "/1";
    reads[i + 1].name += "/2";
  }
  std::mt19937 rng(9);
  std::shuffle(reads.begin(), reads.end(), rng);
  std::vector<BamPtr> records;
  for (size_t i = 0; i < reads.size(); ++i) records.push_back(MakeRecord(reads[i], i));
  RecordSource source = testing::CopiesOf(records);
  std::vector<std::pair<std::string, uint16_t>> out;
  SortOptions so;
  so.temp_dir = dir.path();
  so.memory_bytes = kMinSortMemoryBytes;
  auto result = CollateByName(so, source, [&](const bam1_t* b) {
    out.emplace_back(bam_get_qname(b), b->core.flag);
    return Status::Ok();
  });
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  EXPECT_GT(result->runs_spilled, 0);
  ASSERT_EQ(out.size(), reads.size());
  auto stem = [](std::string n) {
    if (n.size() > 2 && n[n.size() - 2] == '/') n.resize(n.size() - 2);
    return n;
  };
  for (size_t i = 0; i < out.size(); i += 2) {
    EXPECT_EQ(stem(out[i].first), stem(out[i + 1].first)) << i;
    EXPECT_TRUE(out[i].second & BAM_FREAD1) << i;
    EXPECT_TRUE(out[i + 1].second & BAM_FREAD2) << i;
  }
}

}  // namespace
}  // namespace cramjet
