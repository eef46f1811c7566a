"""Settings layering: defaults < pyproject.toml < PROFILER_KIT_* env < explicit overrides."""

from __future__ import annotations

from pathlib import Path

import pytest

from profiler_kit.config import DEFAULT_STORE, Settings, SettingsError, load_settings


def _project(root: Path, body: str) -> Path:
    """A project dir holding ``pyproject.toml`` with ``body`` and a nested work dir."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "pyproject.toml").write_text(body, encoding="utf-8")
    nested = root / "src" / "pkg"
    nested.mkdir(parents=True)
    return nested


def test_defaults_without_any_layer(tmp_path: Path) -> None:
    """With no pyproject, no env and no overrides, every field has its dataclass default."""
    settings = load_settings(environ={}, start_dir=tmp_path)
    assert settings.store == DEFAULT_STORE
    assert settings.interval == Settings().interval
    assert settings.host == Settings().host
    assert settings.service == Settings().service


def test_pyproject_in_parent_sets_store_relative_to_its_directory(tmp_path: Path) -> None:
    """[tool.profiler-kit] store in a parent pyproject resolves against that pyproject's dir."""
    # GIVEN a pyproject two levels above the start dir
    root = tmp_path / "proj"
    nested = _project(root, '[tool.profiler-kit]\nstore = "x.sqlite3"\ninterval = 0.005\n')
    # WHEN settings are loaded from the nested dir
    settings = load_settings(environ={}, start_dir=nested)
    # THEN the store is next to the pyproject, not the start dir
    assert settings.store == root / "x.sqlite3"
    assert settings.interval == 0.005


def test_pyproject_dashed_keys_map_to_fields(tmp_path: Path) -> None:
    """Keys in [tool.profiler-kit] are accepted and coerced to the field's type."""
    body = '[tool.profiler-kit]\nservice = "billing"\ninterval = "0.01"\n'
    nested = _project(tmp_path / "p", body)
    settings = load_settings(environ={}, start_dir=nested)
    assert settings.service == "billing"
    assert settings.interval == pytest.approx(0.01)


def test_pyproject_without_table_gives_defaults(tmp_path: Path) -> None:
    """A pyproject without [tool.profiler-kit] contributes nothing."""
    nested = _project(tmp_path / "p", '[project]\nname = "x"\n')
    assert load_settings(environ={}, start_dir=nested).store == DEFAULT_STORE


def test_environment_wins_over_pyproject(tmp_path: Path) -> None:
    """PROFILER_KIT_STORE and PROFILER_KIT_INTERVAL override the pyproject values."""
    body = '[tool.profiler-kit]\nstore = "x.sqlite3"\ninterval = 0.005\n'
    nested = _project(tmp_path / "p", body)
    env_store = tmp_path / "env.sqlite3"
    settings = load_settings(
        environ={"PROFILER_KIT_STORE": str(env_store), "PROFILER_KIT_INTERVAL": "0.02"},
        start_dir=nested,
    )
    assert settings.store == env_store
    assert settings.interval == pytest.approx(0.02)


def test_empty_environment_value_falls_through(tmp_path: Path) -> None:
    """An empty PROFILER_KIT_STORE counts as unset, so the pyproject value stays."""
    root = tmp_path / "p"
    nested = _project(root, '[tool.profiler-kit]\nstore = "x.sqlite3"\n')
    settings = load_settings(environ={"PROFILER_KIT_STORE": ""}, start_dir=nested)
    assert settings.store == root / "x.sqlite3"


def test_overrides_win_over_environment(tmp_path: Path) -> None:
    """Explicit overrides beat both the environment and the pyproject."""
    nested = _project(tmp_path / "p", '[tool.profiler-kit]\nstore = "x.sqlite3"\n')
    explicit = tmp_path / "explicit.sqlite3"
    settings = load_settings(
        {"store": explicit, "interval": 0.25},
        environ={
            "PROFILER_KIT_STORE": str(tmp_path / "env.sqlite3"),
            "PROFILER_KIT_INTERVAL": "0.5",
        },
        start_dir=nested,
    )
    assert settings.store == explicit
    assert settings.interval == 0.25


def test_none_override_falls_through_to_environment(tmp_path: Path) -> None:
    """An override of None means "not given": the environment value is used."""
    env_store = tmp_path / "env.sqlite3"
    settings = load_settings(
        {"store": None, "interval": None},
        environ={"PROFILER_KIT_STORE": str(env_store)},
        start_dir=tmp_path,
    )
    assert settings.store == env_store
    assert settings.interval == Settings().interval


def test_bad_float_in_environment_names_the_setting(tmp_path: Path) -> None:
    """A non-numeric PROFILER_KIT_INTERVAL raises SettingsError naming 'interval' and the env."""
    with pytest.raises(SettingsError) as caught:
        load_settings(environ={"PROFILER_KIT_INTERVAL": "fast"}, start_dir=tmp_path)
    message = str(caught.value)
    assert "interval" in message
    assert "environment" in message


def test_unknown_override_is_rejected(tmp_path: Path) -> None:
    """A misspelt keyword override is an error rather than silently ignored."""
    with pytest.raises(SettingsError, match="intervall"):
        load_settings({"intervall": 1.0}, environ={}, start_dir=tmp_path)


def test_malformed_pyproject_names_the_file(tmp_path: Path) -> None:
    """A pyproject.toml that is not valid TOML raises SettingsError naming its path."""
    nested = _project(tmp_path / "broken", "[tool.profiler-kit\nstore = \n")
    with pytest.raises(SettingsError) as caught:
        load_settings(environ={}, start_dir=nested)
    assert str(tmp_path / "broken" / "pyproject.toml") in str(caught.value)


def test_non_table_section_names_the_file(tmp_path: Path) -> None:
    """`tool.profiler-kit` that is not a table is refused with the file in the message."""
    nested = _project(tmp_path / "odd", '[tool]\nprofiler-kit = "yes"\n')
    with pytest.raises(SettingsError) as caught:
        load_settings(environ={}, start_dir=nested)
    assert str(tmp_path / "odd" / "pyproject.toml") in str(caught.value)
