// host/pipeline/archive_sink.h — internal to host/pipeline: the sink of `cramjet ship` and
// `cramjet accept`, from a URL and/or a TOML file's [archive] table (ship_job.cc).
#pragma once

#include <string>

#include "cramjet/status.h"
#include "ship/ship.h"

namespace cramjet {

// `to` (a URL) wins over the file's url; the file gives credentials, TLS and retry settings.
// InvalidArgument when neither is given; BadInput naming the file and line for bad TOML.
[[nodiscard]] StatusOr<ship::SinkConfig> LoadArchiveSinkConfig(const std::string& to, const std::string& config_file);

}  // namespace cramjet
