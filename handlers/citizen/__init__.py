"""The citizen flows: one module (or small package) per flow, each with its keyboards, its dialog states
and its handlers, registered by the flow's `create_router()`."""
