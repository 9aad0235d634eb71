"""The user's documents say what the product does: the README's length, its commands,
and the program format's example."""

from __future__ import annotations

import re
from pathlib import Path

from click.testing import CliRunner

from voicecoach.cli import main

ROOT = Path(__file__).parent.parent


def test_the_readme_is_for_users_and_short():
    lines = (ROOT / "README.md").read_text().splitlines()
    assert len(lines) < 200, len(lines)


def test_every_command_the_readme_lists_exists():
    readme = (ROOT / "README.md").read_text()
    commands = readme.split("## Commands", 1)[1].split("\n## ", 1)[0]
    listed = set(re.findall(r"^voicecoach (\w+)", commands, re.M))
    assert {"screen", "plan", "start", "history", "report", "export", "dizziness"} <= listed
    for command in listed:
        result = CliRunner().invoke(main, [command, "--help"])
        assert result.exit_code == 0, (command, result.output)


def test_the_program_format_example_is_a_safe_program(tmp_path: Path):
    text = (ROOT / "docs" / "programs.md").read_text()
    example = re.search(r"```toml\n(.*?)```", text, re.S)
    assert example is not None
    path = tmp_path / "example.toml"
    path.write_text(example.group(1))
    result = CliRunner().invoke(main, ["programs", "check", str(path)])
    assert (result.exit_code, result.output) == (0, "ok\n")
