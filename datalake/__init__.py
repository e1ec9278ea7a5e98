"""The ground every stage stands on: settings, the lake layout and its I/O helpers, errors, the
report protocol, pending days and the pseudonym rules. It imports no stage (collection/,
mapreduce/, hbase/, privacy/, analysis/): tests/unit/test_architecture.py checks it."""
