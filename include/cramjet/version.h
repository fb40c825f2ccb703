// cramjet/version.h — version strings for --version, @PG headers and manifests.
#pragma once

#include <string>

namespace cramjet {

// "0.1.0".
const char* Version();
// One line per component: cramjet, htslib, Highway, zstd, SQLite, libcurl, build type.
std::string VersionReport();
// Short form for @PG VN / DS fields: "cramjet 0.1.0; htslib 1.16; ...".
std::string LibraryVersions();

}  // namespace cramjet
