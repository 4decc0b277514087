"""``python -m fastdescent`` is the ``fastdescent`` command."""

try:  # a Ctrl-C while this tiny module imports its entry point: exit 130, no traceback
    import sys

    from ._entry import main
except KeyboardInterrupt:
    import os

    os.write(2, b"\nfastdescent: interrupted before any work started. Run the same command "
                b"again to start.\n")  # fmt: skip
    raise SystemExit(130) from None

sys.exit(main())
