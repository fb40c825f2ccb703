// `cramjet index` (BuildReferenceIndex() of cramjet/index.h): the map stage's index builder as a
// job of its own.
#include "cramjet/index.h"
#include "map/map.h"

namespace cramjet {

Status BuildReferenceIndex(const std::string& fasta, const ReferenceIndexOptions& options) {
  IndexBuildOptions build;
  build.threads = options.threads;
  build.max_memory = options.max_memory;
  return ReferenceIndex::Build(fasta, build);
}

}  // namespace cramjet
