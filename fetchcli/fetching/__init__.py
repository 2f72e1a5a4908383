"""One URL, start to end: deadline, attempts, redirects, the body, the Result."""

# httpx is imported here and below without its command line (see fetchcli/http/__init__.py).
import fetchcli.http  # noqa: F401
