"""``python -m shared.cli``: the ``voiceid`` command without the console script (the local host runs this way)."""

import sys
import threading

from shared.cli.main import main

threading.current_thread().name = "cli"
sys.exit(main())
