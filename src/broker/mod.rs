pub mod clients;
pub mod data_error;
pub mod data_path;
#[cfg(test)]
mod data_test_support;
pub mod heartbeat_body;
pub mod long_poll;
pub mod offsets;
pub mod pull;
#[cfg(test)]
mod pull_tests;
pub mod send;
pub mod send_rules;
#[cfg(test)]
mod send_tests;
pub mod topic_view;
