"""`python -m infogan COMMAND [flags]`: the commands without installing the package.

COMMAND is train, evaluate, sample or parity (installed: infogan-train, infogan-evaluate, ...).
"""
import importlib
import sys

# command -> the module whose run() it is
COMMANDS = {"train": "infogan.cli.train", "evaluate": "infogan.cli.evaluate",
            "sample": "infogan.cli.sample", "parity": "infogan.parity.command"}


def main():
    """Runs the command named by the first argument, with the rest as its flags."""
    if len(sys.argv) < 2 or sys.argv[1] not in COMMANDS:
        print("usage: python -m infogan {%s} [flags]   (--help after the command lists its flags)"
              % ",".join(COMMANDS), file=sys.stderr)
        sys.exit(2)
    command = sys.argv.pop(1)
    sys.argv[0] = "infogan-%s" % command
    importlib.import_module(COMMANDS[command]).run()


if __name__ == "__main__":
    main()
