"""The ``rnnkit`` command's entry point. It lies outside the ``rnnkit`` package so that it runs
before torch is imported: Ctrl-C during the second or two that import takes ends as Ctrl-C at
any later moment does, with one line and status 130, not a traceback."""
import signal
import sys


def main() -> int:
    try:
        from rnnkit.cli import main as command
    except KeyboardInterrupt:
        print("rnnkit: interrupted", file=sys.stderr)
        return 128 + signal.SIGINT
    return command()
