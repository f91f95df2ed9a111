"""The schema PynamoObjectType and PynamoConnectionField make, printed: every change is a reviewed diff."""

from __future__ import annotations

from pynamo_testapp import schema

SDL = '''
type Query {
  """Fetches an object given its ID"""
  node(
    """The ID of the object"""
    id: ID!
  ): Node

  """Fetches objects given their IDs"""
  nodes(
    """The IDs of objects"""
    ids: [ID!]!
  ): [Node]!
  user(id: String!): User
  users(before: String, after: String, first: Int, last: Int): UserConnection
}

"""An object with an ID"""
interface Node {
  """The ID of the object"""
  id: ID!
}

type User implements Node {
  """The ID of the object"""
  id: ID!
  name: String!
  userId: String!
  buddy: User
  todos(status: String = "any", before: String, after: String, first: Int, last: Int): TodoConnection
}

type TodoConnection {
  """Pagination data for this connection."""
  pageInfo: PageInfo!

  """Contains the nodes in this connection."""
  edges: [TodoEdge]!
}

"""
The Relay compliant `PageInfo` type, containing data necessary to paginate this connection.
"""
type PageInfo {
  """When paginating forwards, are there more items?"""
  hasNextPage: Boolean!

  """When paginating backwards, are there more items?"""
  hasPreviousPage: Boolean!

  """When paginating backwards, the cursor to continue."""
  startCursor: String

  """When paginating forwards, the cursor to continue."""
  endCursor: String
}

"""A Relay edge containing a `Todo` and its cursor."""
type TodoEdge {
  """The item at the end of the edge"""
  node: Todo

  """A cursor for use in pagination"""
  cursor: String!
}

type Todo implements Node {
  """The ID of the object"""
  id: ID!
  userId: String!
  text: String!
  complete: Boolean!
  owner: User
}

type UserConnection {
  """Pagination data for this connection."""
  pageInfo: PageInfo!

  """Contains the nodes in this connection."""
  edges: [UserEdge]!
}

"""A Relay edge containing a `User` and its cursor."""
type UserEdge {
  """The item at the end of the edge"""
  node: User

  """A cursor for use in pagination"""
  cursor: String!
}
'''


def test_schema_prints_as_relay_expects():
    """Print Node types, connections, edges and PageInfo as the Relay spec shapes them."""
    assert str(schema).strip() == SDL.strip()
