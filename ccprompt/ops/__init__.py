"""Operations: the watch loop, doctor, history and metrics."""
