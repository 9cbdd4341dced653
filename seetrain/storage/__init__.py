"""The local store, in the order a point travels: ``journal`` (what ``log()`` appends to before it
returns), ``writer`` (the thread that moves journal records into the database), ``chunks`` (the
columnar codec of a flush, shared with the server), ``store`` (the SQLite file) and ``recovery``
(what a reader or a resumed run replays after a crash). docs/architecture.md draws it."""
