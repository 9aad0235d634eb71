"""The voicecoach command line: a thin click layer over the library.

Each command lives in its own module in this package and is registered below.
"""

from __future__ import annotations

import sys
from typing import Any

import click

from voicecoach import __version__

CONTEXT_SETTINGS = {"help_option_names": ["-h", "--help"]}


class OneLineErrors(click.Group):
    """Bad input gets one plain line on stderr and exit code 2: no usage block, no traceback.

    Someone strapped to a table, or a script driving a session, needs the
    reason, not a screenful. `--help` still teaches the rest.
    """

    def main(self, *args: Any, **kwargs: Any) -> Any:
        from voicecoach.logs import quiet_terminal

        quiet_terminal()
        if not kwargs.get("standalone_mode", True):
            return super().main(*args, **kwargs)
        try:
            return super().main(*args, **{**kwargs, "standalone_mode": False})
        except click.UsageError as e:
            where = f" (see: {e.ctx.command_path} --help)" if e.ctx is not None else ""
            click.echo(f"Error: {e.format_message()}{where}", err=True)
            sys.exit(2)
        except click.ClickException as e:
            e.show()
            sys.exit(e.exit_code)
        except click.Abort:
            click.echo("Aborted.", err=True)
            sys.exit(1)


@click.group(cls=OneLineErrors, context_settings=CONTEXT_SETTINGS)
@click.version_option(__version__, prog_name="voicecoach")
@click.pass_context
def main(ctx: click.Context) -> None:
    """A hands-free voice coach for inversion-table sessions.

    It speaks every step of the session, times the holds, asks for your pain
    from 0 to 10, and starts the return upright the moment you say "stop".
    Everything is logged to a local SQLite database.

    \b
    Start a session:          voicecoach start
    Without a microphone:     voicecoach start --text
    See past sessions:        voicecoach history
    Settings for every run:   voicecoach config show
    """
    from voicecoach.cli.settings import defaults_for

    # The config file's values become the subcommand's defaults: click puts them below
    # the option and its env var, so every key has the same order.
    command = ctx.invoked_subcommand
    defaults = defaults_for(command)
    if command and defaults:
        given = dict(ctx.default_map or {})
        # A default_map passed in by a caller (a test, a script) wins over the file.
        given[command] = {**defaults, **given.get(command, {})}
        ctx.default_map = given


def _register() -> None:
    # Imported here so that each command module can import `main`'s helpers freely.
    from voicecoach.cli import backup, clearance, history, plan, programs, screen, start

    main.add_command(start.start)
    main.add_command(history.history)
    main.add_command(backup.backup)
    main.add_command(backup.restore)
    main.add_command(programs.programs)
    main.add_command(screen.screen)
    main.add_command(clearance.clearance)
    from voicecoach.cli import dizziness
    main.add_command(dizziness.dizziness)
    main.add_command(plan.plan_command)
    from voicecoach.cli import track
    main.add_command(track.track)
    from voicecoach.cli import report
    main.add_command(report.report)
    from voicecoach.cli import export
    main.add_command(export.export)
    from voicecoach.cli import doctor
    main.add_command(doctor.doctor)
    from voicecoach.cli import recover
    main.add_command(recover.recover)
    from voicecoach.cli import paths
    main.add_command(paths.paths_command)
    from voicecoach.cli import config
    main.add_command(config.config_command)
    from voicecoach.cli import eval as eval_cli
    from voicecoach.cli import listen
    main.add_command(listen.listen)
    main.add_command(eval_cli.eval_command)


_register()
