"""Every RocksDB database of a worker shares one block cache with its memtables charged to
it (pipeline.rocksmemory): the memory of 120 table partitions stays under one figure."""

from __future__ import annotations

from pathlib import Path

from faust.stores.rocksdb import RocksDBOptions

from pipeline import rocksmemory

MIB = 1024 * 1024


def test_databases_share_one_cache_and_stay_within_it(tmp_path: Path) -> None:
    rocksmemory.share_memory(8)
    cache = rocksmemory.shared_cache()
    assert cache is not None
    options = RocksDBOptions(block_cache_size=2 * 1024**3, write_buffer_size=64 * MIB)
    databases = [options.open(tmp_path / f"table-{n}") for n in range(6)]
    try:
        value = b"x" * 4096
        for db in databases:
            for key in range(600):
                db[f"application-{key}".encode()] = value
        for db in databases:
            db.flush()
            assert all(db[f"application-{key}".encode()] == value for key in range(0, 600, 7))
        used = cache.get_usage()
        assert 0 < used <= 8 * MIB * 1.1, used  # one cache, not six of 2 GiB
    finally:
        for db in databases:
            db.close()


def test_the_budget_follows_the_setting() -> None:
    rocksmemory.share_memory(32)
    first = rocksmemory.shared_cache()
    rocksmemory.share_memory(32)
    assert rocksmemory.shared_cache() is first  # the same budget: the same cache
    rocksmemory.share_memory(16)
    assert rocksmemory.shared_cache() is not first
