"""One improvement item (operations, reviewers, branch managers, trainers), opened by its
address (``?item=<id>``) or picked: its summary and status, the frozen evidence (the finding's or
the shortfall's figures as they were when the item was opened), the decision and who owns it,
what it links to, its history, and its before and after once re-measured.

What the user may do is the library's rule (:func:`procmine.can_act_on_item`): the item's review
group and operations decide, move, assign and link; a trainer links papers and spot checks; the
others read. Marking an item done re-measures it at once. A refusal shows as an error, never a
traceback.
"""

from __future__ import annotations

import ast
import functools
import math
from collections.abc import Callable
from datetime import date
from typing import Any

import pandas as pd
import streamlit as st

from procmine import (
    IMPROVEMENT_DECISIONS,
    REVIEW_GROUPS,
    ImprovementItem,
    ProcmineError,
    User,
    can_act_on_item,
    finding_of,
    link_improvement,
    list_papers,
    list_spot_checks,
    set_improvement_status,
    update_improvement,
)
from procmine.dashboard import data, session
from procmine.dashboard.components import finding_widgets
from procmine.dashboard.components import improve_widgets as iw
from procmine.dashboard.components.text import plain
from procmine.dashboard.session import lang, tr

_MOVE_LABELS = {"accepted": "improve.act.accept", "rejected": "improve.act.reject",
                "in_progress": "improve.act.start", "done": "improve.act.done",
                "proposed": "improve.act.reopen"}
_UNITS = {"step": "seconds", "wait": "seconds", "revision_effect": "seconds", "pace": "ratio",
          "standard": "ratio", "service_level": "share"}


def _pick(user: User) -> ImprovementItem | None:
    """The item of the address (``?item=``), else one picked among those the user may see."""
    raw = st.query_params.get("item")
    if raw:
        try:
            return data.improvement(int(raw), user)
        except (ValueError, ProcmineError) as exc:
            st.error(tr("improve.item.missing", id=plain(raw), message=plain(str(exc))))
            return None
    items = data.improvement_items(user)
    if not items:
        st.info(tr("improve.item.none"))
        return None
    by_id = {i.id: i for i in items}
    language = lang()
    chosen = st.selectbox(tr("improve.item.pick"), list(by_id), key=iw.lang_key("item_pick"),
                          format_func=lambda i: f"#{i} · "
                          f"{iw.status_label(by_id[i].status, language)} · "
                          f"{by_id[i].subject.summary_in(language)}")
    return by_id.get(int(chosen)) if chosen is not None else None


def _run(action: Callable[[], ImprovementItem], message: Callable[[ImprovementItem], str]) -> None:
    """Do one register action; on success keep its message and draw the page again."""
    try:
        done = action()
    except ProcmineError as exc:
        st.error(tr("common.error", message=plain(str(exc))))
        return
    iw.flash("success", message(done))
    st.rerun()


# -- reading -----------------------------------------------------------------------------------


def _header(item: ImprovementItem, today: date) -> None:
    st.subheader(plain(tr("improve.item.heading", id=item.id,
                          summary=item.subject.summary_in(lang()))))
    iw.status_badge(item)
    if item.overdue(today) and item.due_on is not None:
        st.warning(tr("improve.item.overdue", days=iw.overdue_days(item, today),
                      due=item.due_on.isoformat()), icon=":material/schedule:")
    if item.regression is not None:
        text = item.regression.get("text") or ""
        text = text.get(lang(), "") if isinstance(text, dict) else text
        at = item.regression_at.date().isoformat() if item.regression_at else ""
        st.error(tr("improve.item.regression", at=at, text=plain(text)),
                 icon=":material/trending_up:")


def _seconds(value: Any) -> str:
    if not isinstance(value, int | float) or not math.isfinite(value):
        return tr("improve.item.none_value")
    return tr("improve.fig.seconds", value=f"{value:,.0f}")


def _finding_evidence(item: ImprovementItem) -> None:
    finding = finding_of(item.subject)
    cols = st.columns(5)
    interval = (f"{finding.ratio_ci[0]:.2f}–{finding.ratio_ci[1]:.2f}"
                if finding.ratio_ci is not None else None)
    cols[0].metric(tr("improve.fig.ratio"), f"{finding.ratio:.2f}", delta=interval,
                   delta_color="off", delta_arrow="off", help=tr("improve.fig.ratio_ci"))
    cols[1].metric(tr("improve.fig.median"), _seconds(finding.median_seconds))
    cols[2].metric(tr("improve.fig.reference"), _seconds(finding.reference_seconds))
    cols[3].metric(tr("improve.fig.cases"), f"{finding.cases:,}")
    cols[4].metric(tr("improve.fig.hours"), f"{item.subject.hours_per_month:,.1f}")
    st.caption(plain(" · ".join((finding_widgets.kind_label(finding.kind),
                                 finding_widgets.who_label(finding),
                                 finding_widgets.what_label(finding, data.baseline())))))


def _shortfall_evidence(item: ImprovementItem) -> None:
    figures = item.subject.figures
    cols = st.columns(4)
    cols[0].metric(tr("improve.fig.branch"), plain(figures.get("branch_id")))
    weekday = figures.get("weekday")
    cols[1].metric(tr("improve.fig.weekday"),
                   tr(f"improve.weekday.{weekday}") if weekday else "")
    cols[2].metric(tr("improve.fig.window"), f"{figures.get('start')}–{figures.get('end')}")
    cols[3].metric(tr("improve.fig.counters"), str(figures.get("counters", "")))


def _evidence(item: ImprovementItem) -> None:
    """The frozen figures: the key ones as metrics, every one in a table folded away."""
    st.markdown(f"**{tr('improve.item.evidence')}**")
    subject = item.subject
    if subject.source == "finding":
        _finding_evidence(item)
    else:
        _shortfall_evidence(item)
    st.caption(tr("improve.item.as_of",
                  date=subject.as_of.isoformat() if subject.as_of else "",
                  version=plain(subject.store_version), who=plain(item.created_by),
                  at=f"{item.created_at:%Y-%m-%d %H:%M}"))
    with st.expander(tr("improve.item.evidence")):
        rows = [{"": str(k), " ": "" if v is None else str(v)}
                for k, v in subject.figures.items()
                if not isinstance(v, dict | list)]
        st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")


def _details(item: ImprovementItem) -> None:
    st.markdown(f"**{tr('improve.item.details')}**")
    none = tr("improve.item.none_value")
    lines = [
        ("improve.item.decision", iw.decision_label(item.decision)
         or tr("improve.item.undecided")),
        ("improve.item.reason", plain(item.decision_reason) or none),
        ("improve.item.cause", iw.cause_label(item.cause)),
        ("improve.item.proposed_change", plain(item.proposed_change) or none),
        ("improve.item.branch_action", plain(item.branch_action) or none),
        ("improve.item.group", iw.group_label(item.review_group)),
        ("improve.item.owner", plain(item.owner) or none),
        ("improve.item.due", item.due_on.isoformat() if item.due_on else none),
        ("improve.item.changed_on", item.changed_on.isoformat() if item.changed_on else none),
    ]
    left, right = st.columns(2)
    for i, (key, value) in enumerate(lines):
        (left if i < 5 else right).markdown(f"{tr(key)}：{value}" if lang() == "zh-CN"
                                            else f"{tr(key)}: {value}")


def _links(user: User, item: ImprovementItem) -> None:
    st.markdown(f"**{tr('improve.item.links')}**")
    if not item.links:
        st.caption(tr("improve.item.no_links"))
    for link in item.links:
        st.markdown("- " + tr("improve.item.link_line", kind=tr(f"improve.link.{link.kind}"),
                              ref=plain(link.ref), who=plain(link.added_by),
                              at=f"{link.at:%Y-%m-%d}"))
    revision = item.sop_revision()
    if revision is not None and iw.can_open_page(user, "sop_history.py"):
        st.page_link(iw.page_path("sop_history.py"), icon=":material/history:",
                     label=tr("improve.item.sop_history", sop=plain(revision[0])))


def _note(note: str) -> str:
    """A history note; a re-measurement's or a regression's (its line in each language, kept as
    the mapping's text) in the user's language."""
    if note.startswith("{") and note.endswith("}"):
        try:
            lines = ast.literal_eval(note)
        except (ValueError, SyntaxError):
            return note
        if isinstance(lines, dict):
            return str(lines.get(lang()) or lines.get("en") or note)
    return note


def _history(item: ImprovementItem) -> None:
    st.markdown(f"**{tr('improve.item.history')}**")
    names = {k: tr(f"improve.hist.{k}") for k in ("at", "who", "action", "from", "to", "note")}
    frame = pd.DataFrame([{
        names["at"]: f"{e.at:%Y-%m-%d %H:%M}", names["who"]: e.username,
        names["action"]: tr(f"improve.action.{e.action}"),
        names["from"]: iw.status_label(e.from_status) if e.from_status else "",
        names["to"]: iw.status_label(e.to_status) if e.to_status else "",
        names["note"]: _note(e.note),
    } for e in reversed(item.events)], columns=list(names.values()))
    st.dataframe(frame, hide_index=True, width="stretch")


def _effect(item: ImprovementItem) -> None:
    """Before and after: the chart and the verdict once measured, else what it waits for."""
    st.markdown(f"**{tr('improve.item.effect')}**")
    m = item.measurement
    if m is None:
        if item.changed_on is not None:
            st.info(tr("improve.item.awaiting", date=item.changed_on.isoformat()))
        else:
            st.caption(tr("improve.item.not_done"))
        return
    unit = _UNITS.get(str(m.get("method")), "seconds")
    reference = {"seconds": item.subject.figures.get("reference_seconds"),
                 "ratio": 1.0}.get(unit)
    labels = {"reference": tr(f"improve.chart.reference_{unit}",
                              seconds=f"{reference or 0:,.0f}"),
              "axis": tr(f"improve.chart.axis_{unit}")}
    if isinstance(m.get("before"), dict) and isinstance(m.get("after"), dict):
        st.plotly_chart(iw.effect_chart(m, reference if isinstance(reference, int | float)
                                        else None, labels), width="stretch")
    verdict = m.get("verdict")
    text = m.get("text") or {}
    if isinstance(text, dict):
        st.markdown(plain(text.get(lang()) or text.get("en") or ""))
    p_value, change = m.get("p_value"), m.get("change")
    line = tr("improve.item.verdict_line",
              verdict=tr(f"improve.verdict.{verdict or 'none'}"),
              before=(m.get("before") or {}).get("n", 0), after=(m.get("after") or {}).get("n", 0),
              change=f"{change:+.1%}" if isinstance(change, int | float) else "–",
              p=f"{p_value:.3g}" if isinstance(p_value, int | float) else "–")
    (st.success if verdict == "verified" else st.warning if verdict else st.info)(line)
    if verdict is None and item.changed_on is not None:
        st.caption(tr("improve.item.awaiting", date=item.changed_on.isoformat()))
    st.caption(tr("improve.item.method", method=plain(m.get("method")),
                  date=plain(m.get("measured_through"))))


# -- acting ------------------------------------------------------------------------------------


def _moves(user: User, item: ImprovementItem) -> None:
    """The status moves open from here: accept (with the decision and its reason), reject
    (with a note), start, mark done (with the day the change took effect; re-measured at
    once), propose again, try again."""
    moves = [m for m in iw.MOVES.get(item.status, ())
             if not (m == "in_progress" and item.decision == "no_action")]
    if not moves:
        return
    with st.form(f"item_move_{item.id}"):
        decision, reason = item.decision, None
        if "accepted" in moves:
            options = list(IMPROVEMENT_DECISIONS)
            decision = st.selectbox(tr("improve.act.decision"), options,
                                    index=options.index(item.decision)
                                    if item.decision in options else 0,
                                    format_func=functools.partial(iw.decision_label,
                                                                  language=lang()),
                                    key=iw.lang_key(f"item_decision_{item.id}"))
            reason = st.text_input(tr("improve.act.reason"), value=item.decision_reason,
                                   key=f"item_reason_{item.id}")
        changed_on = None
        if "done" in moves:
            changed_on = st.date_input(tr("improve.act.changed_on"), value=date.today(),
                                       max_value=date.today(), key=f"item_changed_{item.id}")
        note = st.text_input(tr("improve.act.note"), key=f"item_note_{item.id}")
        cols = st.columns(len(moves) + 2)
        label = {**_MOVE_LABELS, "in_progress": "improve.act.retry"
                 if item.status == "not_effective" else "improve.act.start"}
        clicked = [m for i, m in enumerate(moves) if cols[i].form_submit_button(
            tr(label[m]), key=f"item_move_{m}", type="primary" if i == 0 else "secondary")]
    if not clicked:
        return
    status = clicked[0]

    def move() -> ImprovementItem:
        moved = set_improvement_status(
            item.id, status, user=user, note=note or "",
            decision=decision if status == "accepted" else None,
            decision_reason=reason if status == "accepted" else None,
            changed_on=changed_on if isinstance(changed_on, date) else None)
        if status == "done":
            data.remeasure([item.id])
            return data.improvement(item.id, user)
        return moved

    _run(move, lambda done: tr("improve.act.moved", id=done.id,
                               status=iw.status_label(done.status)))


def _assign(user: User, item: ImprovementItem) -> None:
    """The review group (operations only), the owner (the group's reviewers suggested), the
    due day and what the branch did itself (the escalation report says it)."""
    with st.expander(tr("improve.act.assign"), icon=":material/person_add:"):
        groups = list(REVIEW_GROUPS) if user.role == "operations" else [item.review_group]
        group = st.selectbox(tr("improve.form.group"), groups,
                             format_func=functools.partial(iw.group_label, language=lang()),
                             index=groups.index(item.review_group)
                             if item.review_group in groups else 0,
                             disabled=user.role != "operations",
                             key=iw.lang_key(f"item_group_{item.id}"))
        owners = iw.owners(str(group))
        if item.owner and item.owner not in owners:
            owners = [item.owner, *owners]
        with st.form(f"item_assign_{item.id}"):
            owner = st.selectbox(tr("improve.form.owner"), owners,
                                 index=owners.index(item.owner) if item.owner in owners
                                 else None, accept_new_options=True,
                                 placeholder=tr("improve.form.owner_placeholder"),
                                 key=f"item_owner_{item.id}_{group}")
            due = st.date_input(tr("improve.form.due"), value=item.due_on,
                                key=f"item_due_{item.id}")
            branch_action = st.text_input(tr("improve.form.branch_action"),
                                          value=item.branch_action,
                                          key=f"item_branch_action_{item.id}")
            submitted = st.form_submit_button(tr("improve.act.assign_submit"), type="primary")
    if submitted:
        _run(lambda: update_improvement(
            item.id, user=user,
            review_group=str(group) if user.role == "operations" else None,
            owner=str(owner or ""), due_on=due if isinstance(due, date) else None,
            branch_action=branch_action),
            lambda done: tr("improve.act.assigned" if len(done.events) > len(item.events)
                            else "improve.act.unchanged", id=done.id))


def _link_sop(user: User, item: ImprovementItem) -> None:
    versions = data.sop_versions()
    if not versions:
        st.caption(tr("improve.act.no_sops"))
        return
    ids = sorted(versions)
    own = item.subject.figures.get("sop")
    cols = st.columns([2, 1, 2], vertical_alignment="bottom")
    sop = cols[0].selectbox(tr("improve.act.sop"), ids, key=f"item_sop_{item.id}",
                            index=ids.index(own) if own in ids else 0)
    offered = list(reversed(versions.get(str(sop), [])))
    version = cols[1].selectbox(tr("improve.act.version"), offered,
                                key=f"item_sop_version_{item.id}_{sop}")
    if cols[2].button(tr("improve.act.link_sop_submit"), key=f"item_link_sop_{item.id}"):
        ref = f"{sop}@{version}"
        _run(lambda: link_improvement(item.id, "sop_revision", ref, user=user,
                                      known_versions=versions),
             lambda _: tr("improve.act.linked", kind=tr("improve.link.sop_revision"), ref=ref))


def _link_other(user: User, item: ImprovementItem, kind: str) -> None:
    """Link a paper or a spot check (by its number)."""
    home = data.store().home
    if kind == "paper":
        labels = {p.id: f"#{p.id} {p.title}" for p in list_papers(home=home)}
    else:
        labels = {c.id: f"#{c.id} {c.checked_on} {c.teller_id} {c.sop_id} {c.sop_version}"
                  for c in list_spot_checks(user=user, home=home)}
    if not labels:
        st.caption(tr(f"improve.act.no_{kind}s"))
        return
    cols = st.columns([4, 2], vertical_alignment="bottom")
    chosen = cols[0].selectbox(tr(f"improve.act.{kind}"), list(labels),
                               format_func=labels.__getitem__,
                               key=f"item_{kind}_{item.id}")
    if cols[1].button(tr(f"improve.act.link_{kind}_submit"), key=f"item_link_{kind}_{item.id}"):
        _run(lambda: link_improvement(item.id, kind, str(chosen), user=user),
             lambda _: tr("improve.act.linked", kind=tr(f"improve.link.{kind}"),
                          ref=f"#{chosen}"))


def _links_forms(user: User, item: ImprovementItem, may_act: bool) -> None:
    kinds = (["sop_revision"] if may_act else []) + ["paper", "spot_check"]
    with st.expander(tr("improve.act.link"), icon=":material/link:", expanded=may_act and
                     item.decision == "revise_sop" and item.sop_revision() is None):
        tabs = st.tabs([tr(f"improve.link.{k}") for k in kinds])
        for tab, kind in zip(tabs, kinds, strict=True):
            with tab:
                if kind == "sop_revision":
                    _link_sop(user, item)
                else:
                    _link_other(user, item, kind)


def _remeasure(user: User, item: ImprovementItem) -> None:
    if item.status not in ("done", "verified", "not_effective"):
        return
    if st.button(tr("improve.act.remeasure"), key=f"item_remeasure_{item.id}",
                 icon=":material/refresh:"):
        def again() -> ImprovementItem:
            data.remeasure([item.id])
            return data.improvement(item.id, user)

        _run(again, lambda done: tr("improve.act.measured", id=done.id,
                                    status=iw.status_label(done.status)))


def _actions(user: User, item: ImprovementItem) -> None:
    may_act = can_act_on_item(user, item.review_group)
    if not may_act and user.role != "trainer":
        st.caption(tr("improve.act.no_rights", group=iw.group_label(item.review_group)))
        return
    st.markdown(f"**{tr('improve.act.title')}**")
    if may_act:
        _moves(user, item)
        _assign(user, item)
    _links_forms(user, item, may_act)
    if may_act:
        _remeasure(user, item)


user = session.guard(__file__)
st.title(tr("improve.item.title"))
iw.show_flash()
st.page_link(iw.REGISTER_PAGE, label=tr("improve.item.back"), icon=":material/arrow_back:")
item = _pick(user)
if item is None:
    st.stop()
today = date.today()
_header(item, today)
left, right = st.columns([3, 2])
with left:
    _evidence(item)
    _effect(item)
with right:
    _details(item)
    _links(user, item)
_actions(user, item)
_history(item)
