"""Creating a user in a Python REPL while run.py runs, exactly as the README shows it."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import jwt
import pytest
from graphql_relay import to_global_id
from support import ROOT
from test_run import RunPy

from errors import EmailTaken

pytestmark = pytest.mark.slow

README_SESSION = """\
from models import User
user = User(email="me@example.com", first_name="Me", last_name="Myself")
user.password = "yourpass"
user.save()
"""


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunPy]:
    """Run run.py, as in the README's first terminal."""
    run = RunPy(tmp_path_factory.mktemp("repl") / "data")
    try:
        yield run.start()
    finally:
        run.kill()


def repl(running: RunPy, session: str) -> subprocess.CompletedProcess[str]:
    """Type `session` into `python -i` in a second terminal: the repo root, run.py's environment."""
    return subprocess.run(
        [sys.executable, "-i"],
        input=session,
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=running.env,
        timeout=60,
    )


def without_prompts(transcript: str) -> list[str]:
    """Return the lines of a REPL's stderr without the `>>> ` prompts that precede them."""
    return [re.sub(r"^(>>> |\.\.\. )+", "", line) for line in transcript.splitlines()]


def test_readme_repl_session_creates_a_user_who_can_log_in(running: RunPy) -> None:
    """The README's four REPL lines create a user; /login with that email and password then succeeds."""
    typed = repl(running, README_SESSION)
    assert typed.returncode == 0, typed.stderr
    assert "Traceback" not in typed.stderr, typed.stderr

    login = running.login("me@example.com", "yourpass")
    assert sorted(login) == ["access_token", "expires_in", "refresh_token", "token_type"]
    user_id = jwt.decode(login["access_token"], options={"verify_signature": False})["sub"]
    assert running.viewer(login["access_token"]) == (
        200,
        {
            "data": {
                "viewer": {
                    "id": to_global_id("User", user_id),
                    "email": "me@example.com",
                    "firstName": "Me",
                    "lastName": "Myself",
                }
            },
            "extensions": {"cost": {"requested": 5, "limit": 5000}},  # development reports the cost
        },
    )


def test_repl_duplicate_email_raises_a_clear_error(running: RunPy) -> None:
    """Saving a second user whose email differs only in case and spaces ends in one clear EmailTaken line."""
    typed = repl(
        running,
        "from models import User\n"
        'user = User(email="twice@example.com", first_name="First", last_name="One")\n'
        'user.password = "yourpass"\n'
        "user.save()\n"
        'other = User(email="  TWICE@Example.com ", first_name="Second", last_name="One")\n'
        'other.password = "otherpass"\n'
        "other.save()\n",
    )
    unindented = [line for line in without_prompts(typed.stderr) if line.strip() and not line.startswith(" ")]
    assert unindented[-2:] == [
        "Traceback (most recent call last):",
        "errors.EmailTaken: A user with email twice@example.com already exists.",
    ]
    running.login("twice@example.com", "yourpass")  # the first user is untouched


@pytest.mark.parametrize(
    "duplicate",
    ["me@example.com", "ME@EXAMPLE.COM", "  me@example.com", "Me@Example.Com\t"],
)
def test_duplicate_email_raises_email_taken(app: Any, duplicate: str) -> None:
    """A new user whose email normalizes to a taken one is refused, and the first user stays the only one."""
    from models import User, UserEmail

    user = User(email="me@example.com", first_name="Me", last_name="Myself")
    user.password = "yourpass"
    user.save()

    other = User(email=duplicate, first_name="Other", last_name="Person")
    other.password = "otherpass"
    with pytest.raises(EmailTaken) as raised:
        other.save()

    assert (raised.value.code, raised.value.status, str(raised.value)) == (
        "EMAIL_TAKEN",
        409,
        "A user with email me@example.com already exists.",
    )
    assert [(u.id, u.email) for u in User.scan(consistent_read=True)] == [(user.id, "me@example.com")]
    assert [(c.email, c.user_id) for c in UserEmail.scan(consistent_read=True)] == [("me@example.com", user.id)]
