// Docker steps on worker threads.
#include "docker/runtime.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <ctime>

#include "docker/credentials.h"
#include "docker/image_ref.h"
#include "util/json_get.h"
#include "util/secrets.h"

namespace docker {

namespace ev = executor::ev;
using executor::LaunchStep;
using Clock = std::chrono::steady_clock;

namespace {

void write_fd(int fd, std::string_view data) {
  while (!data.empty()) {
    const ssize_t n = ::write(fd, data.data(), data.size());
    if (n <= 0) return;
    data.remove_prefix(static_cast<std::size_t>(n));
  }
}

// Errors that another attempt will not fix.
bool permanent_pull_error(const util::Error& error) {
  if (error.not_found()) return true;
  std::string m = error.message;
  std::transform(m.begin(), m.end(), m.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  for (const char* s : {"not found", "manifest unknown", "unauthorized", "denied", "invalid reference",
                        "no basic auth credentials", "repository name must"}) {
    if (m.find(s) != std::string::npos) return true;
  }
  return false;
}

}  // namespace

std::string refresh_reason(const ImageRef& ref, bool force_pull) {
  if (force_pull) return "force_pull_image is set";
  if (!refreshed_on_launch(ref)) return "";
  return ref.tag.empty() ? "an image without a tag (Docker's `latest`) is pulled at every launch"
                         : "the tag `latest` is pulled at every launch";
}

Runtime::Runtime(RuntimeOptions opts, Sink sink)
    : opts_(std::move(opts)), sink_(std::move(sink)), client_(opts_.endpoint, opts_.call_timeout) {
  if (!opts_.env) opts_.env = util::process_env();
  // A file left in the sandbox (or planted there) is never taken for ours.
  if (!opts_.container_id_file.empty()) ::unlink(opts_.container_id_file.c_str());
}

// Created, never opened: O_EXCL does not follow a symlink, and a file that appears between the unlink
// and the open is removed and the open tried again.
void Runtime::write_container_id_file(const std::string& id, const std::string& name) {
  const std::string& path = opts_.container_id_file;
  const std::string text = id + "\n" + name + "\n";
  for (int attempt = 0; attempt < 3; ++attempt) {
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
    if (fd < 0) {
      if (errno == EEXIST && ::unlink(path.c_str()) == 0) continue;
      break;
    }
    const bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
    ::close(fd);
    if (ok) return;
    break;
  }
  spdlog::warn("could not write the container id to {}: the wrapper cannot stop the container if the executor dies",
               path);
}

Runtime::~Runtime() { shutdown(); }

bool Runtime::spawn(std::function<void()> work) {
  std::lock_guard<std::mutex> lock(mu_);
  if (stopping_) return false;
  threads_.emplace_back([work = std::move(work)] { work(); });
  return true;
}

bool Runtime::sleep_cancellable(std::chrono::milliseconds d) {
  std::unique_lock<std::mutex> lock(mu_);
  return !cv_.wait_for(lock, d, [this] { return cancel_.is_set(); });
}

util::Result<void> Runtime::ensure_negotiated(bool warm_up) {
  std::lock_guard<std::mutex> one_at_a_time(negotiate_mu_);
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (negotiated_) return {};
  }
  auto v = warm_up ? client_.negotiate(std::chrono::seconds(2), &cancel_) : client_.negotiate();
  if (!v) return v.error();
  spdlog::info("Docker at {} speaks API {}; using {}", client_.endpoint().describe(), *v, *v);
  std::lock_guard<std::mutex> lock(mu_);
  negotiated_ = true;
  return {};
}

void Runtime::warm_up() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (warmed_up_ || negotiated_) return;
    warmed_up_ = true;
  }
  spawn([this] {
    if (auto n = ensure_negotiated(true); !n) spdlog::debug("Docker not reached yet: {}", n.error().message);
  });
}

// The log lines the Go executor wrote around a pull are kept word for word (operators grep them):
// "Pulling Docker image '%s'" and "Pulled." (container/container.go:94, :113), "Re-using existing
// image... already present" when the image is there (callbacks.go LaunchTask; later releases write it
// after a pull too, this executor does not). Its "Using image '%s'", written once per launch before
// the check, comes from the machine's launch.
util::Result<void> Runtime::do_pull(const std::string& image, bool force) {
  const ImageRef ref = parse_image_ref(image);
  const std::string refresh = refresh_reason(ref, force);
  if (!refresh.empty()) spdlog::info("image {}: pulled even if present: {}", image, refresh);
  std::string last_error;
  auto backoff = opts_.pull_backoff;
  for (int attempt = 1; attempt <= opts_.pull_attempts; ++attempt) {
    if (attempt > 1) {
      spdlog::warn("pull of {}: attempt {} of {} in {} ms", image, attempt, opts_.pull_attempts, backoff.count());
      if (!sleep_cancellable(backoff)) return util::make_error("cancelled");
      backoff *= 2;
    }
    if (auto n = ensure_negotiated(); !n) {
      last_error = n.error().message;
      continue;
    }
    if (refresh.empty()) {
      auto present = client_.image_present(image);
      if (!present) {
        last_error = present.error().message;
        if (present.error().kind != util::ErrorKind::Status || present.error().status >= 500) continue;
        return present.error();
      }
      if (*present) {
        spdlog::info("Re-using existing image... already present");
        return {};
      }
    }
    const PullAuth auth = resolve_pull_auth(opts_.env, opts_.docker_repository, ref.registry);
    for (const auto& note : auth.notes) spdlog::warn("registry credentials: {}", note);
    spdlog::info("Pulling Docker image '{}'", image);
    if (auth.header.empty()) {
      spdlog::warn("pulling {} without registry credentials ({})", image, auth.source);
    } else {
      spdlog::info("pulling {} with registry credentials from {}", image, auth.source);
    }
    auto pulled = client_.pull(ref, auth.header, [&](const std::string& s) { spdlog::info("pull {}: {}", image, s); });
    if (pulled) {
      spdlog::info("Pulled.");
      return {};
    }
    last_error = pulled.error().message;
    spdlog::warn("pull of {} failed: {}", image, last_error);
    if (permanent_pull_error(pulled.error())) break;
  }
  return util::make_error(last_error);
}

void Runtime::pull(const executor::act::PullImage& pull) {
  // The task is checked (image reference, site policy, every parameter) and its container plan built
  // once, before Docker is asked anything.
  auto spec = build_container_spec(pull.task, opts_.spec);
  if (!spec) {
    sink_(ev::StepFailed{LaunchStep::Pull, spec.error().message, true});
    return;
  }
  if (!pull.after_create) {  // else said at the launch's first pull already
    for (const auto& w : spec->warnings) spdlog::warn("task {}: {}", pull.task.task_id().value(), w);
  }
  if (!pull.after_create && opts_.image_check_by_create &&
      refresh_reason(parse_image_ref(pull.image), pull.force).empty() &&
      opts_.image_check_by_create(container_env(*spec))) {
    // Nothing asked of Docker yet: the create will say whether the image is there.
    ev::StepDone done{LaunchStep::Pull, "", ""};
    done.plan = std::make_shared<const Plan>(std::move(*spec), pull.task.task_id().value(), pull.image, true);
    sink_(std::move(done));
    return;
  }
  executor::PlanPtr plan = std::make_shared<const Plan>(std::move(*spec), pull.task.task_id().value(), pull.image);
  spawn([this, image = pull.image, force = pull.force, plan = std::move(plan)] {
    auto r = do_pull(image, force);
    if (r) {
      ev::StepDone done{LaunchStep::Pull, "", ""};
      done.plan = plan;
      sink_(std::move(done));
    } else {
      sink_(ev::StepFailed{LaunchStep::Pull, fmt::format("image {}: {}", image, r.error().message)});
    }
  });
}

void Runtime::create(const executor::act::CreateContainer& create) {
  const auto* plan = dynamic_cast<const Plan*>(create.plan.get());
  if (!plan) {
    sink_(ev::StepFailed{LaunchStep::Create, "no container plan: the launch did not start with a pull"});
    return;
  }
  spawn([this, secrets = create.secrets, extra = create.extra_env, spec = plan->spec, task_id = plan->task_id,
         image = plan->image, unchecked = plan->image_unchecked]() mutable {
    std::map<std::string, std::string> from_secrets;  // resolved entry → what the dump shows
    for (const auto& [ref, value] : secrets.replacements) from_secrets[value] = ref;
    for (const auto& kv : secrets.extra) {
      extra.push_back(kv);
      from_secrets[kv] = kv.substr(0, kv.find('=')) + "=[from Vault]";
    }
    spec = with_executor_env(std::move(spec), extra, secrets.replacements);
    // The environment the container gets (startup dump): values only for the site's allow-list,
    // Vault references instead of their values.
    std::string dump = fmt::format("Docker environment of container {}:\n", spec.name);
    for (const auto& s : container_env(spec)) {
      const std::string name = s.substr(0, s.find('='));
      if (auto it = from_secrets.find(s); it != from_secrets.end()) {
        dump += fmt::format("  {}\n", it->second);  // the reference, never the value
      } else if (settings::name_listed(name, opts_.spec.policy.env_dump_values)) {
        dump += fmt::format("  {}\n", s);
      } else {
        dump += fmt::format("  {}=[REDACTED]\n", name);
      }
    }
    // When the create is also the image's check, the dump waits for its answer: a create that goes
    // back to the pull comes again, and the task's output gets the dump once.
    if (!unchecked) write_fd(opts_.stdout_fd, util::scrub_secrets(dump));
    // The image's presence was left to this create: a 404 (Docker's "No such image: <ref>", moby
    // daemon/create.go; any 404, whatever its words, since the pull asks again before it pulls), no
    // answer, a 5xx or no API version (which the pull's check retries) send the launch back to the
    // pull instead of failing it.
    const auto unconfirmed = [&](const util::Error& error, bool no_version) {
      ev::StepFailed failed{LaunchStep::Create, error.message};
      failed.image_unconfirmed = unchecked && (no_version || error.not_found() || error.transient());
      if (failed.image_unconfirmed) {
        spdlog::info("image {}: not confirmed by the create ({}): asked again by the pull", image, error.message);
      } else if (unchecked) {
        write_fd(opts_.stdout_fd, util::scrub_secrets(dump));  // a failed create still shows what it was given
      }
      sink_(std::move(failed));
    };
    if (auto b = recheck_binds(spec, opts_.spec); !b) {
      if (unchecked) write_fd(opts_.stdout_fd, util::scrub_secrets(dump));  // as any failed create shows it
      sink_(ev::StepFailed{LaunchStep::Create, b.error().message});
      return;
    }
    if (auto n = ensure_negotiated(); !n) {
      unconfirmed(n.error(), true);
      return;
    }
    std::vector<std::string> warnings;
    const auto sent = std::chrono::system_clock::now();
    auto id = client_.create(spec.name, spec.body, &warnings);
    if (!id) id = after_failed_create(spec.name, util::json_string(spec.body, "Image"), id.error(), sent);
    if (!id) {
      unconfirmed(id.error(), false);
      return;
    }
    if (unchecked) {
      write_fd(opts_.stdout_fd, util::scrub_secrets(dump));
      spdlog::info("Re-using existing image... already present");
    }
    for (const auto& w : warnings) spdlog::warn("Docker: {}", w);
    {
      std::lock_guard<std::mutex> lock(mu_);
      created_id_ = *id;
      labels_ = spec.body.contains("Labels") ? spec.body["Labels"] : nlohmann::json::object();
      tty_ = util::json_bool(spec.body, "Tty", false);
    }
    spdlog::info("created container {} ({}) for task {}", id->substr(0, 12), spec.name, task_id);
    if (!opts_.container_id_file.empty()) write_container_id_file(*id, spec.name);
    for (const auto& net : spec.extra_networks) {
      if (auto c = client_.connect_network(net, *id); !c) {
        // The machine never learns this container's id: it goes here.
        if (auto r = client_.remove(*id); !r && !r.error().not_found()) {
          spdlog::warn("remove of container {}: {}", id->substr(0, 12), r.error().message);
        }
        sink_(ev::StepFailed{LaunchStep::Create, fmt::format("joining network {}: {}", net, c.error().message)});
        return;
      }
      spdlog::info("container {} joined network {}", id->substr(0, 12), net);
    }
    sink_(ev::StepDone{LaunchStep::Create, *id, ""});
  });
}

util::Result<std::string> Runtime::after_failed_create(const std::string& name, const std::string& image,
                                                       util::Error error, std::chrono::system_clock::time_point sent) {
  const bool unanswered = error.kind == util::ErrorKind::Unreachable;
  std::optional<std::chrono::system_clock::time_point> since;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (unanswered && !unanswered_create_) {
      unanswered_create_ = sent;
      unanswered_name_ = name;
      unanswered_image_ = image;
    }
    since = unanswered_create_;
  }
  if (!since || !(unanswered || error.is_status(409))) return error;
  // Short, and cut by a shutdown: the create may already have used the client's whole timeout.
  auto st = client_.inspect(name, kLookupTimeout, &cancel_);
  if (!st) {
    spdlog::info("create of container {}: {}; {}", name, error.message,
                 st.error().not_found() ? "Docker has no container of that name"
                                        : "the container of that name could not be looked up: " + st.error().message);
    return error;
  }
  const std::string why = not_this_launchs(*st, name, image, *since);
  if (!why.empty()) {
    error.message += "; a container of that name is there, not taken: " + why;
    spdlog::warn("create of container {}: {}", name, error.message);
    return error;
  }
  spdlog::warn(
      "create of container {}: {}; the container of that name is this launch's (made by a create that got no "
      "answer: this executor's labels, never started, made at {}): taken as the create's answer",
      name, error.message, st->created);
  return st->id;
}

// Docker's Created is taken by the daemon once it has our request: not before it was sent (whole
// seconds, one to spare for the two clocks; a remote daemon's clock can be further off, and its
// container is then not taken). Nothing of a container that is not this executor's is told.
std::string Runtime::not_this_launchs(const ContainerState& st, const std::string& name, const std::string& image,
                                      std::chrono::system_clock::time_point since) const {
  if (st.name != "/" + name || st.id.size() != 64 || st.id.find_first_not_of("0123456789abcdef") != std::string::npos) {
    return "not the container asked for";
  }
  for (const auto& [k, v] : opts_.spec.own_labels) {
    if (auto it = st.labels.find(k); it == st.labels.end() || it->second != v) {
      return fmt::format("its label {} is not this executor's", k);
    }
  }
  if (st.image != image) return fmt::format("it was created from another image ({})", st.image);
  if (st.status != "created") return fmt::format("it is {}, not newly created", st.status);
  const auto made = parse_log_time(st.created);
  const auto sent_s = std::chrono::duration_cast<std::chrono::seconds>(since.time_since_epoch()).count();
  if (!made || made->seconds < sent_s - 1) return fmt::format("made at {}, before this launch's create", st.created);
  return "";
}

void Runtime::remove_unanswered_create() {
  std::optional<std::chrono::system_clock::time_point> since;
  std::string name, image;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!created_id_.empty() || !unanswered_create_) return;
    since = unanswered_create_;
    name = unanswered_name_;
    image = unanswered_image_;
  }
  auto st = client_.inspect(name, kLookupTimeout);
  if (!st) {
    if (!st.error().not_found()) {
      spdlog::info("container {}, of a create that got no answer, could not be looked up: {}", name,
                   st.error().message);
    }
    return;
  }
  if (!not_this_launchs(*st, name, image, *since).empty()) return;
  spdlog::warn("container {} ({}) was made by a create of this launch that got no answer, and never used: removing it",
               st->id.substr(0, 12), name);
  if (auto r = client_.remove(st->id, kLookupTimeout); !r && !r.error().not_found()) {
    spdlog::warn("remove of container {}: {}", st->id.substr(0, 12), r.error().message);
  }
}

void Runtime::start(const std::string& id) {
  // The attach and the events stream are opened from here, beside each other (one round trip for
  // both), and the start waits for their answers, at most 2 s from now for both together.
  const bool pump = opts_.relay || opts_.sandbox_logs;
  const auto answers_by = std::chrono::steady_clock::now() + std::chrono::seconds(2);
  if (pump) attach_output(id);
  open_exit_events(id);
  spawn([this, id, pump, answers_by] {
    wait_for_exit_events(id, answers_by);
    if (pump) wait_for_attach(answers_by);
    const auto start_ended = [&](StartState st) {
      {
        std::lock_guard<std::mutex> lock(mu_);
        start_state_ = st;
      }
      cv_.notify_all();
    };
    if (cancel_) {  // the executor is stopping: no container is started now
      stop_log_pump();
      start_ended(StartState::Failed);
      return;
    }
    if (auto r = client_.start(id); !r) {
      stop_log_pump();  // no output will come
      start_ended(StartState::Failed);
      sink_(ev::StepFailed{LaunchStep::Start, r.error().message});
      return;
    }
    auto st = client_.inspect(id);
    if (!st) {
      start_ended(StartState::Done);  // it runs: its output is read until the task is stopped
      sink_(ev::StepFailed{LaunchStep::Start, st.error().message});
      return;
    }
    ev::StepDone done{LaunchStep::Start, id, st->ip_address};
    for (const auto& n : st->networks) {
      executor::ContainerNetwork cn{n.name, {}};
      if (!n.ipv4.empty()) cn.ip_addresses.push_back(n.ipv4);
      if (!n.ipv6.empty()) cn.ip_addresses.push_back(n.ipv6);
      done.networks.push_back(std::move(cn));
    }
    sink_(std::move(done));
    start_ended(StartState::Done);
    if (pump && opts_.relay && opts_.relay_for.count() > 0) {
      spawn([this] {
        if (sleep_cancellable(opts_.relay_for)) {
          spdlog::info("startup-only log relay: stopping after {} ms", opts_.relay_for.count());
          relay_stopped_ = true;
          if (!opts_.sandbox_logs) stop_log_pump();  // nobody else reads the stream
        }
      });
    }
  });
}

void Runtime::attach_output(const std::string& id) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    attach_state_ = AttachState::Opening;
  }
  relay_running_ = true;
  if (!spawn([this, id] { run_log_pump(id); })) relay_running_ = false;
}

void Runtime::wait_for_attach(std::chrono::steady_clock::time_point by) {
  std::unique_lock<std::mutex> lock(mu_);
  if (cv_.wait_until(lock, by, [&] { return attach_state_ != AttachState::Opening || stopping_; })) {
    return;
  }
  // Given up: a late answer is not taken (the output before it would be missing); the pump follows
  // Docker's log from the start instead.
  attach_state_ = AttachState::Abandoned;
  attach_cancel_.set();
  spdlog::warn(
      "Docker's attach did not answer within 2 s: the container starts, its output is read from Docker's "
      "log");
}

void Runtime::stop_log_pump() {
  relay_cancel_.set();
  attach_cancel_.set();
  { std::lock_guard<std::mutex> lock(mu_); }  // a waiter between its check and its sleep gets the wake-up
  cv_.notify_all();
}

AfterAttach after_attach(const AttachEnd& end) {
  using C = AttachEnd::Container;
  switch (end.container) {
    case C::Created: return AfterAttach::FromStart;
    case C::Stopped:
      // The daemon ends the stream once it has closed the container's streams at its exit.
      if (!end.gave_bytes) return AfterAttach::ReadLogOnce;  // wrote nothing, or the attach ended early
      return end.stream_error ? AfterAttach::CatchUpAtExit : AfterAttach::Whole;
    case C::Gone: return AfterAttach::Whole;  // removed: no log left to read either
    case C::Running:
    case C::NoAnswer: return AfterAttach::FollowAfterLastPiece;
  }
  return AfterAttach::FollowAfterLastPiece;
}

// One reader of the container's output, two sinks: the syslog relay and the sandbox files. The output
// comes through Docker's attach, opened before the start: the daemon hands over what it copies from
// the container, without the log driver's file in between. When the attach fails, or ends while the
// container runs (the daemon restarted with live-restore), Docker's log is followed instead.
void Runtime::run_log_pump(const std::string& id) {
  const auto attach_ended = [this](AttachState st) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (attach_state_ == AttachState::Opening) attach_state_ = st;
    }
    cv_.notify_all();
  };
  // The sinks are opened once the attach has answered (off the launch's path: the container starts
  // meanwhile, and its output is read only after this), or before Docker's log is read.
  std::unique_ptr<logs::Relay> relay;
  std::unique_ptr<logs::SandboxLog> files;
  bool sinks_open = false;
  const auto open_sinks = [&] {
    if (sinks_open) return;
    sinks_open = true;
    if (opts_.relay) {
      logs::RelayOptions ro = *opts_.relay;
      ro.container_id = id;
      {
        std::lock_guard<std::mutex> lock(mu_);
        for (const auto& name : opts_.relay_labels) {
          if (labels_.contains(name) && labels_[name].is_string()) ro.labels[name] = labels_[name].get<std::string>();
        }
      }
      if (auto r = logs::Relay::open(ro); r) {
        relay = std::move(*r);
        spdlog::info("relaying the container's output to {} (UDP)", ro.address);
      } else {
        spdlog::error("log relay off: {}", r.error().message);
      }
    }
    if (opts_.sandbox_logs) {
      if (auto f = logs::SandboxLog::open(*opts_.sandbox_logs); f) {
        files = std::move(*f);
        spdlog::info("writing the container's output to container.stdout and container.stderr in {}",
                     opts_.sandbox_logs->dir);
      } else {
        spdlog::error("sandbox logs off: {}", f.error().message);
      }
    }
  };
  bool tty = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    tty = tty_;
  }
  // The startup-only relay's end: what it was given goes out once, then it takes nothing more.
  bool relay_flushed = false;
  const auto relay_open = [&] {
    if (!relay || relay_flushed) return false;
    if (!relay_stopped_) return true;
    relay->flush();
    relay_flushed = true;
    return false;
  };
  // After a cut of the attached stream: the start of Docker's log that the attached stream gave.
  std::unique_ptr<CutOverlap> overlap;
  // While it holds messages, a quiet read wakes it (kOverlapTick).
  const auto overlap_holds = [&] { return overlap && overlap->holding(); };
  const auto give = [&](LogStream s, std::string_view piece) {
    const bool err = s == LogStream::Stderr;
    if (relay_open()) relay->feed(err, piece);
    if (files) files->feed(err, piece);
  };
  const auto on_idle = [&] {
    if (overlap) overlap->idle();
    if (relay_open()) relay->send_pending();
    if (files) files->write_pending();
  };

  // The attached stream. The wall-clock time of its last piece says where Docker's log takes over if
  // the stream is cut while the container runs.
  bool attached = false;
  std::uint64_t attached_bytes = 0;
  LogTime last_piece{};
  OutputTail tail;  // its last bytes, to find at the start of Docker's log after a cut
  const auto now = [] {
    timespec ts{};
    ::clock_gettime(CLOCK_REALTIME, &ts);
    return LogTime{ts.tv_sec, static_cast<std::uint32_t>(ts.tv_nsec)};
  };
  util::Result<void> a = util::make_error("EXECUTOR_ATTACH_OUTPUT=false");
  if (opts_.attach_output) {
    a = client_.attach(
        id, tty,
        [&](int status) {
          {
            std::lock_guard<std::mutex> lock(mu_);
            attached = status == 200 && attach_state_ == AttachState::Opening;
          }
          if (attached) last_piece = now();
          attach_ended(attached ? AttachState::Open : AttachState::Failed);
          if (attached) {
            spdlog::info("attached to the container's output");
            open_sinks();
          }
        },
        [&](LogStream s, std::string_view piece) {
          last_piece = now();
          attached_bytes += piece.size();
          if (attached) {
            give(s, piece);
            tail.add(s, piece);
          }
        },
        &attach_cancel_, on_idle);
  }
  attach_ended(AttachState::Failed);  // no answer at all
  if (!relay_cancel_) open_sinks();
  LogCursor cursor(tty);
  std::optional<util::Result<void>> followed;  // the first read of Docker's log, when there is one
  bool keep = true;
  StampedLogReader reader(
      tty,
      [&](LogStream s, std::optional<LogTime> t) {
        keep = !t || cursor.take(s, *t);
        if (keep && overlap) overlap->message(s, t);
      },
      [&](LogStream s, std::string_view piece) {
        if (!keep) return;
        if (overlap) {
          overlap->payload(s, piece);
        } else {
          give(s, piece);
        }
      });
  const auto take_over_after = [&](LogTime t) {
    cursor.start_after(t);
    overlap = std::make_unique<CutOverlap>(
        tail.take(LogStream::Stdout), tail.take(LogStream::Stderr), t, give,
        [&](LogStream s) {
          const bool err = s == LogStream::Stderr;
          if (relay_open()) relay->end_line(err);
          if (files) files->end_line(err);
        },
        now);
  };
  // Docker's log is followed from the start when the attach gave nothing: refused, not answered in
  // time, or ended before the start.
  bool from_start = !attached;
  std::string why;
  if (!attached) {
    std::lock_guard<std::mutex> lock(mu_);
    why = attach_state_ == AttachState::Abandoned ? "no answer within 2 s" : a ? "no answer" : a.error().message;
  } else if (!relay_cancel_) {
    // The daemon ends the attached stream once it has closed the container's streams at its exit. A
    // daemon that answers at once that the container still runs, or does not answer, cut it short.
    // Docker closes the streams a moment before it records the exit: a container still running is
    // looked at again for up to a second.
    auto st = client_.inspect(id);
    for (int i = 0; i < 10 && st && st->running && pause_log_pump(std::chrono::milliseconds(100)); ++i) {
      st = client_.inspect(id);
    }
    using C = AttachEnd::Container;
    const C seen = !st                       ? (st.error().not_found() ? C::Gone : C::NoAnswer)
                   : st->status == "created" ? C::Created
                   : st->running             ? C::Running
                                             : C::Stopped;
    const std::string cut = a ? "" : fmt::format(" ({})", a.error().message);
    switch (after_attach({seen, !a, attached_bytes > 0})) {
      case AfterAttach::Whole: break;
      case AfterAttach::FromStart:
        from_start = true;
        why = "it ended before the start" + cut;
        break;
      case AfterAttach::ReadLogOnce:
        from_start = true;
        spdlog::info("the container's attached output gave nothing{}: reading Docker's log once", cut);
        break;
      case AfterAttach::CatchUpAtExit:
        spdlog::warn("the container's attached output ended{} at the exit: reading Docker's log from {}", cut,
                     since_param(last_piece));
        take_over_after(last_piece);
        followed = util::Result<void>{};
        break;
      case AfterAttach::FollowAfterLastPiece: {
        spdlog::warn("the container's attached output ended{} while {}: following Docker's log from {}", cut,
                     seen == C::Running ? "the container runs" : "Docker does not answer", since_param(last_piece));
        take_over_after(last_piece);
        cursor.begin_read();
        LogsOptions lo;
        lo.follow = true;
        lo.since_time = cursor.since();
        lo.idle_every = kOverlapTick;
        lo.idle_every_while = overlap_holds;
        followed = client_.stamped_logs(id, lo, tty, reader, &relay_cancel_, on_idle);
        overlap->end();
        break;
      }
    }
  }
  if (from_start && !relay_cancel_) {
    if (opts_.attach_output && !why.empty()) {
      spdlog::warn("could not attach to the container's output ({}): following Docker's log instead", why);
    }
    // Docker's log has something to follow once the container runs.
    bool started = false;
    {
      std::unique_lock<std::mutex> lock(mu_);
      while (!cv_.wait_for(lock, std::chrono::seconds(1), [&] {
        return start_state_ != StartState::Pending || relay_cancel_.is_set() || cancel_.is_set();
      })) {
      }
      started = start_state_ == StartState::Done;
    }
    if (started && !relay_cancel_) {
      LogsOptions lo;
      lo.follow = true;
      followed = client_.stamped_logs(id, lo, tty, reader, &relay_cancel_, on_idle);
    }
  }
  if (followed) {
    follow_to_the_end(id, *followed, cursor, [&](const LogsOptions& again, const std::function<bool()>& keep_reading) {
      cursor.begin_read();
      LogsOptions o = again;
      if (overlap) {  // held lines are decided in a quiet read too
        o.idle_every = kOverlapTick;
        o.idle_every_while = overlap_holds;
      }
      auto r = client_.stamped_logs(id, o, tty, reader, &relay_cancel_, on_idle, keep_reading);
      if (overlap) overlap->end();
      return r;
    });
  }
  if (overlap && overlap->dropped() > 0) {
    spdlog::info("{} line(s) at the start of Docker's log were the attached stream's last ones: skipped",
                 overlap->dropped());
  }
  if (reader.unstamped() > 0) {
    spdlog::warn("container log stream: {} message(s) without Docker's time: a catch-up may repeat them",
                 reader.unstamped());
  }
  if (relay) {
    if (!relay_flushed) relay->flush();
    spdlog::info("log relay done: {} line(s) sent, {} dropped", relay->sent(), relay->dropped());
  }
  if (files) {
    files->flush();
    spdlog::info("sandbox logs done: {} line(s) written, {} dropped", files->written(), files->dropped());
  }
  relay_running_ = false;
}

bool Runtime::pause_log_pump(std::chrono::milliseconds d) {
  std::unique_lock<std::mutex> lock(mu_);
  return !cv_.wait_for(lock, d, [this] { return relay_cancel_.is_set() || cancel_.is_set(); });
}

// Docker's followed stream has ended (`r`). On Docker 20.10 it can end cleanly at the container's exit
// before it has given out the last messages the container wrote: once the container has exited, the
// log is read once more (not followed) from the last message handed out, and only what no read gave
// yet goes on. A stream that ends while the container still runs (the daemon restarted with
// live-restore, a rotation the daemon lost track of) is followed again the same way.
void Runtime::follow_to_the_end(const std::string& id, util::Result<void> r, const LogCursor& cursor,
                                const ReadAgain& read_again) {
  int follows = 1;
  // The container ran at the last look: Docker ends the stream at an exit a moment before it says the
  // container stopped, so it is looked at once more before the stream is followed again.
  bool look_again = false;
  while (!relay_cancel_) {
    if (!look_again && !r) {
      spdlog::warn("container log stream: {}", r.error().message);
      // Docker refuses the read (a log driver it cannot read, the container gone): no other read helps.
      if (r.error().kind == util::ErrorKind::Status) return;
    }
    // The container's state; while the daemon does not answer, asked again each second (bounded).
    std::optional<ContainerState> state;
    const auto asking_since = Clock::now();
    while (!relay_cancel_) {
      auto st = client_.inspect(id);
      if (st) {
        state = std::move(*st);
        break;
      }
      if (st.error().not_found()) {
        spdlog::info("container log stream ended: the container is gone, nothing more to read");
        return;
      }
      if (Clock::now() - asking_since > opts_.daemon_retry) {
        spdlog::warn(
            "container log stream ended and the container's state cannot be read ({}): what Docker had "
            "not yet given out is not read",
            st.error().message);
        return;
      }
      if (!pause_log_pump(std::chrono::seconds(1))) return;
    }
    if (!state) return;
    const auto since = cursor.since();
    const std::string from = since ? "from " + since_param(*since) : "from the start";
    if (state->running) {
      // Not in a tight loop: a stream that keeps ending is opened again at most once a second.
      if (!pause_log_pump(std::chrono::milliseconds(500))) return;
      if (!look_again) {
        look_again = true;
        continue;
      }
      look_again = false;
      if (follows == 1 || follows % 100 == 0) {
        spdlog::warn("container log stream ended while the container runs: following it again {} ({} time(s))", from,
                     follows);
      }
      LogsOptions again;
      again.follow = true;
      again.since_time = since;
      ++follows;
      r = read_again(again, nullptr);
      continue;
    }
    // The container has exited: the catch-up, bounded in time and in the daemon's silence.
    const auto taken_before = cursor.taken();
    const auto skipped_before = cursor.skipped();
    const auto deadline = Clock::now() + kCatchUpBudget;
    bool out_of_time = false;
    LogsOptions last;
    last.since_time = since;
    last.silence = std::min<std::chrono::milliseconds>(opts_.call_timeout, kCatchUpBudget);
    const auto started = Clock::now();
    auto c = read_again(last, [&] {
      if (Clock::now() < deadline) return true;
      out_of_time = true;
      return false;
    });
    const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - started).count();
    const auto caught = cursor.taken() - taken_before;
    if (relay_cancel_) {
      spdlog::warn("container log catch-up cut short: {} message(s) read in {} ms", caught, ms);
    } else if (!c) {
      spdlog::warn("container log catch-up failed after {} message(s) in {} ms: {}", caught, ms, c.error().message);
    } else if (out_of_time) {
      spdlog::warn("container log catch-up stopped after {} s: {} message(s) read, the rest is lost",
                   std::chrono::duration_cast<std::chrono::seconds>(kCatchUpBudget).count(), caught);
    } else if (caught > 0) {
      spdlog::info(
          "container log catch-up {}: {} message(s) the followed stream had not given ({} again, skipped), "
          "{} ms",
          from, caught, cursor.skipped() - skipped_before, ms);
    } else {
      spdlog::debug("container log catch-up {}: nothing missing ({} message(s) again, skipped), {} ms", from,
                    cursor.skipped() - skipped_before, ms);
    }
    return;
  }
}

std::string Runtime::stderr_tail(const std::string& id, bool tty) {
  if (tty || opts_.stderr_tail_lines <= 0) return "";
  LogsOptions lo;
  lo.stdout_stream = false;
  lo.tail = opts_.stderr_tail_lines;
  std::string text;
  auto r = client_.logs(id, lo, false, [&](LogStream, std::string_view piece) {
    if (text.size() < 64 * 1024) text.append(piece);
  });
  if (!r) {
    spdlog::warn("could not read the container's stderr: {}", r.error().message);
    return "";
  }
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
  std::string out;  // lines joined with " | ", kept short for a status message
  std::size_t start = 0;
  while (start <= text.size()) {
    auto nl = text.find('\n', start);
    std::string line = text.substr(start, nl == std::string::npos ? std::string::npos : nl - start);
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (!line.empty()) out += (out.empty() ? "" : " | ") + line;
    if (nl == std::string::npos) break;
    start = nl + 1;
  }
  out = util::scrub_secrets(out);  // before the cut, which could leave half a secret unrecognised
  if (out.size() > 1024) out = "…" + out.substr(out.size() - 1024);
  return out;
}

void Runtime::open_exit_events(const std::string& id) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (exits_[id].events != EventsState::Off) return;
    exits_[id].events = EventsState::Opening;
  }
  spawn([this, id] { run_exit_events(id); });
}

void Runtime::wait_for_exit_events(const std::string& id, std::chrono::steady_clock::time_point by) {
  std::unique_lock<std::mutex> lock(mu_);
  if (!cv_.wait_until(lock, by, [&] { return exits_[id].events != EventsState::Opening || stopping_; })) {
    spdlog::warn("Docker's event stream did not answer within 2 s: the container's exit is seen by /wait");
  }
}

void Runtime::run_exit_events(const std::string& id) {
  const auto opened = [&](EventsState st) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (exits_[id].events == EventsState::Opening) exits_[id].events = st;
    }
    cv_.notify_all();
  };
  bool oom = false;
  std::optional<int> code;
  auto r = client_.events(
      id, [&](int status) { opened(status == 200 ? EventsState::Open : EventsState::Failed); },
      [&](const ContainerEvent& e) {
        if (e.action == "oom") {
          oom = true;
          return true;
        }
        if (e.action != "die") return true;
        const auto it = e.attributes.find("exitCode");
        if (it != e.attributes.end() && !it->second.empty() && it->second.size() <= 4 &&
            it->second.find_first_not_of("0123456789") == std::string::npos) {
          code = std::stoi(it->second);
        } else {
          spdlog::warn("container {}: a die event without an exit code; waiting for /wait", id.substr(0, 12));
        }
        return false;
      },
      &cancel_);
  opened(EventsState::Failed);
  if (cancel_) return;
  if (!code) {
    if (!r) spdlog::warn("Docker's event stream: {}; the container's exit is seen by /wait", r.error().message);
    return;
  }
  spdlog::debug("container {} died with exit code {} (Docker's die event)", id.substr(0, 12), *code);
  ev::ContainerExited out;
  out.exit_code = code;
  out.oom_killed = oom;
  if (*code != 0) {
    // A failure: its state (OOM-killed, TTY) and the stderr tail for the message. Docker answers these
    // once its clean-up of the container ends; a clean exit needs none of it.
    if (auto st = client_.inspect(id); st) {
      out.oom_killed = oom || st->oom_killed;
      out.error = st->error;
      out.stderr_tail = stderr_tail(id, st->tty);
    }
  }
  report_exit(id, std::move(out));
}

void Runtime::report_exit(const std::string& id, ev::ContainerExited exit) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto& w = exits_[id];
    if (w.reported) return;
    if (!w.watching) {
      if (!w.early) w.early = std::move(exit);
      return;
    }
    w.reported = true;
  }
  sink_(std::move(exit));
}

void Runtime::do_watch(const std::string& id) {
  std::optional<Clock::time_point> failing_since;
  std::string last_error;
  auto lost = [&](const std::string& why) {
    if (!failing_since) failing_since = Clock::now();
    last_error = why;
    return Clock::now() - *failing_since > opts_.daemon_retry;
  };
  while (true) {
    auto code = client_.wait(id, &cancel_);
    if (cancel_) return;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (exits_[id].reported) return;  // the die event was first
    }
    if (code || code.error().not_found()) break;
    spdlog::warn("waiting for container {}: {}; retrying", id.substr(0, 12), code.error().message);
    if (lost(code.error().message)) {
      report_exit(
          id, ev::ContainerExited{
                  std::nullopt, false,
                  fmt::format("lost the Docker daemon for {} s: {}",
                              std::chrono::duration_cast<std::chrono::seconds>(opts_.daemon_retry).count(), last_error),
                  ""});
      return;
    }
    if (!sleep_cancellable(std::chrono::seconds(1))) return;
  }
  ev::ContainerExited out;
  while (true) {
    auto st = client_.inspect(id);
    if (st) {
      if (st->running) {  // restarted under us (a restart policy): keep watching
        spdlog::warn("container {} is running again", id.substr(0, 12));
        do_watch(id);
        return;
      }
      out.exit_code = st->exit_code;
      out.oom_killed = st->oom_killed;
      out.error = st->error;
      if (st->exit_code && *st->exit_code != 0) out.stderr_tail = stderr_tail(id, st->tty);
      break;
    }
    if (st.error().not_found()) {
      out.error = "the container no longer exists";
      break;
    }
    if (lost(st.error().message)) {
      out.error = fmt::format("cannot read the container's state: {}", last_error);
      break;
    }
    if (!sleep_cancellable(std::chrono::seconds(1))) return;
  }
  report_exit(id, std::move(out));
}

void Runtime::watch(const std::string& id) {
  std::optional<ev::ContainerExited> early;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto& w = exits_[id];
    w.watching = true;
    if (w.early && !w.reported) {
      w.reported = true;
      early.swap(w.early);
    }
  }
  if (early) {
    sink_(std::move(*early));
    return;
  }
  spawn([this, id] { do_watch(id); });
}

void Runtime::stop(const std::string& id, executor::Duration grace) {
  spawn([this, id, grace] {
    // The grace is an upper bound (a KILL's policy, the agent's shutdown grace): Docker's stop counts
    // whole seconds, so a fraction is dropped rather than added. Docker sends the image's own stop
    // signal (STOPSIGNAL), then SIGKILL.
    const auto ms = std::max<long long>(0, std::chrono::duration_cast<std::chrono::milliseconds>(grace).count());
    const int t = static_cast<int>(ms / 1000);
    spdlog::info("stopping container {}: stop signal, SIGKILL after {} ms", id.substr(0, 12), t * 1000LL);
    if (auto r = client_.stop(id, t); !r && !r.error().not_found()) {
      spdlog::warn("stop of container {}: {}", id.substr(0, 12), r.error().message);
    }
    // Confirm: a container still running after its stop gets SIGKILL, and is checked again.
    for (int round = 0; round < 3; ++round) {
      auto st = client_.inspect(id);
      if (!st) {
        if (!st.error().not_found()) spdlog::warn("inspect after stop: {}", st.error().message);
        return;
      }
      if (!st->running) return;
      spdlog::warn("container {} still running after stop: SIGKILL", id.substr(0, 12));
      if (auto k = client_.kill(id, "SIGKILL"); !k) spdlog::warn("kill: {}", k.error().message);
      if (!sleep_cancellable(std::chrono::milliseconds(500))) return;
    }
  });
}

// The log pump ends by itself once the container's stream ends: let it send and write the last
// lines. A burst can leave the daemon some seconds behind the container's exit: up to 30 s.
void Runtime::wait_for_log_pump() {
  for (int i = 0; i < 1500 && relay_running_; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  if (relay_running_) {
    spdlog::warn(
        "the container's log stream has not ended 30 s after the container: it is cut, what Docker had "
        "not yet sent is not relayed");
  }
}

void Runtime::remove(const std::string& id) {
  spawn([this, id] {
    // The container's output goes before the container: the failure-log copy and the log pump finish
    // first (each bounded: 30 s).
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait_for(lock, std::chrono::seconds(30), [this] { return copying_ == 0; });
    }
    wait_for_log_pump();
    if (auto r = client_.remove(id); !r && !r.error().not_found()) {
      spdlog::warn("remove of container {}: {}", id.substr(0, 12), r.error().message);
    } else {
      spdlog::info("removed container {}", id.substr(0, 12));
    }
  });
}

void Runtime::copy_failure_logs(const std::string& id) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_) return;
    ++copying_;  // before the thread exists: a remove asked for next must see it
  }
  spawn([this, id] {
    struct Done {
      Runtime* rt;
      ~Done() {
        {
          std::lock_guard<std::mutex> lock(rt->mu_);
          --rt->copying_;
        }
        rt->cv_.notify_all();
      }
    } done{this};
    auto st = client_.inspect(id);
    const bool tty = st && st->tty;
    LogsOptions lo;
    lo.since = static_cast<long long>(std::time(nullptr)) - opts_.logs_since.count();
    spdlog::info("container {} output of the last {} s follows (stdout and stderr)", id.substr(0, 12),
                 opts_.logs_since.count());
    auto r = client_.logs(id, lo, tty, [this](LogStream s, std::string_view piece) {
      write_fd(s == LogStream::Stderr ? opts_.stderr_fd : opts_.stdout_fd, piece);
    });
    if (!r) spdlog::warn("could not copy the container's logs: {}", r.error().message);
  });
}

void Runtime::shutdown(bool at_deadline) {
  std::list<std::thread> threads;
  std::string created;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_) return;
    stopping_ = true;
    created = created_id_;
  }
  if (at_deadline) {
    // The agent's grace is ending: the container (outside the executor's cgroup, so the agent will not
    // stop it) is killed first, and nothing is waited for.
    kill_if_running(created);
  } else {
    wait_for_log_pump();
  }
  stop_log_pump();
  cancel_.set();
  { std::lock_guard<std::mutex> lock(mu_); }
  cv_.notify_all();
  {
    std::lock_guard<std::mutex> lock(mu_);
    threads.swap(threads_);
  }
  for (auto& t : threads) t.join();
  kill_if_running(created);  // safety net: never leave a running container behind
}

void Runtime::kill_if_running(const std::string& id) {
  if (id.empty()) return;
  auto st = client_.inspect(id);
  if (st && st->running) {
    spdlog::error("container {} still running as the executor exits: killing it", id.substr(0, 12));
    if (auto k = client_.kill(id, "SIGKILL"); !k) spdlog::error("kill: {}", k.error().message);
  }
}

}  // namespace docker
