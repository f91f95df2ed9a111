// GraphQL documents of a TodoMVC-style Relay client. relay-compiler reads the graphql tags
// in this directory and writes the artifacts that run.mjs loads from __generated__/; this
// file is never executed (there is no Babel here to replace the tags).

// The root query: the viewer (by "me") with its counters and the first page of its list.
graphql`
  query TodoAppQuery($userId: String, $count: Int!, $cursor: String) {
    user(id: $userId) {
      id
      userId
      totalCount
      completedCount
      ...TodoList_user @arguments(count: $count, cursor: $cursor)
    }
  }
`;
