"""Per-run uid leases: exclusive while held, and no lock file left once they end."""

from __future__ import annotations

import os

import pytest

from kosmos.execution.sandbox import uids

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="uid leases are the root path (/run/kosmos-uids)")

FIRST = 1_700_000_000


def test_two_leases_of_a_range_of_two_get_both_uids_and_a_third_finds_none() -> None:
    with uids.lease_uid(FIRST, 2) as one, uids.lease_uid(FIRST, 2) as two:
        assert {one, two} == {FIRST, FIRST + 1}
        with pytest.raises(RuntimeError, match=r"no free sandbox uid in \[1700000000, 1700000002\)"):
            with uids.lease_uid(FIRST, 2):
                pass


def test_an_ended_lease_removes_its_lock_file_and_the_uid_is_free_again() -> None:
    with uids.lease_uid(FIRST, 1) as uid:
        assert os.path.exists(os.path.join(uids._LOCK_DIR, str(uid)))  # noqa: SLF001
    assert not os.path.exists(os.path.join(uids._LOCK_DIR, str(uid)))  # noqa: SLF001
    with uids.lease_uid(FIRST, 1) as again:
        assert again == uid


def test_a_lock_file_unlinked_by_its_holder_is_not_a_lease() -> None:
    with uids.lease_uid(FIRST, 1) as uid:
        path = os.path.join(uids._LOCK_DIR, str(uid))  # noqa: SLF001
        stale = os.open(path, os.O_RDWR)  # opened by a racer before the holder unlinks it
    try:
        import fcntl  # noqa: PLC0415

        fcntl.flock(stale, fcntl.LOCK_EX | fcntl.LOCK_NB)  # the racer gets the old file's lock
        assert not uids._still_named(stale, path)  # noqa: SLF001 - and must not count it as a lease
    finally:
        os.close(stale)
