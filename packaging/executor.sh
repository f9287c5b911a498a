#!/bin/bash -p
# The wrapper the Mesos agent runs for each task (installed as /opt/mesos/executor.sh), a drop-in for
# the Go executor's: it sources the operator's environment file with bash, copies the executor binary
# into the task's sandbox under the binary's own name and runs that copy with a padding argument (room
# for the process title), printing the Go wrapper's "--> ..." progress lines on stdout; when the
# executor is gone it makes sure the task's container is not left running.
#
#   SIDECAR_EXECUTOR_PATH             the binary (default <folder>/sidecar-executor); the copy in the
#                                     sandbox is named after it (its basename), as the Go wrapper does
#   SIDECAR_EXECUTOR_CUSTOM_ENV_PATH  a bash file sourced first (default <folder>/executor-environment.sh),
#                                     with errexit on, as under the Go wrapper's `bash -e`: a command of
#                                     the file that fails stops the launch
#
# <folder> is the folder this script is installed in, symlinks resolved: /opt/mesos in production.
# Run it by its path (as the agent does), so that the kernel starts it as `bash -p`; `sh executor.sh`
# works too (it starts again under `bash -p`), `bash executor.sh` without -p is not supported (a
# non-privileged bash imports functions from the environment before reading a line of this file).
#
# Trust: this script runs as root, and whoever deploys a task chooses part of its environment (the
# agent merges the task's variables last, over its own and over MESOS_*) and can put files in the
# sandbox (fetched URIs land there before we run). Hence:
# - It runs in two stages. The first (any POSIX shell) drops from the environment what steers bash or
#   the libraries: bash's own variables (BASH_ENV, BASH_FUNC_*%% exported functions, BASHOPTS,
#   BASH_COMPAT, ... everything named BASH*), ENV, SHELLOPTS, CDPATH, GLOBIGNORE, PS4, EXECIGNORE,
#   POSIXLY_CORRECT, FUNCNEST, the variables of the dynamic loader, libc and OpenSSL (LD_*,
#   GLIBC_TUNABLES, MALLOC_*, GCONV_PATH, OPENSSL_*, ...), the locale (LANG, LANGUAGE, LC_*: message
#   catalogs are format strings), those that steer tools the operator's file may run (CURL_HOME, WGETRC,
#   PYTHON*, PERL5OPT, PERL5LIB, PERLLIB, RUBYOPT, RUBYLIB, NODE_OPTIONS, NODE_PATH, GIT_*, the proxy
#   variables in both cases, GNUPGHOME, SSLKEYLOGFILE, TMPDIR) and every name that is not a shell
#   identifier, reading env's output under LC_ALL=C with anchored patterns, then starts this file
#   again as `/bin/bash -p` under LC_ALL=C through `env -u`: neither the second stage nor anything it
#   runs (the operator's file and the commands it calls, the executor, docker) sees those values.
#   `-p` (privileged mode) makes bash ignore BASH_ENV, ENV, SHELLOPTS, BASHOPTS, CDPATH, GLOBIGNORE
#   and exported functions in any case. The operator's file, sourced in the second stage, may set any
#   of them again on purpose. LD_* and
#   GLIBC_TUNABLES already reached the first shell, which no script can prevent: only the agent can.
# - The operator's file runs as root with the task's remaining variables around it and HOME=/root;
#   it cannot assign this script's variables (they are readonly: the launch stops), and the options,
#   aliases, functions and hashed commands it leaves are reset. LC_ALL=C is the script's own.
# - The first stage can run under a bash that imported functions (bash as sh): its first two lines
#   turn off the options and remove any function named like a command used here (`set` and `unset`
#   are special builtins, which in POSIX mode no function can replace).
# - A file named by a variable is used only when its resolved path lies directly in <folder> (which
#   must be root's and writable by no one else), and the file itself is a regular file owned by root
#   and writable by neither group nor others, and never this script itself; the binary must also be an
#   ELF file readable and executable by all. Otherwise one line says why and the default is used: a
#   task naming a refused or missing env file never makes us skip the operator's default one.
# - MESOS_* cannot be trusted either: the sandbox is the directory the agent starts us in, and the
#   wrapper refuses to run from its working folder (a copy of it in a sandbox); the container left
#   behind is stopped only when Docker confirms it is this executor's, by the random nonce generated
#   here (SIDECAR_EXECUTOR_WRAPPER_NONCE, which the executor puts on its container as the label
#   sidecar-executor.wrapper-nonce), its full id and its name, and its executor and
#   framework id labels. The docker commands run under `env -i` with only PATH and the Docker endpoint
#   variables the executor itself reads, so that no task-chosen client config, context or plugin is
#   involved.
# - Nothing in the sandbox is written through (the copy is made under a fresh name and renamed into
#   place), the copy's name is a plain file name that is none of the sandbox's own files, and the
#   container-id file is removed before the executor starts.
#
# The executor writes "<64-hex container id>\n<container name>\n" to $SIDECAR_EXECUTOR_ID_FILE, which
# this script sets to <sandbox>/sidecar-executor.container-id.
# Needs bash and GNU coreutils (env -u, stat -c, mv -T, od, readlink -f).

set +aCefnuvx
unset -f [ cat cd chmod command cp dd docker echo env exec grep head kill mktemp mv od printf pwd readlink rm \
  sed shift source stat test tr trap umask wait

# ---- First stage: POSIX sh, whatever shell started it. ----
# The second stage is told apart by this argument, which only the first stage passes (the agent passes
# none, and the task chooses no argument).
stage2=--sidecar-executor-wrapper-stage2
if [ "${1-}" != "$stage2" ]; then
  IFS=' 	
'
  PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
  export PATH
  # The tools of this stage work on bytes (an invalid UTF-8 byte must not end a `.` match) and print
  # no translated message.
  LC_ALL=C
  export LC_ALL
  if ! self=$(readlink -f -- "$0") || [ -z "$self" ]; then
    printf '%s\n' "executor.sh: cannot resolve its own path $(printf '%s' "$0" | head -c 300 | tr -c '[:print:]' '?')" >&2
    exit 1
  fi
  # Each variable starts a line of env's output; a line of a multi-line value that looks like one
  # only names a variable to drop that is not there, or is one of these anyway. Dropped: every name
  # that is not a shell identifier (whatever its bytes; never with `=`, which env -u refuses), and
  # those of the list, the whole line anchored.
  names=$(env | sed -nE \
    -e '/^[A-Za-z_][A-Za-z0-9_]*=/!s/^([^=]+)=.*$/\1/p' \
    -e 's/^(BASH[A-Za-z0-9_]*|ENV|SHELLOPTS|CDPATH|GLOBIGNORE|PS4|EXECIGNORE|POSIXLY_CORRECT|FUNCNEST)=.*$/\1/p' \
    -e 's/^((LD|MALLOC|OPENSSL)_[A-Za-z0-9_]*|SSL_CERT_FILE|SSL_CERT_DIR|GCONV_PATH|GLIBC_TUNABLES|RES_OPTIONS)=.*$/\1/p' \
    -e 's/^(LOCALDOMAIN|HOSTALIASES|NLSPATH|LOCPATH|TMPDIR|LANG|LANGUAGE|LC_[A-Za-z0-9_]*)=.*$/\1/p' \
    -e 's/^(CURL_HOME|WGETRC|PYTHON[A-Za-z0-9_]*|PERL5OPT|PERL5LIB|PERLLIB|RUBYOPT|RUBYLIB|NODE_OPTIONS|NODE_PATH)=.*$/\1/p' \
    -e 's/^(GIT_[A-Za-z0-9_]*|GNUPGHOME|SSLKEYLOGFILE|TZ|TZDIR|ZONEINFO)=.*$/\1/p' \
    -e 's/^((http|https|ftp|all|no)_proxy|(HTTP|HTTPS|FTP|ALL|NO)_PROXY)=.*$/\1/p')
  set -f
  IFS='
'
  set --
  for name in $names; do
    set -- "$@" -u "$name"
  done
  exec env "$@" LC_ALL=C /bin/bash -p -- "$self" "$stage2"
fi
shift

# ---- Second stage: bash -p, the environment cleaned, LC_ALL=C (bytes, untranslated messages). ----
LC_ALL=C
export LC_ALL
# Go: executor.sh:7, the first line of every launch.
printf '%s\n' "--> Executor wrapper starting up..."

umask 022
# Every command here runs as root: never one found through a PATH the task chose (the operator's
# environment file, sourced below, may set another).
PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export PATH

# Text from the environment or the sandbox, printable for one log line.
shown() {
  printf '%s' "$1" | head -c 300 | tr -c '[:print:]' '?'
}

# Why `$1` may not be used as a `$2` ("regular file" or "directory"; nothing printed when it may): it,
# or what a symlink leads to, must be owned by root and writable by neither group nor others. Called
# with /dev/fd/N for a file already open, so that what is judged is what is then read.
untrusted_because() {
  local info owner rest mode kind
  if ! info=$(stat -L -c '%u %a %F' -- "$1" 2>/dev/null); then
    printf '%s\n' "cannot be read"
    return
  fi
  owner=${info%% *}
  rest=${info#* }
  mode=${rest%% *}
  kind=${rest#* }
  if [ "$kind" != "$2" ]; then
    printf '%s\n' "is a $kind, not a $2"
  elif [ "$owner" != 0 ]; then
    printf '%s\n' "is owned by uid $owner, not root"
  elif [ $((0$mode & 022)) -ne 0 ]; then
    printf '%s\n' "is writable by group or others (mode $mode)"
  fi
}

# Our own folder: where the defaults are and the only place a variable may point to.
if ! self=$(readlink -f -- "$0") || [ -z "$self" ]; then
  printf '%s\n' "executor.sh: cannot resolve its own path $(shown "$0")" >&2
  exit 1
fi
install_dir=${self%/*}
why=$(untrusted_because "${install_dir:-/}" directory)
if [ -n "$why" ]; then
  printf '%s\n' "executor.sh: its folder $(shown "${install_dir:-/}") $why: not running anything from it" >&2
  exit 1
fi
default_path=$install_dir/sidecar-executor
default_env_path=$install_dir/executor-environment.sh
# This very file, which no variable may name (as the binary or as the environment file).
if ! self_id=$(stat -L -c '%d:%i' -- "$self") || [ -z "$self_id" ]; then
  printf '%s\n' "executor.sh: cannot stat its own file $(shown "$self")" >&2
  exit 1
fi

# The agent starts us in the sandbox; MESOS_SANDBOX is the task's to change. Taken before the
# operator's file runs, which may change the current directory.
if ! sandbox=$(pwd -P) || [ -z "$sandbox" ]; then
  printf '%s\n' "executor.sh: cannot tell the current directory (the sandbox)" >&2
  exit 1
fi
# A copy of this file run in a sandbox (its folder then being the sandbox, where the task's fetched
# files are) must run nothing: the wrapper always starts in the sandbox, so its folder is never the
# current one. (No variable can tell a copy from the original: the task sets them all.)
if [ "$(stat -c '%d:%i' -- "$install_dir" 2>/dev/null)" = "$(stat -c '%d:%i' -- "$sandbox" 2>/dev/null)" ]; then
  printf '%s\n' "executor.sh: its folder $(shown "$install_dir") is the working folder (the sandbox): not running anything from it" >&2
  exit 1
fi
# How the progress lines name it: as the Go wrapper does, by MESOS_SANDBOX, when that is this folder.
sandbox_shown=$sandbox
if [[ -n ${MESOS_SANDBOX-} && $MESOS_SANDBOX -ef $sandbox ]]; then
  sandbox_shown=$MESOS_SANDBOX
fi

# open_on opens `$2` for reading on descriptor $1 (3 or 4), close_fd closes it. `command`: a file
# that cannot be opened is a failed status, not the end of the script.
open_on() {
  case $1 in
    3) { command exec 3<"$2"; } 2>/dev/null ;;
    *) { command exec 4<"$2"; } 2>/dev/null ;;
  esac
}
close_fd() {
  case $1 in
    3) exec 3<&- ;;
    *) exec 4<&- ;;
  esac
}

# Opens the file `$2` on descriptor $1 (3 or 4) when it may be used, else sets $why; $resolved is
# its resolved name. The name is resolved first and the resolved name is what is opened: only root
# can change what it leads to.
open_trusted() {
  why=
  if ! resolved=$(readlink -f -- "$2") || [ -z "$resolved" ]; then
    why="cannot be resolved"
  elif [ "${resolved%/*}" != "$install_dir" ]; then
    [ "$resolved" = "$2" ] && why="lies" || why="resolves to $(shown "$resolved"),"
    why="$why outside the wrapper's folder $(shown "${install_dir:-/}")"
  elif [ ! -e "$resolved" ]; then
    why="does not exist"
  elif [ ! -f "$resolved" ]; then
    why="is not a regular file"  # a FIFO or a directory is refused before it is opened
  elif ! open_on "$1" "$resolved"; then
    why="cannot be read"
  else
    why=$(untrusted_because "/dev/fd/$1" "regular file")
    if [ -z "$why" ] && [ "$(stat -L -c '%d:%i' "/dev/fd/$1" 2>/dev/null)" = "$self_id" ]; then
      why="is the wrapper itself"
    fi
    [ -z "$why" ] || close_fd "$1"
  fi
}

# Sets $why when the binary open on descriptor 4 is not one to copy and run: only an ELF file (what
# the descriptor reads, not its name), readable and executable by all (the copy is 0755: a file of
# root's alone would become readable to the task, and bash would run a text file as a script).
check_executable() {
  local magic mode
  magic=$(od -An -N4 -tx1 /dev/fd/4 2>/dev/null | tr -d ' \n')
  mode=$(stat -L -c '%a' /dev/fd/4 2>/dev/null)
  if [ "$magic" != 7f454c46 ]; then
    why="is not an ELF executable"
  elif [ -z "$mode" ] || [ $((0$mode & 0555)) -ne $((0555)) ]; then
    why="is not readable and executable by all (mode ${mode:-unknown})"
  fi
  [ -z "$why" ] || close_fd 4
}

# The operator's environment file. A custom one refused or missing leaves the default in force; the
# default is optional (absent: nothing to source). Go: executor.sh:13-15, an empty variable is unset.
env_open=
env_resolved=
custom_env=${SIDECAR_EXECUTOR_CUSTOM_ENV_PATH-}
env_configured=${custom_env:-$default_env_path}
if [ -n "$custom_env" ] && [ "$custom_env" != "$default_env_path" ]; then
  open_trusted 3 "$custom_env"
  if [ -z "$why" ]; then
    env_open=$custom_env
    env_resolved=$resolved
  else
    printf '%s %s\n' "executor.sh: environment file $(shown "$custom_env") (SIDECAR_EXECUTOR_CUSTOM_ENV_PATH) $why:" \
      "not sourced, the default $(shown "$default_env_path") is used instead" >&2
  fi
fi
if [ -z "$env_open" ] && { [ -e "$default_env_path" ] || [ -L "$default_env_path" ]; }; then
  open_trusted 3 "$default_env_path"
  if [ -z "$why" ]; then
    env_open=$default_env_path
    env_resolved=$resolved
  else
    printf '%s\n' "executor.sh: environment file $(shown "$default_env_path") $why: not sourced" >&2
  fi
fi
# It is sourced by its resolved name, as the Go wrapper sources it by name (so that BASH_SOURCE names
# it), once that name is seen to lead to the file judged on descriptor 3: only root can change the
# folder's entries in between.
if [ -n "$env_open" ] && [ "$(stat -L -c '%d:%i' /dev/fd/3 2>/dev/null)" != "$(stat -c '%d:%i' -- "$env_resolved" 2>/dev/null)" ]; then
  printf '%s\n' "executor.sh: environment file $(shown "$env_open") changed while it was checked: not sourced" >&2
  env_open=
fi
[ -z "$env_resolved" ] || exec 3<&-
if [ -z "$env_open" ]; then
  # Go: executor.sh:22, naming the file it was configured to look for.
  printf '%s\n' "--> No custom environment found at $(shown "$env_configured")"
else
  # Go: executor.sh:19 (its spelling).
  printf '%s\n' "--> Procesing custom environment at $(shown "$env_open")..."
fi
# LC_ALL=C is this script's own: the file and the executor run under the locale the file sets, if any.
file_lc_all_set=
file_lc_all=
if [ -n "$env_open" ]; then
  # As under the Go wrapper's `bash -e`: a command of the file that fails ends the launch (errexit is
  # on only for the file: this script checks its own commands). Sourced here, outside any condition,
  # function or && list, where bash would ignore errexit. The file's own output, if any, is the
  # operator's to see.
  env_shown=$(shown "$env_open")
  # The file cannot change what this script has decided (an assignment to one of these fails and, under
  # errexit, stops the launch with the line below), nor redefine its functions.
  readonly stage2 self self_id install_dir default_path default_env_path sandbox sandbox_shown env_open \
    env_resolved env_configured custom_env env_shown
  readonly -f shown untrusted_because open_on close_fd open_trusted check_executable
  # The file runs as root with the task's variables around it: HOME, at least, is root's while it
  # runs (tools read their config from it); the task's comes back unless the file set another.
  task_home_set=${HOME+set}
  task_home=${HOME-}
  HOME=/root
  export HOME
  # shellcheck disable=SC2154  # set in the trap itself
  trap 'env_status=$?
    printf "%s %s\n" "executor.sh: stopped while sourcing the environment file $env_shown (exit status $env_status):" \
      "the executor is not started" >&2' EXIT
  unset LC_ALL
  set -e
  # shellcheck disable=SC1090
  source "$env_resolved"
  # Whatever the file changed of the shell itself is put back: options, traps, aliases, hashed
  # commands, functions named like the builtins and commands used here (further down: IFS, the
  # current directory, the umask). These lines were parsed with this whole `if`, before the file
  # ran, so no alias of its applies; in POSIX mode the special builtins (unset, set, trap) are found
  # before any function of the same name. What it exported stays, PATH included.
  POSIXLY_CORRECT=y
  unset -f builtin command set shopt unalias unset trap hash enable export readonly
  unset POSIXLY_CORRECT
  \builtin set +aCefkmnuvxbET +o pipefail +o posix -B
  \builtin shopt -u expand_aliases nocasematch nocaseglob extdebug failglob nullglob dotglob globstar \
    lastpipe xpg_echo inherit_errexit 2>/dev/null || :
  \builtin unalias -a
  \builtin hash -r
  \builtin trap - EXIT ERR DEBUG RETURN TERM INT HUP
  if [ "${HOME-}" = /root ]; then
    if [ -n "$task_home_set" ]; then HOME=$task_home; else unset HOME; fi
  fi
  file_lc_all_set=${LC_ALL+set}
  file_lc_all=${LC_ALL-}
  LC_ALL=C
  export LC_ALL
fi
IFS=$' \t\n'
umask 022
unset -f [ cat cd chmod command cp dd docker echo env exec grep head kill mktemp mv od printf pwd readlink rm \
  sed shift source stat test tr trap umask wait
if ! cd -P -- "$sandbox" || [ "$(pwd -P)" != "$sandbox" ]; then
  printf '%s\n' "executor.sh: cannot return to the sandbox $(shown "$sandbox")" >&2
  exit 1
fi

# The binary, from the open file that was judged.
executor_path=${SIDECAR_EXECUTOR_PATH:-$default_path}
if [ "$executor_path" != "$default_path" ]; then
  open_trusted 4 "$executor_path"
  [ -n "$why" ] || check_executable
  if [ -n "$why" ]; then
    printf '%s\n' "executor.sh: SIDECAR_EXECUTOR_PATH $(shown "$executor_path") $why: using $(shown "$default_path")" >&2
    executor_path=$default_path
  fi
fi
if [ "$executor_path" = "$default_path" ]; then
  open_trusted 4 "$default_path"
  [ -n "$why" ] || check_executable
  if [ -n "$why" ]; then
    printf '%s\n' "executor.sh: the executor $(shown "$default_path") $why: cannot start it" >&2
    exit 1
  fi
fi

# The copy's name: the binary's, as the Go wrapper names it (executor.sh:26), when that is a plain
# file name and none of the sandbox's own (the agent's stdout and stderr, our id file, our temporary
# names).
id_file_name=sidecar-executor.container-id
copy_name=${executor_path##*/}
if [[ ! $copy_name =~ ^[A-Za-z0-9_][A-Za-z0-9._+-]*$ || ${#copy_name} -gt 200 ||
  $copy_name == stdout || $copy_name == stderr || $copy_name == "$id_file_name" ]]; then
  printf '%s\n' "executor.sh: the copy cannot be named $(shown "$copy_name") in the sandbox: named sidecar-executor" >&2
  copy_name=sidecar-executor
fi
copy="$sandbox/$copy_name"
id_file="$sandbox/$id_file_name"

# A file left there (or planted) must never be taken for the executor's: it is gone before it starts.
if ! rm -rf -- "$id_file"; then
  printf '%s\n' "executor.sh: cannot remove $(shown "$id_file")" >&2
  exit 1
fi

# Go: executor.sh:25.
printf '%s\n' "--> Copying $(shown "$executor_path") to sandbox $(shown "$sandbox_shown")"
# The copy goes to a fresh name (mktemp creates it, so nothing can be planted there) and is renamed
# over whatever is at $copy: rename replaces a planted symlink instead of writing through it, and -T
# refuses a planted directory instead of moving the copy into it.
if ! tmp=$(mktemp "$sandbox/.sidecar-executor.XXXXXXXX"); then
  printf '%s\n' "executor.sh: cannot create a temporary file in $(shown "$sandbox")" >&2
  exit 1
fi
if ! cp -- /dev/fd/4 "$tmp" || ! chmod 0755 "$tmp" || ! mv -f -T -- "$tmp" "$copy"; then
  rm -f -- "$tmp"
  printf '%s\n' "executor.sh: cannot copy $(shown "$executor_path") to $(shown "$copy")" >&2
  exit 1
fi
exec 4<&-  # the executor inherits no descriptor of ours

# What tells our container from any other, whatever the task set (see the header).
nonce=$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')
if ! printf '%s\n' "$nonce" | grep -Eqx '[0-9a-f]{32}'; then
  printf '%s\n' "executor.sh: cannot read 16 random bytes from /dev/urandom" >&2
  exit 1
fi
SIDECAR_EXECUTOR_WRAPPER_NONCE=$nonce
SIDECAR_EXECUTOR_ID_FILE=$id_file
export SIDECAR_EXECUTOR_WRAPPER_NONCE SIDECAR_EXECUTOR_ID_FILE

# Go: executor.sh:28.
printf '%s\n' "--> Starting $(shown "$sandbox_shown/$copy_name")"
padding="                                                                                                    "
# In a subshell that becomes the executor (same pid): LC_ALL as the file left it.
(
  if [ -n "$file_lc_all_set" ]; then LC_ALL=$file_lc_all; else unset LC_ALL; fi
  exec "$copy" "$padding"
) &
child=$!

# Signals for the wrapper go to the executor, which stops its task cleanly.
trap 'kill -TERM "$child" 2>/dev/null' TERM INT HUP
while :; do
  wait "$child"
  status=$?
  kill -0 "$child" 2>/dev/null || break  # wait was only interrupted by a signal
done
# The child is reaped: its pid may be anyone's now.
trap - TERM INT HUP

# Reads the id file into $id and $name, or sets $why to the reason it is not to be acted on.
read_id_file() {
  local text first second
  if [ -L "$id_file" ]; then
    why="is a symlink"
    return
  fi
  [ -e "$id_file" ] || return 0  # no container was created
  if [ ! -f "$id_file" ]; then
    why="is not a regular file"
    return
  fi
  # Read without following a link and without waiting: the tests above can be raced (a container with
  # the sandbox mounted can swap a link or a FIFO in after them), so the read itself refuses a link
  # (nofollow) and takes a FIFO as empty (nonblock) instead of hanging on its open; what is read must
  # then be a full id and name, and the container must carry this wrapper's labels before anything is
  # done to it. No device can be there (the container has no MKNOD with the sandbox mounted).
  if ! text=$(dd if="$id_file" iflag=nofollow,nonblock bs=256 count=1 status=none 2>/dev/null); then
    why="cannot be read (a link or not a file)"
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

# docker with a clean environment: the daemon the executor talks to (it reads these three too, and
# only unix:// or tcp:// endpoints), nothing else of the task's (DOCKER_CONFIG, DOCKER_CONTEXT, HOME,
# DOCKER_CLI_HOOKS would pick client config, contexts, ssh or plugins run as root).
docker_cli() {
  env -i PATH="$PATH" DOCKER_HOST="${DOCKER_HOST:-unix:///var/run/docker.sock}" \
    DOCKER_TLS_VERIFY="${DOCKER_TLS_VERIFY-}" DOCKER_CERT_PATH="${DOCKER_CERT_PATH-}" docker "$@"
}

# Sets $state to the state of container $id when Docker confirms it is this executor's (its id, its
# name, our nonce and our two labels, in one inspect call), else $why. Our ids hold no newline, so a
# label value with one cannot line up with them.
check_container() {
  local nl out expected
  nl=$'\n'
  case ${DOCKER_HOST-} in
    '' | unix://* | tcp://*) ;;
    *)
      why="cannot be checked: DOCKER_HOST $(shown "$DOCKER_HOST") is neither unix:// nor tcp://"
      return
      ;;
  esac
  if [ -z "${MESOS_EXECUTOR_ID-}" ] || [ -z "${MESOS_FRAMEWORK_ID-}" ]; then
    why="cannot be checked: MESOS_EXECUTOR_ID or MESOS_FRAMEWORK_ID is not set"
    return
  fi
  case "$MESOS_EXECUTOR_ID$MESOS_FRAMEWORK_ID" in
    *"$nl"*)
      why="cannot be checked: the executor or framework id holds a newline"
      return
      ;;
  esac
  if ! out=$(docker_cli container inspect --format '{{.State.Status}}
{{.Id}}
{{.Name}}
{{index .Config.Labels "sidecar-executor.wrapper-nonce"}}
{{index .Config.Labels "sidecar-executor.executor-id"}}
{{index .Config.Labels "sidecar-executor.framework-id"}}' "$id" 2>/dev/null); then
    why="names no container Docker knows"
    return
  fi
  expected="$id$nl/$name$nl$nonce$nl$MESOS_EXECUTOR_ID$nl$MESOS_FRAMEWORK_ID"
  if [ "${out#*"$nl"}" != "$expected" ]; then
    why="names a container that is not this executor's (its name, wrapper nonce or sidecar-executor labels differ)"
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
  printf '%s\n' "executor.sh: $(shown "$id_file") $why: not acted on, no container touched" >&2
  exit "$status"
fi
# The stop timeout comes from the task's environment: a number of seconds, else the default.
grace=${EXECUTOR_KILL_TASK_TIMEOUT:-5}
case "$grace" in
  '' | *[!0-9]* | ?????*) grace=5 ;;
esac
case "$state" in
  running|restarting|paused)
    # Go: executor.sh:49, on stdout, the line operators alert on.
    printf '%s\n' "Orphan container detected! Stopping $id"
    printf '%s\n' "executor.sh: the executor exited ($status) leaving container $id running: stopping it" >&2
    docker_cli stop --time "$grace" "$id" >/dev/null 2>&1 || docker_cli kill "$id" >/dev/null 2>&1
    ;;
  created)
    # Killed between create and start: remove it, so that a start still in flight cannot run it.
    printf '%s\n' "executor.sh: the executor exited ($status) before starting container $id: removing it" >&2
    docker_cli rm -f "$id" >/dev/null 2>&1
    ;;
esac
exit "$status"
