"""Queue trigger on webjobs-blobtrigger-poison: a blob whose trigger failed every retry gets an error result."""

import azure.functions as func

from shared.entrypoints import run_blob_poison


def main(msg: func.QueueMessage) -> None:
    run_blob_poison(msg)
