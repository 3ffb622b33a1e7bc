"""The day simulator (`bench/simulate_day.py`): a seeded behaviour model of a hall's day (`model`),
the people of the hall as step-by-step agents over it (`agents`), what the simulator saw
(`summary`), and two drivers that run the same agents: in process against `HallService`
(`direct`) and through a real server over the WebSocket protocol (`protocol`).
"""
