"""The satisfaction pad's model, without kivy or a server: screens, ratings, timeouts on an
injected clock, and the small rules (surname, photo path)."""

from __future__ import annotations

import pytest

from satisfaction_pad.model import PadModel, Rating, photo_path, post_text, surname

REASONS = ["等候时间过长", "服务态度不好", "办事效率低"]
ZHANG = {"name": "张敏", "badge": "1001", "photo": "", "post": "A"}
LI = {"name": "李强", "badge": "1002", "photo": "", "post": "B"}


def window(status="open", clerk=ZHANG, current=None, reason=None, number=1):
    return {"window": number, "name": "社保窗口", "status": status, "status_text": "",
            "reason": reason, "clerk": clerk, "current": current}


def hello(live_window=None, day="2026-11-23", reasons=REASONS):
    return {"re": 1, "ok": True, "role": "pad", "window": 1, "seq": 10, "snapshot": {
        "hall": {"name": "测试镇便民服务中心", "rating_reasons": reasons,
                 "departments": [{"code": "sb", "name": "社会保障"}],
                 "windows": [{"window": 1, "name": "社保窗口", "department": "sb"},
                             {"window": 2, "name": "民政窗口", "department": "mz"}]},
        "live": {"day": day, "windows": [live_window or window(), window(number=2)]}}}


def called(number, at_window=1):
    return {"ev": "ticket_called", "seq": 20, "number": number, "window": at_window,
            "window_name": "社保窗口", "recall": 0}


def requested(number, clerk=ZHANG, at_window=1):
    return {"ev": "rating_requested", "seq": 21, "window": at_window, "ticket": number,
            "clerk": clerk}


def window_event(**fields):
    return {"ev": "window", "seq": 22, **window(**fields)}


@pytest.fixture
def pad():
    model = PadModel(timeout=30, thanks_seconds=5, message_seconds=6, call_seconds=15)
    model.apply_hello(hello(), now=0)
    model.set_connection(True, "已连接")
    return model


def test_idle_shows_the_clerk_window_and_department(pad):
    assert pad.screen == "idle" and pad.status == "open"
    assert pad.clerk == ZHANG and post_text(pad.clerk["post"]) == "A岗"
    assert pad.window_title == "1 号窗口 · 社保窗口" and pad.department_name == "社会保障"
    assert pad.reasons == REASONS


def test_paused_closed_and_a_clerk_less_open_window():
    model = PadModel()
    model.apply_hello(hello(window(status="paused", reason="临时会议")), now=0)
    assert model.status == "paused" and model.window["reason"] == "临时会议"
    model.apply_event(window_event(status="closed", clerk=None), now=1)
    assert model.status == "closed" and model.clerk is None and model.screen == "idle"
    model.apply_event(window_event(status="open", clerk=None), now=2)
    assert model.status == "closed"                   # open but nobody there: 未开放


def test_other_windows_events_change_nothing(pad):
    assert not pad.apply_event(called("B001", at_window=2), now=1)
    assert not pad.apply_event(requested("B001", at_window=2), now=1)
    assert pad.screen == "idle" and not pad.outbox


def test_a_call_then_serving_then_the_prompt_and_a_high_score(pad):
    assert pad.apply_event(called("A012"), now=100)
    assert pad.screen == "called" and pad.call_text(100) == "请 A012 号 到本窗口办理"
    assert not pad.tick(110)
    assert pad.tick(115.1)                            # the call is over: redraw
    assert pad.call_text(115.1) == "正在为 A012 号办理"
    pad.apply_event(requested("A012"), now=200)
    pad.apply_event(window_event(current=None), now=200)    # the finish's window state
    assert pad.screen == "prompt" and pad.prompt.ticket == "A012" and pad.prompt.clerk == ZHANG
    assert pad.remaining(200) == 30 and pad.remaining(212.5) == 18
    assert pad.choose(4, now=210)
    assert pad.screen == "thanks" and pad.thanks_text() == "您的评价：满意"
    assert list(pad.outbox) == [Rating("A012", 4, (), "2026-11-23")]
    assert pad.outbox[0].params() == {"ticket": "A012", "score": 4, "reasons": []}
    assert not pad.tick(214.9)
    assert pad.tick(215) and pad.screen == "idle"     # back to the clerk


def test_a_low_score_needs_a_reason_before_submit(pad):
    pad.apply_event(requested("A003"), now=0)
    assert pad.choose(2, now=1) and pad.screen == "reasons" and not pad.outbox
    assert not pad.can_submit() and not pad.submit(now=2)
    assert not pad.toggle_reason("不在名单里的原因", now=2)
    assert pad.toggle_reason("服务态度不好", now=3) and pad.toggle_reason("办事效率低", now=3)
    assert pad.toggle_reason("办事效率低", now=4)          # chosen, then unchosen
    assert pad.submit(now=5)
    assert list(pad.outbox) == [Rating("A003", 2, ("服务态度不好",), "2026-11-23")]
    assert pad.screen == "thanks"


def test_another_level_chosen_on_the_reason_picker(pad):
    """A button box's key (or a stray touch) while the reasons are shown changes the score."""
    pad.apply_event(requested("A003"), now=0)
    pad.choose(2, now=1)
    pad.toggle_reason("服务态度不好", now=2)
    assert pad.choose(1, now=3) and pad.screen == "reasons"
    assert pad.prompt.score == 1 and pad.prompt.reasons == ["服务态度不好"]
    assert pad.choose(4, now=4) and pad.screen == "thanks"
    assert list(pad.outbox) == [Rating("A003", 4, (), "2026-11-23")]


def test_back_from_the_reasons_to_the_levels(pad):
    pad.apply_event(requested("A003"), now=0)
    pad.choose(1, now=1)
    pad.toggle_reason("等候时间过长", now=2)
    assert pad.back_to_levels(now=3) and pad.screen == "prompt"
    assert pad.prompt.score is None and pad.prompt.reasons == []
    assert pad.choose(5, now=4) and pad.outbox[0].score == 5 and pad.outbox[0].reasons == ()


def test_timeouts_record_unrated_counted_from_the_last_touch(pad):
    pad.apply_event(requested("A001"), now=0)
    assert not pad.tick(29.9)
    assert pad.tick(30) and pad.screen == "idle"
    assert list(pad.outbox) == [Rating("A001", None, (), "2026-11-23")]
    pad.outbox.clear()
    pad.apply_event(requested("A002"), now=100)
    pad.choose(2, now=120)                                  # the picker's own 30 s from here
    assert not pad.tick(149) and pad.screen == "reasons"
    pad.toggle_reason("等候时间过长", now=149)
    pad.toggle_reason("等候时间过长", now=170)               # a touch keeps it open
    assert not pad.tick(199)
    assert pad.tick(200) and pad.outbox[0] == Rating("A002", None, (), "2026-11-23")


def test_a_complete_choice_left_unsubmitted_is_sent_as_chosen(pad):
    pad.apply_event(requested("A004"), now=0)
    pad.choose(1, now=1)
    pad.toggle_reason("服务态度不好", now=2)
    assert pad.tick(32)
    assert list(pad.outbox) == [Rating("A004", 1, ("服务态度不好",), "2026-11-23")]


def test_a_call_or_a_new_request_while_a_prompt_is_open_loses_nothing(pad):
    pad.apply_event(requested("A005"), now=0)
    pad.apply_event(called("A006"), now=5)                  # the clerk moved on
    assert pad.screen == "called" and pad.prompt is None
    pad.apply_event(requested("A006"), now=50)
    pad.choose(2, now=51)
    pad.toggle_reason("办事效率低", now=52)
    pad.apply_event(requested("A007"), now=53)              # finished again without a call
    assert pad.screen == "prompt" and pad.prompt.ticket == "A007"
    pad.choose(2, now=54)
    pad.apply_event(requested("A008"), now=55)              # a low score without a reason
    assert pad.apply_event(requested("A008"), now=56) is False    # the same request twice
    assert [(r.ticket, r.score, r.reasons) for r in pad.outbox] == [
        ("A005", None, ()), ("A006", 2, ("办事效率低",)), ("A007", None, ())]
    assert pad.prompt.ticket == "A008"


def test_keys_only_low_score_goes_with_the_first_reason():
    model = PadModel(keys_only=True)
    model.apply_hello(hello(), now=0)
    model.apply_event(requested("A009"), now=0)
    assert model.choose(1, now=1) and model.screen == "thanks"
    assert list(model.outbox) == [Rating("A009", 1, ("等候时间过长",), "2026-11-23")]


def test_no_prompt_no_rating(pad):
    assert not pad.choose(5, now=1) and not pad.submit(now=1) and not pad.back_to_levels(now=1)
    pad.apply_event(requested("A010"), now=2)
    assert not pad.choose(7, now=3) and pad.screen == "prompt"


def test_refusals_are_shown_only_to_the_citizen_who_rated(pad):
    pad.apply_event(requested("A011"), now=0)
    pad.choose(5, now=1)
    rating = pad.outbox[0]
    assert pad.refused(rating, "A011 号已评价过", now=2)
    assert pad.screen == "message" and pad.message == "评价未能保存：A011 号已评价过"
    assert not pad.outbox
    assert pad.tick(8) and pad.screen == "idle"
    late = Rating("A010", 4, (), "2026-11-23")           # sent long after, the citizen gone
    pad.outbox.append(late)
    assert not pad.refused(late, "A010 号不是本窗口办结的号", now=9) and pad.screen == "idle"
    pad.apply_event(requested("A012"), now=10)
    unrated = Rating("A011", None)
    pad.outbox.append(unrated)
    assert not pad.refused(unrated, "x", now=11) and pad.screen == "prompt" and not pad.outbox


def test_a_reconnection_keeps_the_prompt_and_the_outbox_a_new_day_drops_them(pad):
    pad.apply_event(requested("A013"), now=0)
    pad.outbox.append(Rating("A012", 4, (), "2026-11-23"))
    pad.set_connection(False, "无法连接服务器")
    pad.apply_hello(hello(), now=5)
    assert pad.screen == "prompt" and len(pad.outbox) == 1 and pad.hellos == 2
    assert pad.apply_event({"ev": "day_started", "seq": 30, "day": "2026-11-24"}, now=6)
    assert pad.prompt is None and pad.screen == "idle"
    assert len(pad.outbox) == 1                       # no 未评 for yesterday's ticket
    pad.apply_hello(hello(window(clerk=None, status="closed"), day="2026-11-24"), now=7)
    assert not pad.outbox and pad.screen == "idle"
    assert pad.status == "closed"
    pad.apply_event(requested("A001"), now=8)         # a day change seen only in a hello
    pad.apply_hello(hello(day="2026-11-25"), now=9)
    assert pad.prompt is None and pad.screen == "idle" and not pad.outbox


def test_ratings_kept_across_midnight_are_kept_to_be_reported_a_day_at_a_time(pad):
    # cut off on the 23rd with a 差评 and a 满意 unsent, and one of the 22nd from before
    bad = Rating("A012", 1, ("服务态度不好",), "2026-11-23")
    older = Rating("A030", None, (), "2026-11-22")
    pad.outbox.extend([older, bad, Rating("A013", 4, (), "2026-11-23")])
    pad.apply_hello(hello(day="2026-11-24"), now=5)
    assert not pad.outbox and len(pad.lost) == 3
    assert pad.lost_day() == ("2026-11-22", [older])
    pad.reported("2026-11-22")
    assert pad.lost_day() == ("2026-11-23", [bad, Rating("A013", 4, (), "2026-11-23")])
    pad.apply_hello(hello(day="2026-11-24"), now=6)   # a reconnection loses nothing more
    assert len(pad.lost) == 2
    pad.reported("2026-11-23")
    assert pad.lost == []


def test_a_window_event_moves_idle_and_called_but_not_a_prompt(pad):
    pad.apply_event(window_event(current="A020"), now=0)     # e.g. the snapshot of a reconnect
    assert pad.screen == "called" and pad.call_text(0) == "正在为 A020 号办理"
    pad.apply_event(window_event(current=None), now=1)
    assert pad.screen == "idle"
    pad.apply_event(requested("A020"), now=2)
    pad.apply_event(window_event(clerk=LI, current=None), now=3)   # B post takes over meanwhile
    assert pad.screen == "prompt" and pad.prompt.clerk == ZHANG and pad.clerk == LI


def test_ratings_of_another_day_are_dropped_at_hello_and_survive_json():
    model = PadModel()
    kept = Rating("A001", 2, ("服务态度不好",), "2026-11-23")
    old = Rating("A009", 5, (), "2026-11-22")
    model.outbox.extend([old, kept, Rating("A002", None)])
    model.apply_hello(hello(), now=0)                 # e.g. a pad restarted with its saved outbox
    assert list(model.outbox) == [kept, Rating("A002", None)]
    assert model.lost == [old]                        # not stored: reported as lost
    assert Rating.from_json(kept.to_json()) == kept
    with pytest.raises(ValueError):
        Rating.from_json({"ticket": "A001", "score": 9})


def test_surname_post_and_photo_rules(tmp_path):
    assert surname("张敏") == "张" and surname("欧阳娜娜") == "欧阳" and surname("欧阳") == "欧"
    assert surname("  ") == "?"
    assert post_text("B") == "B岗" and post_text(None) == ""
    photo = tmp_path / "zhang.jpg"
    photo.write_bytes(b"not really a jpeg")
    by_badge = tmp_path / "1002.png"
    by_badge.write_bytes(b"x")
    assert photo_path(str(photo), "1001", None) == photo                 # an absolute path
    assert photo_path("zhang.jpg", "1001", tmp_path) == photo            # relative to --photos
    assert photo_path("", "1002", tmp_path) == by_badge                  # named after the badge
    assert photo_path("", "1001", tmp_path) is None
    assert photo_path("missing.jpg", "1001", tmp_path) is None
    assert photo_path("http://example.org/a.jpg", "1001", None) is None  # no downloads
    text = tmp_path / "notes.txt"
    text.write_text("x")
    assert photo_path(str(text), "1001", None) is None                   # not an image file


def test_a_ticket_finished_while_the_pad_was_away_is_asked_for_on_hello(pad):
    away = {**hello(), "awaiting": {"ticket": "A014", "clerk": ZHANG, "finished_at": "…"}}
    pad.apply_hello(away, now=10)
    assert pad.screen == "prompt" and pad.prompt.ticket == "A014"
    pad.choose(5, now=11)
    pad.apply_hello(away, now=12)   # rated, not sent yet: not asked again
    assert pad.screen != "prompt" and [r.ticket for r in pad.outbox] == ["A014"]


def test_the_pad_offers_the_halls_names_for_the_levels():
    model = PadModel()
    named = hello()
    named["snapshot"]["hall"]["rating_levels"] = [[5, "很满意"], [4, "满意"], [3, "一般"],
                                                  [2, "不满意"], [1, "很不满意"]]
    model.apply_hello(named, now=0)
    assert model.levels[0] == (5, "很满意") and model.level_name(1) == "很不满意"
    model.apply_event(requested("A001"), now=1)
    model.choose(3, now=2)
    assert model.thanks_text() == "您的评价：一般"
