"""Blob and queue storage behind one contract (base.py): Azure (azure.py), in memory for tests (memory.py),
the one read-modify-write loop (optimistic.py) and encryption at rest (sealing.py).
"""
