"""`python -m infogan COMMAND [flags]`: the commands without installing the package.

COMMAND is train, evaluate, sample or parity (installed: infogan-train, infogan-evaluate, ...).
"""
import importlib
import sys

from infogan.cli.common import HELP_FLAGS

# command -> the module whose run() it is
COMMANDS = {"train": "infogan.cli.train", "evaluate": "infogan.cli.evaluate",
            "sample": "infogan.cli.sample", "parity": "infogan.parity.command"}


USAGE = ("usage: python -m infogan {%s} [flags]   (--help after the command lists its flags)"
         % ",".join(COMMANDS))


def main():
    """Runs the command named by the first argument, with the rest as its flags; --help prints
    the usage (exit 0), anything else that is not a command prints it on stderr (exit 2)."""
    if len(sys.argv) == 2 and sys.argv[1] in HELP_FLAGS:
        print(USAGE)
        sys.exit(0)
    if len(sys.argv) < 2 or sys.argv[1] not in COMMANDS:
        print(USAGE, file=sys.stderr)
        sys.exit(2)
    command = sys.argv.pop(1)
    sys.argv[0] = "python -m infogan %s" % command  # the program name of its messages
    importlib.import_module(COMMANDS[command]).run()


if __name__ == "__main__":
    main()
