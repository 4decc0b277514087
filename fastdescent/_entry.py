"""The ``fastdescent`` command's entry point: imports nothing but ``sys`` before it can
catch a Ctrl-C, so that one pressed while the command starts ends with exit 130 and the
usual message instead of a traceback from the import of ``fastdescent.cli``."""

import sys


def main(argv=None) -> int:
    try:
        from .cli import main as cli_main
    except KeyboardInterrupt:
        print(
            "\nfastdescent: interrupted before any work started. Run the same command again "
            "to start.",
            file=sys.stderr,
        )
        return 130
    return cli_main(argv)
