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

from datetime import date

import streamlit as st

from procmine import ImprovementItem, ProcmineError, User
from procmine.dashboard import data, session
from procmine.dashboard.components import improve_actions, improve_item
from procmine.dashboard.components import improve_widgets as iw
from procmine.dashboard.components.text import plain
from procmine.dashboard.session import lang, tr


def _pick(user: User) -> ImprovementItem | None:
    """The item of the address (``?item=``), else one picked among those the user may see."""
    raw = st.query_params.get("item")
    if raw:
        try:
            return data.improvement(int(raw), user)
        except (ValueError, ProcmineError) as exc:
            st.error(tr("improve.item.missing", id=plain(raw), message=plain(session.error(exc))))
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
                          f"{by_id[i].subject.summary_in(language)}",
                          placeholder=tr("widgets.no_options"))
    return by_id.get(int(chosen)) if chosen is not None else None


user = session.guard(__file__)
st.title(tr("improve.item.title"))
iw.show_flash()
st.page_link(iw.REGISTER_PAGE, label=tr("improve.item.back"), icon=":material/arrow_back:")
item = _pick(user)
if item is None:
    st.stop()
today = date.today()
improve_item.show_header(item, today)
left, right = st.columns([3, 2])
with left:
    improve_item.show_evidence(item)
    improve_item.show_effect(item)
with right:
    improve_item.show_details(item)
    improve_item.show_links(user, item)
improve_actions.show_actions(user, item)
improve_item.show_history(item)
