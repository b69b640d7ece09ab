"""Behind a TLS reverse proxy (Caddy, nginx): the proxy's X-Forwarded-For/-Proto/-Host/-Port
say who the client is and that it came over https. They are believed only when the request
comes from an address in FIELDKIT_TRUSTED_PROXIES; from anyone else they are removed, so a
client cannot pose as another address (sign-in throttling is per address) or as https.
"""

from __future__ import annotations

import ipaddress

from werkzeug.middleware.proxy_fix import ProxyFix

FORWARDED = (
    "HTTP_X_FORWARDED_FOR",
    "HTTP_X_FORWARDED_PROTO",
    "HTTP_X_FORWARDED_HOST",
    "HTTP_X_FORWARDED_PORT",
    "HTTP_X_FORWARDED_PREFIX",
    "HTTP_X_REQUEST_ID",
)


class TrustedProxies:
    """WSGI middleware: ProxyFix (one proxy hop) for requests from a trusted proxy; the
    forwarding headers (and X-Request-Id) dropped for everyone else."""

    def __init__(self, app, trusted: tuple[str, ...]):
        self.networks = [ipaddress.ip_network(entry, strict=False) for entry in trusted]
        self.trusted_app = ProxyFix(app, x_for=1, x_proto=1, x_host=1, x_port=1, x_prefix=1)
        self.app = app

    def is_trusted(self, address: str | None) -> bool:
        try:
            ip = ipaddress.ip_address(address or "")
        except ValueError:
            return False
        return any(ip in network for network in self.networks)

    def __call__(self, environ, start_response):
        if self.networks and self.is_trusted(environ.get("REMOTE_ADDR")):
            environ["fieldkit.via_trusted_proxy"] = True
            return self.trusted_app(environ, start_response)
        for name in FORWARDED:
            environ.pop(name, None)
        return self.app(environ, start_response)


def init_app(app) -> None:
    app.wsgi_app = TrustedProxies(app.wsgi_app, app.config["FIELDKIT_SETTINGS"].trusted_proxies)
