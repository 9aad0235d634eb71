"""How hearing fails to start: one plain sentence for the user, in a module of its own so
that the judge's process can raise it without loading the rest of hearing."""


class HearingSetupError(RuntimeError):
    """The recogniser could not be set up (a model or the vocabulary missing or damaged)."""
