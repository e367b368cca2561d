"""The stages the functions run: enrol, identify (probe to match jobs), match a shard, fan in, lockout, poison."""
