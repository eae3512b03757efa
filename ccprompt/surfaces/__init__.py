"""Where people see the state: the status line, the probe report and the shell integration."""
