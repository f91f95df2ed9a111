// Refetch one todo through the Node interface.

graphql`
  query TodoNodeQuery($id: ID!) {
    node(id: $id) {
      id
      __typename
      ... on Todo {
        text
        complete
      }
    }
  }
`;
