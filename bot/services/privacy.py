"""Which messages "clear chat" asks Telegram to delete.

In a private chat the user's and the bot's messages share one sequence of ids, and Telegram lets
the bot delete both while they are under 48 hours old; deleteMessages skips ids it cannot find.
So the bot needs no record of what it sent: it deletes the id range of the current 48-hour window.
"""

from __future__ import annotations

DELETE_BATCH = 100  # deleteMessages takes at most 100 ids
MAX_IDS = 2_000  # a bound on the calls one press can make
AFTER_MARGIN = 30  # ids after the last one seen: replies the bot sent after it
# Ids reached back from the last one seen, whatever the window says: after /forget or when a new
# 48-hour window has just begun, messages of the previous hours are still on screen and deletable.
ALWAYS_BACK = 500


def ids_to_clear(first_id: int | None, last_seen_id: int) -> list[list[int]]:
    """Batches of message ids from the window's first message to just past the last one seen."""
    last = last_seen_id + AFTER_MARGIN
    first = max(1, min(first_id or last_seen_id, last_seen_id - ALWAYS_BACK), last - MAX_IDS + 1)
    ids = list(range(last, first - 1, -1))  # newest first: what is on screen goes first
    return [ids[i : i + DELETE_BATCH] for i in range(0, len(ids), DELETE_BATCH)]
