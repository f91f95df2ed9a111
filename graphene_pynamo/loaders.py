"""Per-request batching loaders: node loads become BatchGetItem calls of at most 100 keys.

Contract with the app: create one `Loaders` per request and put it on the GraphQL
context as `loaders` (an attribute, or a key when the context is a dict):

    context = SimpleNamespace(viewer=viewer, loaders=Loaders())
    result = graphql.execute(schema.graphql_schema, document, context_value=context)
    if inspect.isawaitable(result):
        result = event_loop_of_this_thread.run_until_complete(result)

`get_loaders(info).for_model(TodoModel).load(key)` then returns an awaitable of the item
with that key, or None. `node`, `nodes`, `RelatedField` and `PynamoObjectType.get_node`
load through it; app code may too (`load_many`, `prime` after a write, `clear`).

Why asyncio: graphql-core calls the resolvers of all the items of a list before it
awaits any of them. A load only records its key and returns an awaitable; the loader
sends the keys it has collected once a turn of the event loop passes without a new one,
so `nodes` with 100 ids costs one BatchGetItem and nested lists cost one round trip per
level (the items of a level ask for their keys within a few turns of each other).
A synchronous design would need a thunk type graphql-core does not know, or a lookahead
over the query. Graphene 3's `DataLoader` is asyncio too, but it creates its futures on
`asyncio.get_event_loop()` when `load` is called, i.e. while graphql-core is still
running synchronously and before the app's loop runs; our `load` is a coroutine and
touches the loop only once awaited, so queries that load nothing never leave the
synchronous path. BatchGetItem runs on the event loop thread: a request is one thread,
and PynamoDB is synchronous, so there is nothing to overlap it with.

PynamoDB's own `batch_get` retries UnprocessedKeys, but at once and without limit; we
back off exponentially with jitter, as AWS asks, and give up after a few attempts.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from pynamodb.exceptions import GetError

from .ids import Key, item_key, key_schema, normalize_key

BATCH_GET_LIMIT = 100  # keys per BatchGetItem request, DynamoDB's limit
MAX_BATCH_ATTEMPTS = 6  # BatchGetItem calls per 100 keys while DynamoDB leaves keys unprocessed
BACKOFF_BASE_SECONDS = 0.05
BACKOFF_CAP_SECONDS = 1.0


@dataclass
class ReadStats:
    """DynamoDB work for a request or a page: calls made, items read, items returned.

    `items_read` is what DynamoDB evaluated (a Query's ScannedCount, which it charges
    for); `items_returned` is what it sent back after a filter (Count).
    """

    requests: int = 0
    items_read: int = 0
    items_returned: int = 0

    def add(self, requests: int = 0, items_read: int = 0, items_returned: int = 0) -> None:
        """Count more DynamoDB work."""
        self.requests += requests
        self.items_read += items_read
        self.items_returned += items_returned


class ModelLoader:
    """Load the items of one model by key, batching the loads of one request."""

    def __init__(self, model: Any, *, consistent_read: bool = False, stats: ReadStats | None = None) -> None:
        self.model = model
        self.consistent_read = consistent_read
        self.stats = stats if stats is not None else ReadStats()
        self._loaded: dict[Key, Any] = {}
        self._pending: dict[Key, asyncio.Future[Any]] = {}
        self._queue: list[Key] = []
        self._dispatcher: asyncio.Task[None] | None = None

    async def load(self, key: Key) -> Any:
        """Return the item with `key`, or None if there is none."""
        key = normalize_key(self.model, key)
        if key in self._loaded:
            return self._loaded[key]
        future = self._pending.get(key)
        if future is None:
            loop = asyncio.get_running_loop()
            future = self._pending[key] = loop.create_future()
            self._queue.append(key)
            if self._dispatcher is None:
                self._dispatcher = loop.create_task(self._dispatch())
        return await future

    async def load_many(self, keys: Iterable[Key]) -> list[Any]:
        """Return the items with `keys` in the same order, None where there is none."""
        return list(await asyncio.gather(*(self.load(key) for key in keys)))

    def prime(self, item: Any) -> None:
        """Remember `item` (e.g. one just written), so loads of its key return it."""
        key = normalize_key(self.model, item_key(item))
        self._loaded[key] = item

    def clear(self, key: Key) -> None:
        """Forget the item with `key`, so the next load reads it again."""
        self._loaded.pop(normalize_key(self.model, key), None)

    async def _dispatch(self) -> None:
        # Yield until a turn of the loop adds no key: the items of a list ask for their keys
        # in one turn, resolvers an await deeper in the turns after it.
        queued = -1
        while queued != len(self._queue):
            queued = len(self._queue)
            await asyncio.sleep(0)
        keys, self._queue, self._dispatcher = self._queue, [], None
        try:
            items = await self._batch_get(keys)
        except Exception as error:
            for key in keys:
                self._pending.pop(key).set_exception(error)
            return
        for key in keys:
            item = self._loaded[key] = items.get(key)
            self._pending.pop(key).set_result(item)

    async def _batch_get(self, keys: list[Key]) -> dict[Key, Any]:
        found = {}
        for start in range(0, len(keys), BATCH_GET_LIMIT):
            unprocessed = [self._request_key(key) for key in keys[start : start + BATCH_GET_LIMIT]]
            for attempt in range(1, MAX_BATCH_ATTEMPTS + 1):
                # One BatchGetItem call; PynamoDB's batch_get would retry without a pause.
                raw_items, unprocessed = self.model._batch_get_page(
                    unprocessed, consistent_read=self.consistent_read, attributes_to_get=None
                )
                raw_items = raw_items or []
                self.stats.add(requests=1, items_read=len(raw_items), items_returned=len(raw_items))
                for raw in raw_items:
                    item = self.model.from_raw_data(raw)
                    found[normalize_key(self.model, item_key(item))] = item
                if not unprocessed:
                    break
                if attempt == MAX_BATCH_ATTEMPTS:
                    raise GetError(f"DynamoDB left {len(unprocessed)} keys unprocessed {attempt} times")
                # DynamoDB leaves keys unprocessed when throttled or over 16 MB: back off, then ask again.
                delay = min(BACKOFF_CAP_SECONDS, BACKOFF_BASE_SECONDS * 2 ** (attempt - 1))
                await asyncio.sleep(random.uniform(0, delay))
        return found

    def _request_key(self, key: Key) -> dict[str, dict[str, Any]]:
        schema = key_schema(self.model)
        parts = [(schema.hash_attribute, key if schema.range_attribute is None else key[0])]
        if schema.range_attribute is not None:
            parts.append((schema.range_attribute, key[1]))
        return {attr.attr_name: {attr.attr_type: attr.serialize(value)} for attr, value in parts}


class Loaders:
    """The loaders of one request, one per model, sharing one `ReadStats`."""

    def __init__(self, *, consistent_read: bool = False) -> None:
        self.consistent_read = consistent_read
        self.stats = ReadStats()
        self._loaders: dict[Any, ModelLoader] = {}

    def for_model(self, model: Any) -> ModelLoader:
        """Return this request's loader for `model`."""
        loader = self._loaders.get(model)
        if loader is None:
            loader = ModelLoader(model, consistent_read=self.consistent_read, stats=self.stats)
            self._loaders[model] = loader
        return loader


def find_loaders(context: Any) -> Loaders | None:
    """Return the `Loaders` on a GraphQL context, or None."""
    loaders = context.get("loaders") if isinstance(context, Mapping) else getattr(context, "loaders", None)
    return loaders if isinstance(loaders, Loaders) else None


def get_loaders(info: Any) -> Loaders:
    """Return the `Loaders` of the request `info` belongs to, or raise if the app set none."""
    loaders = find_loaders(info.context)
    if loaders is None:
        raise RuntimeError("graphene_pynamo needs a Loaders per request on the GraphQL context as `loaders`")
    return loaders
