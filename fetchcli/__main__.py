"""`python -m fetchcli` runs the command line."""

from fetchcli.cli.app import main

raise SystemExit(main())
