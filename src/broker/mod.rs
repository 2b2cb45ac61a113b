pub mod clients;
pub mod heartbeat_body;
pub mod offsets;
