"""The Bolt app: one per process, shared by HTTP serving (`serve`) and Socket Mode (`socket`).

Acknowledging within Slack's 3 seconds: `process_before_response` stays False, so Bolt runs each listener on
its executor and answers Slack as soon as the listener calls `ack()`. Listeners call `ack()` first (with the
answer, when it is quick), then do slow work; deferred answers go by `response_url`, `views.*`, or the outbox.
The executor is sized for the server's concurrent requests (Bolt's default of 5 threads would make the sixth
concurrent command wait for a free thread, and miss the 3 seconds under load).

Slash commands hand their work, after the ack, to a second, small pool (`command_executor`): a burst of commands
then never occupies the listener threads that acknowledge the next requests, and only a few threads at a time
compete for the GIL with the ones verifying and acknowledging; and that work first lets requests still waiting
for their acks through (`AcknowledgementsFirst`, docs/benchmarks.md).
"""

from __future__ import annotations

import json
import logging
import re
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any

from slack_bolt import App, BoltResponse
from slack_bolt.context.respond import Respond
from slack_sdk.errors import SlackApiError
from slack_sdk.models.blocks import PlainTextObject, SectionBlock
from slack_sdk.models.views import View
from sqlalchemy.exc import IntegrityError

from bot.adapters import installation
from bot.delivery.revocation import RevocationWatcher
from bot.delivery.slack_client import MeasuredWebClient, bot_client
from bot.listeners import (
    audit,
    commands,
    gates,
    home,
    initiatives,
    kpis,
    nudges,
    outcomes,
    people,
    regulation,
    sign_offs,
    workspaces,
)
from bot.listeners.middleware import hand_on_actor, serve_one_workspace
from bot.logs import carry_request, current_request
from bot.metrics import LISTENER_ERRORS
from bot.runtime import Runtime
from bot.services.errors import DomainError
from bot.views.replies import SOMETHING_WENT_WRONG
from storage.models.slack_events import SlackEventReceipt

# Seconds a transaction on Slack's clock may wait for a database lock, and (PostgreSQL) take to commit: Slack gives up
# on an acknowledgement (a modal submission's answer, an event's receipt) after 3 seconds, and then a late commit
# would do what the person was just told had failed. Failing first says "nothing was changed" while it is true
# (storage.db.session_scope; docs/slack-platform.md).
SLACK_LOCK_WAIT = 2.0
DEFAULT_LISTENER_THREADS = 32
BOLT_LOGGER = "bot.slack"  # Bolt's (and its Socket Mode client's) log lines
# Commands worked on at once per process, after their acks. The work is mostly Python: more threads would not
# finish it sooner, only take turns at the GIL with the threads that acknowledge new requests.
COMMAND_THREADS = 4

logger = logging.getLogger(__name__)


class AcknowledgementsFirst:
    """Lets slash-command work give way to requests still waiting for their acknowledgement.

    Python threads have no priorities and share one GIL: a command being worked on slows every ack in the process
    (docs/benchmarks.md). So the work waits while any request is in flight, but never longer than `max_hold`
    seconds after its own ack: a burst is acknowledged first and answered right after, and a stream of requests
    that never pauses still gets its answers. Requests are counted where HTTP arrives (`bot.web`); in Socket Mode
    nothing is counted and nothing waits."""

    def __init__(self, max_hold: float = 0.2) -> None:
        self.max_hold = max_hold
        self._in_flight = 0
        self._idle = threading.Condition()

    @contextmanager
    def request(self) -> Iterator[None]:
        """Around the handling of one request, until its acknowledgement is written."""
        with self._idle:
            self._in_flight += 1
        try:
            yield
        finally:
            with self._idle:
                self._in_flight -= 1
                if not self._in_flight:
                    self._idle.notify_all()

    def give_way(self, acknowledged_at: float) -> None:
        """Wait until no request is in flight, or until `max_hold` after `acknowledged_at` (time.monotonic)."""
        remaining = acknowledged_at + self.max_hold - time.monotonic()
        if remaining > 0:
            with self._idle:
                self._idle.wait_for(lambda: not self._in_flight, timeout=remaining)


class RequestExecutor(ThreadPoolExecutor):
    """A pool whose work logs under the request that handed it over (`bot.logs.carry_request`)."""

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Any:
        return super().submit(carry_request(fn), *args, **kwargs)


class InitiativeApp(App):
    """Bolt's App, plus the pool that works on slash commands after their acknowledgements."""

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.command_executor = RequestExecutor(max_workers=COMMAND_THREADS, thread_name_prefix="command")
        self.acknowledgements_first = AcknowledgementsFirst()

    def work_on_command(self, work: Callable[..., None], *args: Any) -> None:
        """Run `work(*args)` on the command pool, once requests waiting for their acks are through."""
        acknowledged_at = time.monotonic()

        def give_way_then_work() -> None:
            self.acknowledgements_first.give_way(acknowledged_at)
            work(*args)

        self.command_executor.submit(give_way_then_work)

    def _init_context(self, req: Any) -> None:
        """Bolt gives each request a new plain WebClient built from the app's client's settings, with the token the
        app started with; this one is made a MeasuredWebClient too, so that the listeners' calls (views.open, ...)
        are counted like every other and use the bot token as it reads now (SLACK_BOT_TOKEN_FILE)."""
        super()._init_context(req)
        client = req.context["client"]
        client.__class__ = MeasuredWebClient
        client.bot_token = self.client.bot_token

    def drain(self) -> None:
        """Finish all acknowledged work (listeners first: they may hand commands on), then stop the pools."""
        self.listener_runner.listener_executor.shutdown(wait=True)
        self.command_executor.shutdown(wait=True)


def create_app(
    runtime: Runtime,
    *,
    socket_mode: bool = False,
    listener_threads: int = DEFAULT_LISTENER_THREADS,
    workspace: str | None = None,
) -> InitiativeApp:
    """A Bolt app whose every Web API call goes to SLACK_API_URL, serving the bot token's workspace only.

    `workspace`: the token's team id, when the caller already asked `auth.test` (`serve` does, before forking);
    otherwise it is asked here. Bolt asks `auth.test` once more to check the token. The workspace is created, with
    its default gates, if the database does not hold it yet: its first request finds them."""
    settings = runtime.settings
    settings.require_slack(receives="socket" if socket_mode else "http")
    client = bot_client(settings)
    workspace = workspace or client.auth_test()["team_id"]
    workspaces.ensure_served_workspace(runtime, workspace)
    # auth.test succeeded with this token: the app is installed, so a workspace waiting for a reinstall resumes.
    installation.resume_served_workspace(runtime, workspace)
    client.retry_handlers.append(  # a listener's call, refused
        RevocationWatcher(runtime.engine, workspace, bot_token=settings.bot_token()))
    runtime = runtime.with_lock_wait(SLACK_LOCK_WAIT)
    app = InitiativeApp(
        # Socket Mode requests arrive over an authenticated WebSocket, unsigned. HTTP requests are checked by
        # bot.edge before Bolt parses them (Bolt's own check would log the body of every forged request).
        signing_secret=None if socket_mode else settings.slack_signing_secret,
        request_verification_enabled=False,
        client=client,
        process_before_response=False,
        listener_executor=RequestExecutor(max_workers=listener_threads, thread_name_prefix="bolt-listener"),
        logger=logging.getLogger(BOLT_LOGGER),
    )
    # In this order, and none waits on the database before a listener acknowledges, except an event's receipt.
    app.middleware(_label_request)
    app.middleware(serve_one_workspace(workspace))
    app.middleware(_acknowledge_clicks_at_once)  # nothing may keep a click's ack waiting, not even a free thread
    app.middleware(hand_on_actor(runtime, workspace=workspace))
    app.middleware(_ignore_event_retries(runtime))
    app.error(_answer_error)
    register_listeners(app, runtime)
    # Registered last, so it only catches events no module handles: Slack disables an events URL that keeps
    # answering 404, so every subscribed event gets its 200.
    app.event(re.compile(".*"))(_acknowledge_only)
    return app


def register_listeners(app: InitiativeApp, runtime: Runtime) -> None:
    """Every listener. Order matters only for overlapping matchers."""
    commands.register(app, runtime, work_later=app.work_on_command)
    sign_offs.register(app, runtime)
    outcomes.register(app, runtime)
    regulation.register(app, runtime)
    kpis.register(app, runtime)
    initiatives.register(app, runtime)
    home.register(app, runtime)
    nudges.register(app, runtime)
    audit.register(app, runtime)
    gates.register(app, runtime)
    workspaces.register(app, runtime)
    people.register(app, runtime)


def _acknowledge_only(ack: Any) -> None:
    ack()


# ---- what a request is, for its log lines and metrics -------------------------------------------------------


def surface_of(body: dict[str, Any]) -> str:
    """Which of Slack's surfaces a request came from: a finite set, fit for a metric's label."""
    if body.get("command"):
        return "command"
    kind = body.get("type")
    return {"block_actions": "action", "view_submission": "view", "view_closed": "view", "event_callback": "event",
            "shortcut": "shortcut", "message_action": "shortcut", "block_suggestion": "options"}.get(kind, "other")


def _label_request(body: dict[str, Any], next: Any) -> BoltResponse | None:
    """Bolt middleware, first: names the request's surface and team for the request thread's log lines and
    metrics (`bot.logs.request_context`, opened by `bot.web`; Socket Mode has none)."""
    if (request := current_request()) is not None:
        request.surface = surface_of(body)
        team = body.get("team")
        request.team = str((team.get("id") if isinstance(team, dict) else team) or body.get("team_id") or "") or None
    return next()


# ---- acknowledgements ----------------------------------------------------------------------------------


def _acknowledge_clicks_at_once(body: dict[str, Any], ack: Any, next: Any) -> BoltResponse | None:
    """Bolt middleware: a click (`block_actions`) is acknowledged before any other middleware or its listener
    runs. Its ack carries nothing, so it need not wait for a listener thread to be free, nor for the database:
    when the work after it fails, the listener's error is told privately through the click's response_url."""
    if body.get("type") == "block_actions":
        ack()
    return next()


# ---- event deduplication -------------------------------------------------------------------------------


def _ignore_event_retries(runtime: Runtime):  # type: ignore[no-untyped-def]
    """Bolt middleware: an Events API delivery whose `event_id` was already received is acknowledged and
    dropped. Slack retries (`X-Slack-Retry-Num`) when an ack was slow or lost; the database's primary key on
    `event_id` makes the first receipt win across workers and replicas."""

    def ignore_event_retries(body: dict[str, Any], next: Any) -> BoltResponse | None:
        event_id = body.get("event_id") if body.get("type") == "event_callback" else None
        if event_id and not _first_receipt(runtime, body):
            logger.info("ignoring repeated delivery of event %s", event_id)
            if (request := current_request()) is not None:
                request.outcome = "deduplicated"
            return BoltResponse(status=200, body="")
        return next()

    return ignore_event_retries


def _first_receipt(runtime: Runtime, body: dict[str, Any]) -> bool:
    receipt = SlackEventReceipt(
        event_id=str(body["event_id"])[:64],
        team_id=str(body.get("team_id") or "")[:32],
        event_type=str((body.get("event") or {}).get("type") or "")[:64],
    )
    try:
        with runtime.transaction() as session:
            session.add(receipt)
    except IntegrityError:
        return False
    return True


# ---- errors --------------------------------------------------------------------------------------------


def _answer_error(
    error: Exception, body: dict[str, Any], response: BoltResponse | None, respond: Respond | None
) -> BoltResponse | None:
    """The last resort for an exception a listener did not handle: log it with context, and tell the person
    one sentence (a domain error's own message, else an apology), never a stack trace."""
    user = (body.get("user") or {}).get("id") if isinstance(body.get("user"), dict) else body.get("user_id")
    team = (body.get("team") or {}).get("id") if isinstance(body.get("team"), dict) else body.get("team_id")
    kind = body.get("command") or body.get("type") or "request"
    if response is not None and (request := current_request()) is not None:
        request.outcome = "error"  # its answer says so; counted with the request (bot.web)
    else:
        LISTENER_ERRORS.labels(surface_of(body)).inc()  # after the ack: the request was counted as answered
    if _trigger_expired(error):
        # Slack lets a click or command open a modal for 3 seconds; under load (or for a replayed click) that
        # passes before the view is ready. Nothing is broken and nothing was changed: say so, and log no trace.
        text = TRIGGER_EXPIRED
        logger.info("%s from user %s (team %s): Slack's trigger expired before the modal opened", kind, user, team)
    elif isinstance(error, DomainError):
        text = str(error)
    else:
        text = SOMETHING_WENT_WRONG
        logger.error("unhandled error in %s (team %s, user %s)", kind, team, user, exc_info=error)
    if response is not None:  # not acknowledged yet: the answer is the HTTP response
        if body.get("type") == "event_callback":
            return None  # keep the 500: Slack retries the event later, and the retry is not a duplicate
        if body.get("type") == "view_submission":
            # A modal has no response_url; the answer is a modal pushed on top of it.
            return _json_response({"response_action": "push", "view": _error_modal(text)})
        if body.get("command") or body.get("response_url"):
            return _json_response({"response_type": "ephemeral", "text": text})
        return BoltResponse(status=200, body="")
    if respond is not None:
        try:
            respond(text=text, response_type="ephemeral", replace_original=False)
        except Exception:  # noqa: BLE001 - already logged above; an expired response_url must not raise again
            logger.warning("could not tell user %s about the error through response_url", user)
    return None


TRIGGER_EXPIRED = "That took longer than Slack allows for opening a form, and nothing was changed; please try again."


def _trigger_expired(error: Exception) -> bool:
    return isinstance(error, SlackApiError) and error.response.get("error") == "expired_trigger_id"


def _json_response(body: dict[str, Any]) -> BoltResponse:
    return BoltResponse(status=200, body=json.dumps(body), headers={"content-type": "application/json"})


def _error_modal(text: str) -> dict[str, Any]:
    return View(
        type="modal",
        title=PlainTextObject(text="Something went wrong"),
        close=PlainTextObject(text="Close"),
        blocks=[SectionBlock(text=PlainTextObject(text=text))],
    ).to_dict()
