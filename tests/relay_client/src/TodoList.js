// The list of todos as one Relay connection. filters: [] keeps one connection whatever
// the paging arguments, so @appendEdge/@deleteEdge and later pages all land in it.
// @refetchable makes relay-compiler generate TodoListPaginationQuery, the node(id:) query
// that usePaginationFragment's loadNext sends for the next page.

graphql`
  fragment TodoList_user on User
  @argumentDefinitions(count: { type: "Int!" }, cursor: { type: "String" })
  @refetchable(queryName: "TodoListPaginationQuery") {
    id
    userId
    totalCount
    completedCount
    todos(first: $count, after: $cursor) @connection(key: "TodoList_todos", filters: []) {
      edges {
        node {
          id
          text
          complete
        }
      }
    }
  }
`;
