"""The plain words of HTTP failures, the same whichever transport met them (each maps its own
library's errors onto them; fetching/classify.py reports them)."""

DISCONNECTED = "server closed the connection without answering"
BODY_CUT = "server closed the connection before the end of the body"
BAD_CHUNKS = "malformed chunked body"
BAD_HEAD = "malformed status line or headers"
PROTOCOL_WORDS = frozenset({DISCONNECTED, BODY_CUT, BAD_CHUNKS, BAD_HEAD})
