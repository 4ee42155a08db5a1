"""The audit trail (operations): sign-ins, user changes and every SOP action, newest first."""

from __future__ import annotations

import streamlit as st

from procmine import default_home, display_name, list_audit
from procmine.dashboard import session
from procmine.dashboard.components import tables
from procmine.dashboard.session import lang, tr

session.guard(__file__)
st.title(tr("audit.title"))
st.caption(tr("audit.caption"))
rows = list_audit(default_home(), limit=5000)
users = sorted({r.username for r in rows})


def action_name(code: str) -> str:
    """An action's display name in the user's language (the code where it has none)."""
    return display_name("audit.action", code, lang())


actions = sorted({r.action for r in rows}, key=lambda a: (action_name(a), a))
left, middle, right = st.columns([2, 2, 1])
user = left.selectbox(tr("audit.user"), [None, *users], key="audit_user",
                      format_func=lambda u: tr("audit.everyone") if u is None else u,
                      placeholder=tr("widgets.no_options"))
action = middle.selectbox(tr("audit.action"), [None, *actions], key="audit_action",
                          format_func=lambda a: tr("audit.every_action") if a is None
                          else action_name(a), placeholder=tr("widgets.no_options"))
limit = right.number_input(tr("audit.limit"), min_value=10, max_value=5000, value=200, step=50,
                           key="audit_limit")
shown = [r for r in rows if (user is None or r.username == user)
         and (action is None or r.action == action)][: int(limit)]
if not shown:
    st.info(tr("audit.none"))
else:
    # the action by its name; its code (what the command line's --action takes) last
    tables.show(
        [{tr("audit.at"): r.at.strftime("%Y-%m-%d %H:%M:%S"), tr("audit.user"): r.username,
          tr("audit.action"): action_name(r.action), tr("audit.detail"): r.detail,
          tr("audit.code"): r.action} for r in shown],
        height=min(600, 40 + 35 * len(shown)),
    )
    st.caption(tr("audit.count", shown=len(shown), total=len(rows)))
