"""The local gateway over raw sockets: uvicorn's HTTP, API Gateway's mapping, real runtimes.

Each test names the fault it guards against (issue 9): HEAD answers with a
body, chunked bodies dropped, unknown methods answered in HTML, a short body
holding a thread forever, a listen backlog of five, and more.
"""

from __future__ import annotations

import base64
import json
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from queuefirst.local import GatewayServer, RuntimePool
from tests.http_client import RawClient, Reply
from tests.integration.conftest import start_gateway

pytestmark = pytest.mark.integration


@pytest.fixture
def client(gateway: GatewayServer) -> Iterator[RawClient]:
    with RawClient("127.0.0.1", gateway.port) as raw:
        yield raw


def event_of(reply: Reply) -> dict[str, Any]:
    assert reply.status == 200, reply
    event: dict[str, Any] = json.loads(reply.body)
    return event


def test_keep_alive_serves_many_requests_on_one_connection(client: RawClient) -> None:
    for n in range(5):
        reply = client.request(f"GET /n/{n} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
        assert event_of(reply)["rawPath"] == f"/n/{n}"
    assert client.connections_opened == 1


def test_head_answers_without_a_body_and_the_connection_stays_usable(client: RawClient) -> None:
    reply = client.request(b"HEAD /boards HTTP/1.1\r\nHost: x\r\n\r\n", head=True)
    assert reply.status == 200 and reply.body == b"" and int(reply.headers["content-length"]) > 0
    # The next response on the same connection starts where it should.
    assert event_of(client.request(b"GET /after HTTP/1.1\r\nHost: x\r\n\r\n"))["rawPath"] == "/after"


def test_a_chunked_body_arrives_whole_and_is_not_taken_for_the_next_request(client: RawClient) -> None:
    body = b'{"title": "chunked"}'
    chunks = b"".join(b"%x\r\n%s\r\n" % (len(part), part) for part in (body[:7], body[7:])) + b"0\r\n\r\n"
    reply = client.request(
        b"POST /boards HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b"Transfer-Encoding: chunked\r\n\r\n" + chunks
    )
    assert event_of(reply)["body"] == body.decode()
    assert event_of(client.request(b"GET /next HTTP/1.1\r\nHost: x\r\n\r\n"))["rawPath"] == "/next"


@pytest.mark.parametrize("method", ["TRACE", "PROPFIND", "BREW", "QUERY"])
def test_an_unknown_method_is_405_with_allow_in_api_gateways_shape(client: RawClient, method: str) -> None:
    reply = client.request(f"{method} /boards HTTP/1.1\r\nHost: x\r\n\r\n".encode())
    assert reply.status == 405
    assert reply.headers["allow"] == "DELETE, GET, HEAD, OPTIONS, PATCH, POST, PUT"
    assert json.loads(reply.body) == {"message": "Method Not Allowed"}


def test_a_short_body_times_out_with_408_and_frees_the_gateway(gateway: GatewayServer) -> None:
    with RawClient("127.0.0.1", gateway.port) as stalled:
        started = time.monotonic()
        reply = stalled.request(b"POST /boards HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{}")
        assert (reply.status, json.loads(reply.body)) == (408, {"message": "Request Timeout"})
        assert time.monotonic() - started < 5
    with RawClient("127.0.0.1", gateway.port) as fresh:
        assert fresh.request(b"GET /ok HTTP/1.1\r\nHost: x\r\n\r\n").status == 200


def test_malformed_http_is_400_in_api_gateways_shape(gateway: GatewayServer) -> None:
    for garbage in (
        b"\x00\x01\x02 nonsense\r\n\r\n",
        b"GET\r\n\r\n",
        b"POST /boards HTTP/1.1\r\nHost: x\r\nContent-Length: nope\r\n\r\n",
        b"GET /" + b"a" * 70000 + b" HTTP/1.1\r\n\r\n",
    ):
        with RawClient("127.0.0.1", gateway.port) as raw:
            reply = raw.request(garbage)
        assert (reply.status, json.loads(reply.body)) == (400, {"message": "Bad Request"}), garbage[:30]


def test_a_body_past_api_gateways_limit_is_413(echo_pool: RuntimePool) -> None:
    small = start_gateway(echo_pool, max_body=1000)
    try:
        with RawClient("127.0.0.1", small.port) as raw:
            reply = raw.request(b"POST /x HTTP/1.1\r\nHost: x\r\nContent-Length: 1001\r\n\r\n" + b"x" * 1001)
            assert (reply.status, json.loads(reply.body)) == (413, {"message": "Request Entity Too Large"})
        with RawClient("127.0.0.1", small.port) as raw:  # chunked: no length announced
            chunk = b"x" * 600
            reply = raw.request(
                b"POST /x HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                + (b"258\r\n" + chunk + b"\r\n") * 2
                + b"0\r\n\r\n"
            )
            assert reply.status == 413
    finally:
        small.stop()


def test_the_functions_answer_is_mapped_as_api_gateway_maps_it(client: RawClient) -> None:
    reply = client.request(b"GET /x HTTP/1.1\r\nHost: x\r\n\r\n")
    assert reply.cookies == ["a=1; Path=/", "b=2"]
    assert reply.headers["x-multi"] == "a,b" and reply.headers.get("connection") != "upgrade"
    assert reply.headers["apigw-requestid"] == event_of(reply)["requestContext"]["requestId"]
    bare = client.request(b"GET /x HTTP/1.1\r\nHost: x\r\nX-Answer: bare\r\n\r\n")
    assert (bare.status, json.loads(bare.body)) == (200, {"just": "json"})
    binary = client.request(b"GET /x HTTP/1.1\r\nHost: x\r\nX-Answer: binary\r\n\r\n")
    assert binary.body == b"\x00\xff"


@pytest.mark.parametrize("answer", ["raise", "bad-status"])
def test_a_failed_invocation_is_502(client: RawClient, answer: str) -> None:
    reply = client.request(f"GET /x HTTP/1.1\r\nHost: x\r\nX-Answer: {answer}\r\n\r\n".encode())
    assert (reply.status, json.loads(reply.body)) == (502, {"message": "Internal Server Error"})


def test_no_free_runtime_within_the_integration_timeout_is_503(echo_pool: RuntimePool) -> None:
    hurried = start_gateway(echo_pool, integration_timeout=0.5)
    try:
        replies: list[Reply] = []

        def slow() -> None:
            with RawClient("127.0.0.1", hurried.port) as raw:
                replies.append(raw.request(b"GET /x HTTP/1.1\r\nHost: x\r\nX-Answer: sleep:1.5\r\n\r\n"))

        threads = [threading.Thread(target=slow) for _ in range(2)]  # both runtimes busy
        for thread in threads:
            thread.start()
        time.sleep(0.2)
        with RawClient("127.0.0.1", hurried.port) as raw:
            reply = raw.request(b"GET /x HTTP/1.1\r\nHost: x\r\n\r\n")
        for thread in threads:
            thread.join()
        assert (reply.status, json.loads(reply.body)) == (503, {"message": "Service Unavailable"})
        assert sorted(r.status for r in replies) == [200, 200]
    finally:
        hurried.stop()


def test_three_hundred_clients_connecting_at_once_are_all_served(gateway: GatewayServer) -> None:
    """The old server's listen backlog of five reset most of a burst like this."""
    sockets = []
    try:
        for _ in range(300):  # all connected before any is served
            sockets.append(socket.create_connection(("127.0.0.1", gateway.port), timeout=60))
        for sock in sockets:
            sock.sendall(b"GET /burst HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        replies = [RawClient.read_all(sock) for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()
    assert [r.split(b" ", 2)[1] for r in replies] == [b"200"] * 300


def test_events_carry_what_api_gateway_puts_in_them(client: RawClient) -> None:
    reply = client.request(
        b"POST /boards/a%3Ab/x%2Fy?limit=5&tag=a&tag=b&q=%20 HTTP/1.1\r\nHost: example.test\r\n"
        b"Accept: text/html\r\nAccept: application/json\r\nCookie: a=1; b=2\r\nCookie: c=3\r\n"
        b"User-Agent: probe/1\r\nContent-Type: application/octet-stream\r\nContent-Length: 2\r\n\r\n\x00\xff"
    )
    event = event_of(reply)
    assert event["rawPath"] == "/boards/a%3Ab/x%2Fy"
    assert event["rawQueryString"] == "limit=5&tag=a&tag=b&q=%20"
    assert event["queryStringParameters"] == {"limit": "5", "tag": "a,b", "q": " "}
    assert event["headers"]["accept"] == "text/html,application/json"
    assert "cookie" not in event["headers"] and event["cookies"] == ["a=1", "b=2", "c=3"]
    assert (event["isBase64Encoded"], base64.b64decode(event["body"])) == (True, b"\x00\xff")
    context = event["requestContext"]
    assert context["http"] == {
        "method": "POST",
        "path": "/boards/a%3Ab/x%2Fy",
        "protocol": "HTTP/1.1",
        "sourceIp": "127.0.0.1",
        "userAgent": "probe/1",
    }
    assert time.strptime(context["time"], "%d/%b/%Y:%H:%M:%S +0000")
    assert abs(context["timeEpoch"] / 1000 - time.time()) < 60
    assert context["domainName"] == "example.test"


def test_stopping_lets_a_request_in_flight_finish(echo_pool: RuntimePool) -> None:
    server = start_gateway(echo_pool)
    replies: list[Reply] = []

    def slow() -> None:
        with RawClient("127.0.0.1", server.port) as raw:
            replies.append(raw.request(b"GET /x HTTP/1.1\r\nHost: x\r\nX-Answer: sleep:1\r\n\r\n"))

    thread = threading.Thread(target=slow)
    thread.start()
    time.sleep(0.3)
    server.stop()
    thread.join()
    assert [r.status for r in replies] == [200]
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", server.port), timeout=2)


def test_the_listening_socket_is_tcp_so_responses_are_not_held_by_nagle(gateway: GatewayServer) -> None:
    """asyncio sets TCP_NODELAY on accepted connections only for IPPROTO_TCP sockets: without
    it every response waited 40 ms on a delayed ACK between its head and its body."""
    assert gateway.socket.proto == socket.IPPROTO_TCP


def test_clients_that_stall_mid_headers_are_closed_after_a_bounded_time(gateway: GatewayServer) -> None:
    """300 clients each send a request line and then one header byte every two seconds
    (slowloris): each byte used to cancel the only timer, so they held their connections
    for as long as they kept trickling. The server closes each within its headers timeout
    (10 s from connecting), and serves others meanwhile and after."""
    trickling = []
    try:
        started = time.monotonic()
        for _ in range(300):
            sock = socket.create_connection(("127.0.0.1", gateway.port), timeout=10)
            sock.sendall(b"GET /slow HTTP/1.1\r\nHost: x\r\nX-Slow: ")
            sock.setblocking(False)
            trickling.append(sock)
        open_ = set(trickling)
        closed_after: list[float] = []
        served_meanwhile = False
        while open_ and time.monotonic() - started < 24:
            time.sleep(2)
            for sock in list(open_):
                try:
                    sock.send(b"a")
                    if sock.recv(1) != b"":
                        continue  # never: the server has no request to answer
                except BlockingIOError:
                    continue  # still open, nothing to read
                except OSError:
                    pass  # reset: closed
                open_.discard(sock)
                closed_after.append(time.monotonic() - started)
            if not served_meanwhile:
                with RawClient("127.0.0.1", gateway.port) as other:
                    served_meanwhile = (
                        other.request(b"GET /meanwhile HTTP/1.1\r\nHost: x\r\n\r\n").status == 200
                    )
    finally:
        for sock in trickling:
            sock.close()
    still_open = len(open_)
    assert still_open == 0, f"{still_open} of 300 trickling connections still open after 24 s"
    assert max(closed_after) < 10 + 5  # the timeout, the two-second trickle, and a busy machine
    assert served_meanwhile
    with RawClient("127.0.0.1", gateway.port) as after:
        assert after.request(b"GET /after HTTP/1.1\r\nHost: x\r\n\r\n").status == 200
