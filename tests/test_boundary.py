"""The hard test boundary: nothing a test leaves running reaches the next test.

Each test writes a small user suite into a ``pytester`` directory and runs it with the
plugin as installed. The suites run in order (``-p no:randomly``): test A leaves
something running, test B checks that it sees nothing of it. Waits are bounded polls,
never fixed sleeps that assume a speed.
"""

from __future__ import annotations

import aiohttp  # noqa: F401  (loaded once here: pytester restores sys.modules per run)
import pytest
import requests  # noqa: F401
import twilio.rest  # noqa: F401

HELPERS = """
import time


def wait_until(predicate, timeout=15.0, what="condition"):
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.01)


def cart(client):
    return client.sync.v1.services("default").sync_maps("cart").sync_map_items
"""


def run_in_order(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    return pytester.runpytest("-p", "no:randomly", "-W", "default", *args)


# ------------------------------------------------ the two cases of the issue
def test_a_delayed_request_whose_client_timed_out_never_reaches_the_next_test(pytester):
    pytester.makepyfile(helpers=HELPERS)
    pytester.makepyfile(
        test_delayed="""
        import pytest
        import requests
        from twilio.http.http_client import TwilioHttpClient
        from twilio.rest import Client

        from helpers import cart, wait_until


        def test_a_gives_up(sync_server, sync_faults):
            sync_server.store.create_map("default", unique_name="cart")
            sync_faults.delay(1.0, operation="create", times=1)
            impatient = Client(http_client=TwilioHttpClient(timeout=0.3))
            with pytest.raises(requests.exceptions.ReadTimeout):
                cart(impatient).create(key="late", data={"from": "a"})


        def test_b_sees_nothing_of_it(sync_server):
            sync_server.store.create_map("default", unique_name="cart")
            wait_until(lambda: sync_server.late_requests, what="the delayed request")
            late = sync_server.late_requests[-1]
            assert late.method == "POST" and late.path.endswith("/Maps/cart/Items")
            assert late.test.endswith("::test_a_gives_up")
            # it came back during this test (or, on a slow machine, just before it)
            assert late.during in (None, "test_delayed.py::test_b_sees_nothing_of_it")

            assert sync_server.journal.entries == []  # not even as a refused request
            assert cart(Client()).list() == []
            assert [e.operation for e in sync_server.journal.entries] == ["ListSyncMapItem"]
            sync_server.assert_no_unexpected_failures()
        """
    )
    result = run_in_order(pytester)
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(
        [
            "*LateRequestWarning: pytest-syncmap: 1 request(s) sent by test "
            "test_delayed.py::test_a_gives_up after it ended*",
            "*pytest-syncmap: requests that outlived their test*",
            "test_delayed.py::test_a_gives_up: 1 request(s) after it ended, refused",
        ]
    )


def test_a_thread_left_writing_by_one_test_never_touches_the_next(pytester):
    pytester.makepyfile(helpers=HELPERS)
    pytester.makepyfile(
        test_leak="""
        import threading
        import time

        from twilio.base.exceptions import TwilioRestException
        from twilio.rest import Client

        from helpers import cart, wait_until

        STOP = threading.Event()
        OUTCOMES = []  # in order: "written" or the exception


        def writer():
            items = cart(Client())
            n = 0
            while not STOP.is_set():
                n += 1
                try:
                    items.create(key=f"k{n}", data={"n": n})
                    OUTCOMES.append("written")
                except TwilioRestException as exc:
                    OUTCOMES.append(exc)
                except Exception:
                    return  # the session's emulator stopped: a leaked thread just ends
                time.sleep(0.002)


        def test_a_leaves_a_writer(sync_server):
            sync_server.store.create_map("default", unique_name="cart")
            threading.Thread(target=writer, daemon=True).start()
            wait_until(lambda: len(OUTCOMES) >= 3, what="the writer's first items")
            assert set(OUTCOMES) == {"written"}


        def test_b_is_untouched(sync_server, sync_map):
            sync_server.store.create_map("default", unique_name="cart")
            wait_until(
                lambda: sum(1 for r in sync_server.late_requests if r.during) >= 23,
                what="23 late writes during this test",
            )
            STOP.set()
            first_refusal = next(i for i, o in enumerate(OUTCOMES) if o != "written")
            refusals = OUTCOMES[first_refusal:]
            assert "written" not in refusals  # once its test ended, nothing got through
            assert {(e.status, e.code) for e in refusals} == {(403, 20403)}
            message = refusals[-1].msg
            assert "outlived its test" in message and "test_a_leaves_a_writer" in message
            assert "test_b_is_untouched" in message

            assert cart(Client()).list() == []
            assert len(sync_map) == 0
            assert [e.operation for e in sync_server.journal.entries] == ["ListSyncMapItem"]
            sync_server.assert_no_unexpected_failures()
        """
    )
    result = run_in_order(pytester)
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(
        ["*LateRequestWarning*request(s) sent by test test_leak.py::test_a_leaves_a_writer*"]
    )


# ------------------------------------------------------- other ways to leak
def test_a_delayed_raw_http_request_is_caught_too(pytester):
    pytester.makepyfile(helpers=HELPERS)
    pytester.makepyfile(
        test_raw="""
        import pytest
        import requests

        from helpers import wait_until


        def test_a_gives_up(sync_server, sync_faults):
            sync_server.store.create_map("default", unique_name="cart")
            sync_faults.delay(1.0, operation="create", times=1)
            with pytest.raises(requests.exceptions.ReadTimeout):
                requests.post(
                    f"{sync_server.url}/v1/Services/default/Maps/cart/Items",
                    data={"Key": "late", "Data": "{}"},
                    auth=sync_server.auth,
                    timeout=0.3,
                )


        def test_b_sees_nothing_of_it(sync_server):
            sync_server.store.create_map("default", unique_name="cart")
            wait_until(lambda: sync_server.late_requests, what="the delayed request")
            assert sync_server.late_requests[-1].test.endswith("::test_a_gives_up")
            assert sync_server.journal.entries == []
            listed = requests.get(
                f"{sync_server.url}/v1/Services/default/Maps/cart/Items",
                auth=sync_server.auth,
                timeout=10,
            )
            assert listed.json()["items"] == []
        """
    )
    run_in_order(pytester).assert_outcomes(passed=2)


def test_a_task_left_on_a_shared_event_loop_is_refused_while_new_tasks_work(pytester):
    pytester.makepyfile(helpers=HELPERS)
    pytester.makepyfile(
        test_loop="""
        import asyncio
        import threading

        import pytest
        from twilio.base.exceptions import TwilioRestException
        from twilio.http.async_http_client import AsyncTwilioHttpClient
        from twilio.rest import Client

        from helpers import cart, wait_until

        REFUSED = []
        LEFT = []


        @pytest.fixture(scope="session")
        def loop():
            loop = asyncio.new_event_loop()
            thread = threading.Thread(target=loop.run_forever, daemon=True)
            thread.start()
            yield loop
            loop.call_soon_threadsafe(loop.stop)
            thread.join(5)
            loop.close()


        def async_cart():
            return cart(Client(http_client=AsyncTwilioHttpClient(pool_connections=False)))


        async def keep_writing():
            items, n = async_cart(), 0
            while True:
                n += 1
                try:
                    await items.create_async(key=f"k{n}", data={})
                except TwilioRestException as exc:
                    REFUSED.append(exc)
                except Exception:
                    return  # the session's emulator stopped: a leaked task just ends
                await asyncio.sleep(0.005)


        def test_a_leaves_a_task(sync_server, loop):
            sync_server.store.create_map("default", unique_name="cart")
            LEFT.append(asyncio.run_coroutine_threadsafe(keep_writing(), loop))
            wait_until(lambda: len(sync_server.journal.entries) >= 2, what="first writes")


        def test_b_uses_the_same_loop(sync_server, loop):
            sync_server.store.create_map("default", unique_name="cart")
            wait_until(lambda: len(REFUSED) >= 5, what="refused writes")

            async def mine():
                await async_cart().create_async(key="mine", data={})
                return [item.key for item in await async_cart().list_async()]

            assert asyncio.run_coroutine_threadsafe(mine(), loop).result(10) == ["mine"]
            assert {(e.status, e.code) for e in REFUSED} == {(403, 20403)}
            sync_server.assert_no_unexpected_failures()
            left = LEFT.pop()
            left.cancel()
            wait_until(left.done, what="the left task to end")
        """
    )
    run_in_order(pytester).assert_outcomes(passed=2)


def test_leaked_code_is_refused_even_during_a_test_without_the_emulator(pytester):
    """Between emulator tests, code of an ended test never reaches Twilio; other code does."""
    pytester.makepyfile(helpers=HELPERS)
    pytester.makepyfile(
        test_between="""
        import threading

        from twilio.base.exceptions import TwilioRestException
        from twilio.rest import Client

        from helpers import cart, wait_until

        SYNC_URL = "https://sync.twilio.com/v1/Services"
        STOP = threading.Event()
        REFUSED = []


        def writer():
            items = cart(Client())
            while not STOP.wait(0.005):
                try:
                    items.create(key="k", data={})
                except TwilioRestException as exc:
                    REFUSED.append(exc)
                except Exception:
                    return  # the session's emulator stopped: a leaked thread just ends


        def test_a_leaves_a_writer(sync_server):
            sync_server.store.create_map("default", unique_name="cart")
            threading.Thread(target=writer, daemon=True).start()


        def test_c_without_the_emulator(request):
            server = request.getfixturevalue("sync_server_session")
            seen = len(REFUSED)
            wait_until(lambda: len(REFUSED) >= seen + 5, what="refusals between tests")
            assert "no test is running now" in REFUSED[-1].msg
            assert server.journal.entries == [] or all(
                e.status != 201 for e in server.journal.entries
            )
            # this test's own code is not redirected
            assert Client().get_hostname(SYNC_URL) == SYNC_URL
            STOP.set()
        """
    )
    run_in_order(pytester).assert_outcomes(passed=2)


def test_a_request_in_flight_when_its_test_ends_is_waited_for_then_refused(pytester):
    """The next test's reset waits for requests still inside; they do not run after it."""
    pytester.makepyfile(helpers=HELPERS)
    pytester.makepyfile(
        test_inflight="""
        import threading
        import time

        from twilio.base.exceptions import TwilioRestException
        from twilio.rest import Client

        from helpers import cart, wait_until

        ENTERED = threading.Event()
        OUTCOME = []


        def slow_predicate(exchange):
            ENTERED.set()
            time.sleep(0.5)  # still deciding when the test ends
            return False


        def send():
            try:
                cart(Client()).create(key="slow", data={})
                OUTCOME.append("created")
            except TwilioRestException as exc:
                OUTCOME.append(exc)


        def test_a_ends_mid_request(sync_server, sync_faults):
            sync_server.store.create_map("default", unique_name="cart")
            sync_faults.server_error(when=slow_predicate)
            sync_faults.allow_unfired()
            threading.Thread(target=send, daemon=True).start()
            assert ENTERED.wait(10)


        def test_b_starts_after_it(sync_server):
            sync_server.store.create_map("default", unique_name="cart")
            wait_until(lambda: OUTCOME, what="the slow request's answer")
            assert isinstance(OUTCOME[0], TwilioRestException), OUTCOME
            assert (OUTCOME[0].status, OUTCOME[0].code) == (403, 20403)
            assert cart(Client()).list() == []
            assert sync_server.faults.faults == []
        """
    )
    run_in_order(pytester).assert_outcomes(passed=2)


def test_the_next_test_waits_for_a_canned_answer_still_being_made(pytester):
    pytester.makepyfile(
        test_canned="""
        import threading
        import time

        import requests
        from werkzeug import Response

        ANSWERED = []
        HANDLING = threading.Event()


        def slow_answer(request):
            HANDLING.set()
            time.sleep(0.5)
            ANSWERED.append(time.monotonic())
            return Response("{}", content_type="application/json")


        def test_a_ends_while_answering(sync_server):
            sync_server.expect_request("/v1/Services").respond_with_handler(slow_answer)

            def call():
                requests.get(f"{sync_server.url}/v1/Services", auth=sync_server.auth, timeout=10)

            threading.Thread(target=call, daemon=True).start()
            assert HANDLING.wait(10)  # the test ends while the answer is being made


        def test_b_starts_after_the_answer(sync_server):
            started = time.monotonic()
            assert ANSWERED and ANSWERED[0] <= started
            assert sync_server.journal.entries == []
            assert sync_server.late_requests == []
        """
    )
    run_in_order(pytester).assert_outcomes(passed=2)


def test_a_request_stuck_inside_never_hangs_the_next_test(pytester):
    pytester.makepyfile(
        test_stuck="""
        import threading
        import time

        import pytest
        import requests
        from werkzeug import Response

        HANDLING, RELEASE = threading.Event(), threading.Event()
        ANSWERS = []


        def stuck(request):
            HANDLING.set()
            RELEASE.wait(30)
            return Response("{}", content_type="application/json")


        def test_a_leaves_a_stuck_request(sync_server):
            sync_server.boundary_wait = 0.3
            sync_server.expect_request("/v1/Services").respond_with_handler(stuck)
            url, auth = f"{sync_server.url}/v1/Services", sync_server.auth
            threading.Thread(
                target=lambda: ANSWERS.append(requests.get(url, auth=auth, timeout=30)),
                daemon=True,
            ).start()
            assert HANDLING.wait(10)


        def test_b_starts_anyway(sync_server):
            RELEASE.set()
            del sync_server.boundary_wait
            deadline = time.monotonic() + 10
            while not ANSWERS and time.monotonic() < deadline:
                time.sleep(0.01)
            assert ANSWERS[0].status_code == 200  # the canned answer it was making
            assert sync_server.journal.entries == []  # but not in this test's journal
        """
    )
    result = run_in_order(pytester)
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(
        ["*RuntimeWarning: pytest-syncmap: 1 request(s) of the previous test were still*"]
    )


def test_raw_http_can_name_its_test_itself(pytester):
    pytester.makepyfile(
        test_tagged="""
        import threading
        import time

        import requests

        GO = threading.Event()
        ANSWERS = []


        def later(url, auth, generation):
            GO.wait(10)
            ANSWERS.append(
                requests.get(url, auth=auth, timeout=10,
                             headers={"X-Syncmap-Generation": str(generation)})
            )


        def test_a_leaves_a_tagged_request(sync_server):
            url = f"{sync_server.url}/v1/Services"
            mine = requests.get(url, auth=sync_server.auth, timeout=10,
                                headers={"X-Syncmap-Generation": str(sync_server.generation)})
            assert mine.status_code == 200
            args = (url, sync_server.auth, sync_server.generation)
            threading.Thread(target=later, args=args, daemon=True).start()


        def test_b_refuses_it(sync_server):
            GO.set()
            deadline = time.monotonic() + 10
            while not ANSWERS and time.monotonic() < deadline:
                time.sleep(0.01)
            assert ANSWERS[0].status_code == 403
            assert ANSWERS[0].json()["code"] == 20403
            assert sync_server.journal.entries == []
        """
    )
    run_in_order(pytester).assert_outcomes(passed=2)


def test_a_slow_upload_that_finishes_after_its_test_is_refused(pytester):
    """A raw request belongs to the test running when it arrived, even if its body is late."""
    pytester.makepyfile(
        test_upload="""
        import base64
        import http.client
        import json
        import socket
        import time

        SOCKETS = []


        def test_a_starts_an_upload(sync_server):
            sync_server.store.create_map("default", unique_name="cart")
            body = b"Key=late&Data=%7B%7D"
            auth = base64.b64encode(":".join(sync_server.auth).encode()).decode()
            head = (
                "POST /v1/Services/default/Maps/cart/Items HTTP/1.1\\r\\n"
                f"Host: {sync_server.host}\\r\\nAuthorization: Basic {auth}\\r\\n"
                "Content-Type: application/x-www-form-urlencoded\\r\\n"
                "Expect: 100-continue\\r\\n"
                f"Content-Length: {len(body)}\\r\\n\\r\\n"
            )
            sock = socket.create_connection((sync_server.host, sync_server.port), timeout=10)
            sock.sendall(head.encode())
            # the server has read the headers: the request has arrived during this test
            assert sock.recv(100).startswith(b"HTTP/1.1 100 Continue")
            sock.sendall(body[:5])
            SOCKETS.append((sock, body[5:]))
            time.sleep(0.2)


        def test_b_gets_the_rest(sync_server):
            sync_server.store.create_map("default", unique_name="cart")
            sock, rest = SOCKETS.pop()
            sock.sendall(rest)
            answer = http.client.HTTPResponse(sock)
            answer.begin()
            body = json.loads(answer.read())
            sock.close()
            assert (answer.status, body["code"]) == (403, 20403)
            assert "test_a_starts_an_upload" in body["message"]
            assert sync_server.journal.entries == []
            assert sync_server.late_requests[-1].test.endswith("::test_a_starts_an_upload")
        """
    )
    run_in_order(pytester).assert_outcomes(passed=2)


# --------------------------------------------------------- legitimate reuse
def test_pools_clients_and_workers_shared_across_tests_keep_working(pytester):
    pytester.makepyfile(
        test_reuse="""
        import asyncio
        import concurrent.futures
        import queue
        import threading

        import pytest
        from twilio.rest import Client

        _POOL = None
        _CLIENT = None


        def pool():  # created lazily, during the first test that needs it
            global _POOL
            if _POOL is None:
                _POOL = concurrent.futures.ThreadPoolExecutor(max_workers=2)
            return _POOL


        def client():  # a cached module-level client, also built lazily
            global _CLIENT
            if _CLIENT is None:
                _CLIENT = Client()
            return _CLIENT


        def put(sync_map, key):
            client().sync.v1.services(sync_map.service_sid).sync_maps(
                sync_map.sid
            ).sync_map_items.create(key=key, data={})
            return key


        @pytest.fixture(scope="session")
        def worker():
            \"\"\"A session worker thread, first set up by whichever test asks first.\"\"\"
            jobs = queue.Queue()

            def run():
                while (job := jobs.get()) is not None:
                    fn, done = job
                    done.put(fn())

            thread = threading.Thread(target=run, daemon=True)
            thread.start()

            def call(fn):
                done = queue.Queue()
                jobs.put((fn, done))
                return done.get(timeout=10)

            yield call
            jobs.put(None)
            thread.join(5)


        def test_a_builds_everything(sync_map, worker):
            assert pool().submit(put, sync_map, "a1").result() == "a1"
            assert worker(lambda: put(sync_map, "a2")) == "a2"
            assert put(sync_map, "a3") == "a3"
            assert sorted(sync_map) == ["a1", "a2", "a3"]


        def test_b_reuses_everything(sync_map, sync_server, worker):
            assert list(pool().map(lambda k: put(sync_map, k), ["b1", "b2"])) == ["b1", "b2"]
            assert worker(lambda: put(sync_map, "b3")) == "b3"
            assert put(sync_map, "b4") == "b4"
            assert sorted(sync_map) == ["b1", "b2", "b3", "b4"]
            assert sync_server.late_requests == []
            sync_server.assert_no_unexpected_failures()


        def test_c_asyncio_reuses_them(sync_map, sync_server):
            async def main():
                await asyncio.to_thread(put, sync_map, "c1")
                await asyncio.get_running_loop().run_in_executor(pool(), put, sync_map, "c2")

            asyncio.run(main())
            assert sorted(sync_map) == ["c1", "c2"]
            assert sync_server.late_requests == []
            pool().shutdown()
        """
    )
    result = run_in_order(pytester)
    result.assert_outcomes(passed=3)
    assert "LateRequestWarning" not in result.stdout.str()
    assert "outlived their test" not in result.stdout.str()


def test_a_job_queued_by_a_test_and_run_after_it_is_refused(pytester):
    """Executor jobs carry their submitter's test, whatever worker runs them."""
    pytester.makepyfile(helpers=HELPERS)
    pytester.makepyfile(
        test_queued="""
        import concurrent.futures
        import threading

        from twilio.base.exceptions import TwilioRestException
        from twilio.rest import Client

        from helpers import cart, wait_until

        POOL = concurrent.futures.ThreadPoolExecutor(max_workers=1)  # before any test
        GATE = threading.Event()


        def blocked_then_write():
            GATE.wait(10)
            try:
                cart(Client()).create(key="queued", data={})
                return "created"
            except TwilioRestException as exc:
                return exc


        def test_a_queues_a_job(sync_server):
            sync_server.store.create_map("default", unique_name="cart")
            test_a_queues_a_job.future = POOL.submit(blocked_then_write)


        def test_b_releases_it(sync_server):
            sync_server.store.create_map("default", unique_name="cart")
            GATE.set()
            outcome = test_a_queues_a_job.future.result(10)
            assert isinstance(outcome, TwilioRestException)
            assert "test_a_queues_a_job" in outcome.msg
            # the same worker serves this test's own jobs
            assert POOL.submit(lambda: cart(Client()).create(key="b", data={}).key).result() == "b"
            assert [i.key for i in cart(Client()).list()] == ["b"]
            POOL.shutdown()
        """
    )
    run_in_order(pytester).assert_outcomes(passed=2)
