"""Draws the end-to-end benchmark's timeline (bench/src/chart.rs runs this).

Usage: chart.py TIMELINE.csv OUT.png TITLE PASS_DONE_S END_S

Top: records/s published by the producer (confirmed by the broker) and written by the workers
(committed), each over a 1 s window centred on the sample. Bottom: the work queue's depth in
messages (100 records each) and, on the right axis, the target table's row count (sampled every
2 s). The dashed lines mark the end of the producer's pass and the last commit.
"""

import csv
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def rates(t, counts, window=1.0):
    """Records/s over a window centred on each sample (no lag behind the events)."""
    out = []
    lo = hi = 0
    for i in range(len(t)):
        while t[i] - t[lo] > window / 2:
            lo += 1
        while hi + 1 < len(t) and t[hi + 1] - t[i] <= window / 2:
            hi += 1
        dt = t[hi] - t[lo]
        out.append((counts[hi] - counts[lo]) / dt if dt > 0 else 0.0)
    return out


def main():
    path, out, title, pass_done, end = sys.argv[1:6]
    pass_done, end = float(pass_done), float(end)
    rows = list(csv.DictReader(open(path)))
    t = [float(r["t_s"]) for r in rows]
    depth = [int(r["queue_messages"]) for r in rows]
    published = [float(r["published"]) if r["published"] != "NaN" else 0.0 for r in rows]
    written = [float(r["written"]) if r["written"] != "NaN" else 0.0 for r in rows]
    counted = [(float(r["t_s"]), int(r["table_rows"])) for r in rows if r["table_rows"]]

    fig, (top, bottom) = plt.subplots(2, 1, figsize=(11, 7), sharex=True,
                                      gridspec_kw={"height_ratios": [3, 2]})
    top.plot(t, [r / 1000 for r in rates(t, published)], label="published (broker-confirmed)",
             color="tab:blue", linewidth=1.2)
    top.plot(t, [r / 1000 for r in rates(t, written)], label="written (MySQL commits)",
             color="tab:green", linewidth=1.6)
    top.set_ylabel("thousand records / s (1 s centred window)")
    top.set_title(title, fontsize=11)
    top.grid(alpha=0.3)
    top.legend(loc="upper right")

    bottom.fill_between(t, depth, step="post", color="tab:orange", alpha=0.35)
    bottom.plot(t, depth, drawstyle="steps-post", color="tab:orange", linewidth=1.0,
                label="work queue depth (ready messages, 100 records each)")
    bottom.set_ylabel("messages")
    rows_axis = bottom.twinx()
    rows_axis.plot([c[0] for c in counted], [c[1] / 1000 for c in counted], "o", markersize=3,
                   color="tab:green", label="rows in the table (COUNT(*), every 2 s)")
    rows_axis.set_ylabel("thousand rows in the table")
    # Headroom above both series keeps the legend clear of the data.
    rows_axis.set_ylim(0, max([c[1] / 1000 for c in counted] + [1]) * 1.45)
    handles = bottom.get_legend_handles_labels()
    more = rows_axis.get_legend_handles_labels()
    bottom.legend(handles[0] + more[0], handles[1] + more[1], loc="upper left", fontsize=9)
    bottom.set_xlabel("seconds since the producer started")
    bottom.grid(alpha=0.3)

    for ax in (top, bottom):
        ax.axvline(pass_done, color="grey", linestyle="--", linewidth=1)
        ax.axvline(end, color="black", linestyle="--", linewidth=1)
    top.annotate("producer pass done", (pass_done, top.get_ylim()[1] * 0.95),
                 rotation=90, va="top", ha="right", fontsize=8, color="grey")
    top.annotate("last commit", (end, top.get_ylim()[1] * 0.95),
                 rotation=90, va="top", ha="right", fontsize=8)
    bottom.set_ylim(0, max(depth + [1]) * 1.45)
    bottom.set_xlim(0, max(t[-1], end + 1) if t else end + 1)
    fig.tight_layout()
    fig.savefig(out, dpi=110)


if __name__ == "__main__":
    main()
