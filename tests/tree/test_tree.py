"""Checks of the source tree that keep its rules true (make tree-check):

- the core under src/ never includes an httpd header (only src/httpd/ and
  mod_auth_clerk.c may);
- every directive of the command table has a README row, and every README
  directive row names a directive of the table;
- every field of the configuration structures has a merge rule;
- every log tag (CLERKNO) is used once;
- conf/auth_clerk.conf, the reference configuration, has an entry (default,
  context, a commented-out example) for every directive and none other;
- the clerk-jwt(1) man page names every command of cli/main.c's table and
  every option of the CLI's option tables.
"""
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
HTTPD_HEADERS = re.compile(r'#\s*include\s*[<"](httpd|http_[a-z_]+|mod_[a-z_]+|ap_[a-z_]+|util_[a-z_]+)\.h[>"]')


def core_files():
    return sorted(p for p in (ROOT / "src").glob("*.[ch]"))


def glue_text():
    return "\n".join(p.read_text() for p in [ROOT / "mod_auth_clerk.c"] +
                     sorted((ROOT / "src" / "httpd").glob("*.[ch]")))


def command_table():
    text = (ROOT / "src" / "httpd" / "config_directives.c").read_text()
    table = text[text.index("const command_rec mac_cmds[]"):]
    return re.findall(r'AP_INIT_[A-Z0-9_]+\("([A-Za-z]+)"', table)


def readme_directives():
    text = (ROOT / "README.md").read_text()
    section = text[text.index("## Directives"):text.index("## Require providers")]
    return [m for m in re.findall(r"^\| `(?:AuthType )?(Clerk[A-Za-z]+)", section, re.M)]


def struct_fields(text, name):
    end = text.index("} %s;" % name)
    body = text[text.rindex("typedef struct", 0, end):end]
    body = body[body.index("{") + 1:]
    body = re.sub(r"/\*.*?\*/", "", body, flags=re.S)
    fields = []
    for decl in body.split(";"):
        decl = decl.strip()
        if not decl:
            continue
        # "type a, b, *c" and "type name[n]"
        names = re.findall(r"(\w+)\s*(?:\[[^\]]*\])?\s*(?:,|$)", decl)
        fields += names
    return fields


def test_core_has_no_httpd_header():
    bad = ["%s: %s" % (p.relative_to(ROOT), l.strip()) for p in core_files()
           for l in p.read_text().splitlines() if HTTPD_HEADERS.search(l)]
    assert bad == [], bad
    # and the check would see one
    assert HTTPD_HEADERS.search('#include "http_config.h"')


def test_every_directive_has_a_readme_row_and_back():
    table, readme = command_table(), readme_directives()
    assert len(table) > 30 and len(readme) > 30
    assert sorted(set(table) - set(readme)) == [], "directives without a README row"
    assert sorted(set(readme) - set(table)) == [], "README rows of no directive"
    assert len(table) == len(set(table)), "a directive twice in the table"


# fields made after the configuration is read, not merged
COMPUTED = {"clerk_dir_conf": set(),
            "clerk_server_conf": {"budget_bucket", "budget_name", "token_cache", "backend_api"}}


@pytest.mark.parametrize("struct,merge", [("clerk_dir_conf", "mac_merge_dir_conf"),
                                          ("clerk_server_conf", "mac_merge_server_conf")])
def test_every_configuration_field_has_a_merge_rule(struct, merge):
    header = (ROOT / "src" / "httpd" / "auth_clerk.h").read_text()
    config = (ROOT / "src" / "httpd" / "config.c").read_text()
    fields = struct_fields(header, struct)
    assert len(fields) > 8, fields
    start = config.index("void *%s(" % merge)
    body = config[start:config.index("\n}\n", start)]
    missing = [f for f in fields
               if f not in COMPUTED[struct] and not re.search(r"\b%s\b" % f, body)]
    assert missing == [], "%s fields without a merge rule in %s" % (struct, merge)


def test_log_tags_are_unique():
    text = glue_text()
    tags = re.findall(r"CLERKNO\((\d+)\)", text)
    # every message above trace level carries a tag (a call and its format string)
    calls = re.findall(r"ap_log_r?error\(APLOG_MARK, (APLOG_\w+)[^\"]*?(CLERKNO\(\d+\))?\s*\"",
                       text)
    assert len(calls) > 20 and len(tags) >= len(calls) - 3, calls
    untagged = [level for level, tag in calls if not tag and not level.startswith("APLOG_TRACE")]
    assert untagged == [], untagged
    dupes = sorted({t for t in tags if tags.count(t) > 1})
    assert dupes == [], dupes
    assert "APLOGNO(" not in glue_text()


def reference_entries():
    """{directive: its comment block} of conf/auth_clerk.conf, and the
    directives of its example lines ("#ClerkX ...")."""
    text = (ROOT / "conf" / "auth_clerk.conf").read_text()
    blocks = dict(re.findall(r"^# (Clerk[A-Za-z]+)\b.*\n((?:#   .*\n)+)", text, re.M))
    examples = re.findall(r"^#(Clerk[A-Za-z]+) ", text, re.M)
    live = [l for l in text.splitlines()
            if l.strip() and not l.lstrip().startswith("#") and "IfModule" not in l]
    return blocks, examples, live


def test_reference_configuration_has_every_directive_and_back():
    table = command_table()
    blocks, examples, live = reference_entries()
    assert sorted(set(table) - set(blocks)) == [], "directives without an entry"
    assert sorted(set(blocks) - set(table)) == [], "entries of no directive"
    assert sorted(examples) == sorted(table), "not one example line per directive"
    no_default = [d for d, b in blocks.items() if "Default: " not in b or "Context: " not in b]
    assert no_default == [], "entries without Default: and Context:"
    assert live == [], "the shipped reference must set nothing"


def cli_commands():
    text = (ROOT / "cli" / "main.c").read_text()
    table = text[text.index("static const cli_command_t commands[]"):]
    table = table[:table.index("};")]
    return re.findall(r'^    \{"([a-z]+)",', table, re.M)


def cli_options():
    text = "\n".join(p.read_text() for p in sorted((ROOT / "cli").glob("*.c")))
    return sorted(set(re.findall(r'\{"([a-z0-9-]+)",\s*\w+,\s*offsetof', text))) + ["json", "help"]


def test_man_page_lists_every_command_and_option():
    man = (ROOT / "man" / "clerk-jwt.1").read_text()
    commands, options = cli_commands(), cli_options()
    assert len(commands) >= 7 and len(options) > 25, (commands, options)
    sections = re.findall(r"^\.SS ([a-z]+)", man, re.M)
    assert [c for c in commands if c not in sections] == [], "commands without a .SS"
    troff = {o: "\\-\\-" + o.replace("-", "\\-") for o in options}
    assert [o for o in options if troff[o] not in man] == [], "options not in the man page"
