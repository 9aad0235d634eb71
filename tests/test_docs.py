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


def test_the_readme_s_shell_completion_completes_commands_and_choices() -> None:
    """The README's completion line, as bash runs it: commands, then an option's choices."""
    import os
    import subprocess
    import sys

    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    assert '"$(_VOICECOACH_COMPLETE=bash_source voicecoach)"' in readme
    program = [sys.executable, "-c", "import sys; sys.argv[0] = 'voicecoach'; "
               "from voicecoach.cli import main; main(prog_name='voicecoach')"]

    def complete(words: str) -> list[str]:
        env = {**os.environ, "_VOICECOACH_COMPLETE": "bash_complete", "COMP_WORDS": words,
               "COMP_CWORD": str(len(words.split()) - (0 if words.endswith(" ") else 1))}
        result = subprocess.run(program, env=env, capture_output=True, text=True, timeout=60)
        return [line.split(",", 1)[1] for line in result.stdout.splitlines()]

    assert complete("voicecoach hi") == ["history"]
    assert "restore" in complete("voicecoach re")
    assert complete("voicecoach export --format ") == ["csv", "json", "fhir"]
    source = subprocess.run(program, env={**os.environ, "_VOICECOACH_COMPLETE": "bash_source"},
                            capture_output=True, text=True, timeout=60).stdout
    assert "complete -o nosort -F _voicecoach_completion voicecoach" in source
