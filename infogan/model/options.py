"""Options: dataclass fields that carry their command-line flag's metadata. Imports nothing of
the package, so every configuration dataclass can use it.

    epochs: int = option(100, "Passes over the data.", TF1, resumable=True)

The command line derives its flags, --help groups and the set a resumed run may change from these.
"""
import dataclasses

# The --help groups: the TF1 code's flags, the port's additions, and what goes beyond the TF1 code.
TF1 = "tf1"
PORT = "port"
BEYOND_TF1 = "beyond_tf1"
GROUPS = (TF1, PORT, BEYOND_TF1)


def option(default, help, group, resumable=False, choices=None, flag=True, from_flag=None,
           flag_type=None, shapes_weights=False):
    """A dataclass field with its flag's metadata.

    Args:
      default: the field's (and the flag's) default.
      help: the flag's help text.
      group: one of GROUPS (its --help section).
      resumable: whether `--resume` may give it anew (how long and how fast, not what is modelled).
      choices: the accepted values of an enum flag.
      flag: False for a field only the library sets (no flag).
      from_flag: turns the flag's value into the field's (default: taken as it is).
      flag_type: the flag's Python type where it is not the field's (e.g. a path for a bool).
      shapes_weights: whether it changes the networks' variables (a checkpoint written with another
        value does not fit).

    Returns:
      a `dataclasses.field`.

    Raises:
      ValueError: an unknown group.
    """
    if group not in GROUPS:
        raise ValueError("group must be one of %s, got %r" % (", ".join(GROUPS), group))
    metadata = {"help": help, "group": group, "resumable": resumable,
                "choices": tuple(choices) if choices is not None else None, "flag": flag,
                "from_flag": from_flag, "flag_type": flag_type,
                "shapes_weights": shapes_weights}
    return dataclasses.field(default=default, metadata=metadata)


def weight_shaping_flags(dataclass):
    """The flags (`--name`) of the fields of `dataclass` that change the networks' variables."""
    return tuple("--" + field.name for field in flag_fields(dataclass)
                 if field.metadata["shapes_weights"])


def flag_fields(dataclass):
    """The fields of `dataclass` (a class or an instance) that are command-line flags."""
    return [field for field in dataclasses.fields(dataclass) if field.metadata.get("flag")]
