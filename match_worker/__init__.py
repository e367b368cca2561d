"""Queue trigger on match-jobs: score one shard, and write the result when all shards are in."""

import azure.functions as func

from shared.entrypoints import run_match


def main(msg: func.QueueMessage, context: func.Context) -> None:
    run_match(msg, context)
