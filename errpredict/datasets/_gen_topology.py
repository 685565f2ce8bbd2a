"""Services of the synthetic history: names, tiers, call graph, endpoints and pods.

The topology is fixed (it does not depend on the seed) so that the same
service name means the same thing in every generated history: the edge
``api-gateway`` calls the mid tier (``checkout``, ``auth``, ``search``), which
calls ``payments`` and ``inventory``, which call the backends ``db-proxy``
and ``cache``. Services beyond the eight named ones (``svc-09``, ...) are
mid-tier services called by the gateway that call one backend each.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np

__all__ = ["Topology", "build_topology", "SERVICE_NAMES"]

#: The named services, in the order they are added to a history.
SERVICE_NAMES = (
    "api-gateway",
    "checkout",
    "payments",
    "inventory",
    "auth",
    "search",
    "db-proxy",
    "cache",
)

# name -> (tier, protocol, relative peak traffic, endpoints with weights, median latency ms)
_PROFILES: dict[str, tuple[int, str, float, tuple[tuple[str, float, float], ...]]] = {
    "api-gateway": (0, "http", 1.6, (
        ("GET /api/products", 0.40, 45.0),
        ("GET /api/search", 0.25, 60.0),
        ("GET /api/cart", 0.15, 35.0),
        ("POST /api/checkout", 0.08, 180.0),
        ("POST /api/login", 0.12, 70.0),
    )),
    "checkout": (1, "http", 0.8, (
        ("POST /checkout", 0.35, 140.0),
        ("GET /cart", 0.45, 25.0),
        ("PUT /cart/items", 0.20, 30.0),
    )),
    "payments": (2, "http", 0.6, (
        ("POST /payments/charge", 0.55, 220.0),
        ("GET /payments/status", 0.35, 20.0),
        ("POST /payments/refund", 0.10, 160.0),
    )),
    "inventory": (2, "http", 1.0, (
        ("GET /inventory/item", 0.70, 12.0),
        ("POST /inventory/reserve", 0.20, 35.0),
        ("POST /inventory/release", 0.10, 30.0),
    )),
    "auth": (1, "http", 1.1, (
        ("GET /auth/verify", 0.75, 8.0),
        ("POST /auth/token", 0.20, 55.0),
        ("POST /auth/refresh", 0.05, 40.0),
    )),
    "search": (1, "http", 0.9, (
        ("GET /search", 0.75, 80.0),
        ("GET /search/suggest", 0.25, 25.0),
    )),
    "db-proxy": (3, "grpc", 1.2, (
        ("db.query", 0.70, 4.0),
        ("db.execute", 0.22, 7.0),
        ("db.transaction", 0.08, 15.0),
    )),
    "cache": (3, "grpc", 1.3, (
        ("cache.get", 0.80, 0.8),
        ("cache.set", 0.15, 1.2),
        ("cache.mget", 0.05, 2.5),
    )),
}

_EDGES = (
    ("api-gateway", "checkout"),
    ("api-gateway", "auth"),
    ("api-gateway", "search"),
    ("checkout", "payments"),
    ("checkout", "inventory"),
    ("checkout", "auth"),
    ("search", "inventory"),
    ("search", "cache"),
    ("payments", "db-proxy"),
    ("inventory", "db-proxy"),
    ("inventory", "cache"),
    ("auth", "cache"),
    ("auth", "db-proxy"),
)


@dataclass(frozen=True)
class Topology:
    """Services and their call graph, as arrays indexed by service number."""

    names: tuple[str, ...]
    tiers: np.ndarray  # int, 0 = edge
    grpc: np.ndarray  # bool, speaks gRPC (status codes) rather than HTTP
    traffic: np.ndarray  # relative peak traffic, mean 1
    edges: tuple[tuple[int, int], ...]  # (caller, callee)
    op_names: tuple[str, ...]  # every endpoint of every service, then "metrics"
    op_offset: np.ndarray  # first endpoint of each service in op_names
    op_cum: np.ndarray  # (services, max endpoints) cumulative weights, padded with 1
    op_mu: np.ndarray  # log median latency per endpoint (ms)
    op_sigma: np.ndarray  # lognormal sigma per endpoint
    host_names: tuple[str, ...]
    host_offset: np.ndarray  # first pod of each service in host_names
    host_count: np.ndarray  # pods per service

    @property
    def n(self) -> int:
        return len(self.names)

    @property
    def metrics_op(self) -> int:
        """Code of the ``metrics`` operation used by metric snapshot rows."""
        return len(self.op_names) - 1

    def callers(self, service: int) -> list[int]:
        """Services that call ``service``, in a fixed order."""
        return [a for a, b in self.edges if b == service]

    def pairs(self) -> list[tuple[str, str]]:
        """The call graph as ``(caller, callee)`` names."""
        return [(self.names[a], self.names[b]) for a, b in self.edges]


def _name(i: int) -> str:
    return SERVICE_NAMES[i] if i < len(SERVICE_NAMES) else f"svc-{i + 1:02d}"


def _profile(name: str, i: int) -> tuple[int, str, float, tuple[tuple[str, float, float], ...]]:
    if name in _PROFILES:
        return _PROFILES[name]
    return (1, "http", 0.7, (
        (f"GET /{name}/items", 0.7, 30.0 + 5 * (i % 7)),
        (f"POST /{name}/items", 0.3, 60.0 + 10 * (i % 5)),
    ))


def _pods(name: str, count: int) -> list[str]:
    # Kubernetes-style pod names, stable for a service name across seeds
    digest = hashlib.blake2b(name.encode(), digest_size=8).hexdigest()
    alphabet = "bcdfghjklmnpqrstvwxz2456789"
    pods = []
    for k in range(count):
        h = hashlib.blake2b(f"{name}/{k}".encode(), digest_size=8).digest()
        suffix = "".join(alphabet[b % len(alphabet)] for b in h[:5])
        pods.append(f"{name}-{digest[:8]}-{suffix}")
    return pods


def build_topology(n_services: int) -> Topology:
    """The first ``n_services`` services and the edges among them."""
    names = tuple(_name(i) for i in range(n_services))
    index = {name: i for i, name in enumerate(names)}
    profiles = [_profile(name, i) for i, name in enumerate(names)]
    edges = [(index[a], index[b]) for a, b in _EDGES if a in index and b in index]
    backends = [index[b] for b in ("db-proxy", "cache") if b in index]
    for i in range(len(SERVICE_NAMES), n_services):
        if "api-gateway" in index:
            edges.append((index["api-gateway"], i))
        if backends:
            edges.append((i, backends[i % len(backends)]))
    traffic = np.array([p[2] for p in profiles], dtype=float)
    max_ops = max(len(p[3]) for p in profiles)
    op_names: list[str] = []
    op_offset, op_mu, op_sigma = [], [], []
    op_cum = np.ones((n_services, max_ops))
    host_names: list[str] = []
    host_offset, host_count = [], []
    for i, (name, (tier, _proto, _traffic, ops)) in enumerate(zip(names, profiles, strict=True)):
        op_offset.append(len(op_names))
        weights = np.array([w for _, w, _ in ops])
        op_cum[i, : len(ops)] = np.cumsum(weights / weights.sum())
        op_cum[i, len(ops) - 1 :] = 1.0
        for k, (op, _w, median) in enumerate(ops):
            op_names.append(op)
            op_mu.append(np.log(median))
            op_sigma.append(0.35 + 0.05 * ((i + k) % 5))
        pods = _pods(name, 3 if tier <= 1 else 2)
        host_offset.append(len(host_names))
        host_count.append(len(pods))
        host_names.extend(pods)
    op_names.append("metrics")
    return Topology(
        names=names,
        tiers=np.array([p[0] for p in profiles], dtype=np.int64),
        grpc=np.array([p[1] == "grpc" for p in profiles]),
        traffic=traffic / traffic.mean(),
        edges=tuple(edges),
        op_names=tuple(op_names),
        op_offset=np.array(op_offset, dtype=np.int64),
        op_cum=op_cum,
        op_mu=np.array(op_mu),
        op_sigma=np.array(op_sigma),
        host_names=tuple(host_names),
        host_offset=np.array(host_offset, dtype=np.int64),
        host_count=np.array(host_count, dtype=np.int64),
    )
