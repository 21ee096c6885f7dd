"""Operations: admin, reports, charts, metrics, the learning loop and the process's upkeep."""
