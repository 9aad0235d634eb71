"""Where voicecoach keeps its files: an env var override, else the platform's own dirs."""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

HOME_ENV = "VOICECOACH_HOME"
"""Set to a folder to keep the database, config and caches there (tests use a temp dir)."""


def data_dir(create: bool = True) -> Path:
    """The database, the session log and the recovery journals; made if missing unless
    `create` is False."""
    override = os.environ.get(HOME_ENV)
    path = Path(override) if override else Path(platformdirs.user_data_dir("voicecoach"))
    if create:
        path.mkdir(parents=True, exist_ok=True)
    return path


def config_dir(create: bool = True) -> Path:
    """The config folder; made if missing unless `create` is False (a command that only
    reads, such as `programs list`, leaves no folder behind)."""
    override = os.environ.get(HOME_ENV)
    path = Path(override) / "config" if override else Path(
        platformdirs.user_config_dir("voicecoach"))
    if create:
        path.mkdir(parents=True, exist_ok=True)
    return path


def cache_dir(create: bool = True) -> Path:
    """Rendered speech; made if missing unless `create` is False."""
    override = os.environ.get(HOME_ENV)
    path = Path(override) / "cache" if override else Path(
        platformdirs.user_cache_dir("voicecoach"))
    if create:
        path.mkdir(parents=True, exist_ok=True)
    return path


def default_db_path(create: bool = True) -> Path:
    return data_dir(create) / "voicecoach.db"
