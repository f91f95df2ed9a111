// Remove the completed todos; @deleteEdge takes each returned id's edge out of the connections.

graphql`
  mutation RemoveCompletedTodosMutation($input: RemoveCompletedTodosInput!, $connections: [ID!]!) {
    removeCompletedTodos(input: $input) {
      deletedTodoIds @deleteEdge(connections: $connections)
      user {
        id
        totalCount
        completedCount
      }
    }
  }
`;
