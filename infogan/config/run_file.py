"""A run's config.json: its TrainConfig, written into its log folder and read back by --resume,
evaluation and sampling.

The file is one flat object of every flag-named field, with the model's fields under "model" (the
layout every version of the package has written and read); both directions are derived from the
fields of TrainConfig's parts.
"""
import dataclasses
import json
import os
import typing

from infogan import data
from infogan.config.checks import validate_architectures, validate_numbers
from infogan.config.errors import ConfigError, require
from infogan.config.parts import PARTS, TrainConfig
from infogan.model.options import TF1

CONFIG_FILE = "config.json"  # a run's TrainConfig, in its log folder
# Values of fields that runs written before the field existed had.
OLDER_RUNS = {"image_order": data.SORTED_ORDER}  # older runs listed folders sorted


def config_to_json(config):
    """The JSON object of a TrainConfig: {field name: value}, the model's under "model"."""
    values = {name: value for name, value in config.flat().items()
              if name not in {field.name for field in dataclasses.fields(PARTS["model"])}}
    values["model"] = dataclasses.asdict(config.model)
    return values


def config_from_json(values):
    """The TrainConfig of a JSON object written by `config_to_json` (fields added since a run was
    written take the value older runs had, else the default; the TF1 code's flags, which every
    version wrote, must be there; names it does not know are ignored).

    Raises:
      KeyError, TypeError, ValueError, AttributeError: the object is not a run's configuration.
    """
    values = dict(values)
    model = values.pop("model")
    if not isinstance(model, dict):
        raise TypeError("its model is %s, not an object" % type(model).__name__)
    parts = {"model": _part_from_json(PARTS["model"], model)}
    for name, cls in PARTS.items():
        if name != "model":
            parts[name] = _part_from_json(cls, values)
    return TrainConfig(**parts)


def _part_from_json(cls, values):
    hints = typing.get_type_hints(cls)
    known = {}
    for field in dataclasses.fields(cls):
        if field.metadata.get("group") == TF1 and field.name not in values:
            # every version has written the TF1 code's flags: without one, it is no run's file
            raise KeyError("no %r" % field.name)
        if field.name in values:
            value = values[field.name]
            if typing.get_origin(hints[field.name]) is tuple and value is not None:
                value = tuple(value)
            known[field.name] = value
        elif field.name in OLDER_RUNS:
            known[field.name] = OLDER_RUNS[field.name]
    return cls(**known)


def save_run_config(log_dir, config):
    """Writes a run's TrainConfig as JSON into its log folder (atomically)."""
    path = os.path.join(log_dir, CONFIG_FILE)
    with open(path + ".tmp", "w") as stream:
        json.dump(config_to_json(config), stream, indent=2, sort_keys=True)
    os.replace(path + ".tmp", path)


def load_run_config(log_dir):
    """Reads the TrainConfig a run was started with.

    Raises:
      ConfigError: the folder holds no config.json (it is not a run of this package), or one that
        cannot be read as a run's configuration.
    """
    path = os.path.join(log_dir, CONFIG_FILE)
    require(os.path.isdir(log_dir), "%s is not a folder; pass the log folder of a run" % log_dir)
    require(os.path.exists(path), "%s holds no %s: pass the log folder of a run started by this "
            "package" % (log_dir, CONFIG_FILE))
    try:
        with open(path) as stream:
            config = config_from_json(json.load(stream))
        validate_numbers(config)
        validate_architectures(config.model)
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as error:
        detail = str(error).splitlines()[0] if str(error) else ""
        raise ConfigError("%s cannot be read as a run's configuration (%s: %s); it was damaged or "
                          "written by something else" % (path, type(error).__name__, detail)) from None
    return config


def resumed_config(log_dir, **changes):
    """The saved config of the run in `log_dir`, set to resume there, with `changes` applied
    (by flag name: those that may differ between sessions, epochs, speed settings...).

    Raises:
      ConfigError: see `load_run_config`.
    """
    return load_run_config(log_dir).replace(resume=True, logdir=log_dir, **changes)
