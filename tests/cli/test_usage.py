"""Help, usage errors (exit 2), I/O errors (exit 2) and --json error objects."""
import json

import pytest

from clijwt import FIXTURE_PRIV, FIXTURE_PUB, FIXTURE_JWKS, NOW, fixture, run

COMMANDS = ["decode", "lint", "verify", "authenticate", "mint", "keygen"]


def test_no_arguments_is_a_usage_error():
    r = run()
    assert r.rc == 2
    assert "Usage: clerk-jwt" in r.err
    assert "missing COMMAND" in r.err


@pytest.mark.parametrize("flag", ["--help", "-h"])
def test_tool_help(flag):
    r = run(flag)
    assert r.rc == 0
    assert r.out.startswith("Usage: clerk-jwt")
    for c in COMMANDS:
        assert f"  {c}" in r.out
    assert "Exit status: 0 valid/ok, 1 rejected or findings, 2 usage or I/O error." in r.out


@pytest.mark.parametrize("cmd", COMMANDS)
def test_subcommand_help(cmd):
    for args in ([cmd, "--help"], [cmd, "-h"], ["help", cmd]):
        r = run(*args)
        assert r.rc == 0, args
        assert r.out.startswith(f"Usage: clerk-jwt {cmd}"), args


def test_help_wins_over_other_errors():
    assert run("verify", "--bogus", "--help").rc == 2      # the unknown option comes first
    assert run("verify", "--help", "--bogus").rc == 0


@pytest.mark.parametrize("args,needle", [
    (["frobnicate"], "unknown command 'frobnicate'"),
    (["help", "frobnicate"], "unknown command 'frobnicate'"),
    (["--bogus", "decode", "x"], "unknown option '--bogus'"),
    (["decode"], "missing TOKEN"),
    (["decode", "a.b.c", "d.e.f"], "expects one TOKEN"),
    (["decode", "--bogus", "a.b.c"], "unknown option '--bogus'"),
    (["decode", "-x", "a.b.c"], "unknown option '-x'"),
    (["decode", "--now"], "needs a value"),
    (["decode", "--now", "yesterday", "a.b.c"], "--now needs Unix seconds"),
    (["lint", "--accept", "cookie", "a.b.c"], "unknown token type 'cookie'"),
    (["lint", "--clock-skew", "-1", "a.b.c"], "--clock-skew"),
    (["verify", "a.b.c"], "no key given"),
    (["verify", "a.b.c", "--clock-skew", "3601", "--pem", FIXTURE_PUB], "0 to 3600"),
    (["verify", "a.b.c", "--pem", FIXTURE_PUB, "--issuer", "clerk.example.com"],
     "not an http(s) URL"),
    (["verify", "a.b.c", "--pem", FIXTURE_PUB, "--authorized-party", "https://app.example.com/"],
     "is not an origin"),
    (["verify", "a.b.c", "--pem", FIXTURE_PUB, "--issuer", "off", "--issuer", "https://x.y"],
     "--issuer off cannot be combined"),
    (["verify", "a.b.c", "--pem", FIXTURE_PUB, "--publishable-key", "pk_test_bm9kb2xsYXI="],
     "--publishable-key"),
    (["verify", "a.b.c", "--pem", FIXTURE_PUB, "--allow-pending=yes"], "takes no value"),
    (["mint"], "--key PRIVATE.pem is required"),
    (["mint", "--key", FIXTURE_PRIV, "--alg", "HS256"], "--alg must be RS256, RS384 or RS512"),
    (["mint", "--key", FIXTURE_PRIV, "--ttl", "soon"], "--ttl"),
    (["mint", "--key", FIXTURE_PRIV, "--claims", "[1,2]"], "--claims: not a JSON object"),
    (["mint", "--key", FIXTURE_PRIV, "--claims", '{"a":1,"a":2}'], "--claims: not a JSON object"),
    (["mint", "--key", FIXTURE_PRIV, "extra"], "unexpected argument 'extra'"),
    (["keygen"], "--out DIR is required"),
    (["keygen", "--out", "/tmp/x", "--bits", "1024"], "--bits must be 2048, 3072 or 4096"),
])
def test_usage_errors_exit_2(args, needle):
    r = run(*args)
    assert r.rc == 2, r
    assert needle in r.err, r
    assert r.out == ""


def test_usage_error_with_json_prints_an_error_object():
    r = run("verify", "a.b.c", "--json")
    assert r.rc == 2
    j = r.json
    assert j == {"ok": False, "command": "verify", "error": "usage",
                 "message": "no key given: pass --pem, --jwks, --secret-key or --publishable-key"}


def test_io_error_with_json_prints_an_error_object(tmp_path):
    r = run("verify", "a.b.c", "--pem", tmp_path / "missing.pem", "--json")
    assert r.rc == 2
    assert r.json["error"] == "io"
    assert "cannot open" in r.json["message"]


def test_plain_http_key_source_is_refused_unless_loopback():
    t = fixture("signedJwt/valid-pem")["token"]
    r = run("verify", t, "--jwks", "http://clerk.example.com/.well-known/jwks.json")
    assert r.rc == 2
    assert "plain http is allowed only to loopback hosts" in r.err


def test_secret_key_is_never_echoed():
    secret = "sk_test_SuperSecretValue123"
    # a refused Backend API call (nothing listens on port 9) and a usage error
    r = run("verify", fixture("signedJwt/valid-pem")["token"], "--secret-key", secret,
            "--api-url", "http://127.0.0.1:9")
    assert r.rc == 2 and secret not in r.out + r.err
    r = run("verify", "x.y.z", "--secret-key", secret, "--api-url", "ftp://x", "--json")
    assert r.rc == 2 and secret not in r.out + r.err


@pytest.mark.parametrize("cmd", ["decode", "lint", "verify"])
def test_empty_stdin_token_is_a_usage_error(cmd):
    r = run(cmd, "-", "--pem", FIXTURE_PUB, stdin="  \n") if cmd == "verify" else \
        run(cmd, "-", stdin="\n\t ")
    assert r.rc == 2
    assert "the token is empty" in r.err


def test_oversized_stdin_is_an_io_error():
    r = run("decode", "-", stdin="a" * (1024 * 1024 + 10))
    assert r.rc == 2
    assert "larger than 1 MiB" in r.err


def test_missing_files_are_io_errors(tmp_path):
    t = fixture("signedJwt/valid-pem")["token"]
    for args in (["verify", t, "--pem", tmp_path / "none.pem"],
                 ["verify", t, "--jwks", tmp_path / "none.json"],
                 ["mint", "--key", tmp_path / "none.pem"],
                 ["mint", "--key", FIXTURE_PRIV, "--claims", f"@{tmp_path / 'none.json'}"]):
        r = run(*args)
        assert r.rc == 2, (args, r)
        assert "cannot open" in r.err


def test_wrong_key_files_are_io_errors(tmp_path):
    t = fixture("signedJwt/valid-pem")["token"]
    r = run("verify", t, "--pem", FIXTURE_PRIV)     # a private key where a public key belongs
    assert r.rc == 2 and "private key" in r.err
    assert "PRIVATE KEY" not in r.out + r.err.replace("private key", "")
    r = run("verify", t, "--jwks", FIXTURE_PUB)     # PEM where a JWKS belongs
    assert r.rc == 2
    r = run("mint", "--key", FIXTURE_PUB)           # a public key where a private key belongs
    assert r.rc == 2 and "it is a public key" in r.err
    enc = tmp_path / "enc.pem"
    enc.write_text("-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----\n")
    r = run("mint", "--key", enc)
    assert r.rc == 2 and "encrypted" in r.err


def test_json_flag_is_accepted_anywhere():
    t = fixture("signedJwt/valid-pem")["token"]
    for args in (["--json", "decode", t], ["decode", "--json", t], ["decode", t, "--json"]):
        r = run(*args, "--now", NOW)
        assert r.rc == 0
        assert json.loads(r.out)["ok"] is True


def test_double_dash_ends_options():
    r = run("decode", "--now", NOW, "--", "--not-an-option")
    assert r.rc == 1       # taken as the token, which is not a JWT
    assert "not a decodable JWT" in r.out


def test_pem_wins_over_jwks_like_the_module():
    t = fixture("signedJwt/valid-pem")
    other = FIXTURE_JWKS.parent / "jwks_integration_b.json"      # another key, other kid
    r = run("verify", t["token"], "--now", t["now"], "--pem", FIXTURE_PUB, "--jwks", other)
    assert r.rc == 0
    assert "--pem is used, --jwks ignored" in r.err
