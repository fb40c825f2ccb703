// manifest.json: what the archive learns about a shipped sample. Built from the files themselves
// (CRAM header, container headers, .seqchksum, computed MD5s) plus the request's metadata.
#include <cstdio>
#include <cstring>
#include <sstream>

#include <htslib/sam.h>
#include <nlohmann/json.hpp>

#include "cramjet/checksum.h"

#include "common/alignment_file.h"
#include "common/common.h"
#include "cramjet/version.h"
#include "ship/ship.h"

namespace cramjet::ship {
namespace {

bool EndsWith(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

std::string Role(size_t index, const std::string& base) {
  if (index == 0) return "cram";
  if (EndsWith(base, ".crai")) return "index";
  if (EndsWith(base, ".seqchksum")) return "seqchksum";
  if (EndsWith(base, ".md5")) return "md5";
  return "qc";
}

// The .seqchksum rows as JSON, parsed by the verify stage's own reader (one definition of the
// format); the comment lines are kept, since they state the checksum definition version.
StatusOr<nlohmann::json> SeqChecksumJson(const std::string& path) {
  CRAMJET_ASSIGN_OR_RETURN(std::string text, ReadSmallFile(path));
  CRAMJET_ASSIGN_OR_RETURN(ReadChecksums sums, ReadChecksums::FromText(text, path));
  nlohmann::json comments = nlohmann::json::array(), rows = nlohmann::json::array();
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line))
    if (!line.empty() && line[0] == '#') comments.push_back(line);
  auto hex = [](uint32_t v) {
    char buf[16];
    std::snprintf(buf, sizeof buf, "%08x", v);
    return std::string(buf);
  };
  for (const ChecksumRow& r : sums.Rows()) {
    rows.push_back({{"group", r.group}, {"qc", r.qc}, {"count", r.count}, {"flag+seq", hex(r.seq)},
                    {"+name", hex(r.name)}, {"+qual", hex(r.qual)}, {"+aux", hex(r.aux)},
                    {"combined", hex(r.combined)}});
  }
  return nlohmann::json{{"file", BaseName(path)}, {"comments", comments}, {"rows", rows},
                        {"aux_tags", sums.aux_tags()}, {"reads", sums.count()}};
}

}  // namespace


StatusOr<std::string> BuildManifest(const ShipRequest& request, const std::vector<ShippedFile>& files,
                                    const SinkConfig::Encryption* encryption) {
  if (files.empty()) return InvalidArgument("no files to ship");
  const std::string& cram_path = files[0].local_path;
  AlignmentOpenOptions header_only;
  header_only.header_only = true;  // CountCramContainers below reads the container headers
  CRAMJET_ASSIGN_OR_RETURN(AlignmentFile in, OpenAlignmentFile(cram_path, header_only));
  if (!in.is_cram()) return BadInput("'" + cram_path + "': not a CRAM file");
  const HeaderPtr& header = in.header;

  nlohmann::json contigs = nlohmann::json::array();
  std::string reference_name = request.reference_name;
  int n_sq = sam_hdr_count_lines(header.get(), "SQ");
  kstring_t ks = KS_INITIALIZE;
  for (int i = 0; i < n_sq; ++i) {
    nlohmann::json c;
    for (const char* tag : {"SN", "LN", "M5", "UR", "AS"}) {
      if (sam_hdr_find_tag_pos(header.get(), "SQ", i, tag, &ks) == 0) {
        if (std::strcmp(tag, "LN") == 0) {
          const auto length = ParseDecimal(ks.s);  // from a file: parsed without throwing
          if (!length) {
            Status bad = BadInput("'" + cram_path + "': @SQ line " + std::to_string(i + 1) + " has LN '" + ks.s +
                                  "', not a length");
            ks_free(&ks);
            return bad;
          }
          c["LN"] = *length;
        } else {
          c[tag] = std::string(ks.s);
        }
      }
    }
    if (reference_name.empty() && c.contains("UR")) {
      std::string ur = c["UR"];
      if (ur.rfind("file:", 0) == 0) ur = ur.substr(5);
      reference_name = BaseName(ur);
    }
    if (reference_name.empty() && c.contains("AS")) reference_name = c["AS"];
    contigs.push_back(c);
  }
  nlohmann::json programs = nlohmann::json::array();
  std::string profile = request.cram_profile;
  int n_pg = sam_hdr_count_lines(header.get(), "PG");
  for (int i = 0; i < n_pg; ++i) {
    nlohmann::json p;
    for (const char* tag : {"ID", "PN", "VN", "CL", "PP"})
      if (sam_hdr_find_tag_pos(header.get(), "PG", i, tag, &ks) == 0) p[tag] = std::string(ks.s);
    if (profile.empty() && p.value("PN", "") == "cramjet" && p.contains("CL")) {
      std::string cl = p["CL"];
      size_t at = cl.find("--profile");
      if (at != std::string::npos) {
        at += 9;
        while (at < cl.size() && (cl[at] == ' ' || cl[at] == '=')) ++at;
        size_t end = cl.find(' ', at);
        profile = cl.substr(at, end == std::string::npos ? std::string::npos : end - at);
      }
    }
    programs.push_back(p);
  }
  ks_free(&ks);
  in.file.reset();  // closed now; the header stays for what follows

  nlohmann::json cram_json = {{"file", BaseName(cram_path)}};
  auto counts = CountCramContainers(cram_path);
  if (!counts.ok()) return counts.status();
  cram_json["version"] = std::to_string(counts->major) + "." + std::to_string(counts->minor);
  cram_json["records"] = counts->records;
  cram_json["bases"] = counts->bases;
  cram_json["profile"] = profile.empty() ? nlohmann::json(nullptr) : nlohmann::json(profile);

  nlohmann::json manifest = {
      {"format", "cramjet-manifest"},
      {"format_version", encryption ? 2 : 1},
      {"sample", request.sample},
      {"run", request.run},
      {"lane", request.lane},
      {"instrument", request.instrument},
      {"tool", {{"name", "cramjet"}, {"version", Version()}}},
      {"cram", cram_json},
      {"reference", {{"name", reference_name}, {"contigs", contigs}}},
      {"programs", programs},
  };
  nlohmann::json file_list = nlohmann::json::array();
  for (size_t i = 0; i < files.size(); ++i) {
    const auto& f = files[i];
    std::string base = BaseName(f.local_path);
    std::string role = Role(i, base);
    file_list.push_back({{"name", f.remote_name}, {"local_name", base}, {"role", role}, {"size", f.size}, {"md5", f.md5}});
    // Encrypted: size and md5 are the object's (the ciphertext the archive holds), these the file's.
    if (encryption) file_list.back()["plaintext"] = {{"size", f.plain_size}, {"md5", f.plain_md5}};
    if (role == "qc" && EndsWith(base, ".qc.json")) {
      // The set's QC verdict, for the archive to decide on (and a fail that an operator released).
      CRAMJET_ASSIGN_OR_RETURN(std::string text, ReadSmallFile(f.local_path));
      const nlohmann::json doc = nlohmann::json::parse(text, nullptr, false);
      const nlohmann::json* verdict = doc.is_object() && doc.contains("verdict") ? &doc["verdict"] : nullptr;
      if (!verdict || !verdict->is_string() || (*verdict != "pass" && *verdict != "warn" && *verdict != "fail"))
        return BadInput("'" + f.local_path + "': not a cramjet QC document with a verdict of pass, warn or fail");
      manifest["qc"] = {{"verdict", *verdict}, {"released_by_operator", request.qc_released}};
    }
    if (role == "seqchksum") {
      CRAMJET_ASSIGN_OR_RETURN(nlohmann::json sc, SeqChecksumJson(f.local_path));
      manifest["seqchksum"] = sc;
      if (sc.contains("reads")) manifest["reads"] = sc["reads"];
    }
  }
  manifest["files"] = file_list;
  if (encryption) {
    nlohmann::json recipients = nlohmann::json::array();
    for (const auto& k : encryption->recipients) recipients.push_back(crypt4gh::KeyBase64(k));
    manifest["encryption"] = {{"method", "crypt4gh"}, {"version", crypt4gh::kVersion}, {"recipients", recipients}};
  }
  return manifest.dump(2) + "\n";
}

}  // namespace cramjet::ship
