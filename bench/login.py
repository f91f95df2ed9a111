"""Measure /login against argon2's own verify time, and an unknown email against a wrong password.

    python bench/login.py [--repeat 15]

With the production argon2id parameters (ARGON2_* defaults), through the WSGI app, next
to `PasswordHasher.verify` of the same hash measured in the same run. Targets: a login
within 1.2x of argon2's verify; an unknown email within 15% of a wrong password for a
known one (so response times do not tell which emails have accounts).

Login throttling runs as in production (its DynamoDB requests are in every figure), but
each attempt comes after the account's delay: the throttle's clock moves on an hour per
request instead of the benchmark sleeping. The per-address limit is off
(THROTTLE_ADDRESS_LIMIT=0): one benchmark address sends far more than a client may.
"""

from __future__ import annotations

import argparse
import statistics
import time
from typing import Any

from common import PASSWORD, app_settings, store_process

EMAIL = "login-bench@example.com"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=15)
    args = parser.parse_args()
    with store_process() as url:
        rows = run(url, args.repeat)
    verify = rows["argon2 verify (PasswordHasher.verify)"]
    print("| figure | p50, ms | / argon2 verify | target |")
    print("|---|---|---|---|")
    targets = {
        "login, right password": "<= 1.2x argon2 verify",
        "login, unknown email": "within 15% of a wrong password",
    }
    for name, value in rows.items():
        print(f"| {name} | {value:.1f} | {value / verify:.2f}x | {targets.get(name, '')} |")
    unknown, wrong = rows["login, unknown email"], rows["login, wrong password"]
    print(f"\nunknown email / wrong password = {unknown / wrong:.2f}; {args.repeat} of each, interleaved, medians; "
          f"measured {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}.")  # fmt: skip


def run(url: str, repeat: int) -> dict[str, float]:
    from argon2 import PasswordHasher

    import config
    import tables
    import throttle
    from app import create_app
    from models import User

    hours = iter(range(1, 1_000_000))
    throttle.clock = lambda: time.time() + 3600 * next(hours)  # each attempt after the previous one's delay
    app = create_app(app_settings(url, "benchlogin_", THROTTLE_ADDRESS_LIMIT=0))
    tables.create_tables()
    client = app.test_client()
    response = client.post("/signup", json={"email": EMAIL, "password": PASSWORD})
    assert response.status_code == 201, response.get_json()
    stored = User.find_by_email(EMAIL)
    assert stored is not None and stored.password is not None
    defaults = config.load_settings({"APP_ENV": "production", "JWT_SECRET_KEY": "x" * 40}, environ={})
    hasher = PasswordHasher(
        time_cost=defaults["ARGON2_TIME_COST"],
        memory_cost=defaults["ARGON2_MEMORY_COST"],
        parallelism=defaults["ARGON2_PARALLELISM"],
    )

    def login(email: str, password: str, status: int) -> Any:
        def send() -> None:
            answer = client.post("/login", json={"email": email, "password": password})
            assert answer.status_code == status, answer.get_json()

        return send

    cases = {
        "argon2 verify (PasswordHasher.verify)": lambda: hasher.verify(stored.password, PASSWORD),
        "login, right password": login(EMAIL, PASSWORD, 200),
        "login, wrong password": login(EMAIL, PASSWORD + "!", 401),
        "login, unknown email": login("nobody-" + EMAIL, PASSWORD, 401),
    }
    times: dict[str, list[float]] = {name: [] for name in cases}
    for case in cases.values():  # warm-up
        case()
    for _ in range(repeat):  # interleaved: a noisy neighbour slows every case alike
        for name, case in cases.items():
            started = time.perf_counter()
            case()
            times[name].append((time.perf_counter() - started) * 1000)
    return {name: statistics.median(values) for name, values in times.items()}


if __name__ == "__main__":
    main()
