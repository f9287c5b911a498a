// The container runtime of the executor over the Docker Engine API (the Containers port): runs each
// step the state machine asks for on a thread of its own and reports the outcome as an event
// (StepDone, StepFailed, ContainerExited). An exit is seen in Docker's /events (the container's die
// event, on a stream opened before the start), with a blocking /wait beside it as the fallback; never
// by polling, and reported once.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <list>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "docker/client.h"
#include "docker/image_ref.h"
#include "docker/task_spec.h"
#include "executor/events.h"
#include "executor/ports.h"
#include "logs/relay.h"
#include "logs/sandbox_log.h"
#include "util/env.h"

namespace docker {

// The plan of a launch as this adapter builds it: the checked create request of the task.
struct Plan final : executor::ContainerPlan {
  Plan(ContainerSpec s, std::string task, std::string img = "", bool unchecked = false)
      : spec(std::move(s)), task_id(std::move(task)), image(std::move(img)), image_unchecked(unchecked) {}
  std::vector<std::string> env() const override { return container_env(spec); }
  ContainerSpec spec;
  std::string task_id;
  std::string image;             // the task's reference, as the pull had it
  bool image_unchecked = false;  // Docker was not asked for the image: the create's answer says it
};

struct RuntimeOptions {
  Endpoint endpoint;
  std::chrono::milliseconds call_timeout{30000};
  SpecOptions spec;
  std::string docker_repository = "https://index.docker.io/v1/";  // EXECUTOR_DOCKER_REPOSITORY
  std::chrono::seconds logs_since{180};                           // EXECUTOR_LOGS_SINCE
  int pull_attempts = 5;
  std::chrono::milliseconds pull_backoff{500};  // doubled after each failed attempt
  // How long an unreachable daemon is retried while a container runs before the task is failed.
  std::chrono::milliseconds daemon_retry{60000};
  int stderr_tail_lines = 5;
  util::EnvLookup env;  // DOCKER_CONFIG, HOME for registry credentials
  // The syslog relay (EXECUTOR_RELAY_SYSLOG): set to relay; `relay_labels` names the container labels
  // sent with each line (EXECUTOR_SEND_DOCKER_LABELS); `relay_for` > 0 stops it after that long.
  std::optional<logs::RelayOptions> relay;
  std::vector<std::string> relay_labels;
  std::chrono::milliseconds relay_for{0};
  // EXECUTOR_SANDBOX_LOGS: the output also goes to files in the sandbox. The relay and the files share
  // one reader of the container's output (Docker's attach).
  std::optional<logs::SandboxLogOptions> sandbox_logs;
  // EXECUTOR_ATTACH_OUTPUT: the output through Docker's attach (else Docker's log, followed).
  bool attach_output = true;
  // Where to write the created container's id and name (the sandbox), so the wrapper script can stop
  // it if the executor dies; empty: nowhere. Removed at start; created only by this executor.
  std::string container_id_file;
  int stdout_fd = 1;  // failure logs go here (container stdout)…
  int stderr_fd = 2;  // …and here (container stderr)
  // Says, for a container's environment, whether nothing that must wait for the image comes between
  // the pull and the create (main: Vault has nothing to read there). Then an image that is not pulled
  // at every launch is not asked for before the create: the create's "No such image" (any 404) says
  // it is missing, as Docker's CLI finds out, and the launch goes back to the pull (StepFailed
  // image_unconfirmed; also when the create had no answer, a 5xx or no API version, which the pull
  // retries). One round trip less on every launch of a present image; secrets are still never read
  // before the image is there. Unset: always asked first.
  std::function<bool(const std::vector<std::string>& env)> image_check_by_create;
};

// Why a launch pulls the image even when Docker has it (force_pull_image, or a reference a registry
// moves: see refreshed_on_launch); empty when an image Docker has is used as it is. Safe to log.
std::string refresh_reason(const ImageRef& ref, bool force_pull);

// What the log pump does once Docker's attached stream of the container's output has ended (it was
// answered; see Runtime::run_log_pump). The container as an inspect saw it then (a running one looked
// at again for up to a second), whether the stream ended with an error, and whether it gave anything.
struct AttachEnd {
  enum class Container { Created, Running, Stopped, Gone, NoAnswer };
  Container container;
  bool stream_error = false;
  bool gave_bytes = false;
};
enum class AfterAttach {
  Whole,                // the stream had everything: nothing more to read
  FromStart,            // it ended before the start: Docker's log is followed from the start
  ReadLogOnce,          // nothing came and the container has stopped: Docker's log is read once
  CatchUpAtExit,        // cut by an error at the exit: Docker's log read once after the last piece
  FollowAfterLastPiece  // cut while the container runs (or Docker is silent): followed from there
};
AfterAttach after_attach(const AttachEnd& end);

class Runtime final : public executor::port::Containers {
 public:
  using Sink = std::function<void(executor::Event)>;
  Runtime(RuntimeOptions opts, Sink sink);
  ~Runtime() override;

  // Builds and checks the task's plan (a task error fails the step at once, before Docker is asked),
  // then makes the image present; StepDone{Pull} carries the plan.
  void pull(const executor::act::PullImage& pull) override;
  // Creates the plan's container with the secrets and the executor's variables put in place.
  void create(const executor::act::CreateContainer& create) override;
  void start(const std::string& container_id) override;
  void watch(const std::string& container_id) override;
  void stop(const std::string& container_id, executor::Duration grace) override;
  void remove(const std::string& container_id) override;
  void copy_failure_logs(const std::string& container_id) override;
  void shutdown(bool at_deadline = false) override;  // NOLINT(google-default-arguments)
  void kill_if_running(const std::string& id);
  // After shutdown(), once everything else of the exit is done (Vault's revocations, the agent): a
  // container that a create of this launch which got no answer made, and the launch never got (the
  // daemon made it after the look, or the look failed), is removed when it passes the same checks as
  // one taken. Up to 5 s for the look and 5 s for the removal.
  void remove_unanswered_create();
  // Asks the daemon which API it speaks, off the launch's path (once the agent has answered the
  // SUBSCRIBE: a LAUNCH follows at once). A failure is left to the launch, which asks again; a daemon
  // that does not answer holds neither the launch nor the executor's exit more than 2 s.
  void warm_up();

  Client& client() { return client_; }

 private:
  bool spawn(std::function<void()> work);  // false: stopping, not run
  // Once per executor; a call while another runs waits for it. The warm-up's is short (2 s per
  // request) and cut by shutdown; a launch's has the client's timeout.
  util::Result<void> ensure_negotiated(bool warm_up = false);
  util::Result<void> do_pull(const std::string& image, bool force);
  void do_watch(const std::string& id);
  // The die-event watcher: opened before the start, reports the exit as soon as Docker announces it,
  // without waiting for the daemon's clean-up. The start waits for its answer until `by`.
  void open_exit_events(const std::string& id);
  void wait_for_exit_events(const std::string& id, std::chrono::steady_clock::time_point by);
  void run_exit_events(const std::string& id);
  // The one ContainerExited: the first of the event and /wait paths goes to the machine, once it
  // asked to watch (an earlier exit is held until then); any later one is dropped.
  void report_exit(const std::string& id, executor::ev::ContainerExited exit);
  bool sleep_cancellable(std::chrono::milliseconds d);
  std::string stderr_tail(const std::string& id, bool tty);

  RuntimeOptions opts_;
  Sink sink_;
  Client client_;
  util::CancelFlag cancel_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::list<std::thread> threads_;
  bool negotiated_ = false;
  bool warmed_up_ = false;
  std::mutex negotiate_mu_;  // one negotiation at a time: a launch waits for the warm-up's
  std::string created_id_;   // the container this executor created, for the exit safety net
  // A create of this launch that got no answer (sent then, by this host's clock): the daemon may have
  // made the container all the same. Guarded by mu_.
  std::optional<std::chrono::system_clock::time_point> unanswered_create_;
  std::string unanswered_name_, unanswered_image_;  // its container's name and image, guarded by mu_
  // Why `st` is not the container of this launch's create that got no answer (its labels first, then
  // the image, never started, made after `since`); empty when it is.
  std::string not_this_launchs(const ContainerState& st, const std::string& name, const std::string& image,
                               std::chrono::system_clock::time_point since) const;

  // After a create failed with no answer, or with 409 (the name taken) after one that got none: the id
  // of the container of that name Docker made for it (this executor's labels, the image asked for,
  // never started, made after that create was sent); else the create's error, with why a container of
  // that name was not taken said after it.
  util::Result<std::string> after_failed_create(const std::string& name, const std::string& image, util::Error error,
                                                std::chrono::system_clock::time_point sent);
  bool stopping_ = false;
  // The log pump's thread, attaching to the container's output (before the start).
  void attach_output(const std::string& id);
  // Until the attach answered; at `by` it is given up (a later answer is not taken).
  void wait_for_attach(std::chrono::steady_clock::time_point by);
  // The log pump stops reading (its attach too) and whoever waits on it wakes.
  void stop_log_pump();
  void run_log_pump(const std::string& id);
  enum class AttachState { Off, Opening, Open, Failed, Abandoned };
  util::CancelFlag attach_cancel_;               // ends the attach: given up on, or the pump stopped
  AttachState attach_state_ = AttachState::Off;  // guarded by mu_
  enum class StartState { Pending, Done, Failed };
  StartState start_state_ = StartState::Pending;  // guarded by mu_; the log pump's fallback waits for it
  bool tty_ = false;                              // the created container's, guarded by mu_
  // Another read of the container's log from the cursor, handed out as the first one.
  using ReadAgain = std::function<util::Result<void>(const LogsOptions&, const std::function<bool()>& keep_reading)>;
  void follow_to_the_end(const std::string& id, util::Result<void> r, const LogCursor& cursor,
                         const ReadAgain& read_again);
  // The longest read of what the followed stream left out, once the container has exited.
  static constexpr std::chrono::seconds kCatchUpBudget{20};
  // The look for what a create that got no answer made.
  static constexpr std::chrono::seconds kLookupTimeout{5};
  // While a read after a cut holds lines (CutOverlap), a quiet stream looks at them this often.
  static constexpr std::chrono::milliseconds kOverlapTick{250};
  bool pause_log_pump(std::chrono::milliseconds d);  // false: the pump is cancelled
  void wait_for_log_pump();
  std::atomic<bool> relay_stopped_{false};  // the startup-only relay's time is over (the files go on)
  util::CancelFlag relay_cancel_;
  std::atomic<bool> relay_running_{false};
  int copying_ = 0;  // failure-log copies in flight (guarded by mu_): a remove waits for them
  // Per container, guarded by mu_: the events stream's state, whether the machine asked to watch,
  // the exit seen before it did, and whether the exit went out.
  enum class EventsState { Off, Opening, Open, Failed };
  struct ExitWatch {
    EventsState events = EventsState::Off;
    bool watching = false;
    std::optional<executor::ev::ContainerExited> early;
    bool reported = false;
  };
  std::map<std::string, ExitWatch> exits_;
  nlohmann::json labels_;  // the created container's labels
  void write_container_id_file(const std::string& id, const std::string& name);
};

}  // namespace docker
