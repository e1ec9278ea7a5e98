"""``day_table``: one row per day saying whether the day is whole (DESIGN.md).

Row key ``<dt>``; ``data:complete`` is ``1`` when every configured instance finished the day
(its collection reached the end of the day: ``state/mastodon/instance=<d>/days/dt=<day>.json``
says ``complete``), else ``0``; ``data:statuses`` the curated statuses of the day (the sum of the
languages aggregates: every curated status has exactly one language); ``data:instances`` a JSON
object per instance: statuses its raw partition holds, its state, and why when not complete. A
configured instance without a state for the day (it failed before its domain was known, or was
never run) shows as ``not collected``.
"""
from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field

from datalake.lake import LakeLayout, list_names, read_json

COMPLETE = "complete"
NOT_COLLECTED = "not collected"


@dataclass(frozen=True)
class DayRow:
    day: dt.date
    complete: bool
    statuses: int
    instances: dict = field(default_factory=dict)  # instance -> {"statuses", "state"[, "reason"]}

    def cells(self) -> dict[bytes, bytes]:
        return {b"data:complete": b"1" if self.complete else b"0",
                b"data:statuses": str(self.statuses).encode(),
                b"data:instances": json.dumps(self.instances, sort_keys=True, separators=(",", ":")).encode("utf-8")}

    @property
    def why_incomplete(self) -> list[str]:
        return [f"{name}: {entry['state']}" + (f" ({entry['reason']})" if entry.get("reason") else "")
                for name, entry in sorted(self.instances.items()) if entry["state"] != COMPLETE]

    def to_dict(self) -> dict:
        return {"day": self.day.isoformat(), "complete": self.complete, "statuses": self.statuses,
                "instances": self.instances}


def day_row(day: dt.date, configured: list[str], states: list[dict], statuses: int) -> DayRow:
    """The row of ``day`` from the instances configured (base URLs) and their collection states."""
    by_url = {state.get("base_url", "").rstrip("/"): state for state in states}
    instances = {}
    for url in configured:
        state = by_url.get(url.rstrip("/"))
        if state is None:
            instances[url] = {"statuses": 0, "state": NOT_COLLECTED}
            continue
        entry = {"statuses": int(state.get("statuses", 0)), "state": state["state"]}
        if state.get("reason"):
            entry["reason"] = state["reason"][:300]
        instances[state.get("instance") or url] = entry
    complete = bool(instances) and all(entry["state"] == COMPLETE for entry in instances.values())
    return DayRow(day, complete, statuses, instances)


def collection_states(client, lake: LakeLayout, day: dt.date) -> list[dict]:
    """Every instance's collection state of ``day`` found in the lake."""
    states = []
    for name in list_names(client, lake.collection_state_root):
        if name.startswith("instance="):
            state = read_json(client, lake.collection_day_state(name.split("=", 1)[1], day))
            if isinstance(state, dict) and "state" in state:
                states.append(state)
    return states


