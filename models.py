"""PynamoDB models. Table names come from TABLE_PREFIX, the endpoint from DYNAMODB_HOST.

Nothing here talks to DynamoDB at import time: PynamoDB connects on first use.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any
from uuid import uuid4

from pynamodb.attributes import (
    ListAttribute,
    NumberAttribute,
    TTLAttribute,
    UnicodeAttribute,
    UTCDateTimeAttribute,
)
from pynamodb.connection import Connection
from pynamodb.exceptions import TransactWriteError
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex
from pynamodb.models import Model
from pynamodb.transactions import TransactWrite

import config
import passwords
from errors import Conflict, EmailTaken, ValidationFailed
from passwords import PasswordHash

MAX_EMAIL_LENGTH = 254
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def normalize_email(value: Any) -> str:
    """Return `value` trimmed and lowercased, or raise ValidationFailed if it is no email."""
    if not isinstance(value, str):
        raise ValidationFailed("Email must be a string.", field="email")
    email = value.strip().lower()
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

    _stored_email: StoredEmail | None = None

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
            result = super().save(condition, add_version_condition=add_version_condition)
            self._stored_email = StoredEmail(self.email)
            return result
        return {}

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
                transaction.save(self, condition)
                transaction.save(UserEmail(self.email, user_id=self.id), UserEmail.email.does_not_exist())
                if release is not None:
                    transaction.delete(UserEmail(release), UserEmail.user_id == self.id)
        except TransactWriteError as exc:
            # PynamoDB sends deletes before puts, so the reasons read [release?, user, claim].
            reasons = [getattr(reason, "code", None) for reason in exc.cancellation_reasons or []]
            if reasons[-1:] == ["ConditionalCheckFailed"]:
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


MODELS: tuple[type[Model], ...] = (User, UserEmail, RevokedToken)
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
        }
        if any(getattr(meta, name, None) != value for name, value in wanted.items()):
            for name, value in wanted.items():
                setattr(meta, name, value)
            model._connection = None  # PynamoDB caches the connection of the old settings
    passwords.configure(
        settings["ARGON2_TIME_COST"], settings["ARGON2_MEMORY_COST"], settings["ARGON2_PARALLELISM"]
    )


def _connection_of(model: type[Model]) -> Connection:
    """Return the low-level connection of `model`, for transactions that span tables."""
    return model._get_connection().connection


configure(config.load_settings())
