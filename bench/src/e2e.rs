//! Producing and consuming at once. Consumers start first, at the tail of every queue, and
//! tell when their offsets are known; only then do the producers start, stamping each
//! message with its send time in microseconds, so the consumers' latency is send to
//! receipt. Consumers keep pulling for `--drain` after the producers stop; their rates are
//! then taken over the producers' measured time, since the drain only collects what was
//! sent within it.

use std::sync::mpsc;

use serde::Serialize;

use crate::args::E2eArgs;
use crate::report::Report;
use crate::{consume, produce, BenchError};

/// The consumer side's report at the top (its latency is the end-to-end one), the
/// producer's nested.
#[derive(Debug, Clone, Serialize)]
pub struct E2eReport {
    #[serde(flatten)]
    pub consume: Report,
    pub produce: Report,
}

pub fn run(args: &E2eArgs) -> Result<E2eReport, BenchError> {
    let consume_args = args.consume_args();
    let (ready_tx, ready_rx) = mpsc::channel();
    let consumers = std::thread::Builder::new()
        .name("bench-e2e-consume".into())
        .spawn(move || consume::run_with(&consume_args, Some(ready_tx)))?;
    if ready_rx.recv().is_err() {
        // The consumers failed before they were ready; their error says why.
        return Err(join(consumers)
            .err()
            .unwrap_or_else(|| BenchError::Executor("consumers stopped before starting".into())));
    }
    let mut produce_args = args.produce.clone();
    produce_args.born_property = true;
    let produced = produce::run(&produce_args);
    let mut consumed = join(consumers)?;
    let produced = produced?;
    consumed.rescale(produced.elapsed_sec);
    let mut params = produced.params.clone();
    params["command"] = "e2e".into();
    params["consumer"] = consumed.params.clone();
    consumed.params = params;
    Ok(E2eReport {
        consume: consumed,
        produce: produced,
    })
}

fn join(handle: std::thread::JoinHandle<Result<Report, BenchError>>) -> Result<Report, BenchError> {
    handle
        .join()
        .map_err(|_| BenchError::Executor("consumer thread panicked".into()))?
}
