"""The accuracy harness behind ``voiceid eval``: metrics, trial lists, open set, DET curves, the PoC baseline."""
