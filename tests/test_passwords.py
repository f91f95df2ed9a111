"""Password hashing: a burst of logins queues for a few argon2 slots instead of exhausting memory."""

from __future__ import annotations

import json
import sys
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from support import ROOT, TEST_SETTINGS, run_json_script

import passwords


class SlowHasher:
    """Stands in for argon2's PasswordHasher and records how many computations ran at once."""

    def __init__(self) -> None:
        self.running = 0
        self.most = 0
        self.lock = threading.Lock()

    def _compute(self) -> None:
        with self.lock:
            self.running += 1
            self.most = max(self.most, self.running)
        time.sleep(0.02)
        with self.lock:
            self.running -= 1

    def hash(self, password: str) -> str:
        self._compute()
        return "$argon2id$fake"

    def verify(self, stored: str, password: str) -> bool:
        self._compute()
        return True


@pytest.fixture
def slow_hasher(monkeypatch: pytest.MonkeyPatch) -> Iterator[SlowHasher]:
    hasher = SlowHasher()
    monkeypatch.setattr(passwords, "_hasher", lambda: hasher)
    yield hasher
    passwords.configure_concurrency(passwords.DEFAULT_CONCURRENCY)


@pytest.mark.parametrize("limit", [1, 2, 3])
def test_at_most_the_configured_number_of_hashes_run_at_once(slow_hasher: SlowHasher, limit: int) -> None:
    """GIVEN 12 threads hashing and verifying at the same moment THEN at most `limit` compute at once."""
    passwords.configure_concurrency(limit)
    start = threading.Barrier(12)

    def work(number: int) -> None:
        start.wait()
        if number % 2:
            passwords.hash_password(f"password {number}")
        else:
            passwords.verify_password("$argon2id$stored", f"password {number}")

    threads = [threading.Thread(target=work, args=(number,)) for number in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert (slow_hasher.most, slow_hasher.running) == (limit, 0)


def test_concurrency_must_allow_one_hash() -> None:
    with pytest.raises(ValueError, match="at least one"):
        passwords.configure_concurrency(0)


# 16 concurrent logins with the production argon2 memory cost (64 MiB each), in a fresh
# process whose peak resident size is reset just before the burst.
BURST = r"""
import json, sys, threading
sys.path.insert(0, sys.argv[1])
settings = json.loads(sys.argv[2])
from app import create_app
import passwords
from models import User

app = create_app(settings)
stored = passwords.hash_password("correct horse battery")
emails = [f"burst{number}@example.com" for number in range(17)]
for email in emails:
    User(email=email, password=stored).save()
# One login first: it creates the botocore clients of the tables a login writes, which
# would otherwise be created by all 16 threads at once (PynamoDB's sessions are per thread).
warm_up = app.test_client().post("/login", json={"email": emails.pop(), "password": "correct horse battery"})
assert warm_up.status_code == 200, warm_up.get_json()

def status_kb(field):
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith(field + ":"))

before = status_kb("VmRSS")
with open("/proc/self/clear_refs", "w") as clear_refs:
    clear_refs.write("5")  # VmHWM := VmRSS
start = threading.Barrier(len(emails))
statuses = []

def login(email):
    client = app.test_client()
    start.wait()
    statuses.append(client.post("/login", json={"email": email, "password": "correct horse battery"}).status_code)

threads = [threading.Thread(target=login, args=(email,)) for email in emails]
for thread in threads:
    thread.start()
for thread in threads:
    thread.join()
print(json.dumps({"statuses": statuses, "growth_mib": (status_kb("VmHWM") - before) / 1024}))
"""


@pytest.mark.skipif(sys.platform != "linux", reason="reads and resets the peak RSS through /proc")
def test_sixteen_concurrent_logins_stay_under_the_memory_bound(app: Any, dynamodb: Any) -> None:
    """GIVEN 16 logins at once, 64 MiB of argon2 memory each THEN the process grows by less than
    PASSWORD_HASH_CONCURRENCY x 64 MiB + 64 MiB (192 MiB), where all at once would take 1 GiB."""
    settings = {
        **TEST_SETTINGS,
        "DYNAMODB_HOST": dynamodb.url,
        "ARGON2_TIME_COST": 1,
        "ARGON2_MEMORY_COST": 65536,
        "PASSWORD_HASH_CONCURRENCY": 2,
    }
    process, summary = run_json_script([sys.executable, "-c", BURST, str(ROOT), json.dumps(settings)], timeout=120)
    assert process.returncode == 0, process.stderr
    assert summary["statuses"] == [200] * 16
    assert summary["growth_mib"] < 2 * 64 + 64, summary

