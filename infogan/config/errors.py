"""The error of a configuration that cannot work."""


class ConfigError(ValueError):
    """A flag value that cannot work; the message names the flag and what to pass instead."""


def require(condition, message):
    """Raises ConfigError(message) unless `condition`."""
    if not condition:
        raise ConfigError(message)
