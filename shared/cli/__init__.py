"""The ``voiceid`` command: ``main.py`` assembles one module per group of commands."""
