//! The App Container spec 0.8.11 schema: types, validation, JSON. No I/O.
