#!/bin/sh
# The anvil entrypoint (issue #4 item 2): `anvil-entrypoint HARNESS [ARGS…]`.
#  1. When started as root, picks the uid/gid that own the workspace and runs the harness as that
#     user, so files the agent writes are the user's (a passwd/group entry is added when missing).
#  2. For OpenCode, builds the config it reads from layers, lowest first, with
#     tongs-merge-opencode-json: image defaults (/etc/tongs/opencode.json), the user's
#     ~/.config/opencode when mounted at $TONGS_USER_OPENCODE_DIR, the project's opencode.json(c);
#     ordinary layers deep-merge; last the tong fragment named by TONGS_MCP_FILE, whose `mcp` entries
#     replace same-named entries whole. A broken layer stops the container, the message naming it.
#  3. For Codex, removes the tongs' same-named entries from its private config.toml; for Gemini CLI,
#     makes its system settings acceptable to it and trusts the workspace; exports the files of
#     /run/tongs/env (bearers) as environment variables.
#  4. Execs the harness with the given arguments.
# POSIX sh on purpose: the base is Debian (dash, util-linux) or tongs-base:local (busybox).
set -eu

# No `docker run --init`: become the child of tini so signals and zombies are handled.
if [ "$$" = 1 ] && [ -x /usr/bin/tini ]; then
  exec /usr/bin/tini -s -- "$0" "$@"
fi

say() { echo "tongs: $*" >&2; }
die() { say "$*"; exit 1; }

[ $# -gt 0 ] || set -- claude
workspace=${TONGS_WORKSPACE:-/workspace}
home=${HOME:-/home/anvil}
[ "$home" = / ] && home=/home/anvil
export HOME="$home"

# --- who runs the harness ----------------------------------------------------------------------
run_uid=$(id -u)
run_gid=$(id -g)
if [ "$run_uid" = 0 ] && [ -d "$workspace" ]; then
  run_uid=$(stat -c %u "$workspace")
  run_gid=$(stat -c %g "$workspace")
fi
drop=0
if [ "$(id -u)" = 0 ] && [ "$run_uid" != 0 ]; then
  drop=1
  run_user=$(awk -F: -v u="$run_uid" '$3 == u { print $1; exit }' /etc/passwd)
  if [ -z "$run_user" ]; then
    run_user=anvil
    awk -F: '$1 == "anvil" { found = 1 } END { exit !found }' /etc/passwd && run_user="anvil$run_uid"
    echo "$run_user:x:$run_uid:$run_gid:tongs anvil:$home:/bin/sh" >>/etc/passwd
  fi
  if ! awk -F: -v g="$run_gid" '$3 == g { found = 1 } END { exit !found }' /etc/group; then
    echo "anvil$run_gid:x:$run_gid:" >>/etc/group
  fi
  mkdir -p "$home"
  # Docker creates the parents of mount points (e.g. ~/.local/share for the OpenCode data dir) as root.
  for d in "$home" "$home/.config" "$home/.local" "$home/.local/share" "$home/.local/state" "$home/.cache"; do
    if [ -d "$d" ] && [ "$(stat -c %u "$d")" = 0 ]; then chown "$run_uid:$run_gid" "$d"; fi
  done
  export USER="$run_user" LOGNAME="$run_user"
fi

# --- the tongs relay (the seal's rule 5) --------------------------------------------------------------
# With TONGS_RELAY the anvil has no network interface: the relay listens where the tongs' aliases
# resolve (127.0.0.x, from --add-host) and forwards through the session's socket volume. It runs as
# this (root) user, so the harness user cannot stop or replace it; the harness waits until it listens.
if [ -n "${TONGS_RELAY:-}" ]; then
  relay_ready=${TMPDIR:-/tmp}/tongs-relay.ready
  rm -f "$relay_ready"
  TONGS_RELAY_READY=$relay_ready node /opt/tongs/merge/dist/anvil/src/relay.js anvil &
  relay_pid=$!
  n=0
  while [ ! -e "$relay_ready" ]; do
    kill -0 "$relay_pid" 2>/dev/null || die "the tongs relay did not start (see above)"
    n=$((n + 1))
    [ "$n" -lt 500 ] || die "the tongs relay did not listen within 5 s"
    sleep 0.01
  done
fi

# --- the model tong's session bearer (the seal's rule 4) ---------------------------------------------
# The harness presents it as its key; the model tong swaps it for the real one, which never enters the
# anvil. Read here, as root, whoever owns the launcher's 0600 file. ANTHROPIC_AUTH_TOKEN is sent as
# `Authorization: Bearer` and, unlike ANTHROPIC_API_KEY, asks for no approval in Claude Code.
if [ -f /run/tongs/anthropic-model-token ]; then
  ANTHROPIC_AUTH_TOKEN=$(cat /run/tongs/anthropic-model-token)
  export ANTHROPIC_AUTH_TOKEN
  unset ANTHROPIC_API_KEY
fi
# Codex (dialect openai) and Gemini CLI (dialect google) present theirs as their API key (issue #14).
if [ -f /run/tongs/openai-model-token ]; then
  OPENAI_API_KEY=$(cat /run/tongs/openai-model-token)
  export OPENAI_API_KEY
  unset CODEX_API_KEY
fi
if [ -f /run/tongs/google-model-token ]; then
  GEMINI_API_KEY=$(cat /run/tongs/google-model-token)
  export GEMINI_API_KEY
  unset GOOGLE_API_KEY
fi

# --- bearers as environment (issue #14: Codex's bearer_token_env_var) -------------------------------
# Each file of /run/tongs/env is exported as the variable it is named after: the value is in no argv
# and no `docker inspect`. Read here, as root, whoever owns the launcher's 0600 files.
if [ -d /run/tongs/env ]; then
  for f in /run/tongs/env/*; do
    [ -f "$f" ] || continue
    name=${f##*/}
    case $name in *[!A-Za-z0-9_]* | [0-9]*) die "/run/tongs/env/$name is not a variable name" ;; esac
    # Unreadable only under `docker run -u` with a launcher that could not hand it over (it said so).
    [ -r "$f" ] || die "cannot read $f as uid $(id -u): the harness would run without it; stopping"
    export "$name=$(cat "$f")"
  done
fi

# --- OpenCode config layers ----------------------------------------------------------------------
merge() { # merge DST SRC [--replace-mcp-entries]; the tool names a broken file itself
  tongs-merge-opencode-json "$@" || die "cannot build OpenCode's config: layer $2 is broken (see above); stopping"
}

build_opencode_config() {
  user_dir=${TONGS_USER_OPENCODE_DIR:-/run/anvil/opencode-config}
  config_dir="$home/.config/opencode"
  out="$config_dir/opencode.json"
  mkdir -p "$config_dir"
  # The user's other config files (agents, commands, themes, AGENTS.md) come along as they are; their
  # opencode.json is a layer below, merged, not copied.
  if [ -d "$user_dir" ]; then
    cp -R "$user_dir/." "$config_dir/"
  fi
  rm -f "$config_dir/config.json" "$config_dir/opencode.json" "$config_dir/opencode.jsonc"

  merge "$out" /etc/tongs/opencode.json
  for f in "$user_dir/config.json" "$user_dir/opencode.json" "$user_dir/opencode.jsonc"; do
    if [ -f "$f" ]; then merge "$out" "$f"; fi
  done
  project=""
  for f in "$workspace/opencode.json" "$workspace/opencode.jsonc"; do
    if [ -f "$f" ]; then merge "$out" "$f"; project="$project $f"; fi
  done

  if [ -n "${TONGS_MCP_FILE:-}" ]; then
    [ -f "$TONGS_MCP_FILE" ] || die "TONGS_MCP_FILE=$TONGS_MCP_FILE: no such file"
    merge "$out" "$TONGS_MCP_FILE" --replace-mcp-entries
    # OpenCode would deep-merge the raw project file over ours again, blending a project server into the
    # same-named tong entry. On such a collision it must read only the merged file, which already holds
    # the project's settings.
    if [ -n "$project" ]; then
      project_json="$config_dir/.tongs-project.json"
      rm -f "$project_json"
      for f in $project; do merge "$project_json" "$f"; done
      # A provider the fragment sets (the model tong's) must not be overridden by the project's either.
      clash=$(node -e '
        const fs = require("fs");
        const [p, t] = process.argv.slice(1).map((f) => JSON.parse(fs.readFileSync(f, "utf8")));
        const both = (k) => Object.keys(t[k] || {}).filter((n) => Object.hasOwn(p[k] || {}, n));
        process.stdout.write([...both("mcp"), ...both("provider").map((n) => "provider " + n)].join(" "));
      ' "$project_json" "$TONGS_MCP_FILE")
      rm -f "$project_json"
      if [ -n "$clash" ]; then
        say "the tongs replace the project's $clash; OpenCode reads the merged config only (OPENCODE_DISABLE_PROJECT_CONFIG)"
        export OPENCODE_DISABLE_PROJECT_CONFIG=true
      fi
    fi
  fi
  if [ "$drop" = 1 ]; then chown -R "$run_uid:$run_gid" "$config_dir"; fi
}

# --- Codex: a tong's -c overrides replace the same-named entries of the anvil's config.toml whole ----
# Codex deep-merges `-c mcp_servers.<name>.…` into a same-named table of config.toml; TONGS_CODEX_MCP
# names the tongs' servers, removed from the project's private $CODEX_HOME/config.toml first.
prepare_codex() {
  [ -n "${TONGS_CODEX_MCP:-}" ] || return 0
  config="${CODEX_HOME:-$home/.codex}/config.toml"
  old_ifs=$IFS
  IFS=,
  # shellcheck disable=SC2086 # split the comma-separated names
  removed=$(tongs-codex-config "$config" $TONGS_CODEX_MCP) || die "cannot read Codex's config $config (see above); stopping"
  IFS=$old_ifs
  if [ -n "$removed" ]; then say "the tongs replace Codex's mcp_servers entries $removed of $config"; fi
  # The project's own .codex/config.toml (read by Codex once the project is trusted) is not the anvil's
  # to rewrite: a same-named entry there blends with the tong's, so say which.
  if [ -f "$workspace/.codex/config.toml" ]; then
    IFS=,
    # shellcheck disable=SC2086
    clash=$(tongs-codex-config --check "$workspace/.codex/config.toml" $TONGS_CODEX_MCP 2>/dev/null) || clash=""
    IFS=$old_ifs
    if [ -n "$clash" ]; then
      say "the project's .codex/config.toml defines mcp_servers $clash too: once this project is trusted, Codex merges it into the tong's entry; rename it there"
    fi
  fi
}

# --- Gemini CLI: system settings it accepts, and a trusted workspace ------------------------------
# Gemini skips a system settings file that is not root's or that lies under a group- or world-writable
# directory, and disables every MCP server in an untrusted folder. The launcher's file (0600, the
# launcher user's) is copied into a root-owned directory, readable by the harness user's group only;
# /workspace is trusted unless GEMINI_CLI_TRUST_WORKSPACE says otherwise (the anvil is the sandbox).
prepare_gemini() {
  if [ -z "${GEMINI_CLI_TRUST_WORKSPACE:-}" ]; then export GEMINI_CLI_TRUST_WORKSPACE=true; fi
  src=${GEMINI_CLI_SYSTEM_SETTINGS_PATH:-}
  [ -n "$src" ] || return 0
  [ -f "$src" ] || die "GEMINI_CLI_SYSTEM_SETTINGS_PATH=$src: no such file"
  # Under `docker run -u` a root launcher has already made the file root's and readable by this
  # user's group, at a path whose directories docker made root's 0755 (launcher/shell/run/anvil.ts
  # fileHandover); nothing to do, nor could a non-root user do it.
  [ "$(id -u)" = 0 ] || return 0
  sys_dir=/etc/tongs/gemini
  mkdir -p "$sys_dir"
  chown 0:0 /etc/tongs "$sys_dir"
  chmod 0755 /etc/tongs "$sys_dir"
  cp "$src" "$sys_dir/settings.json"
  chown "0:$run_gid" "$sys_dir/settings.json"
  chmod 0640 "$sys_dir/settings.json"
  export GEMINI_CLI_SYSTEM_SETTINGS_PATH="$sys_dir/settings.json"
}

case ${1##*/} in
  opencode) build_opencode_config ;;
  codex) prepare_codex ;;
  gemini) prepare_gemini ;;
esac

# --- the launcher's files (/run/tongs) must be readable by the harness user ----------------------------
# They are the launcher user's, mode 0600; when that user is not the workspace owner (e.g. `sudo make
# run_claude`), hand the harness a private copy and point its arguments at it.
if [ "$drop" = 1 ] && [ -d /run/tongs ]; then
  for f in /run/tongs/*; do
    [ -f "$f" ] && [ "$(stat -c %u "$f")" != "$run_uid" ] || continue
    copy="$home/.tongs-run/${f##*/}"
    mkdir -p "$home/.tongs-run"
    cp "$f" "$copy"
    chown -R "$run_uid:$run_gid" "$home/.tongs-run"
    chmod 0600 "$copy"
    n=$#
    while [ "$n" -gt 0 ]; do
      a=$1
      shift
      [ "$a" = "$f" ] && a=$copy
      set -- "$@" "$a"
      n=$((n - 1))
    done
  done
fi

# --- the launch gate (DESIGN.md "Launch order") ---------------------------------------------------
# The launcher starts this container while the tongs start; the harness may run only once every tong
# is ready. It writes `go` into $TONGS_GATE/state then, or `stop` when a tong failed (it reports that
# itself, so nothing is said here). Everything above already ran meanwhile. Polled every 10 ms for
# the first 5 s (a launch is ready well within that), then every 100 ms; a launcher that died
# leaves the anvil waiting for TONGS_GATE_TIMEOUT seconds at most (default 900: image builds count).
if [ -n "${TONGS_GATE:-}" ]; then
  gate_n=0
  gate_limit=$(( ${TONGS_GATE_TIMEOUT:-900} * 10 + 450 )) # 500 polls of 10 ms, then polls of 100 ms
  while [ ! -e "$TONGS_GATE/state" ]; do
    gate_n=$((gate_n + 1))
    if [ "$gate_n" -le 500 ]; then sleep 0.01; else sleep 0.1; fi
    [ "$gate_n" -lt "$gate_limit" ] || die "the launcher gave no go within ${TONGS_GATE_TIMEOUT:-900} s (has it died? \`tongs gc\` removes what it left)"
  done
  read -r gate_state <"$TONGS_GATE/state" || gate_state=
  [ "$gate_state" = go ] || exit 1
  # The tongs' addresses on the session network (an anvil without the relay): names must not wait
  # on the engine's DNS, which on Podman may miss a query right after a container joins or leaves.
  if [ -s "$TONGS_GATE/hosts" ] && [ "$(id -u)" = 0 ]; then
    cat "$TONGS_GATE/hosts" >>/etc/hosts || say "could not add the tongs' addresses to /etc/hosts; names resolve through the engine's DNS"
  fi
fi

# --- exec the harness ----------------------------------------------------------------------------
if [ "$drop" = 0 ]; then
  exec "$@"
fi
if setpriv --help 2>&1 | grep -q -- --reuid; then
  # util-linux (Debian bases)
  exec setpriv --reuid="$run_uid" --regid="$run_gid" --clear-groups -- "$@"
fi
# busybox (tongs-base:local): su keeps the environment (-p); `--` stops su's own option parsing and
# the harness argv rides along as the shell's $0 "$@", so no argument is re-quoted or re-split.
exec su -p -s /bin/sh -c 'exec "$0" "$@"' -- "$run_user" "$@"
