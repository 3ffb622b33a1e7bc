"""`python -m queue_server …`: the same as the `queue-server` command."""

import sys

from queue_server.command_line import main

sys.exit(main())
