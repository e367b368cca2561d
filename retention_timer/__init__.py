"""Timer trigger (every 10 minutes): delete probe audio, probe embeddings and results past their retention."""

import azure.functions as func

from shared.entrypoints import run_retention


def main(timer: func.TimerRequest) -> None:
    run_retention(timer)
