#!/bin/sh
# =============================================================================
#
# ccprompt-prompt.sh: print ccprompt's API health from the prompt cache.
#
# Plain POSIX sh and shell builtins only (read, case, printf): no Python and no other
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
if [ -r "$__ccprompt_cache" ]; then
    {
        IFS= read -r __ccprompt_magic &&
            IFS= read -r __ccprompt_skip &&
            IFS= read -r __ccprompt_status &&
            IFS= read -r __ccprompt_skip &&
            IFS= read -r __ccprompt_p95 &&
            IFS= read -r __ccprompt_latency &&
            IFS= read -r __ccprompt_icon_seg &&
            IFS= read -r __ccprompt_short_seg &&
            IFS= read -r __ccprompt_full_seg
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
