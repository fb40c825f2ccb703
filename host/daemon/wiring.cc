// Connects the daemon's stages to the libraries present in this build (host/daemon/CMakeLists.txt
// defines CRAMJET_DAEMON_HAVE_<STAGE> for each stage library that exists).
#include "daemon/daemon.h"

#if defined(CRAMJET_DAEMON_HAVE_BACKEND)
#include "cramjet/backend.h"
#endif
#if defined(CRAMJET_DAEMON_HAVE_SHIP)
#include "ship/ship.h"
#endif

namespace cramjet::daemon {

StatusOr<StageFunctions> WireStages(const DaemonConfig& config) {
  StageFunctions f;
#if defined(CRAMJET_DAEMON_HAVE_VERIFY)
  f.verify = [](const VerifyOptions& o) { return Verify(o); };
#endif
#if defined(CRAMJET_DAEMON_HAVE_BACKEND)
  // The backend every job uses, made once here: `cramjet status` names it, a device that cannot
  // be opened stops the daemon at start rather than failing each job, and a card's image is
  // loaded once, not per job (backends take concurrent calls; jobs share it).
  CRAMJET_ASSIGN_OR_RETURN(AccelChoice accel, ParseAccelChoice(config.accel));
  accel.xclbin = config.xclbin;
  auto created = CreateBackend(accel);
  if (!created.ok()) return created.status().WithContext("[accel]");
  std::shared_ptr<const Backend> backend(std::move(created).value());
  f.backend = backend->Name();
#else
  f.backend = "cpu (no accelerator backend in this build)";
#endif
#if defined(CRAMJET_DAEMON_HAVE_PIPELINE)
#if defined(CRAMJET_DAEMON_HAVE_BACKEND)
  f.compress = [backend](const CompressOptions& o) {
    CompressOptions with = o;
    if (!with.backend) with.backend = backend.get();
    return Compress(with);
  };
#else
  f.compress = [](const CompressOptions& o) { return Compress(o); };
#endif
#endif
#if defined(CRAMJET_DAEMON_HAVE_SHIP)
  if (config.archive_enabled || !config.archive_table.empty()) {
    // Checked even when disabled, so a typo is found before anyone turns shipping on.
    CRAMJET_ASSIGN_OR_RETURN(ship::SinkConfig sink, ship::ParseSinkConfig(config.archive_table, config.archive_source));
    if (config.archive_enabled) {
      std::string profile = config.profile;
      f.ship = [sink, profile](const ShipJob& job) -> Status {
        ship::ShipRequest r;
        r.sample = job.sample;
        r.run = job.run_id;
        std::string lanes;
        for (int l : job.lanes) lanes += (lanes.empty() ? "" : ",") + std::to_string(l);
        r.lane = lanes;
        r.instrument = job.instrument;
        r.cram_profile = profile;
        r.files = job.files;
        r.state_dir = job.state_dir;
        r.qc_released = job.qc_released;
        auto result = ship::ShipSample(sink, r);
        return result.ok() ? Status::Ok() : result.status();
      };
    }
  }
#else
  if (config.archive_enabled)
    return Unimplemented(config.archive_source + ": archive.enabled = true but shipping is not in this build");
  if (!config.archive_table.empty())
    return BadInput(config.archive_source + ": [archive] keys other than 'enabled' need the ship stage, which is "
                    "not in this build");
#endif
  return f;
}

}  // namespace cramjet::daemon
