"""GraphiQL served entirely by the gateway: no CDN, no Node, works after a plain pip install.

The assets (GraphiQL's UMD build with React) come from the `graphene-django-graphiql-static`
package, which ships them as plain files and depends on nothing; Starlette serves them from
the installed package. The page has GraphiQL's header editor, for `Authorization: Bearer`.
"""

from __future__ import annotations

from importlib import resources

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

ASSETS = ("react.production.min.js", "react-dom.production.min.js", "graphiql.min.js",
          "graphiql.min.css", "fetch.umd.js")  # fmt: skip
_TYPES = {".js": "application/javascript", ".css": "text/css"}

PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>Spyglass GraphiQL</title>
  <style>html, body, #graphiql { height: 100%; margin: 0; overflow: hidden; }</style>
  <link rel="stylesheet" href="/graphql/static/graphiql.min.css">
  <script src="/graphql/static/react.production.min.js"></script>
  <script src="/graphql/static/react-dom.production.min.js"></script>
  <script src="/graphql/static/graphiql.min.js"></script>
</head>
<body>
  <div id="graphiql">Loading GraphiQL…</div>
  <script>
    const fetcher = GraphiQL.createFetcher({ url: "/graphql" });
    ReactDOM.render(
      React.createElement(GraphiQL, {
        fetcher,
        headerEditorEnabled: true,
        shouldPersistHeaders: true,
        defaultHeaders: '{"Authorization": "Bearer phx_..."}',
        defaultQuery: "# Set your personal API key in the Headers tab below, then run:\\n" +
          "query {\\n  insights(projectId: \\"@current\\", limit: 5) {\\n    count\\n" +
          "    results { id name filters }\\n  }\\n}\\n",
      }),
      document.getElementById("graphiql"),
    );
  </script>
</body>
</html>
"""


def _asset_dir():
    return resources.files("graphene_django_graphiql_static") / "static" / (
        "graphene_django_graphiql_static")  # fmt: skip


async def asset(request: Request):
    name = request.path_params["name"]
    if name not in ASSETS:  # only the files we serve, never a path from the request
        return Response(status_code=404)
    content = (_asset_dir() / name).read_bytes()
    suffix = name[name.rfind(".") :]
    return Response(content, media_type=_TYPES[suffix],
                    headers={"Cache-Control": "public, max-age=86400"})  # fmt: skip


def page() -> HTMLResponse:
    return HTMLResponse(PAGE)


def routes() -> list[Route]:
    return [Route("/graphql/static/{name}", asset, methods=["GET"])]
