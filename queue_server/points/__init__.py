"""Village points (村便民服务站, 代办点) and their town (issue 18, docs/points.md).

A point is one room with one PC and an unreliable link. It runs a small server of its own on its
own SQLite (`queue-server point serve`) with the agent's page (`/point`): no queue, a ledger that
never loses a case (一事一记). The point's log travels up to the town's server and the town's
answers travel down, each entry once and in order, whenever the link is there.

- `ledger`: the entries, the written rules, and the fold both sides share;
- `enrolment`: the one-time code that makes a PC a town's point;
- `point_store`: the point's own database (its log is its outbox);
- `point_page`: what the agent's page sees and may send (pure);
- `point_server`: the point's own server, and what the sync calls of it;
- `sync`: the link between a point and its town, both ends (the town's storage is
  `queue_server.store.point_logs`).
"""
