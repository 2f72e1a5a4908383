"""Many URLs: bounded fan-out, input order, one process or worker processes."""
