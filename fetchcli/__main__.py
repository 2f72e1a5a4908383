"""`python -m fetchcli` runs the command line."""

from fetchcli.cli import main

raise SystemExit(main())
