"""Trusted documents (persisted queries): the operations a deployed client may run, by id.

The file is a JSON object of document id to document text, what relay-compiler's
`persistConfig` writes (`{"<md5>": "query TodoAppQuery ... fragment ..."}`) and what
`flask --app run persist-queries` builds from `.graphql` files. Every document is parsed
and validated against the schema when the app starts; one that does not validate stops
the start, naming it. Clients send `{"doc_id": ...}` (Relay), `{"id": ...}`, or Apollo's
`{"extensions": {"persistedQuery": {"version": 1, "sha256Hash": ...}}}`, which is looked
up by the SHA-256 of the text whatever id the map uses.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import NamedTuple

from graphql import (
    DocumentNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLSchema,
    OperationDefinitionNode,
    Visitor,
    parse,
    print_ast,
    validate,
    visit,
)

from config import ConfigError


class Persisted(NamedTuple):
    """One trusted document: its id, its text and its parsed, validated AST."""

    id: str
    text: str
    document: DocumentNode


def sha256_of(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class PersistedDocuments:
    """The trusted documents of one deployment, by id and by the SHA-256 of their text."""

    def __init__(
        self, documents: Mapping[str, str], schema: GraphQLSchema, source: str = "the persisted queries"
    ) -> None:
        self.by_id: dict[str, Persisted] = {}
        self.by_sha256: dict[str, Persisted] = {}
        for doc_id, text in documents.items():
            if not isinstance(text, str):
                raise ConfigError(f"{source}: document {doc_id!r} is not a string of GraphQL text.")
            errors = _errors(schema, text)
            if errors:
                raise ConfigError(f"{source}: document {doc_id!r} does not validate: {errors[0].message}")
            persisted = Persisted(doc_id, text, parse(text))
            self.by_id[doc_id] = persisted
            self.by_sha256[sha256_of(text)] = persisted

    @classmethod
    def from_file(cls, path: str | Path, schema: GraphQLSchema) -> PersistedDocuments:
        """Load and validate the map in `path`, or raise ConfigError naming what is wrong."""
        source = f"PERSISTED_QUERIES_FILE {path}"
        try:
            documents = json.loads(Path(path).read_text(encoding="utf-8"))
        except OSError as error:
            raise ConfigError(f"{source}: cannot read it ({error.strerror}).") from None
        except ValueError as error:
            raise ConfigError(f"{source}: not a JSON file ({error}).") from None
        if not isinstance(documents, dict):
            raise ConfigError(f"{source}: expected a JSON object of document id to document text.")
        return cls(documents, schema, source)

    def __len__(self) -> int:
        return len(self.by_id)

    def find(self, doc_id: str | None = None, sha256: str | None = None) -> Persisted | None:
        """Return the document with this id or text hash, or None."""
        if doc_id is not None:
            return self.by_id.get(doc_id)
        return self.by_sha256.get(sha256 or "")


def _errors(schema: GraphQLSchema, text: str) -> list[GraphQLError]:
    try:
        document = parse(text)
    except GraphQLError as error:
        return [error]
    return validate(schema, document)


class PersistFailed(Exception):
    """A `.graphql` file cannot be persisted; the message names it and says why."""


def build_map(files: Iterable[Path], schema: GraphQLSchema) -> dict[str, str]:
    """Return {sha256: text}, one document per operation in `files` with the fragments it spreads."""
    operations: dict[str, tuple[Path, OperationDefinitionNode]] = {}
    fragments: dict[str, FragmentDefinitionNode] = {}
    for path in files:
        try:
            document = parse(path.read_text(encoding="utf-8"))
        except GraphQLError as error:
            raise PersistFailed(f"{path}: {error.message}") from None
        for definition in document.definitions:
            if isinstance(definition, FragmentDefinitionNode):
                if definition.name.value in fragments:
                    raise PersistFailed(f"{path}: fragment {definition.name.value} is defined twice.")
                fragments[definition.name.value] = definition
            elif isinstance(definition, OperationDefinitionNode):
                if definition.name is None:
                    raise PersistFailed(f"{path}: name every operation (persisted documents are found by name).")
                if definition.name.value in operations:
                    raise PersistFailed(f"{path}: operation {definition.name.value} is defined twice.")
                operations[definition.name.value] = (path, definition)
    documents: dict[str, str] = {}
    for name, (path, operation) in sorted(operations.items()):
        needed = _spread_fragments(operation, fragments, path)
        text = "\n\n".join(print_ast(definition) for definition in [operation, *needed]) + "\n"
        errors = _errors(schema, text)
        if errors:
            raise PersistFailed(f"{path}: operation {name} does not validate: {errors[0].message}")
        documents[sha256_of(text)] = text
    return documents


class _Spreads(Visitor):
    def __init__(self) -> None:
        super().__init__()
        self.names: list[str] = []

    def enter_fragment_spread(self, node: FragmentSpreadNode, *_args: object) -> None:
        self.names.append(node.name.value)


def _spread_fragments(
    operation: OperationDefinitionNode, fragments: Mapping[str, FragmentDefinitionNode], path: Path
) -> list[FragmentDefinitionNode]:
    """Return the fragments `operation` spreads, directly or through other fragments, sorted by name."""
    needed: dict[str, FragmentDefinitionNode] = {}
    pending: list[object] = [operation]
    while pending:
        spreads = _Spreads()
        visit(pending.pop(), spreads)
        for name in spreads.names:
            if name in needed:
                continue
            if name not in fragments:
                raise PersistFailed(f"{path}: fragment {name} is spread but defined in no file.")
            needed[name] = fragments[name]
            pending.append(fragments[name])
    return [needed[name] for name in sorted(needed)]
