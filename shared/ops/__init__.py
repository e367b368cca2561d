"""Operator tools, never deployed: key rotation, re-shard, re-embed, the Azure package, the HTML report."""
