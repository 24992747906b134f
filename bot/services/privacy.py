"""Which messages "clear chat" asks Telegram to delete.

In a private chat the user's and the bot's messages share one sequence of ids, and Telegram lets
the bot delete both while they are under 48 hours old; deleteMessages skips ids it cannot find.
So the bot needs no record of what it sent or when the person first wrote: it deletes a range of ids
back from the newest one it has seen (nothing about the chat is stored for this).
"""

from __future__ import annotations

DELETE_BATCH = 100  # deleteMessages takes at most 100 ids
AFTER_MARGIN = 30  # ids after the last one seen: replies the bot sent after it
# Ids reached back from the last one seen: more than two days of a conversation with the bot (a long
# help request is about 30 messages). Bounds the calls one press makes (15).
BACK = 1_400


def ids_to_clear(last_seen_id: int) -> list[list[int]]:
    """Batches of message ids, newest first (what is on screen goes first), from just past the last
    one seen back BACK ids."""
    last = last_seen_id + AFTER_MARGIN
    first = max(1, last_seen_id - BACK)
    ids = list(range(last, first - 1, -1))
    return [ids[i : i + DELETE_BATCH] for i in range(0, len(ids), DELETE_BATCH)]
