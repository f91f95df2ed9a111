// Add a todo; @appendEdge puts the returned edge at the end of the given connections.

graphql`
  mutation AddTodoMutation($input: AddTodoInput!, $connections: [ID!]!) {
    addTodo(input: $input) {
      clientMutationId
      todoEdge @appendEdge(connections: $connections) {
        cursor
        node {
          id
          text
          complete
        }
      }
      user {
        id
        totalCount
        completedCount
      }
    }
  }
`;
