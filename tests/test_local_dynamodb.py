"""The embedded store's transactions: all or nothing, without copying (and keeping) whole tables."""

from __future__ import annotations

import time
from typing import Any

import pytest
from pynamodb.exceptions import TransactWriteError
from pynamodb.transactions import TransactWrite

import models
from models import Todo, User, UserEmail


def tracked_tables() -> int:
    """Return how many moto Table objects exist (moto keeps every one it ever made)."""
    from moto.dynamodb.models.table import Table

    return len(Table.instances_tracked)


def stored(model: type[Any]) -> list[dict[str, Any]]:
    return sorted((item.to_dynamodb_dict() for item in model.scan(consistent_read=True)), key=str)


@pytest.fixture
def owner(app: Any) -> User:
    user = User(email="ada@example.com")
    user.password = "correct horse battery"
    user.save()
    return user


def seed_todos(owner: User, count: int) -> None:
    """Write `count` active todos and the matching counter without a transaction each (fast)."""
    with Todo.batch_write() as batch:
        for number in range(count):
            batch.save(Todo(owner.id, f"{number:04d}", text=f"todo {number}", complete=False))
    owner.update([User.todo_count.set(count)])


@pytest.mark.parametrize(
    "second_action",
    [
        pytest.param(lambda tx, owner: tx.update(owner, [User.todo_count.add(1)], User.id.does_not_exist()),
                     id="a condition fails"),
        pytest.param(lambda tx, owner: tx.save(Todo(owner.id, "0001", text="again"), None),
                     id="the same item twice"),
        pytest.param(lambda tx, owner: tx.save(Todo(owner.id, "0002", text="x" * 410_000), None),
                     id="an item over 400 KB"),
    ],
)
def test_a_cancelled_transaction_changes_nothing(owner: User, second_action: Any) -> None:
    """GIVEN a transaction whose first action wrote WHEN a later one fails THEN every item is as before."""
    users, todos, claims = stored(User), stored(Todo), stored(UserEmail)
    with pytest.raises(TransactWriteError), TransactWrite(connection=models._connection_of(Todo)) as transaction:
        transaction.save(Todo(owner.id, "0001", text="new"), None)
        transaction.update(owner, [User.last_name.set("changed")], None)
        second_action(transaction, owner)
    assert (stored(User), stored(Todo), stored(UserEmail)) == (users, todos, claims)


def test_mark_all_on_300_todos_copies_no_table_and_finishes_well_under_a_few_seconds(owner: User) -> None:
    """GIVEN 300 todos WHEN all are marked complete and back THEN no table is copied (moto kept each copy: memory)."""
    seed_todos(owner, 300)
    before = tracked_tables()
    started = time.monotonic()
    assert len(Todo.mark_all(owner.id, True)) == 300
    elapsed = time.monotonic() - started
    assert len(Todo.mark_all(owner.id, False)) == 300
    assert tracked_tables() == before  # moto's own rollback made 100 table copies per transaction, kept for good
    assert elapsed < 3, elapsed  # a generous guard: about 0.3 s here, 7 s with moto's rollback
    assert (User.get(owner.id).todo_count, User.get(owner.id).completed_count) == (300, 0)
