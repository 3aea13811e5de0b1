"""`python -m infogan.parity`: the parity command (infogan/parity/command.py)."""
from infogan.parity import command

command.run()
