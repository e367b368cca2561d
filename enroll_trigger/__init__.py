"""Blob trigger on enroll/{name}: add a voiceprint for the speaker the name gives."""

import azure.functions as func

from shared.entrypoints import run_enroll


def main(blob: func.InputStream, context: func.Context) -> None:
    run_enroll(blob, context)
