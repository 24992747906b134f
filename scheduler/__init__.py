"""APScheduler jobs and the outbox sender (from the coordinator issues on)."""
