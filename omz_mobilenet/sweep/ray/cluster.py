"""Connecting to a Ray cluster (or starting one on 127.0.0.1), with one-line errors, and the checks
that run before anything connects: the address is reachable, every pin names part of the sweep."""

from __future__ import annotations

import logging
import os
import socket
from typing import Any, Optional

from omz_mobilenet.errors import ToolError
from omz_mobilenet.sweep.plan import Group

LOOPBACK_ENV = "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"  # "0": Ray keeps 127.0.0.1 instead of the host's address
INSTALL_HINT = "pip install 'omz-mobilenet[ray]'"
CONNECT_TIMEOUT_S = 15.0


def _host_port(address: str) -> Optional[tuple[str, int]]:
    text = address.split("://", 1)[1] if "://" in address else address
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit():
        return None
    return host.strip("[]") or "127.0.0.1", int(port)


def _is_loopback(host: str) -> bool:
    return host in ("localhost", "::1") or host.startswith("127.")


def check_pins(pins: dict[str, str], groups: list[Group]) -> None:
    """Every pin names a model or a device of the sweep (checked before anything connects)."""
    names = {c.model for g in groups for c in g.cells} | {c.device for g in groups for c in g.cells}
    unknown = sorted(set(pins) - names)
    if unknown:
        raise ToolError(f"pin: {', '.join(unknown)} is neither a model nor a device of this sweep", 2)


def check_reachable(address: str, timeout: float = CONNECT_TIMEOUT_S) -> None:
    """A quick TCP connect before ray.init, which may retry for minutes against a dead address."""
    target = _host_port(address)
    if target is None:
        raise ToolError(f"--ray {address}: expected HOST:PORT of a Ray head (e.g. 10.0.0.5:6379), `auto` or `local`", 2)
    try:
        socket.create_connection(target, timeout=timeout).close()
    except OSError as exc:
        reason = "timed out" if isinstance(exc, TimeoutError) else (exc.strerror or str(exc))
        raise ToolError(
            f"cannot reach the Ray cluster at {address} ({reason}); start it with `ray start --head` "
            "there, check the address, or use --ray local",
            2,
        ) from None


def import_ray(address: str) -> Any:
    """Ray, imported after setting the loopback variable for a cluster on this machine (read at import)."""
    target = _host_port(address)
    if address == "local":
        os.environ[LOOPBACK_ENV] = "0"  # inherited by every Ray process ray.init starts here
        os.environ.setdefault("RAY_AUTH_MODE", "token")  # Ray 2.60's default for ray.init, without its warning
    elif target is not None and _is_loopback(target[0]):
        os.environ.setdefault(LOOPBACK_ENV, "0")  # else this driver would announce the host's address
    try:
        import ray
    except ImportError:
        raise ToolError(f"--ray needs Ray, which is not installed: {INSTALL_HINT}", 2) from None
    return ray


def connect(address: str) -> Any:
    """ray, initialised: `local` starts a one-node Ray on 127.0.0.1, anything else is joined."""
    ray = import_ray(address)
    quiet = {"log_to_driver": False, "logging_level": logging.WARNING, "configure_logging": True}
    if address != "local" and address != "auto":
        check_reachable(address)
    try:
        if address == "local":
            ray.init(address="local", include_dashboard=False, _node_ip_address="127.0.0.1", **quiet)
        else:
            ray.init(address=address, **quiet)
    except (ConnectionError, RuntimeError, ValueError, TimeoutError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ToolError(f"cannot connect to the Ray cluster at {address}: {first}", 2) from None
    return ray


def node_labels(node: dict[str, Any]) -> set[str]:
    """What a pin may name: custom resources (`--resources '{"kind_avx2": 1}'`) and Ray labels (k=v or v)."""
    labels = {k for k in node.get("Resources", {}) if not k.startswith("node:")}
    for k, v in (node.get("Labels") or {}).items():
        labels |= {f"{k}={v}", str(v)}
    return labels


def first_line(exc: BaseException) -> str:
    """The cause of a Ray error in one line (Ray's messages run over many)."""
    cause = getattr(exc, "cause", None)
    text = str(cause if isinstance(cause, BaseException) else exc).strip()
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return (lines[-1] if isinstance(cause, BaseException) and lines else lines[0] if lines else type(exc).__name__)[
        :300
    ]
