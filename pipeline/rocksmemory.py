"""One memory budget for every RocksDB table of a worker.

faust-streaming opens one RocksDB database per table and partition (ten tables of twelve
partitions: 120 databases in one worker), and gives each its own block cache and its own
memtables: 2 GiB of cache and three 64 MiB memtables each unless told otherwise, so a worker's
memory grows with every table written until those far limits. Here every database of the
process shares one block cache of ``ECO_ROCKSDB_CACHE_MB``, and their memtables are charged
to that same cache by one write buffer manager, so RocksDB's memory stays under that one
figure however many tables and partitions the worker holds.

This replaces ``faust.stores.rocksdb.RocksDBOptions.as_options`` (the rocksdict driver, the
only one the project uses): faust-streaming has no option for a shared cache. It is pinned
with faust-streaming (``<0.16``) and tested in ``tests/unit/test_rocksmemory.py``.
"""

from __future__ import annotations

from typing import Any

import rocksdict
from faust.stores import rocksdb as faust_rocksdb

MIB = 1024 * 1024
WRITE_BUFFER_BYTES = 2 * MIB  # one memtable of one database
_shared: dict[str, Any] = {}


def share_memory(cache_mb: int) -> None:
    """Make every RocksDB database opened from now on use one block cache of ``cache_mb``
    MiB, with the memtables charged to it (half of it at most)."""
    capacity = max(cache_mb, 8) * MIB
    if _shared.get("capacity") != capacity:
        cache = rocksdict.Cache(capacity)
        manager = rocksdict.WriteBufferManager.new_write_buffer_manager_with_cache(
            capacity // 2, False, cache)
        _shared.update(capacity=capacity, cache=cache, manager=manager)
    faust_rocksdb.RocksDBOptions.as_options = _as_options  # type: ignore[method-assign]


def shared_cache() -> Any:
    """The one block cache (None until ``share_memory``)."""
    return _shared.get("cache")


def _as_options(self: Any) -> Any:
    options = rocksdict.Options(raw_mode=True)
    options.create_if_missing(True)
    options.set_max_open_files(self.max_open_files)
    options.set_write_buffer_size(min(self.write_buffer_size, WRITE_BUFFER_BYTES))
    options.set_max_write_buffer_number(min(self.max_write_buffer_number, 2))
    options.set_target_file_size_base(self.target_file_size_base)
    options.set_write_buffer_manager(_shared["manager"])
    table = rocksdict.BlockBasedOptions()
    table.set_bloom_filter(self.bloom_filter_size, block_based=True)
    table.set_block_cache(_shared["cache"])
    table.set_cache_index_and_filter_blocks(True)  # indexes and filters count too
    table.set_index_type(rocksdict.BlockBasedIndexType.binary_search())
    options.set_block_based_table_factory(table)
    return options
