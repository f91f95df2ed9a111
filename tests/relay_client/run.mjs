// Drive a real Relay client (relay-runtime's Environment and Store, the documents in src/
// compiled by relay-compiler into __generated__/) against a running server, without React:
//
//   npm --prefix tests/relay_client run relay      # compile src/ into tests/relay_client/__generated__/
//   node tests/relay_client/run.mjs http://127.0.0.1:5000/graphql "$TOKEN" [ARTIFACTS_DIR]
//
// ARTIFACTS_DIR (default: __generated__ beside this script) is where relay-compiler wrote the
// artifacts, plain CommonJS modules (language "javascript", eagerEsModules false).
//
// It does what a TodoMVC-style client does: the root query with a @connection, the six
// mutations (@appendEdge/@deleteEdge keeping the connection up to date), a node refetch,
// and paging with the @refetchable pagination query the way usePaginationFragment's
// loadNext does. After every step it reads the store and checks it against what the server
// should hold. Any GraphQL error, HTTP error or Relay warning fails the run.
//
// TOKEN must be an access token of a user with no todos yet (the run adds and removes some).
// Prints "ok STEP" per step, then a JSON summary line; exits 1 on the first failure.
import { createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { isDeepStrictEqual } from "node:util";

const require = createRequire(import.meta.url);

// Relay reports problems it tolerates (a missing field in a payload, duplicate edges, ...)
// as warnings on the console: collect them and fail the step that caused them.
const warnings = [];
for (const level of ["error", "warn"]) {
  const original = console[level].bind(console);
  console[level] = (...args) => {
    warnings.push(args.map(String).join(" "));
    original(...args);
  };
}

const {
  ConnectionHandler,
  Environment,
  Network,
  RecordSource,
  Store,
  commitMutation,
  createOperationDescriptor,
  fetchQuery,
  getPaginationMetadata,
  getPaginationVariables,
  getRefetchMetadata,
  getRequest,
  getSelector,
} = require("relay-runtime");

const [url, token, artifactsArg] = process.argv.slice(2);
if (!url || !token) {
  console.error("usage: node run.mjs URL TOKEN [ARTIFACTS_DIR]");
  process.exit(2);
}
const artifacts = path.resolve(artifactsArg ?? path.join(path.dirname(fileURLToPath(import.meta.url)), "__generated__"));

/** Load a compiled artifact (plain CommonJS, no Babel involved). */
function artifact(name) {
  const file = path.join(artifacts, `${name}.graphql.js`);
  try {
    return require(file);
  } catch (error) {
    console.error(`cannot load ${file}: run relay-compiler first (${error.message})`);
    process.exit(2);
  }
}

const TodoAppQuery = artifact("TodoAppQuery");
const TodoListUser = artifact("TodoList_user");
const TodoNodeQuery = artifact("TodoNodeQuery");
const AddTodoMutation = artifact("AddTodoMutation");
const ChangeTodoStatusMutation = artifact("ChangeTodoStatusMutation");
const MarkAllTodosMutation = artifact("MarkAllTodosMutation");
const RemoveTodoMutation = artifact("RemoveTodoMutation");
const RemoveCompletedTodosMutation = artifact("RemoveCompletedTodosMutation");
const RenameTodoMutation = artifact("RenameTodoMutation");

const CONNECTION_KEY = "TodoList_todos";
const ALL = 2147483647; // what the TodoMVC client asks for; the server clamps it

// --- checks ------------------------------------------------------------------------------

function check(condition, message) {
  if (!condition) throw new Error(message);
}

function checkEqual(actual, expected, what) {
  if (!isDeepStrictEqual(actual, expected)) {
    throw new Error(`${what}: expected ${JSON.stringify(expected)}, got ${JSON.stringify(actual)}`);
  }
}

function sameMembers(actual, expected, what) {
  checkEqual([...actual].sort(), [...expected].sort(), what);
}

// --- the client --------------------------------------------------------------------------

/** One Relay environment, as one page load of the app would have. */
class TodoClient {
  constructor(name) {
    this.name = name;
    this.requests = [];
    const network = Network.create((params, variables) => this.send(params, variables));
    this.environment = new Environment({ network, store: new Store(new RecordSource()) });
    this.retained = [];
    this.root = null;
  }

  /** POST the operation as JSON with the bearer token; reject on HTTP or GraphQL errors. */
  async send(params, variables) {
    const response = await fetch(url, {
      method: "POST",
      headers: {
        accept: "application/graphql-response+json, application/json",
        "content-type": "application/json",
        authorization: `Bearer ${token}`,
      },
      // Compiled with persistConfig, an operation has an id and no text: send the id, as Relay apps do.
      body: JSON.stringify(
        params.id != null
          ? { doc_id: params.id, variables, operationName: params.name }
          : { query: params.text, variables, operationName: params.name },
      ),
      signal: AbortSignal.timeout(15_000),
    });
    const text = await response.text();
    const where = `${params.name} ${JSON.stringify(variables)}`;
    let body;
    try {
      body = JSON.parse(text);
    } catch {
      throw new Error(`${where}: HTTP ${response.status}, not JSON: ${text.slice(0, 500)}`);
    }
    if (!response.ok || body.errors) {
      throw new Error(`${where}: HTTP ${response.status}: ${JSON.stringify(body.errors ?? body).slice(0, 1000)}`);
    }
    this.requests.push({ name: params.name, variables, data: body.data });
    return body;
  }

  /** Fetch the root query and keep it retained, as a mounted query renderer would. */
  async loadRoot(count) {
    const variables = { userId: "me", count, cursor: null };
    const operation = createOperationDescriptor(getRequest(TodoAppQuery), variables);
    this.retained.push(this.environment.retain(operation));
    const data = await fetchQuery(this.environment, TodoAppQuery, variables).toPromise();
    check(data?.user != null, `${this.name}: user(id: "me") is null`);
    this.root = operation;
    return data;
  }

  /** The root query as the store holds it now. */
  readRoot() {
    const snapshot = this.environment.lookup(this.root.fragment);
    check(!snapshot.isMissingData, `${this.name}: the store is missing data of TodoAppQuery`);
    check(snapshot.data.user != null, `${this.name}: the store has no user for TodoAppQuery`);
    return snapshot.data;
  }

  /** The TodoList_user fragment (the connection) as the store holds it now. */
  readList() {
    const selector = getSelector(TodoListUser, this.readRoot().user);
    const snapshot = this.environment.lookup(selector);
    check(!snapshot.isMissingData, `${this.name}: the store is missing data of TodoList_user`);
    return { selector, data: snapshot.data };
  }

  /** The list in a plain shape: user fields, todos in connection order, pageInfo. */
  state() {
    const { data } = this.readList();
    return {
      id: data.id,
      userId: data.userId,
      totalCount: data.totalCount,
      completedCount: data.completedCount,
      todos: data.todos.edges.map((edge) => ({ id: edge.node.id, text: edge.node.text, complete: edge.node.complete })),
      cursors: data.todos.edges.map((edge) => edge.cursor),
      pageInfo: { ...data.todos.pageInfo },
    };
  }

  connectionID() {
    return ConnectionHandler.getConnectionID(this.readRoot().user.id, CONNECTION_KEY);
  }

  /** Fetch the next page with the @refetchable pagination query, as usePaginationFragment's loadNext does. */
  async loadNext(count) {
    const { selector, data } = this.readList();
    const { paginationRequest, paginationMetadata } = getPaginationMetadata(TodoListUser, "TodoList");
    const { identifierInfo } = getRefetchMetadata(TodoListUser, "TodoList");
    const { endCursor, hasNextPage } = data.todos.pageInfo;
    check(hasNextPage, `${this.name}: loadNext without a next page`);
    const baseVariables = { ...selector.owner.variables, ...selector.variables };
    const variables = getPaginationVariables("forward", count, endCursor, baseVariables, {}, paginationMetadata);
    variables[identifierInfo.identifierQueryVariableName] = data[identifierInfo.identifierField];
    const result = await fetchQuery(this.environment, paginationRequest, variables).toPromise();
    check(result?.node != null, `${this.name}: node(id: ${JSON.stringify(variables.id)}) of the user is null`);
    checkEqual(this.requests.at(-1).data.node.__typename, "User", "the pagination query's node type");
    return variables;
  }

  mutate(mutation, variables) {
    return new Promise((resolve, reject) => {
      commitMutation(this.environment, {
        mutation,
        variables,
        onCompleted: (response, errors) =>
          errors?.length ? reject(new Error(JSON.stringify(errors))) : resolve(response),
        onError: reject,
      });
    });
  }

  dispose() {
    for (const disposable of this.retained) disposable.dispose();
  }
}

// --- the scenario ------------------------------------------------------------------------

const passed = [];

async function step(name, body) {
  const before = warnings.length;
  try {
    await body();
    check(warnings.length === before, `Relay warned: ${warnings.slice(before).join(" | ")}`);
  } catch (error) {
    console.log(`FAIL ${name}: ${error.message}`);
    console.log(JSON.stringify({ ok: false, steps: passed, failed: name, error: error.message }));
    process.exit(1);
  }
  passed.push(name);
  console.log(`ok ${name}`);
}

const app = new TodoClient("app");
let user; // { id: global id, userId }
let todos = []; // what the server should hold, in list order: { id, text, complete }

/** Check the store against `todos` and the counters they imply. */
function expectStore(client, what) {
  const state = client.state();
  checkEqual(
    state.todos.map(({ id, text, complete }) => ({ id, text, complete })),
    todos,
    `${what}: the connection's todos in the store`,
  );
  checkEqual(state.totalCount, todos.length, `${what}: totalCount in the store`);
  checkEqual(state.completedCount, todos.filter((todo) => todo.complete).length, `${what}: completedCount in the store`);
  return state;
}

async function addTodo(client, text, clientMutationId) {
  const input = { text, userId: user.userId, ...(clientMutationId ? { clientMutationId } : {}) };
  const response = await client.mutate(AddTodoMutation, { input, connections: [client.connectionID()] });
  const payload = response.addTodo;
  checkEqual(payload.todoEdge.node.text, text, "addTodo's todoEdge.node.text");
  checkEqual(payload.todoEdge.node.complete, false, "addTodo's todoEdge.node.complete");
  check(payload.todoEdge.cursor, "addTodo's todoEdge has no cursor");
  checkEqual(payload.clientMutationId ?? null, clientMutationId ?? null, "addTodo's clientMutationId");
  todos.push({ id: payload.todoEdge.node.id, text, complete: false });
  const state = expectStore(client, `after addTodo ${JSON.stringify(text)}`);
  checkEqual(state.cursors.at(-1), payload.todoEdge.cursor, "the appended edge's cursor");
  checkEqual(payload.user.totalCount, todos.length, "addTodo's user.totalCount");
  return payload;
}

await step("root query", async () => {
  const data = await app.loadRoot(ALL);
  const sent = app.requests.at(-1);
  checkEqual(sent.name, "TodoAppQuery", "the operation sent");
  checkEqual(sent.variables, { userId: "me", count: ALL, cursor: null }, "the variables sent");
  user = { id: data.user.id, userId: data.user.userId };
  check(typeof user.id === "string" && user.id, "user.id is empty");
  check(typeof user.userId === "string" && user.userId, "user.userId is empty");
  const first = app.state();
  check(first.todos.length === 0, `run.mjs needs a user with no todos; this one has ${first.todos.length}`);
  const state = expectStore(app, "the first load");
  checkEqual(state.pageInfo.hasNextPage, false, "pageInfo.hasNextPage of an empty list");
  // The connection the mutations will name is the one the fragment reads.
  const connection = app.environment.getStore().getSource().get(app.connectionID());
  check(connection != null, `no record ${app.connectionID()} in the store`);
});

await step("addTodo @appendEdge", async () => {
  await addTodo(app, "Buy milk", "add-1");
  await addTodo(app, "Write tests");
  await addTodo(app, "Ship it");
});

await step("markAllTodos complete", async () => {
  const response = await app.mutate(MarkAllTodosMutation, { input: { complete: true, userId: user.userId } });
  sameMembers(
    response.markAllTodos.changedTodos.map((todo) => todo.id),
    todos.map((todo) => todo.id),
    "markAllTodos(complete: true)'s changedTodos",
  );
  for (const todo of todos) todo.complete = true;
  expectStore(app, "after markAllTodos(complete: true)");
});

await step("markAllTodos active", async () => {
  const response = await app.mutate(MarkAllTodosMutation, { input: { complete: false, userId: user.userId } });
  sameMembers(
    response.markAllTodos.changedTodos.map((todo) => todo.id),
    todos.map((todo) => todo.id),
    "markAllTodos(complete: false)'s changedTodos",
  );
  for (const todo of todos) todo.complete = false;
  expectStore(app, "after markAllTodos(complete: false)");
});

await step("changeTodoStatus", async () => {
  const [first] = todos;
  const input = { complete: true, id: first.id, userId: user.userId };
  const response = await app.mutate(ChangeTodoStatusMutation, { input });
  checkEqual(response.changeTodoStatus.todo, { id: first.id, complete: true }, "changeTodoStatus's todo");
  checkEqual(response.changeTodoStatus.user.completedCount, 1, "changeTodoStatus's user.completedCount");
  first.complete = true;
  expectStore(app, "after changeTodoStatus");
});

await step("renameTodo", async () => {
  const second = todos[1];
  const response = await app.mutate(RenameTodoMutation, { input: { id: second.id, text: "  Write more tests " } });
  checkEqual(response.renameTodo.todo, { id: second.id, text: "Write more tests" }, "renameTodo's todo");
  second.text = "Write more tests";
  expectStore(app, "after renameTodo");
});

await step("node refetch", async () => {
  const second = todos[1];
  const data = await fetchQuery(app.environment, TodoNodeQuery, { id: second.id }).toPromise();
  checkEqual(data.node, { id: second.id, __typename: "Todo", text: second.text, complete: false }, "node(id:)");
  expectStore(app, "after the node refetch");
});

await step("removeTodo @deleteEdge", async () => {
  const last = todos[2];
  const input = { id: last.id, userId: user.userId };
  const response = await app.mutate(RemoveTodoMutation, { input, connections: [app.connectionID()] });
  checkEqual(response.removeTodo.deletedTodoId, last.id, "removeTodo's deletedTodoId");
  todos = todos.filter((todo) => todo.id !== last.id);
  expectStore(app, "after removeTodo");
  checkEqual(response.removeTodo.user.totalCount, todos.length, "removeTodo's user.totalCount");
  // The removed todo is gone from the server too.
  const data = await fetchQuery(app.environment, TodoNodeQuery, { id: last.id }).toPromise();
  checkEqual(data.node, null, "node(id:) of the removed todo");
});

await step("removeCompletedTodos @deleteEdge", async () => {
  const completed = todos.filter((todo) => todo.complete).map((todo) => todo.id);
  check(completed.length === 1 && todos.length === 2, "the scenario should have one completed todo of two here");
  const input = { userId: user.userId };
  const response = await app.mutate(RemoveCompletedTodosMutation, { input, connections: [app.connectionID()] });
  checkEqual(response.removeCompletedTodos.deletedTodoIds, completed, "removeCompletedTodos's deletedTodoIds");
  todos = todos.filter((todo) => !todo.complete);
  expectStore(app, "after removeCompletedTodos");
  checkEqual(response.removeCompletedTodos.user.completedCount, 0, "removeCompletedTodos's user.completedCount");
});

await step("root refetch matches the store", async () => {
  const before = app.state();
  await fetchQuery(app.environment, TodoAppQuery, { userId: "me", count: ALL, cursor: null }).toPromise();
  const server = app.requests.at(-1).data.user;
  checkEqual(
    server.todos.edges.map((edge) => ({ id: edge.node.id, text: edge.node.text, complete: edge.node.complete })),
    before.todos,
    "the server's todos against the store's before the refetch",
  );
  checkEqual(
    [server.totalCount, server.completedCount],
    [before.totalCount, before.completedCount],
    "the server's counters against the store's",
  );
  const after = expectStore(app, "after refetching the root query");
  checkEqual(after.todos, before.todos, "the store's todos after the refetch");
});

await step("addTodo @appendEdge for paging", async () => {
  for (let n = 1; n <= 5; n += 1) await addTodo(app, `Page item ${n}`);
  checkEqual(todos.length, 6, "todos on the list");
});

await step("pagination loadNext", async () => {
  // A fresh environment, as a new page load would have, showing two todos per page.
  const paged = new TodoClient("paged");
  try {
    await paged.loadRoot(2);
    let state = paged.state();
    checkEqual(state.todos, todos.slice(0, 2), "the first page");
    checkEqual(state.pageInfo.hasNextPage, true, "hasNextPage of the first page");
    let pages = 1;
    while (state.pageInfo.hasNextPage) {
      check(pages < 10, "pagination does not end");
      const cursor = state.pageInfo.endCursor;
      const sent = await paged.loadNext(2);
      checkEqual([sent.count, sent.cursor, sent.id], [2, cursor, user.id], "the pagination query's variables");
      const page = paged.requests.at(-1).data.node.todos;
      checkEqual(page.edges.length, Math.min(2, todos.length - 2 * pages), `the size of page ${pages + 1}`);
      pages += 1;
      state = paged.state();
      checkEqual(state.todos, todos.slice(0, 2 * pages), `the connection after page ${pages}`);
      checkEqual(state.pageInfo.endCursor, page.pageInfo.endCursor, `the connection's endCursor after page ${pages}`);
    }
    checkEqual(pages, 3, "pages of two for six todos");
    checkEqual(
      state.todos.map((todo) => todo.text),
      ["Write more tests", "Page item 1", "Page item 2", "Page item 3", "Page item 4", "Page item 5"],
      "the paged list, in creation order",
    );
    checkEqual(
      paged.state().todos.map((todo) => todo.id),
      app.state().todos.map((todo) => todo.id),
      "the paged list against the list the mutations built",
    );
  } finally {
    paged.dispose();
  }
});

app.dispose();
const requests = app.requests.length;
console.log(JSON.stringify({ ok: true, steps: passed, requests, todos: todos.length }));
process.exit(0);
