"""Blob trigger on watchlist/{name}: add a voiceprint to the fraud case the name gives."""

import azure.functions as func

from shared.entrypoints import run_watchlist


def main(blob: func.InputStream, context: func.Context) -> None:
    run_watchlist(blob, context)
