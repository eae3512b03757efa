#!/usr/bin/env bash
# Install ccprompt into its own virtualenv and link it at ~/.local/bin/ccprompt.
#
#   ./install.sh              install (or upgrade) from this checkout, then run a first probe
#   ./install.sh --uninstall  remove the virtualenv and the link (state and settings are kept)
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

if [ "${1:-}" = "--uninstall" ]; then
    if [ -L "$link" ] && [ "$(readlink "$link")" = "$venv/bin/ccprompt" ]; then
        rm -f "$link"
        say "removed $link"
    fi
    if [ -d "$data_home/ccprompt" ]; then
        rm -rf "$data_home/ccprompt"
        say "removed $data_home/ccprompt"
    fi
    say "state in ~/.claude/ccprompt and Claude Code settings were left as they are;"
    say "run 'ccprompt uninstall statusline' and 'ccprompt uninstall shell' first to undo those."
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
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade "$here[mcp]" \
    || die "pip could not install ccprompt"
# pip's console script imports `re` first; the lean launcher starts measurably faster.
"$venv/bin/python" -I -m ccprompt.launcher "$venv/bin/ccprompt"

# The prompt snippets (POSIX reader, tmux, starship, service units) next to the virtualenv.
cp "$here"/shell/* "$data_home/ccprompt/"

mkdir -p "$bin_dir"
ln -sfn "$venv/bin/ccprompt" "$link"
say "==> linked $link"

say "==> first probe"
if "$link" probe --verbose; then
    # A few probes in a row give the status line a baseline now instead of after an hour.
    say "==> calibrating: 4 more probes, half a second apart"
    "$link" probe --count 4 --interval 0.5 || true
else
    say "(the API did not answer as it should; ccprompt is installed anyway: 'ccprompt doctor' checks every link)"
fi

cat <<NEXT

ccprompt is installed. Next steps:
  Claude Code status line:  ccprompt install statusline
  zsh prompt:   echo 'eval "\$(ccprompt init zsh)"' >> ~/.zshrc
  bash prompt:  echo 'eval "\$(ccprompt init bash)"' >> ~/.bashrc
  fish prompt:  echo 'ccprompt init fish | source' >> ~/.config/fish/config.fish
NEXT
case ":$PATH:" in
    *":$bin_dir:"*) ;;
    *) say "  note: $bin_dir is not on your PATH; add it, e.g. export PATH=\"$bin_dir:\$PATH\"" ;;
esac
