"""`voicecoach screen`: the safety screening, asked before the first session and every 90 days."""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import date
from pathlib import Path

import click

from voicecoach.cli.common import db_option, json_option
from voicecoach.cli.database import DatabaseProblem, resolve_db_path
from voicecoach.protocol.screening import (
    QUESTIONS,
    QUESTIONS_BY_ID,
    Status,
    parse_answers,
    record_screening,
    screening_status,
)
from voicecoach.store import StoreError


class ScreeningProblem(click.ClickException):
    """Bad input to the screening commands: one line, exit code 2."""

    exit_code = 2


def status_json(status: Status) -> str:
    return json.dumps(asdict(status), indent=2, default=str)


def _ask_all() -> dict[str, bool]:
    click.echo("Before you hang upside down, a few yes/no questions. Each one is a known "
               "reason\nto avoid inversion. If you are not sure, answer yes and ask your "
               "doctor.\n")
    answers: dict[str, bool] = {}
    for number, question in enumerate(QUESTIONS, start=1):
        # No default: a safety answer is always typed, never assumed.
        answers[question.id] = click.confirm(f"{number}/{len(QUESTIONS)}. {question.text}",
                                             default=None)
    return answers


def _report(status: Status, answers: dict[str, bool]) -> None:
    yes = [QUESTIONS_BY_ID[qid] for qid, answer in answers.items() if answer]
    if yes:
        click.echo("\nYou answered yes to:")
        for question in yes:
            click.echo(f"  - {question.label}: {question.why}")
    click.echo(f"\n{status.reason}")


@click.command()
@db_option
@click.option("--answers", metavar="IDS|none",
              help="Answer without prompts: the comma-separated ids of the questions you "
                   "answer yes to, or 'none'. Every other question is answered no. "
                   "See --questions for the ids.")
@click.option("--status", "show_status", is_flag=True,
              help="Only say whether sessions may start, and why; ask nothing.")
@click.option("--questions", "list_questions", is_flag=True,
              help="List the questions and their ids; ask nothing.")
@json_option
def screen(db_path: Path | None, answers: str | None, show_status: bool,
           list_questions: bool, json_: bool) -> None:
    """Answer the safety screening (before the first session, then every 90 days).

    Each question is a known reason not to hang upside down. Any "yes" blocks
    sessions until a doctor or physical therapist clears you (`voicecoach
    clearance`). Answers are stored with the date.

    \b
    Examples:
      voicecoach screen
      voicecoach screen --status
      voicecoach screen --answers none
      voicecoach screen --answers glaucoma,vertigo
    """
    if list_questions:
        if json_:
            click.echo(json.dumps([asdict(q) for q in QUESTIONS], indent=2))
        else:
            for question in QUESTIONS:
                click.echo(f"{question.id}: {question.text}")
        return
    db = resolve_db_path(db_path)
    today = date.today()
    try:
        if show_status:
            status = screening_status(db, today)
            click.echo(status_json(status) if json_ else status.reason)
            return
        if answers is not None:
            try:
                given = parse_answers(answers)
            except ValueError as e:
                raise ScreeningProblem(f"--answers: {e}") from None
        else:
            given = _ask_all()
        status = record_screening(db, given, today)
    except StoreError as e:
        raise DatabaseProblem(str(e)) from None
    if json_:
        click.echo(status_json(status))
    else:
        _report(status, given)
