// What tests/test_browser_layout.py reads from a dashboard page: its tables' grids and its
// Plotly charts' legends and tick labels, as plain numbers (the test decides).
// A table (glide data grid) fits when its scroller needs no horizontal scrolling: the grid's
// scrollWidth is the width of all its columns, clientWidth the width it is shown in. A table
// not shown (a closed expander, another tab) is left out: Streamlit draws no grid there.
() => {
  const box = (e) => {
    const r = e.getBoundingClientRect();
    return { l: r.left, t: r.top, r: r.right, b: r.bottom, w: r.width, h: r.height };
  };
  const grids = [...document.querySelectorAll('[data-testid="stDataFrame"]')].map((el, i) => {
    const scroller = el.querySelector(".dvn-scroller");
    const headers = [...el.querySelectorAll('[role="columnheader"]')]
      .map((h) => (h.textContent || "").trim()).filter((t) => t);
    const r = el.getBoundingClientRect();
    return {
      index: i,
      shown: el.offsetParent !== null && r.width > 0 && r.height > 0
        && !el.closest("details:not([open])") && el.checkVisibility(),
      ready: scroller !== null,
      scrollWidth: scroller ? scroller.scrollWidth : 0,
      clientWidth: scroller ? scroller.clientWidth : 0,
      headers: headers.slice(0, 12),
    };
  });
  const tickClass = /^[xy]\d*tick$/;
  const charts = [...document.querySelectorAll(".js-plotly-plot")].map((el, i) => {
    const legend = el.querySelector("g.legend");
    const ticks = [...el.querySelectorAll("g")]
      .filter((g) => [...g.classList].some((c) => tickClass.test(c)))
      .flatMap((g) => [...g.querySelectorAll("text")])
      .filter((t) => (t.textContent || "").trim() !== "")
      .map((t) => ({ ...box(t), text: (t.textContent || "").trim(), axis: t.closest("g").getAttribute("class") }));
    const legendBox = legend ? box(legend) : null;
    return {
      index: i,
      ready: el.querySelector(".main-svg") !== null,
      legend: legendBox && legendBox.w > 0 && legendBox.h > 0 ? legendBox : null,
      ticks: ticks.filter((t) => t.w > 0 && t.h > 0),
    };
  });
  const errors = document.querySelectorAll('[data-testid="stException"]').length;
  return { grids, charts, errors };
}
