"""A log line that cannot be written is counted and dropped, never raised."""

from __future__ import annotations

import io

from gateway import logs


class _Full(io.StringIO):
    def write(self, text: str) -> int:
        raise OSError(28, "No space left on device")


def test_a_failed_write_is_counted_not_raised() -> None:
    logs.configure(stream=_Full())
    try:
        before = logs.dropped()
        logs.get("test").info("request", status=202)
        logs.get("test").error("unhandled_error", error_type="X")
        assert logs.dropped() == before + 2
    finally:
        logs.configure()
