"""The dashboard in a real browser against a real `viper run` paper trading the synthetic market:
it loads cleanly, moves live, signs in, runs a backtest, and fits a phone."""

from __future__ import annotations

from typing import Any

import pytest

from tests.browser.conftest import new_page, screenshot, sign_in, wait_until
from tests.browser.server import ViperProcess

pytestmark = pytest.mark.slow


def open_dashboard(browser: Any, server: ViperProcess, **options: Any) -> tuple[Any, Any, Any]:
    """A signed-in page on the dashboard, its panels loaded."""
    context, page, console = new_page(browser, **options)
    sign_in(context, server)
    page.goto(f"{server.base}/")
    page.wait_for_selector("#app:not([hidden])")
    page.wait_for_selector("body[data-ready='true']")
    page.wait_for_selector("#live-status.live")
    return context, page, console


def test_page_loads_signed_in_with_no_console_errors(browser: Any, viper: ViperProcess) -> None:
    context, page, console = open_dashboard(browser, viper)
    try:
        page.wait_for_selector("#market-chart canvas")
        page.wait_for_selector("#scores-body .score-row")
        page.wait_for_timeout(1500)  # let the live feed deliver a few events
        screenshot(page, "dashboard")
        assert console.errors == []
        assert page.locator("#banner .message").count() == 0
        assert page.locator("#user-name").inner_text() != ""
    finally:
        context.close()


def test_live_values_change_while_paper_trading(browser: Any, viper: ViperProcess) -> None:
    context, page, _ = open_dashboard(browser, viper)
    try:
        price = page.locator("#market-last")
        bar = page.locator("#scores-body .score-row .legend").first
        wait_until(page, lambda: price.inner_text() != "", what="a first price")
        first_price, first_bar = price.inner_text(), bar.inner_text()
        # the replay runs at 60x: a bar closes every second, with a new price and new scores
        wait_until(
            page,
            lambda: price.inner_text() != first_price and bar.inner_text() != first_bar,
            what="a new price and a new score",
        )
    finally:
        context.close()


def test_sign_in_refuses_a_wrong_token_and_accepts_the_right_one(
    browser: Any, viper: ViperProcess
) -> None:
    assert viper.token, "authentication is on: the first start prints an admin token"
    context, page, _ = new_page(browser)
    try:
        page.goto(f"{viper.base}/")
        page.wait_for_selector("#sign-in:not([hidden])")
        assert page.locator("#app").is_hidden()
        assert page.locator("#sign-in-cancel").is_hidden()  # no dashboard behind the form

        page.fill("#token", "vpr_not-a-real-token")
        page.click("#sign-in-form button[type=submit]")
        error = page.locator("#sign-in-error")
        error.wait_for(state="visible")
        assert "Sign-in failed" in error.inner_text()
        assert page.locator("#app").is_hidden()
        screenshot(page, "sign-in-refused", full_page=False)

        page.fill("#token", viper.token)
        page.click("#sign-in-form button[type=submit]")
        page.wait_for_selector("#app:not([hidden])")
        page.wait_for_selector("#live-status.live")
        assert page.locator("#sign-in").is_hidden()
        assert page.locator("#user-name").inner_text() == "admin (first start)"

        page.click("#sign-out")  # a POST with the session's CSRF token
        page.wait_for_selector("#sign-in:not([hidden])")
        assert context.request.get(f"{viper.base}/auth/me").status == 401
    finally:
        context.close()


def test_kill_switch_trips_and_resumes_from_the_page(browser: Any, viper: ViperProcess) -> None:
    context, page, console = open_dashboard(browser, viper)
    page.on("dialog", lambda dialog: dialog.accept())
    try:
        page.wait_for_selector("#risk-state.ok")
        page.click("#kill-trip")
        page.wait_for_selector("#risk-state.halted")
        assert "HALTED" in page.locator("#risk-state").inner_text()

        page.click("#kill-resume")
        page.wait_for_selector("#risk-state.ok")
        assert page.locator("#banner .message").count() == 0
        assert console.errors == []
    finally:
        context.close()


def test_backtest_launched_from_the_page_finishes_and_draws_its_charts(
    browser: Any, viper: ViperProcess
) -> None:
    context, page, console = open_dashboard(browser, viper)
    try:
        page.click(".tabs a[data-tab='research']")
        form = page.locator("#backtest-form")
        symbols = form.locator("[name=symbols]")
        wait_until(page, lambda: symbols.input_value() != "", what="the stored datasets")
        form.locator("[name=start_date]").fill("2024-01-01")
        form.locator("[name=end_date]").fill("2024-01-04")
        form.locator("[name=score_threshold]").fill("70")
        form.locator("button[type=submit]").click()

        page.wait_for_selector("#backtest-job [data-state='done']", timeout=90_000)
        page.wait_for_selector("#result-view:not([hidden])")
        page.wait_for_selector("#result-equity canvas")
        page.wait_for_selector("#result-drawdown canvas")
        page.wait_for_selector("#result-trades table")
        page.wait_for_selector("#results-body tr.selected")
        assert "BTC/USDT:USDT" in page.locator("#result-title").inner_text()
        screenshot(page, "backtest")
        assert console.errors == []
    finally:
        context.close()


def test_fits_a_phone_screen(browser: Any, viper: ViperProcess) -> None:
    phone = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}
    context, page, console = open_dashboard(browser, viper, **phone)
    try:
        page.wait_for_selector("#market-chart canvas")
        page.wait_for_timeout(500)
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, f"the page is {overflow}px wider than the phone"
        screenshot(page, "dashboard-phone")
        assert console.errors == []
    finally:
        context.close()


def test_works_without_sign_in_when_authentication_is_off(
    browser: Any, open_viper: ViperProcess
) -> None:
    context, page, console = new_page(browser)
    try:
        page.goto(f"{open_viper.base}/")
        page.wait_for_selector("#app:not([hidden])")
        page.wait_for_selector("#live-status.live")
        page.wait_for_selector("#scores-body .score-row")
        page.wait_for_selector("#risk-state.ok")
        assert page.locator("#sign-in").is_hidden()
        assert page.locator("#user").is_hidden()
        assert not page.locator("#kill-trip").is_disabled()  # open mode may trade
        assert console.errors == []
    finally:
        context.close()
