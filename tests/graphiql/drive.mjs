// Run the GraphiQL page's own script in Node against a live server, with React and GraphiQL stubbed.
// Usage: node drive.mjs ORIGIN PAGE_HTML_FILE EMAIL PASSWORD WAIT_SECONDS
// Prints one JSON line: what each step returned.
import { readFileSync } from "node:fs";
import vm from "node:vm";

const [origin, pageFile, email, password, waitSeconds] = process.argv.slice(2);
const html = readFileSync(pageFile, "utf8");
const inline = [...html.matchAll(/<script>([\s\S]*?)<\/script>/g)].map((match) => match[1]);
if (inline.length !== 1) throw new Error(`expected one inline script, found ${inline.length}`);

const rendered = [];
function element(props = {}) {
  const listeners = {};
  return { ...props, hidden: false, textContent: "", addEventListener: (name, fn) => (listeners[name] = fn), listeners };
}
const form = element({ elements: { email: { value: "" }, password: { value: "" } } });
const elements = { signin: form, status: element(), signout: element(), graphiql: element() };
// A browser's cookie jar, as far as the page needs one: httpOnly cookies go along with requests,
// the others (the CSRF tokens) are readable in document.cookie.
const jar = new Map();
async function browserFetch(url, options = {}) {
  const headers = new Headers(options.headers || {});
  if (jar.size) headers.set("Cookie", [...jar].map(([name, { value }]) => `${name}=${value}`).join("; "));
  const response = await fetch(new URL(url, origin), { ...options, headers });
  for (const line of response.headers.getSetCookie()) {
    const [pair] = line.split(";");
    const name = pair.slice(0, pair.indexOf("="));
    const value = pair.slice(pair.indexOf("=") + 1);
    if (!value || /max-age=0|expires=thu, 01 jan 1970/i.test(line)) jar.delete(name);
    else jar.set(name, { value, httpOnly: /;\s*httponly/i.test(line) });
  }
  context.document.cookie = [...jar].filter(([, c]) => !c.httpOnly).map(([n, c]) => `${n}=${c.value}`).join("; ");
  return response;
}

const context = {
  window: { location: { pathname: "/graphql" } },
  document: { cookie: "", getElementById: (id) => elements[id] },
  fetch: browserFetch,
  Headers,
  JSON,
  React: { createElement: (_component, props) => props },
  ReactDOM: { createRoot: () => ({ render: (props) => rendered.push(props) }) },
  GraphiQL: {
    // As GraphiQL's createFetcher does for a plain HTTP request: POST the params, read JSON.
    createFetcher: ({ url, fetch: fetchImpl }) => async (params) => {
      const response = await fetchImpl(url, {
        method: "POST",
        headers: { "Content-Type": "application/json", Accept: "application/json" },
        body: JSON.stringify(params),
      });
      return response.json();
    },
  },
};
vm.runInNewContext(inline[0], context);

const fetcher = () => rendered[rendered.length - 1].fetcher;
const viewer = { query: "{ viewer { email } }" };
const steps = {};
steps.placeholderHeader = JSON.stringify(rendered[0]).includes("access_token");
const schema = await fetcher()({ query: "query IntrospectionQuery { __schema { queryType { name } } }", operationName: "IntrospectionQuery" });
steps.schemaBeforeSignIn = schema.data.__schema.queryType.name;
steps.queryBeforeSignIn = (await fetcher()(viewer)).errors[0].extensions.code;
form.elements.email.value = email;
form.elements.password.value = "wrong password";
await form.listeners.submit({ preventDefault() {} });
steps.wrongPassword = elements.status.textContent;
// The failure delays the account (login throttling): at once, the right password is refused too.
form.elements.password.value = password;
await form.listeners.submit({ preventDefault() {} });
const retry = elements.status.textContent;
steps.throttled = retry.replace(/\d+ seconds?/, "N seconds");
await new Promise((resolve) => setTimeout(resolve, Number(retry.match(/\d+/)?.[0] ?? 0) * 1000));
form.elements.password.value = password;
await form.listeners.submit({ preventDefault() {} });
steps.signedIn = elements.status.textContent;
steps.cookiesSignedIn = [...jar.keys()].sort();
steps.passwordCleared = form.elements.password.value === "";
steps.renders = rendered.length;
steps.query = await fetcher()(viewer);
await new Promise((resolve) => setTimeout(resolve, Number(waitSeconds) * 1000));
steps.afterExpiry = await fetcher()(viewer);
await elements.signout.listeners.click();
steps.signedOut = elements.status.textContent;
steps.afterSignOut = (await fetcher()(viewer)).errors[0].extensions.code;
steps.cookies = [...jar.keys()].sort();
console.log(JSON.stringify(steps));
