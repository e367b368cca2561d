"""How a probe is scored: normalisation (AS-norm), calibration, the gallery's statistics, decisions.

Pure arithmetic on arrays; storage and models are out of reach (pyproject.toml's contracts).
"""
