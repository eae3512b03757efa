"""Many Claude Code sessions read at once: transcript tails, an index of derived numbers, the proxy view."""
