"""The command table: help, dispatch and the unknown-command error agree, and
the help shows what the commands really do and the core's defaults."""
import re

import pytest

from clijwt import run

# The table in cli/main.c, in its order.
TABLE = ["decode", "lint", "verify", "authenticate", "mint", "keygen", "help"]


def listed_commands(help_text):
    section = help_text.split("Commands:\n", 1)[1].split("\n\n", 1)[0]
    return [re.match(r"  (\S+)", line).group(1) for line in section.splitlines()]


def test_tool_help_lists_exactly_the_commands_of_the_table():
    assert listed_commands(run("--help").out) == TABLE


@pytest.mark.parametrize("args", [["frobnicate"], ["help", "frobnicate"]])
def test_unknown_command_error_lists_the_commands(args):
    r = run(*args)
    assert r.rc == 2
    assert "(" + ", ".join(TABLE) + ")" in r.err


@pytest.mark.parametrize("cmd", TABLE)
def test_every_listed_command_dispatches_and_has_help(cmd):
    r = run("help", cmd)
    assert r.rc == 0 and r.out.startswith(f"Usage: clerk-jwt {cmd}")
    assert "unknown command" not in run(cmd, "--help").err


def test_verify_help_documents_the_network_key_sources_it_has():
    out = run("verify", "--help").out
    assert "refused" not in out and "Not in this build" not in out
    for option in ("--jwks URL", "--secret-key SK", "--api-url URL"):
        assert option in out
    assert "https://api.clerk.com" in out


@pytest.mark.parametrize("cmd", ["decode", "lint", "verify"])
def test_help_shows_the_cores_clock_skew_default(cmd):
    assert "(default 5)" in run(cmd, "--help").out
