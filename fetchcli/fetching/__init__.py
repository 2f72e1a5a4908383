"""One URL, start to end: deadline, attempts, redirects, the body, the Result."""
