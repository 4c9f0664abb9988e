# The seal's `docker run` options that need no tong (DESIGN.md "The seal", rules 1 and 2; issue #10),
# sourced by make/run-anvil.sh. Bash, not the launcher: these options are part of the anvil argv that
# `tongs run` receives (and passes through byte for byte when no tong is defined), and computing them
# here costs a few milliseconds where a second Node process would cost ~60 ms on every launch.
#
#   project_key DIR            the project key: <dir name, sanitised, ≤ 32 chars>-<12 hex of sha256(DIR)>
#   seal_state HARNESS         adds to seal_opts the private state mounts for HARNESS (rule 1)
#   seal_git_guard             adds to seal_opts the read-only git metadata mounts (rule 2)
#
# Inputs: $project (absolute, physical), $home_in_anvil, $root, TONGS_HOME, TONGS_SHARE_LOGIN, NODE.

seal_opts=()

# project_key DIR: printed on stdout. Stable for a path; two projects with one dir name differ.
project_key() {
  local dir=$1 name hash
  name=$(basename "$dir" | tr -c 'a-zA-Z0-9_.\n-' '-' | cut -c1-32)
  case $name in '' | / | [._-]*) name="p$name" ;; esac
  hash=$(printf '%s' "$dir" | sha256sum | cut -c1-12)
  printf '%s-%s\n' "$name" "$hash"
}

# uid:gid of the project's owner: the anvil runs the harness as that user, so what the seal creates
# for it is handed over when we run as root (the engine would otherwise leave root-owned dirs).
project_owner() { stat -c %u:%g "$project"; }

# seal_state HARNESS: the per-project private state dir $TONGS_HOME/state/<key>/<harness>, created and
# seeded by `tongs state init` on first use, mounted where the harness keeps its state. A login shared
# on purpose (TONGS_SHARE_LOGIN=1) is mounted read-only over the state's own copy.
seal_state() {
  local harness=$1 key state_root state
  key=$(project_key "$project")
  state_root=${TONGS_HOME:-$HOME/.tongs}/state/$key
  state=$state_root/$harness
  if [ ! -d "$state" ]; then
    ${NODE:-node} "$root/dist/bundle/tongs.cjs" state init --harness "$harness" --workspace "$project" "$state" >&2 ||
      { echo "tongs: could not create the private $harness state in $state" >&2; exit 1; }
  fi
  local share=${TONGS_SHARE_LOGIN:-0} login="" target=""
  case $harness in
    claude)
      seal_opts+=(-v "$state:$home_in_anvil/.claude" -e "CLAUDE_CONFIG_DIR=$home_in_anvil/.claude")
      login=${CLAUDE_CONFIG_HOST:-$HOME/.claude}/.credentials.json
      target=$home_in_anvil/.claude/.credentials.json
      ;;
    opencode)
      seal_opts+=(-v "$state:$home_in_anvil/.local/share/opencode")
      login=${OPENCODE_DATA_HOST:-${XDG_DATA_HOME:-$HOME/.local/share}/opencode}/auth.json
      target=$home_in_anvil/.local/share/opencode/auth.json
      ;;
    codex)
      seal_opts+=(-v "$state:$home_in_anvil/.codex" -e "CODEX_HOME=$home_in_anvil/.codex")
      login=${CODEX_HOME_HOST:-${CODEX_HOME:-$HOME/.codex}}/auth.json
      target=$home_in_anvil/.codex/auth.json
      ;;
    gemini)
      seal_opts+=(-v "$state:$home_in_anvil/.gemini")
      login=${GEMINI_HOST:-$HOME/.gemini}/oauth_creds.json
      target=$home_in_anvil/.gemini/oauth_creds.json
      ;;
  esac
  local own=$state/${target##*/}
  if [ "$share" = 1 ] && [ -f "$login" ]; then
    seal_opts+=(-v "$login:$target:ro")
  elif [ -f "$own" ] && [ ! -s "$own" ]; then
    # The empty mount point an earlier shared-login session left: the harness would read it as a login.
    rm -f "$own"
  fi
}

# The container path of a host path: the workspace is mounted at /workspace; git dirs outside it (a
# linked worktree's) are mounted at their own path, so the absolute path in a `.git` file resolves.
anvil_path() {
  case $1 in
    "$project") printf '/workspace\n' ;;
    "$project"/*) printf '/workspace%s\n' "${1#"$project"}" ;;
    *) printf '%s\n' "$1" ;;
  esac
}

guard_ro() { # guard_ro HOSTPATH: mount it read-only at its anvil path (when it exists)
  [ -e "$1" ] || return 0
  seal_opts+=(-v "$1:$(anvil_path "$1"):ro")
}

# guard_gitdir DIR: DIR is a git dir (HEAD and objects or commondir). It becomes a mount point of its
# own (so it cannot be renamed away and replaced), and what git executes or reads as configuration
# becomes read-only: config, config.worktree, hooks/, info/, and each linked worktree's pointers.
# Objects, refs, logs, the index and the rest stay writable, so commit, branch, rebase and stash work.
guard_gitdir() {
  local g=$1 config=${2:-$1/config} d w
  seal_opts+=(-v "$g:$(anvil_path "$g")")
  # With extensions.worktreeConfig, git reads config.worktree too: one the agent could create would be
  # read on the host. Make it (empty, as `git config --worktree` would) so that it can be guarded.
  if [ ! -e "$g/config.worktree" ] && [ "$(git config -f "$config" --type=bool extensions.worktreeConfig 2>/dev/null)" = true ]; then
    : >"$g/config.worktree"
    if [ "$(id -u)" = 0 ]; then chown "$(project_owner)" "$g/config.worktree"; fi
  fi
  guard_ro "$g/config"
  guard_ro "$g/config.worktree"
  guard_ro "$g/commondir"
  guard_ro "$g/gitdir"
  if [ -f "$g/HEAD" ] && [ ! -f "$g/commondir" ]; then
    # A missing hooks/ or info/ would let the agent create one; make them first, as git init does.
    for d in hooks info; do
      if [ ! -d "$g/$d" ]; then
        mkdir -p "$g/$d"
        if [ "$(id -u)" = 0 ]; then chown "$(project_owner)" "$g/$d"; fi
      fi
      guard_ro "$g/$d"
    done
  fi
  # Linked worktrees' admin dirs: their commondir and gitdir tell git on the host where to look, and
  # nothing the anvil does needs to write them (only `git worktree add/prune`): one read-only mount.
  guard_ro "$g/worktrees"
  guard_modules "$g/modules"
}

# guard_modules DIR: the submodule git dirs under DIR (.git/modules; a submodule named a/b lives in
# modules/a/b, so a dir without HEAD is a level of such a name).
guard_modules() {
  local sub wt
  for sub in "$1"/*/; do
    [ -d "$sub" ] || continue
    sub=${sub%/}
    if [ ! -f "$sub/HEAD" ]; then
      guard_modules "$sub"
      continue
    fi
    guard_gitdir "$sub"
    # The submodule's working tree points back here with a `.git` file; rewritten, it could name a git
    # dir the agent made. core.worktree says where that file is.
    wt=$(git config -f "$sub/config" core.worktree 2>/dev/null || true)
    [ -n "$wt" ] || continue
    case $wt in /*) ;; *) wt=$sub/$wt ;; esac
    if wt=$(cd "$wt" 2>/dev/null && pwd -P) && [ -f "$wt/.git" ]; then guard_ro "$wt/.git"; fi
  done
}

# seal_git_guard: the workspace's git metadata (a repository, a linked worktree, or none).
seal_git_guard() {
  local dotgit=$project/.git
  if [ -d "$dotgit" ]; then
    guard_gitdir "$dotgit"
  elif [ -f "$dotgit" ]; then
    # A linked worktree (or a submodule checked out on its own): `.git` names the git dir.
    local gitdir common
    gitdir=$(sed -n 's/^gitdir: //p' "$dotgit" | head -n1)
    [ -n "$gitdir" ] || { echo "tongs: $dotgit is neither a git dir nor a 'gitdir:' file; refusing to guess what git would run" >&2; exit 1; }
    case $gitdir in /*) ;; *) gitdir=$project/$gitdir ;; esac
    [ -d "$gitdir" ] || { echo "tongs: $dotgit names the git dir $gitdir, which does not exist" >&2; exit 1; }
    gitdir=$(cd "$gitdir" && pwd -P)
    common=$gitdir
    if [ -f "$gitdir/commondir" ]; then
      common=$(sed -n 1p "$gitdir/commondir")
      case $common in /*) ;; *) common=$gitdir/$common ;; esac
      [ -d "$common" ] || { echo "tongs: the git dir $gitdir names the common dir $common, which does not exist" >&2; exit 1; }
      common=$(cd "$common" && pwd -P)
    fi
    case $common in
      / | /workspace | /workspace/* | "$home_in_anvil" | "$home_in_anvil"/* | /run/tongs | /run/tongs/* | /proc* | /sys* | /dev* | /etc* | /usr* | /bin* | /lib* | /sbin*)
        echo "tongs: the workspace is a linked worktree of $common, which cannot be mounted at its own path in the anvil; run tongs from the main worktree instead" >&2
        exit 1
        ;;
    esac
    guard_ro "$dotgit"
    guard_gitdir "$common"
    # This worktree's own admin dir (HEAD, index, logs) stays writable, its pointers read-only.
    guard_gitdir "$gitdir" "$common/config"
  fi
}
