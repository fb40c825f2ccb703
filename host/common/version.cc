#include "cramjet/version.h"

#include <curl/curl.h>
#include <htslib/hts.h>
#include <hwy/highway.h>
#include <sqlite3.h>
#include <zstd.h>

#include <string>

#include "cramjet_build_info.h"

namespace cramjet {

const char* Version() { return CRAMJET_VERSION_STRING; }

std::string LibraryVersions() {
  std::string s = "cramjet " CRAMJET_VERSION_STRING "; htslib ";
  s += hts_version();
  s += "; Highway " + std::to_string(HWY_MAJOR) + "." + std::to_string(HWY_MINOR) + "." +
       std::to_string(HWY_PATCH);
  s += "; zstd ";
  s += ZSTD_versionString();
  return s;
}

std::string VersionReport() {
  std::string s = "cramjet " CRAMJET_VERSION_STRING " (" CRAMJET_BUILD_TYPE ", " CRAMJET_CXX_COMPILER ")\n";
  s += "htslib " + std::string(hts_version()) + "\n";
  s += "Highway " + std::to_string(HWY_MAJOR) + "." + std::to_string(HWY_MINOR) + "." +
       std::to_string(HWY_PATCH) + "\n";
  s += "zstd " + std::string(ZSTD_versionString()) + "\n";
  s += "SQLite " + std::string(sqlite3_libversion()) + "\n";
  s += "libcurl " + std::string(curl_version_info(CURLVERSION_NOW)->version) + "\n";
  return s;
}

}  // namespace cramjet
