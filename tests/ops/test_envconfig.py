"""Every `parley serve` option from a PARLEY_* variable: flag > environment > default, secrets from files."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from parley import cli


def serve_args(argv: list[str], env: dict[str, str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="parley")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("serve")
    cli._serve_options(p, env)
    return parser.parse_args(["serve", *argv])


def test_environment_sets_defaults_and_flags_win() -> None:
    env = {
        "PARLEY_PORT": "9001",
        "PARLEY_API_RATE": "2.5",
        "PARLEY_LOG_FORMAT": "json",
        "PARLEY_LAZY_MODEL": "yes",
    }
    args = serve_args([], env)
    assert (args.port, args.api_rate, args.log_format, args.lazy_model) == (9001, 2.5, "json", True)
    args = serve_args(["--port", "9002", "--log-format", "text"], env)
    assert (args.port, args.log_format) == (9002, "text")
    args = serve_args([], {})
    assert (args.port, args.api_rate, args.log_format, args.lazy_model) == (8000, 10.0, "text", False)


def test_repeatable_options_take_a_comma_list_and_keep_their_old_names() -> None:
    env = {"PARLEY_TURN_URIS": "turn:a.example:3478, turns:b.example:5349"}
    assert serve_args([], env).turn_uri == ["turn:a.example:3478", "turns:b.example:5349"]
    # Flags replace the variable's list (argparse alone would append them to it).
    args = serve_args(["--turn-uri", "turn:c.example:3478", "--turn-uri", "turn:d.example:3478"], env)
    assert args.turn_uri == ["turn:c.example:3478", "turn:d.example:3478"]


def test_a_secret_comes_from_a_file(tmp_path: Path) -> None:
    secret = tmp_path / "turn-secret"
    secret.write_text("s3cret\n")
    args = serve_args([], {"PARLEY_TURN_SECRET_FILE": str(secret)})
    assert args.turn_secret == "s3cret"
    url = tmp_path / "db-url"
    url.write_text("postgresql://parley:pw@db/parley")
    assert (
        serve_args([], {"PARLEY_DATABASE_URL_FILE": str(url)}).database_url
        == "postgresql://parley:pw@db/parley"
    )
    # The variable itself beats its file.
    assert serve_args([], {"PARLEY_PORT": "1", "PARLEY_PORT_FILE": str(url)}).port == 1


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"PARLEY_PORT": "eighty"}, "$PARLEY_PORT"),
        ({"PARLEY_LOG_FORMAT": "xml"}, "$PARLEY_LOG_FORMAT"),
        ({"PARLEY_LAZY_MODEL": "maybe"}, "$PARLEY_LAZY_MODEL"),
        ({"PARLEY_DEVICE": "tpu"}, "$PARLEY_DEVICE"),
        ({"PARLEY_REDIS_URL_FILE": "/nonexistent/redis-url"}, "$PARLEY_REDIS_URL_FILE"),
    ],
)
def test_a_bad_value_is_a_usage_error_naming_the_variable(
    env: dict[str, str], named: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exc:
        serve_args([], env)
    assert exc.value.code == 2
    assert named in capsys.readouterr().err


def test_help_names_every_variable(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        serve_args(["--help"], {})
    text = " ".join(capsys.readouterr().out.split())
    for name in ("PARLEY_PORT", "PARLEY_DATABASE_URL", "PARLEY_REDIS_URL", "PARLEY_API_RATE", "PARLEY_LOG_FORMAT",
                 "PARLEY_TURN_URIS", "PARLEY_MODEL", "PARLEY_HEADER_TIMEOUT"):  # fmt: skip
        assert f"[env: {name}]" in text, name
