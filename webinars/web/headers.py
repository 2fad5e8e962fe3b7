"""The headers every answer carries: what the browser may load, frame, cache and send on.

One place, for every door. The pages load nothing from another site and
have no inline script or style (the app works on a closed network, and the
stylesheet and scripts are files of ours), so the policy can forbid both.
"""

from __future__ import annotations

from flask import Flask, Response

CONTENT_SECURITY_POLICY = "; ".join([
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    "object-src 'none'",
    "base-uri 'self'",
    "form-action 'self'",
    "frame-ancestors 'none'",
])

#: For a page or file behind a registrant's token: out of Referer headers, caches
#: and search engines.
PRIVATE = {"Referrer-Policy": "no-referrer", "Cache-Control": "private, no-store",
           "X-Robots-Tag": "noindex"}

FIXED = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",  # frame-ancestors, for browsers that predate it
    # Manage links carry a token in the path: never sent on to another site.
    "Referrer-Policy": "same-origin",
}


def add_headers(response: Response) -> Response:
    """Set the fixed headers, and no-store where the view said nothing of caching.

    Views that may be cached say so (the public calendar feed, static
    files); every other answer can carry a manage token or someone's data
    (a registration's JSON, a manage page), and no cache keeps it.
    """
    for name, value in FIXED.items():
        response.headers.setdefault(name, value)
    if "Cache-Control" not in response.headers:
        response.headers["Cache-Control"] = "no-store"
    return response


def wire(app: Flask) -> None:
    """Add the headers to every answer; Secure cookies when the site is served over https."""
    app.after_request(add_headers)
    if app.config["BASE_URL"].startswith("https://"):
        app.config["SESSION_COOKIE_SECURE"] = True
        app.config["REMEMBER_COOKIE_SECURE"] = True
