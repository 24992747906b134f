"""The staff flows: one module (or small package) per flow, each with its keyboards, its dialog states and
its handlers, registered by the flow's `create_router()`. Who may use a flow is the router's gate
(`handlers/staff/access.py`); the services check role and scope again on every action."""
