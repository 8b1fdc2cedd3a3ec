"""massreach benchmarks: speed and memory figures, each with a raw baseline measured in
the same run (not tests; nothing here asserts a timing)."""
