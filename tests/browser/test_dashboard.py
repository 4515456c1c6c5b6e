"""The dashboard as a person sees it, in a real browser (each test leaves a screenshot)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from playwright.sync_api import expect

from comeback.testing import START, MockServer, at_once
from lifecycle.bundled import bundled_scenarios
from tests.browser.conftest import SCREENSHOTS, create_message, create_run, row
from tests.dashboard.clients import CLOSED_PORT

BROKEN = """api: letta
description: "A misspelt state on line 7."
steps:
  - state: created
  - state: running
    after: 1s
  - state: complted
    after: 2s
    set: {stop_reason: end_turn}
"""
FIXED = BROKEN.replace("complted", "completed").replace(
    "Broken on purpose: a misspelt state on line 6.", "Fixed"
)


def test_a_created_resource_appears_with_its_state(page: Any, mock: MockServer) -> None:
    message = create_message(mock)
    shown = row(page, "privategpt", message)
    expect(shown.locator("td.state")).to_have_text("pending", timeout=2_000)
    expect(shown.locator("td.scenario")).to_have_text("happy")
    expect(shown.locator("td.next")).to_have_text("in 1s")
    expect(page.locator("#count-resources")).to_have_text("1")


def test_the_state_changes_as_the_manual_clock_advances(page: Any, mock: MockServer) -> None:
    message = create_message(mock)
    state = row(page, "privategpt", message).locator("td.state")
    expect(state).to_have_text("pending")
    page.click("#clock-1")
    expect(state).to_have_text("processing")
    expect(page.locator("#clock-now")).to_have_text("2025-06-15 15:06:41.000")
    page.click("#clock-next")  # processing lasts 2 s
    expect(state).to_have_text("completed")
    expect(page.locator("#clock-now")).to_have_text("2025-06-15 15:06:43.000")
    expect(page.locator("#clock-next")).to_be_disabled()  # nothing left to happen by time
    page.click("#clock-10")
    expect(page.locator("#clock-now")).to_have_text("2025-06-15 15:06:53.000")


def test_one_resource_its_timeline_history_and_force_next(page: Any, mock: MockServer) -> None:
    run = create_run(mock, scenario="with-running")
    row(page, "letta", run).click()
    detail = page.locator("#detail")
    expect(detail.locator("#detail-state")).to_have_text("created")
    chart = page.locator("#detail-chart svg")
    expect(chart.locator("g.past")).to_have_count(1)
    expect(chart.locator("g.planned").first).to_be_visible()
    planned = chart.locator("g.planned").count()
    page.click("#btn-next")
    expect(detail.locator("#detail-state")).to_have_text("running")
    expect(row(page, "letta", run).locator("td.state")).to_have_text("running")
    expect(chart.locator("g.past")).to_have_count(2)
    expect(chart.locator("g.planned")).to_have_count(planned - 1)
    expect(page.locator("#detail-history tbody tr")).to_have_count(2)
    expect(page.locator("#detail-history tbody tr").nth(1)).to_contain_text("forced")
    assert mock.state("letta", run) == "running"


def test_the_callback_and_its_outcome(page: Any, mock: MockServer) -> None:
    run = create_run(mock, callback_url=CLOSED_PORT)
    row(page, "letta", run).click()
    expect(page.locator("#detail-callback")).to_have_text("waiting for a terminal state")
    page.click("#clock-next")
    expect(page.locator("#detail-state")).to_have_text("completed")
    expect(page.locator("#detail-callback")).to_contain_text("failed: ConnectError")


def test_cancel_and_delete_buttons(page: Any, mock: MockServer) -> None:
    run = create_run(mock, scenario="never-finishes")
    row(page, "letta", run).click()
    page.click("#btn-cancel")
    expect(page.locator("#detail-state")).to_have_text("cancelled")
    expect(page.locator("#btn-cancel")).to_be_disabled()
    page.click("#btn-delete")
    expect(row(page, "letta", run)).to_have_count(0)
    expect(page.locator("#detail")).to_be_hidden()
    assert at_once(lambda: mock.engine.find("letta", run), mock.namespace) is None


def test_streamed_text_grows_token_by_token(page: Any, mock: MockServer) -> None:
    message = create_message(mock, scenario="scripted-reply")
    row(page, "privategpt", message).click()
    text = page.locator("#detail-text")
    expect(text).to_have_text("")
    page.click("#clock-1")  # processing begins after 1 s, then 4 words per second for 4 s
    expect(page.locator("#detail-state")).to_have_text("processing")
    lengths = [0]
    for _ in range(4):
        page.click("#clock-1")
        expect(text).to_have_text(re.compile(rf"[\s\S]{{{lengths[-1] + 1},}}"))  # longer than before
        lengths.append(len(text.text_content() or ""))
    assert lengths == sorted(lengths)
    assert len(set(lengths)) == 5
    expect(page.locator("#detail-state")).to_have_text("completed")
    expect(text).to_have_text(
        "The quarterly report is ready. Revenue grew twelve percent, driven by new subscriptions."
    )


def test_a_broken_scenario_upload_shows_the_error_at_its_line(
    page: Any, mock: MockServer, tmp_path: Path
) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text(BROKEN)
    page.click('.tab[data-view="scenarios"]')
    page.select_option("#editor-api", "letta")
    page.set_input_files("#editor-file", str(broken))
    finding = page.locator('#editor-findings li[data-line="7"]')
    expect(finding).to_contain_text("line 7")
    expect(finding).to_contain_text("unknown state")
    expect(finding).to_contain_text("did you mean 'completed'?")
    expect(page.locator('#editor-gutter .line.error[data-line="7"]')).to_be_visible()
    expect(page.locator("#editor-gutter .line.error")).to_have_count(1)
    expect(page.locator("#editor-name")).to_have_value("broken")

    page.fill("#editor-text", FIXED)
    expect(page.locator("#editor-status")).to_have_text("OK: created → running → completed")
    expect(page.locator("#editor-gutter .line.error")).to_have_count(0)
    page.click("#editor-queue")
    expect(page.locator("#editor-status")).to_contain_text("queued for the next letta resource: broken")
    run = create_run(mock)
    expect(row(page, "letta", run).locator("td.scenario")).to_have_text("broken")


def test_a_checked_scenario_is_saved_through_the_admin_api(page: Any, mock: MockServer) -> None:
    page.click('.tab[data-view="scenarios"]')
    page.select_option("#editor-api", "letta")
    page.fill("#editor-name", "saved-from-page")
    page.fill("#editor-text", FIXED)
    expect(page.locator("#editor-status")).to_have_text("OK: created → running → completed")
    page.click("#editor-save")
    expect(page.locator("#editor-status")).to_have_text("saved as saved-from-page")
    stored = mock.client.get("/__mock/scenarios/letta/saved-from-page")
    assert stored.status_code == 200, stored.text
    run = create_run(mock, scenario="saved-from-page")
    expect(row(page, "letta", run).locator("td.scenario")).to_have_text("saved-from-page")
    page.screenshot(path=str(SCREENSHOTS / "scenario-saved.png"))


def test_scenarios_drawn_per_api_set_default_and_queue(page: Any, mock: MockServer) -> None:
    page.click('.tab[data-view="scenarios"]')
    letta = page.locator('section.scenario-api[data-api="letta"]')
    slow = letta.locator('[data-scenario="slow"]')
    expect(slow.locator("svg g.segment")).to_have_count(2)  # created, completed
    expect(letta.locator('[data-scenario="happy"] .pill')).to_have_text("default")
    slow.locator("button.edit").click()  # its file, in the editor, checked
    slow_file = (bundled_scenarios() / "letta" / "slow.yaml").read_text(encoding="utf-8")
    expect(page.locator("#editor-text")).to_have_value(slow_file)
    expect(page.locator("#editor-status")).to_have_text("OK: created → completed")
    slow.locator("button.set-default").click()
    expect(slow.locator(".pill")).to_have_text("default")
    expect(letta.locator('[data-scenario="happy"] .pill')).to_have_count(0)
    assert mock.client.get("/__mock/scenarios").json()["letta"]["default"] == "slow"
    letta.locator('[data-scenario="failed"] button.queue-next').click()
    expect(letta.locator(".queued")).to_have_text("queued for next: failed")
    page.click('.tab[data-view="resources"]')
    run = create_run(mock)
    expect(row(page, "letta", run).locator("td.scenario")).to_have_text("failed")
    second = create_run(mock)
    expect(row(page, "letta", second).locator("td.scenario")).to_have_text("slow")


def test_filters_by_api_and_state(page: Any, mock: MockServer) -> None:
    message = create_message(mock)
    run = create_run(mock, scenario="never-finishes")
    expect(row(page, "letta", run)).to_be_visible()
    page.select_option("#filter-api", "letta")
    expect(row(page, "privategpt", message)).to_be_hidden()
    expect(row(page, "letta", run)).to_be_visible()
    page.select_option("#filter-api", "privategpt")
    # one API's own states, as it names them: no other API's spelling of "cancelled"
    options = page.locator("#filter-state option").all_text_contents()
    assert options == ["all", "pending", "processing", "completed", "failed", "cancelled", "error"]
    page.select_option("#filter-state", "state:pending")
    expect(row(page, "privategpt", message)).to_be_visible()
    page.select_option("#filter-api", "")
    # across APIs the states are named differently: the filter offers how far a resource got
    options = page.locator("#filter-state option").all_text_contents()
    assert options == ["all", "in progress", "succeeded", "failed", "cancelled"]
    page.select_option("#filter-state", "kind:working")
    expect(row(page, "letta", run)).to_be_visible()
    expect(row(page, "privategpt", message)).to_be_visible()
    page.click("#clock-10")  # the message completes; the run never does
    page.select_option("#filter-state", "kind:success")
    expect(row(page, "letta", run)).to_be_hidden()
    expect(row(page, "privategpt", message)).to_be_visible()
    expect(page.locator("#shown")).to_have_text("1 of 2 shown")


def test_the_journal_is_live_and_shows_an_entry_on_click(page: Any, mock: MockServer) -> None:
    page.click('.tab[data-view="journal"]')
    message = create_message(mock, message_id="journal-demo")
    entry = page.locator("#journal tbody tr").first
    expect(entry).to_contain_text("/v1/messages/async")
    expect(entry.locator("td.status")).to_have_text("200")
    expect(entry.locator("td").first).to_have_text("15:06:40.000")
    entry.click()
    expect(page.locator("#journal-entry-title")).to_have_text("POST /v1/messages/async → 200")
    shown = page.locator("#journal-entry-bodies")
    expect(shown.locator("h3").first).to_have_text("request body")
    expect(shown.locator("pre.body").first).to_contain_text('"content": "Hello"')
    expect(shown.locator("pre.body").nth(1)).to_contain_text('"message_id": "journal-demo"')
    expect(shown).to_contain_text('"authorization": "***"')  # masked by the journal
    assert message == "journal-demo"


def test_the_page_sends_the_admin_token_from_its_fragment(browser: Any, mock: MockServer) -> None:
    context = browser.new_context()
    page = context.new_page()
    sent: list[str | None] = []
    page.on(
        "request",
        lambda request: (
            sent.append(request.headers.get("x-mock-admin-token"))
            if "/__mock/" in request.url and "/static/" not in request.url and not request.url.endswith("/ui")
            else None
        ),
    )
    page.goto(f"{mock.url}/__mock/ui#token=s3cret")
    expect(page.locator("#live")).to_have_text("live")
    page.click("#clock-1")
    expect(page.locator("#clock-now")).to_have_text("2025-06-15 15:06:41.000")
    page.screenshot(path=str(SCREENSHOTS / "test_the_page_sends_the_admin_token_from_its_fragment.png"))
    context.close()
    assert len(sent) >= 2
    assert set(sent) == {"s3cret"}


def test_with_an_admin_token_the_page_asks_for_it_and_works_with_it(browser: Any) -> None:
    with MockServer.start(port=True, clock="manual", admin_token="s3cret") as mock:
        context = browser.new_context()
        page = context.new_page()
        page.goto(f"{mock.url}/__mock/ui")  # the page itself needs no token: it holds no data
        expect(page.locator("#live")).to_contain_text("refused (401)")
        page.goto(f"{mock.url}/__mock/ui#token=s3cret")
        page.reload()
        expect(page.locator("#live")).to_have_text("live")
        page.click("#clock-1")
        expect(page.locator("#clock-now")).to_have_text("2025-06-15 15:06:41.000")
        page.screenshot(path=str(SCREENSHOTS / "test_with_an_admin_token.png"))
        context.close()


def test_a_page_opened_with_a_namespace_shows_and_drives_only_that_namespace(
    browser: Any, mock: MockServer
) -> None:
    theirs = create_run(mock, scenario="never-finishes")  # the default namespace's
    mine = mock.client.post(
        "/v1/agents/agent-123e4567-e89b-42d3-8456-426614174000/messages/async",
        json={"messages": [{"role": "user", "content": "Hi"}]},
        headers={"Authorization": "Bearer any", "X-Mock-Namespace": "team-a", "X-Mock-Scenario": "happy"},
    ).json()["id"]
    context = browser.new_context()
    page = context.new_page()
    page.set_default_timeout(5_000)
    page.goto(f"{mock.url}/__mock/ui?namespace=team-a")
    expect(page.locator("#live")).to_have_text("live")
    expect(row(page, "letta", mine)).to_have_count(1)
    expect(row(page, "letta", theirs)).to_have_count(0)
    page.click("#clock-10")  # moves team-a's clock only
    expect(row(page, "letta", mine).locator("td.state")).to_have_text("completed")
    assert mock.client.get("/__mock/clock", params={"namespace": "team-a"}).json()["epoch"] == START + 10
    assert mock.client.get("/__mock/clock").json()["epoch"] == START
    context.close()
