"""The ground floor: typed state, validated config, paths, files and the pure rules (standard library only)."""
