"""Shell integration: the init script, its quoting, and the rc-file block."""
