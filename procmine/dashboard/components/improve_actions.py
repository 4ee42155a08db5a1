"""The improvement item page's actions, as the library allows the user's role
(:func:`procmine.can_act_on_item`): the item's review group and operations accept (with the
decision) or reject (with a note), start, mark done on the day the change took effect
(re-measured at once), propose again, try again, assign, link an SOP revision, and re-measure;
a trainer links papers and spot checks. A refusal shows as an error, never a traceback."""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import date

import streamlit as st

from procmine import (
    IMPROVEMENT_DECISIONS,
    REVIEW_GROUPS,
    ImprovementItem,
    ProcmineError,
    User,
    can_act_on_item,
    link_improvement,
    list_papers,
    list_spot_checks,
    set_improvement_status,
    update_improvement,
)
from procmine.dashboard import data
from procmine.dashboard.components import improve_widgets as iw
from procmine.dashboard.components.text import plain
from procmine.dashboard.session import error, lang, tr

__all__ = ["show_actions"]

_MOVE_LABELS = {"accepted": "improve.act.accept", "rejected": "improve.act.reject",
                "in_progress": "improve.act.start", "done": "improve.act.done",
                "proposed": "improve.act.reopen"}


def _run(action: Callable[[], ImprovementItem], message: Callable[[ImprovementItem], str]) -> None:
    """Do one register action; on success keep its message and draw the page again."""
    try:
        done = action()
    except ProcmineError as exc:
        st.error(tr("common.error", message=plain(error(exc))))
        return
    iw.flash("success", message(done))
    st.rerun()


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
                                    key=iw.lang_key(f"item_decision_{item.id}"),
                                    placeholder=tr("widgets.no_options"))
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
                             key=iw.lang_key(f"item_group_{item.id}"),
                             placeholder=tr("widgets.no_options"))
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
                            index=ids.index(own) if own in ids else 0,
                            placeholder=tr("widgets.no_options"))
    offered = list(reversed(versions.get(str(sop), [])))
    version = cols[1].selectbox(tr("improve.act.version"), offered,
                                key=f"item_sop_version_{item.id}_{sop}",
                                placeholder=tr("widgets.no_options"))
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
                               key=f"item_{kind}_{item.id}", placeholder=tr("widgets.no_options"))
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


def show_actions(user: User, item: ImprovementItem) -> None:
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
