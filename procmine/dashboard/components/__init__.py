"""What the pages share: Plotly figures (``charts``), column labels and formats (``columns``),
the sidebar filters (``filters``) and the SOP widgets (``sop_widgets``)."""
