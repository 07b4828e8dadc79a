"""Settings from the environment: defaults, bounds, and refusals that name the variable."""

from __future__ import annotations

from pathlib import Path
from typing import cast

import pytest
from sqlalchemy.pool import QueuePool

from gateway import config
from gateway.bootstrap import open_engine
from gateway.errors import ConfigurationError


def test_the_embedded_default_needs_no_variables(tmp_path: Path) -> None:
    settings = config.from_env({"GATEWAY_INSTANCE": str(tmp_path)})
    assert settings.is_sqlite and settings.database_url.endswith("gateway.db")
    assert (settings.max_body_bytes, settings.db_pool_size, settings.db_max_overflow) == (
        256 * 1024,
        5,
        5,
    )


@pytest.mark.parametrize(
    ("name", "value", "says"),
    [
        ("GATEWAY_DB_POOL_SIZE", "many", "must be an integer"),
        ("GATEWAY_DB_POOL_SIZE", "0", "within 1..200"),
        ("GATEWAY_DB_MAX_OVERFLOW", "-1", "within 0..200"),
        ("GATEWAY_MAX_BODY_BYTES", "10", "within 1024.."),
    ],
)
def test_a_bad_setting_is_refused_by_name(name: str, value: str, says: str) -> None:
    with pytest.raises(ConfigurationError, match=says) as raised:
        config.from_env({name: value})
    assert name in str(raised.value)


def test_the_postgresql_pool_takes_its_size_from_the_settings() -> None:
    settings = config.from_env(
        {
            "GATEWAY_DATABASE_URL": "postgresql+psycopg://gateway@127.0.0.1:1/gateway",
            "GATEWAY_DB_POOL_SIZE": "12",
            "GATEWAY_DB_MAX_OVERFLOW": "0",
        }
    )
    engine = open_engine(settings)  # no connection is made until one is asked for
    pool = cast(QueuePool, engine.pool)  # PostgreSQL's pool
    assert (pool.size(), pool._max_overflow) == (12, 0)
