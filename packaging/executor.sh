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
# Whoever deploys a task can set those two variables and can put files in the sandbox (fetched URIs
# land there before we run); this script runs as root. So a file named by a variable is used only
# when root owns it and neither group nor others may write it, nothing in the sandbox is written
# through (the copy is made under a fresh name and renamed into place), and the container the
# executor left behind is stopped only when Docker confirms it is this executor's.
#
# The executor writes "<64-hex container id>\n<container name>\n" to
# $MESOS_SANDBOX/sidecar-executor.container-id and labels its container with its executor and
# framework ids; that file, checked against those labels, tells which container is ours.
# Needs GNU coreutils (stat -c, mv -T, dd iflag=nofollow).

umask 022
# Every command here runs as root: never one found through a PATH the task chose (the operator's
# environment file, sourced below, may set another).
PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export PATH

default_path=/opt/mesos/sidecar-executor
default_env_path=/opt/mesos/executor-environment.sh

# Text from the environment or the sandbox, printable for one log line.
shown() {
  printf '%s' "$1" | head -c 300 | tr -c '[:print:]' '?'
}

# Why the file `$1` may not be used (nothing printed when it may): it, or the file a symlink leads
# to, must be a regular file owned by root and writable by neither group nor others. Called with
# /dev/fd/N for a file already open, so that what is judged is what is then read: a name swapped for
# another file after the check brings nothing in.
untrusted_because() {
  if ! info=$(stat -L -c '%u %a %F' -- "$1" 2>/dev/null); then
    echo "cannot be read"
    return
  fi
  owner=${info%% *}
  rest=${info#* }
  mode=${rest%% *}
  kind=${rest#* }
  if [ "$kind" != "regular file" ]; then
    echo "is a $kind, not a regular file"
  elif [ "$owner" != 0 ]; then
    echo "is owned by uid $owner, not root"
  elif [ $((0$mode & 022)) -ne 0 ]; then
    echo "is writable by group or others (mode $mode)"
  fi
}

# The operator's environment file, sourced only when trustworthy (absent: nothing to do). A FIFO or
# a directory is refused before it is opened.
env_path=${SIDECAR_EXECUTOR_CUSTOM_ENV_PATH:-$default_env_path}
if [ -e "$env_path" ] || [ -L "$env_path" ]; then
  if [ ! -f "$env_path" ]; then
    why="is not a regular file"
  elif ! { command exec 3<"$env_path"; } 2>/dev/null; then
    why="cannot be read"
  else
    why=$(untrusted_because /dev/fd/3)
  fi
  if [ -n "$why" ]; then
    echo "executor.sh: environment file $(shown "$env_path") $why: not sourced" >&2
  else
    # shellcheck disable=SC1091
    . /dev/fd/3
  fi
  exec 3<&-
fi

# The binary: a path from the environment only when trustworthy (the file checked is the file
# copied), else the installed one as it is.
executor_path=${SIDECAR_EXECUTOR_PATH:-$default_path}
copy_from=$executor_path
if [ "$executor_path" != "$default_path" ]; then
  if [ ! -f "$executor_path" ]; then
    why="is not a regular file"
  elif ! { command exec 4<"$executor_path"; } 2>/dev/null; then
    why="cannot be read"
  else
    why=$(untrusted_because /dev/fd/4)
  fi
  if [ -n "$why" ]; then
    echo "executor.sh: SIDECAR_EXECUTOR_PATH $(shown "$executor_path") $why: using $default_path" >&2
    exec 4<&-
    executor_path=$default_path
    copy_from=$default_path
  else
    copy_from=/dev/fd/4
  fi
fi

sandbox=${MESOS_SANDBOX:-$(pwd)}
copy="$sandbox/sidecar-executor"
id_file="$sandbox/sidecar-executor.container-id"

# A file left there (or planted) must never be taken for the executor's: it is gone before it starts.
if ! rm -rf -- "$id_file"; then
  echo "executor.sh: cannot remove $(shown "$id_file")" >&2
  exit 1
fi

# The copy goes to a fresh name (mktemp creates it, so nothing can be planted there) and is renamed
# over whatever is at $copy: rename replaces a planted symlink instead of writing through it, and -T
# refuses a planted directory instead of moving the copy into it.
if ! tmp=$(mktemp "$sandbox/.sidecar-executor.XXXXXXXX"); then
  echo "executor.sh: cannot create a temporary file in $(shown "$sandbox")" >&2
  exit 1
fi
if ! cp -- "$copy_from" "$tmp" || ! chmod 0755 "$tmp" || ! mv -f -T -- "$tmp" "$copy"; then
  rm -f -- "$tmp"
  echo "executor.sh: cannot copy $(shown "$executor_path") to $(shown "$copy")" >&2
  exit 1
fi
exec 4<&-  # the executor inherits no descriptor of ours

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

# Reads the id file into $id and $name, or sets $why to the reason it is not to be acted on.
read_id_file() {
  if [ -L "$id_file" ]; then
    why="is a symlink"
    return
  fi
  [ -e "$id_file" ] || return 0  # no container was created
  if [ ! -f "$id_file" ]; then
    why="is not a regular file"
    return
  fi
  # nofollow: a symlink swapped in after the test above is not read; nonblock: nor does a FIFO hang us.
  if ! text=$(dd if="$id_file" iflag=nofollow,nonblock bs=256 count=1 status=none 2>/dev/null); then
    why="cannot be read"
    return
  fi
  first=$(printf '%s\n' "$text" | sed -n 1p)
  second=$(printf '%s\n' "$text" | sed -n 2p)
  if ! printf '%s\n' "$first" | grep -Eqx '[0-9a-f]{64}'; then
    why="does not start with a full 64-hex container id"
  elif ! printf '%s\n' "$second" | grep -Eqx 'mesos-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}'; then
    why="does not name a mesos-<uuid> container on its second line"
  else
    id=$first
    name=$second
  fi
}

# Sets $state to the state of container $id when Docker confirms it is this executor's (its id, its
# name and our two labels, in one inspect call), else $why. Our ids hold no newline, so a label value
# with one cannot line up with them.
check_container() {
  nl='
'
  if [ -z "$MESOS_EXECUTOR_ID" ] || [ -z "$MESOS_FRAMEWORK_ID" ]; then
    why="cannot be checked: MESOS_EXECUTOR_ID or MESOS_FRAMEWORK_ID is not set"
    return
  fi
  case "$MESOS_EXECUTOR_ID$MESOS_FRAMEWORK_ID" in
    *"$nl"*)
      why="cannot be checked: the executor or framework id holds a newline"
      return
      ;;
  esac
  if ! out=$(docker container inspect --format '{{.State.Status}}
{{.Id}}
{{.Name}}
{{index .Config.Labels "sidecar-executor.executor-id"}}
{{index .Config.Labels "sidecar-executor.framework-id"}}' "$id" 2>/dev/null); then
    why="names no container Docker knows"
    return
  fi
  expected="$id$nl/$name$nl$MESOS_EXECUTOR_ID$nl$MESOS_FRAMEWORK_ID"
  if [ "${out#*"$nl"}" != "$expected" ]; then
    why="names a container that is not this executor's (its name or sidecar-executor labels differ)"
    return
  fi
  state=${out%%"$nl"*}
}

# The executor is gone. If its container still runs (the executor was killed), stop it.
why=
id=
name=
state=
read_id_file
if [ -z "$why" ] && [ -n "$id" ] && command -v docker >/dev/null 2>&1; then
  check_container
fi
if [ -n "$why" ]; then
  echo "executor.sh: $(shown "$id_file") $why: not acted on, no container touched" >&2
  exit "$status"
fi
# The stop timeout comes from the task's environment: a number of seconds, else the default.
grace=${EXECUTOR_KILL_TASK_TIMEOUT:-5}
case "$grace" in
  '' | *[!0-9]* | ?????*) grace=5 ;;
esac
case "$state" in
  running|restarting|paused)
    echo "executor.sh: the executor exited ($status) leaving container $id running: stopping it" >&2
    docker stop --time "$grace" "$id" >/dev/null 2>&1 || docker kill "$id" >/dev/null 2>&1
    ;;
  created)
    # Killed between create and start: remove it, so that a start still in flight cannot run it.
    echo "executor.sh: the executor exited ($status) before starting container $id: removing it" >&2
    docker rm -f "$id" >/dev/null 2>&1
    ;;
esac
exit "$status"
