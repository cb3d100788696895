"""The RabbitMQ management API of a broker that may be a cluster (issues #19 and #20).

Queue depths that count unacknowledged messages and the console's rates come from the
management API. On a cluster any node answers for every queue, so the API is asked node by
node in the order the AMQP clients try them (``broker.hosts``) until one answers: losing
``url``'s node must not blind the depth poller and the console while AMQP has failed over.

The candidates are the configured ``[metrics] management_url`` and ``management_urls`` when
either is set (an operator's explicit choice: a proxy, other ports); otherwise each node's
host on port 15672, https when the broker's URL is amqps, with the broker's credentials.
"""

from __future__ import annotations

import base64
import json
import urllib.request
from collections.abc import Sequence
from typing import Any
from urllib.parse import quote, unquote, urlsplit

# A queue listing of a large broker stays well under this; more is refused, not read.
MAX_ANSWER_BYTES = 16 * 1024 * 1024


def management_api(broker_url: str, management_url: str = "") -> tuple[str, str, str, str]:
    """(API base URL, vhost, user, password) of the RabbitMQ management API for ``broker_url``.

    Without ``management_url`` it is the broker's host on port 15672 (https when the broker
    URL is amqps), with the broker's credentials.

    >>> management_api("amqp://u:p@mq.example:5672/edi")
    ('http://mq.example:15672/api', 'edi', 'u', 'p')
    >>> management_api("amqp://u:p@mq:5672/%2F", "https://ops@mgmt:443")[:2]
    ('https://mgmt:443/api', '/')
    """
    amqp = urlsplit(broker_url)
    vhost = unquote(amqp.path[1:]) if len(amqp.path) > 1 else "/"
    user, password = unquote(amqp.username or "guest"), unquote(amqp.password or "guest")
    if management_url:
        given = urlsplit(management_url)
        user = unquote(given.username) if given.username else user
        password = unquote(given.password) if given.password else password
        host = given.hostname or "127.0.0.1"
        base = f"{given.scheme or 'http'}://{host}" + (f":{given.port}" if given.port else "")
    else:
        scheme = "https" if amqp.scheme == "amqps" else "http"
        base = f"{scheme}://{amqp.hostname or '127.0.0.1'}:15672"
    return f"{base}/api", vhost, user, password


def management_apis(
    broker_nodes: Sequence[str], management_urls: Sequence[str] = ()
) -> list[tuple[str, str, str, str]]:
    """Every management API to try, in order, for a broker whose nodes are ``broker_nodes``
    (``Connector.nodes``: ``url`` first); duplicates left out.

    >>> [a[0] for a in management_apis(["amqp://u:p@a:5681/v", "amqp://u:p@b:5682/v"])]
    ['http://a:15672/api', 'http://b:15672/api']
    >>> [a[0] for a in management_apis(["amqp://u:p@a/v"], ["", "http://m1:15681", "http://m2"])]
    ['http://m1:15681/api', 'http://m2/api']
    """
    chosen = [url for url in management_urls if url]
    first = broker_nodes[0] if broker_nodes else "amqp://127.0.0.1/"
    candidates = (
        [management_api(first, url) for url in chosen]
        if chosen
        else [management_api(node) for node in broker_nodes or [first]]
    )
    seen: set[str] = set()
    unique = []
    for candidate in candidates:
        if candidate[0] not in seen:
            seen.add(candidate[0])
            unique.append(candidate)
    return unique


def management_queues(
    broker_nodes: Sequence[str],
    columns: str,
    *,
    management_urls: Sequence[str] = (),
    timeout: float = 5.0,
) -> Any:
    """The vhost's queue rows (JSON) from the first management API that answers.

    Raises the last API's error when none answers (the callers fall back to AMQP's ready
    counts and say so).
    """
    error: Exception = ConnectionError("no RabbitMQ management API to ask")
    for base, vhost, user, password in management_apis(broker_nodes, management_urls):
        request = urllib.request.Request(
            f"{base}/queues/{quote(vhost, safe='')}?columns={columns}",
            headers={
                "Authorization": "Basic "
                + base64.b64encode(f"{user}:{password}".encode()).decode("ascii")
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=timeout) as answer:
                return json.loads(answer.read(MAX_ANSWER_BYTES))
        except Exception as exc:  # refused, timeout, no plugin, not JSON: the next node
            error = exc
    raise error
