import pytest
from asgiref.sync import async_to_sync
from channels.testing import WebsocketCommunicator
from django.test import Client

from workflows import services
from workflows.asgi import application

from .conftest import TASK_FLOW

pytestmark = pytest.mark.django_db(transaction=True)

ORIGIN = (b"origin", b"http://127.0.0.1:8000")
HOST = (b"host", b"127.0.0.1:8000")  # a browser's page on the server it connects to


def session_cookie(user):
    client = Client()
    client.force_login(user)
    return f"sessionid={client.cookies['sessionid'].value}".encode()


async def connect(path, headers):
    communicator = WebsocketCommunicator(application, path, headers=headers)
    connected, code = await communicator.connect()
    return communicator, connected, code


async def close_code(communicator):
    message = await communicator.receive_output(timeout=5)
    await communicator.wait()
    return message.get("code") if message["type"] == "websocket.close" else message


async def live_viewer(execution, cookie):
    """A signed-in viewer that has had its catch-up (nothing after seq 3): what it gets
    next is live. ``cookie`` comes from session_cookie(), which needs the database."""
    headers = [ORIGIN, HOST, (b"cookie", cookie)]
    communicator, _, _ = await connect(f"/ws/executions/{execution.pk}/?after_seq=3", headers)
    await communicator.receive_json_from(timeout=5)  # the (empty) catch-up
    return communicator


def test_an_anonymous_websocket_is_closed_with_4401_before_any_data(make_flow, broker):
    execution, _ = services.start_execution(make_flow(TASK_FLOW), {})

    async def scenario():
        communicator, _, _ = await connect(f"/ws/executions/{execution.pk}/", [ORIGIN, HOST])
        return await close_code(communicator)

    assert async_to_sync(scenario)() == 4401


def test_a_websocket_from_a_foreign_origin_is_refused(make_flow, broker, user):
    execution, _ = services.start_execution(make_flow(TASK_FLOW), {})
    headers = [(b"origin", b"http://evil.example"), (b"cookie", session_cookie(user))]

    async def scenario():
        communicator, connected, _ = await connect(f"/ws/executions/{execution.pk}/", headers)
        await communicator.disconnect()
        return connected

    assert async_to_sync(scenario)() is False


def websocket_opens(execution, user, origin, host, secure=False):
    headers = [(b"origin", origin), (b"host", host), (b"cookie", session_cookie(user))]

    async def scenario():
        communicator = WebsocketCommunicator(
            application, f"/ws/executions/{execution.pk}/", headers=headers
        )
        if secure:
            communicator.scope["scheme"] = "wss"
        connected, _ = await communicator.connect()
        await communicator.disconnect()
        return connected

    return async_to_sync(scenario)()


def test_a_websocket_from_another_port_of_the_same_host_is_refused(make_flow, broker, user):
    """Cookies ignore ports: a page served on another local port is another site."""
    execution, _ = services.start_execution(make_flow(TASK_FLOW), {})
    assert not websocket_opens(execution, user, b"http://127.0.0.1:9999", b"127.0.0.1:8000")


def test_a_websocket_whose_host_is_not_allowed_is_refused(make_flow, broker, user):
    """DNS rebinding: the attacker's name points at the server, so Origin and Host agree."""
    execution, _ = services.start_execution(make_flow(TASK_FLOW), {})
    assert not websocket_opens(execution, user, b"http://evil.example:8000", b"evil.example:8000")


def test_a_websocket_from_the_other_scheme_is_refused(make_flow, broker, user):
    execution, _ = services.start_execution(make_flow(TASK_FLOW), {})
    assert not websocket_opens(execution, user, b"https://127.0.0.1:8000", b"127.0.0.1:8000")
    assert websocket_opens(execution, user, b"https://127.0.0.1:8000", b"127.0.0.1:8000", True)


def test_a_websocket_from_a_trusted_origin_is_accepted(make_flow, broker, user, settings):
    settings.CSRF_TRUSTED_ORIGINS = ["https://legato.example.com"]
    execution, _ = services.start_execution(make_flow(TASK_FLOW), {})
    assert websocket_opens(execution, user, b"https://legato.example.com", b"127.0.0.1:8000")


def test_a_viewer_first_receives_the_events_after_its_last_seq(make_flow, broker, user):
    execution, _ = services.start_execution(make_flow(TASK_FLOW), {})
    headers = [ORIGIN, HOST, (b"cookie", session_cookie(user))]

    async def scenario():
        communicator, connected, _ = await connect(
            f"/ws/executions/{execution.pk}/?after_seq=1", headers
        )
        message = await communicator.receive_json_from(timeout=5)
        await communicator.disconnect()
        return message

    message = async_to_sync(scenario)()
    assert [e["seq"] for e in message["events"]] == [2, 3]
    assert message["execution"]["status"] == "RUNNING"


def test_a_viewer_receives_new_events_live(make_flow, broker, user):
    from channels.db import database_sync_to_async

    from workflows import tasks

    execution, _ = services.start_execution(make_flow(TASK_FLOW), {})
    [attempt_id] = broker.take()
    cookie = session_cookie(user)

    async def scenario():
        communicator = await live_viewer(execution, cookie)
        await database_sync_to_async(tasks.run_attempt)(attempt_id)
        types = []
        while "WaitStateEntered" not in types:
            message = await communicator.receive_json_from(timeout=5)
            types.extend(e["type"] for e in message["events"])
        await communicator.disconnect()
        return types

    types = async_to_sync(scenario)()
    assert types[:2] == ["TaskStarted", "TaskSucceeded"]


def test_a_started_task_reaches_viewers_with_the_execution_summary(make_flow, broker, user):
    from channels.db import database_sync_to_async

    execution, _ = services.start_execution(make_flow(TASK_FLOW), {})
    [attempt_id] = broker.take()
    cookie = session_cookie(user)

    async def scenario():
        communicator = await live_viewer(execution, cookie)
        await database_sync_to_async(services.claim_attempt)(attempt_id, "test")
        message = await communicator.receive_json_from(timeout=5)
        await communicator.disconnect()
        return message

    message = async_to_sync(scenario)()
    assert [e["type"] for e in message["events"]] == ["TaskStarted"]
    assert message["execution"]["id"] == str(execution.pk)
    assert message["execution"]["status"] == "RUNNING"


def test_a_viewer_that_missed_a_message_gets_the_gap_from_the_database(make_flow, broker, user):
    from channels.layers import get_channel_layer

    from workflows.broadcast import execution_group

    execution, _ = services.start_execution(make_flow(TASK_FLOW), {})
    headers = [ORIGIN, HOST, (b"cookie", session_cookie(user))]
    later = {
        "seq": 99,
        "type": "Fake",
        "timestamp": "",
        "state": None,
        "status": None,
        "details": {},
    }

    async def scenario():
        communicator, _, _ = await connect(f"/ws/executions/{execution.pk}/?after_seq=1", headers)
        await communicator.receive_json_from(timeout=5)  # events 2 and 3
        await get_channel_layer().group_send(
            execution_group(str(execution.pk)),
            {"type": "legato.events", "events": [later], "execution": {"status": "RUNNING"}},
        )
        message = await communicator.receive_json_from(timeout=5)
        await communicator.disconnect()
        return message

    # Seq 99 does not follow 3, so the consumer re-reads the database (which ends at 3)
    # instead of relaying a history with a hole in it.
    assert async_to_sync(scenario)()["events"] == []


def test_a_websocket_for_an_unknown_execution_is_closed_with_4404(user, db):
    headers = [ORIGIN, HOST, (b"cookie", session_cookie(user))]

    async def scenario():
        communicator, _, _ = await connect(
            "/ws/executions/00000000-0000-0000-0000-000000000000/", headers
        )
        return await close_code(communicator)

    assert async_to_sync(scenario)() == 4404


def test_a_websocket_of_a_user_without_a_role_is_closed_with_4403(make_flow, broker):
    from django.contrib.auth import get_user_model

    execution, _ = services.start_execution(make_flow(TASK_FLOW), {})
    nobody = get_user_model().objects.create_user("nobody", password="pw-nobody-1")
    headers = [ORIGIN, HOST, (b"cookie", session_cookie(nobody))]

    async def scenario():
        communicator, _, _ = await connect(f"/ws/executions/{execution.pk}/", headers)
        return await close_code(communicator)

    assert async_to_sync(scenario)() == 4403
