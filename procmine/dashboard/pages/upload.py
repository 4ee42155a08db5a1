"""Upload (operations): ingest event-log files from the browser, with an optional mapping file,
and see the counts and the quarantine without leaving the page; drop a batch loaded by mistake
(audited as the signed-in user)."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from procmine import (
    ProcmineError,
    current_limits,
    drop_batch,
    ingest_log,
    list_batches,
    load_column_map,
    refresh_register,
    release_upload,
    save_upload,
    start_warm_up,
)
from procmine.dashboard import data, session
from procmine.dashboard.components import columns, downloads, tables
from procmine.dashboard.components.text import plain
from procmine.dashboard.session import tr


def _refresh_register() -> None:
    """After an ingest, re-measure the register's items done and look for regressions; say so
    when it changed anything. A failure here is a warning: the data is in."""
    try:
        with st.spinner(tr("upload.register_refreshing")):
            result = refresh_register(data.store().home, store=data.store(),
                                      baseline=data.baseline())
    except Exception as exc:  # the ingest succeeded whatever happens here
        st.warning(tr("upload.register_failed", message=plain(session.error(exc))))
        return
    if result.measured or result.regressions:
        st.info(tr("upload.register_refreshed", verified=len(result.verified),
                   not_effective=len(result.not_effective), regressions=len(result.regressions)))


user = session.guard(__file__)
st.title(tr("upload.title"))
st.caption(tr("upload.help"))

files = st.file_uploader(tr("upload.choose_files"), accept_multiple_files=True,
                         type=["csv", "txt", "tsv", "xes", "gz", "parquet", "xlsx"],
                         key="upload_files")
mapping_file = st.file_uploader(tr("upload.mapping"), type=["yaml", "yml"], key="upload_map",
                                help=tr("upload.mapping_file_help"))

if files and st.button(tr("upload.ingest"), type="primary", key="upload_go"):
    store = data.store()
    saved: list[Path] = []  # removed once their ingest has finished, loaded or refused
    current = None
    ingested = 0  # files loaded: the register is re-measured after them
    try:
        for upload in [*files, *([mapping_file] if mapping_file is not None else [])]:
            current_limits().check_upload(upload.name, upload.size)
        column_map = None
        if mapping_file is not None:
            current = mapping_file.name
            saved.append(save_upload(mapping_file.name, mapping_file.getvalue(), store.home))
            column_map = load_column_map(saved[-1])
        for upload in files:
            current = upload.name  # a refusal names the file as the user knows it
            path = save_upload(upload.name, upload.getvalue(), store.home)
            saved.append(path)
            bar = st.progress(0.0, text=tr("upload.progress", file=plain(upload.name),
                                           phase=tr("upload.phase.read")))

            def progress(phase: str, fraction: float, bar=bar, name=upload.name) -> None:
                text = tr("upload.progress", file=plain(name), phase=tr(f"upload.phase.{phase}"))
                bar.progress(min(max(fraction, 0.0), 1.0), text=text)

            report = ingest_log(store, path, column_map=column_map, baseline=data.baseline(),
                                progress=progress)
            ingested += 1
            bar.progress(1.0, text=tr("upload.done", file=plain(upload.name),
                                      read=f"{report.read:,}", loaded=f"{report.loaded:,}",
                                      quarantined=f"{report.quarantined:,}"))
            st.success(tr("upload.done", file=plain(upload.name), read=f"{report.read:,}",
                          loaded=f"{report.loaded:,}", quarantined=f"{report.quarantined:,}"))
            if report.blank_lines:
                st.caption(tr("upload.blank_lines", count=f"{report.blank_lines:,}"))
            if report.reasons:
                st.table(
                    [{tr("quality.reason"): tr(f"quality.reason.{r}"), tr("quality.rows"): n}
                     for r, n in report.reasons.items()],
                )
            if report.quarantine_file:
                quarantine = Path(report.quarantine_file)
                st.download_button(tr("upload.download_quarantine"),
                                   downloads.quarantine_csv(quarantine),
                                   file_name=quarantine.name, mime="text/csv",
                                   key=f"download_{report.batch_id}")
    except ProcmineError as exc:
        if current is not None and "file" in getattr(exc, "params", {}):
            exc.params["file"] = current
        st.error(tr("common.error", message=plain(session.error(exc))))
    finally:
        for path in saved:
            release_upload(path)
    if ingested:
        _refresh_register()
        if start_warm_up(store) is not None:
            st.caption(tr("upload.warming"))

st.subheader(tr("upload.history"))
history = data.ingest_history()
tables.show(history, columns.labels(history.columns, "history"))

st.subheader(tr("upload.drop_title"))
if "upload_dropped" in st.session_state:
    st.success(st.session_state.pop("upload_dropped"))
batches = {b.batch_id: b for b in reversed(list_batches(data.store()))}
if batches:

    def label(batch_id: str) -> str:
        b = batches[batch_id]
        return tr("upload.drop_option", batch=batch_id, source=Path(b.source).name,
                  at=b.ingested_at, loaded=f"{b.loaded:,}")

    chosen = st.selectbox(tr("upload.drop_choose"), list(batches), key="drop_batch",
                          format_func=label, placeholder=tr("widgets.no_options"))
    confirmed = st.checkbox(tr("upload.drop_confirm"), key="drop_confirm")
    if st.button(tr("upload.drop_button"), disabled=not confirmed, key="drop_go"):
        try:
            dropped = drop_batch(data.store(), chosen, user=user.username, wait=10)
        except ProcmineError as exc:
            st.error(tr("common.error", message=plain(session.error(exc))))
        else:
            start_warm_up(data.store())
            st.session_state["upload_dropped"] = tr(
                "upload.dropped", batch=dropped.batch_id, loaded=f"{dropped.loaded:,}")
            st.rerun()
else:
    st.caption(tr("upload.drop_none"))
