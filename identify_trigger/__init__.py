"""Blob trigger on identify/{name}: embed the probe and fan out one match job per shard."""

import azure.functions as func

from shared.entrypoints import run_identify


def main(blob: func.InputStream, jobs: func.Out[list[str]], context: func.Context) -> None:
    jobs.set(run_identify(blob, context))
