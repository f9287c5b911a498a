#!/bin/sh
# The wrapper the Mesos agent runs for each task (installed as /opt/mesos/executor.sh), compatible with
# the Go executor's: it copies the executor binary into the task's sandbox and runs that copy with a
# padding argument (room for the process title), and when the executor is gone it makes sure the
# task's container is not left running.
#
#   SIDECAR_EXECUTOR_PATH             the binary (default /opt/mesos/sidecar-executor)
#   SIDECAR_EXECUTOR_CUSTOM_ENV_PATH  a shell file sourced first if present
#                                     (default /opt/mesos/executor-environment.sh)
#
# The executor writes the id of the container it created to $MESOS_SANDBOX/sidecar-executor.container-id;
# that file, not a scan of every container, tells which container is ours.

SIDECAR_EXECUTOR_PATH=${SIDECAR_EXECUTOR_PATH:-/opt/mesos/sidecar-executor}
SIDECAR_EXECUTOR_CUSTOM_ENV_PATH=${SIDECAR_EXECUTOR_CUSTOM_ENV_PATH:-/opt/mesos/executor-environment.sh}

if [ -f "$SIDECAR_EXECUTOR_CUSTOM_ENV_PATH" ]; then
  # shellcheck disable=SC1090
  . "$SIDECAR_EXECUTOR_CUSTOM_ENV_PATH"
fi

sandbox=${MESOS_SANDBOX:-$(pwd)}
copy="$sandbox/sidecar-executor"
if ! cp "$SIDECAR_EXECUTOR_PATH" "$copy"; then
  echo "executor.sh: cannot copy $SIDECAR_EXECUTOR_PATH to $copy" >&2
  exit 1
fi
chmod 0755 "$copy"

padding="                                                                                                    "
"$copy" "$padding" &
child=$!

# Signals for the wrapper go to the executor, which stops its task cleanly.
trap 'kill -TERM "$child" 2>/dev/null' TERM INT HUP
while :; do
  wait "$child"
  status=$?
  kill -0 "$child" 2>/dev/null || break  # wait was only interrupted by a signal
done

# The executor is gone. If its container still runs (the executor was killed), stop it.
id_file="$sandbox/sidecar-executor.container-id"
if [ -s "$id_file" ]; then
  id=$(head -c 64 "$id_file" | tr -cd '0-9a-f')
  if [ -n "$id" ] && command -v docker >/dev/null 2>&1; then
    case "$(docker inspect --format '{{.State.Status}}' "$id" 2>/dev/null)" in
      running|restarting|paused)
        echo "executor.sh: the executor exited ($status) leaving container $id running: stopping it" >&2
        docker stop --time "${EXECUTOR_KILL_TASK_TIMEOUT:-5}" "$id" >/dev/null 2>&1 || docker kill "$id" >/dev/null 2>&1
        ;;
      created)
        # Killed between create and start: remove it, so that a start still in flight cannot run it.
        echo "executor.sh: the executor exited ($status) before starting container $id: removing it" >&2
        docker rm -f "$id" >/dev/null 2>&1
        ;;
    esac
  fi
fi
exit "$status"
