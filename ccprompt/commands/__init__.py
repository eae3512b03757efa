"""One typed function per command, returning an exit code; both parsers call these."""
