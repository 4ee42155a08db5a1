"""Overview page (placeholder until the dashboard shell lands): what is in the store."""

from __future__ import annotations

import streamlit as st

from procmine.dashboard import data

st.title("procmine · 柜面流程挖掘 / Counter process mining")
info = data.store_info()
if info["events"] == 0:
    st.info("存储为空 / The store is empty: run `procmine ingest FILE` or `make run`.")
else:
    cols = st.columns(4)
    cols[0].metric("事件 / Events", f"{info['events']:,}")
    cols[1].metric("交易 / Transactions", f"{info['cases']:,}")
    cols[2].metric("柜员 / Tellers", f"{info['tellers']:,}")
    cols[3].metric("网点 / Branches", f"{info['branches']:,}")
    st.caption(
        f"期间 / Period: {info['first_event']} — {info['last_event']} · "
        f"业务类型 / Business types: {info['business_types']} · "
        f"导入批次 / Ingests: {info['batches']}"
    )
    reasons = data.quarantine_summary()
    st.subheader("数据质量 / Data quality")
    if reasons:
        st.bar_chart(reasons, horizontal=True)
    else:
        st.success("没有隔离的行 / No quarantined rows.")
