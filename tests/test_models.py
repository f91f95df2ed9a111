"""Models: password hashing, email normalization and uniqueness, legacy hashes, no I/O at import."""

from __future__ import annotations

import subprocess
import sys
import threading
from typing import Any

import pytest
from support import PASSWORD, ROOT
from werkzeug.security import generate_password_hash

import models
import passwords
from errors import EmailTaken, ValidationFailed
from models import User, UserEmail
from passwords import PasswordHash


def make_user(email: str = "ada@example.com", **attributes: Any) -> User:
    user = User(email=email, first_name="Ada", last_name="Lovelace", **attributes)
    user.password = PASSWORD
    user.save()
    return user


def test_assigning_a_password_stores_its_argon2id_hash(app: Any) -> None:
    """GIVEN a new user WHEN a plaintext password is assigned THEN only its argon2id hash is kept."""
    user = User(email="ada@example.com")
    user.password = PASSWORD
    assert user.password.startswith("$argon2id$")
    assert PASSWORD not in user.password
    assert user.check_password(PASSWORD)
    assert not user.check_password(PASSWORD + "!")


def test_password_in_the_constructor_is_hashed_once(app: Any) -> None:
    user = User(email="ada@example.com", password=PASSWORD)
    assert user.password.startswith("$argon2id$")
    assert user.check_password(PASSWORD)


def test_saving_a_loaded_user_again_keeps_the_hash(app: Any) -> None:
    """GIVEN a saved user WHEN it is loaded, changed and saved again THEN the hash is unchanged."""
    user = make_user()
    loaded = User.get(user.id)
    assert isinstance(loaded.password, PasswordHash)
    loaded.first_name = "Augusta"
    loaded.save()
    reloaded = User.get(user.id)
    assert (reloaded.password, reloaded.first_name) == (user.password, "Augusta")
    assert reloaded.check_password(PASSWORD)


def test_a_new_user_has_defaults(app: Any) -> None:
    user = make_user()
    loaded = User.get(user.id)
    assert (loaded.roles, loaded.token_version, len(loaded.id)) == (["user"], 0, 36)
    assert loaded.created_at.tzinfo is not None


def test_emails_are_trimmed_and_lowercased(app: Any) -> None:
    user = make_user("  Ada.Lovelace@Example.COM ")
    assert User.get(user.id).email == "ada.lovelace@example.com"
    assert User.find_by_email("ADA.lovelace@example.com ").id == user.id


@pytest.mark.parametrize(
    "email",
    ["", "ada", "ada@", "@example.com", "ada@example", "a b@example.com", "x" * 250 + "@example.com", 42, None],
)
def test_invalid_emails_are_refused(app: Any, email: Any) -> None:
    with pytest.raises(ValidationFailed) as raised:
        User(email=email) if email is not None else make_user(email)  # type: ignore[arg-type]
    assert raised.value.details == {"field": "email"}


@pytest.mark.parametrize(
    "email",
    ["ada\x00@example.com", "ada@example.com\x00", "ada\x7f@example.com", "ada\x9b@example.com",
     "ada@exa\x1bmple.com", "\ud800ada@example.com"],
    ids=["nul", "trailing-nul", "delete", "c1-csi", "escape", "lone-surrogate"],
)
def test_emails_with_control_characters_are_refused_and_not_saved(app: Any, email: str) -> None:
    """Also in the REPL: `User(email=...)` refuses them, before anything reaches DynamoDB."""
    with pytest.raises(ValidationFailed) as raised:
        User(email=email)
    assert (raised.value.message, raised.value.details) == (
        "email must not contain control characters.", {"field": "email"}
    )
    assert list(User.scan()) == []


@pytest.mark.parametrize("password", ["", "short12", "x" * 1025, 12345678, ["password"]])
def test_invalid_passwords_are_refused(app: Any, password: Any) -> None:
    user = User(email="ada@example.com")
    with pytest.raises(ValidationFailed) as raised:
        user.password = password
    assert raised.value.details == {"field": "password"}


def test_a_user_without_password_is_not_saved(app: Any) -> None:
    with pytest.raises(ValidationFailed):
        User(email="ada@example.com").save()
    assert list(User.scan()) == []


def test_a_duplicate_email_raises_a_clear_error_and_writes_nothing(app: Any) -> None:
    first = make_user("ada@example.com")
    with pytest.raises(EmailTaken) as raised:
        make_user(" ADA@example.com")
    assert str(raised.value) == "A user with email ada@example.com already exists."
    assert [user.id for user in User.scan()] == [first.id]
    assert [(claim.email, claim.user_id) for claim in UserEmail.scan()] == [("ada@example.com", first.id)]


def test_concurrent_signups_with_one_email_create_one_user(app: Any) -> None:
    """GIVEN 8 threads WHEN they save users with the same email at once THEN exactly one succeeds."""
    outcomes: list[str] = []
    barrier = threading.Barrier(8)

    def sign_up() -> None:
        user = User(email="race@example.com", password=PASSWORD)
        barrier.wait()
        try:
            user.save()
            outcomes.append("created")
        except EmailTaken:
            outcomes.append("taken")

    threads = [threading.Thread(target=sign_up) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["created"] + ["taken"] * 7
    assert len(list(User.scan())) == 1
    assert len(list(UserEmail.scan())) == 1


def test_changing_the_email_moves_the_claim(app: Any) -> None:
    user = make_user("ada@example.com")
    other = make_user("grace@example.com")
    user.email = "countess@example.com"
    user.save()
    assert sorted((claim.email, claim.user_id) for claim in UserEmail.scan()) == sorted(
        [("countess@example.com", user.id), ("grace@example.com", other.id)]
    )
    loaded = User.get(other.id)
    loaded.email = "countess@example.com"
    with pytest.raises(EmailTaken):
        loaded.save()
    assert User.get(other.id).email == "grace@example.com"


def test_deleting_a_user_releases_the_email(app: Any) -> None:
    user = make_user()
    User.get(user.id).delete()
    assert (list(User.scan()), list(UserEmail.scan())) == ([], [])
    make_user()  # the email is free again


def test_find_by_email_returns_none_for_unknown_or_invalid(app: Any) -> None:
    make_user()
    assert User.find_by_email("nobody@example.com") is None
    assert User.find_by_email("not an email") is None


@pytest.mark.parametrize(
    "legacy_hash",
    [
        generate_password_hash(PASSWORD, method="pbkdf2:sha256"),
        generate_password_hash(PASSWORD, method="scrypt"),
    ],
    ids=["pbkdf2", "scrypt"],
)
def test_werkzeug_hashes_verify_and_need_rehash(app: Any, legacy_hash: str) -> None:
    """GIVEN a hash the original design stored THEN it verifies and is marked for an upgrade."""
    user = User(email="ada@example.com", password=PasswordHash(legacy_hash))
    assert user.check_password(PASSWORD)
    assert not user.check_password("wrong password")
    assert passwords.needs_rehash(user.password)


def test_argon2_hashes_with_other_parameters_need_rehash(app: Any) -> None:
    current = passwords.hash_password(PASSWORD)
    assert not passwords.needs_rehash(current)
    passwords.configure(time_cost=2, memory_cost=2048, parallelism=1)
    try:
        assert passwords.needs_rehash(current)
        assert passwords.verify_password(current, PASSWORD)
    finally:
        passwords.configure(time_cost=1, memory_cost=1024, parallelism=1)


def test_importing_models_makes_no_request() -> None:
    """Importing models (and the app) must not touch DynamoDB: the endpoint here is closed."""
    code = "import models, app; app.create_app({'APP_ENV': 'test', 'JWT_SECRET_KEY': 'x' * 40}); print('ok')"
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={"PATH": "/usr/bin:/bin", "DYNAMODB_HOST": "http://127.0.0.1:9", "AWS_REGION": "us-east-1"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert (result.returncode, result.stdout) == (0, "ok\n"), result.stderr


# Items read from the tables: built in one pass, as PynamoDB builds them.


def _pynamodb_instance(model: type, raw: dict[str, Any]) -> Any:
    return models.PynamoModel._instantiate.__func__(model, raw)  # type: ignore[attr-defined]


def _items() -> list[tuple[type, dict[str, Any]]]:
    user = models.User(id="user-1", email="Ada@Example.com", first_name="Ada", password=PasswordHash("$argon2id$x"))
    todo = models.Todo(user_id="user-1", id="01JD0000000000000000000000", text="Write", complete=True)
    return [
        (models.User, user.serialize()),  # every attribute set
        (models.User, {"id": {"S": "user-2"}, "email": {"S": "b@example.com"}}),  # defaults for the rest
        (models.User, {"id": {"S": "user-3"}, "email": {"S": "c@example.com"}, "first_name": {"NULL": True},
                       "roles": {"L": [{"S": "user"}, {"S": "admin"}]}, "token_version": {"N": "7"}}),
        (models.Todo, todo.serialize()),
        (models.Todo, {"user_id": {"S": "user-1"}, "id": {"S": "01JD1"}, "text": {"S": ""}}),
        *((model, {}) for model in models.MODELS),  # nothing at all: every default
    ]


@pytest.mark.parametrize(
    ("model", "raw"),
    _items(),
    ids=["user-whole", "user-defaults", "user-null-and-list", "todo-whole", "todo-defaults",
         *(f"{model.__name__}-empty" for model in models.MODELS)],
)
def test_a_read_item_is_the_instance_pynamodb_builds(model: type, raw: dict[str, Any]) -> None:
    ours, theirs = model.from_raw_data(raw), _pynamodb_instance(model, raw)
    assert type(ours) is type(theirs) is model
    assert ours.__dict__ == theirs.__dict__  # the values, and what descriptors keep (a loaded email)
    if "email" in raw:
        assert ours._stored_email == raw["email"]["S"]  # save() can tell an email change


def test_reading_no_item_is_pynamodbs_error() -> None:
    with pytest.raises(ValueError, match="Received no data to construct object"):
        models.Todo.from_raw_data(None)  # type: ignore[arg-type]


def test_a_value_stored_as_another_type_is_pynamodbs_error() -> None:
    from pynamodb.exceptions import AttributeDeserializationError

    raw = {"user_id": {"S": "user-1"}, "id": {"S": "01JD1"}, "text": {"N": "5"}}
    with pytest.raises(AttributeDeserializationError) as ours:
        models.Todo.from_raw_data(raw)
    with pytest.raises(AttributeDeserializationError) as theirs:
        _pynamodb_instance(models.Todo, raw)
    assert str(ours.value) == str(theirs.value)
