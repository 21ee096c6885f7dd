"""Scale-out benchmarks: the state store (SQLite vs Redis), one and several instances."""
