#!/bin/sh
# =============================================================================
#
# ccprompt-prompt.sh: print ccprompt's API health from the prompt cache.
#
# Plain POSIX sh and shell builtins only (read, case, printf, test): no Python and no other
# program, so it suits shells without `ccprompt init` (dash, ksh, busybox ash), tmux's
# status line and starship's `custom` module.
#
# Usage: ccprompt-prompt.sh [icon|short|full|status|p95|latency]
#
#   icon     🟢                            status   healthy|degraded|error|unknown
#   short    🟢 450ms   (the default)      p95      450  (empty before 4 samples)
#   full     🟢 P95:450ms                  latency  470  (empty when unknown)
#
# The cache is $CCPROMPT_HOME/prompt (default ~/.claude/ccprompt/prompt), written by
# ccprompt after every probe; see ccprompt/promptcache.py for its format. This reader
# never starts a probe: a shell hook, the Claude Code status line, `ccprompt refresh`
# or `ccprompt watch` keeps the cache fresh.
#
# In a shell without hooks, put it in the prompt (one sh per prompt):
#
#   PS1='$(sh ~/.local/share/ccprompt/ccprompt-prompt.sh) '"$PS1"
#

# =============================================================================
#
# Reading the cache.
#

__ccprompt_cache=${CCPROMPT_HOME:-${HOME:-~}/.claude/ccprompt}/prompt
__ccprompt_want=${1:-short}

case $__ccprompt_want in
    icon | short | full | status | p95 | latency) ;;
    *)
        printf 'usage: ccprompt-prompt.sh [icon|short|full|status|p95|latency]\n' >&2
        exit 2
        ;;
esac

__ccprompt_magic='' __ccprompt_status='' __ccprompt_p95='' __ccprompt_latency=''
__ccprompt_icon_seg='' __ccprompt_short_seg='' __ccprompt_full_seg=''
# Only a regular file: a FIFO or a device (a cache symlinked to /dev/zero) would block.
# Where `read` takes -n (bash, ksh, busybox ash) each line is read with at most 512
# characters, so a huge cache costs nine short reads; dash has no -n (it reads the line
# whole), and zsh's -n means something else.
__ccprompt_n=''
if [ -z "${ZSH_VERSION-}" ]; then
    # shellcheck disable=SC3045 # probing whether this sh has read -n
    read -r -n 1 __ccprompt_skip </dev/null 2>/dev/null
    [ $? -eq 1 ] && __ccprompt_n='-n 512'
fi
if [ -f "$__ccprompt_cache" ] && [ -r "$__ccprompt_cache" ]; then
    # shellcheck disable=SC2086,SC2229 # $__ccprompt_n is empty or `-n 512`, split on purpose
    {
        IFS= read -r $__ccprompt_n __ccprompt_magic &&
            IFS= read -r $__ccprompt_n __ccprompt_skip &&
            IFS= read -r $__ccprompt_n __ccprompt_status &&
            IFS= read -r $__ccprompt_n __ccprompt_skip &&
            IFS= read -r $__ccprompt_n __ccprompt_p95 &&
            IFS= read -r $__ccprompt_n __ccprompt_latency &&
            IFS= read -r $__ccprompt_n __ccprompt_icon_seg &&
            IFS= read -r $__ccprompt_n __ccprompt_short_seg &&
            IFS= read -r $__ccprompt_n __ccprompt_full_seg
    } <"$__ccprompt_cache" 2>/dev/null
fi

# =============================================================================
#
# Checking it: anything but format v1 reads as "unknown", numbers must be digits, and
# a segment holding control bytes (which ccprompt never writes) is not shown.
#

if [ "$__ccprompt_magic" != 'ccprompt-prompt v1' ]; then
    __ccprompt_status=unknown __ccprompt_p95='' __ccprompt_latency=''
    __ccprompt_icon_seg='⚪' __ccprompt_short_seg='⚪ no probe yet' __ccprompt_full_seg='⚪ no probe yet'
fi
case $__ccprompt_status in
    healthy | degraded | error) ;;
    *) __ccprompt_status=unknown ;;
esac
case $__ccprompt_p95 in
    *[!0-9]*) __ccprompt_p95='' ;;
esac
case $__ccprompt_latency in
    *[!0-9]*) __ccprompt_latency='' ;;
esac

case $__ccprompt_want in
    status) __ccprompt_out=$__ccprompt_status ;;
    p95) __ccprompt_out=$__ccprompt_p95 ;;
    latency) __ccprompt_out=$__ccprompt_latency ;;
    icon) __ccprompt_out=$__ccprompt_icon_seg ;;
    short) __ccprompt_out=$__ccprompt_short_seg ;;
    *) __ccprompt_out=$__ccprompt_full_seg ;;
esac
case $__ccprompt_out in
    *[[:cntrl:]]*) __ccprompt_out='⚪ unreadable cache' ;;
esac

printf '%s\n' "$__ccprompt_out"
