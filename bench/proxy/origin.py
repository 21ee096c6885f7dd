"""A tiny keep-alive origin serving the generated storefront page (for benches that need no nginx).

    python -m bench.proxy.origin PORT [--page-kb 120] [--cache-control "no-store"] [--no-category]

HTTP/1.1 with keep-alive, one thread per connection; a product page's path
answers that product's page (``page.pages``), every other path the home page. ``--cache-control`` sets the header the cache layer reads (the
default marks the page not cacheable: a personalizer cannot reuse it). ``--no-category``: product pages
name no category (a Shopify theme's: only the catalog knows it, ``page.catalog_rows``).
"""

from __future__ import annotations

import argparse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from .page import pages


def serve(port: int, site: dict[str, bytes], cache_control: str) -> None:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:  # noqa: N802 — http.server's naming
            page = site.get(self.path.split("?", 1)[0], site["/"])
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(page)))
            if cache_control:
                self.send_header("Cache-Control", cache_control)
            self.end_headers()
            self.wfile.write(page)

        def log_message(self, *args: object) -> None:
            return None

    ThreadingHTTPServer.daemon_threads = True
    with ThreadingHTTPServer(("127.0.0.1", port), Handler) as server:
        server.serve_forever()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("port", type=int)
    parser.add_argument("--page-kb", type=int, default=120)
    parser.add_argument("--cache-control", default="no-store")
    parser.add_argument("--no-category", action="store_true", help="product pages that name no category")
    args = parser.parse_args()
    serve(args.port, pages(args.page_kb, named=not args.no_category), args.cache_control)


if __name__ == "__main__":
    main()
