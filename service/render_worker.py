"""A render process: reads Markdown from stdin, writes sanitized HTML to stdout, until EOF.

`service.render_pool` starts it as a script (`python render_worker.py <hard limit>`)
rather than through `multiprocessing`: hypercorn's workers are daemonic
processes, which `multiprocessing` forbids to have children. Run as a script,
it loads `service.markdown` without running `service/__init__.py`, so a render
process costs the two libraries it needs (~16 MB, 0.1 s to start) instead of
the whole web stack.

The protocol, both ways: a 5-byte header (one kind byte, a big-endian 32-bit
length) and that many bytes of UTF-8.
- requests: kind `p` (post) or `c` (comment), then the Markdown;
- answers: `o` and the HTML, `x` (too complex, no payload) or `e` and an error text.
After starting, the process writes one byte, `READY`, once its imports are done.

Its parent kills it when a render overruns the budget. In case the parent is
gone (killed with SIGKILL), every render also arms `SIGALRM`, whose default
action ends the process even while nh3's Rust code runs.
"""

from __future__ import annotations

import os
import signal
import struct
import sys
import types
from typing import BinaryIO

HEADER = struct.Struct(">cI")
READY = b"R"
POST, COMMENT = b"p", b"c"
OK, TOO_COMPLEX, ERROR = b"o", b"x", b"e"


def encode(text: str) -> bytes:
    """UTF-8 that also carries lone surrogates, so no text can break the protocol."""
    return text.encode("utf-8", "surrogatepass")


def decode(data: bytes) -> str:
    return data.decode("utf-8", "surrogatepass")


def read_exactly(stream: BinaryIO, size: int) -> bytes | None:
    """`size` bytes from `stream`, or None at end of file."""
    chunks = []
    while size:
        chunk = stream.read(size)
        if not chunk:
            return None
        chunks.append(chunk)
        size -= len(chunk)
    return b"".join(chunks)


def _load_markdown() -> types.ModuleType:
    """`service.markdown`, imported under a bare `service` package (its `__init__` not run)."""
    package_dir = os.path.dirname(os.path.abspath(__file__))
    # Run as a script, this file's folder is first on sys.path: drop it, or
    # `markdown.py` there would shadow any top-level module named `markdown`.
    sys.path[:] = [entry for entry in sys.path if os.path.abspath(entry or ".") != package_dir]
    package = types.ModuleType("service")
    package.__path__ = [package_dir]
    sys.modules["service"] = package
    import service.markdown

    return service.markdown


def main(hard_limit: int) -> None:
    """Serve render requests until stdin closes."""
    # Ctrl-C reaches the whole process group; the parent decides when this ends.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    requests = sys.stdin.buffer
    answers = os.fdopen(os.dup(sys.stdout.fileno()), "wb", buffering=0)
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())  # a stray print cannot corrupt answers
    markdown = _load_markdown()
    renderers = {POST: markdown.render_post, COMMENT: markdown.render_comment}
    answers.write(READY)
    while (header := read_exactly(requests, HEADER.size)) is not None:
        kind, size = HEADER.unpack(header)
        payload = read_exactly(requests, size)
        if payload is None:
            return
        signal.alarm(hard_limit)
        try:
            status, answer = OK, encode(renderers[kind](decode(payload)))
        except markdown.TooComplex:
            status, answer = TOO_COMPLEX, b""
        except Exception as error:  # reported to the parent, which logs and refuses
            status, answer = ERROR, encode(repr(error))
        signal.alarm(0)
        answers.write(HEADER.pack(status, len(answer)) + answer)


if __name__ == "__main__":
    main(int(sys.argv[1]))
