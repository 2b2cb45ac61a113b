//! The JSON-lines report every interop driver (Rust, Node, Python) prints on stdout, so one
//! parser in the tests reads all three. Events: `started`, `sent`, `received`, `checked`,
//! `reset`, `config` and `updated` (an admin run's result), `error`, `done`.

use std::io::Write;

use serde_json::{json, Value};

/// Prints one event and flushes at once: the test reads lines while the process still runs.
pub fn line(event: &str, mut fields: Value) {
    if let Some(map) = fields.as_object_mut() {
        map.insert("event".into(), Value::from(event));
    }
    let mut stdout = std::io::stdout().lock();
    let _ = writeln!(stdout, "{fields}");
    let _ = stdout.flush();
}

pub fn started(fields: Value) {
    line("started", fields);
}

pub fn error(stage: &str, index: Option<usize>, error: &str) {
    line(
        "error",
        json!({ "stage": stage, "index": index, "error": error }),
    );
}

/// The client's errors display only their kind (`core.argument.invalid: …`) and redact their
/// message; what went wrong (response code, remark) is in the chain of sources.
pub fn describe(error: &rocketmq_client_rust::ClientError) -> String {
    let mut text = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        text.push_str(" <- ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    if let Some(code) = error.broker_response_code() {
        text.push_str(&format!(" (broker response code {code})"));
    }
    text
}

pub fn done(fields: &Value) {
    line("done", fields.clone());
}
