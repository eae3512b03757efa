#!/usr/bin/env bash
# Install ccprompt into its own virtualenv and link it at ~/.local/bin/ccprompt.
#
#   ./install.sh              install (or upgrade) from this checkout, then run a first probe
#   ./install.sh --uninstall  stop every running proxy, undo the wiring (status line, shell blocks, MCP entry, services,
#                             completions), then remove the virtualenv and the link, and list
#                             what is left (ccprompt's backups and state, your config)
#   ./install.sh --uninstall --purge  the same, and remove ccprompt's own leftovers too (never
#                             a file ccprompt did not create; the config is kept)
#
# Needs only python3 (3.10+) and, to fetch the dependencies, access to PyPI.
set -euo pipefail

data_home="${XDG_DATA_HOME:-$HOME/.local/share}"
venv="$data_home/ccprompt/venv"
bin_dir="$HOME/.local/bin"
link="$bin_dir/ccprompt"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
python="${PYTHON:-python3}"

say() { printf '%s\n' "$*"; }
die() { printf 'install.sh: %s\n' "$*" >&2; exit 1; }

# -- uninstall: unwire first (status line, shells, MCP, services), then remove -------------

# `ccprompt uninstall all [--purge]` from this clone's source (standard library only).
# shellcheck disable=SC2016 # Python code, not shell
from_source='import sys; sys.path.insert(0, sys.argv[1]); from ccprompt.commands.install import uninstall_all; sys.exit(uninstall_all(purge=sys.argv[2] == "--purge"))'

# Undo the wiring with the installed ccprompt, and say what happened.
unwire() {
    local output
    if output="$("$exe" "$@" 2>&1)"; then
        say "${output:-  done}" | sed 's/^/  /'
    else
        say "${output:-  failed}" | sed 's/^/  /'
        failed=1
    fi
}

# Stop and remove a service unit installed from shell/ (systemd user unit or launchd agent).
remove_service() {
    local name="$1" unit="${XDG_CONFIG_HOME:-$HOME/.config}/systemd/user/$1.service"
    local plist="$HOME/Library/LaunchAgents/com.ccprompt.${1#ccprompt-}.plist"
    if [ -f "$unit" ]; then
        if command -v systemctl >/dev/null 2>&1; then
            systemctl --user disable --now "$name" >/dev/null 2>&1 || true
        fi
        rm -f "$unit"
        say "  stopped and removed the $name service ($unit)"
    fi
    if [ -f "$plist" ]; then
        if command -v launchctl >/dev/null 2>&1; then
            launchctl bootout "gui/$(id -u)/com.ccprompt.${1#ccprompt-}" >/dev/null 2>&1 || true
        fi
        rm -f "$plist"
        say "  stopped and removed the $name agent ($plist)"
    fi
}

if [ "${1:-}" = "--uninstall" ]; then
    purge=""
    case "${2:-}" in
        "") ;;
        --purge) purge="--purge" ;;
        *) die "unknown argument: $2 (use --uninstall or --uninstall --purge)" ;;
    esac
    exe="$venv/bin/ccprompt"
    failed=0
    say "==> unwiring ccprompt"
    if [ -x "$exe" ] && "$exe" --version >/dev/null 2>&1; then
        # First, so no proxy keeps running from a virtualenv that is about to go.
        unwire proxy stop
        # shellcheck disable=SC2086 # $purge is one word or none
        unwire uninstall all $purge
    elif output="$("$python" -S -c "$from_source" "$here" "$purge" 2>&1)"; then
        # Already removed (or broken): the same unwiring, run from this clone on the standard
        # library alone, so --purge works after a plain --uninstall too.
        say "  $exe does not run; unwound with the code in $here:"
        say "$output" | sed 's/^/  /'
    else
        say "  $exe does not run; check ~/.claude/settings.json (statusLine), your shell rc files"
        say "  and ~/.claude.json (mcpServers) for ccprompt yourself"
    fi
    remove_service ccprompt-watch
    remove_service ccprompt-proxy
    for completion in "$data_home/bash-completion/completions/ccprompt" \
        "${XDG_CONFIG_HOME:-$HOME/.config}/fish/completions/ccprompt.fish"; do
        if [ -f "$completion" ] && grep -q "ccprompt completions" "$completion"; then
            rm -f "$completion"
            say "  removed $completion"
        fi
    done
    if [ "$failed" -ne 0 ]; then
        die "some wiring could not be undone (above); nothing was removed, so ccprompt still runs. Fix it and run again"
    fi
    say "==> removing ccprompt"
    if [ -L "$link" ] && [ "$(readlink "$link")" = "$venv/bin/ccprompt" ]; then
        rm -f "$link"
        say "  removed $link"
    fi
    if [ -d "$data_home/ccprompt" ]; then
        rm -rf "$data_home/ccprompt"
        say "  removed $data_home/ccprompt"
    fi
    if [ -z "$purge" ]; then
        say "ccprompt's backups and state (listed above) and your config were kept;"
        say "./install.sh --uninstall --purge (again, from this clone) removes ccprompt's own; your config stays."
    fi
    exit 0
fi
[ $# -eq 0 ] || die "unknown argument: $1 (use --uninstall or nothing)"

command -v "$python" >/dev/null 2>&1 || die "python3 not found; install Python 3.10 or newer"
"$python" -c 'import sys; sys.exit(sys.version_info < (3, 10))' \
    || die "Python 3.10 or newer is needed; $("$python" --version 2>&1) found"

say "==> virtualenv: $venv"
if [ ! -x "$venv/bin/python" ]; then
    "$python" -m venv "$venv" || die "could not create a virtualenv (on Debian/Ubuntu: apt-get install python3-venv)"
fi
say "==> installing ccprompt from $here"
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade "${here}" \
    || die "pip could not install ccprompt"
# pip's console script imports `re` first; the lean launcher starts measurably faster.
"$venv/bin/python" -I -m ccprompt.launcher "$venv/bin/ccprompt"

# The prompt snippets (POSIX reader, tmux, starship, service units) next to the virtualenv.
cp "$here"/shell/* "$data_home/ccprompt/"

mkdir -p "$bin_dir"
ln -sfn "$venv/bin/ccprompt" "$link"
say "==> linked $link"

# Completions where bash-completion and fish look on their own; zsh needs a line in ~/.zshrc.
bash_completion="$data_home/bash-completion/completions/ccprompt"
fish_completion="${XDG_CONFIG_HOME:-$HOME/.config}/fish/completions/ccprompt.fish"
mkdir -p "$(dirname "$bash_completion")"
"$link" completions bash >"$bash_completion"
say "==> bash completions: $bash_completion"
bash_completion_package=0
for script in /usr/share/bash-completion/bash_completion /etc/bash_completion \
    /usr/local/share/bash-completion/bash_completion /opt/homebrew/share/bash-completion/bash_completion \
    /usr/local/etc/profile.d/bash_completion.sh; do
    [ -f "$script" ] && bash_completion_package=1
done
if [ "$bash_completion_package" -eq 0 ]; then
    say "    (the bash-completion package is not installed, so bash will not load them by itself;"
    say "    'ccprompt install shell bash' loads them from ~/.bashrc, or install bash-completion)"
fi
if command -v fish >/dev/null 2>&1; then
    mkdir -p "$(dirname "$fish_completion")"
    "$link" completions fish >"$fish_completion"
    say "==> fish completions: $fish_completion"
fi

say "==> first probe"
if "$link" probe --verbose; then
    # A few probes in a row give the status line a baseline now instead of after an hour.
    say "==> calibrating: 4 more probes, half a second apart"
    "$link" probe --count 4 --interval 0.5 || true
else
    say "(the first probe found a problem, shown above; ccprompt is installed anyway: 'ccprompt doctor' checks every link)"
fi

cat <<NEXT

ccprompt is installed. Next steps:
  Claude Code status line:  ccprompt install statusline
  your shell's prompt:      ccprompt install shell      (your login shell; or name it: bash, zsh, fish)
  see every state first:    ccprompt statusline --preview
  zsh completions (after compinit in ~/.zshrc):  source <(ccprompt completions zsh)
  ./install.sh --uninstall undoes all of it.
NEXT
case ":$PATH:" in
    *":$bin_dir:"*) ;;
    *) say "  note: $bin_dir is not on your PATH; add it, e.g. export PATH=\"$bin_dir:\$PATH\"" ;;
esac
