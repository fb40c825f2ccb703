// cramjetd configuration: /etc/cramjet/cramjetd.toml plus drop-ins, strictly checked.
#include <arpa/inet.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <set>
#include <sstream>
#include <thread>

#include "common/common.h"
#include "cramjet/log.h"
#include "daemon/config.h"
#include "cramjet/compress.h"
#if defined(CRAMJET_DAEMON_HAVE_PIPELINE)
#include "cramjet/qc.h"
#endif
#if defined(CRAMJET_DAEMON_HAVE_BACKEND)
#include "cramjet/backend.h"
#endif

namespace cramjet::daemon {
namespace {

namespace fs = std::filesystem;

std::string Where(const std::string& source, const toml::node& node) {
  return source + ": line " + std::to_string(node.source().begin.line) + ": ";
}

// A check on a deferred value (reference names), reported with its place.
struct Pending {
  std::string name, where;
};

class Applier {
 public:
  Applier(DaemonConfig& config, const std::string& source) : c_(config), source_(source) {}

  Status Apply(const toml::table& root, std::vector<Pending>& reference_uses) {
    for (const auto& [key, node] : root) {
      std::string k(key.str());
      if (k == "daemon") {
        CRAMJET_RETURN_IF_ERROR(Section(k, node, [&](const std::string& name, const toml::node& v) -> Status {
          if (name == "state_dir") return Path(v, name, c_.state_dir);
          if (name == "log_level") {
            CRAMJET_RETURN_IF_ERROR(String(v, name, c_.log_level));
            if (!ParseLogLevel(c_.log_level)) return Bad(v, "log_level must be debug, info, warning or error");
            return Status::Ok();
          }
          if (name == "shutdown_grace_s") return Int(v, name, c_.shutdown_grace_s, 0, 86400);
          return Unknown(k, name, v);
        }));
      } else if (k == "api") {
        CRAMJET_RETURN_IF_ERROR(Section(k, node, [&](const std::string& name, const toml::node& v) -> Status {
          if (name == "socket") return Path(v, name, c_.socket_path);
          if (name == "socket_group") return String(v, name, c_.socket_group);
          return Unknown(k, name, v);
        }));
      } else if (k == "metrics") {
        CRAMJET_RETURN_IF_ERROR(Section(k, node, [&](const std::string& name, const toml::node& v) -> Status {
          if (name == "listen") {
            CRAMJET_RETURN_IF_ERROR(String(v, name, c_.metrics_listen));
            if (!c_.metrics_listen.empty() && !IsLoopbackListen(c_.metrics_listen))
              return Bad(v, "metrics.listen must be a loopback address with a port, e.g. "
                            "\"127.0.0.1:9464\" or \"[::1]:9464\" (got \"" + c_.metrics_listen + "\")");
            return Status::Ok();
          }
          return Unknown(k, name, v);
        }));
      } else if (k == "watch") {
        const toml::array* arr = node.as_array();
        if (!arr) return Bad(node, "[[watch]] must be an array of tables");
        for (const auto& item : *arr) {
          const toml::table* t = item.as_table();
          if (!t) return Bad(item, "each [[watch]] entry must be a table");
          WatchRoot w;
          for (const auto& [wk, wv] : *t) {
            std::string name(wk.str());
            if (name == "path") CRAMJET_RETURN_IF_ERROR(ExistingDir(wv, name, w.path));
            else if (name == "output") CRAMJET_RETURN_IF_ERROR(ExistingDir(wv, name, w.output));
            else if (name == "reference") {
              CRAMJET_RETURN_IF_ERROR(String(wv, name, w.reference));
              if (!w.reference.empty()) reference_uses.push_back({w.reference, Where(source_, wv)});
            } else return Unknown("watch", name, wv);
          }
          if (w.path.empty() || w.output.empty())
            return Bad(item, "[[watch]] needs both path and output");
          c_.watch.push_back(w);
        }
      } else if (k == "drop") {
        CRAMJET_RETURN_IF_ERROR(Section(k, node, [&](const std::string& name, const toml::node& v) -> Status {
          // An empty path turns the drop folder off.
          if (name == "path") return v.value_or(std::string("x")).empty() ? String(v, name, c_.drop.path)
                                                                           : ExistingDir(v, name, c_.drop.path);
          if (name == "output") return v.value_or(std::string("x")).empty() ? String(v, name, c_.drop.output)
                                                                             : ExistingDir(v, name, c_.drop.output);
          if (name == "reference") {
            CRAMJET_RETURN_IF_ERROR(String(v, name, c_.drop.reference));
            if (!c_.drop.reference.empty()) reference_uses.push_back({c_.drop.reference, Where(source_, v)});
            return Status::Ok();
          }
          if (name == "settle_seconds") return Int(v, name, c_.drop.settle_seconds, 0, 7 * 86400);
          return Unknown(k, name, v);
        }));
      } else if (k == "intake") {
        CRAMJET_RETURN_IF_ERROR(Section(k, node, [&](const std::string& name, const toml::node& v) -> Status {
          if (name == "rescan_interval_s") return Int(v, name, c_.rescan_interval_s, 1, 86400);
          if (name == "rta_only_timeout_hours") return Double(v, name, c_.rta_only_timeout_hours, 0, 24 * 30);
          if (name == "min_free_disk_gb") return Double(v, name, c_.min_free_disk_gb, 0, 1e9);
          if (name == "resume_free_disk_gb") return Double(v, name, c_.resume_free_disk_gb, 0, 1e9);
          return Unknown(k, name, v);
        }));
      } else if (k == "references") {
        const toml::table* t = node.as_table();
        if (!t) return Bad(node, "[references] must be a table of name = \"/path/to/reference.fa\"");
        for (const auto& [rk, rv] : *t) {
          std::string name(rk.str()), path;
          CRAMJET_RETURN_IF_ERROR(String(rv, name, path));
          if (path.empty() || path[0] != '/') return Bad(rv, "reference '" + name + "' must be an absolute path");
          if (::access(path.c_str(), R_OK) != 0)
            return Bad(rv, "reference '" + name + "': cannot read '" + path + "'");
          c_.references[name] = path;
        }
      } else if (k == "compress") {
        CRAMJET_RETURN_IF_ERROR(Section(k, node, [&](const std::string& name, const toml::node& v) -> Status {
          if (name == "profile") {
            CRAMJET_RETURN_IF_ERROR(String(v, name, c_.profile));
            if (!ParseCramProfile(c_.profile).ok())
              return Bad(v, "profile must be fast, normal, small or archive");
            return Status::Ok();
          }
          if (name == "cram_version") {
            CRAMJET_RETURN_IF_ERROR(String(v, name, c_.cram_version));
            if (c_.cram_version != "3.0" && c_.cram_version != "3.1")
              return Bad(v, "cram_version must be \"3.0\" or \"3.1\"");
            return Status::Ok();
          }
          if (name == "placement") {
            CRAMJET_RETURN_IF_ERROR(String(v, name, c_.placement));
            if (c_.placement != "mapped" && c_.placement != "unaligned")
              return Bad(v, "placement must be \"mapped\" or \"unaligned\"");
            return Status::Ok();
          }
          if (name == "keep_order") return Bool(v, name, c_.keep_order);
          if (name == "build_index") return Bool(v, name, c_.build_index);
          return Unknown(k, name, v);
        }));
      } else if (k == "accel") {
        CRAMJET_RETURN_IF_ERROR(Section(k, node, [&](const std::string& name, const toml::node& v) -> Status {
          if (name == "kind") {
            CRAMJET_RETURN_IF_ERROR(String(v, name, c_.accel));
#if defined(CRAMJET_DAEMON_HAVE_BACKEND)
            auto choice = ParseAccelChoice(c_.accel);
            if (!choice.ok()) return Bad(v, choice.status().message());
#endif
            return Status::Ok();
          }
          if (name == "xclbin") {
            CRAMJET_RETURN_IF_ERROR(String(v, name, c_.xclbin));
            if (c_.xclbin.empty() || c_.xclbin[0] != '/') return Bad(v, "xclbin must be an absolute path");
            if (::access(c_.xclbin.c_str(), R_OK) != 0) return Bad(v, "xclbin: cannot read '" + c_.xclbin + "'");
            return Status::Ok();
          }
          return Unknown(k, name, v);
        }));
      } else if (k == "workers") {
        CRAMJET_RETURN_IF_ERROR(Section(k, node, [&](const std::string& name, const toml::node& v) -> Status {
          if (name == "max_jobs") return Int(v, name, c_.max_jobs, 1, 256);
          if (name == "threads_per_job") return Int(v, name, c_.threads_per_job, 1, 1024);
          if (name == "cpu_budget") return Int(v, name, c_.cpu_budget, 0, 4096);
          if (name == "memory_budget_mb") return U64(v, name, c_.memory_budget_mb);
          if (name == "memory_per_job_mb") return U64(v, name, c_.memory_per_job_mb);
          return Unknown(k, name, v);
        }));
      } else if (k == "executor") {
        CRAMJET_RETURN_IF_ERROR(Section(k, node, [&](const std::string& name, const toml::node& v) -> Status {
          ExecutorConfig& e = c_.executor;
          if (name == "kind") {
            CRAMJET_RETURN_IF_ERROR(String(v, name, e.kind));
            if (e.kind != "local" && e.kind != "slurm") return Bad(v, "executor.kind must be \"local\" or \"slurm\"");
            return Status::Ok();
          }
          if (name == "partition") return SlurmWord(v, name, e.partition);
          if (name == "account") return SlurmWord(v, name, e.account);
          if (name == "qos") return SlurmWord(v, name, e.qos);
          if (name == "time_limit") return SlurmWord(v, name, e.time_limit);
          if (name == "cpus_per_job") return Int(v, name, e.cpus_per_job, 0, 4096);
          if (name == "memory_mb") return U64(v, name, e.memory_mb);
          if (name == "sbatch_args") {
            const toml::array* a = v.as_array();
            if (!a) return Bad(v, "sbatch_args must be an array of strings");
            e.sbatch_args.clear();
            for (const auto& item : *a) {
              std::string arg;
              CRAMJET_RETURN_IF_ERROR(String(item, name, arg));
              if (arg.rfind("-", 0) != 0) return Bad(item, "sbatch_args: '" + arg + "' is not an option (starts with -)");
              e.sbatch_args.push_back(arg);
            }
            return Status::Ok();
          }
          if (name == "work_dir") return Path(v, name, e.work_dir);
          if (name == "poll_interval_s") return Int(v, name, e.poll_interval_s, 1, 3600);
          if (name == "slurm_bin_dir") return Path(v, name, e.slurm_bin_dir);
          if (name == "cramjetd") return Path(v, name, e.cramjetd);
          return Unknown(k, name, v);
        }));
      } else if (k == "qc") {
        CRAMJET_RETURN_IF_ERROR(Section(k, node, [&](const std::string& name, const toml::node& v) -> Status {
          if (name == "on_fail") {
            CRAMJET_RETURN_IF_ERROR(String(v, name, c_.qc_on_fail));
            if (c_.qc_on_fail != "hold" && c_.qc_on_fail != "ship" && c_.qc_on_fail != "warn")
              return Bad(v, "qc.on_fail must be \"hold\" (keep the set until an operator releases it), \"warn\" "
                            "(ship and log a warning) or \"ship\"");
            return Status::Ok();
          }
          if (name == "thresholds") {
            CRAMJET_RETURN_IF_ERROR(Path(v, name, c_.qc_thresholds));
#if defined(CRAMJET_DAEMON_HAVE_PIPELINE)
            if (Status checked = CheckQcConfig(c_.qc_thresholds); !checked.ok()) return Bad(v, checked.message());
#endif
            return Status::Ok();
          }
          return Unknown(k, name, v);
        }));
      } else if (k == "retry") {
        CRAMJET_RETURN_IF_ERROR(Section(k, node, [&](const std::string& name, const toml::node& v) -> Status {
          if (name == "max_attempts") return Int(v, name, c_.max_attempts, 1, 100);
          if (name == "delay_s") return Int(v, name, c_.retry_delay_s, 0, 86400);
          return Unknown(k, name, v);
        }));
      } else if (k == "archive") {
        const toml::table* t = node.as_table();
        if (!t) return Bad(node, "[archive] must be a table");
        for (const auto& [ak, av] : *t) {
          std::string name(ak.str());
          if (name == "enabled") {
            auto b = av.value<bool>();
            if (!av.is_boolean() || !b) return Bad(av, "archive.enabled must be true or false");
            c_.archive_enabled = *b;
          } else {
            // Checked by the ship stage's parser (main.cc) against its own schema.
            c_.archive_table.insert_or_assign(ak, av);
          }
        }
        c_.archive_source = source_;
      } else if (k == "cleanup") {
        CRAMJET_RETURN_IF_ERROR(Section(k, node, [&](const std::string& name, const toml::node& v) -> Status {
          if (name == "policy") {
            CRAMJET_RETURN_IF_ERROR(String(v, name, c_.cleanup_policy));
            if (c_.cleanup_policy != "keep" && c_.cleanup_policy != "delete-inputs" &&
                c_.cleanup_policy != "delete-all")
              return Bad(v, "cleanup.policy must be keep, delete-inputs or delete-all");
            return Status::Ok();
          }
          if (name == "retention_hours") return Double(v, name, c_.retention_hours, 0, 24 * 3650);
          return Unknown(k, name, v);
        }));
      } else if (k == "testing") {
        CRAMJET_RETURN_IF_ERROR(Section(k, node, [&](const std::string& name, const toml::node& v) -> Status {
          if (name == "stage_delay_ms") return Int(v, name, c_.stage_delay_ms, 0, 600000);
          if (name == "crash_stage_children") return Bool(v, name, c_.crash_stage_children);
          return Unknown(k, name, v);
        }));
      } else {
        return Bad(node, "unknown section [" + k + "]");
      }
    }
    return Status::Ok();
  }

 private:
  template <typename F>
  Status Section(const std::string& section, const toml::node& node, F&& each) {
    const toml::table* t = node.as_table();
    if (!t) return Bad(node, "'" + section + "' must be a table ([" + section + "])");
    for (const auto& [key, value] : *t) CRAMJET_RETURN_IF_ERROR(each(std::string(key.str()), value));
    return Status::Ok();
  }
  Status Bad(const toml::node& node, const std::string& why) {
    return BadInput(Where(source_, node) + why);
  }
  Status Unknown(const std::string& section, const std::string& name, const toml::node& v) {
    return Bad(v, "unknown key '" + name + "' in [" + section + "]");
  }
  Status String(const toml::node& v, const std::string& name, std::string& out) {
    if (!v.is_string()) return Bad(v, name + " must be a string");
    out = *v.value<std::string>();
    for (char ch : out)
      if (static_cast<unsigned char>(ch) < 0x20) return Bad(v, name + " contains a control character");
    return Status::Ok();
  }
  // A value that goes on sbatch's command line: no spaces or shell characters to misread.
  Status SlurmWord(const toml::node& v, const std::string& name, std::string& out) {
    CRAMJET_RETURN_IF_ERROR(String(v, name, out));
    for (char ch : out)
      if (!std::isalnum(static_cast<unsigned char>(ch)) && std::string_view("-_.:,+=@").find(ch) == std::string_view::npos)
        return Bad(v, name + " may hold letters, digits and - _ . : , + = @ only");
    return Status::Ok();
  }
  Status Path(const toml::node& v, const std::string& name, std::string& out) {
    CRAMJET_RETURN_IF_ERROR(String(v, name, out));
    if (out.empty() || out[0] != '/') return Bad(v, name + " must be an absolute path");
    return Status::Ok();
  }
  Status ExistingDir(const toml::node& v, const std::string& name, std::string& out) {
    CRAMJET_RETURN_IF_ERROR(Path(v, name, out));
    std::error_code ec;
    if (!fs::is_directory(out, ec)) return Bad(v, name + ": folder '" + out + "' does not exist");
    out = fs::weakly_canonical(out, ec).string();
    return Status::Ok();
  }
  Status Int(const toml::node& v, const std::string& name, int& out, int64_t lo, int64_t hi) {
    if (!v.is_integer()) return Bad(v, name + " must be an integer");
    int64_t x = *v.value<int64_t>();
    if (x < lo || x > hi)
      return Bad(v, name + " must be between " + std::to_string(lo) + " and " + std::to_string(hi));
    out = static_cast<int>(x);
    return Status::Ok();
  }
  Status Bool(const toml::node& v, const std::string& name, bool& out) {
    if (!v.is_boolean()) return Bad(v, name + " must be true or false");
    out = *v.value<bool>();
    return Status::Ok();
  }
  Status U64(const toml::node& v, const std::string& name, uint64_t& out) {
    if (!v.is_integer() || *v.value<int64_t>() < 0) return Bad(v, name + " must be a non-negative integer");
    out = static_cast<uint64_t>(*v.value<int64_t>());
    return Status::Ok();
  }
  Status Double(const toml::node& v, const std::string& name, double& out, double lo, double hi) {
    if (!v.is_number()) return Bad(v, name + " must be a number");
    double x = *v.value<double>();
    if (!(x >= lo && x <= hi))
      return Bad(v, name + " must be between " + std::to_string(lo) + " and " + std::to_string(hi));
    out = x;
    return Status::Ok();
  }
  static bool IsLoopbackListen(const std::string& listen) {
    std::string host, port;
    if (!listen.empty() && listen[0] == '[') {
      size_t close = listen.find(']');
      if (close == std::string::npos || close + 1 >= listen.size() || listen[close + 1] != ':') return false;
      host = listen.substr(1, close - 1);
      port = listen.substr(close + 2);
    } else {
      size_t colon = listen.rfind(':');
      if (colon == std::string::npos) return false;
      host = listen.substr(0, colon);
      port = listen.substr(colon + 1);
    }
    const std::optional<uint64_t> port_number = ParseDecimal(port);
    if (!port_number || *port_number > 65535) return false;
    if (host == "localhost" || host == "::1") return true;
    in_addr a{};
    return inet_pton(AF_INET, host.c_str(), &a) == 1 && (ntohl(a.s_addr) >> 24) == 127;
  }

  DaemonConfig& c_;
  std::string source_;
};

Status ApplyText(DaemonConfig& config, const std::string& text, const std::string& source,
                 std::vector<Pending>& uses) {
  toml::table table;
  try {
    table = toml::parse(text, source);
  } catch (const toml::parse_error& e) {
    return BadInput(source + ": line " + std::to_string(e.source().begin.line) + ": " +
                    std::string(e.description()));
  }
  config.files.push_back(source);
  return Applier(config, source).Apply(table, uses);
}

Status Finish(DaemonConfig& config, const std::vector<Pending>& uses) {
  for (const auto& use : uses)
    if (!config.references.count(use.name))
      return BadInput(use.where + "reference '" + use.name + "' is not defined in [references]");
  if (config.resume_free_disk_gb < config.min_free_disk_gb)
    return BadInput(config.files.back() + ": intake.resume_free_disk_gb (" +
                    std::to_string(config.resume_free_disk_gb) + ") must not be below min_free_disk_gb (" +
                    std::to_string(config.min_free_disk_gb) + ")");
  if (!config.drop.path.empty() && config.drop.output.empty())
    return BadInput(config.files.back() + ": [drop] has a path but no output");
  return Status::Ok();
}

}  // namespace

std::string SystemdDropin(const DaemonConfig& c) {
  std::vector<std::string> writable;
  auto add = [&](const std::string& path) {
    if (!path.empty() && std::find(writable.begin(), writable.end(), path) == writable.end()) writable.push_back(path);
  };
  const bool deletes_inputs = c.cleanup_policy != "keep";
  for (const auto& w : c.watch) {
    add(w.output);
    if (deletes_inputs) add(w.path);
  }
  add(c.drop.output);
  if (deletes_inputs) add(c.drop.path);
  add(c.state_dir);
  add(fs::path(c.socket_path).parent_path().string());
  std::ostringstream o;
  o << "# Written by `cramjetd --systemd-dropin` from " << (c.files.empty() ? std::string("the defaults") : c.files[0])
    << ": the folders it writes and the ceilings of [workers].\n"
       "# Put it in /etc/systemd/system/cramjetd.service.d/50-cramjet-config.conf and run\n"
       "# `systemctl daemon-reload` after each change of those keys.\n[Service]\n";
  for (const std::string& path : writable) o << "ReadWritePaths=" << path << "\n";
  if (c.memory_budget_mb > 0) o << "MemoryMax=" << c.memory_budget_mb + c.memory_budget_mb / 4 << "M\n";
  if (c.cpu_budget > 0) o << "CPUQuota=" << c.cpu_budget * 100 << "%\n";
  return o.str();
}

int DaemonConfig::Concurrency() const {
  if (executor.kind == "slurm") return std::max(1, max_jobs);  // the cluster's scheduler shares its nodes
  return LocalConcurrency();
}

int DaemonConfig::LocalConcurrency() const {
  int cpus = cpu_budget > 0 ? cpu_budget : std::max(1u, std::thread::hardware_concurrency());
  int n = std::min(max_jobs, std::max(1, cpus / std::max(1, threads_per_job)));
  if (memory_budget_mb > 0 && memory_per_job_mb > 0)
    n = std::min<int64_t>(n, std::max<uint64_t>(1, memory_budget_mb / memory_per_job_mb));
  return std::max(1, n);
}

StatusOr<DaemonConfig> ParseConfigText(const std::string& text, const std::string& source) {
  DaemonConfig config;
  std::vector<Pending> uses;
  CRAMJET_RETURN_IF_ERROR(ApplyText(config, text, source, uses));
  CRAMJET_RETURN_IF_ERROR(Finish(config, uses));
  return config;
}

std::vector<std::string> ConfigFiles(const std::string& path) {
  std::vector<std::string> files{path};
  std::error_code ec;
  std::string dropin_dir = path + ".d";
  if (fs::is_directory(dropin_dir, ec)) {
    std::vector<std::string> dropins;
    for (const auto& entry : fs::directory_iterator(dropin_dir, ec))
      if (entry.path().extension() == ".toml" && entry.is_regular_file(ec)) dropins.push_back(entry.path().string());
    std::sort(dropins.begin(), dropins.end());
    files.insert(files.end(), dropins.begin(), dropins.end());
  }
  return files;
}

StatusOr<DaemonConfig> LoadConfig(const std::string& path) {
  DaemonConfig config;
  std::vector<Pending> uses;
  for (const auto& file : ConfigFiles(path)) {
    auto text = ReadSmallFile(file);
    if (!text.ok()) return text.status().WithContext("reading the configuration");
    CRAMJET_RETURN_IF_ERROR(ApplyText(config, *text, file, uses));
  }
  CRAMJET_RETURN_IF_ERROR(Finish(config, uses));
  return config;
}

ConfigReload PrepareReload(const DaemonConfig& running, DaemonConfig* next) {
  ConfigReload r;
  // Restart-only: the running value is kept, so that what the daemon reports stays what it does.
  auto fixed = [&](const char* key, auto DaemonConfig::*field) {
    if (next->*field != running.*field) {
      r.need_restart.push_back(key);
      next->*field = running.*field;
    }
  };
  fixed("daemon.state_dir", &DaemonConfig::state_dir);
  fixed("api.socket", &DaemonConfig::socket_path);
  fixed("api.socket_group", &DaemonConfig::socket_group);
  fixed("metrics.listen", &DaemonConfig::metrics_listen);
  fixed("workers.max_jobs", &DaemonConfig::max_jobs);
  fixed("workers.cpu_budget", &DaemonConfig::cpu_budget);
  fixed("workers.memory_budget_mb", &DaemonConfig::memory_budget_mb);
  fixed("workers.memory_per_job_mb", &DaemonConfig::memory_per_job_mb);
  fixed("workers.threads_per_job", &DaemonConfig::threads_per_job);  // the worker count depends on it
  fixed("accel.kind", &DaemonConfig::accel);
  fixed("accel.xclbin", &DaemonConfig::xclbin);
  fixed("testing.crash_stage_children", &DaemonConfig::crash_stage_children);
  fixed("[executor]", &DaemonConfig::executor);  // chosen once at start, like the backend
  auto live = [&](const char* key, auto DaemonConfig::*field) {
    if (next->*field != running.*field) r.changed.push_back(key);
  };
  live("daemon.log_level", &DaemonConfig::log_level);
  live("daemon.shutdown_grace_s", &DaemonConfig::shutdown_grace_s);
  live("[[watch]]", &DaemonConfig::watch);
  live("[drop]", &DaemonConfig::drop);
  live("intake.rescan_interval_s", &DaemonConfig::rescan_interval_s);
  live("intake.rta_only_timeout_hours", &DaemonConfig::rta_only_timeout_hours);
  live("intake.min_free_disk_gb", &DaemonConfig::min_free_disk_gb);
  live("intake.resume_free_disk_gb", &DaemonConfig::resume_free_disk_gb);
  live("[references]", &DaemonConfig::references);
  live("compress.profile", &DaemonConfig::profile);
  live("compress.cram_version", &DaemonConfig::cram_version);
  live("compress.placement", &DaemonConfig::placement);
  live("compress.keep_order", &DaemonConfig::keep_order);
  live("compress.build_index", &DaemonConfig::build_index);
  live("qc.on_fail", &DaemonConfig::qc_on_fail);
  live("qc.thresholds", &DaemonConfig::qc_thresholds);
  live("retry.max_attempts", &DaemonConfig::max_attempts);
  live("retry.delay_s", &DaemonConfig::retry_delay_s);
  if (next->archive_enabled != running.archive_enabled || next->archive_table != running.archive_table)
    r.changed.push_back("[archive]");
  live("cleanup.policy", &DaemonConfig::cleanup_policy);
  live("cleanup.retention_hours", &DaemonConfig::retention_hours);
  live("testing.stage_delay_ms", &DaemonConfig::stage_delay_ms);
  return r;
}

}  // namespace cramjet::daemon
