"""Monthly announcement (operations): every teller's volume, errors and speed, ranked fairly
within the branch and across branches, with the month's spot checks per teller, and Excel and
printable downloads. The month is the shared period's (the latest when the whole period is
chosen elsewhere)."""

from __future__ import annotations

import streamlit as st

from procmine import add_spot_checks, error_prior, spot_check_summary
from procmine.dashboard import data, session
from procmine.dashboard.components import charts, columns, period, tables
from procmine.dashboard.components.text import plain
from procmine.dashboard.session import lang, tr

#: The league's columns shown by default: the ranking, read across the page at 1280 px.
LEAGUE_SHORT = ("rank_overall", "teller_id", "branch_id", "transactions", "error_rate",
                "error_rate_shrunk", "speed_index_shrunk", "rank_change")

session.guard(__file__)
st.title(tr("nav.announcement"))
months = data.months()
if not months:
    st.info(tr("overview.empty_store"))
    st.stop()
month = period.choose(st.container(), whole=False) or months[0]   # a league is of one month
period.show_caption(month)
league = add_spot_checks(data.league(month),
                         spot_check_summary(month, home=data.store().home))
st.caption(tr("announcement.caption"))
if unranked := int((~league["ranked"]).sum()):
    st.caption(tr("announcement.not_ranked", count=unranked,
                  min=league.attrs.get("method", {}).get("min_transactions")))
prior = error_prior(league)
if prior["bank_error_rate"] is not None:   # raw and corrected error rates side by side
    bank = f"{prior['bank_error_rate']:.2%}"
    st.caption(tr("errors.caption_pooled", bank=bank) if prior["prior_weight"] is None else
               tr("errors.caption", bank=bank, weight=f"{prior['prior_weight']:,.0f}",
                  median=f"{prior['median_transactions']:,.0f}",
                  share=f"{prior['own_share']:.0%}"))
branches = [tr("filters.all"), *sorted(league["branch_id"].dropna().unique())]
branch = st.radio(tr("filters.branch"), branches, horizontal=True, key="announcement_branch",
                  format_func=plain)
shown = league if branch == branches[0] else league[league["branch_id"] == branch]
table_tab, chart_tab = st.tabs([tr("announcement.table"), tr("announcement.chart")])
with table_tab:   # the ranking's columns fit the page; the others on demand (it scrolls)
    names = [*(c for c in LEAGUE_SHORT if c in shown.columns),
             *(c for c in shown.columns if c not in LEAGUE_SHORT)]
    tables.show(shown[names], columns.league_config(names), keys=["rank_overall", "teller_id"],
                extra=names[len(LEAGUE_SHORT):], extra_key="announcement_all_columns",
                height=min(38 * (len(shown) + 1), 720))
with chart_tab:
    st.caption(tr("announcement.chart_caption"))
    st.plotly_chart(charts.league_speed(shown, {
        "raw": tr("announcement.raw_index"), "ranked": tr("announcement.ranked_index"),
        "speed": tr("my_figures.speed_index"), "standard": tr("overview.standard_time"),
        "transactions": tr("table.transactions")}), width="stretch")
left, right = st.columns(2)
# the files are made when a button is pressed (Streamlit calls the function then), not on every
# run of the page
shown_lang = lang()
left.download_button(tr("announcement.download_excel"),
                     lambda: data.league_export(month, shown_lang, "xlsx"),
                     file_name=f"league-{month}.xlsx", key="league_xlsx", on_click="ignore",
                     mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
right.download_button(tr("announcement.download_html"),
                      lambda: data.league_export(month, shown_lang, "html"),
                      file_name=f"league-{month}.html", mime="text/html", key="league_html",
                      on_click="ignore")
