"""The ``rnnkit`` command's entry point. It lies outside the ``rnnkit`` package so that it runs
before torch is imported: Ctrl-C during the second or two that import takes ends as Ctrl-C at
any later moment does, with one line and status 130, not a traceback.

While the command's modules are imported, SIGINT is only noted: raised as KeyboardInterrupt
inside a library's import, it could be caught there and turned into another error, or lost."""
import signal
import sys


def main() -> int:
    interrupted = []
    previous = signal.signal(signal.SIGINT, lambda signum, frame: interrupted.append(signum))
    try:
        from rnnkit.cli import main as command
    finally:
        signal.signal(signal.SIGINT, previous)
    if interrupted:
        print("rnnkit: interrupted", file=sys.stderr)
        return 128 + signal.SIGINT
    return command()
