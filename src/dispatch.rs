//! Request code → handler.
