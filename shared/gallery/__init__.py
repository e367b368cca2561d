"""The voiceprint gallery: the shard format, the stored gallery, shards held in memory, tombstones."""
