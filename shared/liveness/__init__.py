"""Liveness: is this a live human voice, or a presentation attack (a clone, synthetic speech, a replay)?"""
