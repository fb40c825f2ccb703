// Connects the daemon's stages to the libraries present in this build (host/daemon/CMakeLists.txt
// defines CRAMJET_DAEMON_HAVE_<STAGE> for each stage library that exists).
#include "daemon/daemon.h"
#include "daemon/slurm_executor.h"
#include "daemon/stage_process.h"
#if defined(CRAMJET_DAEMON_HAVE_PIPELINE)
#include "read/read.h"
#endif

#if defined(CRAMJET_DAEMON_HAVE_BACKEND)
#include "cramjet/backend.h"
#endif
#if defined(CRAMJET_DAEMON_HAVE_SHIP)
#include "ship/ship.h"
#endif

namespace cramjet::daemon {

StatusOr<std::function<Status(const ShipJob&)>> WireShipStage(const DaemonConfig& config) {
  std::function<Status(const ShipJob&)> stage;  // empty: nothing ships
#if defined(CRAMJET_DAEMON_HAVE_SHIP)
  if (config.archive_enabled || !config.archive_table.empty()) {
    // Checked even when disabled, so a typo is found before anyone turns shipping on.
    CRAMJET_ASSIGN_OR_RETURN(ship::SinkConfig sink, ship::ParseSinkConfig(config.archive_table, config.archive_source));
    if (config.archive_enabled) {
      // The manifest takes the CRAM's profile from its own @PG line (the job's compress command),
      // not from the config, which a reload may have changed since the job was compressed.
      stage = [sink](const ShipJob& job) -> Status {
        ship::ShipRequest r;
        r.sample = job.sample;
        r.run = job.run_id;
        std::string lanes;
        for (int l : job.lanes) lanes += (lanes.empty() ? "" : ",") + std::to_string(l);
        r.lane = lanes;
        r.instrument = job.instrument;
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
  return stage;
}

StatusOr<StageFunctions> WireStages(const DaemonConfig& config) {
  StageFunctions f;
  const bool crash = config.crash_stage_children;
#if defined(CRAMJET_DAEMON_HAVE_VERIFY)
  // Verify decodes a CRAM on disk, which may have been damaged since it was written: in a child
  // process (stage_process.h), so a file that corrupts htslib's memory fails only its job.
  f.verify = [crash](const VerifyOptions& o, StageRun&) { return VerifyInChildProcess(o, crash); };
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
  // Aligned input (SAM/BAM/CRAM from outside) is decoded by htslib: in a child process. FASTQ
  // is read by cramjet's own reader and mapped on the daemon's accelerator: here.
  auto decodes_aligned_input = [](const CompressOptions& o) {
    if (o.inputs.empty()) return false;
    auto format = DetectInputFormat(o.inputs[0]);
    return format.ok() && *format != InputFormat::kFastq;
  };
#if defined(CRAMJET_DAEMON_HAVE_BACKEND)
  f.compress = [backend, crash, decodes_aligned_input](const CompressOptions& o, StageRun&) {
    if (decodes_aligned_input(o)) return CompressInChildProcess(o, crash);
    CompressOptions with = o;
    if (!with.backend) with.backend = backend.get();
    return Compress(with);
  };
#else
  f.compress = [crash, decodes_aligned_input](const CompressOptions& o, StageRun&) {
    return decodes_aligned_input(o) ? CompressInChildProcess(o, crash) : Compress(o);
  };
#endif
#endif
#if defined(CRAMJET_DAEMON_HAVE_PIPELINE) && defined(CRAMJET_DAEMON_HAVE_VERIFY)
  if (config.executor.kind == "slurm") {
    // Every compress and verify a Slurm job (slurm_executor.h): the nodes run the stage child,
    // with the CPU backend or whatever [accel] finds there; this machine's backend serves none.
    auto created_executor = SlurmExecutor::Create(config);
    if (!created_executor.ok()) return created_executor.status();
    std::shared_ptr<const SlurmExecutor> slurm = *created_executor;
    f.compress = [slurm, crash](const CompressOptions& o, StageRun& run) { return slurm->Compress(o, run, crash); };
    f.verify = [slurm, crash](const VerifyOptions& o, StageRun& run) { return slurm->Verify(o, run, crash); };
    f.stage_committed = [slurm](const Job& job, Stage stage) { slurm->StageCommitted(job, stage); };
    f.executor = "slurm";
  }
#else
  if (config.executor.kind == "slurm")
    return Unimplemented("[executor] kind = \"slurm\" needs the compress and verify stages, not in this build");
#endif
  CRAMJET_ASSIGN_OR_RETURN(f.ship, WireShipStage(config));
  return f;
}

}  // namespace cramjet::daemon
