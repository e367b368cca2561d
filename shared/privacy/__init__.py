"""Biometric data kept no longer than it may be: erasure of a speaker, the retention sweep."""
