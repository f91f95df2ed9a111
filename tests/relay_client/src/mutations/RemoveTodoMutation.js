// Remove one todo; @deleteEdge takes its edge out of the given connections.

graphql`
  mutation RemoveTodoMutation($input: RemoveTodoInput!, $connections: [ID!]!) {
    removeTodo(input: $input) {
      deletedTodoId @deleteEdge(connections: $connections)
      user {
        id
        totalCount
        completedCount
      }
    }
  }
`;
