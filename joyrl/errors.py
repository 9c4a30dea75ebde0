"""Errors a user can fix: the command line prints them as one line, with no traceback."""


class JoyRLError(Exception):
    """A problem with the user's input or files, stated with what to do about it."""


class ConfigError(JoyRLError):
    """A bad configuration value, key, section or file."""


class ContractError(JoyRLError, TypeError):
    """An algorithm folder breaks a contract of the framework (joyrl/contracts.py, joyrl/acting.py)."""
