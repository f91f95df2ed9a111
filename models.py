"""PynamoDB models. Table names come from TABLE_PREFIX, the endpoint from DYNAMODB_HOST.

Nothing here talks to DynamoDB at import time: PynamoDB connects on first use.
"""

from __future__ import annotations

import functools
import operator
import re
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any, NamedTuple
from uuid import uuid4

from pynamodb.attributes import (
    Attribute,
    BooleanAttribute,
    ListAttribute,
    NumberAttribute,
    TTLAttribute,
    UnicodeAttribute,
    UTCDateTimeAttribute,
)
from pynamodb.connection import Connection
from pynamodb.constants import NULL
from pynamodb.exceptions import TransactWriteError, UpdateError
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex, LocalSecondaryIndex
from pynamodb.models import Model as PynamoModel
from pynamodb.transactions import TransactWrite

import config
import lean_dynamodb
import passwords
from errors import Conflict, EmailTaken, NotFound, ValidationFailed
from passwords import PasswordHash

MAX_EMAIL_LENGTH = 254
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
# C0 and C1 controls, DEL, and lone surrogates (JSON's "\ud800" decodes to one, which no
# UTF-8 encoder accepts: DynamoDB could not even be sent it). Patterns, not compiled here:
# these two take 0.6 ms to compile, which a cold start that validates no input need not pay
# (re compiles them on first use and keeps them).
_CONTROL_CHARACTERS = "[\x00-\x1f\x7f-\x9f\ud800-\udfff]"
_LONE_SURROGATE = "[\ud800-\udfff]"


def refuse_control_characters(value: str, field: str) -> str:
    """Return `value`, or raise ValidationFailed if it holds a control character or a lone surrogate."""
    if re.search(_CONTROL_CHARACTERS, value):
        raise ValidationFailed(f"{field} must not contain control characters.", field=field)
    return value


def normalize_email(value: Any) -> str:
    """Return `value` trimmed and lowercased, or raise ValidationFailed if it is no email."""
    if not isinstance(value, str):
        raise ValidationFailed("Email must be a string.", field="email")
    email = refuse_control_characters(value.strip(), "email").lower()  # a pasted trailing tab is fine
    if len(email) > MAX_EMAIL_LENGTH or not _EMAIL.match(email):
        raise ValidationFailed("Email is not a valid address.", field="email")
    return email


class StoredEmail(str):
    """An email as last read from or written to the table."""


class EmailAttribute(UnicodeAttribute):
    """An email address, normalized on assignment."""

    def __set__(self, instance: Any, value: Any) -> None:
        if isinstance(value, StoredEmail):
            # Loaded from the table: remember it, so save() can tell an email change.
            instance._stored_email = value
        elif value is not None:
            value = normalize_email(value)
        super().__set__(instance, value)

    def deserialize(self, value: str) -> StoredEmail:
        return StoredEmail(value)


class PasswordAttribute(UnicodeAttribute):
    """A password: plaintext assigned to it is stored as its argon2id hash, hashed exactly once."""

    def __set__(self, instance: Any, value: Any) -> None:
        if value is not None and not isinstance(value, PasswordHash):
            passwords.validate_password(value)
            value = passwords.hash_password(value)
        super().__set__(instance, value)

    def deserialize(self, value: str) -> PasswordHash:
        return PasswordHash(value)


def _utcnow() -> datetime:
    return datetime.now(UTC)


def _new_id() -> str:
    return str(uuid4())


class Model(PynamoModel):
    """PynamoDB's Model, building the items it reads in one pass.

    PynamoDB builds a read item as a new one (its defaults computed and set), then sets every
    default again and then the item's values, each through its attribute's descriptor: about
    7 us for a todo, most of a 100-edge page's item cost. Here each attribute gets its value or
    its default once, through the descriptor only where an attribute class defines its own
    (an email remembers it was loaded). tests/test_models.py compares the instances both build.
    """

    @classmethod
    def from_raw_data(cls, data: dict[str, Any]) -> Any:
        if data is None or cls._discriminator is not None:  # PynamoDB's errors; its polymorphic models
            return super().from_raw_data(data)
        instance = cls.__new__(cls)
        values: dict[str, Any] = {}
        instance.attribute_values = values
        for name, stored_name, attribute, read, plain in _attributes_of(cls):
            raw = data.get(stored_name)
            if raw and NULL not in raw:
                try:
                    value = read(raw)
                except KeyError:  # stored as another type: PynamoDB's AttributeDeserializationError
                    value = attribute.deserialize(attribute.get_value(raw))
            else:
                value = attribute.default() if callable(attribute.default) else attribute.default
                if value is None:
                    continue
            if plain:
                values[name] = value
            else:
                setattr(instance, name, value)
        return instance


@functools.cache
def _attributes_of(
    model: type[PynamoModel],
) -> tuple[tuple[str, str, Attribute[Any], Callable[[Any], Any], bool], ...]:
    """Return each attribute of `model`: its name, its name in the table, itself, how to read its raw
    value, whether it stores as Attribute does (else its own descriptor stores it)."""
    return tuple(
        (name, attribute.attr_name, attribute, _reader(attribute), type(attribute).__set__ is Attribute.__set__)
        for name, attribute in model.get_attributes().items()
    )


def _reader(attribute: Attribute[Any]) -> Callable[[dict[str, Any]], Any]:
    """Return attribute.deserialize(attribute.get_value(raw)) as a function of raw, with the calls
    PynamoDB's own methods make no difference to left out (KeyError where get_value raises)."""
    if type(attribute).get_value is not Attribute.get_value:
        return lambda raw: attribute.deserialize(attribute.get_value(raw))
    if type(attribute).deserialize is Attribute.deserialize:
        return operator.itemgetter(attribute.attr_type)
    deserialize, kind = attribute.deserialize, attribute.attr_type
    return lambda raw: deserialize(raw[kind])


class EmailIndex(GlobalSecondaryIndex["User"]):
    class Meta:
        index_name = "email-index"
        projection = AllProjection()

    email = UnicodeAttribute(hash_key=True)


class User(Model):
    """An account. Saving a new user claims its email in the same transaction."""

    class Meta:
        table_name = "users"

    id = UnicodeAttribute(hash_key=True, default_for_new=_new_id)
    email = EmailAttribute()
    email_index = EmailIndex()
    first_name = UnicodeAttribute(default="")
    last_name = UnicodeAttribute(default="")
    password = PasswordAttribute(null=True)
    roles = ListAttribute(of=UnicodeAttribute, default=lambda: ["user"])
    created_at = UTCDateTimeAttribute(default_for_new=_utcnow)
    token_version = NumberAttribute(default=0)
    # Changed only together with todo writes, in the same transaction (see Todo).
    todo_count = NumberAttribute(default=0)
    completed_count = NumberAttribute(default=0)

    _stored_email: StoredEmail | None = None
    _COUNTERS = ("todo_count", "completed_count")

    def check_password(self, password: str) -> bool:
        """Say whether `password` is this user's password."""
        return passwords.verify_password(self.password, password)

    def save(self, condition: Any = None, *, add_version_condition: bool = True) -> dict[str, Any]:
        """Create or replace this user, keeping its email unique across all users."""
        if self._stored_email is None:
            self._write_with_email_claim(User.id.does_not_exist(), release=None)
        elif self.email != self._stored_email:
            self._write_with_email_claim(User.id.exists(), release=self._stored_email)
        else:
            condition = User.id.exists() & condition if condition is not None else User.id.exists()
            self.update(self._profile_actions(), condition)
        return {}

    def _profile_actions(self) -> list[Any]:
        """Return the actions that write every attribute but the key and the counters.

        A loaded user may be saved long after it was read; writing its counters back
        would undo the todo writes made meanwhile.
        """
        actions = []
        for name, attribute in self.get_attributes().items():
            if attribute.is_hash_key or name in self._COUNTERS:
                continue
            value = getattr(self, name)
            actions.append(attribute.remove() if value is None else attribute.set(value))
        return actions

    def delete(self, condition: Any = None, *, add_version_condition: bool = True) -> Any:
        """Delete this user and release its email."""
        email = self._stored_email or self.email
        with TransactWrite(connection=_connection_of(User)) as transaction:
            transaction.delete(self, condition)
            transaction.delete(UserEmail(email), UserEmail.user_id == self.id)
        self._stored_email = None

    @classmethod
    def find_by_email(cls, email: str) -> User | None:
        """Return the user with this email, or None."""
        try:
            email = normalize_email(email)
        except ValidationFailed:
            return None
        for user in cls.email_index.query(email, limit=1):
            return user
        # The index is eventually consistent: a user created a moment ago may not be in it
        # yet, but its email claim is, and can be read consistently.
        try:
            claim = UserEmail.get(email, consistent_read=True)
        except UserEmail.DoesNotExist:
            return None
        try:
            return cls.get(claim.user_id, consistent_read=True)
        except cls.DoesNotExist:
            return None

    def _write_with_email_claim(self, condition: Any, release: str | None) -> None:
        if self.email is None:
            raise ValidationFailed("Set an email before saving a user.", field="email")
        if self.password is None:
            raise ValidationFailed("Set a password before saving a user.", field="password")
        try:
            with TransactWrite(connection=_connection_of(User)) as transaction:
                if release is None:
                    transaction.save(self, condition)
                else:
                    transaction.update(self, self._profile_actions(), condition)
                transaction.save(UserEmail(self.email, user_id=self.id), UserEmail.email.does_not_exist())
                if release is not None:
                    transaction.delete(UserEmail(release), UserEmail.user_id == self.id)
        except TransactWriteError as exc:
            # PynamoDB sends deletes, then puts, then updates: the reasons read [user, claim]
            # for a new user and [release, claim, user] for a changed email.
            reasons = [getattr(reason, "code", None) for reason in exc.cancellation_reasons or []]
            if reasons[1:2] == ["ConditionalCheckFailed"]:
                raise EmailTaken(f"A user with email {self.email} already exists.") from None
            if "ConditionalCheckFailed" in reasons:
                raise Conflict("This user was changed, created or deleted meanwhile; load it again.") from None
            raise
        self._stored_email = StoredEmail(self.email)


class UserEmail(Model):
    """The claim on an email address that keeps emails unique (a GSI cannot)."""

    class Meta:
        table_name = "user_emails"

    email = UnicodeAttribute(hash_key=True)
    user_id = UnicodeAttribute()


class RevokedToken(Model):
    """A token revoked before it expires; DynamoDB's TTL removes it once it would have expired."""

    class Meta:
        table_name = "revoked_tokens"

    jti = UnicodeAttribute(hash_key=True)
    expires_at = TTLAttribute()


MAX_TODO_TEXT = 1000
# TransactWriteItems takes at most 100 actions: 99 todos and their owner's counters.
_TODOS_PER_TRANSACTION = 99
_RETRIES = 5


def _new_todo_id() -> str:
    """Return a new ULID: sortable by creation time, so a Query reads a list oldest first."""
    # Imported here: python-ulid reads its own version through importlib.metadata at import
    # (about 20 ms of every Lambda cold start), and only adding a todo needs it.
    from ulid import ULID

    return str(ULID())


def clean_todo_text(text: Any) -> str:
    """Return `text` trimmed, or raise ValidationFailed unless it is 1 to 1,000 characters."""
    if not isinstance(text, str) or not 1 <= len(text.strip()) <= MAX_TODO_TEXT:
        raise ValidationFailed(f"Text must be 1 to {MAX_TODO_TEXT} characters.", field="text")
    if re.search(_LONE_SURROGATE, text):  # no UTF-8 encoder accepts one: it could not be stored
        raise ValidationFailed("Text must not contain lone surrogates.", field="text")
    return text.strip()


class CompletedIndex(LocalSecondaryIndex["Todo"]):
    """The owner's completed todos, oldest first: sparse, since only they have `completed_id`."""

    class Meta:
        index_name = "completed-index"
        projection = AllProjection()

    user_id = UnicodeAttribute(hash_key=True)
    completed_id = UnicodeAttribute(range_key=True)


class Todo(Model):
    """A todo of one user. Every write changes the owner's counters in the same transaction."""

    class Meta:
        table_name = "todos"

    user_id = UnicodeAttribute(hash_key=True)
    id = UnicodeAttribute(range_key=True, default_for_new=_new_todo_id)  # time-ordered
    text = UnicodeAttribute()
    complete = BooleanAttribute(default=False)
    completed_id = UnicodeAttribute(null=True)  # = id while complete: puts it in completed_index
    completed_index = CompletedIndex()

    @classmethod
    def add(cls, owner_id: str, text: str) -> Todo:
        """Create an active todo at the end of the owner's list."""
        todo = cls(owner_id, text=clean_todo_text(text), complete=False)
        with TransactWrite(connection=_connection_of(Todo)) as transaction:
            transaction.save(todo, Todo.id.does_not_exist())
            transaction.update(User(owner_id), [User.todo_count.add(1)], User.id.exists())
        return todo

    @classmethod
    def find(cls, owner_id: str, todo_id: str) -> Todo:
        """Return the owner's todo, or raise NotFound."""
        try:
            return cls.get(owner_id, todo_id, consistent_read=True)
        except cls.DoesNotExist:
            raise NotFound("No such todo.") from None

    @classmethod
    def set_complete(cls, owner_id: str, todo_id: str, complete: bool) -> Todo:
        """Mark one todo complete or active."""
        todo = cls.find(owner_id, todo_id)
        changed = cls._change_all(owner_id, [todo], complete)
        return changed[0] if changed else todo

    @classmethod
    def rename(cls, owner_id: str, todo_id: str, text: str) -> Todo:
        """Change a todo's text."""
        todo = cls(owner_id, todo_id)
        try:
            todo.update([Todo.text.set(clean_todo_text(text))], Todo.id.exists())
        except UpdateError as error:
            if error.cause_response_code == "ConditionalCheckFailedException":
                raise NotFound("No such todo.") from None
            raise
        return todo

    @classmethod
    def remove(cls, owner_id: str, todo_id: str) -> Todo:
        """Delete one todo."""
        todo = cls.find(owner_id, todo_id)
        removed = cls._remove_all(owner_id, [todo])
        if not removed:
            raise NotFound("No such todo.")
        return removed[0]

    @classmethod
    def mark_all(cls, owner_id: str, complete: bool) -> list[Todo]:
        """Mark every todo of the owner complete or active; return those that changed."""
        if complete:
            pending = cls.query(owner_id, filter_condition=Todo.complete == False, consistent_read=True)  # noqa: E712
        else:
            pending = cls.completed_index.query(owner_id, consistent_read=True)
        return cls._change_all(owner_id, list(pending), complete)

    @classmethod
    def remove_completed(cls, owner_id: str) -> list[Todo]:
        """Delete every completed todo of the owner; return them."""
        return cls._remove_all(owner_id, list(cls.completed_index.query(owner_id, consistent_read=True)))

    @classmethod
    def _change_all(cls, owner_id: str, todos: list[Todo], complete: bool) -> list[Todo]:
        def write(transaction: TransactWrite, chunk: list[Todo]) -> None:
            completed_id = Todo.completed_id.set if complete else None
            for todo in chunk:
                actions = [Todo.complete.set(complete)]
                actions.append(completed_id(todo.id) if completed_id else Todo.completed_id.remove())
                transaction.update(todo, actions, Todo.complete == todo.complete)
            delta = len(chunk) if complete else -len(chunk)
            transaction.update(User(owner_id), [User.completed_count.add(delta)], User.id.exists())

        changed = cls._write_in_chunks(owner_id, todos, write, lambda todo: todo.complete != complete)
        for todo in changed:
            todo.complete = complete
            todo.completed_id = todo.id if complete else None
        return changed

    @classmethod
    def _remove_all(cls, owner_id: str, todos: list[Todo]) -> list[Todo]:
        def write(transaction: TransactWrite, chunk: list[Todo]) -> None:
            for todo in chunk:
                transaction.delete(todo, Todo.complete == todo.complete)
            completed = sum(1 for todo in chunk if todo.complete)
            actions = [User.todo_count.add(-len(chunk))]
            if completed:
                actions.append(User.completed_count.add(-completed))
            transaction.update(User(owner_id), actions, User.id.exists())

        return cls._write_in_chunks(owner_id, todos, write, lambda todo: True)

    @classmethod
    def _write_in_chunks(
        cls,
        owner_id: str,
        todos: list[Todo],
        write: Callable[[TransactWrite, list[Todo]], None],
        still_needed: Callable[[Todo], bool],
    ) -> list[Todo]:
        """Write `todos` in transactions of at most 100 actions, each with its counter change.

        Each todo's write is conditioned on the state it was read in, so a concurrent change
        cancels the whole transaction and the counters never drift: the chunk is read again
        (consistently) and retried with what still needs doing.
        """
        done: list[Todo] = []
        for start in range(0, len(todos), _TODOS_PER_TRANSACTION):
            chunk = [todo for todo in todos[start : start + _TODOS_PER_TRANSACTION] if still_needed(todo)]
            for _attempt in range(_RETRIES):
                if not chunk:
                    break
                try:
                    with TransactWrite(connection=_connection_of(Todo)) as transaction:
                        write(transaction, chunk)
                except TransactWriteError as error:
                    reasons = [getattr(reason, "code", None) for reason in error.cancellation_reasons or []]
                    if "ConditionalCheckFailed" not in reasons and "TransactionConflict" not in reasons:
                        raise
                    fresh = Todo.batch_get([(owner_id, todo.id) for todo in chunk], consistent_read=True)
                    chunk = sorted((todo for todo in fresh if still_needed(todo)), key=lambda todo: todo.id)
                    continue
                done.extend(chunk)
                break
            else:
                raise Conflict("These todos keep changing; try again.")
        return done


class TokenSubject(NamedTuple):
    """What a token's check reads: its user (None if gone), whether it was revoked, and its session's family
    as stored (None if it names none, or it ended)."""

    user: User | None
    revoked: bool
    family_item: dict[str, Any] | None

    @property
    def family(self) -> RefreshFamily | None:
        """The family as a model, built only for the one request in many that rotates it."""
        return None if self.family_item is None else RefreshFamily.from_raw_data(self.family_item)


def load_token_subject(user_id: str, jti: str, family_id: str | None = None) -> TokenSubject:
    """Return a token's user, whether the token was revoked and its session's family, in one round trip.

    A token is revoked if its jti is, or if it names a refresh-token family (`family_id`)
    that no longer exists. Every authenticated request needs all of this; one BatchGetItem
    reads it from the tables at once, where GetItems would cost a round trip each. The reads
    are strongly consistent: a token issued or revoked a moment ago must count at once. The
    family comes whole: a refresh rotates it (sessions.rotate) without reading it again.
    """
    users, revoked_tokens = User.Meta.table_name, RevokedToken.Meta.table_name
    families = RefreshFamily.Meta.table_name
    request: dict[str, Any] = {
        users: {"Keys": [{"id": {"S": user_id}}], "ConsistentRead": True},
        revoked_tokens: {"Keys": [{"jti": {"S": jti}}], "ProjectionExpression": "jti", "ConsistentRead": True},
    }
    if family_id is not None:
        request[families] = {"Keys": [{"id": {"S": family_id}}], "ConsistentRead": True}
    found: dict[str, list[dict[str, Any]]] = {users: [], revoked_tokens: [], families: []}
    connection = _connection_of(User)
    for attempt in range(_RETRIES):
        response = connection.dispatch("BatchGetItem", {"RequestItems": request})
        for table, items in response.get("Responses", {}).items():
            found[table] += items
        request = response.get("UnprocessedKeys") or {}
        if not request:
            break
        time.sleep(0.02 * 2**attempt)  # throttled: back off, as DynamoDB asks
    else:
        raise Conflict("DynamoDB is too busy to check the token; try again.")
    user = User.from_raw_data(found[users][0]) if found[users] else None
    family = found[families][0] if found[families] else None
    return TokenSubject(user, bool(found[revoked_tokens]) or (family_id is not None and family is None), family)


class ProcessedEvent(Model):
    """A Hasura event claimed by the delivery running its handler (`claim`), or processed (no `claim`).

    Claimed with a conditional put, so two deliveries of one event run its handler once; a claim
    expires at `claimed_until`, a processed event by DynamoDB's TTL (see hasura/events.py).
    """

    class Meta:
        table_name = "processed_events"

    id = UnicodeAttribute(hash_key=True)
    trigger = UnicodeAttribute()
    claim = UnicodeAttribute(null=True)
    claimed_until = NumberAttribute(null=True)
    expires_at = TTLAttribute()



class RefreshFamily(Model):
    """The refresh tokens of one login, each replacing the one before; deleted when the session ends.

    Generation n's tokens are the current ones; n - 1's may still be presented during the
    reuse grace (see sessions.py). DynamoDB's TTL removes a family once its newest refresh
    token has expired.
    """

    class Meta:
        table_name = "refresh_families"

    id = UnicodeAttribute(hash_key=True)
    user_id = UnicodeAttribute()
    generation = NumberAttribute(default=0)
    issued_at = NumberAttribute()  # epoch seconds at which the current generation was issued
    expires_at = TTLAttribute()


class LoginAttempts(Model):
    """Recent login attempts of one account or one client address (see throttle.py).

    Only throttle.py writes these; DynamoDB's TTL forgets them, and the code treats an
    expired record as absent, since TTL deletes it only within a few days.
    """

    class Meta:
        table_name = "login_attempts"

    key = UnicodeAttribute(hash_key=True)  # "account:<sha256 of the email>" or "address:<action>:<address>:<window>"
    failures = NumberAttribute(null=True)  # failed passwords in a row (accounts)
    blocked_until = NumberAttribute(null=True)  # epoch seconds before which no password is checked (accounts)
    hits = NumberAttribute(null=True)  # requests in the window (addresses)
    expires_at = TTLAttribute()


MODELS: tuple[type[Model], ...] = (User, UserEmail, RevokedToken, Todo, RefreshFamily, LoginAttempts, ProcessedEvent)
TABLE_NAMES = {model: model.Meta.table_name for model in MODELS}  # without the prefix


def configure(settings: Mapping[str, Any]) -> None:
    """Point every model at the endpoint, region and table prefix in `settings`."""
    endpoint = config.dynamodb_endpoint(settings)
    access_key, secret_key = config.LOCAL_CREDENTIALS if config.is_loopback_endpoint(settings) else (None, None)
    for model in MODELS:
        meta = model.Meta
        wanted = {
            "table_name": settings["TABLE_PREFIX"] + TABLE_NAMES[model],
            "host": endpoint,
            "region": settings["AWS_REGION"],
            "aws_access_key_id": access_key,
            "aws_secret_access_key": secret_key,
            # botocore's "standard" retries: exponential backoff with jitter, throttling included.
            "connect_timeout_seconds": settings["DYNAMODB_CONNECT_TIMEOUT"],
            "read_timeout_seconds": settings["DYNAMODB_READ_TIMEOUT"],
            "max_retry_attempts": settings["DYNAMODB_MAX_ATTEMPTS"] - 1,  # PynamoDB counts retries
        }
        if any(getattr(meta, name, None) != value for name, value in wanted.items()):
            for name, value in wanted.items():
                setattr(meta, name, value)
            model._connection = None  # PynamoDB caches the connection of the old settings
    passwords.configure(
        settings["ARGON2_TIME_COST"], settings["ARGON2_MEMORY_COST"], settings["ARGON2_PARALLELISM"]
    )
    lean_dynamodb.install() if settings["DYNAMODB_LEAN_PATH"] else lean_dynamodb.uninstall()


def _connection_of(model: type[Model]) -> Connection:
    """Return the low-level connection of `model`, for transactions that span tables."""
    return model._get_connection().connection


configure(config.load_settings())
