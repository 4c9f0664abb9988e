#!/usr/bin/env bash
# The anvil's `docker run` argv and the `tongs run` call around it (issue #4 item 4), for
# `make run_claude` / `make run_opencode` / `make run_codex` / `make run_gemini` (make/run.mk exports
# the variables named below).
#
#   run-anvil.sh run HARNESS          exec `tongs run --harness HARNESS <layers> --workspace P -- <argv>`
#   run-anvil.sh doctor HARNESS       exec `tongs doctor …` with the same options and argv: the seal checks
#                                     run in that anvil in place of the harness (DOCTOR_ARGS, e.g. --json)
#   run-anvil.sh direct HARNESS       exec <argv> itself, without tongs (the baseline of the benchmark)
#   run-anvil.sh print-argv HARNESS   print <argv> NUL-separated (what `run` hands to tongs, byte for byte)
#   run-anvil.sh images HARNESS       build the missing images of the discovered tongs that a make target
#                                     of this repository builds (TONG_IMAGE_TARGETS="IMAGE=TARGET …")
#
# <argv> is: docker run --rm [-it] --init --name HARNESS-KEY-RANDOM --security-opt no-new-privileges
#   -v PROJECT:/workspace -w /workspace <the git guard's mounts> [-v ~/.gitconfig:…:ro]
#   -e CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1 <the harness's private state mount(s)>
#   [--env-file PROJECT/.tongs/env] <ANVIL_DOCKER_ARGS> IMAGE HARNESS <CLAUDE_ARGS|OPENCODE_ARGS|CODEX_ARGS|GEMINI_ARGS>
# KEY is the project key (make/anvil-seal.sh): two projects that share a directory name, and two
# sessions on one project, get different names. The private state and the git guard are the seal's
# rules 1 and 2 (DESIGN.md "The seal", issue #10): the anvil gets no writable mount of the user's own
# harness state, and the workspace's git config, hooks and info are read-only in it.
# `-it` only when stdin is a terminal, so CI and pipes work. No model key passes: the model tong
# (sidecars/model-api.yaml) holds it. CLAUDE_ARGS / OPENCODE_ARGS are split like a shell
# command line (quotes and $VARS, no file-name globbing): CLAUDE_ARGS='-p "two words"' gives two arguments.
set -euo pipefail

mode=${1:?usage: run-anvil.sh run|doctor|direct|print-argv|images HARNESS}
harness=${2:?usage: run-anvil.sh run|doctor|direct|print-argv|images HARNESS}
root=${TONGS_ROOT:?}
home_in_anvil=/home/anvil

project=$(cd "${PROJECT_DIR:-$PWD}" && pwd -P) || { echo "tongs: PROJECT_DIR=${PROJECT_DIR:-} is not a directory" >&2; exit 2; }
case $harness in
  claude) harness_args_text=${TONGS_CLAUDE_ARGS-${CLAUDE_ARGS:-}} ;;
  opencode) harness_args_text=${TONGS_OPENCODE_ARGS-${OPENCODE_ARGS:-}} ;;
  codex) harness_args_text=${TONGS_CODEX_ARGS-${CODEX_ARGS:-}} ;;
  gemini) harness_args_text=${TONGS_GEMINI_ARGS-${GEMINI_ARGS:-}} ;;
  *) echo "tongs: unknown harness '$harness'; expected claude, codex, gemini or opencode" >&2; exit 2 ;;
esac
set -f # split like a shell command line, but never glob (make runs us in the tongs checkout)
eval "harness_args=($harness_args_text)"
set +f

# shellcheck source=make/anvil-seal.sh
. "$root/make/anvil-seal.sh"

# Container names allow [a-zA-Z0-9][a-zA-Z0-9_.-]*; the project key is made of those. The random
# part is the session's: a second session on the same project gets its own anvil. TONGS_ANVIL_SESSION
# fixes it (tests compare two argvs byte for byte).
session_part=${TONGS_ANVIL_SESSION:-$(od -An -N3 -tx1 /dev/urandom | tr -d ' \n')}

argv=(docker run --rm)
if [ -t 0 ]; then argv+=(-it); fi
argv+=(--init --name "$harness-$(project_key "$project")-$session_part" --security-opt no-new-privileges)
argv+=(-v "$project:/workspace" -w /workspace)
seal_git_guard
argv+=("${seal_opts[@]}")
seal_opts=()
gitconfig=${GITCONFIG_HOST:-$HOME/.gitconfig}
if [ -f "$gitconfig" ]; then argv+=(-v "$gitconfig:$home_in_anvil/.gitconfig:ro"); fi
# No model key: the model tong holds it (the seal's rule 4) and the emitter points the harness at it.
# Telemetry and other non-essential traffic stay off, so a sealed anvil does not retry them.
argv+=(-e CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1)
seal_state "$harness"
argv+=("${seal_opts[@]}")
if [ "$harness" = opencode ]; then
  config=${OPENCODE_CONFIG_HOST:-${XDG_CONFIG_HOME:-$HOME/.config}/opencode}
  # Read-only; the entrypoint merges it as a layer into a config of the anvil's own
  # (anvil/entrypoint.sh TONGS_USER_OPENCODE_DIR).
  if [ -d "$config" ]; then argv+=(-v "$config:/run/anvil/opencode-config:ro"); fi
fi
if [ -f "$project/.tongs/env" ]; then argv+=(--env-file "$project/.tongs/env"); fi
set -f
eval "extra_args=(${TONGS_ANVIL_DOCKER_ARGS-${ANVIL_DOCKER_ARGS:-}})"
set +f
argv+=("${extra_args[@]}" "${ANVIL_IMAGE:-tongs-anvil:local}" "$harness" "${harness_args[@]}")

layer_args() { # the layer options of `tongs run` / `tongs plan`
  layers=(--user-tongs "${USER_TONGS:-${TONGS_HOME:-$HOME/.tongs}/tongs}")
  if [ -n "${ORG_TONGS:-}" ]; then layers+=(--org-tongs "$ORG_TONGS"); fi
  layers+=(--repo-tongs "${REPO_TONGS:-$root/sidecars}" --workspace-tongs "${WORKSPACE_TONGS:-$project/.tongs/tongs}")
}

# Tong images built by this repository's make targets (IMAGE=TARGET …); any other missing image is
# built by `tongs run` itself from its definition's `build:` context.
tong_images() {
  layer_args
  local dir defs=()
  shopt -s nullglob
  for dir in "${layers[@]}"; do
    if [ -d "$dir" ]; then defs+=("$dir"/*.yml "$dir"/*.yaml); fi
  done
  shopt -u nullglob
  [ ${#defs[@]} -gt 0 ] || return 0 # no definition anywhere: nothing to build, and no Docker contact
  local plan images image target key cache="$root/.build/tong-images.cache"
  # The image list comes from `tongs plan` (~0.5 s); it is kept while the definitions are unchanged.
  # `when: {env: …}` decides which tongs start: the names (never the values) of the set TONGS_* and
  # ANTHROPIC_* variables, which the shipped tongs' conditions use, are part of the key.
  key=$( { printf '%s\n' "$harness" "$project" "${layers[@]}"; stat -c '%n %s %Y' "${defs[@]}"
           for v in $(compgen -e | grep -E '^(TONGS|ANTHROPIC)_' | LC_ALL=C sort || true); do if [ -n "${!v}" ]; then echo "$v"; fi; done; } | sha256sum | cut -c1-16)
  if [ -f "$cache" ] && [ "$(head -n1 "$cache")" = "$key" ]; then
    images=$(tail -n +2 "$cache")
  else
    # A refused plan (e.g. a workspace tong awaiting approval) is reported by `tongs run` right after.
    plan=$(${NODE:-node} "$root/dist/bundle/tongs.cjs" plan --harness "$harness" "${layers[@]}" --workspace "$project" --no-prompt -- "${argv[@]}" 2>/dev/null) || return 0
    images=$(printf '%s' "$plan" | ${NODE:-node} -e 'let s = ""; process.stdin.on("data", (d) => (s += d)).on("end", () => {
      for (const i of new Set(JSON.parse(s).tongs.map((t) => t.image))) console.log(i);
    })')
    mkdir -p "$root/.build"
    printf '%s\n%s\n' "$key" "$images" >"$cache"
  fi
  [ -n "$images" ] || return 0
  # One docker call when every image is there (the warm path); one per image only when one is missing.
  # shellcheck disable=SC2086 # the list is one image name per word
  docker image inspect $images >/dev/null 2>&1 && return 0
  for image in $images; do
    docker image inspect "$image" >/dev/null 2>&1 && continue
    for target in ${TONG_IMAGE_TARGETS:-}; do
      if [ "${target%%=*}" = "$image" ]; then
        echo "tongs: building tong image $image (make ${target#*=})" >&2
        ${MAKE:-make} --no-print-directory -C "$root" "${target#*=}"
      fi
    done
  done
}

case $mode in
  images)
    tong_images
    ;;
  print-argv)
    printf '%s\0' "${argv[@]}"
    ;;
  direct)
    exec "${argv[@]}"
    ;;
  run | doctor)
    layer_args
    # Tong images built from a `build:` context use the anvil's base (tongs-base:local without a registry).
    if [ -z "${TONGS_BASE_IMAGE:-}" ] && [ -s "$root/.build/anvil-base" ]; then
      TONGS_BASE_IMAGE=$(cat "$root/.build/anvil-base")
      export TONGS_BASE_IMAGE
    fi
    # --anvil-relay: the anvil gets no network and reaches only its tongs, through the relay that
    # tongs-anvil:local runs (the seal's rule 5). Another ANVIL_IMAGE gets it with TONGS_ANVIL_RELAY=1;
    # TONGS_ANVIL_RELAY=0 turns it off.
    relay=()
    case ${TONGS_ANVIL_RELAY:-auto} in
      1) relay=(--anvil-relay) ;;
      auto) if [ "${ANVIL_IMAGE:-tongs-anvil:local}" = tongs-anvil:local ]; then relay=(--anvil-relay); fi ;;
    esac
    doctor_args=()
    if [ "$mode" = doctor ]; then
      set -f
      eval "doctor_args=(${DOCTOR_ARGS:-})"
      set +f
    fi
    exec ${NODE:-node} "$root/dist/bundle/tongs.cjs" "$mode" --harness "$harness" "${layers[@]}" --workspace "$project" "${relay[@]}" "${doctor_args[@]}" -- "${argv[@]}"
    ;;
  *)
    echo "tongs: unknown mode '$mode'; expected run, doctor, direct, print-argv or images" >&2
    exit 2
    ;;
esac
