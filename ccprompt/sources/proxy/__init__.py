"""The local pass-through proxy: forwards API traffic unchanged and records redacted metadata per attempt."""
