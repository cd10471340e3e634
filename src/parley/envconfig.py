"""Every ``parley serve`` option from the environment, the twelve-factor way: ``--api-rate`` is also
``PARLEY_API_RATE``, and any of them may instead name a file (``PARLEY_TURN_SECRET_FILE``), as container
secrets are mounted. A flag beats the environment, which beats the built-in default.

argparse has no environment support of its own; this sets each option's default from the environment before
parsing, so ``--help`` shows the variable and the value in force, and bad values fail the way bad flags do.
"""

from __future__ import annotations

import argparse
from collections.abc import Mapping
from pathlib import Path
from typing import Any

PREFIX = "PARLEY_"
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def variable(action: argparse.Action, aliases: Mapping[str, str] | None = None) -> str:
    return (aliases or {}).get(action.dest) or PREFIX + action.dest.upper()


def environment_defaults(
    parser: argparse.ArgumentParser, env: Mapping[str, str], aliases: Mapping[str, str] | None = None
) -> None:
    """Set the defaults of ``parser``'s options from ``env`` and name the variables in their help.

    ``aliases`` maps an option's dest to a variable name kept for compatibility (``PARLEY_TURN_URIS``).
    A value that does not convert (or is not one of the choices) exits with status 2, naming the variable.
    """
    for action in parser._actions:
        if not action.option_strings or isinstance(action, (argparse._HelpAction, argparse._VersionAction)):
            continue
        name = variable(action, aliases)
        action.help = f"{action.help or ''} [env: {name}]".strip()
        raw = env.get(name)
        source = name
        if raw is None and not action.dest.endswith("_file") and env.get(name + "_FILE"):
            source = name + "_FILE"
            try:
                raw = Path(env[source]).read_text().strip()
            except OSError as exc:
                parser.error(f"${source}: cannot read {env[source]}: {exc.strerror or exc}")
        if raw is None:
            continue
        try:
            action.default = _convert(action, raw)
        except (ValueError, TypeError, argparse.ArgumentTypeError) as exc:
            parser.error(f"${source}: {exc}")
        if isinstance(action, argparse._AppendAction):
            # argparse appends a repeated option to its default: the flags must replace the variable's list.
            action.default = _FromEnvironment(action.default)
            action.__class__ = _AppendOverEnvironment
        action.required = False


def _convert(action: argparse.Action, raw: str) -> object:
    if isinstance(action, (argparse._StoreTrueAction, argparse._StoreFalseAction)):
        value = raw.strip().lower()
        if value not in _TRUE | _FALSE:
            raise ValueError(f"expected true or false, not {raw!r}")
        on = value in _TRUE
        return on if isinstance(action, argparse._StoreTrueAction) else not on
    if isinstance(action, argparse._AppendAction):
        return [_one(action, part.strip()) for part in raw.split(",") if part.strip()]
    return _one(action, raw)


def _one(action: argparse.Action, raw: str) -> object:
    value = action.type(raw) if callable(action.type) else raw
    if action.choices is not None and value not in action.choices:
        choices = ", ".join(map(str, action.choices))
        raise ValueError(f"{raw!r} is not one of {choices}")
    return value


class _FromEnvironment(list):  # type: ignore[type-arg]
    """A repeatable option's default that came from the environment (replaced, not extended, by flags)."""


class _AppendOverEnvironment(argparse._AppendAction):
    def __call__(
        self, parser: Any, namespace: argparse.Namespace, values: Any, option_string: Any = None
    ) -> None:
        if isinstance(getattr(namespace, self.dest, None), _FromEnvironment):
            setattr(namespace, self.dest, [])
        super().__call__(parser, namespace, values, option_string)
