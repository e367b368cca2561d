"""The ground floor: settings, names, records, the storage contract's names, the list of models, errors.

Imports nothing else of the product and no storage, model or audio library (pyproject.toml's contracts).
"""
