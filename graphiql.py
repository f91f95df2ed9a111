"""The GraphiQL page served to browsers at /graphql (development), with a sign-in form.

Its assets come from a CDN pinned by Subresource Integrity: the browser refuses a file whose
sha384 differs from the one the npm package of that exact version ships (the CDN serves the
package's files unchanged). To change a version, take the hash from the package itself:
`npm pack graphiql@VERSION`, unpack it, `openssl dgst -sha384 -binary package/graphiql.min.js | base64`.
Signing in on the page calls /login, keeps the tokens in the page's memory only
(or, in cookie mode, in the server's httpOnly cookies with the CSRF header), refreshes an
expired access token once, and loads the schema from /graphql-schema before sign-in so the
first load does not fail.
"""

from __future__ import annotations

CDN = "https://unpkg.com"
# (package, version, file, sha384 of the file as the npm package ships it)
ASSETS = (
    ("graphiql", "3.8.3", "graphiql.min.css",
     "sha384-Mq3vbRBY71jfjQAt/DcjxUIYY33ksal4cgdRt9U/hNPvHBCaT2JfJ/PTRiPKf0aM"),
    ("react", "18.3.1", "umd/react.production.min.js",
     "sha384-DGyLxAyjq0f9SPpVevD6IgztCFlnMF6oW/XQGmfe+IsZ8TqEiDrcHkMLKI6fiB/Z"),
    ("react-dom", "18.3.1", "umd/react-dom.production.min.js",
     "sha384-gTGxhz21lVGYNMcdJOyq01Edg0jhn/c22nsx0kyqP0TxaV5WVdsSH1fSDUf5YJj1"),
    ("graphiql", "3.8.3", "graphiql.min.js",
     "sha384-HbRVEFG0JGJZeAHCJ9Xm2+tpknBQ7QZmNlO/DgZtkZ0aJSypT96YYGRNod99l9Ie"),
)

_SCRIPT = r"""
  const endpoint = window.location.pathname;
  const base = endpoint.replace(/\/graphql\/?$/, "");
  let session = null;  // {email, access, refresh}: in this page's memory only, gone on reload

  function cookie(name) {
    const found = document.cookie.split("; ").find((item) => item.startsWith(name + "="));
    return found ? decodeURIComponent(found.slice(name.length + 1)) : null;
  }

  async function postJSON(path, body, headers) {
    const response = await fetch(base + path, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", ...headers },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return [response, await response.json().catch(() => ({}))];
  }

  async function refresh() {
    const headers = {};
    if (session.refresh) headers.Authorization = "Bearer " + session.refresh;
    const csrf = cookie("csrf_refresh_token");
    if (csrf) headers["X-CSRF-TOKEN"] = csrf;
    const [response, body] = await postJSON("/refresh", undefined, headers);
    if (!response.ok) return false;
    if (body.access_token) session.access = body.access_token;
    if (body.refresh_token) session.refresh = body.refresh_token;  // servers that rotate refresh tokens
    return true;
  }

  async function authFetch(url, options) {
    const params = JSON.parse(options.body || "{}");
    if (!session && params.operationName === "IntrospectionQuery") {
      // Before sign-in, the schema from /graphql-schema (open in development) instead of a 401.
      const schema = await fetch(base + "/graphql-schema", { credentials: "same-origin" });
      if (schema.ok) return schema;
    }
    const send = () => {
      const headers = new Headers(options.headers || {});
      if (session && session.access && !headers.has("Authorization")) {
        headers.set("Authorization", "Bearer " + session.access);
      }
      const csrf = cookie("csrf_access_token");
      if (csrf && !headers.has("X-CSRF-TOKEN")) headers.set("X-CSRF-TOKEN", csrf);
      return fetch(url, { ...options, headers, credentials: "same-origin" });
    };
    let response = await send();
    if (response.status === 401 && session) {
      const body = await response.clone().json().catch(() => ({}));
      const code = body.errors && body.errors[0] && (body.errors[0].extensions || {}).code;
      if (code === "TOKEN_EXPIRED" && (await refresh())) response = await send();
    }
    return response;
  }

  const root = ReactDOM.createRoot(document.getElementById("graphiql"));
  function render() {
    root.render(
      React.createElement(GraphiQL, {
        fetcher: GraphiQL.createFetcher({ url: endpoint, fetch: authFetch }),
        shouldPersistHeaders: false,
        defaultQuery: "{\n  viewer {\n    id\n    email\n    firstName\n    lastName\n  }\n}\n",
      })
    );
  }

  const form = document.getElementById("signin");
  const status = document.getElementById("status");
  const signout = document.getElementById("signout");
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const email = form.elements.email.value;
    status.textContent = "Signing in...";
    const [response, body] = await postJSON("/login", { email, password: form.elements.password.value });
    form.elements.password.value = "";
    if (!response.ok) {
      status.textContent = body.message || "Sign-in failed (" + response.status + ").";
      return;
    }
    session = { email, access: body.access_token || null, refresh: body.refresh_token || null };
    status.textContent = "Signed in as " + email + ".";
    form.hidden = true;
    signout.hidden = false;
    render();  // a new fetcher: GraphiQL loads the schema again, now signed in
  });
  signout.addEventListener("click", async () => {
    if (session && (session.access || cookie("csrf_access_token"))) {
      const headers = session.access ? { Authorization: "Bearer " + session.access } : {};
      const csrf = cookie("csrf_access_token");
      if (csrf) headers["X-CSRF-TOKEN"] = csrf;
      await postJSON("/logout", session.refresh ? { refresh_token: session.refresh } : {}, headers);
    }
    session = null;
    status.textContent = "Signed out.";
    form.hidden = false;
    signout.hidden = true;
    render();
  });
  render();
"""


def _asset_tag(package: str, version: str, path: str, integrity: str) -> str:
    url = f"{CDN}/{package}@{version}/{path}"
    if path.endswith(".css"):
        return f'<link rel="stylesheet" href="{url}" integrity="{integrity}" crossorigin="anonymous">'
    return f'<script src="{url}" integrity="{integrity}" crossorigin="anonymous"></script>'


def graphiql_html() -> str:
    """Return the GraphiQL page."""
    styles = "\n  ".join(_asset_tag(*asset) for asset in ASSETS if asset[2].endswith(".css"))
    scripts = "\n  ".join(_asset_tag(*asset) for asset in ASSETS if not asset[2].endswith(".css"))
    return f"""<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>GraphiQL</title>
  <style>
    body {{ margin: 0; height: 100vh; display: flex; flex-direction: column; font-family: sans-serif; }}
    #bar {{ display: flex; gap: 0.5em; align-items: center; padding: 0.4em 0.8em; border-bottom: 1px solid #ddd; }}
    #bar form {{ display: flex; gap: 0.5em; }}
    #graphiql {{ flex: 1; min-height: 0; }}
  </style>
  {styles}
</head>
<body>
  <div id="bar">
    <form id="signin" autocomplete="on">
      <input name="email" type="email" placeholder="email" autocomplete="username" required>
      <input name="password" type="password" placeholder="password" autocomplete="current-password" required>
      <button type="submit">Sign in</button>
    </form>
    <button id="signout" type="button" hidden>Sign out</button>
    <span id="status" role="status">Sign in to run queries; the schema loads without.</span>
  </div>
  <div id="graphiql">Loading GraphiQL...</div>
  {scripts}
  <script>{_SCRIPT}</script>
</body>
</html>
"""
